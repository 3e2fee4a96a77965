"""Investors: who they are (person or entity, owners), their documents, accreditation, tax form,
wallets, and the issuers they applied to. Tax ids, dates of birth and id numbers are encrypted.
"""

from __future__ import annotations

import uuid

from django.core.files.storage import Storage
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

from core.countries import UNITED_STATES
from core.fields import EncryptedDateField, EncryptedTextField
from core.models import Issuer, User
from core.storage import private_storage as core_private_storage


def private_storage() -> Storage:
    """The private files' storage (core/storage.py): local by default, an S3-compatible bucket by settings."""
    return core_private_storage()


class InvestorKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    ENTITY = "entity", "Entity (company, partnership, trust)"


class EntityType(models.TextChoices):
    CORPORATION = "corporation", "Corporation"
    LLC = "llc", "Limited liability company"
    PARTNERSHIP = "partnership", "Partnership"
    TRUST = "trust", "Trust"
    OTHER = "other", "Other"


class TaxIdKind(models.TextChoices):
    SSN = "ssn", "US Social Security number"
    ITIN = "itin", "US individual taxpayer identification number"
    EIN = "ein", "US employer identification number"
    FOREIGN_TIN = "foreign_tin", "Foreign tax identification number"
    PASSPORT = "passport", "Passport number"
    NATIONAL_ID = "national_id", "National identity card number"


class KycStatus(models.TextChoices):
    NOT_SUBMITTED = "not_submitted", "Not submitted"
    PENDING = "pending", "Under review"
    MORE_INFO = "more_info", "More information requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class ScreeningStatus(models.TextChoices):
    NOT_SCREENED = "not_screened", "Not screened yet"
    CLEAR = "clear", "Clear"
    UNDER_REVIEW = "under_review", "Possible match under review"
    BLOCKED = "blocked", "Blocked"


class RegistryState(models.TextChoices):
    NONE = "none", "Not registered"
    SYNCED = "synced", "Registered"
    REVOKED = "revoked", "Removed"


