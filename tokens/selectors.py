"""Reads about the chain that the rest of the portal may call."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from tokens.chain.abi import decode_call, decode_result, encode_call
from tokens.chain.addresses import checksum
from tokens.chain.client import NodeUnavailable, client_for
from tokens.chain.node import node_status
from tokens.chain.signatures import (
    SignatureInvalid,
    address_checksum,
    address_is_valid,
    personal_sign_signer,
    typed_data_signer,
)
from tokens.chain.signer import sender_roles
from tokens.controls import TokenControls, token_controls
from tokens.models import (
    NONCE_OPEN_STATUSES,
    OPEN_STATUSES,
    ChainEvent,
    ChainReorg,
    ChainTransaction,
    ContractDeployment,
    ContractKind,
    IndexerCursor,
    RegistryWallet,
    SenderAccount,
    TxHold,
    TxStatus,
)
from tokens.nav_feed import (
    MAX_ROUNDS_PER_READ,
    AggregatorInfo,
    AggregatorRound,
    aggregator_read,
    aggregator_rounds,
    nav_feed_of,
)
from tokens.payout import (
    TreasuryFunds,
    distribution_line_payments,
    distribution_lines_paid,
    distribution_payout_events,
    payout_treasury_funds,
    portal_payout,
)
from tokens.redemption import (
    FreezeOutcome,
    dealing_chain_id,
    redemption_burner,
    redemption_freeze_outcomes,
    redemption_line_burns,
    redemption_lines_burned,
)
from tokens.refusals import refusal_reason
from tokens.reserve_feed import (
    ReserveReport,
    UncheckedMint,
    reserve_feed_decimals,
    reserve_feed_latest,
    reserve_feed_of,
    reserve_minter_of,
    reserve_unchecked_mints,
)
from tokens.stablecoin import portal_stablecoin, stablecoin_receiving_address, stablecoin_transfers_received
from tokens.supply import SupplyOutstanding, token_supply_outstanding


def chain_status(*, timeout: float = 2.0) -> dict[str, Any]:
    status = node_status(rpc_url=settings.CHAIN_RPC_URL, timeout=timeout)
    if status.get("ok") and status["chain_id"] != settings.CHAIN_ID:
        return {**status, "ok": False, "error": "WrongChain", "detail": f"expected chain id {settings.CHAIN_ID}"}
    return status


class RegistrationState(StrEnum):
    """Where the registry stands on one wallet the portal asked it to hold."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    REMOVED = "removed"


@dataclass(frozen=True)
class WalletRegistration:
    address: str
    state: RegistrationState
    tx_hash: str | None
    explorer_url: str | None
    error: str | None


def _explorer_template(kind: str) -> str:
    override = settings.CHAIN_EXPLORER_TX_URL if kind == "tx" else settings.CHAIN_EXPLORER_ADDRESS_URL
    return override or settings.CHAIN_EXPLORERS.get(settings.CHAIN_ID, {}).get(kind, "")


def explorer_url(tx_hash: str | None) -> str | None:
    """Where a transaction hash links: the chain's block explorer, or the portal's own page read from the
    node when the chain has none (a local anvil)."""
    if not tx_hash:
        return None
    template = _explorer_template("tx")
    return template.format(hash=tx_hash) if template else reverse("chain_transaction_detail", args=[tx_hash])


def explorer_address_url(address: str | None) -> str | None:
    """Where an address links, the same way as a transaction hash."""
    if not address:
        return None
    template = _explorer_template("address")
    return template.format(address=address) if template else reverse("chain_address_detail", args=[address])


def _state(tx: ChainTransaction | None, active: bool) -> RegistrationState:
    if tx is None or tx.status in OPEN_STATUSES:
        return RegistrationState.PENDING
    if tx.status == TxStatus.FAILED:
        return RegistrationState.FAILED
    return RegistrationState.CONFIRMED if active else RegistrationState.REMOVED


