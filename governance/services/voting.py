"""Casting a vote: in the portal, or by an EIP-712 message signed with a wallet that held the units at the
record date. One vote per investor, weighted by their voting power, changeable until the close."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import User
from governance.models import Ballot, BallotOption, BallotState, Vote, VoteChannel, VotingPower
from governance.typed_vote import vote_typed_data
from investors.models import InvestorProfile
from tokens.selectors import SignatureInvalid, address_checksum, token_deployment, typed_data_signer


def _open_ballot(ballot: Ballot, moment: dt.datetime) -> Ballot:
    locked = Ballot.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=ballot.pk)
    if locked.state == BallotState.CLOSED or moment >= locked.closes_at:
        raise Conflict(
            f"Voting closed on {timezone.localtime(locked.closes_at):%d %B %Y at %H:%M}; votes are no longer taken.",
            code="ballot_closed",
        )
    if moment < locked.opens_at:
        raise Conflict(
            f"Voting opens on {timezone.localtime(locked.opens_at):%d %B %Y at %H:%M}.", code="ballot_not_open"
        )
    if locked.state != BallotState.READY:
        raise Conflict(
            "The voting power at the record date is still being read; try again shortly.", code="power_unread"
        )
    return locked


def _power(ballot: Ballot, investor: InvestorProfile) -> VotingPower:
    power = VotingPower.objects.filter(ballot=ballot, investor=investor).first()
    if power is None:
        raise NotPermitted(
            f"You held no {ballot.offering.token_symbol} at the record date "
            f"({timezone.localtime(ballot.record_at):%d %B %Y %H:%M}), so this ballot carries no vote of yours.",
            code="no_voting_power",
        )
    return power


def _option(ballot: Ballot, position: int) -> BallotOption:
    option = BallotOption.objects.filter(ballot=ballot, position=position).first()
    if option is None:
        raise ApplicationError("Choose one of the ballot's options.", code="option_unknown", extra={"field": "option"})
    return option


def _record(
    *,
    ballot: Ballot,
    investor: InvestorProfile,
    option: BallotOption,
    power: VotingPower,
    actor: User,
    moment: dt.datetime,
    channel: str,
    signer: str = "",
    signature: str = "",
    nonce: int | None = None,
) -> Vote:
    vote = Vote.objects.select_for_update().filter(ballot=ballot, investor=investor).select_related("option").first()
    before: dict[str, Any] | None = None
    if vote is None:
        vote = Vote(ballot=ballot, investor=investor, changes=0)
    else:
        before = {"option": vote.option.label, "channel": vote.channel, "signer_wallet": vote.signer_wallet}
        vote.changes += 1
    vote.option, vote.power, vote.channel = option, power.power, channel
    vote.signer_wallet, vote.signature = signer, signature
    vote.signed_nonce = nonce if nonce is not None else vote.signed_nonce
    vote.cast_by, vote.cast_at = actor, moment
    vote.save()
    audit_record(
        actor=actor,
        action="ballot.vote_changed" if before else "ballot.vote_cast",
        obj=vote,
        issuer=ballot.offering.issuer,
        before=before,
        after={
            "ballot": str(ballot.public_id),
            "investor": investor.pk,
            "option": option.label,
            "power": power.power,
            "channel": channel,
            "signer_wallet": signer,
            "nonce": nonce,
        },
    )
    return vote


@transaction.atomic
def vote_cast(
    *, ballot: Ballot, investor: InvestorProfile, option: int, actor: User, now: dt.datetime | None = None
) -> Vote:
    """The investor's vote, cast in the portal (a second call changes it)."""
    moment = now or timezone.now()
    locked = _open_ballot(ballot, moment)
    power = _power(locked, investor)
    return _record(
        ballot=locked,
        investor=investor,
        option=_option(locked, option),
        power=power,
        actor=actor,
        moment=moment,
        channel=VoteChannel.PORTAL,
    )


def vote_message(*, ballot: Ballot, option: int, nonce: int) -> dict[str, Any]:
    """The typed data a wallet signs to vote `option` on `ballot`."""
    token = token_deployment(owner_ref=ballot.offering.owner_ref)
    if token is None or not token.address:
        raise ApplicationError("The ballot's token is not on the chain.", code="no_token")
    chosen = _option(ballot, option)
    return vote_typed_data(
        ballot_id=str(ballot.public_id),
        token_address=address_checksum(token.address),
        option=chosen.position,
        option_label=chosen.label,
        nonce=nonce,
    )


@transaction.atomic
def vote_cast_signed(
    *,
    ballot: Ballot,
    investor: InvestorProfile,
    option: int,
    nonce: int,
    signature: str,
    actor: User,
    now: dt.datetime | None = None,
) -> Vote:
    """The investor's vote, signed as EIP-712 typed data by one of the wallets that held their units at the
    record date. The portal rebuilds the message from the ballot, the option and the nonce, so a signature
    over anything else recovers another address and is refused."""
    moment = now or timezone.now()
    locked = _open_ballot(ballot, moment)
    power = _power(locked, investor)
    if not isinstance(nonce, int) or not 0 < nonce < 2**63:
        raise ApplicationError("The nonce is a positive whole number.", code="nonce_invalid", extra={"field": "nonce"})
    typed = vote_message(ballot=locked, option=option, nonce=nonce)
    try:
        signer = typed_data_signer(typed_data=typed, signature=signature)
    except SignatureInvalid as exc:
        raise ApplicationError(
            f"The signature could not be verified ({exc}); sign the vote again with your wallet.",
            code="signature_invalid",
            extra={"field": "signature"},
        ) from exc
    if signer not in power.wallets:
        held = ", ".join(power.wallets)
        raise NotPermitted(
            f"The vote was signed by {signer}, which held none of your {locked.offering.token_symbol} at the record "
            f"date. Sign it with a wallet that did: {held}.",
            code="signer_not_holder",
            extra={"field": "signature"},
        )
    previous = Vote.objects.filter(ballot=locked, investor=investor).values_list("signed_nonce", flat=True).first()
    if previous is not None and nonce <= previous:
        raise Conflict(
            "This signed vote is older than the one already counted; sign the vote again to change it.",
            code="nonce_reused",
        )
    return _record(
        ballot=locked,
        investor=investor,
        option=_option(locked, option),
        power=power,
        actor=actor,
        moment=moment,
        channel=VoteChannel.SIGNED,
        signer=signer,
        signature=signature,
        nonce=nonce,
    )
