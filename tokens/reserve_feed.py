"""Reserves on-chain for an asset-backed token: its `ReserveFeed` and its `ReserveGuardedMinter`.

The feed holds attested reserves in Chainlink's AggregatorV3Interface shape; only the attestor
sender publishes to it (`reserve_feed_publish`, one outbox row per idempotency key). The minter
holds the token's agent role and refuses, on-chain, a mint that the latest report does not back or
that comes when the report is older than the staleness limit (the Chainlink Secure Mint pattern).

Once a token has a minter, every mint the portal asks for (`token_mint`, `token_batch_mint`) goes
through it. The portal's agent sender keeps the token's own agent role, which burns, freezes,
forced transfers, recoveries and pauses need; so the agent key can still mint around the minter.
Such a mint is visible: it carries no `MintChecked` event of the minter
(`reserve_unchecked_mints`), and one the portal did not ask for is flagged by the registry's
reconciliation as a mint made outside the portal.

Set up per token, each step once the one before has an address (`chain_deploy reserve-feed` and
`chain_deploy reserve-minter --wait` do it in order): `reserve_feed_deploy`,
`reserve_minter_deploy`, `reserve_minter_authorize` (the token's admin grants the minter its agent
role). Between the minter's deployment and its authorization, mints are refused rather than sent
around the guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from tokens.chain.abi import decode_result, encode_call, encode_deploy
from tokens.chain.client import client_for
from tokens.chain.signer import sender_address
from tokens.models import ChainEvent, ChainTransaction, ContractDeployment, ContractKind, TxStatus
from tokens.outbox import transaction_enqueue
from tokens.refusals import refusal_reason

FEED = "ReserveFeed"
MINTER = "ReserveGuardedMinter"
MAX_RESERVE = 2**127 - 1  # the feed stores a report in one slot: 128 bits for the answer
MAX_RATIO_TERM = 2**128 - 1
MAX_STALENESS_SECONDS = 2**40 - 1
MAX_FEED_DECIMALS = 36
ZERO_ADDRESS = "0x" + "0" * 40

__all__ = [
    "BackingRule",
    "ReserveReport",
    "refusal_reason",
    "reserve_feed_decimals",
    "reserve_feed_deploy",
    "reserve_feed_latest",
    "reserve_feed_of",
    "reserve_feed_publish",
    "reserve_minter_authorize",
    "reserve_minter_configure",
    "reserve_minter_deploy",
    "reserve_minter_of",
    "reserve_minter_route",
    "reserve_unchecked_mints",
]


@dataclass(frozen=True)
class BackingRule:
    """What the minter enforces: each base unit of the token needs numerator/denominator base units of
    the feed's answer, and a report older than `staleness_seconds` stops mints.

    E.g. a token with 0 decimals at $1.00 each against a feed in cents: 100/1; a margin goes into the
    ratio (102/1 for 2% over-collateralisation).
    """

    numerator: int
    denominator: int
    staleness_seconds: int

    def checked(self) -> BackingRule:
        for term in (self.numerator, self.denominator):
            if not _whole(term) or not 0 < term <= MAX_RATIO_TERM:
                raise ApplicationError(
                    "The reserve per token is a ratio of two whole numbers from 1 to 2^128-1.", code="invalid_ratio"
                )
        if not _whole(self.staleness_seconds) or not 0 < self.staleness_seconds <= MAX_STALENESS_SECONDS:
            raise ApplicationError(
                "How old an attestation may be is a whole number of seconds above zero.", code="invalid_staleness"
            )
        return self


@dataclass(frozen=True)
class ReserveReport:
    """The feed's latest round: the reserve in the feed's base units (`decimals` places) as of a moment."""

    round_id: int
    reserve: int
    decimals: int
    as_of: datetime


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _deployment(kind: str, owner_ref: str) -> ContractDeployment | None:
    return (
        ContractDeployment.objects.filter(chain_id=settings.CHAIN_ID, kind=kind, owner_ref=owner_ref)
        .select_related("deploy_transaction")
        .first()
    )


def reserve_feed_of(owner_ref: str) -> ContractDeployment | None:
    return _deployment(ContractKind.RESERVE_FEED, owner_ref)


def reserve_minter_of(owner_ref: str) -> ContractDeployment | None:
    return _deployment(ContractKind.RESERVE_MINTER, owner_ref)


def _token(owner_ref: str) -> ContractDeployment:
    token = _deployment(ContractKind.SECURITY_TOKEN, owner_ref)
    if token is None:
        raise ApplicationError(f"No token is deployed for {owner_ref}.", code="no_token")
    return token


def _deploy(*, kind: str, owner_ref: str, name: str, data: bytes, actor: User | None) -> ContractDeployment:
    label = ContractKind(kind).label.lower()
    if _deployment(kind, owner_ref) is not None:
        raise Conflict(f"A {label} for {owner_ref} is already deployed.", code="deployed")
    try:
        with transaction.atomic():
            deployment = ContractDeployment.objects.create(
                chain_id=settings.CHAIN_ID, kind=kind, owner_ref=owner_ref, name=name[:100]
            )
    except IntegrityError as exc:
        raise Conflict(f"A {label} for {owner_ref} is already deployed.", code="deployed") from exc
    tx = transaction_enqueue(
        idempotency_key=f"deploy:{settings.CHAIN_ID}:{kind}:{owner_ref}",
        purpose=f"Deploy the {label} of {owner_ref}",
        data=data,
        actor=actor,
    )
    deployment.deploy_transaction = tx
    deployment.save(update_fields=["deploy_transaction"])
    return deployment


# --------------------------------------------------------------------------- set-up


@transaction.atomic
def reserve_feed_deploy(
    *, owner_ref: str, decimals: int, description: str, actor: User | None = None
) -> ContractDeployment:
    """Deploy the reserve feed of a token: the agent sender is its admin, the attestor sender publishes."""
    _token(owner_ref)
    if not _whole(decimals) or not 0 <= decimals <= MAX_FEED_DECIMALS:
        raise ApplicationError(
            f"A reserve feed has from 0 to {MAX_FEED_DECIMALS} decimal places.", code="invalid_decimals"
        )
    description = description.strip()
    if not description or len(description) > 100:
        raise ApplicationError("Describe the feed in 1 to 100 characters.", code="invalid_description")
    admin, attestor = sender_address("agent"), sender_address("attestor")
    deployment = _deploy(
        kind=ContractKind.RESERVE_FEED,
        owner_ref=owner_ref,
        name=description,
        data=encode_deploy(FEED, [decimals, description, admin, attestor]),
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="chain.reserve_feed_deploy_requested",
        obj=deployment,
        after={"owner": owner_ref, "decimals": decimals, "description": description, "attestor": attestor},
    )
    return deployment


@transaction.atomic
def reserve_minter_deploy(*, owner_ref: str, rule: BackingRule, actor: User | None = None) -> ContractDeployment:
    """Deploy the minter of a token against its feed; the agent sender is its admin and its agent."""
    rule = rule.checked()
    token, feed = _token(owner_ref), reserve_feed_of(owner_ref)
    if feed is None:
        raise ApplicationError(f"{owner_ref} has no reserve feed yet; deploy it first.", code="no_reserve_feed")
    if not token.address or not feed.address:
        raise ApplicationError(
            "The token or its reserve feed is still being deployed; try again shortly.", code="not_deployed"
        )
    agent = sender_address("agent")
    deployment = _deploy(
        kind=ContractKind.RESERVE_MINTER,
        owner_ref=owner_ref,
        name=f"Reserve-guarded minter of {token.name or owner_ref}",
        data=encode_deploy(
            MINTER,
            [token.address, feed.address, rule.numerator, rule.denominator, rule.staleness_seconds, agent, agent],
        ),
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="chain.reserve_minter_deploy_requested",
        obj=deployment,
        after={
            "owner": owner_ref,
            "token": token.address,
            "feed": feed.address,
            "numerator": rule.numerator,
            "denominator": rule.denominator,
            "staleness_seconds": rule.staleness_seconds,
        },
    )
    return deployment


def _authorize_key(owner_ref: str, minter_address: str) -> str:
    return f"reserve:{settings.CHAIN_ID}:{owner_ref}:authorize:{minter_address}"


@transaction.atomic
def reserve_minter_authorize(*, owner_ref: str, actor: User | None = None) -> ChainTransaction:
    """Grant the minter the token's agent role (`addAgent`, by the token's admin, the agent sender)."""
    token, minter = _token(owner_ref), reserve_minter_of(owner_ref)
    if minter is None:
        raise ApplicationError(f"{owner_ref} has no reserve-guarded minter yet.", code="no_reserve_minter")
    if not minter.address:
        raise ApplicationError("The minter is still being deployed; try again shortly.", code="not_deployed")
    tx = transaction_enqueue(
        idempotency_key=_authorize_key(owner_ref, minter.address),
        purpose=f"Let the reserve-guarded minter {minter.address} mint {token.name or owner_ref}",
        to_address=token.address,
        to_deployment=None if token.address else token,
        data=encode_call("SecurityToken", "addAgent", [minter.address]),
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="chain.reserve_minter_authorize_requested",
        obj=minter,
        after={"token": token.address, "minter": minter.address},
    )
    return tx


@transaction.atomic
def reserve_minter_configure(
    *, owner_ref: str, rule: BackingRule, idempotency_key: str, actor: User | None = None
) -> list[ChainTransaction]:
    """Set the minter's backing ratio and staleness limit (two admin calls, keyed `key:ratio`, `key:staleness`)."""
    rule = rule.checked()
    minter = reserve_minter_of(owner_ref)
    if minter is None:
        raise ApplicationError(f"{owner_ref} has no reserve-guarded minter yet.", code="no_reserve_minter")
    calls = [
        ("ratio", "setBackingRatio", [rule.numerator, rule.denominator], f"{rule.numerator}/{rule.denominator}"),
        ("staleness", "setStalenessLimit", [rule.staleness_seconds], f"{rule.staleness_seconds} s"),
    ]
    rows = [
        transaction_enqueue(
            idempotency_key=f"{idempotency_key}:{suffix}",
            purpose=f"Set the reserve {suffix} of {owner_ref} to {shown}",
            to_address=minter.address,
            to_deployment=None if minter.address else minter,
            data=encode_call(MINTER, function, args),
            actor=actor,
        )
        for suffix, function, args, shown in calls
    ]
    audit_record(
        actor=actor,
        action="chain.reserve_rule_requested",
        obj=minter,
        after={
            "numerator": rule.numerator,
            "denominator": rule.denominator,
            "staleness_seconds": rule.staleness_seconds,
        },
    )
    return rows


