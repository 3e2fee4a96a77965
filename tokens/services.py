"""What the rest of the portal asks of the chain. Plain values in and out; no web3 types.

Every function writes outbox rows inside the caller's database transaction (so the business
change and its chain effect commit together) and audits the request. Workers send them later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from tokens import outbox
from tokens.chain.abi import encode_call, encode_deploy
from tokens.chain.addresses import address_is_valid, checksum, keccak_text
from tokens.chain.client import NodeUnavailable
from tokens.chain.failpoints import failpoint
from tokens.chain.signer import agent_pool, sender_address
from tokens.flags import InvestorFlag
from tokens.models import (
    ChainTransaction,
    ContractDeployment,
    ContractKind,
    RegistryInvestor,
    RegistryWallet,
    TxStatus,
)
from tokens.nav_feed import AggregatorInvalid, nav_feed_deploy, nav_feed_publish
from tokens.outbox import order_keys_for, pool_grant_key, transaction_enqueue
from tokens.payout import (
    PayoutLine,
    distribution_batch_pay,
    distribution_chain_id,
    payout_allowance_ensure,
    payout_contract_deploy,
)
from tokens.redemption import (
    BurnerReadiness,
    BurnLine,
    FreezeLine,
    redemption_batch_burn,
    redemption_batch_freeze,
    redemption_burner_authorize,
    redemption_burner_ensure,
)
from tokens.reserve_feed import (
    MINTER,
    MINTER_ROLE,
    BackingRule,
    GuardReadiness,
    pool_minter_grant_key,
    reserve_feed_deploy,
    reserve_feed_publish,
    reserve_guard_ensure,
    reserve_minter_authorize,
    reserve_minter_configure,
    reserve_minter_deploy,
    reserve_minter_of,
    reserve_minter_route,
)
from tokens.stablecoin import stablecoin_send

# What the rest of the portal may call besides the functions below: the registry's investor flags, the
# stablecoin refund, distribution payouts, the redemption burner, a token's reserve feed and minter, its NAV
# feed, and the errors after which a chain call is worth trying again.
__all__ = [
    "CHAIN_TRANSIENT_ERRORS",
    "MINTER_ROLE",
    "AggregatorInvalid",
    "BackingRule",
    "BurnLine",
    "BurnerReadiness",
    "FreezeLine",
    "GuardReadiness",
    "InvestorFlag",
    "NodeUnavailable",
    "PayoutLine",
    "distribution_batch_pay",
    "distribution_chain_id",
    "failpoint",
    "nav_feed_deploy",
    "nav_feed_publish",
    "payout_allowance_ensure",
    "payout_contract_deploy",
    "redemption_batch_burn",
    "redemption_batch_freeze",
    "redemption_burner_authorize",
    "redemption_burner_ensure",
    "reserve_feed_deploy",
    "reserve_feed_publish",
    "reserve_guard_ensure",
    "reserve_minter_authorize",
    "reserve_minter_configure",
    "reserve_minter_deploy",
    "stablecoin_send",
]

CHAIN_TRANSIENT_ERRORS = (NodeUnavailable, ConnectionError, TimeoutError)

PORTAL_REGISTRY = "portal"

# SecurityToken rule bits (tokens/contracts/SecurityToken.sol).
RULE_VERIFIED = 1 << 0
RULE_COUNTRY = 1 << 1
RULE_FLAGS = 1 << 2
RULE_LOCKUP = 1 << 3
RULE_MAX_INVESTORS = 1 << 4
RULE_MAX_NON_ACCREDITED = 1 << 5
RULE_MAX_BALANCE = 1 << 6


def investor_chain_id(investor_ref: str) -> bytes:
    """The bytes32 the registry knows an investor by: a hash, so no personal data goes on-chain."""
    return keccak_text(f"tessera:investor:{investor_ref}")


def _address(value: str) -> str:
    if not address_is_valid(value):
        raise ApplicationError(f"“{value}” is not an Ethereum address.", code="invalid_address")
    return checksum(value)


def _sorted_wallets(addresses: Sequence[str]) -> list[str]:
    # The registry checks wallet lists in ascending numeric order.
    return sorted({_address(a) for a in addresses}, key=lambda a: int(a, 16))


# --------------------------------------------------------------------------- retrying a failed transaction

RetryGuard = Callable[[ChainTransaction], None]
_retry_guards: dict[str, RetryGuard] = {}


def transaction_retry_guard(*, key_prefix: str, guard: RetryGuard) -> None:
    """Let the app that owns transactions keyed `key_prefix…` refuse a retry (by raising ApplicationError).

    Tokens knows addresses and keys, not what a transaction means: the owner checks, e.g., whether the
    effect is already on-chain or whether the business change behind it was withdrawn.
    """
    _retry_guards[key_prefix] = guard


def transaction_retry(*, tx: ChainTransaction, actor: User | None) -> ChainTransaction:
    """Try a failed transaction again, once the app that asked for it agrees."""
    for prefix, guard in _retry_guards.items():
        if tx.idempotency_key.startswith(prefix):
            guard(tx)
    return outbox.transaction_retry(tx=tx, actor=actor)


# --------------------------------------------------------------------------- deployments


@dataclass(frozen=True)
class TokenTerms:
    """What a token enforces on-chain (each rule optional), from the offering's exemption profile."""

    name: str
    symbol: str
    decimals: int = 0
    rules: int = RULE_VERIFIED | RULE_COUNTRY | RULE_FLAGS | RULE_LOCKUP
    required_flags: int = 1  # KYC
    forbidden_flags: int = 0
    allowed_countries: list[int] = field(default_factory=list)
    lockup_seconds: int = 0
    max_investors: int = 0
    max_non_accredited: int = 0
    max_balance: int = 0


