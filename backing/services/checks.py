"""The daily check: each token with a backing rule compares its supply (the holdings ledger, from indexed
events) with its latest approved attestation. The finding is kept on the token with the moment it began;
the issuer's admins hear of an under-collateralised or stale token once, when that condition begins."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from backing.models import BackingCondition, BackingRule, BackingStatus
from backing.selectors import backing_finding
from core.audit import audit_record
from core.models import IssuerMembership, Role
from core.tasks import task_enqueue_on_commit
from offerings.models import Offering

log = logging.getLogger(__name__)
ALERTED = (BackingCondition.UNDER_COLLATERALISED, BackingCondition.STALE, BackingCondition.NO_STATEMENT)


@transaction.atomic
def backing_check(*, offering_id: int, now: dt.datetime | None = None) -> BackingStatus | None:
    """Check one token and record the finding; a condition that begins (not one that lasts) is alerted."""
    now = now or timezone.now()
    offering = Offering.objects.select_for_update().select_related("issuer").get(pk=offering_id)
    rule = BackingRule.objects.filter(offering=offering).first()
    if rule is None:
        return None
    found = backing_finding(offering=offering, rule=rule, today=timezone.localdate(now))
    status = BackingStatus.objects.select_for_update().filter(offering=offering).first()
    before = status.condition if status else None
    if status is None or status.condition != found.condition:
        status = status or BackingStatus(offering=offering)
        status.since, status.alerted_at = now, None
        changed = True
    else:
        changed = False
    status.condition = str(found.condition)
    status.checked_at = now
    status.supply = found.supply
    status.reserve_amount = found.reserve_amount
    status.required_amount = found.required_amount
    status.statement = found.statement
    status.detail = found.detail[:300]
    if changed and status.condition in ALERTED:
        status.alerted_at = now
    status.save()
    if changed:
        audit_record(
            actor="backing check",
            action="backing.condition_changed",
            obj=status,
            issuer=offering.issuer,
            before={"condition": before},
            after={"condition": status.condition, "detail": status.detail, "supply": status.supply},
        )
        if status.condition in ALERTED:
            from backing.tasks import backing_alert_task

            task_enqueue_on_commit(backing_alert_task, status.pk, when_broker_down="the token's page shows it")
    return status


def backing_checks_run(*, now: dt.datetime | None = None) -> int:
    """Check every token that has a backing rule (each in its own transaction), and publish to a reserve feed
    any current statement whose publication was lost."""
    from backing.services.publication import reserve_statements_unpublished
    from backing.tasks import reserve_statement_publish_task

    ids = list(BackingRule.objects.order_by("offering_id").values_list("offering_id", flat=True))
    for offering_id in ids:
        backing_check(offering_id=offering_id, now=now)
    for statement_id in reserve_statements_unpublished():
        reserve_statement_publish_task.delay(statement_id)
    return len(ids)


def backing_alert_send(*, status_id: int) -> int:
    """E-mail the issuer's admins about a condition that began; sent once, by the check that found it."""
    status = BackingStatus.objects.select_related("offering__issuer").get(pk=status_id)
    if status.condition not in ALERTED:
        return 0
    offering = status.offering
    recipients = list(
        IssuerMembership.objects.filter(issuer=offering.issuer, role=Role.ISSUER_ADMIN).values_list(
            "user__email", flat=True
        )
    )
    if not recipients:
        return 0
    url = getattr(settings, "SITE_URL", "") + reverse(
        "backing_overview", args=[offering.issuer.slug, offering.public_id]
    )
    body = render_to_string("backing/email/condition.txt", {"status": status, "offering": offering, "url": url})
    subject = f"[Tessera] {offering.token_symbol}: {status.get_condition_display().lower()}"
    return send_mass_mail([(subject, body, None, [email]) for email in recipients], fail_silently=False)