def reserve_minter_route(owner_ref: str) -> ContractDeployment | None:
    """The minter a token's mints go through; None for a token without one.

    Raises while the minter is deployed but not yet allowed to mint (or its set-up failed): a mint
    then is refused, never sent around the guard.
    """
    minter = reserve_minter_of(owner_ref)
    if minter is None:
        return None
    deploy = minter.deploy_transaction
    authorization = (
        ChainTransaction.objects.filter(idempotency_key=_authorize_key(owner_ref, minter.address)).first()
        if minter.address
        else None
    )
    if (deploy is not None and deploy.status == TxStatus.FAILED) or (
        authorization is not None and authorization.status == TxStatus.FAILED
    ):
        raise ApplicationError(
            "The token's reserve guard could not be set up (see the chain transactions); nothing is minted "
            "until it is.",
            code="reserve_guard_failed",
        )
    if authorization is None:
        raise ApplicationError(
            "The token's reserve guard is still being set up; mint again once it is.", code="reserve_guard_pending"
        )
    return minter


# --------------------------------------------------------------------------- publishing


@transaction.atomic
def reserve_feed_publish(
    *, owner_ref: str, reserve: int, as_of: datetime, idempotency_key: str, actor: User | None = None
) -> ChainTransaction:
    """Queue an attested reserve for the token of `owner_ref` (e.g. an offering's `owner_ref`).

    `reserve` is an integer in the feed's base units (the `decimals` it was deployed with: cents for
    2), never negative; `as_of` is the aware moment the attestation speaks for, not in the future,
    and not before the one published last (the feed refuses that on-chain). The attestor sender
    signs it. The same key again returns the same row; the same key with other figures is refused.
    """
    if not _whole(reserve) or not 0 <= reserve <= MAX_RESERVE:
        raise ApplicationError("A reserve is a whole number of base units, zero or more.", code="invalid_reserve")
    if timezone.is_naive(as_of):
        raise ApplicationError("The attestation's as-of moment needs a time zone.", code="invalid_as_of")
    if as_of > timezone.now():
        raise ApplicationError("An attestation speaks for a moment that has passed.", code="invalid_as_of")
    if not idempotency_key or len(idempotency_key) > 200:
        raise ApplicationError("A publication needs an idempotency key of at most 200 characters.", code="invalid_key")
    feed = reserve_feed_of(owner_ref)
    if feed is None:
        raise ApplicationError(f"{owner_ref} has no reserve feed.", code="no_reserve_feed")
    deploy = feed.deploy_transaction
    # Sent by another sender than the feed's deployment: a call to its address before the code is
    # there would succeed and do nothing.
    if not feed.address or (deploy is not None and deploy.status != TxStatus.CONFIRMED):
        raise ApplicationError("The reserve feed is still being deployed; try again shortly.", code="not_deployed")
    seconds = int(as_of.timestamp())
    tx = transaction_enqueue(
        idempotency_key=idempotency_key,
        purpose=f"Publish the reserve of {owner_ref}: {reserve:,} as of {as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        to_address=feed.address,
        data=encode_call(FEED, "publish", [reserve, seconds]),
        actor=actor,
        sender_role="attestor",
    )
    audit_record(
        actor=actor,
        action="chain.reserve_publish_requested",
        obj=tx,
        after={"owner": owner_ref, "feed": feed.address, "reserve": reserve, "as_of": seconds},
    )
    return tx


