"""The holdings ledger, derived from indexed token events, and the control book it is reconciled with.

A `LedgerPosting` is one indexed `ChainEvent` as the register records it; it is deleted with its event
when the indexer rolls back past a reorg (on_delete=CASCADE), and with it the lots it opened and the
lot movements it made, so the ledger always equals a replay of the events still on the chain.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import models
from django.utils import timezone

from core.models import ApprovalRequest, Issuer, User
from core.money import money_text
from investors.models import InvestorProfile, private_storage
from offerings.models import MintBatch, Offering
from tokens.models import ChainTransaction

# 17Ad-9: a record difference is "aged" once it has existed for more than 30 calendar days.
AGED_AFTER_DAYS = 30
# 17Ad-10: postings are prompt within 30 calendar days of the event (small transfer agents).
POSTING_LATE_AFTER_DAYS = 30
# The four-eyes action (core.approvals) that puts a raised authorized quantity into effect.
AUTHORIZATION_APPROVAL_KIND = "registry.authorization"


class PostingKind(models.TextChoices):
    MINT = "mint", "Mint"
    BURN = "burn", "Burn"
    TRANSFER = "transfer", "Transfer"
    FORCED_TRANSFER = "forced_transfer", "Forced transfer"
    RECOVERY = "recovery", "Recovery"
    FREEZE = "freeze", "Wallet frozen"
    UNFREEZE = "unfreeze", "Wallet unfrozen"
    PARTIAL_FREEZE = "partial_freeze", "Amount frozen"
    PARTIAL_UNFREEZE = "partial_unfreeze", "Amount unfrozen"
    PAUSE = "pause", "Token paused"
    UNPAUSE = "unpause", "Token unpaused"


MOVING_KINDS = (
    PostingKind.MINT,
    PostingKind.BURN,
    PostingKind.TRANSFER,
    PostingKind.FORCED_TRANSFER,
    PostingKind.RECOVERY,
)


class LedgerPosting(models.Model):
    """One token event on the register: what moved or changed, for whom, and when it was posted."""

    event = models.OneToOneField("tokens.ChainEvent", on_delete=models.CASCADE, related_name="ledger_posting")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="ledger_postings")
    kind = models.CharField(max_length=20, choices=PostingKind.choices)
    block_number = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)
    log_index = models.IntegerField()
    transaction_hash = models.CharField(max_length=66, db_index=True)
    from_wallet = models.CharField(max_length=42, blank=True)
    to_wallet = models.CharField(max_length=42, blank=True)
    from_investor = models.ForeignKey(
        InvestorProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_investor = models.ForeignKey(InvestorProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField(default=0)
    # Sent by the portal's outbox (a ChainTransaction), or made on-chain some other way.
    via_portal = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    chain_time = models.DateTimeField(help_text="When the block holding the event was made.")
    posted_at = models.DateTimeField(default=timezone.now, help_text="When the event reached the ledger.")
    # How many holders of record (persons, or wallets the portal does not know) the posting added (+) or
    # removed (-); summed per day in `RegisterDay` for the holders-over-time chart.
    holders_delta = models.IntegerField(default=0)

    class Meta:
        ordering = ["block_number", "log_index"]
        indexes = [
            models.Index(fields=["offering", "block_number", "log_index"]),
            models.Index(fields=["offering", "chain_time"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["offering", "block_hash", "log_index"], name="posting_once_per_event"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="posting_quantity_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} @ {self.block_number}:{self.log_index}"

    @property
    def posting_delay(self) -> dt.timedelta:
        return self.posted_at - self.chain_time

    @property
    def late(self) -> bool:
        return self.posting_delay > dt.timedelta(days=POSTING_LATE_AFTER_DAYS)


class Lot(models.Model):
    """Units one wallet acquired together; a transfer closes part of the sender's lots and opens new ones."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="lots")
    investor = models.ForeignKey(InvestorProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="lots")
    wallet = models.CharField(max_length=42, db_index=True)
    quantity = models.BigIntegerField(help_text="Units the lot opened with.")
    issued_at = models.DateTimeField(help_text="When the units were first issued (the original mint).")
    acquired_at = models.DateTimeField(help_text="When this holder acquired them.")
    exemption = models.CharField(max_length=16, blank=True)
    lockup_release = models.DateTimeField(null=True, blank=True)
    cost_basis_minor = models.BigIntegerField(null=True, blank=True, help_text="Unknown for units not bought here.")
    currency = models.CharField(max_length=3, blank=True)
    transaction_hash = models.CharField(max_length=66)
    opened_by = models.ForeignKey(LedgerPosting, on_delete=models.CASCADE, related_name="lots_opened")
    source = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["acquired_at", "id"]
        indexes = [models.Index(fields=["offering", "wallet", "acquired_at"])]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="lot_quantity_positive")]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.quantity} in {self.wallet}"


