"""Redemption: a token's terms, its dealing days, and the holders' requests, each followed to its payout.

A holder asks to redeem units from the portfolio; the units are frozen on-chain at once (a partial freeze),
so they cannot move while the request waits for its dealing day, and the holder may cancel until the cut-off
(the units are unfrozen). At the cut-off the dealing day is priced at its NAV, the gate is applied (pro rata,
largest remainder), and the register of lines (gross, fee, net per request) waits for a second admin. Once
approved, each line's units are burned through the redemption burner (tokens/redemption.py) and its net is
paid by stablecoin through the payout contract or by a bank file, each line once under its own number.

Money is in integer minor units of the offering's currency; a NAV is an integer count of 10^-scale currency
units per token unit (scale 8 counts hundred-millionths of a dollar), never a float.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q

from backing.models import NavPoint
from core.models import ApprovalRequest, User
from distributions.models import LinePaymentState, PayingAccount, PaymentMethod
from investors.models import BankAccount, InvestorProfile, private_storage
from offerings.models import Offering
from tokens.models import ChainTransaction

REDEMPTION_APPROVAL_KIND = "redemption.approve"
MAX_NAV_SCALE = 18


class DealingFrequency(models.TextChoices):
    DAILY = "daily", "Daily (every business day)"
    WEEKLY = "weekly", "Weekly (the week's last business day)"
    MONTHLY = "monthly", "Monthly (the month's last business day)"
    QUARTERLY = "quarterly", "Quarterly (the quarter's last business day)"


class RedemptionTerms(models.Model):
    """How and when holders of one token may redeem: dealing days, cut-off, notice, minimum, fee, gate."""

    offering = models.OneToOneField(Offering, on_delete=models.PROTECT, related_name="redemption_terms")
    active = models.BooleanField("accepting requests", default=True)
    frequency = models.CharField("dealing frequency", max_length=10, choices=DealingFrequency.choices)
    cutoff_time = models.TimeField("cut-off time", help_text="Requests for a dealing day are taken until then.")
    cutoff_timezone = models.CharField("cut-off time zone", max_length=64, default="UTC")
    notice_days = models.PositiveSmallIntegerField(
        "notice period (days)", default=0, help_text="A request counts for the first dealing day at least this far off."
    )
    minimum_units = models.BigIntegerField("minimum per request (units)", default=1)
    fee_bps = models.PositiveIntegerField("redemption fee (basis points)", default=0)
    gate_bps = models.PositiveIntegerField(
        "gate (basis points of supply)",
        null=True,
        blank=True,
        help_text="At most this share of the supply is redeemed per dealing day; empty: no gate.",
    )
    allowed_countries = models.JSONField(
        "jurisdictions allowed", default=list, blank=True, help_text="ISO alpha-2; empty: every country."
    )
    lockups_apply = models.BooleanField(
        "lock-ups apply",
        default=True,
        help_text="Units still locked up at a dealing day's cut-off cannot be asked for. Off: the issuer buys "
        "back locked-up units too (a redemption is a sale to the issuer, not a resale).",
    )
    payout_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "redemption terms"
        constraints = [
            models.CheckConstraint(condition=Q(minimum_units__gte=1), name="redemption_minimum_positive"),
            models.CheckConstraint(condition=Q(fee_bps__lte=10_000), name="redemption_fee_at_most_all"),
            models.CheckConstraint(
                condition=Q(gate_bps__isnull=True) | Q(gate_bps__gte=1, gate_bps__lte=10_000),
                name="redemption_gate_a_share",
            ),
        ]

    def __str__(self) -> str:
        return f"redemption terms of {self.offering}"


class DealingState(models.TextChoices):
    OPEN = "open", "Open for requests"
    CUT_OFF = "cut_off", "Cut off: waiting for the NAV"
    PRICED = "priced", "Priced: to be proposed for approval"
    PROPOSED = "proposed", "Waiting for a second admin's approval"
    SETTLING = "settling", "Approved: burning and paying"
    SETTLED = "settled", "Settled"
    EMPTY = "empty", "No requests"


class DealingDay(models.Model):
    """One dealing day of a token: the requests it takes until its cut-off, then its price and register."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="dealing_days")
    dealing_date = models.DateField()
    cutoff_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=DealingState.choices, default=DealingState.OPEN, db_index=True)
    currency = models.CharField(max_length=3)
    payout_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    fee_bps = models.PositiveIntegerField(default=0, help_text="As the terms said at the cut-off.")
    gate_bps = models.PositiveIntegerField(null=True, blank=True, help_text="As the terms said at the cut-off.")

    # The dealing day's NAV per unit: 10^-nav_scale currency units.
    nav_per_unit = models.BigIntegerField(null=True, blank=True)
    nav_scale = models.PositiveSmallIntegerField(default=8)
    nav_source = models.CharField(max_length=300, blank=True, help_text="Where the NAV comes from.")
    nav_entered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The token's approved NAV of the day (backing's NAV history) the day was priced at, when it has one.
    nav_point = models.ForeignKey(NavPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    priced_at = models.DateTimeField(null=True, blank=True)
    supply_at_cutoff = models.BigIntegerField(null=True, blank=True, help_text="Ledger total when priced.")
    gate_units = models.BigIntegerField(null=True, blank=True, help_text="The most the gate lets through.")
    gated = models.BooleanField(default=False, help_text="The requests exceeded the gate and were scaled down.")
    requests = models.PositiveIntegerField(default=0)
    requested_units = models.BigIntegerField(default=0)
    accepted_units = models.BigIntegerField(default=0)
    total_gross_minor = models.BigIntegerField(default=0)
    total_fee_minor = models.BigIntegerField(default=0)
    total_net_minor = models.BigIntegerField(default=0)

    proposed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approval_request = models.ForeignKey(
        ApprovalRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    # Each run that sends burns or payments numbers its batches under the next round: a retry is a new request.
    burn_round = models.PositiveIntegerField(default=0)
    payment_round = models.PositiveIntegerField(default=0)
    # Why the last run could not go on (a treasury short of the cash); empty when it could.
    payment_failure = models.TextField(blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-dealing_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["offering", "dealing_date"], name="one_dealing_day_per_date"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("proposed_by")),
                name="dealing_day_not_approved_by_proposer",
            ),
            models.CheckConstraint(
                condition=Q(total_gross_minor=F("total_fee_minor") + F("total_net_minor")),
                name="dealing_day_totals_add_up",
            ),
            models.CheckConstraint(
                condition=Q(accepted_units__lte=F("requested_units")), name="dealing_day_accepts_asked"
            ),
            models.CheckConstraint(
                condition=Q(nav_per_unit__isnull=True) | Q(nav_per_unit__gt=0), name="dealing_day_nav_positive"
            ),
            models.CheckConstraint(condition=Q(nav_scale__lte=MAX_NAV_SCALE), name="dealing_day_nav_scale_bounded"),
        ]

    def __str__(self) -> str:
        return f"dealing day {self.dealing_date} of {self.offering}"

    @property
    def priced(self) -> bool:
        return self.priced_at is not None