def _deployment_create(
    *, kind: str, owner_ref: str, name: str, data: bytes, actor: User | None, sender_role: str = "agent"
) -> ContractDeployment:
    if ContractDeployment.objects.filter(chain_id=settings.CHAIN_ID, kind=kind, owner_ref=owner_ref).exists():
        raise Conflict(f"A {ContractKind(kind).label.lower()} for {owner_ref} is already deployed.", code="deployed")
    try:
        with transaction.atomic():
            deployment = ContractDeployment.objects.create(
                chain_id=settings.CHAIN_ID, kind=kind, owner_ref=owner_ref, name=name
            )
    except IntegrityError as exc:
        raise Conflict(f"A {ContractKind(kind).label.lower()} for {owner_ref} is already deployed.") from exc
    tx = transaction_enqueue(
        idempotency_key=f"deploy:{settings.CHAIN_ID}:{kind}:{owner_ref}",
        purpose=f"Deploy {name}",
        data=data,
        actor=actor,
        sender_role=sender_role,
        order_keys=order_keys_for(deployment, ["*"]),
    )
    deployment.deploy_transaction = tx
    deployment.save(update_fields=["deploy_transaction"])
    audit_record(actor=actor, action="chain.contract_deploy_requested", obj=deployment, after={"kind": kind})
    return deployment


@transaction.atomic
def registry_deploy(*, actor: User | None = None) -> ContractDeployment:
    """Deploy the portal's one InvestorRegistry; the registry sender is its admin and agent."""
    registrar = sender_address("registry")
    deployment = _deployment_create(
        kind=ContractKind.REGISTRY,
        owner_ref=PORTAL_REGISTRY,
        name="Tessera investor registry",
        data=encode_deploy("InvestorRegistry", [registrar, registrar]),
        actor=actor,
        sender_role="registry",
    )
    agent_pool_grant(deployment=deployment, actor=actor)
    return deployment


