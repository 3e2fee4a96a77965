"""What backs a token, the reserve statements that attest it, the rule that ties its supply to them, and
the daily check's finding.

A reserve statement is never edited: what it says (date, amounts, lines, document) is fixed when it is
entered, and the database refuses an UPDATE of those columns. Only its lifecycle moves: waiting for a
second person, approved (the token's current statement), superseded by the next approved one, or
declined. The approved statements of a token form one chain, each pointing at the one it superseded.

Amounts are integers counted in the smallest unit of the reserve: minor units of a currency (scale 2 for
USD cents) or of a commodity's declared unit (unit "g" with scale 3 counts milligrams).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import models
from django.db.models import F, Q

from core.models import ApprovalRequest, User
from investors.models import private_storage
from offerings.models import Offering

RESERVE_STATEMENT_APPROVAL_KIND = "backing.reserve_statement"
MAX_UNIT_SCALE = 18


class BackingAsset(models.TextChoices):
    CASH = "cash", "Cash and deposits"
    TREASURIES = "treasuries", "Government treasuries"
    REAL_ESTATE = "real_estate", "Real estate"
    COMMODITY = "commodity", "Commodity"
    RECEIVABLES = "receivables", "Receivables"
    FUND_UNITS = "fund_units", "Fund units"
    OTHER = "other", "Other"


class LegalStructure(models.TextChoices):
    SPV = "spv", "Special purpose vehicle (SPV)"
    TRUST = "trust", "Trust"
    FUND = "fund", "Fund"


class HolderClaim(models.TextChoices):
    OWNERSHIP = "ownership", "Ownership of the assets"
    DEBT = "debt", "A debt claim on the issuer"
    BENEFICIAL_INTEREST = "beneficial_interest", "A beneficial interest"


class CustodianRole(models.TextChoices):
    ASSET_CUSTODIAN = "asset_custodian", "Custodian of the assets"
    BANK = "bank", "Bank holding the cash"
    VAULT = "vault", "Vault operator"
    TRUSTEE = "trustee", "Trustee"
    ADMINISTRATOR = "administrator", "Fund administrator"
    OTHER = "other", "Other"


class BackingProfile(models.Model):
    """What backs one token and what its holders own, in the issuer's words (the controls come from the chain)."""

    offering = models.OneToOneField(Offering, on_delete=models.PROTECT, related_name="backing_profile")
    asset_kind = models.CharField("what backs it", max_length=20, choices=BackingAsset.choices)
    asset_details = models.TextField("details of the assets", blank=True)
    legal_structure = models.CharField(max_length=10, choices=LegalStructure.choices)
    structure_name = models.CharField("name of the SPV, trust or fund", max_length=200, blank=True)
    holder_claim = models.CharField("what a holder has", max_length=24, choices=HolderClaim.choices)
    reserves_segregated = models.BooleanField(
        "reserves are segregated", help_text="Held apart from the issuer's own assets, out of reach of its creditors."
    )
    redemption_terms = models.TextField("redemption terms", help_text="How and when a holder can get out, in words.")
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"backing of {self.offering}"


class Custodian(models.Model):
    profile = models.ForeignKey(BackingProfile, on_delete=models.CASCADE, related_name="custodians")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=CustodianRole.choices)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class BackingRule(models.Model):
    """How much reserve one token unit needs, exactly: numerator / denominator smallest units of the reserve,
    and how old the latest approved attestation may be before mints stop."""

    offering = models.OneToOneField(Offering, on_delete=models.PROTECT, related_name="backing_rule")
    unit_code = models.CharField("reserve unit", max_length=12, help_text="A currency code (USD) or a unit (g, oz).")
    unit_scale = models.PositiveSmallIntegerField(
        "decimal places counted", help_text="2 counts cents of USD; 3 counts milligrams of g."
    )
    reserve_per_token_numerator = models.BigIntegerField()
    reserve_per_token_denominator = models.BigIntegerField()
    staleness_days = models.PositiveIntegerField(
        "staleness limit (days)", help_text="Mints stop when the latest approved attestation is older."
    )
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reserve_per_token_numerator__gt=0) & Q(reserve_per_token_denominator__gt=0),
                name="backing_rule_ratio_positive",
            ),
            models.CheckConstraint(condition=Q(staleness_days__gte=1), name="backing_rule_staleness_at_least_a_day"),
            models.CheckConstraint(condition=Q(unit_scale__lte=MAX_UNIT_SCALE), name="backing_rule_scale_bounded"),
        ]

    def __str__(self) -> str:
        return f"backing rule of {self.offering}"


