"""Reserves on-chain for an asset-backed token: its `ReserveFeed` and its `ReserveGuardedMinter`.

The feed holds attested reserves in Chainlink's AggregatorV3Interface shape; only the attestor
sender publishes to it (`reserve_feed_publish`, one outbox row per idempotency key). The minter
refuses, on-chain, a mint that the latest report does not back or that comes when the report is
older than the staleness limit (the Chainlink Secure Mint pattern).

The token's mint functions need its minter role, which only the agent sender (and the agent pool)
holds at first. Once the guard is set up, the token's admin has granted that role to the minter and
revoked it from the agent sender and the pool, so a mint sent with the agent key straight to the
token reverts; the agent keeps the token's agent role, which burns, freezes, forced transfers,
recoveries and pauses need. Every mint the portal asks for (`token_mint`, `token_batch_mint`) then
goes through the minter. A mint without the minter's `MintChecked` event (made before the guard,
or after an admin granted the role to someone else) is listed by `reserve_unchecked_mints`.

`reserve_guard_ensure` sets a token up, one step each time it is called once the step before has an
address: `reserve_feed_deploy`, `reserve_minter_deploy`, `reserve_minter_configure` for the rule in
force, `reserve_minter_authorize`. The backing app calls it for every token with a backing rule (and
`chain_deploy reserve-feed` / `reserve-minter --wait` do the same steps by hand). Between the
minter's deployment and its authorization, mints are refused rather than sent around the guard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from tokens.chain.abi import decode_result, encode_call, encode_deploy
from tokens.chain.addresses import address_is_valid, checksum, keccak_text
from tokens.chain.client import client_for
from tokens.chain.signer import sender_address
from tokens.models import ChainEvent, ChainTransaction, ContractDeployment, ContractKind, TxStatus
from tokens.outbox import order_keys_for, pool_grant_key, transaction_enqueue
from tokens.refusals import refusal_reason

FEED = "ReserveFeed"
MINTER = "ReserveGuardedMinter"
MAX_RESERVE = 2**127 - 1  # the feed stores a report in one slot: 128 bits for the answer
MAX_RATIO_TERM = 2**128 - 1
MAX_STALENESS_SECONDS = 2**40 - 1
MAX_FEED_DECIMALS = 36
ZERO_ADDRESS = "0x" + "0" * 40
MINTER_ROLE = keccak_text("MINTER_ROLE")  # SecurityToken's role for mint and batchMint

__all__ = [
    "MINTER_ROLE",
    "BackingRule",
    "GuardReadiness",
    "ReserveReport",
    "refusal_reason",
    "reserve_feed_decimals",
    "reserve_feed_deploy",
    "reserve_feed_latest",
    "reserve_feed_of",
    "reserve_feed_publish",
    "reserve_guard_ensure",
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


def feed_deploy(
    *, kind: str, what: str, owner_ref: str, decimals: int, description: str, actor: User | None
) -> ContractDeployment:
    """Deploy a `ReserveFeed` of a token (its reserves, or its NAV): the agent sender is its admin, the attestor
    sender publishes."""
    _token(owner_ref)
    if not _whole(decimals) or not 0 <= decimals <= MAX_FEED_DECIMALS:
        raise ApplicationError(f"A {what} has from 0 to {MAX_FEED_DECIMALS} decimal places.", code="invalid_decimals")
    description = description.strip()
    if not description or len(description) > 100:
        raise ApplicationError("Describe the feed in 1 to 100 characters.", code="invalid_description")
    admin, attestor = sender_address("agent"), sender_address("attestor")
    deployment = _deploy(
        kind=kind,
        owner_ref=owner_ref,
        name=description,
        data=encode_deploy(FEED, [decimals, description, admin, attestor]),
        actor=actor,
    )
    audit_record(
        actor=actor,
        action=f"chain.{kind}_deploy_requested",
        obj=deployment,
        after={"owner": owner_ref, "decimals": decimals, "description": description, "attestor": attestor},
    )
    return deployment


@transaction.atomic
def reserve_feed_deploy(
    *, owner_ref: str, decimals: int, description: str, actor: User | None = None
) -> ContractDeployment:
    """Deploy the reserve feed of a token: the agent sender is its admin, the attestor sender publishes."""
    return feed_deploy(
        kind=ContractKind.RESERVE_FEED,
        what="reserve feed",
        owner_ref=owner_ref,
        decimals=decimals,
        description=description,
        actor=actor,
    )


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


def _revoke_key(owner_ref: str, address: str) -> str:
    return f"reserve:{settings.CHAIN_ID}:{owner_ref}:revoke-minting:{address.lower()}"


def pool_minter_grant_key(token: ContractDeployment, address: str) -> str:
    """The key of granting a pool sender the token's minter role (with its agent role, for a token without a guard)."""
    return f"{pool_grant_key(token, address)}:minter"


