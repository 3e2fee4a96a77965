"""Distributions to holders (dividends, interest, returns of capital) and their registers.

A `Distribution` is declared by an issuer admin with a record date the token schedules on-chain.
Once the record date has passed, its register is computed: one `DistributionLine` per investor with
the balance at the record date, the gross, the withholding that applies and why, and the net. A
second admin approves the register before anything is paid; payment comes later, line by line,
each line under its own idempotency key.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from core.models import ApprovalRequest, Issuer, User
from investors.models import BankAccount, BankScheme, InvestorProfile, TaxForm, private_storage
from offerings.models import Offering
from registry.models import RecordDifference
from tokens.models import ChainTransaction


class DistributionKind(models.TextChoices):
    DIVIDEND = "dividend", "Dividend"
    INTEREST = "interest", "Interest / coupon"
    RETURN_OF_CAPITAL = "return_of_capital", "Return of capital"


class AmountBasis(models.TextChoices):
    TOTAL = "total", "Total amount, split pro rata"
    PER_UNIT = "per_unit", "Amount per token"


class PaymentMethod(models.TextChoices):
    STABLECOIN = "stablecoin", "Stablecoin on-chain from the issuer's treasury"
    BANK_FILE = "bank_file", "Bank payment file"


class DistributionState(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Waiting for approval"
    APPROVED = "approved", "Approved"
    PAYING = "paying", "Paying"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"
    STOPPED = "stopped", "Stopped: record difference"


OPEN_STATES = (DistributionState.DRAFT, DistributionState.PROPOSED)


class Distribution(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="distributions")
    kind = models.CharField(max_length=20, choices=DistributionKind.choices)
    state = models.CharField(max_length=16, choices=DistributionState.choices, default=DistributionState.DRAFT)
    currency = models.CharField(max_length=3)
    amount_basis = models.CharField(max_length=10, choices=AmountBasis.choices)
    # As declared: the total to split, or the amount per token, in minor units.
    amount_minor = models.BigIntegerField()
    record_date = models.DateField()
    # The moment the record date stands for on-chain (the token's checkpoint timestamp).
    record_at = models.DateTimeField()
    payment_date = models.DateField()
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    # Wallets whose units take no part (the issuer's own treasury wallets), checksummed.
    excluded_wallets = models.JSONField(default=list, blank=True)
    # Holders who elected reinvestment receive tokens at this price instead of cash; null: no reinvestment.
    reinvestment_price_minor = models.BigIntegerField(null=True, blank=True)

    record_transaction = models.ForeignKey(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    record_id = models.PositiveIntegerField(null=True, blank=True, help_text="The token's record-date id.")
    record_block = models.BigIntegerField(null=True, blank=True, help_text="The last block at the record date.")

    register_computed_at = models.DateTimeField(null=True, blank=True)
    holders = models.PositiveIntegerField(default=0)
    eligible_units = models.BigIntegerField(default=0)
    excluded_units = models.BigIntegerField(default=0)
    total_gross_minor = models.BigIntegerField(default=0)
    total_withheld_minor = models.BigIntegerField(default=0)
    total_net_minor = models.BigIntegerField(default=0)

    stop_reason = models.TextField(blank=True)
    # Why the last payment run could not go on (a treasury short of the cash still to pay); empty when it could.
    payment_failure = models.TextField(blank=True)
    # Each payment run that sends lines numbers its batches under the next round, so a retry is a new request.
    payment_round = models.PositiveIntegerField(default=0)
    record_difference = models.ForeignKey(
        RecordDifference, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approval_request = models.ForeignKey(
        ApprovalRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declared_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-record_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="distribution_amount_positive"),
            models.CheckConstraint(
                condition=Q(payment_date__gte=models.F("record_date")), name="distribution_paid_after_record"
            ),
            # The declarer is never the approver (four eyes), whoever asked for the approval.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("declared_by")),
                name="distribution_not_approved_by_declarer",
            ),
            models.CheckConstraint(
                condition=Q(total_gross_minor=models.F("total_withheld_minor") + models.F("total_net_minor")),
                name="distribution_totals_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.offering} (record date {self.record_date})"

    @property
    def issuer(self) -> Issuer:
        return self.offering.issuer

    @property
    def register_ready(self) -> bool:
        return self.register_computed_at is not None


class WithholdingReason(models.TextChoices):
    US_W9 = "us_w9", "US holder with a certified W-9"
    US_BACKUP = "us_backup", "Backup withholding: US holder without a certified W-9"
    US_BACKUP_NOTICE = "us_backup_notice", "Backup withholding: the W-9 does not certify exemption from it"
    TREATY = "treaty", "Treaty rate claimed on a valid W-8"
    W8_STATUTORY = "w8_statutory", "Non-US holder, valid W-8 without a treaty claim: statutory rate"
    NO_VALID_W8 = "no_valid_w8", "Non-US holder without a valid W-8: statutory rate"
    RETURN_OF_CAPITAL = "return_of_capital", "Return of capital: not withheld as a dividend"


class DestinationStatus(models.TextChoices):
    WALLET = "wallet", "Wallet on file"
    NO_WALLET = "no_wallet", "No active wallet on file"
    BANK_ACCOUNT = "bank_account", "Bank account on file"
    BANK_MISSING = "bank_missing", "No bank details on file"


class LinePaymentState(models.TextChoices):
    PENDING = "pending", "Pending"
    HELD = "held", "Held: no valid wallet or bank details"
    SENDING = "sending", "Sending"
    PAID = "paid", "Paid"
    REINVESTED = "reinvested", "Reinvested"
    FAILED = "failed", "Failed"
    RETURNED = "returned", "Returned by the bank"


class DistributionLine(models.Model):
    """One investor's part of a distribution: across all their wallets, at the record date.

    `line_index` numbers the lines 0..n-1 in investor order when the register is computed; once the
    distribution is approved it never changes, because the payout contract guards each number.
    """

    distribution = models.ForeignKey(Distribution, on_delete=models.CASCADE, related_name="lines")
    line_index = models.PositiveIntegerField()
    investor = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="distribution_lines")
    balance_at_record = models.BigIntegerField()
    gross_minor = models.BigIntegerField()
    withholding_rate_bps = models.PositiveIntegerField()
    withholding_reason = models.CharField(max_length=20, choices=WithholdingReason.choices)
    tax_form = models.ForeignKey(TaxForm, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    tax_form_kind = models.CharField(max_length=8, blank=True)
    withheld_minor = models.BigIntegerField()
    net_minor = models.BigIntegerField()
    destination_status = models.CharField(max_length=16, choices=DestinationStatus.choices)
    destination_wallet = models.CharField(max_length=42, blank=True)
    reinvest = models.BooleanField(default=False, help_text="The holder elected reinvestment.")
    # A reinvesting holder receives these new tokens at the declared price; the rest of the net is cash.
    reinvest_units = models.BigIntegerField(default=0)
    # What is paid in money (stablecoin or bank): the net, less what is reinvested.
    cash_minor = models.BigIntegerField()
    # Paid once: the payout uses this key for its chain transaction or bank file line.
    idempotency_key = models.CharField(max_length=120, unique=True)
    # The batch mint that carries this line's reinvested units (cleared when a failed batch is released).
    reinvest_mint = models.ForeignKey(
        "ReinvestmentMint", null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    # Why units the holder elected were paid in cash instead (the token would refuse them, no wallet).
    reinvest_refused_reason = models.TextField(blank=True)

    payment_state = models.CharField(
        max_length=12, choices=LinePaymentState.choices, default=LinePaymentState.PENDING, db_index=True
    )
    # The transaction hash, or the bank's end-to-end reference, that paid the line.
    payment_reference = models.CharField(max_length=140, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    # The payout batch that last carried the line (on-chain payment).
    payment_transaction = models.ForeignKey(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["investor_id"]
        constraints = [
            models.UniqueConstraint(fields=["distribution", "investor"], name="one_line_per_investor"),
            models.UniqueConstraint(fields=["distribution", "line_index"], name="one_line_per_index"),
            models.CheckConstraint(
                condition=Q(gross_minor=models.F("withheld_minor") + models.F("net_minor")),
                name="line_gross_is_withheld_plus_net",
            ),
            models.CheckConstraint(condition=Q(withheld_minor__gte=0, net_minor__gte=0), name="line_not_negative"),
            models.CheckConstraint(condition=Q(withholding_rate_bps__lte=10_000), name="line_rate_at_most_all"),
            models.CheckConstraint(
                condition=Q(cash_minor__gte=0, cash_minor__lte=models.F("net_minor"), reinvest_units__gte=0),
                name="line_cash_within_net",
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.pk} of distribution {self.distribution_id}"

    def audit_label(self) -> str:
        return f"distribution {self.distribution_id} line for investor #{self.investor_id}"


class ReinvestmentMint(models.Model):
    """One batch mint of reinvested units to the electing holders of a distribution, at the declared price.

    Its lines point at it from the moment its outbox row is written (in the same transaction), so a
    duplicate task finds them taken; it is settled once the mint is confirmed and on the ledger, or
    released when the token refused it, its lines checked again one by one.
    """

    distribution = models.ForeignKey(Distribution, on_delete=models.PROTECT, related_name="reinvestment_mints")
    number = models.PositiveIntegerField()
    chain_transaction = models.OneToOneField(ChainTransaction, on_delete=models.PROTECT, related_name="+")
    holders = models.PositiveIntegerField()
    units = models.BigIntegerField()
    price_minor = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["distribution_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["distribution", "number"], name="one_reinvestment_mint_per_number"),
            models.CheckConstraint(condition=Q(units__gt=0, price_minor__gt=0), name="reinvestment_mint_positive"),
        ]

    def __str__(self) -> str:
        return f"reinvestment mint {self.number} of distribution {self.distribution_id}"

    def audit_label(self) -> str:
        return str(self)


class ReinvestmentElection(models.Model):
    """A holder elected to receive new tokens instead of cash from this token's distributions."""

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="reinvestment_elections")
    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="reinvestment_elections")
    elected_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offering", "investor"], condition=Q(withdrawn_at__isnull=True), name="one_open_election"
            )
        ]

    def __str__(self) -> str:
        return f"reinvestment election of investor #{self.investor_id} in {self.offering_id}"

    def audit_label(self) -> str:
        return str(self)


