"""Offerings, their documents, subscriptions, payments (an immutable ledger) and closing batches.

Money is an integer count of minor units of the offering's currency; token quantities are integers.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Q

from compliance.exemptions import Exemption, InvestorLimit
from core.models import Issuer, User
from core.money import money_text
from investors.models import InvestorProfile, private_storage


class SecurityType(models.TextChoices):
    EQUITY = "equity", "Equity"
    DEBT = "debt", "Debt"
    REVENUE_SHARE = "revenue_share", "Revenue share"
    FUND_UNITS = "fund_units", "Fund units"


class OfferingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSING = "closing", "Closing"
    CLOSED = "closed", "Closed"
    FAILED = "failed", "Closed without reaching the minimum (refunded)"


class CloseOutcome(models.TextChoices):
    NONE = "", "Not closed"
    MINT = "mint", "Minimum reached: minting"
    REFUND = "refund", "Minimum not reached: refunding"


class Offering(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="offerings")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    security_type = models.CharField(max_length=16, choices=SecurityType.choices)
    exemption = models.CharField(max_length=16, choices=Exemption.choices)
    currency = models.CharField(max_length=3, default="USD")
    price_minor = models.BigIntegerField(help_text="Price of one token, in minor units.")
    min_investment_minor = models.BigIntegerField()
    max_investment_minor = models.BigIntegerField(null=True, blank=True)
    soft_cap_minor = models.BigIntegerField(help_text="The minimum that must be paid to close.")
    hard_cap_minor = models.BigIntegerField(help_text="Commitments never exceed this.")
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    allowed_countries = models.JSONField(default=list, blank=True, help_text="ISO alpha-2; empty: every country.")
    blocked_countries = models.JSONField(default=list, blank=True)
    token_name = models.CharField(max_length=64)
    token_symbol = models.CharField(max_length=11)
    # The exemption's rules as this offering applies them (tightened, never loosened).
    accredited_only = models.BooleanField(default=False)
    accreditation_verified = models.BooleanField(default=False)
    max_non_accredited = models.PositiveIntegerField(null=True, blank=True)
    us_persons_allowed = models.BooleanField(default=True)
    general_solicitation = models.BooleanField(default=False)
    investor_limit = models.CharField(max_length=16, choices=InvestorLimit.choices, default=InvestorLimit.NONE)
    issuer_raise_cap_minor = models.BigIntegerField(null=True, blank=True)
    min_open_days = models.PositiveIntegerField(default=0)
    cancel_window_hours = models.PositiveIntegerField(default=0)
    reconfirm_business_days = models.PositiveIntegerField(default=0)
    lockup_seconds = models.BigIntegerField(default=0)
    # A reservation not paid this many business days after it was made is ended and its amount released.
    payment_due_business_days = models.PositiveSmallIntegerField(default=5)

    status = models.CharField(max_length=16, choices=OfferingStatus.choices, default=OfferingStatus.DRAFT)
    # Sum of open commitments, kept under the offering's row lock so the hard cap holds.
    committed_minor = models.BigIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    close_requested_at = models.DateTimeField(null=True, blank=True)
    close_outcome = models.CharField(max_length=8, choices=CloseOutcome.choices, default="", blank=True)
    # Closing screens every paid subscription before minting; the soft cap is decided again after it.
    close_screened_through = models.BigIntegerField(default=0, help_text="Last subscription id screened.")
    close_screened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(price_minor__gt=0), name="offering_price_positive"),
            models.CheckConstraint(condition=Q(hard_cap_minor__gte=models.F("soft_cap_minor")), name="caps_ordered"),
            models.CheckConstraint(
                condition=Q(committed_minor__lte=models.F("hard_cap_minor")), name="commitments_within_hard_cap"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def owner_ref(self) -> str:
        """What the chain pipeline knows this offering's token by."""
        return f"offering:{self.pk}"

    @property
    def is_public(self) -> bool:
        return self.status != OfferingStatus.DRAFT


class DocumentKind(models.TextChoices):
    PPM = "ppm", "Private placement memorandum"
    SUBSCRIPTION_AGREEMENT = "subscription_agreement", "Subscription agreement"
    OPERATING_AGREEMENT = "operating_agreement", "Operating agreement"
    # Reg CF 227.201, 227.203(a): the offering statement filed with the SEC, given to investors.
    FORM_C = "form_c", "Form C (Regulation Crowdfunding offering statement)"
    OTHER = "other", "Other document"


