"""The stablecoin investors pay with: a test ERC-20 the portal deploys on local chains, or a real
one (e.g. USDC) registered by address. Payments arrive at the portal's receiving address, which
the portal's treasury sender controls so refunds can be sent back from it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from tokens.chain.abi import encode_call, encode_deploy
from tokens.chain.addresses import address_is_valid, checksum
from tokens.chain.signer import sender_address
from tokens.models import ChainEvent, ChainTransaction, ContractDeployment, ContractKind
from tokens.outbox import transaction_enqueue

PORTAL = "portal"


def stablecoin_receiving_address() -> str:
    configured = getattr(settings, "STABLECOIN_RECEIVING_ADDRESS", "")
    return checksum(configured) if configured else sender_address("treasury")


def portal_stablecoin() -> ContractDeployment | None:
    return ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.STABLECOIN, owner_ref=PORTAL
    ).first()


@transaction.atomic
def stablecoin_deploy(*, actor: User | None = None) -> ContractDeployment:
    """Deploy the test stablecoin (6 decimals, mintable by the portal) on a local chain."""
    if portal_stablecoin() is not None:
        raise Conflict("A stablecoin is already set up for this portal.", code="deployed")
    try:
        with transaction.atomic():
            deployment = ContractDeployment.objects.create(
                chain_id=settings.CHAIN_ID, kind=ContractKind.STABLECOIN, owner_ref=PORTAL, name="Test USD"
            )
    except IntegrityError as exc:
        raise Conflict("A stablecoin is already set up for this portal.") from exc
    tx = transaction_enqueue(
        idempotency_key=f"deploy:{settings.CHAIN_ID}:stablecoin:{PORTAL}",
        purpose="Deploy the test stablecoin",
        data=encode_deploy("TestStablecoin", [sender_address("treasury")]),
        actor=actor,
        sender_role="treasury",
    )
    deployment.deploy_transaction = tx
    deployment.save(update_fields=["deploy_transaction"])
    audit_record(actor=actor, action="chain.stablecoin_deploy_requested", obj=deployment)
    return deployment


@transaction.atomic
def stablecoin_register(
    *, address: str, index_from_block: int, name: str = "USD Coin", actor: User | None = None
) -> ContractDeployment:
    """Use an existing stablecoin contract (production); payments are read from `index_from_block` on."""
    if not address_is_valid(address):
        raise ApplicationError("That is not an Ethereum address.", code="invalid_address")
    if portal_stablecoin() is not None:
        raise Conflict("A stablecoin is already set up for this portal.", code="deployed")
    deployment = ContractDeployment.objects.create(
        chain_id=settings.CHAIN_ID,
        kind=ContractKind.STABLECOIN,
        owner_ref=PORTAL,
        name=name,
        address=checksum(address),
        index_from_block=index_from_block,
    )
    audit_record(
        actor=actor, action="chain.stablecoin_registered", obj=deployment, after={"address": deployment.address}
    )
    return deployment


def _coin() -> ContractDeployment:
    coin = portal_stablecoin()
    if coin is None:
        raise ApplicationError("No stablecoin is set up for this portal.", code="no_stablecoin")
    return coin


@transaction.atomic
def stablecoin_faucet(*, wallet: str, amount: int, idempotency_key: str, actor: User | None = None) -> ChainTransaction:
    """Mint test stablecoins to a wallet (local chains: the demo's investors need something to pay with)."""
    coin = _coin()
    if coin.deploy_transaction_id is None:
        raise ApplicationError("Only the portal's test stablecoin can be minted.", code="not_mintable")
    if not address_is_valid(wallet):
        raise ApplicationError("That is not an Ethereum address.", code="invalid_address")
    return transaction_enqueue(
        idempotency_key=idempotency_key,
        purpose=f"Mint {amount} test stablecoin units to {wallet}",
        to_address=coin.address,
        to_deployment=None if coin.address else coin,
        data=encode_call("TestStablecoin", "mint", [checksum(wallet), amount]),
        actor=actor,
        sender_role="treasury",
    )


@transaction.atomic
def stablecoin_send(
    *, to_wallet: str, amount: int, idempotency_key: str, purpose: str, actor: User | None = None
) -> ChainTransaction:
    """Send stablecoins from the receiving address (refunds)."""
    coin = _coin()
    if stablecoin_receiving_address() != sender_address("treasury"):
        raise ApplicationError(
            "The receiving address is not controlled by the portal's signer; refund from the custodian.",
            code="not_custodian",
        )
    if amount <= 0:
        raise ApplicationError("The amount must be above zero.", code="invalid_amount")
    return transaction_enqueue(
        idempotency_key=idempotency_key,
        purpose=purpose,
        to_address=coin.address,
        to_deployment=None if coin.address else coin,
        data=encode_call("TestStablecoin", "transfer", [checksum(to_wallet), amount]),
        actor=actor,
        sender_role="treasury",
    )


def stablecoin_transfers_received(*, after_event_id: int = 0) -> QuerySet[ChainEvent]:
    """Transfers of the stablecoin into the receiving address, oldest first, as the indexer stored them."""
    coin = portal_stablecoin()
    if coin is None or not coin.address:
        return ChainEvent.objects.none()
    return ChainEvent.objects.filter(
        chain_id=settings.CHAIN_ID,
        contract_address=coin.address,
        name="Transfer",
        args__to=stablecoin_receiving_address(),
        pk__gt=after_event_id,
    ).order_by("pk")
