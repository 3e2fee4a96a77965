"""A token's NAV oracle: the contract on this chain (Chainlink's AggregatorV3Interface) that publishes its NAV per
unit, and the reading of its rounds into NAV points.

Naming, changing or removing the oracle changes how the fund is priced, so it takes four eyes: an issuer admin
proposes it (the contract is read from the node then, and refused when it is not an AggregatorV3 or its decimals do
not fit the NAV's declared places), another admin of the issuer approves it. Each step is audited.

The oracle is the NAV's designated publisher: a round it reports is in force as it is recorded, with no person's
approval, audited with the oracle as its actor. A round is recorded once (a unique constraint on the token, the
oracle's address and the round id), on the dealing day of its `updatedAt` (dealing days are UTC days, as the NAV
terms' cut-off and `dealing_day_of` count them; settings.TIME_ZONE is UTC). A later round for the same day
supersedes the earlier point as a corrected document does. A round that cannot be a NAV (zero or negative, no
time, a time in the future, or before the last round recorded) is kept aside with the reason, for the NAV page.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from backing.models import (
    NAV_ORACLE_APPROVAL_KIND,
    NavOracle,
    NavPoint,
    NavRoundRefused,
    NavTerms,
    StatementState,
)
from backing.quantities import QuantityInvalid, amount_text, nav_from_feed
from backing.services.nav import nav_current_locked, nav_in_force, nav_supersede
from backing.transparency import transparency_forget
from core.approvals import ApprovalKind, approval_kind_register, approval_propose
from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import ApprovalRequest, ApprovalState, User
from core.tasks import task_enqueue_on_commit
from offerings.models import Offering
from tokens.selectors import AggregatorRound, address_checksum, address_is_valid, aggregator_read, aggregator_rounds
from tokens.services import AggregatorInvalid

log = logging.getLogger(__name__)

MAX_NAV_PER_UNIT = 2**63 - 1  # a NAV point's column (BigIntegerField)
# A round's updatedAt is its block's time, which may run this far ahead of the portal's clock without being a
# round from the future.
CLOCK_TOLERANCE = dt.timedelta(seconds=60)


def _object_key(offering: Offering) -> tuple[str, str]:
    return ("backing.navoracle", str(offering.pk))


def _oracle_state(oracle: NavOracle | None) -> dict[str, Any] | None:
    if oracle is None:
        return None
    return {"address": oracle.address, "description": oracle.description, "decimals": oracle.decimals}


def oracle_text(state: dict[str, Any] | None) -> str:
    if state is None:
        return "no oracle (NAV from documents only)"
    described = f" ({state['description']})" if state.get("description") else ""
    return f"oracle {state['address']}{described}, {state['decimals']} decimals"


def nav_oracle_change_pending(*, offering: Offering) -> ApprovalRequest | None:
    object_type, object_id = _object_key(offering)
    return (
        ApprovalRequest.objects.filter(
            kind=NAV_ORACLE_APPROVAL_KIND, object_type=object_type, object_id=object_id, state=ApprovalState.PENDING
        )
        .select_related("proposed_by")
        .first()
    )


def _read_checked(*, address: str, terms: NavTerms) -> dict[str, Any]:
    """The contract at `address` read from the node, refused unless it is an AggregatorV3 whose answers fit the
    NAV's declared places exactly. The node being down raises the chain's transient errors."""
    info = aggregator_read(address=address)  # raises AggregatorInvalid with the reason
    if info.decimals > terms.scale:
        raise ApplicationError(
            f"The oracle at {info.address} answers to {info.decimals} decimal places, but the NAV is declared to "
            f"{terms.scale}: its answers would lose precision. Name a feed with at most {terms.scale} decimals.",
            code="oracle_decimals",
        )
    return {"address": info.address, "description": info.description, "decimals": info.decimals}


@transaction.atomic
def nav_oracle_propose(*, offering: Offering, address: str, actor: User) -> ApprovalRequest:
    """Propose `address` as the token's NAV oracle ("" to remove the oracle). The contract is read now and refused
    with the reason when it does not answer as a feed; nothing changes until another admin approves."""
    terms = NavTerms.objects.filter(offering=offering).first()
    if terms is None:
        raise ApplicationError(
            "Declare the NAV's terms first: the decimal places it is published to.", code="no_nav_terms"
        )
    address = (address or "").strip()
    current = _oracle_state(NavOracle.objects.filter(offering=offering).first())
    if not address:
        if current is None:
            raise ApplicationError("The token has no NAV oracle to remove.", code="unchanged")
        proposed = None
    else:
        if not address_is_valid(address):
            raise ApplicationError(
                "An oracle's address is 0x followed by 40 hexadecimal digits.", code="oracle_address"
            )
        if current is not None and address_checksum(address) == current["address"]:
            raise ApplicationError("This is the token's NAV oracle already; nothing to change.", code="unchanged")
        try:
            proposed = _read_checked(address=address, terms=terms)
        except AggregatorInvalid as exc:
            raise ApplicationError(exc.message, code=exc.code) from exc
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    if nav_oracle_change_pending(offering=offering) is not None:
        raise Conflict(
            "A change of this token's NAV oracle is already waiting for a second admin; approve, decline or "
            "withdraw it first.",
            code="approval_pending",
        )
    outcome = approval_propose(
        issuer=offering.issuer,
        kind=NAV_ORACLE_APPROVAL_KIND,
        proposer=actor,
        summary=f"{offering.token_symbol}: NAV published by {oracle_text(proposed)} instead of {oracle_text(current)}",
        amount_minor=0,
        currency="",
        payload={
            "offering_id": offering.pk,
            "proposed": proposed,
            "current": current,
            "detail_url": reverse("nav_overview", args=[offering.issuer.slug, offering.public_id]),
        },
        object_key=_object_key(offering),
        required=True,
    )
    assert outcome.request is not None
    audit_record(
        actor=actor,
        action="backing.nav_oracle_change_proposed",
        obj=outcome.request,
        issuer=offering.issuer,
        before=current,
        after=proposed,
    )
    return outcome.request


def _apply(request: ApprovalRequest, actor: User) -> NavOracle | None:
    offering = Offering.objects.select_for_update().select_related("issuer").get(pk=request.payload["offering_id"])
    oracle = NavOracle.objects.select_for_update().filter(offering=offering).first()
    before = _oracle_state(oracle)
    if before != request.payload["current"]:
        raise Conflict(
            "The NAV oracle changed after this was proposed, so it no longer says what it would replace. Decline it "
            "and propose the change again.",
            code="oracle_changed",
        )
    proposed = request.payload["proposed"]
    if proposed is None:
        assert oracle is not None
        oracle.delete()
        result = None
    else:
        oracle = oracle or NavOracle(offering=offering)
        oracle.address, oracle.description = proposed["address"], proposed["description"]
        oracle.decimals = int(proposed["decimals"])
        oracle.proposed_by_id, oracle.approved_by, oracle.approved_at = request.proposed_by_id, actor, timezone.now()
        oracle.last_round_id, oracle.last_read_at, oracle.problem = "", None, ""
        oracle.save()
        result = oracle
    audit_record(
        actor=actor,
        action="backing.nav_oracle_changed",
        obj=result or request,
        issuer=offering.issuer,
        before=before,
        after={**(proposed or {}), "proposed_by": request.proposed_by_id, "approved_by": actor.pk},
    )
    transparency_forget(offering=offering)
    if result is not None:
        from backing.tasks import nav_oracle_read_task

        task_enqueue_on_commit(
            nav_oracle_read_task, offering.pk, when_broker_down="the beat's next pass reads every oracle"
        )
    return result


def _declined(request: ApprovalRequest, actor: User) -> None:
    audit_record(
        actor=actor,
        action="backing.nav_oracle_change_declined",
        obj=request,
        issuer=request.issuer,
        before=request.payload.get("current"),
        after={"state": request.state, "note": request.decision_note},
    )


approval_kind_register(
    ApprovalKind(
        kind=NAV_ORACLE_APPROVAL_KIND,
        label="Change a token's NAV oracle",
        perform=_apply,
        on_decline=_declined,
    )
)


# --------------------------------------------------------------------------- reading


def oracle_actor(address: str) -> str:
    """Who the audit names for what the oracle published."""
    return f"NAV oracle {address}"


def _moment(seconds: int) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) if seconds > 0 else None
    except (OverflowError, OSError, ValueError):
        return None


def _refusal(r: AggregatorRound, *, terms: NavTerms, oracle: NavOracle, last: NavPoint | None, now: dt.datetime) -> str:
    """Why this round cannot be a NAV point, or "" when it can."""
    if r.answer <= 0:
        return "a NAV per unit is above zero"
    if r.updated_at <= 0:
        return "the round carries no time (its updatedAt is 0), so it has no dealing day"
    at = _moment(r.updated_at)
    if at is None or at > now + CLOCK_TOLERANCE:
        return "its time is in the future"
    if last is not None and last.oracle_updated_at is not None and at < last.oracle_updated_at:
        return (
            f"it is earlier than round {last.oracle_round_id}, already recorded as of "
            f"{last.oracle_updated_at:%d %B %Y %H:%M} UTC"
        )
    try:
        nav = nav_from_feed(answer=r.answer, feed_decimals=oracle.decimals, scale=terms.scale)
    except QuantityInvalid as exc:
        return exc.message
    if nav > MAX_NAV_PER_UNIT:
        return "it is too large to record"
    return ""


def _refuse(offering: Offering, oracle: NavOracle, r: AggregatorRound, reason: str) -> None:
    at = _moment(r.updated_at)
    log.warning(
        "NAV oracle %s of offering %s reported %s at %s (round %s); not used because %s",
        oracle.address,
        offering.pk,
        r.answer,
        r.updated_at,
        r.round_id,
        reason,
    )
    try:
        with transaction.atomic():
            refused = NavRoundRefused.objects.create(
                offering=offering,
                oracle_address=oracle.address,
                round_id=str(r.round_id),
                answer=str(r.answer),
                reported_at=at,
                reason=reason[:300],
            )
            audit_record(
                actor=oracle_actor(oracle.address),
                action="backing.nav_round_refused",
                obj=refused,
                issuer=offering.issuer,
                after={
                    "round_id": str(r.round_id),
                    "answer": str(r.answer),
                    "updated_at": r.updated_at,
                    "reason": reason,
                },
            )
    except IntegrityError:
        pass  # another pass kept it aside first


def _record(offering: Offering, terms: NavTerms, oracle: NavOracle, r: AggregatorRound) -> NavPoint | None:
    at = _moment(r.updated_at)
    assert at is not None
    day = at.astimezone(dt.UTC).date()
    current = nav_current_locked(offering_id=offering.pk, day=day)
    if current is not None and current.pricings.exists():
        _refuse(offering, oracle, r, f"subscriptions were issued at the NAV of {day:%d %B %Y} already")
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            nav_supersede(current, now=now)
            point = NavPoint.objects.create(
                offering=offering,
                dealing_day=day,
                currency=offering.currency,
                scale=terms.scale,
                nav_per_unit=nav_from_feed(answer=r.answer, feed_decimals=oracle.decimals, scale=terms.scale),
                source=(oracle.description or f"NAV oracle {oracle.address}")[:200],
                oracle_address=oracle.address,
                oracle_description=oracle.description,
                oracle_round_id=str(r.round_id),
                oracle_updated_at=at,
                state=StatementState.APPROVED,
                approved_at=now,
                supersedes=current,
            )
            audit_record(
                actor=oracle_actor(oracle.address),
                action="backing.nav_point_published",
                obj=point,
                issuer=offering.issuer,
                before={"current": current.pk if current else None},
                after={
                    "dealing_day": day.isoformat(),
                    "nav_per_unit": point.nav_per_unit,
                    "scale": point.scale,
                    "currency": point.currency,
                    "oracle": oracle.address,
                    "round_id": str(r.round_id),
                    "answer": str(r.answer),
                    "decimals": oracle.decimals,
                    "updated_at": r.updated_at,
                    "supersedes": current.pk if current else None,
                },
            )
    except IntegrityError:
        return None  # recorded by another pass
    nav_in_force(point)
    return point


def nav_oracle_read(*, offering_id: int) -> int:
    """Read the token's oracle from the node and record each round since the last one read; the number of points
    recorded. The node being down raises the chain's transient errors: nothing is recorded, the next try reads the
    same rounds. Running twice at once, or again after a pass was killed, records no round twice."""
    oracle = NavOracle.objects.filter(offering_id=offering_id).first()
    if oracle is None:
        return 0
    after = int(oracle.last_round_id) if oracle.last_round_id else None
    try:
        info = aggregator_read(address=oracle.address)
        rounds = aggregator_rounds(address=oracle.address, after_round_id=after)
    except AggregatorInvalid as exc:
        NavOracle.objects.filter(pk=oracle.pk).update(problem=exc.message[:300], last_read_at=timezone.now())
        log.warning("NAV oracle %s of offering %s cannot be read: %s", oracle.address, offering_id, exc.message)
        return 0
    recorded = 0
    with transaction.atomic():
        offering = Offering.objects.select_for_update().select_related("issuer").get(pk=offering_id)
        locked = NavOracle.objects.select_for_update().filter(pk=oracle.pk, address=oracle.address).first()
        terms = NavTerms.objects.filter(offering=offering).first()
        if locked is None or terms is None:
            return 0  # the oracle was changed or removed while the node was read
        problem = ""
        if info.decimals != locked.decimals:
            problem = (
                f"The oracle now answers to {info.decimals} decimal places, not the {locked.decimals} it had when it "
                "was named; its rounds are not read until it is named again."
            )
            rounds = []
        elif locked.last_round_id and info.latest is not None and info.latest.round_id < int(locked.last_round_id):
            problem = (
                f"The oracle's latest round is {info.latest.round_id}, before round {locked.last_round_id} already "
                "read: it was reset or replaced, so no new round is read. Remove the oracle and name it again."
            )
        now = timezone.now()
        seen_points = set(
            NavPoint.objects.filter(offering=offering, oracle_address=locked.address).values_list(
                "oracle_round_id", flat=True
            )
        )
        seen_refused = set(
            NavRoundRefused.objects.filter(offering=offering, oracle_address=locked.address).values_list(
                "round_id", flat=True
            )
        )
        last_id = int(locked.last_round_id) if locked.last_round_id else None
        for r in sorted(rounds, key=lambda r: r.round_id):
            if last_id is not None and r.round_id <= last_id:
                continue  # a pass that ran at the same time read it
            last_id = r.round_id
            if str(r.round_id) in seen_points or str(r.round_id) in seen_refused:
                continue
            last = (
                NavPoint.objects.filter(offering=offering, oracle_address=locked.address)
                .order_by("-oracle_updated_at", "-pk")
                .first()
            )
            reason = _refusal(r, terms=terms, oracle=locked, last=last, now=now)
            if reason:
                _refuse(offering, locked, r, reason)
            elif _record(offering, terms, locked, r) is not None:
                recorded += 1
        locked.last_round_id = str(last_id) if last_id is not None else locked.last_round_id
        locked.last_read_at, locked.problem = now, problem
        locked.save(update_fields=["last_round_id", "last_read_at", "problem"])
    return recorded


def nav_oracles_read() -> int:
    """Read every token's NAV oracle (the beat's pass); the number of points recorded. The node being down raises
    the chain's transient errors, and the pass is tried again: what was recorded stays, nothing is recorded twice."""
    return sum(
        nav_oracle_read(offering_id=offering_id)
        for offering_id in NavOracle.objects.order_by("offering_id").values_list("offering_id", flat=True)
    )


def nav_answer_text(answer: str, decimals: int) -> str:
    """A refused round's answer in the feed's own decimals, for the page."""
    try:
        return amount_text(int(answer), scale=decimals)
    except ValueError:
        return answer
