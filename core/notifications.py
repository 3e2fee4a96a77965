"""Telling people what happened: one notification per person and event, in the portal and by e-mail.

Every app reports the state changes someone waits on through `notify`, inside the transaction that makes
the change. The notification rows are written in that transaction (so a rolled-back change tells no one),
and the e-mails go after commit from a task; a beat sweep sends any the broker could not take. A person is
told once per event however often the reporting code runs: `event_key` names the event, and the database
keeps one row per person and key.

E-mails are text and HTML from one layout (`core/email/notification.txt|.html`): the portal greets the
person by name, says what happened in the body the caller rendered, and links to the page that shows it,
as an absolute address from `SITE_URL`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from core.models import Issuer, IssuerMembership, Notification, Role, User

log = logging.getLogger(__name__)

# A failing mail server is tried again by the sweep, this many times in all.
EMAIL_ATTEMPTS = 5


def portal_name() -> str:
    return str(getattr(settings, "PORTAL_NAME", "Tessera"))


def absolute_url(path: str) -> str:
    """`path` as an address a mail reader can open (SITE_URL + path); full addresses are kept."""
    if path.startswith(("http://", "https://")):
        return path
    return str(settings.SITE_URL).rstrip("/") + "/" + path.lstrip("/")


@dataclass(frozen=True)
class Message:
    """What to tell: the kind, a subject, the body template and its context, and the page to open."""

    kind: str
    subject: str
    template: str
    context: dict[str, Any]
    path: str
    action_label: str = "Open in the portal"


def notify_each(*, event_key: str, messages: Iterable[tuple[User, Message]], issuer: Issuer | None = None) -> int:
    """Tell each person their own message about one event, once; returns how many were asked for.

    Call it inside the transaction of the change: the rows are written with it (a person already told
    about this event is skipped by the database), and one task e-mails the event's unsent rows after commit.
    """
    rows = []
    seen: set[int] = set()
    for user, message in messages:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        body = render_to_string(message.template, {**message.context, "portal_name": portal_name()}).strip()
        rows.append(
            Notification(
                recipient=user,
                kind=message.kind,
                event_key=event_key[:200],
                issuer=issuer,
                subject=message.subject[:200],
                body=body,
                path=message.path,
                action_label=message.action_label[:80],
            )
        )
    if not rows:
        return 0
    Notification.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    from core.tasks import notification_event_email_task, task_enqueue_on_commit

    task_enqueue_on_commit(
        notification_event_email_task, event_key[:200], when_broker_down="the notification sweep sends them"
    )
    return len(rows)


# Event keys one e-mail task takes: a thousand events told in one transaction are e-mailed by ten tasks, not a
# thousand, each short enough (about a second) that the worker's other queue is not kept waiting.
EVENTS_PER_EMAIL_TASK = 100


def notify_events(*, told: Iterable[tuple[str, User, Message]], issuer: Issuer | None = None) -> int:
    """Tell each person of many events their message, once per person and event; returns how many were asked for.

    For one change that is many events (each holder's line of a distribution paid): the rows are written in one
    statement inside the caller's transaction, each under its own `event_key` (a person already told about an
    event is skipped by the database, as with `notify_each`), and after commit one task e-mails the unsent rows of
    up to EVENTS_PER_EMAIL_TASK events."""
    rows = []
    seen: set[tuple[int, str]] = set()
    for event_key, user, message in told:
        key = event_key[:200]
        if user is None or not user.is_active or (user.pk, key) in seen:
            continue
        seen.add((user.pk, key))
        body = render_to_string(message.template, {**message.context, "portal_name": portal_name()}).strip()
        rows.append(
            Notification(
                recipient=user,
                kind=message.kind,
                event_key=key,
                issuer=issuer,
                subject=message.subject[:200],
                body=body,
                path=message.path,
                action_label=message.action_label[:80],
            )
        )
    if not rows:
        return 0
    Notification.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    from core.tasks import notification_events_email_task, task_enqueue_on_commit

    keys = sorted({row.event_key for row in rows})
    for start in range(0, len(keys), EVENTS_PER_EMAIL_TASK):
        task_enqueue_on_commit(
            notification_events_email_task,
            keys[start : start + EVENTS_PER_EMAIL_TASK],
            when_broker_down="the notification sweep sends them",
        )
    return len(rows)


def notify(*, recipients: Iterable[User], event_key: str, message: Message, issuer: Issuer | None = None) -> int:
    """Tell every recipient the same message about one event, once (see `notify_each`)."""
    return notify_each(event_key=event_key, messages=((user, message) for user in recipients), issuer=issuer)


def issuer_people(issuer: Issuer, roles: Sequence[str] = (Role.ISSUER_ADMIN,)) -> QuerySet[User]:
    """The issuer's members in these roles (who hear about the issuer's work)."""
    ids = IssuerMembership.objects.filter(issuer=issuer, role__in=list(roles)).values("user_id")
    return User.objects.filter(pk__in=ids, is_active=True)


def greeting_name(user: User) -> str:
    name = (user.first_name or "").strip()
    return name or "there"


def notification_email_render(notification: Notification) -> tuple[str, str, str]:
    """Subject, text body and HTML body of a notification's e-mail."""
    context = {
        "portal_name": portal_name(),
        "name": greeting_name(notification.recipient),
        "body": notification.body,
        "url": absolute_url(notification.path),
        "action_label": notification.action_label,
        "settings_url": absolute_url("/notifications/"),
    }
    subject = f"[{portal_name()}] {notification.subject}"
    text = render_to_string("core/email/notification.txt", context)
    html = render_to_string("core/email/notification.html", context)
    return subject, text, html


def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification's e-mail unless it was sent; True when it is sent now.

    The row is locked while sending, so two workers (a task and the sweep) never send it twice."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.emailed_at is not None:
            return False
        if notification.email_attempts >= EMAIL_ATTEMPTS:
            return False
        subject, text, html = notification_email_render(notification)
        mail = EmailMultiAlternatives(subject, text, None, [notification.recipient.email])
        mail.attach_alternative(html, "text/html")
        notification.email_attempts += 1
        try:
            mail.send(fail_silently=False)
        except OSError as exc:  # the mail server said no (SMTPException is one): kept for the sweep, with the reason
            notification.email_error = f"{type(exc).__name__}: {exc}"[:300]
            notification.save(update_fields=["email_attempts", "email_error"])
            log.warning("notification %s e-mail failed: %s", notification.pk, notification.email_error)
            return False
        notification.emailed_at = timezone.now()
        notification.email_error = ""
        notification.save(update_fields=["email_attempts", "email_error", "emailed_at"])
        return True


def notifications_event_send(*, event_key: str) -> int:
    """E-mail every unsent notification of one event; returns how many went now."""
    ids = list(
        Notification.objects.filter(event_key=event_key, emailed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in ids if notification_email_send(notification_id=pk))


def notifications_events_send(*, event_keys: Sequence[str]) -> int:
    """E-mail every unsent notification of these events; returns how many went now."""
    ids = list(
        Notification.objects.filter(event_key__in=list(event_keys), emailed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in ids if notification_email_send(notification_id=pk))


def notifications_unsent_send(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """The sweep: send e-mails of notifications that no task sent (broker down, mail server failing)."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(
        Notification.objects.filter(
            emailed_at__isnull=True, created_at__lte=cutoff, email_attempts__lt=EMAIL_ATTEMPTS
        ).values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if notification_email_send(notification_id=pk))


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (these, or all); returns how many changed."""
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