class OfferingDocument(models.Model):
    """One version of one document. A new upload is a new row; rows are never rewritten."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=32, choices=DocumentKind.choices)
    title = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    file = models.FileField(storage=private_storage, upload_to="offering-documents/%Y/%m/", max_length=255)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    material = models.BooleanField(default=False, help_text="A material change investors must reconfirm.")
    change_note = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["offering", "kind", "title", "version"], name="one_document_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class SubscriptionStatus(models.TextChoices):
    COMMITTED = "committed", "Amount reserved, documents to sign"
    SIGNED = "signed", "Signed, awaiting payment"
    PAID = "paid", "Paid"
    ALLOCATED = "allocated", "Tokens being minted"
    ISSUED = "issued", "Tokens issued"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"


OPEN_SUBSCRIPTION_STATUSES = (SubscriptionStatus.COMMITTED, SubscriptionStatus.SIGNED, SubscriptionStatus.PAID)
COMMITTED_STATUSES = (*OPEN_SUBSCRIPTION_STATUSES, SubscriptionStatus.ALLOCATED, SubscriptionStatus.ISSUED)


class Subscription(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="subscriptions")
    investor = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="subscriptions")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    quantity = models.BigIntegerField()
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.COMMITTED, db_index=True
    )
    # Sum of the payment ledger (received minus refunded and reversed), kept under the row lock.
    paid_minor = models.BigIntegerField(default=0)
    payment_provider = models.CharField(max_length=32, blank=True)
    wire_reference = models.CharField(max_length=20, unique=True)
    wallet_address = models.CharField(max_length=42, blank=True)
    # 506(b): counted among the non-accredited purchasers.
    non_accredited = models.BooleanField(default=False)
    # Self-certified, for Reg CF and Reg A+ limits (USD cents; entities: revenue and net assets).
    annual_income_minor = models.BigIntegerField(null=True, blank=True)
    net_worth_minor = models.BigIntegerField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_ip = models.GenericIPAddressField(null=True, blank=True)
    signed_user_agent = models.CharField(max_length=500, blank=True)
    agreement_pdf = models.FileField(storage=private_storage, upload_to="signed-agreements/%Y/%m/", blank=True)
    agreement_sha256 = models.CharField(max_length=64, blank=True)
    reconfirm_by = models.DateTimeField(null=True, blank=True, help_text="Reconfirm a material change by then.")
    pay_by = models.DateTimeField(null=True, blank=True, help_text="Unpaid by then, the reservation ends.")
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    mint_batch = models.ForeignKey(
        "MintBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["offering", "status"]),
            models.Index(fields=["investor", "status"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="subscription_amount_positive"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="subscription_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.investor} → {self.offering}: {money_text(self.amount_minor, self.currency)}"

    def audit_label(self) -> str:
        return f"subscription #{self.pk} of investor #{self.investor_id} to offering #{self.offering_id}"

    @property
    def outstanding_minor(self) -> int:
        return max(self.amount_minor - self.paid_minor, 0)

    @property
    def overpaid_minor(self) -> int:
        return max(self.paid_minor - self.amount_minor, 0)


class DocumentAcceptance(models.Model):
    """Click-to-sign: the investor accepted this exact version (its hash) at this time, from here."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="acceptances")
    document = models.ForeignKey(OfferingDocument, on_delete=models.PROTECT, related_name="acceptances")
    sha256 = models.CharField(max_length=64)
    accepted_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["accepted_at"]
        constraints = [models.UniqueConstraint(fields=["subscription", "document"], name="accept_version_once")]

    def __str__(self) -> str:
        return f"{self.subscription_id} accepted {self.document}"


class PaymentStatus(models.TextChoices):
    STARTED = "started", "Started"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class Payment(models.Model):
    """One attempt to pay through one provider (a Checkout Session, wire instructions, ...)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=32)
    external_id = models.CharField(max_length=255, blank=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.STARTED)
    redirect_url = models.URLField(max_length=2000, blank=True)
    details = models.JSONField(default=dict, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], condition=~Q(external_id=""), name="one_payment_per_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} payment {self.external_id or self.pk} [{self.status}]"


class EntryKind(models.TextChoices):
    RECEIVED = "received", "Money received"
    REFUND = "refund", "Refund sent"
    # A refund booked when it succeeded that the provider later reports failed: the money is back.
    REFUND_REVERSED = "refund_reversed", "Refund failed (money returned to the portal)"
    DISPUTE = "dispute", "Disputed (money withdrawn by the card network)"
    DISPUTE_WON = "dispute_won", "Dispute won (money returned)"
    # A stablecoin transfer credited from a final block vanished in a deeper reorg; re-inclusion credits again.
    REORG_REVERSAL = "reorg_reversal", "Reversed: the chain dropped the transfer"


class PaymentEntry(models.Model):
    """One money movement. Append-only: the sum of entries is what the portal holds for a subscription.

    `amount_minor` is signed: received and dispute-won positive, refunds and disputes negative.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="entries")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    provider = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # The provider's id of the movement (Stripe payment intent / refund / dispute, bank line id).
    external_ref = models.CharField(max_length=255)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "kind", "external_ref"], name="one_entry_per_movement"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {money_text(self.amount_minor, self.currency)} ({self.provider})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Payment entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Payment entries are append-only.")


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    # Handed to the provider, which has not confirmed it yet (a pending Stripe refund, an unconfirmed
    # stablecoin transfer). Nothing is booked until it succeeds.
    PENDING = "pending", "Sent, waiting for confirmation"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