def _other_minters(token: ContractDeployment) -> list[str]:
    """Who holds the token's minter role besides a minter: the agent sender, and every sender granted it as one of
    the pool, by the grants recorded (so one that has left the pool since is counted too)."""
    prefix, suffix = pool_grant_key(token, ""), pool_minter_grant_key(token, "")[len(pool_grant_key(token, "")) :]
    keys = (
        ChainTransaction.objects.filter(idempotency_key__startswith=prefix, idempotency_key__endswith=suffix)
        .exclude(status=TxStatus.FAILED)
        .order_by("pk")
        .values_list("idempotency_key", flat=True)
    )
    pool = [key[len(prefix) : -len(suffix)] for key in keys]
    return [sender_address("agent"), *(checksum(address) for address in pool if address_is_valid(address))]


@transaction.atomic
def reserve_minter_authorize(*, owner_ref: str, actor: User | None = None) -> list[ChainTransaction]:
    """Make the minter the token's only minter: the token's admin (the agent sender) grants it the minter role,
    then revokes that role from the agent sender and the pool. Each call once (by key), and ordered with every
    other effect on the token, so a mint queued before is sent before and one queued after goes to the minter."""
    token, minter = _token(owner_ref), reserve_minter_of(owner_ref)
    if minter is None:
        raise ApplicationError(f"{owner_ref} has no reserve-guarded minter yet.", code="no_reserve_minter")
    if not minter.address or not token.address:
        raise ApplicationError("The token or its minter is still being deployed; try again.", code="not_deployed")
    name = token.name or owner_ref
    order = order_keys_for(token, ["*"])
    rows = [
        transaction_enqueue(
            idempotency_key=_authorize_key(owner_ref, minter.address),
            purpose=f"Let the reserve-guarded minter {minter.address} mint {name}",
            to_address=token.address,
            data=encode_call("SecurityToken", "grantRole", [MINTER_ROLE, minter.address]),
            actor=actor,
            order_keys=order,
        )
    ]
    others = _other_minters(token)
    rows += [
        transaction_enqueue(
            idempotency_key=_revoke_key(owner_ref, address),
            purpose=f"Stop {address} minting {name}: only its reserve-guarded minter mints it",
            to_address=token.address,
            data=encode_call("SecurityToken", "revokeRole", [MINTER_ROLE, address]),
            actor=actor,
            order_keys=order,
        )
        for address in others
    ]
    audit_record(
        actor=actor,
        action="chain.reserve_minter_authorize_requested",
        obj=minter,
        after={"token": token.address, "minter": minter.address, "minting_revoked_from": others},
    )
    return rows


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


# --------------------------------------------------------------------------- the whole guard, step by step


@dataclass(frozen=True)
class GuardReadiness:
    """Where a token's on-chain reserve guard stands: ready, waiting for a step (in words), or stuck on a failed
    transaction (`problem`, which someone must retry from the chain transactions page)."""

    ready: bool
    waiting_for: str = ""
    problem: str = ""


def _guard_rule(
    *, reserve_per_unit: tuple[int, int], scale: int, feed_decimals: int, staleness_seconds: int
) -> BackingRule:
    """The rule in the feed's base units: `reserve_per_unit` counts the reserve to `scale` places per base unit of
    the token; a feed that counts to other places scales it exactly (a ratio, reduced)."""
    numerator, denominator = reserve_per_unit
    if feed_decimals >= scale:
        numerator *= 10 ** (feed_decimals - scale)
    else:
        denominator *= 10 ** (scale - feed_decimals)
    common = math.gcd(numerator, denominator) or 1
    return BackingRule(
        numerator=numerator // common, denominator=denominator // common, staleness_seconds=staleness_seconds
    ).checked()


def _stuck(rows: list[ChainTransaction]) -> str:
    failed = next((tx for tx in rows if tx.status == TxStatus.FAILED), None)
    if failed is None:
        return ""
    return f"“{failed.purpose}” failed ({failed.error_name or failed.last_error or 'reverted'}); retry it."