class AttestorKind(models.TextChoices):
    ACCOUNTING_FIRM = "accounting_firm", "Accounting firm"
    CUSTODIAN = "custodian", "Custodian"
    AUDITOR = "auditor", "Auditor"


class StatementState(models.TextChoices):
    PENDING = "pending", "Waiting for a second person"
    APPROVED = "approved", "Approved (current)"
    SUPERSEDED = "superseded", "Superseded"
    DECLINED = "declined", "Declined"


class StatementSource(models.TextChoices):
    FORM = "form", "Entered on the page"
    CSV = "csv", "Imported from CSV"


# The only columns of a statement that ever change after it is entered (see the migration's trigger).
STATEMENT_LIFECYCLE_FIELDS = frozenset(
    {"state", "approval_request", "approved_by", "approved_at", "supersedes", "superseded_at"}
)


class ReserveStatement(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="reserve_statements")
    as_of = models.DateField("reserves as of")
    period_start = models.DateField("period from")
    period_end = models.DateField("period to")
    unit_code = models.CharField(max_length=12)
    unit_scale = models.PositiveSmallIntegerField()
    total_amount = models.BigIntegerField(help_text="In the smallest unit counted (10^-scale of the unit).")
    attestor_name = models.CharField(max_length=200)
    attestor_kind = models.CharField(max_length=20, choices=AttestorKind.choices)
    document = models.FileField(storage=private_storage, upload_to="reserve-attestations/%Y/%m/", max_length=255)
    document_sha256 = models.CharField(max_length=64)
    document_name = models.CharField(max_length=200)
    document_size = models.PositiveIntegerField()
    source = models.CharField(max_length=8, choices=StatementSource.choices, default=StatementSource.FORM)
    entered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    state = models.CharField(max_length=12, choices=StatementState.choices, default=StatementState.PENDING)
    approval_request = models.ForeignKey(
        ApprovalRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-as_of", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="reserve_total_not_negative"),
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="reserve_period_in_order"),
            # Four eyes, in the database too: whoever entered a statement never approves it.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("entered_by")),
                name="reserve_statement_not_approved_by_its_author",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["approved", "superseded"]) | Q(approved_by__isnull=False),
                name="reserve_statement_approved_has_approver",
            ),
            # One current statement per token.
            models.UniqueConstraint(
                fields=["offering"], condition=Q(state="approved"), name="one_current_reserve_statement_per_token"
            ),
        ]

    def __str__(self) -> str:
        return f"reserve statement {self.pk} of {self.offering} as of {self.as_of}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        fields = kwargs.get("update_fields")
        if self.pk is not None and (fields is None or not set(fields) <= STATEMENT_LIFECYCLE_FIELDS):
            raise RuntimeError("A reserve statement is never edited; enter a new one that supersedes it.")
        super().save(*args, **kwargs)


class ReserveLine(models.Model):
    """One part of a statement's composition: what kind of asset, held by whom, how much."""

    statement = models.ForeignKey(ReserveStatement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    asset_kind = models.CharField(max_length=20, choices=BackingAsset.choices)
    custodian = models.CharField(max_length=200)
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["statement", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="reserve_line_not_negative"),
            models.UniqueConstraint(fields=["statement", "position"], name="reserve_line_position_once"),
        ]

    def __str__(self) -> str:
        return f"line {self.position} of statement {self.statement_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("A reserve statement's lines are never edited.")
        super().save(*args, **kwargs)


class BackingCondition(models.TextChoices):
    BACKED = "backed", "Backed"
    UNDER_COLLATERALISED = "under_collateralised", "Under-collateralised"
    STALE = "stale", "Attestation stale"
    NO_STATEMENT = "no_statement", "No approved statement"


