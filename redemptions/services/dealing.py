"""A dealing day at its cut-off: requests close, the day is priced at its NAV, the gate is applied, and the register
of lines (gross, fee, net per request) is written in full before anyone approves it.

- At the cut-off an open dealing day stops taking requests (and cancellations).
- It is priced once no request of it is still being frozen or unfrozen on-chain and its NAV is known: the token's
  approved NAV of the day in backing's NAV history (entered with its statement and approved by a second person)
  when it has one, else the NAV an issuer admin entered for the day (`dealing_day_nav_enter`), with its source.
- The gate lets through at most its share of the supply on the ledger at the cut-off; beyond it every request
  is scaled pro rata by the largest-remainder method (redemptions/pricing.py). Units the gate leaves out are
  unfrozen at once, through the outbox, under the request's own key.
- Each accepted request becomes a line numbered in request order, with its gross at the NAV (rounded down), its
  fee (rounded half up) and its net; the day's totals are their sums.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backing.selectors import nav_of_day
from core.access import Perm, can
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import User
from core.money import MAX_AMOUNT_MINOR
from redemptions.locks import dealing_day_locked
from redemptions.models import MAX_NAV_SCALE, DealingDay, DealingState, RedemptionRequest, RequestState
from redemptions.notices import dealing_day_notify
from redemptions.pricing import gate_limit, gate_split, line_amounts, nav_parse, nav_text
from registry.selectors.ledger import AsOf, ledger_total
from tokens import services as chain

DEFAULT_NAV_SCALE = 8
MAX_NAV_SOURCE = 300


def _locked(day_id: int) -> DealingDay:
    return dealing_day_locked(day_id)


def _audit(day: DealingDay, action: str, *, actor: User | str = "redemptions", **after: object) -> None:
    audit_record(actor=actor, action=action, obj=day, issuer=day.offering.issuer, after=after)


@transaction.atomic
def dealing_day_nav_enter(*, day: DealingDay, actor: User, nav: str, source: str) -> DealingDay:
    """An issuer admin enters the dealing day's NAV per unit (as a decimal of the currency) and where it comes from."""
    locked = _locked(day.pk)
    if not can(actor, Perm.ISSUER_MANAGE_DISTRIBUTIONS, locked.offering.issuer):
        raise NotPermitted("Only an admin of the issuer enters a dealing day's NAV.")
    if locked.priced:
        raise Conflict("This dealing day is priced already: its NAV can no longer change.", code="priced")
    point = nav_of_day(offering=locked.offering, day=locked.dealing_date)
    if point is not None and point.currency == locked.currency:
        raise Conflict(
            f"The NAV of {locked.dealing_date:%d %B %Y} is approved in the token's NAV history "
            f"({nav_text(nav_per_unit=point.nav_per_unit, nav_scale=point.scale)} {point.currency}, published by "
            f"{point.source}): the day is priced at it. Correct it there, with a new statement, if it is wrong.",
            code="nav_approved",
        )
    source = " ".join((source or "").split())
    if not source:
        raise ApplicationError(
            "Say where the NAV comes from (e.g. the administrator's NAV statement of the day).",
            code="source_required",
            extra={"field": "source"},
        )
    scale = locked.nav_scale if locked.nav_scale <= MAX_NAV_SCALE else DEFAULT_NAV_SCALE
    try:
        value = nav_parse(nav, scale=scale)
    except ValueError as exc:
        raise ApplicationError(str(exc), code="invalid_nav", extra={"field": "nav"}) from exc
    before = {"nav_per_unit": locked.nav_per_unit, "nav_source": locked.nav_source}
    locked.nav_per_unit, locked.nav_scale, locked.nav_source = value, scale, source[:MAX_NAV_SOURCE]
    locked.nav_entered_by = actor
    locked.save(update_fields=["nav_per_unit", "nav_scale", "nav_source", "nav_entered_by"])
    audit_record(
        actor=actor,
        action="redemption.nav_entered",
        obj=locked,
        issuer=locked.offering.issuer,
        before=before,
        after={"nav": nav_text(nav_per_unit=value, nav_scale=scale), "nav_source": locked.nav_source},
    )
    return locked


# --------------------------------------------------------------------------- cut-off and pricing


def _release_key(request: RedemptionRequest) -> str:
    return f"redemption:{settings.CHAIN_ID}:{request.public_id}:release"