# --------------------------------------------------------------------------- reading


def reserve_feed_decimals(*, owner_ref: str) -> int | None:
    """The decimal places the token's feed reports in, read from the node; None while it has no feed.

    Raises the chain's transient errors when the node is down."""
    feed = reserve_feed_of(owner_ref)
    if feed is None or not feed.address:
        return None
    client = client_for(settings.CHAIN_RPC_URL)
    data = client.call({"to": feed.address, "data": "0x" + encode_call(FEED, "decimals", []).hex()})
    return int(str(decode_result(FEED, "decimals", data)[0]))


def reserve_feed_latest(*, owner_ref: str) -> ReserveReport | None:
    """The feed's latest round read from the node; None without a feed or before its first report.

    Raises the chain's transient errors when the node is down.
    """
    feed = reserve_feed_of(owner_ref)
    if feed is None or not feed.address:
        return None
    client = client_for(settings.CHAIN_RPC_URL)

    def view(function: str) -> tuple[object, ...]:
        data = client.call({"to": feed.address, "data": "0x" + encode_call(FEED, function, []).hex()})
        return decode_result(FEED, function, data) if data else ()

    latest = view("latestRoundData")
    if not latest or not int(str(latest[3])):
        return None
    round_id, answer, _started, updated, _answered = (int(str(v)) for v in latest)
    (decimals,) = view("decimals")
    return ReserveReport(
        round_id=round_id,
        reserve=answer,
        decimals=int(str(decimals)),
        as_of=datetime.fromtimestamp(updated, tz=UTC),
    )