def portal_registry() -> ContractDeployment:
    registry = ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.REGISTRY, owner_ref=PORTAL_REGISTRY
    ).first()
    if registry is None:
        raise ApplicationError("The investor registry is not deployed yet.", code="no_registry")
    return registry


@transaction.atomic
def token_deploy(*, owner_ref: str, terms: TokenTerms, actor: User | None = None) -> ContractDeployment:
    """Deploy one SecurityToken (once per owner, e.g. an offering) and configure its rules."""
    if terms.rules & RULE_COUNTRY and not terms.allowed_countries:
        raise ApplicationError(
            "The country rule is on but no country is allowed: nobody could hold it.", code="no_countries"
        )
    registry_address = portal_registry().address  # fixed when its deployment was signed
    if not registry_address:
        raise ApplicationError("The investor registry is still being deployed; try again shortly.", code="no_registry")
    agent = sender_address("agent")  # the token's admin and agent: it deploys and configures it
    deployment = _deployment_create(
        kind=ContractKind.SECURITY_TOKEN,
        owner_ref=owner_ref,
        name=terms.name,
        data=encode_deploy(
            "SecurityToken",
            [terms.name, terms.symbol, terms.decimals, registry_address, agent, agent],
        ),
        actor=actor,
    )
    key = f"token:{settings.CHAIN_ID}:{owner_ref}:setup"
    calls: list[tuple[str, str, list[Any]]] = []
    if terms.max_investors or terms.max_non_accredited or terms.max_balance:
        calls.append(
            ("setLimits", "investor limits", [terms.max_investors, terms.max_non_accredited, terms.max_balance])
        )
    if terms.lockup_seconds:
        calls.append(("setLockupPeriod", "lock-up period", [terms.lockup_seconds]))
    if terms.required_flags or terms.forbidden_flags:
        calls.append(("setInvestorFlags", "required investor flags", [terms.required_flags, terms.forbidden_flags]))
    if terms.allowed_countries:
        calls.append(("setCountriesAllowed", "allowed countries", [sorted(set(terms.allowed_countries)), True]))
    calls.append(("setRules", "transfer rules", [terms.rules]))
    for function, what, args in calls:
        transaction_enqueue(
            idempotency_key=f"{key}:{function}",
            purpose=f"Set {what} of {terms.symbol}",
            to_deployment=deployment,
            data=encode_call("SecurityToken", function, args),
            actor=actor,
            order_keys=order_keys_for(deployment, ["*"]),
        )
    agent_pool_grant(deployment=deployment, actor=actor)
    return deployment


# --------------------------------------------------------------------------- the agent pool

POOLED_KINDS = (ContractKind.REGISTRY, ContractKind.SECURITY_TOKEN)


def agent_pool_grant(*, deployment: ContractDeployment, actor: User | None = None) -> list[ChainTransaction]:
    """Queue the contract's agent role for every pool sender that lacks it, and a token's minter role unless the
    token mints through a reserve-guarded minter; asked again, it queues nothing.

    Sent by the contract's admin (the registry sender, or the agent sender for a token); until a grant is
    confirmed nothing for that contract is signed by that pool sender (its whole-contract order key)."""
    if deployment.kind not in POOLED_KINDS:
        raise ApplicationError("Only the registry and tokens have agents in the pool.", code="not_pooled")
    is_token = deployment.kind == ContractKind.SECURITY_TOKEN
    contract = "SecurityToken" if is_token else "InvestorRegistry"
    mints_unguarded = is_token and reserve_minter_of(deployment.owner_ref) is None
    name = deployment.name or deployment.owner_ref
    queued, agents = [], []
    for address in agent_pool():
        grants = [(pool_grant_key(deployment, address), f"Make {address} an agent of {name} (agent pool)", "addAgent")]
        if mints_unguarded:
            grants.append((pool_minter_grant_key(deployment, address), f"Let {address} mint {name} (agent pool)", ""))
        for key, purpose, function in grants:
            if ChainTransaction.objects.filter(idempotency_key=key).exclude(status=TxStatus.FAILED).exists():
                continue
            args: list[Any] = [address] if function else [MINTER_ROLE, address]
            tx = transaction_enqueue(
                idempotency_key=key,
                purpose=purpose,
                to_address=deployment.address,
                to_deployment=None if deployment.address else deployment,
                data=encode_call(contract, function or "grantRole", args),
                actor=actor,
                sender_role="agent" if is_token else "registry",
                order_keys=order_keys_for(deployment, ["*"]),
            )
            if tx.status == TxStatus.FAILED:  # a grant that failed before is asked again
                tx = outbox.transaction_retry(tx=tx, actor=actor)
            queued.append(tx)
            if address not in agents:
                agents.append(address)
    if queued:
        audit_record(actor=actor, action="chain.agent_pool_granted", obj=deployment, after={"agents": agents})
    return queued


