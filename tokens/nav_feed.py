"""NAV oracles: contracts in Chainlink's AggregatorV3Interface shape that publish a fund's NAV per unit.

Any such contract on this chain may be a token's NAV oracle; `aggregator_read` and `aggregator_rounds` read one
from the node (plain integers, no judgement: the caller decides what a round is worth). For a fund whose
administrator has no feed of its own, the portal deploys one (`nav_feed_deploy`): a `ReserveFeed` contract
(tokens/contracts/ReserveFeed.sol, the same AggregatorV3) that the attestor sender publishes to
(`nav_feed_publish`, one outbox row per idempotency key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from tokens.chain.abi import decode_result_or_none, encode_call
from tokens.chain.addresses import address_is_valid, checksum
from tokens.chain.client import NodeRejected, Reverted, client_for
from tokens.finality import final_block_number
from tokens.models import ChainTransaction, ContractDeployment, ContractKind, TxStatus
from tokens.outbox import transaction_enqueue
from tokens.reserve_feed import FEED, MAX_RESERVE, _deployment, feed_deploy

# The interface's functions, encoded and decoded with the ReserveFeed artifact (the same signatures).
AGGREGATOR = FEED
# At most this many rounds are read in one pass; a feed that published more since is read on from the latest.
MAX_ROUNDS_PER_READ = 50

__all__ = [
    "MAX_ROUNDS_PER_READ",
    "AggregatorInfo",
    "AggregatorInvalid",
    "AggregatorRound",
    "aggregator_read",
    "aggregator_rounds",
    "nav_feed_deploy",
    "nav_feed_of",
    "nav_feed_publish",
]


class AggregatorInvalid(ApplicationError):
    """The address holds no contract that answers as an AggregatorV3 does; the message says what is wrong."""


@dataclass(frozen=True)
class AggregatorRound:
    """One round as the contract reports it: the answer in `decimals` places, `updated_at` in unix seconds."""

    round_id: int
    answer: int
    started_at: int
    updated_at: int
    answered_in_round: int


@dataclass(frozen=True)
class AggregatorInfo:
    address: str
    decimals: int
    description: str
    latest: AggregatorRound | None  # None before the first round (Chainlink's "no data": updatedAt 0, round 0)


def _view(address: str, function: str, *args: object, block: int | str = "latest") -> tuple[object, ...] | None:
    """The function's decoded result at `block`, or None when the contract does not answer it (reverts, returns
    nothing or what is not its ABI). The node being down raises NodeUnavailable, which callers retry."""
    client = client_for(settings.CHAIN_RPC_URL)
    try:
        data = client.call({"to": address, "data": "0x" + encode_call(AGGREGATOR, function, list(args)).hex()}, block)
    except (Reverted, NodeRejected):
        return None
    if not data:
        return None
    return decode_result_or_none(AGGREGATOR, function, data)


def _round(values: tuple[object, ...]) -> AggregatorRound:
    round_id, answer, started, updated, answered = (int(str(v)) for v in values)
    return AggregatorRound(round_id, answer, started, updated, answered)


def aggregator_read(*, address: str) -> AggregatorInfo:
    """What the contract at `address` says of itself: decimals, description, latest round.

    Raises AggregatorInvalid (with a message for the issuer) for an address that is not a contract or does not
    answer `decimals()` and `latestRoundData()`; the chain's transient errors when the node is down."""
    if not address_is_valid(address):
        raise AggregatorInvalid("An oracle's address is 0x followed by 40 hexadecimal digits.", code="oracle_address")
    address = checksum(address)
    if not client_for(settings.CHAIN_RPC_URL).code(address):
        raise AggregatorInvalid(
            f"There is no contract at {address} on this chain (chain id {settings.CHAIN_ID}); an oracle is the "
            "address of its AggregatorV3 contract.",
            code="oracle_not_contract",
        )
    latest = _view(address, "latestRoundData")
    if latest is None:
        raise AggregatorInvalid(
            f"The contract at {address} does not answer latestRoundData(), so it is not an AggregatorV3 feed.",
            code="oracle_not_aggregator",
        )
    decimals = _view(address, "decimals")
    if decimals is None:
        raise AggregatorInvalid(
            f"The contract at {address} does not answer decimals(), so its answers cannot be read exactly.",
            code="oracle_not_aggregator",
        )
    description = _view(address, "description")
    report = _round(latest)
    return AggregatorInfo(
        address=address,
        decimals=int(str(decimals[0])),
        description=str(description[0])[:200] if description else "",
        latest=report if report.updated_at or report.round_id else None,
    )