def dealing_day_price(*, day_id: int, now: dt.datetime | None = None) -> DealingDay:
    """Cut off the day once its cut-off has passed, and price it once nothing is in flight and its NAV is known.

    Safe to run any number of times: the row lock orders runs, and a priced day is left as it is."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(day_id)
        if locked.state == DealingState.OPEN and now >= locked.cutoff_at:
            locked.state = DealingState.CUT_OFF
            locked.save(update_fields=["state"])
            _audit(locked, "redemption.dealing_day_cut_off", cutoff_at=locked.cutoff_at.isoformat())
        if locked.state != DealingState.CUT_OFF:
            return locked
        requests = RedemptionRequest.objects.filter(dealing_day=locked)
        if requests.filter(state__in=(RequestState.FREEZING, RequestState.CANCELLING)).exists():
            return locked  # the chain has not answered yet: priced on a later run
        pending = list(requests.filter(state=RequestState.PENDING).order_by("requested_at", "pk"))
        if not pending:
            locked.state = DealingState.EMPTY
            locked.save(update_fields=["state"])
            _audit(locked, "redemption.dealing_day_empty")
            return locked
        _nav_from_history(locked)
        if locked.nav_per_unit is None:
            return locked  # waits for the NAV (the dealing day's page asks for it)
        _price(locked, pending, now)
        dealing_day_notify(day_id=locked.pk)
    return locked


def _nav_from_history(locked: DealingDay) -> None:
    """Take the token's approved NAV of the dealing day from backing's NAV history, when it has one in the day's
    currency: it replaces a NAV typed for the day (the statement behind it was checked by a second person)."""
    point = nav_of_day(offering=locked.offering, day=locked.dealing_date)
    if point is None or point.currency != locked.currency or point.pk == locked.nav_point_id:
        return
    before = {
        "nav": nav_text(nav_per_unit=locked.nav_per_unit, nav_scale=locked.nav_scale) if locked.nav_per_unit else None,
        "nav_source": locked.nav_source,
    }
    locked.nav_per_unit, locked.nav_scale, locked.nav_point = point.nav_per_unit, point.scale, point
    locked.nav_source = (
        f"Approved NAV of {point.dealing_day:%d %B %Y}, published by {point.source} ({point.origin_text})"
    )[:MAX_NAV_SOURCE]
    locked.nav_entered_by = point.entered_by
    locked.save(update_fields=["nav_per_unit", "nav_scale", "nav_point", "nav_source", "nav_entered_by"])
    _audit(
        locked,
        "redemption.nav_from_history",
        nav_point=point.pk,
        nav=nav_text(nav_per_unit=point.nav_per_unit, nav_scale=point.scale),
        nav_source=locked.nav_source,
        replaced=before,
    )


def _price(locked: DealingDay, pending: list[RedemptionRequest], now: dt.datetime) -> None:
    terms = getattr(locked.offering, "redemption_terms", None)
    fee_bps = terms.fee_bps if terms is not None else locked.fee_bps
    gate_bps = terms.gate_bps if terms is not None else locked.gate_bps
    supply = ledger_total(offering=locked.offering, as_of=AsOf(at=locked.cutoff_at))
    limit = gate_limit(supply=supply, gate_bps=gate_bps)
    accepted = gate_split(requested=[r.quantity for r in pending], limit=limit)
    assert locked.nav_per_unit is not None
    index = 0
    totals = {"gross": 0, "fee": 0, "net": 0}
    for request, units in zip(pending, accepted, strict=True):
        request.accepted_units, request.gated_units = units, request.quantity - units
        fields = ["accepted_units", "gated_units", "state"]
        if units:
            amounts = line_amounts(
                units=units,
                nav_per_unit=locked.nav_per_unit,
                nav_scale=locked.nav_scale,
                currency=locked.currency,
                fee_bps=fee_bps,
            )
            if amounts.gross_minor > MAX_AMOUNT_MINOR:
                raise ApplicationError(
                    "A line's gross is beyond what the portal pays in one amount; check the NAV.", code="too_large"
                )
            request.line_index, request.state = index, RequestState.PRICED
            request.gross_minor, request.fee_minor, request.net_minor = (
                amounts.gross_minor,
                amounts.fee_minor,
                amounts.net_minor,
            )
            fields += ["line_index", "gross_minor", "fee_minor", "net_minor"]
            totals["gross"] += amounts.gross_minor
            totals["fee"] += amounts.fee_minor
            totals["net"] += amounts.net_minor
            index += 1
        else:
            request.state = RequestState.GATED
        if request.gated_units:
            # The units over the gate go back to the holder now, not at settlement.
            request.release_transaction = chain.token_freeze_amount(
                owner_ref=locked.offering.owner_ref,
                wallet=request.wallet,
                amount=request.gated_units,
                frozen=False,
                idempotency_key=_release_key(request),
            )
            fields.append("release_transaction")
        request.save(update_fields=fields)
    locked.state = DealingState.PRICED
    locked.priced_at = now
    locked.fee_bps, locked.gate_bps = fee_bps, gate_bps
    locked.supply_at_cutoff, locked.gate_units = supply, limit
    locked.gated = limit is not None and sum(r.quantity for r in pending) > limit
    locked.requests = index
    locked.requested_units = sum(r.quantity for r in pending)
    locked.accepted_units = sum(accepted)
    locked.total_gross_minor, locked.total_fee_minor, locked.total_net_minor = (
        totals["gross"],
        totals["fee"],
        totals["net"],
    )
    if index == 0:
        locked.state = DealingState.SETTLED  # the gate let nothing through: nothing to approve, burn or pay
        locked.settled_at = now
    locked.save()
    _audit(
        locked,
        "redemption.dealing_day_priced",
        nav=nav_text(nav_per_unit=locked.nav_per_unit, nav_scale=locked.nav_scale),
        nav_source=locked.nav_source,
        supply=supply,
        gate_units=limit,
        gated=locked.gated,
        lines=index,
        requested_units=locked.requested_units,
        accepted_units=locked.accepted_units,
        total_gross_minor=locked.total_gross_minor,
        total_fee_minor=locked.total_fee_minor,
        total_net_minor=locked.total_net_minor,
    )


def dealing_days_due(*, now: dt.datetime | None = None) -> list[int]:
    """Dealing days to cut off or price now."""
    now = now or timezone.now()
    open_due = DealingDay.objects.filter(state=DealingState.OPEN, cutoff_at__lte=now)
    cut_off = DealingDay.objects.filter(state=DealingState.CUT_OFF)
    return sorted(set(open_due.values_list("pk", flat=True)) | set(cut_off.values_list("pk", flat=True)))