@transaction.atomic
def agent_pool_ensure(*, actor: User | None = None) -> list[ChainTransaction]:
    """Every pool sender an agent of the registry and of every token on this chain (a pool grown after deploy)."""
    queued: list[ChainTransaction] = []
    for deployment in ContractDeployment.objects.filter(chain_id=settings.CHAIN_ID, kind__in=POOLED_KINDS).order_by(
        "pk"
    ):
        queued += agent_pool_grant(deployment=deployment, actor=actor)
    return queued


def _token(owner_ref: str) -> ContractDeployment:
    token = ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=owner_ref
    ).first()
    if token is None:
        raise ApplicationError(f"No token is deployed for {owner_ref}.", code="no_token")
    return token


# --------------------------------------------------------------------------- registry


def _registry_call(
    *, key: str, purpose: str, function: str, args: list[Any], actor: User | None, subjects: Sequence[str]
) -> ChainTransaction:
    """An agent call on the registry; `subjects` ("inv:<ref>", wallets) are what it must stay ordered with."""
    registry = portal_registry()
    return transaction_enqueue(
        idempotency_key=key,
        purpose=purpose,
        to_address=registry.address,
        to_deployment=None if registry.address else registry,
        data=encode_call("InvestorRegistry", function, args),
        actor=actor,
        sender_role="registry",
        order_keys=order_keys_for(registry, subjects),
        pooled_on=registry,
    )