def aggregator_rounds(*, address: str, after_round_id: int | None) -> list[AggregatorRound]:
    """The rounds after `after_round_id`, oldest first: only the latest when None (nothing read before). At most
    MAX_ROUNDS_PER_READ, the latest ones; ids the contract does not know are passed over (a Chainlink proxy's
    round ids jump when it moves to a new aggregator). Read at the final block (tokens.finality): a round a reorg
    could still drop is read once it is final. The node being down raises NodeUnavailable."""
    block = final_block_number(client_for(settings.CHAIN_RPC_URL))
    if block < 0:
        return []
    latest = _view(address, "latestRoundData", block=block)
    if latest is None:
        raise AggregatorInvalid(f"The contract at {address} no longer answers latestRoundData().", code="oracle_gone")
    report = _round(latest)
    if not report.round_id and not report.updated_at:
        return []
    if after_round_id is None:
        return [report]
    if report.round_id <= after_round_id:
        return []
    rounds: list[AggregatorRound] = []
    for round_id in range(max(after_round_id + 1, report.round_id - MAX_ROUNDS_PER_READ + 1), report.round_id):
        values = _view(address, "getRoundData", round_id, block=block)
        if values is not None:
            rounds.append(_round(values))
    rounds.append(report)
    return rounds


# --------------------------------------------------------------------------- the portal's own NAV feed


def nav_feed_of(owner_ref: str) -> ContractDeployment | None:
    return _deployment(ContractKind.NAV_FEED, owner_ref)


@transaction.atomic
def nav_feed_deploy(
    *, owner_ref: str, decimals: int, description: str, actor: User | None = None
) -> ContractDeployment:
    """Deploy a NAV feed for a token: the agent sender is its admin, the attestor sender (the fund administrator's
    key on this portal) publishes."""
    return feed_deploy(
        kind=ContractKind.NAV_FEED,
        what="NAV feed",
        owner_ref=owner_ref,
        decimals=decimals,
        description=description,
        actor=actor,
    )


@transaction.atomic
def nav_feed_publish(
    *, owner_ref: str, nav_per_unit: int, as_of: datetime, idempotency_key: str, actor: User | None = None
) -> ChainTransaction:
    """Queue a NAV per unit (an integer in the feed's decimals, above zero) struck as of `as_of` (aware, not in the
    future, not before the one published last: the feed refuses that on-chain). The attestor sender signs it; the
    same key again returns the same row."""
    if isinstance(nav_per_unit, bool) or not isinstance(nav_per_unit, int) or not 0 < nav_per_unit <= MAX_RESERVE:
        raise ApplicationError("A NAV per unit is a whole number of the feed's units, above zero.", code="invalid_nav")
    if timezone.is_naive(as_of) or as_of > timezone.now():
        raise ApplicationError("A NAV is struck as of a moment that has passed, with its time zone.", code="as_of")
    if not idempotency_key or len(idempotency_key) > 200:
        raise ApplicationError("A publication needs an idempotency key of at most 200 characters.", code="invalid_key")
    feed = nav_feed_of(owner_ref)
    if feed is None:
        raise ApplicationError(f"{owner_ref} has no NAV feed.", code="no_nav_feed")
    deploy = feed.deploy_transaction
    if not feed.address or (deploy is not None and deploy.status != TxStatus.CONFIRMED):
        raise ApplicationError("The NAV feed is still being deployed; try again shortly.", code="not_deployed")
    seconds = int(as_of.timestamp())
    tx = transaction_enqueue(
        idempotency_key=idempotency_key,
        purpose=f"Publish the NAV of {owner_ref}: {nav_per_unit:,} as of {as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        to_address=feed.address,
        data=encode_call(FEED, "publish", [nav_per_unit, seconds]),
        actor=actor,
        sender_role="attestor",
    )
    audit_record(
        actor=actor,
        action="chain.nav_publish_requested",
        obj=tx,
        after={"owner": owner_ref, "feed": feed.address, "nav_per_unit": nav_per_unit, "as_of": seconds},
    )
    return tx
