"""How many units a token has or will have once what the portal already asked for is mined.

A mint guard must count the mints waiting in the outbox as well as the supply on-chain: a closing queues
several batches before the first one confirms. A mint already mined but not yet marked so is counted in
both (the guard errs towards refusing, never towards minting what nothing backs).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from tokens.chain.abi import decode_call, decode_result, encode_call
from tokens.chain.client import client_for
from tokens.models import ChainTransaction, ContractDeployment, ContractKind, TxStatus
from tokens.reserve_feed import reserve_minter_of

# Rows not yet in a block the node has shown us (a MINED row is already in `totalSupply`).
_NOT_MINED = (TxStatus.PENDING, TxStatus.SIGNED, TxStatus.BROADCAST)


@dataclass(frozen=True)
class SupplyOutstanding:
    on_chain: int  # totalSupply() now; 0 while the token is not deployed
    pending_mints: int  # units in mint and batchMint transactions not yet mined

    @property
    def total(self) -> int:
        return self.on_chain + self.pending_mints


def _pending_mints(deployment: ContractDeployment) -> int:
    # Mints go to the token, or through its reserve-guarded minter (same functions, same arguments).
    minter = reserve_minter_of(deployment.owner_ref)
    addresses = [a for a in (deployment.address, minter.address if minter else "") if a]
    rows = ChainTransaction.objects.filter(status__in=_NOT_MINED).filter(
        Q(to_deployment=deployment) | Q(to_address__in=addresses)
    )
    units = 0
    for data in rows.values_list("data", flat=True):
        call = decode_call("SecurityToken", bytes(data))
        if call is None:
            continue
        name, args = call
        if name == "mint":
            units += int(args[1])
        elif name == "batchMint":
            units += sum(int(a) for a in args[1])
    return units


def token_supply_outstanding(*, owner_ref: str) -> SupplyOutstanding:
    """Supply on-chain (read from the node) plus units the outbox will mint. Raises the chain's transient
    errors when the node cannot be reached."""
    deployment = ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=owner_ref
    ).first()
    if deployment is None:
        return SupplyOutstanding(on_chain=0, pending_mints=0)
    on_chain = 0
    if deployment.address:
        client = client_for(settings.CHAIN_RPC_URL)
        data = client.call(
            {"to": deployment.address, "data": "0x" + encode_call("SecurityToken", "totalSupply", []).hex()}
        )
        on_chain = int(decode_result("SecurityToken", "totalSupply", data)[0])
    return SupplyOutstanding(on_chain=on_chain, pending_mints=_pending_mints(deployment))