def registry_wallet_states(*, investor_ref: str) -> dict[str, WalletRegistration]:
    """Each wallet the portal asked the registry to hold for an investor, with where that stands."""
    wallets = RegistryWallet.objects.filter(
        investor__chain_id=settings.CHAIN_ID, investor__investor_ref=investor_ref
    ).select_related("transaction")
    result = {}
    for wallet in wallets:
        tx = wallet.transaction
        result[wallet.address] = WalletRegistration(
            address=wallet.address,
            state=_state(tx, wallet.active),
            tx_hash=tx.tx_hash if tx else None,
            explorer_url=explorer_url(tx.tx_hash if tx else None),
            error=(tx.error_name or tx.last_error or None) if tx and tx.status == TxStatus.FAILED else None,
        )
    return result


def registry_wallets_confirmed(*, investor_refs: Iterable[str]) -> dict[str, frozenset[str]]:
    """investor reference → the wallets the on-chain registry holds for it (active, registration confirmed).

    One query for any number of investors; an investor with none is absent. The same rule as a
    `RegistrationState.CONFIRMED` wallet of `registry_wallet_states`.
    """
    found: dict[str, set[str]] = defaultdict(set)
    rows = RegistryWallet.objects.filter(
        investor__chain_id=settings.CHAIN_ID,
        investor__investor_ref__in=list(investor_refs),
        active=True,
        transaction__status=TxStatus.CONFIRMED,
    )
    for ref, address in rows.values_list("investor__investor_ref", "address"):
        found[ref].add(address)
    return {ref: frozenset(addresses) for ref, addresses in found.items()}


def chain_transactions(*, status: str | None = None) -> QuerySet[ChainTransaction]:
    rows = ChainTransaction.objects.select_related("to_deployment").defer("data", "signed_raw").order_by("-id")
    return rows.filter(status=status) if status else rows


def chain_transaction_by_key(*, idempotency_key: str) -> ChainTransaction | None:
    """The transaction recorded under an idempotency key, if any (its status says how far it got)."""
    return ChainTransaction.objects.defer("data", "signed_raw").filter(idempotency_key=idempotency_key).first()


def chain_transaction_counts() -> dict[str, int]:
    return dict(ChainTransaction.objects.values_list("status").annotate(n=Count("id")).order_by())


@dataclass(frozen=True)
class SenderState:
    """One signing address: how far behind its nonce stream is and whether it waits for a person."""

    address: str
    roles: list[str]
    next_nonce: int | None
    oldest_nonce: int | None
    oldest_since: datetime | None
    age_seconds: int | None
    stalled: bool
    held: dict[str, int] = field(default_factory=dict)  # hold reason -> rows

    @property
    def ok(self) -> bool:
        return not self.stalled and not self.held


def sender_states(*, chain_id: int | None = None) -> list[SenderState]:
    """Per sender: the age of its oldest nonce not yet confirmed, red past CHAIN_NONCE_STALL_SECONDS."""
    chain_id = chain_id or settings.CHAIN_ID
    now = timezone.now()
    accounts = dict(SenderAccount.objects.filter(chain_id=chain_id).values_list("address", "next_nonce"))
    held: dict[str, dict[str, int]] = {}
    for sender, hold, n in (
        ChainTransaction.objects.filter(chain_id=chain_id, status__in=OPEN_STATUSES)
        .exclude(hold=TxHold.NONE)
        .values_list("sender", "hold")
        .annotate(n=Count("id"))
        .order_by()
    ):
        held.setdefault(sender, {})[hold] = n
    configured = {a for a in settings.CHAIN_SENDERS.values() if a}
    states = []
    for address in sorted(set(accounts) | set(held) | configured):
        oldest = (
            ChainTransaction.objects.filter(
                chain_id=chain_id, sender=address, status__in=NONCE_OPEN_STATUSES, nonce__isnull=False
            )
            .order_by("nonce")
            .values("nonce", "signed_at", "created_at")
            .first()
        )
        since = (oldest["signed_at"] or oldest["created_at"]) if oldest else None
        age = int((now - since).total_seconds()) if since else None
        states.append(
            SenderState(
                address=address,
                roles=sender_roles(address),
                next_nonce=accounts.get(address),
                oldest_nonce=oldest["nonce"] if oldest else None,
                oldest_since=since,
                age_seconds=age,
                stalled=age is not None and age > settings.CHAIN_NONCE_STALL_SECONDS,
                held=held.get(address, {}),
            )
        )
    return states