# --------------------------------------------------------------------------- payment by bank file


class PayingAccount(models.Model):
    """The issuer's own account that bank payment runs are paid from (the debtor of the pain.001 file).

    Never edited: a new account supersedes the old one, which stays with the runs that used it."""

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="paying_accounts")
    currency = models.CharField(max_length=3)
    holder_name = models.CharField(max_length=140)
    scheme = models.CharField(max_length=8, choices=BankScheme.choices)
    iban = models.CharField(max_length=34, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    routing_number = models.CharField(max_length=9, blank=True)
    account_number = models.CharField(max_length=17, blank=True)
    added_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-added_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "currency"], condition=Q(superseded_at__isnull=True), name="one_paying_account"
            )
        ]

    def __str__(self) -> str:
        number = self.iban or self.account_number
        return f"{self.holder_name}, {self.currency} account ending {number[-4:]}"

    def audit_label(self) -> str:
        return f"paying account {self.pk} of issuer #{self.issuer_id}"


class BankPaymentRun(models.Model):
    """One payment file handed to the bank: a pain.001 credit transfer and a CSV of the same lines."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    distribution = models.ForeignKey(Distribution, on_delete=models.PROTECT, related_name="bank_runs")
    number = models.PositiveIntegerField(help_text="1 for the first run of the distribution, then 2, 3, ...")
    message_id = models.CharField(max_length=35, unique=True)
    schema = models.CharField(max_length=20)
    paying_account = models.ForeignKey(PayingAccount, on_delete=models.PROTECT, related_name="runs")
    currency = models.CharField(max_length=3)
    execution_date = models.DateField()
    line_count = models.PositiveIntegerField()
    total_minor = models.BigIntegerField()
    held_count = models.PositiveIntegerField(default=0)
    xml_file = models.FileField(storage=private_storage, upload_to="bank-runs/%Y/%m/", max_length=255)
    xml_sha256 = models.CharField(max_length=64)
    csv_file = models.FileField(storage=private_storage, upload_to="bank-runs/%Y/%m/", max_length=255)
    csv_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["distribution", "number"], name="one_run_number"),
            models.CheckConstraint(condition=Q(line_count__gt=0, total_minor__gt=0), name="run_pays_something"),
        ]

    def __str__(self) -> str:
        return f"payment run {self.number} of distribution {self.distribution_id}"

    def audit_label(self) -> str:
        return str(self)

    @property
    def basename(self) -> str:
        return f"{self.message_id}"


class BankEntryState(models.TextChoices):
    SENT = "sent", "In the file, waiting for the bank"
    PAID = "paid", "Paid"
    RETURNED = "returned", "Returned or rejected by the bank"


class BankPaymentEntry(models.Model):
    """One distribution line in one payment run, under its end-to-end id.

    A line is in at most one run that was not returned: the partial unique constraint says so."""

    run = models.ForeignKey(BankPaymentRun, on_delete=models.PROTECT, related_name="entries")
    line = models.ForeignKey(DistributionLine, on_delete=models.PROTECT, related_name="bank_entries")
    attempt = models.PositiveSmallIntegerField()
    end_to_end_id = models.CharField(max_length=35, unique=True)
    amount_minor = models.BigIntegerField()
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=BankEntryState.choices, default=BankEntryState.SENT)
    bank_reference = models.CharField(max_length=140, blank=True)
    reason_code = models.CharField(max_length=8, blank=True)
    reason_text = models.CharField(max_length=300, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "line_id"]
        constraints = [
            models.UniqueConstraint(fields=["line"], condition=~Q(state="returned"), name="line_in_one_live_run"),
            models.UniqueConstraint(fields=["line", "attempt"], name="one_entry_per_attempt"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="entry_pays_something"),
        ]

    def __str__(self) -> str:
        return self.end_to_end_id


class ConfirmationFormat(models.TextChoices):
    CAMT054 = "camt054", "camt.054 debit notification"
    PAIN002 = "pain002", "pain.002 payment status report"
    CSV = "csv", "CSV (end-to-end id, status, reason)"
    MANUAL = "manual", "Marked paid by hand"


class BankConfirmation(models.Model):
    """A confirmation the bank sent back (or lines an admin marked paid), applied whole or not at all."""

    distribution = models.ForeignKey(Distribution, on_delete=models.PROTECT, related_name="bank_confirmations")
    format = models.CharField(max_length=8, choices=ConfirmationFormat.choices)
    filename = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    file = models.FileField(storage=private_storage, upload_to="bank-confirmations/%Y/%m/", max_length=255, blank=True)
    paid_count = models.PositiveIntegerField(default=0)
    returned_count = models.PositiveIntegerField(default=0)
    applied_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-applied_at", "-pk"]
        constraints = [
            # The same file twice is refused: it would pay nothing new and hides a mix-up.
            models.UniqueConstraint(
                fields=["distribution", "sha256"], condition=~Q(sha256=""), name="one_import_per_file"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} for distribution {self.distribution_id}"

    def audit_label(self) -> str:
        return str(self)