class InvestorProfile(models.Model):
    """One investor: a natural person, or an entity represented by the signed-in user."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="investor_profile")
    kind = models.CharField(max_length=16, choices=InvestorKind.choices, blank=True)

    # A person's name, or the entity's registered name.
    legal_name = models.CharField(max_length=200, blank=True)
    date_of_birth = EncryptedDateField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state or region", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    # Residence (person) or principal place of business (entity), ISO 3166-1 alpha-2.
    country = CountryField(blank=True)
    citizenship = CountryField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    tax_id = EncryptedTextField()
    tax_id_kind = models.CharField(max_length=16, choices=TaxIdKind.choices, blank=True)
    tax_id_country = CountryField(blank=True)

    entity_type = models.CharField(max_length=16, choices=EntityType.choices, blank=True)
    registration_number = models.CharField(max_length=64, blank=True)
    formation_country = CountryField(blank=True)
    owners_declared_complete = models.BooleanField(default=False)

    steps_saved = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    kyc_status = models.CharField(max_length=16, choices=KycStatus.choices, default=KycStatus.NOT_SUBMITTED)
    kyc_note = models.TextField(blank=True, help_text="The reason or request shown to the investor.")
    kyc_decided_at = models.DateTimeField(null=True, blank=True)
    kyc_expires_at = models.DateTimeField(null=True, blank=True)
    screening_status = models.CharField(
        max_length=16, choices=ScreeningStatus.choices, default=ScreeningStatus.NOT_SCREENED
    )
    screened_at = models.DateTimeField(null=True, blank=True)
    registry_state = models.CharField(max_length=16, choices=RegistryState.choices, default=RegistryState.NONE)
    # What was last sent to the on-chain registry (country, flags, expiry, wallets), to audit only changes.
    registry_snapshot = models.JSONField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["legal_name", "id"]
        indexes = [
            models.Index(fields=["kyc_status"]),
            models.Index(fields=["screening_status"]),
        ]

    def __str__(self) -> str:
        return self.legal_name or f"investor {self.public_id.hex[:8]}"

    def audit_label(self) -> str:
        return f"investor {self.reference}"  # never the name: the audit chain holds no personal data

    @property
    def reference(self) -> str:
        """The stable id the on-chain registry knows this investor by."""
        return self.public_id.hex

    @property
    def is_entity(self) -> bool:
        return self.kind == InvestorKind.ENTITY

    @property
    def is_us_person(self) -> bool:
        """Regulation S, Rule 902(k): a US resident, or an entity organised under US law."""
        if self.is_entity:
            return self.formation_country == UNITED_STATES
        return self.country == UNITED_STATES

    @property
    def is_us_taxpayer(self) -> bool:
        """IRC 7701(a)(30): US citizens and residents, and US-formed entities, file a W-9."""
        if self.is_entity:
            return self.formation_country == UNITED_STATES
        return UNITED_STATES in (self.country, self.citizenship)


class OwnerRole(models.TextChoices):
    BENEFICIAL_OWNER = "owner", "Beneficial owner (25% or more)"
    CONTROLLER = "controller", "Controlling person"
    BOTH = "both", "Beneficial owner and controlling person"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


class BeneficialOwner(models.Model):
    """31 CFR 1010.230: a person owning 25% or more of an entity, or the one person who controls it."""

    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="owners")
    role = models.CharField(max_length=16, choices=OwnerRole.choices)
    full_name = models.CharField(max_length=200)
    date_of_birth = EncryptedDateField()
    address = models.CharField(max_length=300)
    country = CountryField()
    citizenship = CountryField()
    # Ownership in basis points (2500 = 25%); a controlling person who owns nothing has 0.
    ownership_bps = models.PositiveIntegerField(default=0)
    id_kind = models.CharField(max_length=16, choices=TaxIdKind.choices)
    id_number = EncryptedTextField()
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    review_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ownership_bps", "full_name"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.get_role_display()})"

    def audit_label(self) -> str:
        return f"{self.get_role_display()} #{self.pk} of investor #{self.investor_id}"

    @property
    def ownership_percent(self) -> str:
        return f"{self.ownership_bps // 100}.{self.ownership_bps % 100:02d}%"


class DocumentKind(models.TextChoices):
    PASSPORT = "passport", "Passport"
    NATIONAL_ID = "national_id", "National identity card"
    DRIVING_LICENCE = "driving_licence", "Driving licence"
    PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
    FORMATION_DOCUMENT = "formation_document", "Certificate of formation or trust deed"
    TAX_RETURN = "tax_return", "IRS form (W-2, 1099, K-1 or 1040)"
    INCOME_STATEMENT = "income_statement", "Statement of expected income this year"
    ASSET_STATEMENT = "asset_statement", "Asset statement (bank, brokerage, appraisal)"
    CREDIT_REPORT = "credit_report", "Consumer credit report"
    LIABILITIES_STATEMENT = "liabilities_statement", "Statement that all liabilities are disclosed"
    LICENCE_RECORD = "licence_record", "Licence record (FINRA BrokerCheck or IAPD)"
    ENTITY_FINANCIALS = "entity_financials", "Entity financial statements"
    VERIFICATION_LETTER = "verification_letter", "Third-party verification letter"


PHOTO_ID_KINDS = frozenset({DocumentKind.PASSPORT, DocumentKind.NATIONAL_ID, DocumentKind.DRIVING_LICENCE})
IDENTITY_KINDS = PHOTO_ID_KINDS | {DocumentKind.PROOF_OF_ADDRESS, DocumentKind.FORMATION_DOCUMENT}


class InvestorDocument(models.Model):
    """An uploaded file: identity document or accreditation evidence, kept outside any public root."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="documents")
    owner = models.ForeignKey(
        BeneficialOwner, on_delete=models.CASCADE, null=True, blank=True, related_name="documents"
    )
    claim = models.ForeignKey(
        "AccreditationClaim", on_delete=models.CASCADE, null=True, blank=True, related_name="documents"
    )
    kind = models.CharField(max_length=32, choices=DocumentKind.choices)
    file = models.FileField(storage=private_storage, upload_to="investor-documents/%Y/%m/", max_length=255)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    document_number = EncryptedTextField()
    issuing_country = CountryField(blank=True)
    document_date = models.DateField(null=True, blank=True, help_text="Issue or statement date.")
    expires_on = models.DateField(null=True, blank=True)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.investor}"

    def audit_label(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} of investor #{self.investor_id}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class AccreditationMethod(models.TextChoices):
    INCOME = "income", "Income over $200,000 in each of the last two years"
    JOINT_INCOME = "joint_income", "Joint income with a spouse over $300,000 in each of the last two years"
    NET_WORTH = "net_worth", "Net worth over $1,000,000, excluding your primary residence"
    PROFESSIONAL_LICENCE = "professional_licence", "Series 7, 65 or 82 licence in good standing"
    ENTITY_TEST = "entity_test", "Entity with more than $5,000,000 in assets"
    THIRD_PARTY_LETTER = "third_party_letter", "Letter from a broker-dealer, adviser, attorney or CPA"
    SELF_CERTIFICATION = "self_certification", "Self-certification only (Rule 506(b) offerings)"