@dataclass(frozen=True)
class TokenSetup:
    """Whether a token's deployment and configuration transactions did what its terms require."""

    deployed: bool
    pending: int
    failures: list[tuple[str, str]]  # (what, why) for each configuration that failed

    @property
    def configured(self) -> bool:
        return self.deployed and not self.pending and not self.failures


def token_setup(*, owner_ref: str) -> TokenSetup:
    deployment = token_deployment(owner_ref=owner_ref)
    if deployment is None:
        return TokenSetup(deployed=False, pending=0, failures=[])
    rows = list(
        ChainTransaction.objects.filter(
            idempotency_key__startswith=f"token:{settings.CHAIN_ID}:{owner_ref}:setup:"
        ).only("purpose", "status", "error_name", "last_error")
    )
    if deployment.deploy_transaction_id:
        rows.append(
            ChainTransaction.objects.only("purpose", "status", "error_name", "last_error").get(
                pk=deployment.deploy_transaction_id
            )
        )
    failures = [(r.purpose, r.last_error or r.error_name) for r in rows if r.status == TxStatus.FAILED]
    pending = sum(1 for r in rows if r.status in OPEN_STATUSES)
    return TokenSetup(deployed=bool(deployment.address), pending=pending, failures=failures)


def token_deployment(*, owner_ref: str) -> ContractDeployment | None:
    return ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=owner_ref
    ).first()


def token_events(*, address: str, names: list[str] | None = None) -> QuerySet[ChainEvent]:
    events = ChainEvent.objects.filter(chain_id=settings.CHAIN_ID, contract_address=address)
    return events.filter(name__in=names) if names else events


@dataclass(frozen=True)
class TokenHoldings:
    """What a token's contract says now: its total supply and the balances asked for."""

    supply: int
    balances: dict[str, int]


def token_holdings_onchain(*, owner_ref: str, wallets: Iterable[str]) -> TokenHoldings | None:
    """Read the token's supply and these wallets' balances from the node (not the indexer: it lags).

    None when the token has no address yet. Raises the chain's transient errors when the node is down.
    """
    token = token_deployment(owner_ref=owner_ref)
    if token is None or not token.address:
        return None
    client = client_for(settings.CHAIN_RPC_URL)

    def view(function: str, args: list[Any]) -> int:
        data = encode_call("SecurityToken", function, args)
        return int(decode_result("SecurityToken", function, client.call({"to": token.address, "data": data}))[0])

    balances = {wallet: view("balanceOf", [checksum(wallet)]) for wallet in wallets}
    return TokenHoldings(supply=view("totalSupply", []), balances=balances)


# --------------------------------------------------------------------------- on-chain reads


def token_total_supply(*, address: str, block: int | str = "latest") -> int:
    """The token's `totalSupply()` read from the node (at a block number, or the head)."""
    client = client_for(settings.CHAIN_RPC_URL)
    data = client.call({"to": address, "data": "0x" + encode_call("SecurityToken", "totalSupply", []).hex()}, block)
    return int(decode_result("SecurityToken", "totalSupply", data)[0])


def token_balances(*, address: str, wallets: Iterable[str], block: int | str = "latest") -> dict[str, int]:
    """wallet → the token's `balanceOf(wallet)` read from the node, one call per wallet."""
    client = client_for(settings.CHAIN_RPC_URL)
    result = {}
    for wallet in wallets:
        data = client.call(
            {"to": address, "data": "0x" + encode_call("SecurityToken", "balanceOf", [address_checksum(wallet)]).hex()},
            block,
        )
        result[wallet] = int(decode_result("SecurityToken", "balanceOf", data)[0])
    return result


def _token_view(address: str, function: str, args: list[Any], block: int | str = "latest") -> Any:
    client = client_for(settings.CHAIN_RPC_URL)
    data = client.call({"to": address, "data": "0x" + encode_call("SecurityToken", function, args).hex()}, block)
    return decode_result("SecurityToken", function, data)[0]


def token_record_id(*, address: str, timestamp: int) -> int | None:
    """The id the token gave the record date scheduled at `timestamp` (`scheduleRecordDate`), if any.

    Record dates are scheduled in increasing order, so the search walks back from the newest only as
    far as dates at or after `timestamp`."""
    record_id = int(_token_view(address, "recordDateCount", []))
    while record_id > 0:
        scheduled = int(_token_view(address, "recordDate", [record_id]))
        if scheduled == timestamp:
            return record_id
        if scheduled < timestamp:
            return None
        record_id -= 1
    return None


