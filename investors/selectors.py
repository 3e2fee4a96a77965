"""Reads about investors: onboarding progress, what is missing, and the status page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.fields import FILE_PREFIX, decrypt_bytes
from core.models import User
from investors.models import (
    PHOTO_ID_KINDS,
    AccreditationClaim,
    AccreditationStatus,
    BankAccount,
    DocumentKind,
    HolderRecordVersion,
    InvestorDocument,
    InvestorProfile,
    KycStatus,
    TaxForm,
    Wallet,
)
from investors.services.accreditation import MissingItem, accreditation_missing
from investors.services.verification import investor_is_accredited, investor_is_verified
from tokens.selectors import WalletRegistration, registry_wallet_states


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    url_name: str
    done: bool
    optional: bool = False


def investor_profile_of(*, user: User) -> InvestorProfile | None:
    return InvestorProfile.objects.filter(user=user).first()


def documents_active(*, investor: InvestorProfile) -> QuerySet[InvestorDocument]:
    return investor.documents.filter(removed_at__isnull=True).select_related("owner", "claim")


def identity_documents_missing(*, investor: InvestorProfile) -> list[str]:
    """The identity documents review needs that are not uploaded yet, in words."""
    docs = list(documents_active(investor=investor).filter(claim__isnull=True).values_list("kind", "owner_id"))
    own = {kind for kind, owner in docs if owner is None}
    missing = []
    if investor.is_entity:
        if DocumentKind.FORMATION_DOCUMENT not in own:
            missing.append("the entity's certificate of formation or trust deed")
        if DocumentKind.PROOF_OF_ADDRESS not in own:
            missing.append("proof of the entity's principal place of business")
        with_id = {owner for kind, owner in docs if owner is not None and kind in PHOTO_ID_KINDS}
        for owner in investor.owners.all():
            if owner.pk not in with_id:
                missing.append(f"a photo identity document of {owner.full_name}")
    else:
        if not own & PHOTO_ID_KINDS:
            missing.append("a passport, national identity card or driving licence")
        if DocumentKind.PROOF_OF_ADDRESS not in own:
            missing.append("a proof of address")
    return missing


def tax_form_current(*, investor: InvestorProfile) -> TaxForm | None:
    form = investor.tax_forms.filter(superseded_at__isnull=True).first()
    if form is None or (form.expires_on is not None and form.expires_on < timezone.localdate()):
        return None
    return form


def accreditation_current(*, investor: InvestorProfile) -> AccreditationClaim | None:
    """The newest claim that was not replaced."""
    return investor.accreditation_claims.exclude(status=AccreditationStatus.WITHDRAWN).first()


def wallets_active(*, investor: InvestorProfile) -> QuerySet[Wallet]:
    return investor.wallets.filter(removed_at__isnull=True)


def onboarding_steps(*, investor: InvestorProfile) -> list[Step]:
    if investor.pk is None:  # not started: every step is still to do
        return [
            Step("kind", "Account type", "onboarding_start", False),
            Step("details", "Your details", "onboarding_details", False),
            Step("documents", "Identity documents", "onboarding_documents", False),
            Step("accreditation", "Accreditation", "onboarding_accreditation", False, optional=True),
            Step("tax", "Tax form", "onboarding_tax", False),
            Step("wallets", "Wallets", "onboarding_wallets", False),
            Step("submit", "Submit", "onboarding_submit", False),
        ]
    steps = [
        Step("kind", "Account type", "onboarding_start", bool(investor.kind)),
        Step("details", "Your details", "onboarding_details", "details" in investor.steps_saved),
    ]
    if investor.is_entity:
        steps.append(Step("owners", "Owners", "onboarding_owners", investor.owners_declared_complete))
    claim = accreditation_current(investor=investor)
    steps += [
        Step(
            "documents",
            "Identity documents",
            "onboarding_documents",
            bool(investor.kind) and not identity_documents_missing(investor=investor),
        ),
        Step(
            "accreditation",
            "Accreditation",
            "onboarding_accreditation",
            claim is not None and claim.status != AccreditationStatus.DRAFT,
            optional=True,
        ),
        Step("tax", "Tax form", "onboarding_tax", tax_form_current(investor=investor) is not None),
        Step("wallets", "Wallets", "onboarding_wallets", wallets_active(investor=investor).exists()),
        Step(
            "submit",
            "Submit",
            "onboarding_submit",
            investor.submitted_at is not None and investor.kyc_status != KycStatus.MORE_INFO,
        ),
    ]
    return steps


def submission_missing(*, investor: InvestorProfile) -> list[str]:
    """What must be done before the investor can ask for review."""
    missing = [f"“{s.label}”" for s in onboarding_steps(investor=investor) if not s.done and not s.optional]
    return [m for m in missing if m not in {"“Submit”", "“Wallets”"}]


@dataclass
class WalletStatus:
    wallet: Wallet
    registration: WalletRegistration | None


@dataclass
class InvestorStatus:
    investor: InvestorProfile
    verified: bool
    accredited: bool
    claim: AccreditationClaim | None
    claim_missing: list[MissingItem]
    tax_form: TaxForm | None
    wallets: list[WalletStatus]
    documents_missing: list[str]
    applications: list[Any] = field(default_factory=list)


def investor_status(*, investor: InvestorProfile) -> InvestorStatus:
    claim = accreditation_current(investor=investor)
    states = registry_wallet_states(investor_ref=investor.reference)
    return InvestorStatus(
        investor=investor,
        verified=investor_is_verified(investor),
        accredited=investor_is_accredited(investor),
        claim=claim,
        claim_missing=accreditation_missing(claim=claim) if claim and claim.status == AccreditationStatus.DRAFT else [],
        tax_form=tax_form_current(investor=investor),
        wallets=[WalletStatus(w, states.get(w.address)) for w in wallets_active(investor=investor)],
        documents_missing=identity_documents_missing(investor=investor),
        applications=list(investor.applications.select_related("issuer")),
    )


def document_content(*, document: InvestorDocument) -> bytes:
    """The clear bytes of a stored document (files stored before encryption are read as they are,
    until `pii_reencrypt` encrypts them). FileNotFoundError when storage lost it."""
    with document.file.open("rb") as handle:
        stored = handle.read()
    return decrypt_bytes(stored) if stored.startswith(FILE_PREFIX) else stored


# Ids per query: well within SQLite's and PostgreSQL's limits on bound parameters.
HOLDER_DETAILS_CHUNK = 10_000


@dataclass(frozen=True)
class HolderRecord:
    """One holder's registration over one period (a `HolderRecordVersion` read as plain values)."""

    investor_id: int
    legal_name: str
    holder_type: str
    entity_type: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    tax_form_kind: str
    tax_form_signed_on: dt.date | None
    tax_form_expires_on: dt.date | None
    tin_certified: bool
    accreditation_status: str
    accreditation_method: str
    accreditation_expires_at: dt.datetime | None
    ended_by: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    retain_until: dt.datetime | None