class AccreditationStatus(models.TextChoices):
    DRAFT = "draft", "Collecting evidence"
    PENDING = "pending", "Under review"
    MORE_INFO = "more_info", "More information requested"
    VERIFIED = "verified", "Verified (Rule 506(c))"
    SELF_CERTIFIED = "self_certified", "Self-certified (Rule 506(b) only)"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Replaced by a newer claim"


class LicenceType(models.TextChoices):
    SERIES_7 = "series_7", "Series 7"
    SERIES_65 = "series_65", "Series 65"
    SERIES_82 = "series_82", "Series 82"


class LetterSigner(models.TextChoices):
    BROKER_DEALER = "broker_dealer", "Registered broker-dealer"
    INVESTMENT_ADVISER = "investment_adviser", "SEC-registered investment adviser"
    ATTORNEY = "attorney", "Licensed attorney"
    CPA = "cpa", "Certified public accountant"


class AccreditationClaim(models.Model):
    """An investor's claim to be accredited under Rule 501(a), with the method and its evidence."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="accreditation_claims")
    method = models.CharField(max_length=32, choices=AccreditationMethod.choices)
    status = models.CharField(max_length=16, choices=AccreditationStatus.choices, default=AccreditationStatus.DRAFT)
    # Amounts in USD cents (never floats).
    income_two_years_ago_cents = models.BigIntegerField(null=True, blank=True)
    income_last_year_cents = models.BigIntegerField(null=True, blank=True)
    income_expected_cents = models.BigIntegerField(null=True, blank=True)
    net_worth_cents = models.BigIntegerField(null=True, blank=True)
    entity_assets_cents = models.BigIntegerField(null=True, blank=True)
    licence_type = models.CharField(max_length=16, choices=LicenceType.choices, blank=True)
    licence_crd_number = models.CharField("CRD number", max_length=20, blank=True)
    letter_signer = models.CharField(max_length=32, choices=LetterSigner.choices, blank=True)
    letter_date = models.DateField(null=True, blank=True)
    attested = models.BooleanField(default=False)
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} — {self.get_status_display()}"


class TaxFormKind(models.TextChoices):
    W9 = "w9", "Form W-9 (US persons)"
    W8BEN = "w8ben", "Form W-8BEN (non-US individuals)"
    W8BENE = "w8bene", "Form W-8BEN-E (non-US entities)"


class Chapter4Status(models.TextChoices):
    """The chapter 4 (FATCA) status an entity certifies on Form W-8BEN-E, Part I, line 5: the common ones."""

    PARTICIPATING_FFI = "participating_ffi", "Participating FFI"
    REPORTING_MODEL_1_FFI = "reporting_model_1_ffi", "Reporting Model 1 FFI"
    REPORTING_MODEL_2_FFI = "reporting_model_2_ffi", "Reporting Model 2 FFI"
    REGISTERED_DEEMED_COMPLIANT_FFI = (
        "registered_deemed_compliant_ffi",
        "Registered deemed-compliant FFI (other than a Reporting Model 1 FFI or sponsored FFI)",
    )
    CERTIFIED_DEEMED_COMPLIANT_FFI = "certified_deemed_compliant_ffi", "Certified deemed-compliant FFI"
    NONPARTICIPATING_FFI = "nonparticipating_ffi", "Nonparticipating FFI"
    OWNER_DOCUMENTED_FFI = "owner_documented_ffi", "Owner-documented FFI"
    NONREPORTING_IGA_FFI = "nonreporting_iga_ffi", "Nonreporting IGA FFI"
    EXEMPT_BENEFICIAL_OWNER = (
        "exempt_beneficial_owner",
        "Exempt beneficial owner (a foreign government, international organization, central bank or retirement fund)",
    )
    PUBLICLY_TRADED_NFFE = "publicly_traded_nffe", "Publicly traded NFFE or an affiliate of one"
    ACTIVE_NFFE = "active_nffe", "Active NFFE"
    PASSIVE_NFFE = "passive_nffe", "Passive NFFE"
    PASSIVE_NFFE_US_OWNERS = "passive_nffe_us_owners", "Passive NFFE identifying its substantial US owners"
    EXCEPTED_TERRITORY_NFFE = "excepted_territory_nffe", "Excepted territory NFFE"
    SECTION_501C_ORGANIZATION = "501c_organization", "501(c) organization"
    DIRECT_REPORTING_NFFE = "direct_reporting_nffe", "Direct reporting NFFE"


class TaxForm(models.Model):
    """A signed W-9 or W-8. A W-8 is valid to the end of the third calendar year after signing."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="tax_forms")
    kind = models.CharField(max_length=8, choices=TaxFormKind.choices)
    signer_name = models.CharField(max_length=200)
    signed_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    tin_certified = models.BooleanField(default=False)
    not_subject_to_backup_withholding = models.BooleanField(default=False)
    foreign_tin = EncryptedTextField()
    treaty_country = CountryField(blank=True)
    treaty_article = models.CharField(max_length=32, blank=True)
    # Treaty withholding rate in basis points (1500 = 15%); null when no treaty benefit is claimed.
    treaty_rate_bps = models.PositiveIntegerField(null=True, blank=True)
    # W-8BEN-E only (Part I, line 5); blank on a W-9, a W-8BEN, and a W-8BEN-E signed before the portal asked.
    chapter_4_status = models.CharField(
        "chapter 4 (FATCA) status", max_length=32, choices=Chapter4Status.choices, blank=True
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} signed {self.signed_on}"

    @property
    def treaty_rate_percent(self) -> str:
        if self.treaty_rate_bps is None:
            return ""
        return f"{self.treaty_rate_bps // 100}.{self.treaty_rate_bps % 100:02d}%"