def token_record_date_last(*, address: str) -> int | None:
    """The timestamp of the newest record date scheduled on the token (None: it has none)."""
    count = int(_token_view(address, "recordDateCount", []))
    return int(_token_view(address, "recordDate", [count])) if count else None


def token_record_date_ahead(*, owner_ref: str, after: int) -> int | None:
    """The moment (seconds since 1970) of a record date of the token not passed at `after`: one the token holds
    already, or one the outbox is still sending (`scheduleRecordDate` not yet confirmed, whichever app asked for
    it). None when there is none. The token takes one record date at a time, so a second one waits for this.

    Raises the chain's transient errors when the node is down."""
    token = token_deployment(owner_ref=owner_ref)
    if token is None:
        return None
    # Rows still in flight are few; the token's other calls (mints, freezes) are told apart by their selector.
    to_token = Q(to_deployment=token)
    if token.address:
        to_token |= Q(to_address=token.address)
    in_flight = ChainTransaction.objects.filter(to_token, status__in=OPEN_STATUSES)
    ahead = _record_dates_asked(in_flight, after=after)
    if token.address:
        try:
            last = token_record_date_last(address=checksum(token.address))
        except (NodeUnavailable, ConnectionError, TimeoutError):
            # The node is away: what the portal itself had confirmed on the token still counts.
            confirmed = ChainTransaction.objects.filter(to_token, status=TxStatus.CONFIRMED)
            ahead += _record_dates_asked(confirmed, after=after)
        else:
            if last is not None and last >= after:
                ahead.append(last)
    return min(ahead) if ahead else None


def _record_dates_asked(rows: QuerySet[ChainTransaction], *, after: int) -> list[int]:
    found = []
    for data in rows.values_list("data", flat=True).iterator():
        call = decode_call("SecurityToken", bytes(data))
        if call is not None and call[0] == "scheduleRecordDate" and int(call[1][0]) >= after:
            found.append(int(call[1][0]))
    return found


# `eth_call`s sent in one JSON-RPC batch request: a node answers a few thousand at a time (geth's default limit is
# 1,000 a batch; anvil takes any number).
CALLS_PER_BATCH = 1000


def token_balances_at(*, address: str, wallets: Iterable[str], record_id: int) -> dict[str, int]:
    """wallet → the token's checkpoint `balanceOfAt(wallet, record_id)`, read in JSON-RPC batch requests of
    CALLS_PER_BATCH calls (one round trip each, not one per wallet).

    Raises the chain's `Reverted` (RecordDateNotPassed) while the record date is still ahead."""
    client = client_for(settings.CHAIN_RPC_URL)
    wanted = list(wallets)
    result: dict[str, int] = {}
    for start in range(0, len(wanted), CALLS_PER_BATCH):
        chunk = wanted[start : start + CALLS_PER_BATCH]
        calls = [
            {
                "to": address,
                "data": "0x" + encode_call("SecurityToken", "balanceOfAt", [address_checksum(w), record_id]).hex(),
            }
            for w in chunk
        ]
        for wallet, data in zip(chunk, client.call_many(calls), strict=True):
            result[wallet] = int(decode_result("SecurityToken", "balanceOfAt", data)[0])
    return result


def token_total_supply_at(*, address: str, record_id: int) -> int:
    """The token's checkpoint `totalSupplyAt(record_id)`."""
    return int(_token_view(address, "totalSupplyAt", [record_id]))


def chain_head_time() -> datetime:
    """When the chain's newest block was made (the chain's own clock, which record dates follow)."""
    block = client_for(settings.CHAIN_RPC_URL).block("latest")
    assert block is not None
    return datetime.fromtimestamp(block["timestamp"], tz=UTC)


