"""The chain outbox, deployed contracts, the registry mirror and indexed events.

Business code never talks to a node: it writes a `ChainTransaction` in its own database
transaction, and workers sign, broadcast and confirm it exactly once (see tokens/outbox.py).
"""

from __future__ import annotations

from django.db import models


class SenderAccount(models.Model):
    """The portal's signing address on one chain; its row lock serialises nonce assignment."""

    chain_id = models.BigIntegerField()
    address = models.CharField(max_length=42)
    next_nonce = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "address"], name="one_sender_row_per_chain")]

    def __str__(self) -> str:
        return f"{self.address} on chain {self.chain_id} (next nonce {self.next_nonce})"


class TxStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be signed"
    SIGNED = "signed", "Signed, not yet sent"
    BROADCAST = "broadcast", "Sent, waiting to be mined"
    MINED = "mined", "Mined, waiting for confirmations"
    CONFIRMED = "confirmed", "Confirmed"
    FAILED = "failed", "Failed"


OPEN_STATUSES = (TxStatus.PENDING, TxStatus.SIGNED, TxStatus.BROADCAST, TxStatus.MINED)
# Rows that hold a nonce no block has finally used yet: the sender's later nonces wait on them.
NONCE_OPEN_STATUSES = (TxStatus.SIGNED, TxStatus.BROADCAST, TxStatus.MINED)


class TxHold(models.TextChoices):
    """Why an open row is not moving; a person must act (fund the sender, restore its key)."""

    NONE = "", "Not held"
    INSUFFICIENT_FUNDS = "insufficient_funds", "The sender cannot pay for gas"
    SENDER_KEY = "sender_key", "No key signs as its sender"