class RequestState(models.TextChoices):
    FREEZING = "freezing", "Freezing the units"
    PENDING = "pending", "Frozen: waiting for the dealing day"
    CANCELLING = "cancelling", "Cancelling: unfreezing the units"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Not frozen"
    GATED = "gated", "Not redeemed: the gate was reached"
    PRICED = "priced", "Priced: waiting for the issuer's approval"
    APPROVED = "approved", "Approved: burning the units"
    BURNED = "burned", "Burned: the payout is on its way"
    PAID = "paid", "Paid"


# A request that still holds frozen units for its dealing day (or is on its way to).
OPEN_REQUEST_STATES = (RequestState.FREEZING, RequestState.PENDING, RequestState.CANCELLING)
# Requests in the dealing day's register.
REGISTER_STATES = (RequestState.PRICED, RequestState.APPROVED, RequestState.BURNED, RequestState.PAID)


class RedemptionRequest(models.Model):
    """One holder's request to redeem units of one wallet at one dealing day, and its line once priced.

    `line_index` numbers the priced lines 0..n-1 of the dealing day in request order; it never changes once
    approved, because the burner and the payout contract guard each number.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dealing_day = models.ForeignKey(DealingDay, on_delete=models.PROTECT, related_name="redemption_requests")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="redemption_requests")
    investor = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="redemption_requests")
    wallet = models.CharField(max_length=42)
    quantity = models.BigIntegerField(help_text="Units asked for.")
    state = models.CharField(max_length=12, choices=RequestState.choices, default=RequestState.FREEZING, db_index=True)
    # The form's one-time token: submitting the same form twice finds this row.
    idempotency_key = models.CharField(max_length=64, unique=True)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    # The burner batch that froze the units with other requests' (redemptions/services/freezing.py).
    freeze_transaction = models.ForeignKey(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    frozen_at = models.DateTimeField(null=True, blank=True)
    cancel_transaction = models.OneToOneField(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, help_text="When the holder cancelled.")
    cancelled_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cancel_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the issuer cancelled it (empty when the holder did)."
    )
    unfrozen_at = models.DateTimeField(null=True, blank=True, help_text="When the unfreeze was confirmed.")
    failure_reason = models.TextField(blank=True)

    # The line, once the dealing day is priced.
    line_index = models.PositiveIntegerField(null=True, blank=True)
    accepted_units = models.BigIntegerField(default=0)
    gated_units = models.BigIntegerField(default=0, help_text="Units the gate left out, unfrozen at the cut-off.")
    release_transaction = models.OneToOneField(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    gross_minor = models.BigIntegerField(default=0)
    fee_minor = models.BigIntegerField(default=0)
    net_minor = models.BigIntegerField(default=0)

    # The burner batch that last carried the line, and the transaction that burned it.
    burn_transaction = models.ForeignKey(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    burn_reference = models.CharField(max_length=66, blank=True)
    burned_at = models.DateTimeField(null=True, blank=True)

    payment_state = models.CharField(
        max_length=12, choices=LinePaymentState.choices, default=LinePaymentState.PENDING, db_index=True
    )
    payment_transaction = models.ForeignKey(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The transaction hash, or the bank's end-to-end reference, that paid the line.
    payment_reference = models.CharField(max_length=140, blank=True)
    payment_failure = models.TextField(blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["dealing_day", "state"]), models.Index(fields=["offering", "wallet", "state"])]
        constraints = [
            models.UniqueConstraint(fields=["dealing_day", "line_index"], name="one_redemption_line_per_index"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="redemption_quantity_positive"),
            models.CheckConstraint(
                condition=Q(accepted_units__gte=0, gated_units__gte=0)
                & Q(accepted_units__lte=F("quantity"))
                & Q(gated_units__lte=F("quantity")),
                name="redemption_line_within_request",
            ),
            models.CheckConstraint(
                condition=Q(gross_minor=F("fee_minor") + F("net_minor")) & Q(fee_minor__gte=0, net_minor__gte=0),
                name="redemption_gross_is_fee_plus_net",
            ),
        ]

    def __str__(self) -> str:
        return f"redemption request {self.pk} of {self.quantity} ({self.state})"

    def audit_label(self) -> str:
        return f"redemption request {self.public_id} of investor #{self.investor_id}"

    @property
    def open(self) -> bool:
        return self.state in OPEN_REQUEST_STATES


# --------------------------------------------------------------------------- payout by bank file


class RedemptionBankRun(models.Model):
    """One payment file of a dealing day handed to the bank: a pain.001 credit transfer and a CSV of it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dealing_day = models.ForeignKey(DealingDay, on_delete=models.PROTECT, related_name="bank_runs")
    number = models.PositiveIntegerField()
    message_id = models.CharField(max_length=35, unique=True)
    schema = models.CharField(max_length=20)
    paying_account = models.ForeignKey(PayingAccount, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    execution_date = models.DateField()
    line_count = models.PositiveIntegerField()
    total_minor = models.BigIntegerField()
    xml_file = models.FileField(storage=private_storage, upload_to="redemption-runs/%Y/%m/", max_length=255)
    xml_sha256 = models.CharField(max_length=64)
    csv_file = models.FileField(storage=private_storage, upload_to="redemption-runs/%Y/%m/", max_length=255)
    csv_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["dealing_day", "number"], name="one_redemption_run_number"),
            models.CheckConstraint(condition=Q(line_count__gt=0, total_minor__gt=0), name="redemption_run_pays"),
        ]

    def __str__(self) -> str:
        return f"payment run {self.number} of {self.dealing_day}"

    def audit_label(self) -> str:
        return str(self)


class RedemptionBankEntry(models.Model):
    """One request's net in one payment run, under its end-to-end id; in at most one live run at a time."""

    run = models.ForeignKey(RedemptionBankRun, on_delete=models.PROTECT, related_name="entries")
    request = models.ForeignKey(RedemptionRequest, on_delete=models.PROTECT, related_name="bank_entries")
    attempt = models.PositiveSmallIntegerField()
    end_to_end_id = models.CharField(max_length=35, unique=True)
    amount_minor = models.BigIntegerField()
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, default="sent")
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "request_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=~Q(state="returned"), name="redemption_in_one_live_run"
            ),
            models.UniqueConstraint(fields=["request", "attempt"], name="one_redemption_entry_per_attempt"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="redemption_entry_pays"),
        ]

    def __str__(self) -> str:
        return self.end_to_end_id
