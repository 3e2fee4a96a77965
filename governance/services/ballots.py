"""Creating a ballot (its record date scheduled on the token), reading the voting power once the record
date has passed, and closing it: the tally is counted once and frozen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import Issuer, User
from governance.models import Ballot, BallotOption, BallotState, Vote, VotingPower
from governance.tally import BPS, CastVote, tally_compute
from offerings.models import Offering
from registry.selectors.record_date import holdings_at, record_cross_check, record_date_ahead, record_point
from registry.services.ledger import ledger_sync
from tokens.selectors import chain_head_time, token_deployment
from tokens.services import CHAIN_TRANSIENT_ERRORS, token_record_date_schedule

# The token must be told of a record date before it passes; the outbox needs a little time to send it.
RECORD_DATE_LEAD = dt.timedelta(minutes=5)
MAX_OPTIONS = 20
# A ballot open for longer than this is a typing mistake.
LONGEST_VOTE = dt.timedelta(days=366)


@dataclass(frozen=True)
class BallotInput:
    question: str
    options: Sequence[str]
    record_at: dt.datetime
    opens_at: dt.datetime
    closes_at: dt.datetime
    quorum_bps: int


def _refuse(message: str, code: str, field_name: str | None = None) -> ApplicationError:
    return ApplicationError(message, code=code, extra={"field": field_name} if field_name else None)


def _chain_now() -> dt.datetime:
    now = timezone.now()
    try:
        return max(now, chain_head_time())
    except CHAIN_TRANSIENT_ERRORS:
        return now


def _validate(data: BallotInput) -> tuple[str, list[str]]:
    question = (data.question or "").strip()
    if not question:
        raise _refuse("Write the question the holders answer.", "question", "question")
    if len(question) > 500:
        raise _refuse("Keep the question within 500 characters.", "question", "question")
    options: list[str] = []
    for label in data.options:
        label = (label or "").strip()
        if not label:
            continue
        if len(label) > 200:
            raise _refuse("Keep each option within 200 characters.", "option_long", "options")
        if label.casefold() in (o.casefold() for o in options):
            raise _refuse(f"“{label}” is listed twice.", "option_twice", "options")
        options.append(label)
    if len(options) < 2:
        raise _refuse("A ballot needs at least two options.", "options_few", "options")
    if len(options) > MAX_OPTIONS:
        raise _refuse(f"A ballot has at most {MAX_OPTIONS} options.", "options_many", "options")
    if not isinstance(data.quorum_bps, int) or not 0 <= data.quorum_bps <= BPS:
        raise _refuse("The quorum is a share of the voting power between 0% and 100%.", "quorum", "quorum")
    now = _chain_now()
    if data.record_at < now + RECORD_DATE_LEAD:
        raise _refuse(
            "The record date must be at least five minutes ahead: the token takes its checkpoint on-chain then, "
            f"and it is {timezone.localtime(now):%d %B %Y %H:%M} on the chain.",
            "record_date_past",
            "record_at",
        )
    if data.opens_at < data.record_at:
        raise _refuse(
            "Voting opens at or after the record date: the voting power is what each holder held then.",
            "opens_before_record",
            "opens_at",
        )
    if data.closes_at <= data.opens_at:
        raise _refuse("Voting must close after it opens.", "closes_before_open", "closes_at")
    if data.closes_at - data.opens_at > LONGEST_VOTE:
        raise _refuse("Voting may stay open for a year at most.", "vote_long", "closes_at")
    return question, options


@transaction.atomic
def ballot_create(*, issuer: Issuer, offering: Offering, actor: User, data: BallotInput) -> Ballot:
    """Create a ballot and ask the token to schedule its record date."""
    offering = Offering.objects.select_for_update().get(pk=offering.pk)
    if offering.issuer_id != issuer.pk:
        raise ApplicationError("This offering belongs to another issuer.", code="wrong_issuer")
    token = token_deployment(owner_ref=offering.owner_ref)
    if token is None or not token.address:
        raise ApplicationError(
            "The offering's token is not on the chain yet; ballots go to its holders.", code="no_token"
        )
    question, options = _validate(data)
    now = timezone.now()
    pending = (
        Ballot.objects.filter(offering=offering, record_at__gt=now).exclude(record_transaction__status="failed").first()
    )
    # A distribution's record date (or one set on the token some other way) counts too: the token refuses a second.
    ahead = pending.record_at if pending is not None else record_date_ahead(offering=offering)
    if ahead is not None:
        raise Conflict(
            f"The token has a record date still ahead ({timezone.localtime(ahead):%d %B %Y %H:%M}); it takes one "
            "record date at a time, so create this ballot once that date has passed.",
            code="record_date_pending",
        )
    ballot = Ballot.objects.create(
        offering=offering,
        question=question,
        record_at=data.record_at,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        quorum_bps=data.quorum_bps,
        created_by=actor,
    )
    BallotOption.objects.bulk_create(
        BallotOption(ballot=ballot, position=n, label=label) for n, label in enumerate(options, start=1)
    )
    ballot.record_transaction = token_record_date_schedule(
        owner_ref=offering.owner_ref,
        timestamp=int(data.record_at.timestamp()),
        idempotency_key=f"ballot:{settings.CHAIN_ID}:{ballot.public_id}:record-date",
        actor=actor,
        purpose=f"Record date {data.record_at:%Y-%m-%d %H:%M} of {offering.token_symbol} (ballot)",
    )
    ballot.save(update_fields=["record_transaction"])
    audit_record(
        actor=actor,
        action="ballot.created",
        obj=ballot,
        issuer=issuer,
        after={
            "offering": offering.pk,
            "question": question,
            "options": options,
            "record_at": ballot.record_at,
            "opens_at": ballot.opens_at,
            "closes_at": ballot.closes_at,
            "quorum_bps": ballot.quorum_bps,
        },
    )
    return ballot


def ballot_power_read(*, ballot: Ballot, actor: User | None) -> Ballot:
    """Read each investor's voting power at the record date; refused while the chain or ledger is not there yet,
    and when the ledger and the token's checkpoint disagree (nobody votes on a register the chain does not confirm)."""
    current = Ballot.objects.select_related("offering", "record_transaction").get(pk=ballot.pk)
    if current.state != BallotState.SCHEDULED:
        return current
    point = record_point(
        offering=current.offering,
        record_at=current.record_at,
        record_transaction=current.record_transaction,
        record_id=current.record_id,
        resubmit_hint="create the ballot again",
    )
    ledger_sync(offering=current.offering)
    holdings = holdings_at(offering=current.offering, block=point.block)
    mismatches, ledger_sum, chain_supply = record_cross_check(point, holdings)
    if mismatches or ledger_sum != chain_supply:
        shown = "; ".join(f"{m.wallet}: ledger {m.ledger:,}, token {m.chain:,}" for m in mismatches[:5])
        raise ApplicationError(
            f"At the record date (block {point.block}) the ledger holds {ledger_sum:,} units and the token's "
            f"checkpoint {chain_supply:,}."
            + (f" Wallets that differ: {shown}." if shown else "")
            + " The register must be reconciled before the voting power is read.",
            code="record_difference",
        )
    power: dict[int, int] = {}
    wallets: dict[int, list[str]] = {}
    for h in holdings:
        if h.investor_id is None or h.units <= 0:
            continue  # units the register knows no investor for (the issuer's own) carry no vote
        power[h.investor_id] = power.get(h.investor_id, 0) + h.units
        wallets.setdefault(h.investor_id, []).append(h.wallet)
    with transaction.atomic():
        locked = Ballot.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=current.pk)
        if locked.state != BallotState.SCHEDULED:
            return locked
        VotingPower.objects.bulk_create(
            VotingPower(ballot=locked, investor_id=i, power=power[i], wallets=sorted(wallets[i])) for i in sorted(power)
        )
        locked.record_id, locked.record_block = point.record_id, point.block
        locked.power_read_at = timezone.now()
        locked.total_power = sum(power.values())
        locked.holders = len(power)
        locked.state = BallotState.READY
        locked.save(update_fields=["record_id", "record_block", "power_read_at", "total_power", "holders", "state"])
        audit_record(
            actor=actor,
            action="ballot.power_read",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"state": BallotState.SCHEDULED},
            after={
                "state": locked.state,
                "record_id": locked.record_id,
                "record_block": locked.record_block,
                "total_power": locked.total_power,
                "holders": locked.holders,
            },
        )
    return locked