OPEN_REFUND_STATUSES = (RefundStatus.REQUESTED, RefundStatus.PENDING)


class RefundPurpose(models.TextChoices):
    FULL = "full", "Everything the payment holds"
    EXCESS = "excess", "What was paid beyond the subscription"


# Only money that leaves by hand is recorded by hand: Stripe and stablecoin refunds are booked from
# what the provider or the chain reports, never from a person saying they were sent.
HAND_REFUND_PROVIDERS = frozenset({"wire"})


class Refund(models.Model):
    """A refund the portal owes, sent through the provider that took the money.

    At most one full refund per payment; an overpayment adds refunds of the excess.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    purpose = models.CharField(max_length=8, choices=RefundPurpose.choices, default=RefundPurpose.FULL)
    provider = models.CharField(max_length=32)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    external_ref = models.CharField(max_length=255, blank=True)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["payment"], condition=Q(purpose="full"), name="one_full_refund_per_payment"
            ),
        ]

    def __str__(self) -> str:
        return f"refund of {money_text(self.amount_minor, self.currency)} ({self.get_status_display().lower()})"


class WebhookState(models.TextChoices):
    RECEIVED = "received", "Stored, not applied yet"
    APPLIED = "applied", "Applied"
    IGNORED = "ignored", "Nothing to do"
    # The payment it is about is not known yet (a refund or dispute before the checkout completed).
    WAITING = "waiting", "Waiting for its payment"
    FLAGGED = "flagged", "Could not be applied: needs review"


class WebhookEvent(models.Model):
    """A provider event, stored before it is applied: its id is unique, a redelivery finds the row.

    An event that cannot be applied stays here flagged with the reason; one that waits for its
    payment is applied when the payment appears (`waiting_for` names it at the provider).
    """

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    created = models.DateTimeField(null=True, blank=True, help_text="When the provider created the event.")
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=WebhookState.choices, default=WebhookState.RECEIVED)
    outcome = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True, help_text="Why it could not be applied, for the person who reviews it.")
    waiting_for = models.CharField(max_length=255, blank=True, db_index=True)
    issuer = models.ForeignKey(Issuer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    applied_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="process_event_once")]
        indexes = [models.Index(fields=["state", "provider"])]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class WireMatch(models.TextChoices):
    EXACT = "exact", "Matched, amount as expected"
    PARTIAL = "partial", "Matched, less than the amount due"
    OVERPAID = "overpaid", "Matched, more than the amount due"
    UNMATCHED = "unmatched", "No subscription has this reference"
    WRONG_CURRENCY = "wrong_currency", "Currency differs from the subscription's"
    CLOSED = "closed", "The subscription is no longer open"


class WireReceiptQuerySet(models.QuerySet["WireReceipt"]):
    def flagged(self) -> WireReceiptQuerySet:
        """Wires that need a person: the rule of `WireReceipt.flagged`, in SQL."""
        return self.filter(resolved_at__isnull=True).exclude(match=WireMatch.EXACT)


class WireReceipt(models.Model):
    """A wire the bank says arrived, recorded by hand or from a statement line. Flags need a person."""

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="wire_receipts")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="wire_receipts"
    )
    reference = models.CharField(max_length=140)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    bank_line_id = models.CharField(max_length=200, help_text="The bank's id of the line, or a fingerprint of it.")
    # The bank's own reference of the wire (normalised), when known: one wire, one receipt.
    bank_reference = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=16, default="manual")
    match = models.CharField(max_length=16, choices=WireMatch.choices)
    payer = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = WireReceiptQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "bank_line_id"], name="bank_line_once"),
            models.UniqueConstraint(
                fields=["issuer", "bank_reference"], condition=~Q(bank_reference=""), name="bank_reference_once"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"wire {self.reference} {money_text(self.amount_minor, self.currency)} ({self.get_match_display().lower()})"
        )

    @property
    def flagged(self) -> bool:
        """Not matched exactly and not yet resolved by a person (`WireReceiptQuerySet.flagged` in SQL)."""
        return self.match != WireMatch.EXACT and self.resolved_at is None


class MintBatch(models.Model):
    """Up to a hundred holders minted in one transaction at closing."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="mint_batches")
    number = models.PositiveIntegerField()
    chain_transaction = models.OneToOneField(
        "tokens.ChainTransaction", on_delete=models.PROTECT, related_name="mint_batch"
    )
    holders = models.PositiveIntegerField()
    quantity = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    # Its transaction failed and the chain showed nothing minted: its subscriptions went back to be minted
    # in a later batch, and this batch's transaction may never be sent again.
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["offering", "number"], name="one_batch_number")]

    def __str__(self) -> str:
        return f"batch {self.number} of {self.offering}"