@transaction.atomic
def registry_investor_sync(
    *,
    investor_ref: str,
    country_numeric: int,
    flags: int,
    expires_at: datetime,
    wallets: Sequence[str],
    actor: User | None = None,
) -> list[ChainTransaction]:
    """Make the on-chain registry hold this investor with exactly these wallets and attributes.

    Compares with what was asked before and queues only the difference, so calling it again with
    the same state queues nothing.
    """
    if not 0 < country_numeric < 1000:
        raise ApplicationError("Country must be an ISO 3166-1 numeric code.", code="invalid_country")
    wanted = _sorted_wallets(wallets)
    expiry = int(expires_at.timestamp())
    investor, _ = RegistryInvestor.objects.select_for_update().get_or_create(
        chain_id=settings.CHAIN_ID,
        investor_ref=investor_ref,
        defaults={
            "investor_id": "0x" + investor_chain_id(investor_ref).hex(),
            "country": country_numeric,
            "flags": flags,
            "expiry": expiry,
            "active": False,
        },
    )
    investor_id = investor_chain_id(investor_ref)
    current = {w.address: w for w in investor.wallets.all()}
    active = [a for a, w in current.items() if w.active]
    version = (
        RegistryWallet.objects.filter(investor=investor).count()
        + ChainTransaction.objects.filter(
            idempotency_key__startswith=f"registry:{settings.CHAIN_ID}:{investor_ref}:"
        ).count()
    )
    prefix = f"registry:{settings.CHAIN_ID}:{investor_ref}:{version}"
    queued: list[ChainTransaction] = []

    def call(op: str, purpose: str, function: str, args: list[Any], wallets: Sequence[str]) -> ChainTransaction:
        tx = _registry_call(
            key=f"{prefix}:{op}",
            purpose=purpose,
            function=function,
            args=args,
            actor=actor,
            subjects=[f"inv:{investor_ref}", *wallets],
        )
        queued.append(tx)
        return tx

    if not wanted and not investor.registered:
        investor.country, investor.flags, investor.expiry = country_numeric, flags, expiry
        investor.save()
        return queued
    attrs_changed = (investor.country, investor.flags, investor.expiry) != (country_numeric, flags, expiry)
    if not investor.registered:
        first, rest = wanted[0], wanted[1:]
        tx = call(
            "register",
            f"Register investor {investor_ref[:12]}",
            "registerInvestor",
            [investor_id, first, country_numeric, flags, expiry],
            [first],
        )
        RegistryWallet.objects.create(investor=investor, address=first, active=True, transaction=tx)
        for wallet in rest:
            tx = call(
                f"add:{wallet}",
                f"Add wallet {wallet[:10]}… to investor {investor_ref[:12]}",
                "addWallet",
                [wallet, investor_id],
                [wallet],
            )
            RegistryWallet.objects.create(investor=investor, address=wallet, active=True, transaction=tx)
        investor.registered, investor.active = True, True
    else:
        for wallet in [a for a in active if a not in wanted]:
            tx = call(f"remove:{wallet}", f"Remove wallet {wallet[:10]}…", "removeWallet", [wallet], [wallet])
            RegistryWallet.objects.filter(investor=investor, address=wallet).update(active=False, transaction=tx)
        remaining = [a for a in active if a in wanted]
        if attrs_changed or not investor.active:
            tx = call(
                "update",
                f"Update investor {investor_ref[:12]}",
                "updateInvestor",
                [investor_id, country_numeric, flags, expiry, _sorted_wallets(remaining)],
                remaining,
            )
            RegistryWallet.objects.filter(investor=investor, address__in=remaining).update(transaction=tx)
        for wallet in [a for a in wanted if a not in remaining]:
            tx = call(
                f"add:{wallet}",
                f"Add wallet {wallet[:10]}… to investor {investor_ref[:12]}",
                "addWallet",
                [wallet, investor_id],
                [wallet],
            )
            RegistryWallet.objects.update_or_create(
                investor=investor, address=wallet, defaults={"active": True, "transaction": tx}
            )
        investor.active = True
    before = {"country": investor.country, "flags": investor.flags, "expiry": investor.expiry}
    investor.country, investor.flags, investor.expiry = country_numeric, flags, expiry
    investor.save()
    if queued:
        audit_record(
            actor=actor,
            action="registry.investor_synced",
            obj=investor,
            before=before,
            after={"country": country_numeric, "flags": flags, "expiry": expiry, "wallets": wanted},
        )
    return queued


@transaction.atomic
def registry_investor_revoke(*, investor_ref: str, actor: User | None = None) -> list[ChainTransaction]:
    """Remove the investor from the registry: every wallet stops counting as verified."""
    investor = (
        RegistryInvestor.objects.select_for_update()
        .filter(chain_id=settings.CHAIN_ID, investor_ref=investor_ref)
        .first()
    )
    if investor is None or not investor.registered or not investor.active:
        return []
    active = _sorted_wallets(list(investor.wallets.filter(active=True).values_list("address", flat=True)))
    count = ChainTransaction.objects.filter(
        idempotency_key__startswith=f"registry:{settings.CHAIN_ID}:{investor_ref}:"
    ).count()
    tx = _registry_call(
        key=f"registry:{settings.CHAIN_ID}:{investor_ref}:{count}:revoke",
        purpose=f"Remove investor {investor_ref[:12]} from the registry",
        function="removeInvestor",
        args=[investor_chain_id(investor_ref), active],
        actor=actor,
        subjects=[f"inv:{investor_ref}", *active],
    )
    investor.wallets.filter(active=True).update(active=False, transaction=tx)
    investor.active = False
    investor.save(update_fields=["active", "updated_at"])
    audit_record(actor=actor, action="registry.investor_revoked", obj=investor, before={"wallets": active})
    return [tx]


