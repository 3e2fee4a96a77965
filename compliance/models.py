"""Compliance records: KYC checks by provider, vendor webhook events, the OFAC list and screening hits."""

from __future__ import annotations

import uuid

from django.db import models

from core.models import User
from investors.models import BeneficialOwner, InvestorProfile


class KycCheckStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a decision"
    NEEDS_REVIEW = "needs_review", "Vendor asks for a manual review"
    MORE_INFO = "more_info", "More information requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SEND_FAILED = "send_failed", "Could not be sent to the provider"
    SUPERSEDED = "superseded", "Replaced by a newer check"


OPEN_CHECK_STATES = (KycCheckStatus.PENDING, KycCheckStatus.NEEDS_REVIEW, KycCheckStatus.MORE_INFO)


class KycCheck(models.Model):
    """One identity check of an investor by one provider (manual review or a vendor)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="kyc_checks")
    provider = models.CharField(max_length=32)
    external_ref = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=KycCheckStatus.choices, default=KycCheckStatus.PENDING)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="one_check_per_vendor_reference",
            )
        ]

    def __str__(self) -> str:
        return f"KYC check {self.public_id.hex[:8]} ({self.provider}, {self.status})"


class VendorWebhookEvent(models.Model):
    """A webhook delivery already applied; its id makes a repeated delivery harmless."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=100)
    kyc_check = models.ForeignKey(KycCheck, null=True, on_delete=models.SET_NULL, related_name="events")
    result = models.CharField(max_length=32)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="one_row_per_vendor_event")]

    def __str__(self) -> str:
        return f"{self.provider} event {self.event_id}"


class SanctionsList(models.Model):
    """One loaded version of OFAC's SDN list (SDN.CSV + ALT.CSV + ADD.CSV)."""

    source = models.CharField(max_length=500)
    digest = models.CharField(max_length=64, help_text="SHA-256 over the three files.")
    entries = models.PositiveIntegerField(default=0)
    aliases = models.PositiveIntegerField(default=0)
    addresses = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=False)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-loaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_sanctions_list"
            )
        ]

    def __str__(self) -> str:
        return f"SDN list {self.digest[:10]} ({self.entries} entries)"


class SanctionsEntry(models.Model):
    sanctions_list = models.ForeignKey(SanctionsList, on_delete=models.CASCADE, related_name="entry_rows")
    ent_num = models.IntegerField()
    name = models.CharField(max_length=400)
    sdn_type = models.CharField(max_length=32, blank=True)
    program = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=400, blank=True)
    remarks = models.TextField(blank=True)
    birth_dates = models.JSONField(default=list, help_text="ISO dates or years from the remarks.")
    countries = models.JSONField(default=list, help_text="ISO alpha-2 codes from addresses and remarks.")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the names and dates that screening uses.")

    class Meta:
        ordering = ["ent_num"]
        constraints = [
            models.UniqueConstraint(fields=["sanctions_list", "ent_num"], name="one_entry_per_ent_num_per_list")
        ]

    def __str__(self) -> str:
        return f"{self.ent_num} {self.name}"


class SanctionsAlias(models.Model):
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="alias_rows")
    alt_num = models.IntegerField()
    alt_type = models.CharField(max_length=16, blank=True)
    alt_name = models.CharField(max_length=400)
    alt_remarks = models.CharField(max_length=400, blank=True)

    def __str__(self) -> str:
        return self.alt_name


class SanctionsAddress(models.Model):
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="address_rows")
    add_num = models.IntegerField()
    address = models.CharField(max_length=400, blank=True)
    city = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=100, blank=True)
    remarks = models.CharField(max_length=400, blank=True)

    def __str__(self) -> str:
        return f"{self.city} {self.country}".strip()


class HitStatus(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    CLEARED = "cleared", "Cleared (not the listed person)"
    CONFIRMED = "confirmed", "Confirmed match — blocked"


class ScreeningHit(models.Model):
    """A name that scored above the threshold against an SDN entry; blocks until a person decides."""

    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="screening_hits")
    owner = models.ForeignKey(
        BeneficialOwner, null=True, blank=True, on_delete=models.SET_NULL, related_name="screening_hits"
    )
    sanctions_list = models.ForeignKey(SanctionsList, on_delete=models.PROTECT, related_name="hits")
    subject_name = models.CharField(max_length=200)
    ent_num = models.IntegerField()
    entry_name = models.CharField(max_length=400)
    matched_name = models.CharField(max_length=400)
    program = models.CharField(max_length=200, blank=True)
    # Identifies the entry's content, so a cleared hit comes back only when the listing changes.
    entry_digest = models.CharField(max_length=64)
    name_score = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=HitStatus.choices, default=HitStatus.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["investor", "subject_name", "ent_num", "entry_digest"], name="one_hit_per_subject_and_listing"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_name} ~ {self.entry_name} ({self.score})"

    def audit_label(self) -> str:
        return f"hit #{self.pk} of investor #{self.investor_id} ~ SDN #{self.ent_num} ({self.score})"
