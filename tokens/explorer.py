"""Selectors for the portal's own transaction and address pages (chains without a block explorer): what the
node reports, decoded through the portal's ABIs, with the names the portal knows for its own contracts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q

from tokens.chain.client import NodeRejected, NodeUnavailable
from tokens.chain.inspect import AddressOnChain, TransactionOnChain, address_read, transaction_read
from tokens.models import ChainTransaction, ContractDeployment

TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
WEI_PER_ETHER = 10**18


def ether_text(wei: int) -> str:
    """Wei as ether, every significant decimal kept ("1.5 ETH")."""
    text = format(Decimal(wei) / WEI_PER_ETHER, "f")
    return (text.rstrip("0").rstrip(".") if "." in text else text) + " ETH"


def contract_names(addresses: list[str]) -> dict[str, str]:
    """Lower-case address → what the portal deployed there ("Security token ACME")."""
    wanted = {a.lower() for a in addresses if a}
    names: dict[str, str] = {}
    for deployment in ContractDeployment.objects.filter(chain_id=settings.CHAIN_ID).exclude(address=""):
        if deployment.address.lower() in wanted:
            label = deployment.get_kind_display()
            names[deployment.address.lower()] = f"{label} {deployment.name}".strip() if deployment.name else label
    return names


@dataclass
class TransactionPage:
    tx_hash: str
    found: bool
    node_error: str = ""
    onchain: TransactionOnChain | None = None
    names: dict[str, str] = field(default_factory=dict)
    portal_tx: ChainTransaction | None = None  # the outbox row that sent it, when the portal did

    @property
    def value_text(self) -> str:
        return ether_text(self.onchain.value_wei) if self.onchain else ""

    @property
    def status_text(self) -> str:
        if self.onchain is None:
            return "Not known to the node"
        if self.onchain.pending:
            return "Pending: not in a block yet"
        return "Succeeded" if self.onchain.succeeded else "Reverted: the chain refused it and nothing changed"

    def name_of(self, address: str | None) -> str:
        return self.names.get((address or "").lower(), "")


def transaction_page(*, tx_hash: str) -> TransactionPage:
    portal_tx = ChainTransaction.objects.filter(tx_hash__iexact=tx_hash).first()
    try:
        onchain = transaction_read(rpc_url=settings.CHAIN_RPC_URL, tx_hash=tx_hash)
    except (NodeUnavailable, NodeRejected, ValueError) as exc:
        return TransactionPage(tx_hash=tx_hash, found=False, node_error=str(exc), portal_tx=portal_tx)
    if onchain is None:
        return TransactionPage(tx_hash=tx_hash, found=False, portal_tx=portal_tx)
    addresses: list[str] = [onchain.from_address, onchain.to_address or "", onchain.contract_address or ""]
    addresses += [log.address for log in onchain.logs]
    addresses += [str(v) for log in onchain.logs for v in log.args.values() if isinstance(v, str)]
    if onchain.call:
        addresses += [str(v) for _, kind, v in onchain.call.args if kind == "address"]
    return TransactionPage(
        tx_hash=tx_hash, found=True, onchain=onchain, names=contract_names(addresses), portal_tx=portal_tx
    )


@dataclass
class AddressPage:
    address: str
    node_error: str = ""
    onchain: AddressOnChain | None = None
    name: str = ""
    recent: list[ChainTransaction] = field(default_factory=list)

    @property
    def balance_text(self) -> str:
        return ether_text(self.onchain.balance_wei) if self.onchain else ""


def address_page(*, address: str, with_portal_transactions: bool) -> AddressPage:
    """The address as the node holds it; the portal's own recent transactions to or from it for staff."""
    recent: list[Any] = []
    if with_portal_transactions:
        recent = list(
            ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID)
            .filter(Q(sender__iexact=address) | Q(to_address__iexact=address))
            .order_by("-created_at", "-pk")[:20]
        )
    name = contract_names([address]).get(address.lower(), "")
    try:
        onchain = address_read(rpc_url=settings.CHAIN_RPC_URL, address=address)
    except (NodeUnavailable, NodeRejected, ValueError) as exc:
        return AddressPage(address=address, node_error=str(exc), name=name, recent=recent)
    return AddressPage(address=onchain.address, onchain=onchain, name=name, recent=recent)