class IssuancePrice(models.Model):
    """Units minted by this chain transaction were acquired at this price each (e.g. a dividend reinvested).

    The ledger gives a lot opened by such a mint its cost basis; closing mints take the offering price
    without a row here. Apps above the registry record it in the same transaction as the mint's outbox row.
    """

    chain_transaction = models.OneToOneField(ChainTransaction, on_delete=models.PROTECT, related_name="+")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="+")
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(price_minor__gt=0), name="issuance_price_positive")]

    def __str__(self) -> str:
        return f"issuance price of transaction {self.chain_transaction_id}"


class LotMovement(models.Model):
    """A change to one lot's remaining units; a lot's remaining quantity is the sum of its movements."""

    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="movements")
    posting = models.ForeignKey(LedgerPosting, on_delete=models.CASCADE, related_name="movements")
    delta = models.BigIntegerField()
    # Copied from the posting, so "as of a block or date" reads one table.
    block_number = models.BigIntegerField()
    chain_time = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["lot", "block_number"])]

    def __str__(self) -> str:
        return f"{self.delta:+d} on lot {self.lot_id}"


class HolderPosition(models.Model):
    """What one holder holds of one token now: an investor across all their wallets, or one wallet the portal
    does not know. Kept by the ledger posting service in the same transaction as the lots it sums, and put
    right when postings are deleted (a replay or an indexer rollback), so it always equals the open lots;
    the cap table sorts and pages this table instead of summing every movement on each request."""

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="positions")
    investor = models.ForeignKey(InvestorProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    wallet = models.CharField(max_length=42, blank=True, help_text="The holder's wallet when no investor owns it.")
    quantity = models.BigIntegerField()
    wallets = models.TextField(help_text="Wallets holding the units, comma-separated.")
    lots = models.PositiveIntegerField(help_text="Open lots.")
    first_acquired_at = models.DateTimeField(help_text="When the oldest open lot was acquired.")
    exemptions = models.CharField(max_length=200, help_text="Exemptions of the open lots, comma-separated.")
    lockup_last_release = models.DateTimeField(null=True, blank=True, help_text="The latest lock-up release.")
    lockup_first_release = models.DateTimeField(
        null=True, blank=True, help_text="The earliest lock-up release when every open lot is locked up."
    )

    class Meta:
        indexes = [
            models.Index(fields=["offering", "quantity", "id"]),
            models.Index(fields=["offering", "first_acquired_at", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["offering", "investor"],
                condition=models.Q(investor__isnull=False),
                name="position_per_investor",
            ),
            models.UniqueConstraint(
                fields=["offering", "wallet"], condition=models.Q(investor__isnull=True), name="position_per_wallet"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="position_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.offering_id} held by {self.investor_id or self.wallet}"


class PositionSnapshot(models.Model):
    """The positions of one token as of a past moment, derived once from the lot movements up to it, so the
    cap table as of a date sorts and pages in SQL as it does now. Each belongs to the ledger state it was
    derived from (the issuer's last posting id and number of postings): a posting, replay or rollback after
    it makes a new one, and the stale ones are deleted as it is made. Derived data, never edited."""

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="+")
    moment = models.DateTimeField(help_text="The point on the register (the end of the as-of day, UTC).")
    ledger_last = models.BigIntegerField(help_text="The issuer's last posting id when it was derived.")
    ledger_count = models.BigIntegerField(help_text="The issuer's number of postings when it was derived.")
    supply = models.BigIntegerField(help_text="Units of this token held at the moment.")
    issuer_supply = models.BigIntegerField(help_text="Units of every token of the issuer held at the moment.")
    made_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offering", "moment", "ledger_last", "ledger_count"], name="position_snapshot_once"
            )
        ]

    def __str__(self) -> str:
        return f"positions of {self.offering_id} as of {self.moment:%Y-%m-%d %H:%M}"


class SnapshotPosition(models.Model):
    """One holder's position in a `PositionSnapshot`: the columns of `HolderPosition`, as of its moment.
    Ids follow the holder key (investor id, then wallet), the order ties are broken in."""

    snapshot = models.ForeignKey(PositionSnapshot, on_delete=models.CASCADE, related_name="positions")
    investor = models.ForeignKey(InvestorProfile, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    wallet = models.CharField(max_length=42, blank=True)
    quantity = models.BigIntegerField()
    wallets = models.TextField()
    lots = models.PositiveIntegerField()
    first_acquired_at = models.DateTimeField()
    exemptions = models.CharField(max_length=200)
    lockup_last_release = models.DateTimeField(null=True, blank=True)
    lockup_first_release = models.DateTimeField(null=True, blank=True)
    # 17Ad-10(f): the holder as registered at the snapshot's moment, which the page filters and sorts on.
    name = models.CharField(max_length=200, blank=True, help_text="The holder's registered name then.")
    country = models.CharField(max_length=2, blank=True, help_text="The holder's registered country then.")
    accreditation = models.CharField(max_length=16, default="none", help_text="Rule 501(a) status then.")

    class Meta:
        indexes = [
            models.Index(fields=["snapshot", "quantity", "id"]),
            models.Index(fields=["snapshot", "first_acquired_at", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} held by {self.investor_id or self.wallet} in snapshot {self.snapshot_id}"


class RegisterDay(models.Model):
    """Per token and calendar day (UTC), how the holders of record and the supply changed that day."""

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="register_days")
    day = models.DateField()
    holders_delta = models.IntegerField(default=0)
    supply_delta = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["offering", "day"], name="register_day_once")]

    def __str__(self) -> str:
        return f"{self.day}: holders {self.holders_delta:+d}, supply {self.supply_delta:+d}"


class HolderCountPolicy(models.Model):
    """What the issuer states for counting holders of record under Exchange Act 12(g).

    Without a row nothing is excluded and the asset test is unknown, so every holder counts (the cautious
    reading). The exclusions are conditional, so the issuer confirms it meets them:
    Rule 12g-6 (Reg CF): current annual reports, a registered transfer agent, total assets of $25M or less;
    Rule 12g5-1(a)(7) (Reg A Tier 2): current periodic reports, a registered transfer agent, a public float
    under $75M (or revenue under $50M without a float)."""

    issuer = models.OneToOneField(Issuer, on_delete=models.CASCADE, related_name="holder_count_policy")
    total_assets_minor = models.BigIntegerField(
        null=True, blank=True, help_text="Total assets at the last fiscal year end, in USD cents."
    )
    reg_cf_excluded = models.BooleanField(default=False, help_text="Meets the conditions of Rule 12g-6.")
    reg_a_tier2_excluded = models.BooleanField(default=False, help_text="Meets the conditions of Rule 12g5-1(a)(7).")
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"holder count policy of {self.issuer}"

    def audit_label(self) -> str:
        return f"holder count policy of {self.issuer.slug}"


class IssuerAuthorization(models.Model):
    """A written issuer authorization (a board resolution): the only way the control book changes."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="authorizations")
    authorized_quantity = models.BigIntegerField(help_text="Units authorized from this record on.")
    description = models.CharField(max_length=300)
    document = models.FileField(storage=private_storage, upload_to="issuer-authorizations/%Y/%m/", max_length=255)
    document_sha256 = models.CharField(max_length=64)
    document_name = models.CharField(max_length=200, blank=True, help_text="The file's name as uploaded.")
    document_content_type = models.CharField(max_length=64, default="application/pdf")
    authorized_on = models.DateField(help_text="The date on the authorization itself.")
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    # Raising the authorized quantity is a cap-table change: it takes effect once a second admin approves.
    effective_at = models.DateTimeField(null=True, blank=True, help_text="When it took effect; empty while pending.")
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["offering", "effective_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(authorized_quantity__gte=0), name="authorized_quantity_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.authorized_quantity} authorized for {self.offering} on {self.authorized_on}"


class ControlEntryKind(models.TextChoices):
    ISSUE = "issue", "Issued"
    CANCEL = "cancel", "Cancelled"


class ControlBookEntry(models.Model):
    """Units the issuer issued or cancelled through the portal, with the transaction that carried them."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="control_book_entries")
    kind = models.CharField(max_length=8, choices=ControlEntryKind.choices)
    quantity = models.BigIntegerField()
    transaction_hash = models.CharField(max_length=66, db_index=True)
    mint_batch = models.OneToOneField(
        MintBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="control_book_entry"
    )
    authorization = models.ForeignKey(IssuerAuthorization, null=True, blank=True, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="control_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} of {self.offering}"

    @property
    def signed_quantity(self) -> int:
        return self.quantity if self.kind == ControlEntryKind.ISSUE else -self.quantity


class DifferenceKind(models.TextChoices):
    # The control book and the ledger disagree about what one transaction issued or cancelled.
    UNRECORDED_ISSUANCE = "unrecorded", "On-chain issuance or cancellation not in the control book"
    UNPOSTED_ISSUANCE = "unposted", "Control book issuance not on the ledger"
    # The ledger total differs from the token's on-chain total supply.
    LEDGER_VS_SUPPLY = "ledger_supply", "Ledger total differs from on-chain supply"
    OVER_AUTHORIZED = "over_authorized", "Issued exceeds authorized"
    # A distribution's entitlements: the ledger at the record date differs from the token's checkpoint.
    RECORD_DATE_CHECKPOINT = "record_checkpoint", "Ledger differs from the token's checkpoint at a record date"


class RecordDifference(models.Model):
    """One record difference (17Ad-9) found by a reconciliation, open until a later run no longer finds it."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="record_differences")
    kind = models.CharField(max_length=20, choices=DifferenceKind.choices)
    transaction_hash = models.CharField(max_length=66, blank=True, help_text="The transaction that caused it.")
    expected = models.BigIntegerField(help_text="What the control book (or the chain) says.")
    actual = models.BigIntegerField(help_text="What the other record says.")
    arose_at = models.DateTimeField(help_text="When the cause happened (the block time), else when first found.")
    first_found_at = models.DateTimeField()
    last_found_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["arose_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["offering", "kind", "transaction_hash"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_difference_per_cause",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.difference:+d} ({self.offering})"

    @property
    def difference(self) -> int:
        return self.actual - self.expected

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        return (now or timezone.now()) - self.arose_at

    def aged(self, now: dt.datetime | None = None) -> bool:
        return self.age(now) > dt.timedelta(days=AGED_AFTER_DAYS)


class Reconciliation(models.Model):
    """One run of the reconciliation over one token: the three numbers it compared."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="reconciliations")
    authorized = models.BigIntegerField(null=True, blank=True)
    issued = models.BigIntegerField(help_text="Control book: issued less cancelled.")
    on_chain_supply = models.BigIntegerField()
    ledger_total = models.BigIntegerField()
    ledger_block = models.BigIntegerField(help_text="The last block the ledger had posted.")
    differences_open = models.PositiveIntegerField()
    ran_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"reconciliation of {self.offering} at {self.ran_at:%Y-%m-%d %H:%M}"

    @property
    def balanced(self) -> bool:
        return self.issued == self.on_chain_supply == self.ledger_total


class TokenAdminKind(models.TextChoices):
    FREEZE_WALLET = "freeze_wallet", "Freeze a wallet"
    UNFREEZE_WALLET = "unfreeze_wallet", "Unfreeze a wallet"
    FREEZE_AMOUNT = "freeze_amount", "Freeze an amount"
    UNFREEZE_AMOUNT = "unfreeze_amount", "Unfreeze an amount"
    FORCED_TRANSFER = "forced_transfer", "Forced transfer"
    RECOVERY = "recovery", "Wallet recovery"
    PAUSE = "pause", "Pause the token"
    UNPAUSE = "unpause", "Unpause the token"


# Moving a holder's units without their signature needs a document and a second admin.
FOUR_EYES_KINDS = (TokenAdminKind.FORCED_TRANSFER, TokenAdminKind.RECOVERY)


class TokenAdminState(models.TextChoices):
    PROPOSED = "proposed", "Awaiting approval"
    APPROVED = "approved", "Approved, waiting to be sent"
    SENT = "sent", "Sent, waiting for confirmations"
    CONFIRMED = "confirmed", "Confirmed, waiting for the ledger"
    POSTED = "posted", "On the ledger"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Not approved"


OPEN_TOKEN_ADMIN_STATES = (
    TokenAdminState.PROPOSED,
    TokenAdminState.APPROVED,
    TokenAdminState.SENT,
    TokenAdminState.CONFIRMED,
)


class TokenAdminAction(models.Model):
    """One token administration action (freeze, unfreeze, forced transfer, recovery, pause) and how far it got.

    Its chain transaction goes through the outbox; it is done once a ledger posting from that
    transaction exists. Forced transfers and recoveries carry a supporting document and wait for a
    second admin's approval (core.approvals) before anything is sent.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="token_admin_actions")
    kind = models.CharField(max_length=20, choices=TokenAdminKind.choices)
    state = models.CharField(
        max_length=16, choices=TokenAdminState.choices, default=TokenAdminState.PROPOSED, db_index=True
    )
    # The wallet acted on (frozen, sent from, lost); empty for pause and unpause.
    wallet = models.CharField(max_length=42, blank=True)
    # The receiving wallet of a forced transfer, the new wallet of a recovery.
    to_wallet = models.CharField(max_length=42, blank=True)
    investor = models.ForeignKey(InvestorProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_investor = models.ForeignKey(InvestorProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=500)
    document = models.FileField(storage=private_storage, upload_to="token-admin/%Y/%m/", max_length=255, blank=True)
    document_name = models.CharField(max_length=200, blank=True)
    document_content_type = models.CharField(max_length=64, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    # The form's one-time token: submitting the same form twice finds this row instead of making another.
    idempotency_key = models.CharField(max_length=64, unique=True)
    proposed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    approval = models.OneToOneField(
        ApprovalRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="token_admin_action"
    )
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    chain_transaction = models.OneToOneField(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="token_admin_action"
    )
    posted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        indexes = [models.Index(fields=["offering", "state"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="token_admin_quantity_not_negative"),
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True) | ~models.Q(approved_by=models.F("proposed_by")),
                name="token_admin_not_approved_by_proposer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} [{self.state}]"

    @property
    def needs_four_eyes(self) -> bool:
        return self.kind in FOUR_EYES_KINDS

    @property
    def open(self) -> bool:
        return self.state in OPEN_TOKEN_ADMIN_STATES


class ExportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired (file deleted)"


class ExportJob(models.Model):
    """One export someone asked for: made by a worker, kept in private storage until it expires."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="export_jobs")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="export_jobs")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    exporter = models.CharField(max_length=40)
    format = models.CharField(max_length=8)
    params = models.JSONField(default=dict, blank=True, help_text="The as-of point or period (ExportParams).")
    state = models.CharField(max_length=8, choices=ExportState.choices, default=ExportState.QUEUED)
    rows_done = models.PositiveBigIntegerField(default=0)
    rows_total = models.PositiveBigIntegerField(null=True, blank=True)
    file = models.FileField(storage=private_storage, upload_to="exports/%Y/%m/", max_length=255, blank=True)
    filename = models.CharField(max_length=200, blank=True, help_text="The name the download is saved under.")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True, help_text="Why it failed, for the person who asked.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the file is deleted.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["issuer", "-created_at"]),
            models.Index(fields=["state", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.exporter} ({self.format}) of {self.offering_id}: {self.state}"

    @property
    def percent(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


class DifferenceThreshold(models.Model):
    """17Ad-11(c): above what aggregate value of an issue's aged record differences the transfer agent reports,
    by the issue's market capitalization band. Kept as data (seeded by a migration, changed in the admin):
    the SEC adjusts such figures."""

    currency = models.CharField(max_length=3, default="USD")
    capitalization_up_to_minor = models.BigIntegerField(
        null=True, blank=True, help_text="The band's upper end, inclusive (minor units); empty for the top band."
    )
    issuer_report_over_minor = models.BigIntegerField(help_text="17Ad-11(c)(1): report to the issuer above this.")
    regulator_report_over_minor = models.BigIntegerField(
        help_text="17Ad-11(c)(2): report to the SEC (and the issuer) above this."
    )

    class Meta:
        ordering = ["currency", models.F("capitalization_up_to_minor").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(fields=["currency", "capitalization_up_to_minor"], name="one_band_per_bound"),
            models.UniqueConstraint(
                fields=["currency"],
                condition=models.Q(capitalization_up_to_minor__isnull=True),
                name="one_top_band_per_currency",
            ),
            models.CheckConstraint(
                condition=models.Q(issuer_report_over_minor__gte=0)
                & models.Q(regulator_report_over_minor__gte=models.F("issuer_report_over_minor")),
                name="thresholds_ordered",
            ),
        ]

    def __str__(self) -> str:
        top = (
            "no limit"
            if self.capitalization_up_to_minor is None
            else f"≤ {money_text(self.capitalization_up_to_minor, self.currency)}"
        )
        return f"{self.currency} capitalization {top}"


class RecordDifferenceReport(models.Model):
    """17Ad-11: one issuer's month, built once after the month ends: what must be reported, to whom, by when."""

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="record_difference_reports")
    month = models.DateField(help_text="The first day of the month reported on.")
    month_end = models.DateTimeField(help_text="The cut-off: differences open then, and aged then, count.")
    due_on = models.DateField(help_text="17Ad-11(c): within 10 business days after the month ends.")
    report_to_issuer = models.BooleanField(default=False)
    report_to_regulator = models.BooleanField(default=False)
    needs_valuation = models.BooleanField(
        default=False,
        help_text="An issue with aged differences could not be compared with the thresholds (not priced in USD).",
    )
    built_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "issuer_id"]
        constraints = [models.UniqueConstraint(fields=["issuer", "month"], name="one_report_per_issuer_month")]

    def __str__(self) -> str:
        return f"17Ad-11 report of {self.issuer} for {self.month:%B %Y}"

    @property
    def must_report(self) -> bool:
        return self.report_to_issuer or self.report_to_regulator

    @property
    def needs_attention(self) -> bool:
        """A threshold is crossed, or a person must value an issue the thresholds cannot (its people are told)."""
        return self.must_report or self.needs_valuation


class RecordDifferenceReportIssue(models.Model):
    """One issue (token) in a monthly report: its capitalization band, its aged differences valued in money."""

    report = models.ForeignKey(RecordDifferenceReport, on_delete=models.CASCADE, related_name="issues")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    price_minor = models.BigIntegerField(help_text="The offering's price per unit, used to value units.")
    units_outstanding = models.BigIntegerField(help_text="Ledger total at the month's end.")
    capitalization_minor = models.BigIntegerField(help_text="Units outstanding × price per unit.")
    aged_units = models.BigIntegerField()
    aged_value_minor = models.BigIntegerField()
    # Empty when no threshold table exists for the offering's currency (then nothing can be compared).
    issuer_threshold_minor = models.BigIntegerField(null=True, blank=True)
    valued = models.BooleanField(
        default=True, help_text="Compared with a threshold table; false when none exists for its currency."
    )
    regulator_threshold_minor = models.BigIntegerField(null=True, blank=True)
    report_to_issuer = models.BooleanField(default=False)
    report_to_regulator = models.BooleanField(default=False)
    # A frozen copy of each aged difference as it stood at the month's end (kind, transaction, units, value).
    differences = models.JSONField(default=list)

    class Meta:
        ordering = ["report_id", "offering_id"]
        constraints = [models.UniqueConstraint(fields=["report", "offering"], name="one_line_per_issue")]

    def __str__(self) -> str:
        return f"{self.offering} in {self.report}"