class StablecoinMatch(models.TextChoices):
    MATCHED = "matched", "Matched to a payment"
    UNKNOWN_SENDER = "unknown_sender", "Sent from a wallet no investor has linked"
    NO_OPEN_PAYMENT = "no_open_payment", "The sender has no open stablecoin payment"
    AMOUNT_MISMATCH = "amount_mismatch", "The amount differs from every open payment of the sender"
    RETURNED = "returned", "Sent back to the sender"


class StablecoinReceipt(models.Model):
    """A stablecoin transfer into the receiving address, read from final blocks (flagged or matched).

    One row per transfer, keyed by (transaction hash, log index): a reorg that drops the block and
    includes the same transaction again leaves the same receipt, pointed at the new event.
    """

    # The indexed event it was read from; empty while the chain does not hold the transfer.
    chain_event_id = models.BigIntegerField(unique=True, null=True, blank=True)
    transaction_hash = models.CharField(max_length=66)
    log_index = models.IntegerField()
    block_number = models.BigIntegerField(null=True, blank=True)
    sender = models.CharField(max_length=42, db_index=True)
    amount_units = models.DecimalField(max_digits=78, decimal_places=0, help_text="In the token's smallest unit.")
    amount_minor = models.BigIntegerField(null=True, blank=True, help_text="USD cents, when whole.")
    match = models.CharField(max_length=20, choices=StablecoinMatch.choices)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="receipts")
    # How many times the chain has held it; each holding credits (and a drop reverses) once.
    inclusions = models.PositiveIntegerField(default=1)
    credited = models.BooleanField(default=False, help_text="Its amount is in the payment ledger now.")
    reorged_at = models.DateTimeField(
        null=True, blank=True, help_text="When a reorg deeper than the finality rule dropped it (still dropped)."
    )
    reorg_note = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["transaction_hash", "log_index"], name="stablecoin_receipt_once_per_log")
        ]

    def __str__(self) -> str:
        return f"{self.amount_units} units from {self.sender} [{self.match}]"

    @property
    def on_chain(self) -> bool:
        return self.reorged_at is None

    @property
    def credit_ref(self) -> str:
        """The ledger reference of this holding: the first keeps the plain `hash:log` of earlier receipts."""
        base = f"{self.transaction_hash}:{self.log_index}"
        return base if self.inclusions == 1 else f"{base}:{self.inclusions}"


class CaseKind(models.TextChoices):
    DISPUTE = "dispute", "Chargeback (card dispute)"
    OUTSIDE_REFUND = "outside_refund", "Refund made outside the portal"


class CaseStage(models.TextChoices):
    # Before issuance: no tokens to hold, the issuer reviews the subscription.
    REVIEW = "review", "Open: review the subscription"
    FROZEN = "frozen", "Open: tokens frozen"
    RELEASED = "released", "Money recovered: tokens released"
    TRANSFERRED = "transferred", "Not recovered: tokens transferred back to the issuer"
    BURNED = "burned", "Not recovered: tokens burned"
    CLOSED = "closed", "Reviewed and closed"


OPEN_CASE_STAGES = (CaseStage.REVIEW, CaseStage.FROZEN)


class PaymentCase(models.Model):
    """Money taken back from a subscription by a chargeback or a refund made elsewhere.

    Once tokens are allocated or issued, the investor's corresponding quantity is frozen on-chain
    until the issuer resolves the case: released when the money is recovered, or transferred back
    to the issuer or burned when it is not. Nothing is absorbed without a person deciding.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="cases")
    kind = models.CharField(max_length=16, choices=CaseKind.choices)
    # The provider's id of the movement (Stripe dispute or refund).
    external_ref = models.CharField(max_length=255)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    quantity = models.BigIntegerField(default=0, help_text="Tokens held for the case (0 before issuance).")
    wallet_address = models.CharField(max_length=42, blank=True)
    stage = models.CharField(max_length=16, choices=CaseStage.choices)
    provider_status = models.CharField(max_length=40, blank=True, help_text="The provider's own word for it.")
    freeze_transaction = models.ForeignKey(
        "tokens.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_transaction = models.ForeignKey(
        "tokens.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "kind", "external_ref"], name="one_case_per_movement"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="case_amount_positive"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="case_quantity_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on subscription {self.subscription_id} [{self.stage}]"

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_CASE_STAGES