# --------------------------------------------------------------------------- token operations


def _token_call(
    *,
    owner_ref: str,
    function: str,
    args: list[Any],
    idempotency_key: str,
    purpose: str,
    actor: User | None,
    subjects: Sequence[str],
) -> ChainTransaction:
    """An agent call on a token; `subjects` (the wallets it touches, "*" for all) are what it stays ordered with."""
    token = _token(owner_ref)
    tx = transaction_enqueue(
        idempotency_key=idempotency_key,
        purpose=purpose,
        to_address=token.address,
        to_deployment=None if token.address else token,
        data=encode_call("SecurityToken", function, args),
        actor=actor,
        order_keys=order_keys_for(token, subjects),
        pooled_on=token,
    )
    return tx


# --------------------------------------------------------------------------- mint guards

MintGuard = Callable[[str, int], None]
_mint_guards: list[MintGuard] = []


class MintRefused(ApplicationError):
    """A registered guard said no to a mint; the message says why, for the issuer. Nothing was recorded."""

    code = "mint_refused"


def token_mint_guard_register(guard: MintGuard) -> None:
    """Let an app refuse mints (by raising ApplicationError with a reason the issuer can read).

    `guard(owner_ref, units)` runs before any mint's outbox row is written, so nothing is signed when it
    says no; tokens knows owner references and quantities, the app knows what they stand for (backing
    checks the token's attested reserves)."""
    if guard not in _mint_guards:
        _mint_guards.append(guard)


def token_mint_check(*, owner_ref: str, units: int, idempotency_key: str = "") -> None:
    """Ask every registered guard about minting `units` more; a key already recorded was checked then."""
    if idempotency_key and ChainTransaction.objects.filter(idempotency_key=idempotency_key).exists():
        return
    for guard in _mint_guards:
        try:
            guard(owner_ref, units)
        except MintRefused:
            raise
        except ApplicationError as exc:
            raise MintRefused(exc.message, code=exc.code, extra=exc.extra) from exc


def _positive(amount: int) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ApplicationError("The quantity must be a whole number above zero.", code="invalid_amount")
    return amount


def _mint_call(
    *,
    owner_ref: str,
    function: str,
    args: list[Any],
    idempotency_key: str,
    purpose: str,
    actor: User | None,
    subjects: Sequence[str],
) -> ChainTransaction:
    """A mint goes to the token, or through its reserve-guarded minter when it has one (same call, same arguments)."""
    existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
    data = encode_call("SecurityToken", function, args)
    if existing is not None and bytes(existing.data) == data:
        return existing  # asked before, whichever way it went then
    minter = reserve_minter_route(owner_ref)
    if minter is None:
        return _token_call(
            owner_ref=owner_ref,
            function=function,
            args=args,
            idempotency_key=idempotency_key,
            purpose=purpose,
            actor=actor,
            subjects=subjects,
        )
    # The pool's keys are agents of the token, not of its minter: the agent sender sends these.
    return transaction_enqueue(
        idempotency_key=idempotency_key,
        purpose=purpose,
        to_address=minter.address,
        data=encode_call(MINTER, function, args),
        actor=actor,
        order_keys=order_keys_for(_token(owner_ref), subjects),
    )