class WalletKind(models.TextChoices):
    SIGNED = "signed", "Linked by signature"
    CUSTODIAL = "custodial", "Held by the issuer's custodian"


class Wallet(models.Model):
    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="wallets")
    address = models.CharField(max_length=42, help_text="EIP-55 checksum address.")
    kind = models.CharField(max_length=16, choices=WalletKind.choices)
    custodian_name = models.CharField(max_length=200, blank=True)
    siwe_message = models.TextField(blank=True, help_text="The signed Sign-In with Ethereum message.")
    siwe_signature = models.CharField(max_length=140, blank=True)
    linked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["linked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["address"], condition=Q(removed_at__isnull=True), name="one_owner_per_wallet"
            )
        ]

    def __str__(self) -> str:
        return self.address


class BankScheme(models.TextChoices):
    IBAN = "iban", "IBAN and BIC"
    ABA = "aba", "US routing number (ABA) and account number"


class BankAccount(models.Model):
    """Where an investor's cash distributions are paid. Never edited: new details supersede the old ones,
    which stay on file for the payments already made to them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    investor = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="bank_accounts")
    holder_name = models.CharField(max_length=140)
    scheme = models.CharField(max_length=8, choices=BankScheme.choices)
    iban = EncryptedTextField()
    bic = models.CharField(max_length=11, blank=True)
    routing_number = models.CharField(max_length=9, blank=True)
    account_number = EncryptedTextField()
    # What pages show of the number (the rest stays encrypted at rest).
    last4 = models.CharField(max_length=4)
    country = models.CharField(max_length=2)
    currency = models.CharField(max_length=3)
    added_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    # The bank confirmed a payment to this account.
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-added_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["investor"], condition=Q(superseded_at__isnull=True), name="one_active_bank_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_scheme_display()} ending {self.last4}"

    def audit_label(self) -> str:
        return f"bank account ending {self.last4} of investor #{self.investor_id}"

    @property
    def masked_number(self) -> str:
        return "•••• " + self.last4

    @property
    def active(self) -> bool:
        return self.superseded_at is None


class SiweChallenge(models.Model):
    """An EIP-4361 nonce: answered once, before it expires, by the user it was issued to."""

    nonce = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=42)
    chain_id = models.PositiveIntegerField()
    message = models.TextField()
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"SIWE challenge {self.nonce}"


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", "Awaiting the issuer's decision"
    ADMITTED = "admitted", "Admitted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class IssuerApplication(models.Model):
    """The investor asked to invest with this issuer; its officers decide whether the issuer admits them.

    Identity (KYC, sanctions, accreditation) is not decided here: platform compliance decides it
    once for every issuer.
    """

    investor = models.ForeignKey(InvestorProfile, on_delete=models.CASCADE, related_name="applications")
    issuer = models.ForeignKey(Issuer, on_delete=models.CASCADE, related_name="investor_applications")
    status = models.CharField(max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["investor", "issuer"], name="one_application_per_issuer")]

    def __str__(self) -> str:
        return f"{self.investor} → {self.issuer}"

    def audit_label(self) -> str:
        return f"investor #{self.investor_id} → {self.issuer_id}"


class ApplicationNote(models.Model):
    """A note or decision of the issuer's officers on one application, seen by that issuer only."""

    application = models.ForeignKey(IssuerApplication, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=ApplicationStatus.choices, blank=True)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"note on {self.application}"

    def audit_label(self) -> str:
        return f"note #{self.pk} on application #{self.application_id}"


