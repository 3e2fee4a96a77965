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
from investors.models import InvestorProfile, TaxForm
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

    payment_state = models.CharField(
        max_length=12, choices=LinePaymentState.choices, default=LinePaymentState.PENDING, db_index=True
    )
    # The transaction hash, or the bank's end-to-end reference, that paid the line.
    payment_reference = models.CharField(max_length=140, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)

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