class BackingStatus(models.Model):
    """The daily check's finding for one token with a backing rule, and since when it holds."""

    offering = models.OneToOneField(Offering, on_delete=models.CASCADE, related_name="backing_status")
    condition = models.CharField(max_length=24, choices=BackingCondition.choices)
    since = models.DateTimeField(help_text="When this condition began (kept while it lasts).")
    checked_at = models.DateTimeField()
    supply = models.BigIntegerField(null=True, blank=True, help_text="Ledger total at the check.")
    reserve_amount = models.BigIntegerField(null=True, blank=True)
    required_amount = models.BigIntegerField(null=True, blank=True)
    statement = models.ForeignKey(ReserveStatement, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    detail = models.CharField(max_length=300, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True, help_text="When the admins were told of this onset.")

    def __str__(self) -> str:
        return f"{self.offering}: {self.condition} since {self.since:%Y-%m-%d}"

    @property
    def healthy(self) -> bool:
        return self.condition == BackingCondition.BACKED


NAV_POINT_APPROVAL_KIND = "backing.nav_point"
MAX_NAV_SCALE = 18


class NavTerms(models.Model):
    """How a token's NAV per unit is declared (an integer with this many decimal places of its currency), and
    whether its offering is priced at it: forward pricing, a subscription paid in full before a dealing day's
    cut-off is issued at that day's NAV. Dealing days are business days (core.business_days)."""

    offering = models.OneToOneField(Offering, on_delete=models.PROTECT, related_name="nav_terms")
    scale = models.PositiveSmallIntegerField(
        "decimal places of the NAV", help_text="8 declares a NAV per unit like 1.02345678 USD."
    )
    priced_at_nav = models.BooleanField(
        "subscriptions priced at NAV",
        default=False,
        help_text="Units are issued at the NAV of the dealing day whose cut-off the payment came before.",
    )
    cutoff = models.TimeField("dealing cut-off (UTC)", default=dt.time(16, 0))
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(scale__lte=MAX_NAV_SCALE), name="nav_scale_bounded")]

    def __str__(self) -> str:
        return f"NAV terms of {self.offering}"


# The only columns of a NAV point that ever change after it is entered (see the migration's trigger).
NAV_LIFECYCLE_FIELDS = frozenset(
    {"state", "approval_request", "approved_by", "approved_at", "supersedes", "superseded_at"}
)