def block_at_or_before(*, timestamp: int) -> int | None:
    """The last block whose timestamp is at or before `timestamp` (a binary search over the node's blocks).

    None when the head itself is not later than `timestamp` yet: a later block may still be made
    with an earlier timestamp, so the answer is not final."""
    client = client_for(settings.CHAIN_RPC_URL)
    head = client.block_number()
    head_block = client.block(head)
    if head_block is None or head_block["timestamp"] <= timestamp:
        return None
    low, high = 0, head  # invariant: the answer lies in [low - 1, high - 1]
    while low < high:
        mid = (low + high) // 2
        block = client.block(mid)
        if block is not None and block["timestamp"] <= timestamp:
            low = mid + 1
        else:
            high = mid
    return low - 1 if low > 0 else None


def indexed_through(*, address: str) -> int:
    """The last block whose events of this contract the indexer has read (-1: none yet)."""
    cursor = IndexerCursor.objects.filter(chain_id=settings.CHAIN_ID, contract_address=address).first()
    return cursor.last_block if cursor is not None else -1


def stablecoin_balance(*, wallet: str) -> int | None:
    """The portal stablecoin's `balanceOf(wallet)` in its own units; None when no stablecoin is set up."""
    coin = portal_stablecoin()
    if coin is None or not coin.address:
        return None
    client = client_for(settings.CHAIN_RPC_URL)
    data = client.call(
        {"to": coin.address, "data": "0x" + encode_call("TestStablecoin", "balanceOf", [checksum(wallet)]).hex()}
    )
    return int(decode_result("TestStablecoin", "balanceOf", data)[0])


def block_times(*, numbers: Iterable[int]) -> dict[int, datetime]:
    """block number → when the chain says it was made (UTC); numbers past the head are absent."""
    client = client_for(settings.CHAIN_RPC_URL)
    times = {}
    for number in sorted(set(numbers)):
        block = client.block(number)
        if block is not None:
            times[number] = datetime.fromtimestamp(block["timestamp"], tz=UTC)
    return times


def chain_reorgs_recent(*, limit: int = 10) -> list[ChainReorg]:
    """Reorgs deeper than the finality rule, newest first (each one is an alert)."""
    return list(ChainReorg.objects.filter(chain_id=settings.CHAIN_ID)[:limit])


__all__ = [
    "MAX_ROUNDS_PER_READ",
    "AggregatorInfo",
    "AggregatorRound",
    "FreezeOutcome",
    "RegistrationState",
    "ReserveReport",
    "SenderState",
    "SentTransaction",
    "SignatureInvalid",
    "SupplyOutstanding",
    "TokenCaps",
    "TokenControls",
    "TokenHoldings",
    "TokenSetup",
    "TransferRestriction",
    "TreasuryFunds",
    "UncheckedMint",
    "WalletRegistration",
    "address_checksum",
    "address_is_valid",
    "aggregator_read",
    "aggregator_rounds",
    "block_at_or_before",
    "block_times",
    "chain_head_time",
    "chain_status",
    "chain_transaction_by_key",
    "dealing_chain_id",
    "distribution_line_payments",
    "distribution_lines_paid",
    "distribution_payout_events",
    "indexed_through",
    "nav_feed_of",
    "payout_treasury_funds",
    "personal_sign_signer",
    "portal_payout",
    "portal_stablecoin",
    "redemption_burner",
    "redemption_freeze_outcomes",
    "redemption_line_burns",
    "redemption_lines_burned",
    "refusal_reason",
    "registry_wallet_states",
    "registry_wallets_confirmed",
    "reserve_feed_decimals",
    "reserve_feed_latest",
    "reserve_feed_of",
    "reserve_minter_of",
    "reserve_unchecked_mints",
    "sender_states",
    "stablecoin_balance",
    "stablecoin_receiving_address",
    "stablecoin_transfers_received",
    "token_balances",
    "token_balances_at",
    "token_caps",
    "token_controls",
    "token_holdings_onchain",
    "token_record_date_ahead",
    "token_record_date_last",
    "token_record_id",
    "token_restriction_messages",
    "token_setup",
    "token_supply_outstanding",
    "token_total_supply",
    "token_total_supply_at",
    "token_transfer_calldata",
    "token_transfer_restriction",
    "transaction_sent",
    "typed_data_signer",
]


@dataclass(frozen=True)
class MintRefusal:
    code: int
    message: str


