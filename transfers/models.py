"""Holders moving their units: transfers between investors instructed from the portfolio, and the requests for
the transfers the token blocks but the law allows (Reg CF permitted transferees, a lost wallet), which the
issuer approves.

A `HolderTransfer` is made only once the portal's rules and the token's own answer both let it go. A wallet the
holder controls signs it in the browser and the portal follows its hash to the register; a custodial wallet's
transfer is signed by the portal on the holder's instruction, after a fresh two-factor check, through the
chain outbox. A `TransferRequest` is filed by the holder with its reason and a document; an issuer admin
approves it (proposing the registry's forced transfer or recovery, which a second admin approves) or refuses it
with a reason.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q

from core.models import User
from investors.models import InvestorProfile, private_storage
from offerings.models import Offering
from registry.models import TokenAdminAction
from tokens.models import ChainTransaction


class Custody(models.TextChoices):
    SELF = "self", "Signed in the holder's wallet"
    CUSTODIAL = "custodial", "Signed by the portal for the custodian"


class TransferState(models.TextChoices):
    AWAITING_SIGNATURE = "awaiting_signature", "Waiting for your wallet's signature"
    AWAITING_CONFIRMATION = "awaiting_confirmation", "Waiting for your two-factor confirmation"
    SUBMITTED = "submitted", "Sent by your wallet, waiting for the chain"
    SENT = "sent", "On its way, waiting for the register"
    POSTED = "posted", "Done: on the register"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Not signed in time"
    CANCELLED = "cancelled", "Cancelled"


OPEN_TRANSFER_STATES = (
    TransferState.AWAITING_SIGNATURE,
    TransferState.AWAITING_CONFIRMATION,
    TransferState.SUBMITTED,
    TransferState.SENT,
)


class HolderTransfer(models.Model):
    """One transfer a holder instructed from the portfolio, checked on both sides before anything was signed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="holder_transfers")
    investor = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="transfers_sent")
    from_wallet = models.CharField(max_length=42)
    to_wallet = models.CharField(max_length=42)
    to_investor = models.ForeignKey(
        InvestorProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_received"
    )
    quantity = models.BigIntegerField()
    custody = models.CharField(max_length=10, choices=Custody.choices)
    state = models.CharField(max_length=24, choices=TransferState.choices, db_index=True)
    # Self-custody: the hash the holder's wallet sent. Custodial: the outbox row the portal signs.
    tx_hash = models.CharField(max_length=66, unique=True, null=True, blank=True)
    chain_transaction = models.OneToOneField(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="holder_transfer"
    )
    # When the holder passed the two-factor check the custodial instruction was confirmed with.
    step_up_at = models.DateTimeField(null=True, blank=True)
    # What both sides said when it was instructed: the portal's reasons (none) and the token's code and message.
    checked = models.JSONField(default=dict)
    failure = models.CharField(max_length=500, blank=True)
    # The form's one-time token: the same form sent twice finds this row instead of making another.
    idempotency_key = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["investor", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="holder_transfer_quantity_positive"),
            models.CheckConstraint(condition=~Q(from_wallet=F("to_wallet")), name="holder_transfer_moves"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.offering_id}: {self.from_wallet} → {self.to_wallet} [{self.state}]"

    @property
    def open(self) -> bool:
        return self.state in OPEN_TRANSFER_STATES


class ExceptionKind(models.TextChoices):
    """Transfers the token's lock-up blocks that the rules allow, each with the rule it comes from."""

    # Reg CF 227.501(a): in the first year, only to these.
    REG_CF_ISSUER = "reg_cf_issuer", "To the issuer (Reg CF 227.501(a)(1))"
    REG_CF_ACCREDITED = "reg_cf_accredited", "To an accredited investor (Reg CF 227.501(a)(2))"
    REG_CF_FAMILY = "reg_cf_family", "To a member of my family, or a trust for one (Reg CF 227.501(a)(4))"
    REG_CF_DEATH_DIVORCE = "reg_cf_death_divorce", "On death or divorce, or in similar circumstances (227.501(a)(4))"
    # Any token: the holder lost the wallet's key; everything moves to a new wallet of theirs.
    LOST_WALLET = "lost_wallet", "I lost my wallet: move everything to my new wallet"


REG_CF_EXCEPTIONS = (
    ExceptionKind.REG_CF_ISSUER,
    ExceptionKind.REG_CF_ACCREDITED,
    ExceptionKind.REG_CF_FAMILY,
    ExceptionKind.REG_CF_DEATH_DIVORCE,
)


class RequestState(models.TextChoices):
    FILED = "filed", "Waiting for the issuer"
    APPROVING = "approving", "Approved, waiting for an issuer admin's approval"
    EXECUTING = "executing", "Approved, being carried out"
    DONE = "done", "Done: on the register"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_REQUEST_STATES = (RequestState.FILED, RequestState.APPROVING, RequestState.EXECUTING)


class TransferRequest(models.Model):
    """A holder's request for a transfer the token blocks but the rules allow, decided by the issuer."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="transfer_requests")
    investor = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="transfer_requests")
    kind = models.CharField(max_length=24, choices=ExceptionKind.choices)
    from_wallet = models.CharField(max_length=42)
    to_wallet = models.CharField(max_length=42)
    to_investor = models.ForeignKey(InvestorProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField(help_text="For a lost wallet: what it held when the request was filed.")
    explanation = models.CharField(max_length=1000, help_text="The holder's own words.")
    document = models.FileField(storage=private_storage, upload_to="transfer-requests/%Y/%m/", max_length=255)
    document_name = models.CharField(max_length=200)
    document_content_type = models.CharField(max_length=64)
    document_sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=RequestState.choices, default=RequestState.FILED, db_index=True)
    # The registry's forced transfer or recovery that carries it out once approved (its second admin approves it).
    action = models.OneToOneField(
        TokenAdminAction, null=True, blank=True, on_delete=models.PROTECT, related_name="transfer_request"
    )
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True, help_text="Why it was refused, for the holder.")
    idempotency_key = models.CharField(max_length=64, unique=True)
    filed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        indexes = [models.Index(fields=["offering", "state"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_request_quantity_positive"),
            models.CheckConstraint(condition=~Q(from_wallet=F("to_wallet")), name="transfer_request_moves"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} [{self.state}]"

    @property
    def open(self) -> bool:
        return self.state in OPEN_REQUEST_STATES

    @property
    def is_recovery(self) -> bool:
        return self.kind == ExceptionKind.LOST_WALLET
