"""Notifications: once per person and event, in the portal and by e-mail (text and HTML), with absolute links."""

from __future__ import annotations

import smtplib

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client, override_settings

from core.models import Notification, NotificationKind
from core.notifications import (
    EMAIL_ATTEMPTS,
    Message,
    notification_email_send,
    notifications_event_send,
    notifications_unsent_send,
    notify,
)
from core.tests.support import Cast

SITE = "https://portal.example"


def _message(path: str = "/portfolio/") -> Message:
    return Message(
        kind=NotificationKind.TOKENS_ISSUED,
        subject="Your tokens are issued",
        template="core/notifications/plain.txt",
        context={"text": "100 HSA were minted to your wallet."},
        path=path,
        action_label="Open your portfolio",
    )


@pytest.fixture(autouse=True)
def _site():
    with override_settings(SITE_URL=SITE, PORTAL_NAME="Tessera"):
        yield


def test_one_event_is_told_once_per_person_however_often_it_is_reported(cast: Cast) -> None:
    cast.investor.first_name = "Alice"
    cast.investor.save()
    for _ in range(3):
        notify(recipients=[cast.investor, cast.admin, cast.investor], event_key="mint:1:issued", message=_message())
    assert Notification.objects.filter(event_key="mint:1:issued").count() == 2
    assert notifications_event_send(event_key="mint:1:issued") == 2
    assert notifications_event_send(event_key="mint:1:issued") == 0  # sent already: nothing again
    assert notifications_unsent_send(older_than_seconds=-60) == 0
    (alice,) = [m for m in mail.outbox if m.to == [cast.investor.email]]
    assert alice.subject == "[Tessera] Your tokens are issued"
    assert alice.body.startswith("Hello Alice,") and "100 HSA were minted" in alice.body
    assert f"Open your portfolio: {SITE}/portfolio/" in alice.body and "— Tessera" in alice.body
    (html, kind) = alice.alternatives[0]  # type: ignore[attr-defined]
    assert kind == "text/html" and f'href="{SITE}/portfolio/"' in html and "<p>100 HSA were minted" in html
    assert "testserver" not in alice.body and "127.0.0.1" not in alice.body


def test_a_change_that_rolls_back_tells_no_one(cast: Cast) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(recipients=[cast.investor], event_key="rolled-back", message=_message())
        raise RuntimeError("the change failed")
    assert not Notification.objects.filter(event_key="rolled-back").exists()


def test_a_failing_mail_server_keeps_the_notification_for_the_sweep_which_sends_it_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify(recipients=[cast.investor], event_key="payment:1", message=_message())
    notification = Notification.objects.get(event_key="payment:1")

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("mail server went away")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    assert notification_email_send(notification_id=notification.pk) is False
    notification.refresh_from_db()
    assert notification.emailed_at is None and "mail server went away" in notification.email_error
    monkeypatch.undo()
    assert notifications_unsent_send(older_than_seconds=-60) == 1
    assert notifications_unsent_send(older_than_seconds=-60) == 0
    notification.refresh_from_db()
    assert notification.emailed_at is not None and notification.email_error == ""
    assert len(mail.outbox) == 1


def test_the_sweep_stops_after_the_last_attempt(cast: Cast) -> None:
    notify(recipients=[cast.investor], event_key="payment:2", message=_message())
    Notification.objects.filter(event_key="payment:2").update(email_attempts=EMAIL_ATTEMPTS)
    assert notifications_unsent_send(older_than_seconds=-60) == 0
    assert mail.outbox == []


def test_the_list_shows_a_persons_own_notifications_and_opening_one_marks_it_read(cast: Cast) -> None:
    notify(recipients=[cast.investor], event_key="a", message=_message("/portfolio/"))
    notify(recipients=[cast.investor], event_key="b", message=_message("https://elsewhere.example/phish"))
    notify(recipients=[cast.admin], event_key="c", message=_message())
    mine = Notification.objects.filter(recipient=cast.investor).order_by("event_key")
    client = Client()
    client.force_login(cast.investor)
    page = client.get("/notifications/").content.decode()
    assert page.count("data-notification=") == 2 and "Mark all 2 as read" in page
    assert '>2<span class="visually-hidden"> unread' in page  # the count in the navigation
    opened = client.get(f"/notifications/{mine[0].pk}/")
    assert opened.status_code == 302 and opened["Location"] == "/portfolio/"
    # A path that leaves the portal is never followed.
    assert client.get(f"/notifications/{mine[1].pk}/")["Location"] == "/"
    assert not Notification.objects.filter(recipient=cast.investor, read_at__isnull=True).exists()
    theirs = Notification.objects.get(recipient=cast.admin)
    assert client.get(f"/notifications/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read(cast: Cast) -> None:
    for key in ("x", "y", "z"):
        notify(recipients=[cast.agent], event_key=key, message=_message())
    client = Client()
    client.force_login(cast.agent)  # a read-only role still keeps its own list
    response = client.post("/notifications/read/", follow=True)
    assert "Marked 3 notifications as read." in response.content.decode()
    assert not Notification.objects.filter(recipient=cast.agent, read_at__isnull=True).exists()


def test_nothing_yet_says_what_will_appear(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.investor)
    page = client.get("/notifications/").content.decode()
    assert "Nothing yet." in page and "appears here and in your e-mail" in page


def test_many_events_told_together_are_one_insert_and_one_email_task_per_batch_of_events(
    cast: Cast, django_capture_on_commit_callbacks, django_assert_max_num_queries, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import notifications

    monkeypatch.setattr(notifications, "EVENTS_PER_EMAIL_TASK", 2)
    people = [cast.investor, cast.admin, cast.agent]
    told = [(f"line:{n}:paid", person, _message()) for n, person in enumerate(people)]
    with django_capture_on_commit_callbacks(execute=False) as queued, django_assert_max_num_queries(2):
        # The same event for the same person again, in the same call: told once.
        assert notifications.notify_events(told=[*told, told[0]], issuer=cast.issuer) == 3
    assert len(queued) == 2  # three events, two to a task: not one task per event
    assert sorted(Notification.objects.values_list("event_key", flat=True)) == [
        "line:0:paid",
        "line:1:paid",
        "line:2:paid",
    ]
    # Told again later (the payment confirmed again): nothing new, and each is e-mailed once.
    with django_capture_on_commit_callbacks(execute=False):
        notifications.notify_events(told=told, issuer=cast.issuer)
    assert Notification.objects.count() == 3
    assert notifications.notifications_events_send(event_keys=["line:0:paid", "line:1:paid", "line:2:paid"]) == 3
    assert notifications.notifications_events_send(event_keys=["line:0:paid", "line:1:paid", "line:2:paid"]) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)