def token_mint_refusal(*, address: str, wallet: str, amount: int) -> MintRefusal | None:
    """Why the token would refuse to mint `amount` to `wallet` now (its own rules), or None if it would mint.

    Raises the chain's transient errors when the node is down."""
    zero = "0x" + "0" * 40
    code = int(_token_view(address, "detectTransferRestriction", [zero, address_checksum(wallet), amount]))
    if code == 0:
        return None
    return MintRefusal(code=code, message=str(_token_view(address, "messageForTransferRestriction", [code])))


@dataclass(frozen=True)
class TransferRestriction:
    """The token's own answer about a transfer (ERC-1404): its restriction code, 0 when it would go, in its words."""

    code: int
    message: str


def token_transfer_restriction(*, address: str, from_wallet: str, to_wallet: str, amount: int) -> TransferRestriction:
    """`detectTransferRestriction(from, to, amount)` and `messageForTransferRestriction(code)` read from the node.

    Raises the chain's transient errors when the node is down."""
    token = checksum(address)
    code = int(
        _token_view(
            token, "detectTransferRestriction", [address_checksum(from_wallet), address_checksum(to_wallet), amount]
        )
    )
    return TransferRestriction(code=code, message=str(_token_view(token, "messageForTransferRestriction", [code])))


def token_restriction_messages(*, address: str) -> dict[int, str]:
    """Every restriction code the token knows, with its message (codes are numbered from 0 without gaps)."""
    token = checksum(address)
    messages: dict[int, str] = {}
    for code in range(256):
        message = str(_token_view(token, "messageForTransferRestriction", [code]))
        if message == "Unknown restriction code":
            break
        messages[code] = message
    return messages


@dataclass(frozen=True)
class TokenCaps:
    """The per-investor caps a token enforces (None: that rule is off), as its contract holds them now."""

    max_investors: int | None
    max_non_accredited: int | None
    max_balance: int | None


def token_caps(*, address: str) -> TokenCaps:
    """The token's investor count and balance caps, read from the node (they apply only with tracking on)."""
    token = checksum(address)
    rules = int(_token_view(token, "rules", []))
    tracking = bool(_token_view(token, "investorTracking", []))
    client = client_for(settings.CHAIN_RPC_URL)
    data = client.call({"to": token, "data": "0x" + encode_call("SecurityToken", "limits", []).hex()})
    max_investors, max_non_accredited, max_balance, _ = decode_result("SecurityToken", "limits", data)

    def rule(bit: int, value: int) -> int | None:
        return int(value) if tracking and rules & bit else None

    # SecurityToken rule bits: RULE_MAX_INVESTORS 1 << 4, RULE_MAX_NON_ACCREDITED 1 << 5, RULE_MAX_BALANCE 1 << 6.
    return TokenCaps(
        max_investors=rule(1 << 4, max_investors),
        max_non_accredited=rule(1 << 5, max_non_accredited),
        max_balance=rule(1 << 6, max_balance),
    )


def token_transfer_calldata(*, to_wallet: str, amount: int) -> str:
    """The calldata of `transfer(to, amount)` on a security token, hex, for a wallet the holder controls to send."""
    return "0x" + encode_call("SecurityToken", "transfer", [address_checksum(to_wallet), amount]).hex()


@dataclass(frozen=True)
class SentTransaction:
    """A transaction as the node knows it: who sent it where with what calldata, and its receipt once mined."""

    sender: str
    to: str
    data: str  # hex, lower case
    block_number: int | None
    succeeded: bool | None  # None until mined


def transaction_sent(*, tx_hash: str) -> SentTransaction | None:
    """A transaction the portal did not sign (a holder's wallet sent it), looked up by hash; None when unknown.

    Raises the chain's transient errors when the node is down."""
    client = client_for(settings.CHAIN_RPC_URL)
    response = client.rpc("eth_getTransactionByHash", [tx_hash])
    found = response.get("result") if isinstance(response, dict) and "jsonrpc" in response else response
    if not found:
        return None
    receipt = client.receipt(tx_hash)
    return SentTransaction(
        sender=checksum(str(found["from"])),
        to=checksum(str(found["to"])) if found.get("to") else "",
        data=str(found.get("input") or found.get("data") or "0x").lower(),
        block_number=receipt.block_number if receipt else None,
        succeeded=bool(receipt.status) if receipt else None,
    )