@dataclass(frozen=True)
class UncheckedMint:
    transaction_hash: str
    block_number: int
    to: str
    amount: int


def reserve_unchecked_mints(*, owner_ref: str) -> list[UncheckedMint]:
    """The token's indexed mints whose transaction carries no `MintChecked` of its minter: mints that
    went around the reserve guard (the agent key used directly). Empty for a token without a minter."""
    token, minter = _token(owner_ref), reserve_minter_of(owner_ref)
    if minter is None or not minter.address or not token.address:
        return []
    deployed_at = minter.deploy_transaction.block_number if minter.deploy_transaction else None
    checked = ChainEvent.objects.filter(
        chain_id=settings.CHAIN_ID, contract_address=minter.address, name="MintChecked"
    ).values("transaction_hash")
    mints = (
        ChainEvent.objects.filter(chain_id=settings.CHAIN_ID, contract_address=token.address, name="Transfer")
        .filter(args__from=ZERO_ADDRESS, block_number__gte=deployed_at or 0)
        .exclude(transaction_hash__in=checked)
        .order_by("block_number", "log_index")
    )
    return [
        UncheckedMint(
            transaction_hash=e.transaction_hash,
            block_number=e.block_number,
            to=str(e.args["to"]),
            amount=int(e.args["value"]),
        )
        for e in mints
    ]
