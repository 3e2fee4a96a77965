"""Reads about the chain that the rest of the portal may call."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet

from tokens.chain.node import node_status
from tokens.chain.signatures import SignatureInvalid, address_checksum, address_is_valid, personal_sign_signer
from tokens.models import (
    OPEN_STATUSES,
    ChainEvent,
    ChainTransaction,
    ContractDeployment,
    ContractKind,
    RegistryWallet,
    TxStatus,
)
from tokens.stablecoin import portal_stablecoin, stablecoin_receiving_address, stablecoin_transfers_received


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


def explorer_url(tx_hash: str | None) -> str | None:
    template = settings.CHAIN_EXPLORER_TX_URL
    return template.format(hash=tx_hash) if template and tx_hash else None


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


def chain_transaction_counts() -> dict[str, int]:
    return dict(ChainTransaction.objects.values_list("status").annotate(n=Count("id")).order_by())


def token_deployment(*, owner_ref: str) -> ContractDeployment | None:
    return ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=owner_ref
    ).first()


def token_events(*, address: str, names: list[str] | None = None) -> QuerySet[ChainEvent]:
    events = ChainEvent.objects.filter(chain_id=settings.CHAIN_ID, contract_address=address)
    return events.filter(name__in=names) if names else events


__all__ = [
    "RegistrationState",
    "SignatureInvalid",
    "WalletRegistration",
    "address_checksum",
    "address_is_valid",
    "chain_status",
    "personal_sign_signer",
    "portal_stablecoin",
    "registry_wallet_states",
    "registry_wallets_confirmed",
    "stablecoin_receiving_address",
    "stablecoin_transfers_received",
]