@transaction.atomic
def token_mint(
    *, owner_ref: str, wallet: str, amount: int, idempotency_key: str, actor: User | None = None, purpose: str = ""
) -> ChainTransaction:
    """Mint to one wallet; through the token's reserve-guarded minter when it has one (tokens/reserve_feed.py)."""
    wallet = _address(wallet)
    token_mint_check(owner_ref=owner_ref, units=_positive(amount), idempotency_key=idempotency_key)
    return _mint_call(
        owner_ref=owner_ref,
        function="mint",
        args=[wallet, _positive(amount)],
        idempotency_key=idempotency_key,
        purpose=purpose or f"Mint {amount} to {wallet}",
        actor=actor,
        subjects=[wallet],
    )


@transaction.atomic
def token_batch_mint(
    *,
    owner_ref: str,
    allocations: Sequence[tuple[str, int]],
    idempotency_key: str,
    actor: User | None = None,
    purpose: str = "",
) -> ChainTransaction:
    """Mint to many wallets in one transaction; a reserve-guarded minter checks the batch's total."""
    if not allocations:
        raise ApplicationError("Nothing to mint.", code="empty_batch")
    wallets = [_address(w) for w, _ in allocations]
    amounts = [_positive(a) for _, a in allocations]
    token_mint_check(owner_ref=owner_ref, units=sum(amounts), idempotency_key=idempotency_key)
    return _mint_call(
        owner_ref=owner_ref,
        function="batchMint",
        args=[wallets, amounts],
        idempotency_key=idempotency_key,
        purpose=purpose or f"Mint to {len(wallets)} holders",
        actor=actor,
        subjects=wallets,
    )


@transaction.atomic
def token_burn(
    *, owner_ref: str, wallet: str, amount: int, idempotency_key: str, actor: User | None = None
) -> ChainTransaction:
    wallet = _address(wallet)
    return _token_call(
        owner_ref=owner_ref,
        function="burn",
        args=[wallet, _positive(amount)],
        idempotency_key=idempotency_key,
        purpose=f"Burn {amount} from {wallet}",
        actor=actor,
        subjects=[wallet],
    )


@transaction.atomic
def token_freeze_wallet(
    *, owner_ref: str, wallet: str, frozen: bool, idempotency_key: str, actor: User | None = None
) -> ChainTransaction:
    wallet = _address(wallet)
    return _token_call(
        owner_ref=owner_ref,
        function="setAddressFrozen",
        args=[wallet, frozen],
        idempotency_key=idempotency_key,
        purpose=f"{'Freeze' if frozen else 'Unfreeze'} wallet {wallet}",
        actor=actor,
        subjects=[wallet],
    )


@transaction.atomic
def token_freeze_amount(
    *, owner_ref: str, wallet: str, amount: int, frozen: bool, idempotency_key: str, actor: User | None = None
) -> ChainTransaction:
    wallet = _address(wallet)
    function = "freezePartialTokens" if frozen else "unfreezePartialTokens"
    return _token_call(
        owner_ref=owner_ref,
        function=function,
        args=[wallet, _positive(amount)],
        idempotency_key=idempotency_key,
        purpose=f"{'Freeze' if frozen else 'Unfreeze'} {amount} in {wallet}",
        actor=actor,
        subjects=[wallet],
    )


@transaction.atomic
def token_forced_transfer(
    *,
    owner_ref: str,
    from_wallet: str,
    to_wallet: str,
    amount: int,
    reason: str,
    idempotency_key: str,
    actor: User | None = None,
) -> ChainTransaction:
    if not reason.strip():
        raise ApplicationError("A forced transfer needs a reason; it is written on-chain.", code="reason_required")
    source, target = _address(from_wallet), _address(to_wallet)
    return _token_call(
        owner_ref=owner_ref,
        function="forcedTransfer",
        args=[source, target, _positive(amount), reason],
        idempotency_key=idempotency_key,
        purpose=f"Forced transfer of {amount}: {reason}"[:200],
        actor=actor,
        subjects=[source, target],
    )