@transaction.atomic
def ballot_close(*, ballot: Ballot, actor: User | None, now: dt.datetime | None = None) -> Ballot:
    """Count the votes of a ballot whose closing time has passed and freeze the tally (idempotent)."""
    locked = Ballot.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=ballot.pk)
    if locked.state == BallotState.CLOSED:
        return locked
    moment = now or timezone.now()
    if moment < locked.closes_at:
        raise Conflict(
            f"Voting is open until {timezone.localtime(locked.closes_at):%d %B %Y %H:%M}; it is counted after that.",
            code="still_open",
        )
    if locked.state != BallotState.READY:
        raise Conflict(
            "The voting power was never read, so nobody could vote; read it first (the record date must have passed).",
            code="power_unread",
        )
    options = list(BallotOption.objects.select_for_update().filter(ballot=locked).order_by("position"))
    votes = [
        CastVote(investor_id=i, option=position, power=p)
        for i, position, p in Vote.objects.filter(ballot=locked).values_list("investor_id", "option__position", "power")
    ]
    tally = tally_compute(
        votes=votes, options=[o.position for o in options], total_power=locked.total_power, quorum_bps=locked.quorum_bps
    )
    for option in options:
        option.power, option.holders = tally.power[option.position], tally.holders[option.position]
    BallotOption.objects.bulk_update(options, ["power", "holders"])
    locked.state = BallotState.CLOSED
    locked.closed_at = moment
    locked.power_voted, locked.holders_voted, locked.quorum_met = (
        tally.power_voted,
        tally.holders_voted,
        tally.quorum_met,
    )
    locked.save(update_fields=["state", "closed_at", "power_voted", "holders_voted", "quorum_met"])
    audit_record(
        actor=actor,
        action="ballot.closed",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": BallotState.READY},
        after={
            "state": locked.state,
            "power_voted": tally.power_voted,
            "holders_voted": tally.holders_voted,
            "total_power": locked.total_power,
            "quorum_bps": locked.quorum_bps,
            "quorum_met": tally.quorum_met,
            "options": {o.label: {"power": o.power, "holders": o.holders} for o in options},
        },
    )
    return locked


@dataclass(frozen=True)
class DueSummary:
    power_read: int
    closed: int


def ballots_due_advance(*, now: dt.datetime | None = None) -> DueSummary:
    """What the clock makes due: the voting power of ballots whose record date has passed, and the count of
    ballots whose voting has closed. A ballot not ready yet (the chain or the ledger behind) is tried next time."""
    moment = now or timezone.now()
    read = closed = 0
    for ballot in Ballot.objects.filter(state=BallotState.SCHEDULED, record_at__lt=moment).order_by("pk"):
        try:
            if ballot_power_read(ballot=ballot, actor=None).state == BallotState.READY:
                read += 1
        except ApplicationError:
            continue
    for ballot in Ballot.objects.filter(state=BallotState.READY, closes_at__lte=moment).order_by("pk"):
        ballot_close(ballot=ballot, actor=None, now=moment)
        closed += 1
    return DueSummary(power_read=read, closed=closed)