@transaction.atomic
def reserve_guard_ensure(
    *,
    owner_ref: str,
    reserve_per_unit: tuple[int, int],
    scale: int,
    staleness_seconds: int,
    rule_key: str,
    description: str,
    actor: User | None = None,
) -> GuardReadiness:
    """Take the token's on-chain guard one step further (each step once, however often this is called) and say
    where it stands: feed, minter, the rule named `rule_key` set on the minter, the minter made the only minter.

    `reserve_per_unit` is the reserve (counted to `scale` places, the feed's places when it is deployed here)
    each base unit of the token needs, as a ratio; a report older than `staleness_seconds` stops mints. A new
    `rule_key` (the backing rule changed) sets the new figures on the minter once. Raises the chain's transient
    errors when the feed's places must be read and the node is down."""
    token = _deployment(ContractKind.SECURITY_TOKEN, owner_ref)
    if token is None or not token.address:
        return GuardReadiness(False, "the token's deployment")
    if token.deploy_transaction is not None and token.deploy_transaction.status != TxStatus.CONFIRMED:
        return GuardReadiness(False, "the token's deployment to be confirmed")
    if not rule_key or len(rule_key) > 180:
        raise ApplicationError("A backing rule needs a key of at most 180 characters.", code="invalid_key")
    feed = reserve_feed_of(owner_ref)
    if feed is None:
        feed = reserve_feed_deploy(owner_ref=owner_ref, decimals=scale, description=description, actor=actor)
    problem = _stuck([feed.deploy_transaction] if feed.deploy_transaction else [])
    if problem:
        return GuardReadiness(False, problem=problem)
    if not feed.address or (feed.deploy_transaction and feed.deploy_transaction.status != TxStatus.CONFIRMED):
        return GuardReadiness(False, "the reserve feed's deployment to be confirmed")
    minter = reserve_minter_of(owner_ref)
    if minter is None:
        decimals = reserve_feed_decimals(owner_ref=owner_ref)
        assert decimals is not None  # the feed has an address
        rule = _guard_rule(
            reserve_per_unit=reserve_per_unit, scale=scale, feed_decimals=decimals, staleness_seconds=staleness_seconds
        )
        minter = reserve_minter_deploy(owner_ref=owner_ref, rule=rule, actor=actor)
    problem = _stuck([minter.deploy_transaction] if minter.deploy_transaction else [])
    if problem:
        return GuardReadiness(False, problem=problem)
    if not minter.address:
        return GuardReadiness(False, "the reserve-guarded minter's deployment to be signed")
    configured = list(ChainTransaction.objects.filter(idempotency_key__startswith=f"{rule_key}:").order_by("pk"))
    if not configured:
        decimals = reserve_feed_decimals(owner_ref=owner_ref)
        assert decimals is not None
        rule = _guard_rule(
            reserve_per_unit=reserve_per_unit, scale=scale, feed_decimals=decimals, staleness_seconds=staleness_seconds
        )
        configured = reserve_minter_configure(owner_ref=owner_ref, rule=rule, idempotency_key=rule_key, actor=actor)
    authorized = list(
        ChainTransaction.objects.filter(idempotency_key=_authorize_key(owner_ref, minter.address)).order_by("pk")
    )
    keys = [_revoke_key(owner_ref, address) for address in _other_minters(token)]
    revokes = list(ChainTransaction.objects.filter(idempotency_key__in=keys).order_by("pk"))
    if not authorized or len(revokes) < len(keys):
        # First time, or a pool grant that committed (or was retried) after the set-up: revoke what is missing.
        authorized = reserve_minter_authorize(owner_ref=owner_ref, actor=actor)
    else:
        authorized += revokes
    rows = [*configured, *authorized]
    problem = _stuck(rows)
    if problem:
        return GuardReadiness(False, problem=problem)
    if any(tx.status != TxStatus.CONFIRMED for tx in [*rows, minter.deploy_transaction] if tx is not None):
        return GuardReadiness(False, "the minter's rule and its minting role to be confirmed")
    return GuardReadiness(True)


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
    token = _deployment(ContractKind.SECURITY_TOKEN, owner_ref)
    tx = transaction_enqueue(
        idempotency_key=idempotency_key,
        purpose=f"Publish the reserve of {owner_ref}: {reserve:,} as of {as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        to_address=feed.address,
        data=encode_call(FEED, "publish", [reserve, seconds]),
        actor=actor,
        sender_role="attestor",
        # Another sender than the mints': ordered with the token's effects, a mint queued after it is checked
        # against it on-chain, not against the report before.
        order_keys=order_keys_for(token, ["*"]) if token is not None else [],
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