class NavPoint(models.Model):
    """A token's NAV per unit on one dealing day, never edited; a later point for the same day supersedes it.

    It comes either from a document, entered by the issuer's staff and approved by a second person, or from the
    token's NAV oracle (NavOracle), which publishes it: a round read from the oracle's contract is in force as it is
    recorded, with the oracle's address and the round's id instead of a document and a person.

    `nav_per_unit` counts 10^-scale of the currency per token unit: 1.02345678 USD at scale 8 is 102,345,678."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="nav_points")
    dealing_day = models.DateField()
    currency = models.CharField(max_length=3)
    scale = models.PositiveSmallIntegerField()
    nav_per_unit = models.BigIntegerField()
    source = models.CharField(
        "published by", max_length=200, help_text="Who struck the NAV: the fund administrator, the manager."
    )
    document = models.FileField(storage=private_storage, upload_to="nav-statements/%Y/%m/", max_length=255, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    document_name = models.CharField(max_length=200, blank=True)
    document_size = models.PositiveIntegerField(null=True, blank=True)
    entered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)
    # A point the oracle published: its contract, what it called itself, the round and the round's updatedAt.
    oracle_address = models.CharField(max_length=42, blank=True)
    oracle_description = models.CharField(max_length=200, blank=True)
    oracle_round_id = models.CharField(max_length=30, blank=True, help_text="A uint80, as decimal text.")
    oracle_updated_at = models.DateTimeField(null=True, blank=True)

    state = models.CharField(max_length=12, choices=StatementState.choices, default=StatementState.PENDING)
    approval_request = models.ForeignKey(
        ApprovalRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-dealing_day", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(nav_per_unit__gt=0), name="nav_per_unit_positive"),
            models.CheckConstraint(condition=Q(scale__lte=MAX_NAV_SCALE), name="nav_point_scale_bounded"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("entered_by")),
                name="nav_point_not_approved_by_its_author",
            ),
            # A document's point counts once a person approved it; the oracle's is in force as it is published.
            models.CheckConstraint(
                condition=~Q(state__in=["approved", "superseded"])
                | Q(approved_by__isnull=False)
                | ~Q(oracle_address=""),
                name="nav_point_approved_has_approver_or_oracle",
            ),
            # Each point comes from a document entered by a person, or from an oracle's round: never neither.
            models.CheckConstraint(
                condition=(
                    ~Q(document="")
                    & ~Q(document_sha256="")
                    & Q(entered_by__isnull=False)
                    & Q(oracle_address="")
                    & Q(oracle_round_id="")
                )
                | (
                    Q(document="") & ~Q(oracle_address="") & ~Q(oracle_round_id="") & Q(oracle_updated_at__isnull=False)
                ),
                name="nav_point_has_document_or_oracle_round",
            ),
            # One NAV per token and dealing day.
            models.UniqueConstraint(
                fields=["offering", "dealing_day"], condition=Q(state="approved"), name="one_nav_per_dealing_day"
            ),
            # Each round of an oracle is recorded once (passes that overlap, or one killed mid-way and run again).
            models.UniqueConstraint(
                fields=["offering", "oracle_address", "oracle_round_id"],
                condition=~Q(oracle_address=""),
                name="nav_oracle_round_recorded_once",
            ),
        ]

    def __str__(self) -> str:
        return f"NAV of {self.offering} on {self.dealing_day}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        fields = kwargs.get("update_fields")
        if self.pk is not None and (fields is None or not set(fields) <= NAV_LIFECYCLE_FIELDS):
            raise RuntimeError("A NAV point is never edited; enter a correction that supersedes it.")
        super().save(*args, **kwargs)

    @property
    def from_oracle(self) -> bool:
        return bool(self.oracle_address)

    @property
    def origin_text(self) -> str:
        """Where the figure comes from, in a few words: its document's hash or the oracle's round."""
        if self.from_oracle:
            return f"oracle {self.oracle_address}, round {self.oracle_round_id}"
        return f"statement SHA-256 {self.document_sha256[:16]}…"


NAV_ORACLE_APPROVAL_KIND = "backing.nav_oracle_change"


class NavOracle(models.Model):
    """The contract that publishes a token's NAV per unit (Chainlink's AggregatorV3Interface on this chain), named
    by one issuer admin and approved by another; its rounds are read by the beat into NAV points."""

    offering = models.OneToOneField(Offering, on_delete=models.PROTECT, related_name="nav_oracle")
    address = models.CharField(max_length=42)
    description = models.CharField(max_length=200, blank=True, help_text="What the contract calls itself.")
    decimals = models.PositiveSmallIntegerField(help_text="The decimal places of its answers, as read when named.")
    proposed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField()
    last_round_id = models.CharField(max_length=30, blank=True, help_text="The last round read, as decimal text.")
    last_read_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=300, blank=True, help_text="Why the last pass could not read it.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(approved_by=F("proposed_by")), name="nav_oracle_named_with_four_eyes"),
            models.CheckConstraint(condition=Q(decimals__lte=MAX_NAV_SCALE), name="nav_oracle_decimals_bounded"),
        ]

    def __str__(self) -> str:
        return f"NAV oracle {self.address} of {self.offering}"


class NavRoundRefused(models.Model):
    """A round an oracle reported that is not a NAV point, and why (shown to the issuer on the NAV page)."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="nav_rounds_refused")
    oracle_address = models.CharField(max_length=42)
    round_id = models.CharField(max_length=30)
    answer = models.CharField(max_length=80, help_text="The round's answer as the contract gave it (an int256).")
    reported_at = models.DateTimeField(null=True, blank=True, help_text="The round's updatedAt; none when 0.")
    reason = models.CharField(max_length=300)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["offering", "oracle_address", "round_id"], name="nav_round_refused_once")
        ]

    def __str__(self) -> str:
        return f"round {self.round_id} of {self.oracle_address} not used for {self.offering}"


class NavPricing(models.Model):
    """A subscription to an offering priced at NAV, as it was issued: the dealing day whose cut-off its payment
    came before, that day's NAV, the whole units it bought (rounded down) and what they cost (rounded up to the
    minor unit); what was paid beyond that cost is paid back (the issuer's overpayments)."""

    subscription = models.OneToOneField("offerings.Subscription", on_delete=models.PROTECT, related_name="nav_pricing")
    dealing_day = models.DateField()
    nav_point = models.ForeignKey(NavPoint, on_delete=models.PROTECT, related_name="pricings")
    estimated_quantity = models.BigIntegerField()
    quantity = models.BigIntegerField()
    amount_minor = models.BigIntegerField(help_text="What the subscription paid for its units.")
    cost_minor = models.BigIntegerField(help_text="What the whole units cost at the NAV, rounded up.")
    priced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="nav_pricing_quantity_not_negative"),
            models.CheckConstraint(condition=Q(cost_minor__lte=F("amount_minor")), name="nav_pricing_cost_within"),
        ]

    def __str__(self) -> str:
        return f"subscription {self.subscription_id} priced at the NAV of {self.dealing_day}"

    @property
    def residual_minor(self) -> int:
        return self.amount_minor - self.cost_minor