@transaction.atomic
def token_recover(
    *,
    owner_ref: str,
    lost_wallet: str,
    new_wallet: str,
    investor_ref: str,
    idempotency_key: str,
    actor: User | None = None,
) -> ChainTransaction:
    lost, new = _address(lost_wallet), _address(new_wallet)
    return _token_call(
        owner_ref=owner_ref,
        function="recoveryAddress",
        args=[lost, new, investor_chain_id(investor_ref)],
        idempotency_key=idempotency_key,
        purpose=f"Recover {lost} to {new}",
        actor=actor,
        subjects=[lost, new],
    )


@transaction.atomic
def token_set_paused(
    *, owner_ref: str, paused: bool, idempotency_key: str, actor: User | None = None
) -> ChainTransaction:
    return _token_call(
        owner_ref=owner_ref,
        function="pause" if paused else "unpause",
        args=[],
        idempotency_key=idempotency_key,
        purpose="Pause the token" if paused else "Unpause the token",
        actor=actor,
        subjects=["*"],
    )


@transaction.atomic
def token_record_date_schedule(
    *, owner_ref: str, timestamp: int, idempotency_key: str, actor: User | None = None, purpose: str = ""
) -> ChainTransaction:
    """Ask the token to take a checkpoint at `timestamp` (`scheduleRecordDate`): balances then are final.

    The token refuses a timestamp already past and a second record date while one is still ahead."""
    if not isinstance(timestamp, int) or not 0 < timestamp < 2**40:
        raise ApplicationError("A record date is a moment in seconds since 1970.", code="invalid_record_date")
    return _token_call(
        owner_ref=owner_ref,
        function="scheduleRecordDate",
        args=[timestamp],
        idempotency_key=idempotency_key,
        purpose=purpose or f"Schedule a record date at {timestamp}",
        actor=actor,
        subjects=["*"],
    )


def portal_registry_ensure(*, actor: User | None = None) -> str:
    """Deploy the registry unless it is deployed (or on its way). Returns what it did."""
    if ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.REGISTRY, owner_ref=PORTAL_REGISTRY
    ).exists():
        return "present"
    try:
        registry_deploy(actor=actor)
    except Conflict:
        return "present"
    return "queued"


@dataclass(frozen=True)
class InvestorRecord:
    investor_ref: str
    wallet: str
    country_numeric: int
    flags: int
    expires_at: datetime


@transaction.atomic
def registry_investors_register_batch(
    *, investors: Sequence[InvestorRecord], idempotency_key: str, actor: User | None = None
) -> ChainTransaction | None:
    """Register many new investors, one wallet each, in one transaction (onboarding in bulk)."""
    fresh = [
        r
        for r in investors
        if not RegistryInvestor.objects.filter(chain_id=settings.CHAIN_ID, investor_ref=r.investor_ref).exists()
    ]
    if not fresh:
        return None
    ids = [investor_chain_id(r.investor_ref) for r in fresh]
    wallets = [_address(r.wallet) for r in fresh]
    countries = [r.country_numeric for r in fresh]
    flags = [r.flags for r in fresh]
    expiries = [int(r.expires_at.timestamp()) for r in fresh]
    tx = _registry_call(
        key=idempotency_key,
        purpose=f"Register {len(fresh)} investors",
        function="batchRegisterInvestors",
        args=[ids, wallets, countries, flags, expiries],
        actor=actor,
        subjects=[*(f"inv:{r.investor_ref}" for r in fresh), *wallets],
    )
    for record, investor_id, wallet, expiry in zip(fresh, ids, wallets, expiries, strict=True):
        investor = RegistryInvestor.objects.create(
            chain_id=settings.CHAIN_ID,
            investor_ref=record.investor_ref,
            investor_id="0x" + investor_id.hex(),
            country=record.country_numeric,
            flags=record.flags,
            expiry=expiry,
            active=True,
            registered=True,
        )
        RegistryWallet.objects.create(investor=investor, address=wallet, active=True, transaction=tx)
    audit_record(actor=actor, action="registry.investors_registered", obj=tx, after={"investors": len(fresh)})
    return tx
