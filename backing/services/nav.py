"""NAV per unit: the token's declared terms (decimal places, whether its offering is priced at NAV, the dealing
cut-off) and its history of NAV points, each entered by the issuer's staff with the document it comes from and
approved by a second person, or published by the token's NAV oracle (backing/services/nav_oracle.py); never
edited, a later point for a day supersedes the point before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from backing.models import MAX_NAV_SCALE, NAV_POINT_APPROVAL_KIND, NavPoint, NavTerms, StatementState
from backing.quantities import QuantityInvalid, amount_parse, amount_text
from backing.services.statements import pdf_document_read
from backing.transparency import transparency_forget
from core.approvals import ApprovalKind, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import ApprovalRequest, User
from core.tasks import task_enqueue_on_commit
from offerings.models import Offering, OfferingStatus


def _terms_state(terms: NavTerms | None) -> dict[str, Any] | None:
    if terms is None:
        return None
    return {"scale": terms.scale, "priced_at_nav": terms.priced_at_nav, "cutoff": terms.cutoff.isoformat()}


@transaction.atomic
def nav_terms_save(*, offering: Offering, scale: int, priced_at_nav: bool, cutoff: dt.time, actor: User) -> NavTerms:
    """Declare the NAV's decimal places and the dealing cut-off, and whether subscriptions are priced at NAV.

    The decimal places are fixed once a NAV point is entered (the points say them too); pricing at NAV is decided
    before the offering takes its first subscription, so nobody subscribed under other terms."""
    offering = Offering.objects.select_for_update().select_related("issuer").get(pk=offering.pk)
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= MAX_NAV_SCALE:
        raise ApplicationError(f"The NAV's decimal places are a whole number from 0 to {MAX_NAV_SCALE}.", code="scale")
    if cutoff.tzinfo is not None:
        cutoff = cutoff.replace(tzinfo=None)
    terms = NavTerms.objects.select_for_update().filter(offering=offering).first()
    before = _terms_state(terms)
    if terms is not None and terms.scale != scale and NavPoint.objects.filter(offering=offering).exists():
        raise ApplicationError(
            f"The NAV is declared to {terms.scale} decimal places and points were entered so; it cannot change.",
            code="scale_fixed",
        )
    was_priced = bool(terms and terms.priced_at_nav)
    if bool(priced_at_nav) != was_priced and offering.subscriptions.exists():
        raise ApplicationError(
            "Subscriptions were taken under the current pricing, so whether the offering is priced at NAV cannot "
            "change now.",
            code="pricing_fixed",
        )
    if priced_at_nav and offering.status not in (OfferingStatus.DRAFT, OfferingStatus.OPEN):
        raise ApplicationError("Only an offering that is still open can be priced at NAV.", code="pricing_closed")
    terms = terms or NavTerms(offering=offering)
    terms.scale, terms.priced_at_nav, terms.cutoff, terms.updated_by = scale, bool(priced_at_nav), cutoff, actor
    terms.save()
    audit_record(
        actor=actor,
        action="backing.nav_terms_saved",
        obj=terms,
        issuer=offering.issuer,
        before=before,
        after=_terms_state(terms),
    )
    transparency_forget(offering=offering)
    return terms


def _terms(offering: Offering) -> NavTerms:
    terms = NavTerms.objects.filter(offering=offering).first()
    if terms is None:
        raise ApplicationError(
            "Declare the NAV's terms first: the decimal places it is published to.", code="no_nav_terms"
        )
    return terms


def nav_text(point: NavPoint) -> str:
    return f"{amount_text(point.nav_per_unit, scale=point.scale)} {point.currency}"


@transaction.atomic
def nav_point_propose(
    *,
    offering: Offering,
    dealing_day: dt.date,
    nav: str,
    source: str,
    document: UploadedFile | None,
    actor: User,
) -> NavPoint:
    """Enter the NAV per unit of a dealing day (typed in the currency, to at most the declared places) with the
    document it comes from; it counts once a second person approves it."""
    terms = _terms(offering)
    if not isinstance(dealing_day, dt.date) or dealing_day > timezone.localdate():
        raise ApplicationError("The dealing day cannot be in the future.", code="dealing_day_future")
    try:
        nav_per_unit = amount_parse(nav, scale=terms.scale, label="NAV per unit")
    except QuantityInvalid as exc:
        raise ApplicationError(exc.message, code="invalid_nav") from exc
    if nav_per_unit <= 0:
        raise ApplicationError("The NAV per unit must be more than zero.", code="invalid_nav")
    if not source.strip():
        raise ApplicationError("Say who published the NAV (the fund administrator, the manager).", code="source")
    content = pdf_document_read(document, what="the NAV statement")
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    point = NavPoint(
        offering=offering,
        dealing_day=dealing_day,
        currency=offering.currency,
        scale=terms.scale,
        nav_per_unit=nav_per_unit,
        source=source.strip()[:200],
        document_sha256=hashlib.sha256(content).hexdigest(),
        document_name=((document.name if document else "") or "nav.pdf")[:200],
        document_size=len(content),
        entered_by=actor,
    )
    point.document.save(f"{offering.public_id}-{uuid.uuid4().hex}.pdf", ContentFile(content), save=False)
    point.save()
    audit_record(
        actor=actor,
        action="backing.nav_point_entered",
        obj=point,
        issuer=offering.issuer,
        after={
            "dealing_day": dealing_day.isoformat(),
            "nav_per_unit": nav_per_unit,
            "scale": terms.scale,
            "currency": point.currency,
            "source": point.source,
            "document_sha256": point.document_sha256,
        },
    )
    outcome = approval_propose(
        issuer=offering.issuer,
        kind=NAV_POINT_APPROVAL_KIND,
        proposer=actor,
        summary=f"{offering.token_symbol}: NAV per unit of {nav_text(point)} on {dealing_day:%d %B %Y}, "
        f"published by {point.source}",
        amount_minor=0,
        currency="",
        payload={"nav_point_id": point.pk},
        obj=point,
        required=True,
    )
    point.approval_request = outcome.request
    point.save(update_fields=["approval_request"])
    return point


def _approve(request: ApprovalRequest, actor: User) -> NavPoint:
    point = NavPoint.objects.only("offering_id").get(pk=int(request.payload["nav_point_id"]))
    Offering.objects.select_for_update().only("pk").get(pk=point.offering_id)
    point = NavPoint.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=point.pk)
    if point.state != StatementState.PENDING:
        raise Conflict(f"This NAV is {point.get_state_display().lower()}, not waiting.", code="state")
    if point.entered_by_id == actor.pk:
        raise NotPermitted("You entered this NAV, so another admin of the issuer must approve it.", code="four_eyes")
    current = nav_current_locked(offering_id=point.offering_id, day=point.dealing_day)
    if current is not None and current.pricings.exists():
        raise Conflict(
            f"Subscriptions were issued at the NAV of {point.dealing_day:%d %B %Y} already, so it cannot be "
            "corrected here. Decline this one.",
            code="nav_used",
        )
    now = timezone.now()
    nav_supersede(current, now=now)
    point.state, point.approved_by, point.approved_at, point.supersedes = StatementState.APPROVED, actor, now, current
    point.save(update_fields=["state", "approved_by", "approved_at", "supersedes"])
    audit_record(
        actor=actor,
        action="backing.nav_point_approved",
        obj=point,
        issuer=point.offering.issuer,
        before={"state": StatementState.PENDING, "current": current.pk if current else None},
        after={
            "state": point.state,
            "dealing_day": point.dealing_day.isoformat(),
            "nav_per_unit": point.nav_per_unit,
            "scale": point.scale,
            "supersedes": current.pk if current else None,
            "entered_by": point.entered_by_id,
        },
    )
    nav_in_force(point)
    return point


def nav_current_locked(*, offering_id: int, day: dt.date) -> NavPoint | None:
    """The point in force for the day, locked (the caller holds the offering's row)."""
    return (
        NavPoint.objects.select_for_update(of=("self",))
        .filter(offering_id=offering_id, dealing_day=day, state=StatementState.APPROVED)
        .first()
    )


def nav_supersede(current: NavPoint | None, *, now: dt.datetime) -> None:
    """The day's point in force steps aside for a later one (a corrected document, a later round)."""
    if current is not None:
        current.state, current.superseded_at = StatementState.SUPERSEDED, now
        current.save(update_fields=["state", "superseded_at"])


def nav_in_force(point: NavPoint) -> None:
    """What follows a NAV coming into force, whoever published it: the public report is built again, and a closing
    priced at NAV that waits for this day's NAV carries on once the change commits."""
    transparency_forget(offering=point.offering)
    if point.offering.status == OfferingStatus.CLOSING:
        from offerings.tasks import closing_advance_task

        task_enqueue_on_commit(
            closing_advance_task, point.offering_id, when_broker_down="the beat's next pass advances every closing"
        )


def _decline(request: ApprovalRequest, actor: User) -> None:
    point = (
        NavPoint.objects.select_for_update(of=("self",))
        .select_related("offering__issuer")
        .get(pk=int(request.payload["nav_point_id"]))
    )
    if point.state != StatementState.PENDING:
        return
    point.state = StatementState.DECLINED
    point.save(update_fields=["state"])
    audit_record(
        actor=actor,
        action="backing.nav_point_declined",
        obj=point,
        issuer=point.offering.issuer,
        before={"state": StatementState.PENDING},
        after={"state": point.state, "approval": request.state, "note": request.decision_note},
    )


approval_kind_register(
    ApprovalKind(kind=NAV_POINT_APPROVAL_KIND, label="Approve a NAV per unit", perform=_approve, on_decline=_decline)
)