class HolderRecordCause(models.TextChoices):
    OPENED = "opened", "First recorded"
    CHANGED = "changed", "Changed"
    ERASED = "erased", "Erased at the holder's request"
    DELETED = "deleted", "Investor deleted"


class HolderRecordVersion(models.Model):
    """How a holder was registered over one period: name, holder type, address, country, tax form and
    accreditation status. 17Ad-10(f): data replaced or deleted is kept, with the date it may be purged
    (six years after it stopped being current), so the master file "as of" a past date shows it.

    The investor is referenced without a database constraint: the versions outlive a deleted investor."""

    investor = models.ForeignKey(
        InvestorProfile,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="holder_record_versions",
    )
    investor_public_id = models.UUIDField(db_index=True)
    legal_name = models.CharField(max_length=200, blank=True)
    holder_type = models.CharField(max_length=16, choices=InvestorKind.choices, blank=True)
    entity_type = models.CharField(max_length=16, choices=EntityType.choices, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    tax_form_kind = models.CharField(max_length=8, choices=TaxFormKind.choices, blank=True)
    tax_form_signed_on = models.DateField(null=True, blank=True)
    tax_form_expires_on = models.DateField(null=True, blank=True)
    tin_certified = models.BooleanField(default=False)
    accreditation_status = models.CharField(max_length=16, choices=AccreditationStatus.choices, blank=True)
    accreditation_method = models.CharField(max_length=32, choices=AccreditationMethod.choices, blank=True)
    accreditation_expires_at = models.DateTimeField(null=True, blank=True)
    cause = models.CharField(max_length=16, choices=HolderRecordCause.choices)
    ended_by = models.CharField(max_length=16, choices=HolderRecordCause.choices, blank=True)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True, help_text="Empty while this is the current record.")
    retain_until = models.DateTimeField(null=True, blank=True, help_text="17Ad-10(f): six years after valid_to.")

    class Meta:
        ordering = ["investor_id", "valid_from", "id"]
        indexes = [
            models.Index(fields=["investor", "valid_from"]),
            models.Index(fields=["retain_until"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["investor"], condition=Q(valid_to__isnull=True), name="one_current_holder_record"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True, retain_until__isnull=True)
                | Q(valid_to__isnull=False, retain_until__isnull=False, valid_to__gte=models.F("valid_from")),
                name="holder_record_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"holder record of investor #{self.investor_id} from {self.valid_from:%Y-%m-%d}"

    def audit_label(self) -> str:
        return f"holder record #{self.pk} of investor #{self.investor_id}"

    @property
    def address(self) -> str:
        parts = [self.address_line1, self.address_line2, self.city, self.region, self.postal_code, self.country]
        return ", ".join(p for p in parts if p)