_HOLDER_RECORD_FIELDS = tuple(f.name for f in fields(HolderRecord))


def holder_details_as_of(*, investor_ids: Iterable[int] | QuerySet[Any], at: dt.datetime) -> dict[int, HolderRecord]:
    """investor id → the holder record current at `at` (17Ad-10(f)): one query per 10,000 investors, however
    many records each has, read as plain values (the master file asks for every holder); an investor with no
    record then (not yet registered, or purged six years after it was replaced) is left out."""
    found: dict[int, HolderRecord] = {}
    # A queryset of ids is read by the database as a subquery: one query for any number of investors.
    batches: list[Any] = (
        [investor_ids]
        if isinstance(investor_ids, QuerySet)
        else [
            ids[start : start + HOLDER_DETAILS_CHUNK]
            for ids in [sorted({i for i in investor_ids if i is not None})]
            for start in range(0, len(ids), HOLDER_DETAILS_CHUNK)
        ]
    )
    for batch in batches:
        rows = (
            HolderRecordVersion.objects.filter(investor_id__in=batch, valid_from__lte=at)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
            .values_list(*_HOLDER_RECORD_FIELDS)
        )
        for row in rows:
            found[row[0]] = HolderRecord(*row)
    return found


def holder_record_history(*, investor: InvestorProfile) -> QuerySet[HolderRecordVersion]:
    return HolderRecordVersion.objects.filter(investor=investor).order_by("-valid_from", "-id")


def bank_account_current(*, investor: InvestorProfile) -> BankAccount | None:
    """The investor's active bank details (None when none are on file)."""
    return BankAccount.objects.filter(investor=investor, superseded_at__isnull=True).first()


def bank_accounts_history(*, investor: InvestorProfile) -> QuerySet[BankAccount]:
    """Every bank account the investor gave, newest first (superseded ones included)."""
    return BankAccount.objects.filter(investor=investor).order_by("-added_at", "-pk")