class ChainTransaction(models.Model):
    """One intended on-chain effect. Its idempotency key makes asking twice harmless."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    purpose = models.CharField(max_length=200, help_text="What this does, in words, for the people who watch it.")
    chain_id = models.BigIntegerField()
    sender = models.CharField(max_length=42)
    # Either a fixed address or the contract a deployment in this outbox will create.
    to_address = models.CharField(max_length=42, blank=True)
    to_deployment = models.ForeignKey(
        "ContractDeployment", null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    data = models.BinaryField()
    value = models.DecimalField(max_digits=78, decimal_places=0, default=0)  # wei, an integer
    gas_limit = models.BigIntegerField(null=True, blank=True)
    max_fee_per_gas = models.DecimalField(max_digits=78, decimal_places=0, null=True, blank=True)
    max_priority_fee_per_gas = models.DecimalField(max_digits=78, decimal_places=0, null=True, blank=True)
    nonce = models.BigIntegerField(null=True, blank=True)
    signed_raw = models.BinaryField(null=True, blank=True)
    tx_hash = models.CharField(max_length=66, unique=True, null=True, blank=True)
    # Hashes of earlier signings of the same nonce (fee bumps); any of them may be the one mined.
    previous_hashes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=TxStatus.choices, default=TxStatus.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    hold = models.CharField(max_length=32, choices=TxHold.choices, blank=True, default="")
    signed_at = models.DateTimeField(null=True, blank=True)
    # A zero-value self-transfer that used the nonce this row left behind, so later nonces proceed.
    fill_for = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="fills", db_index=True
    )
    last_error = models.TextField(blank=True)
    error_name = models.CharField(max_length=100, blank=True)
    error_args = models.JSONField(null=True, blank=True)
    block_number = models.BigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=66, blank=True)
    gas_used = models.BigIntegerField(null=True, blank=True)
    contract_address = models.CharField(max_length=42, blank=True)
    broadcast_at = models.DateTimeField(null=True, blank=True)
    # What this effect must stay ordered with ("security_token:offering:1|0xab…", "…|*" for the whole contract):
    # a row is signed only once every earlier open row sharing a key is confirmed or sits before it on its sender.
    order_keys = models.JSONField(default=list, blank=True)
    # The web request (or the task it queued) that asked for this effect, to follow it from click to block.
    request_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["sender", "status", "id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "sender", "nonce"], condition=models.Q(nonce__isnull=False), name="one_tx_per_nonce"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} [{self.status}]"


class ContractKind(models.TextChoices):
    REGISTRY = "registry", "Investor registry"
    SECURITY_TOKEN = "security_token", "Security token"
    STABLECOIN = "stablecoin", "Stablecoin"
    DISTRIBUTION_PAYOUT = "distribution_payout", "Distribution payout"
    RESERVE_FEED = "reserve_feed", "Reserve feed"
    RESERVE_MINTER = "reserve_minter", "Reserve-guarded minter"
    REDEMPTION_BURNER = "redemption_burner", "Redemption burner"
    NAV_FEED = "nav_feed", "NAV feed"


class ContractDeployment(models.Model):
    """A contract the portal deployed. `owner_ref` names what it belongs to (the portal, an offering)."""

    chain_id = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=ContractKind.choices)
    owner_ref = models.CharField(max_length=100)
    name = models.CharField(max_length=100, blank=True)
    address = models.CharField(max_length=42, blank=True)
    deploy_transaction = models.OneToOneField(
        ChainTransaction, on_delete=models.PROTECT, related_name="deployment", null=True, blank=True
    )
    # For a contract the portal did not deploy (a production stablecoin): where reading starts.
    index_from_block = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One registry per portal and one token per offering, per chain.
            models.UniqueConstraint(fields=["chain_id", "kind", "owner_ref"], name="deploy_once_per_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.owner_ref} at {self.address or '(not yet deployed)'}"


class RegistryInvestor(models.Model):
    """What the portal has asked the on-chain registry to hold for one investor."""

    chain_id = models.BigIntegerField()
    investor_ref = models.CharField(max_length=64)
    investor_id = models.CharField(max_length=66, help_text="bytes32 id used on-chain (hex)")
    country = models.PositiveIntegerField()
    flags = models.PositiveIntegerField()
    expiry = models.BigIntegerField(help_text="unix seconds")
    active = models.BooleanField(default=True)
    registered = models.BooleanField(default=False, help_text="registerInvestor has been queued")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "investor_ref"], name="one_registry_row_per_investor")
        ]

    def __str__(self) -> str:
        return f"registry investor {self.investor_ref}"


class RegistryWallet(models.Model):
    investor = models.ForeignKey(RegistryInvestor, on_delete=models.CASCADE, related_name="wallets")
    address = models.CharField(max_length=42)
    active = models.BooleanField(default=True)
    transaction = models.ForeignKey(ChainTransaction, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["investor", "address"], name="wallet_once_per_investor")]
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address


class IndexedBlock(models.Model):
    """Hashes of blocks the indexer has read, to notice when the chain under them changed."""

    chain_id = models.BigIntegerField()
    number = models.BigIntegerField()
    hash = models.CharField(max_length=66)
    parent_hash = models.CharField(max_length=66)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "number"], name="one_block_per_height")]

    def __str__(self) -> str:
        return f"block {self.number} {self.hash[:10]}"


class IndexerCursor(models.Model):
    """How far the indexer has read one contract's events."""

    chain_id = models.BigIntegerField()
    contract_address = models.CharField(max_length=42)
    last_block = models.BigIntegerField(default=-1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "contract_address"], name="one_cursor_per_contract")]

    def __str__(self) -> str:
        return f"{self.contract_address} read to block {self.last_block}"


class ChainEvent(models.Model):
    """One contract event, stored once; the cap table and payments read these."""

    chain_id = models.BigIntegerField()
    contract_address = models.CharField(max_length=42, db_index=True)
    block_number = models.BigIntegerField(db_index=True)
    block_hash = models.CharField(max_length=66)
    transaction_hash = models.CharField(max_length=66, db_index=True)
    log_index = models.IntegerField()
    name = models.CharField(max_length=64, db_index=True)
    args = models.JSONField()
    indexed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["block_number", "log_index"]
        constraints = [models.UniqueConstraint(fields=["block_hash", "log_index"], name="event_once_per_block_log")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.block_number}:{self.log_index}"


class ChainReorg(models.Model):
    """The chain replaced blocks the portal had treated as final: a person must know."""

    chain_id = models.BigIntegerField()
    fork_block = models.BigIntegerField(help_text="The highest block still on the chain.")
    depth = models.PositiveIntegerField(help_text="How many blocks the indexer had read above the fork.")
    events_dropped = models.PositiveIntegerField(default=0)
    transactions_reopened = models.PositiveIntegerField(default=0)
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-detected_at", "-id"]

    def __str__(self) -> str:
        return f"reorg above block {self.fork_block} ({self.events_dropped} events dropped)"
