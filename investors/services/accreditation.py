"""Accreditation claims (Rule 501(a)) and the evidence each 506(c) verification method needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from investors.models import (
    AccreditationClaim,
    AccreditationMethod,
    AccreditationStatus,
    DocumentKind,
    InvestorProfile,
    LetterSigner,
    LicenceType,
)
from investors.services.holder_records import holder_record_update
from investors.services.profiles import mark_step_saved

M = AccreditationMethod
D = DocumentKind

# Rule 506(c)(2)(ii): the evidence each verification method is made of (kind → how many).
REQUIRED_EVIDENCE: dict[str, tuple[tuple[str, int], ...]] = {
    M.INCOME: ((D.TAX_RETURN, 2), (D.INCOME_STATEMENT, 1)),  # (A): IRS forms for two years + expectation
    M.JOINT_INCOME: ((D.TAX_RETURN, 2), (D.INCOME_STATEMENT, 1)),
    M.NET_WORTH: ((D.ASSET_STATEMENT, 1), (D.CREDIT_REPORT, 1), (D.LIABILITIES_STATEMENT, 1)),  # (B)
    M.PROFESSIONAL_LICENCE: ((D.LICENCE_RECORD, 1),),  # 501(a)(10)
    M.ENTITY_TEST: ((D.ENTITY_FINANCIALS, 1),),  # 501(a)(3), (7), (9)
    M.THIRD_PARTY_LETTER: ((D.VERIFICATION_LETTER, 1),),  # (C)
    M.SELF_CERTIFICATION: (),
}
# 506(c)(2)(ii)(B), (C): these must be dated within the last three months.
DATED_EVIDENCE = frozenset({D.ASSET_STATEMENT, D.CREDIT_REPORT, D.VERIFICATION_LETTER})
INDIVIDUAL_METHODS = frozenset({M.INCOME, M.JOINT_INCOME, M.NET_WORTH, M.PROFESSIONAL_LICENCE})
ENTITY_METHODS = frozenset({M.ENTITY_TEST})
OPEN_STATES = frozenset({AccreditationStatus.DRAFT, AccreditationStatus.PENDING, AccreditationStatus.MORE_INFO})


@dataclass(frozen=True)
class MissingItem:
    kind: str
    label: str
    needed: int
    have: int


def _threshold(name: str) -> int:
    return int(settings.ACCREDITATION_THRESHOLDS_CENTS[name])


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}"


def _check_figures(method: str, figures: dict[str, Any]) -> dict[str, Any]:
    def amount(name: str, label: str) -> int:
        value = figures.get(name)
        if value is None or value == "":
            raise ApplicationError(f"Enter {label}.", code="missing_amount")
        value = int(value)
        if value < 0:
            raise ApplicationError(f"{label.capitalize()} cannot be negative.", code="negative_amount")
        return value

    clean: dict[str, Any] = {}
    if method in {M.INCOME, M.JOINT_INCOME}:
        key = "income" if method == M.INCOME else "joint_income"
        floor = _threshold(key)
        for name, label in (
            ("income_two_years_ago_cents", "your income two years ago"),
            ("income_last_year_cents", "your income last year"),
            ("income_expected_cents", "the income you expect this year"),
        ):
            clean[name] = amount(name, label)
            # 501(a)(6): income in excess of the threshold in each year, and expected again.
            if clean[name] <= floor:
                raise ApplicationError(
                    f"For this method {label} must exceed {_dollars(floor)}.", code="below_threshold"
                )
    elif method == M.NET_WORTH:
        clean["net_worth_cents"] = amount("net_worth_cents", "your net worth")
        if clean["net_worth_cents"] <= _threshold("net_worth"):
            raise ApplicationError(
                f"Net worth excluding your primary residence must exceed {_dollars(_threshold('net_worth'))}.",
                code="below_threshold",
            )
    elif method == M.ENTITY_TEST:
        clean["entity_assets_cents"] = amount("entity_assets_cents", "the entity's total assets")
        if clean["entity_assets_cents"] <= _threshold("entity_assets"):
            raise ApplicationError(
                f"The entity's assets must exceed {_dollars(_threshold('entity_assets'))}.", code="below_threshold"
            )
    elif method == M.PROFESSIONAL_LICENCE:
        licence = figures.get("licence_type", "")
        crd = str(figures.get("licence_crd_number", "")).strip()
        if licence not in LicenceType.values:
            raise ApplicationError("Choose the licence you hold (Series 7, 65 or 82).", code="licence_type")
        if not crd.isdigit() or not 1 <= len(crd) <= 10:
            raise ApplicationError("Enter your CRD number (digits only).", code="licence_crd")
        clean.update(licence_type=licence, licence_crd_number=crd)
    elif method == M.THIRD_PARTY_LETTER:
        signer = figures.get("letter_signer", "")
        letter_date = figures.get("letter_date")
        if signer not in LetterSigner.values:
            raise ApplicationError("Choose who wrote the letter.", code="letter_signer")
        if not isinstance(letter_date, dt.date):
            raise ApplicationError("Enter the date of the letter.", code="letter_date")
        today = timezone.localdate()
        if letter_date > today:
            raise ApplicationError("The letter's date cannot be in the future.", code="letter_date_future")
        if (today - letter_date).days > settings.ACCREDITATION_EVIDENCE_MAX_AGE_DAYS:
            raise ApplicationError("The letter must be dated within the last three months.", code="letter_too_old")
        clean.update(letter_signer=signer, letter_date=letter_date)
    return clean


@transaction.atomic
def accreditation_claim_start(
    *, investor: InvestorProfile, actor: User, method: str, figures: dict[str, Any], attested: bool
) -> AccreditationClaim:
    """Open a claim with its figures. Self-certification is recorded at once as the weaker status."""
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    if method not in M.values:
        raise ApplicationError("Choose how you qualify as an accredited investor.", code="method")
    if not investor.kind:
        raise ApplicationError("Tell us first whether you invest as an individual or an entity.", code="kind_missing")
    if investor.is_entity and method in INDIVIDUAL_METHODS:
        raise ApplicationError("That method is for natural persons; entities use the entity test.", code="method")
    if not investor.is_entity and method in ENTITY_METHODS:
        raise ApplicationError("The entity test is for companies, partnerships and trusts.", code="method")
    if not attested:
        raise ApplicationError(
            "Confirm that the information is true and that you are not financed by a third party for the purchase.",
            code="attestation",
        )
    clean = _check_figures(method, figures)
    for old in investor.accreditation_claims.select_for_update().filter(status__in=list(OPEN_STATES)):
        old.status = AccreditationStatus.WITHDRAWN
        old.save(update_fields=["status"])
        audit_record(actor=actor, action="accreditation.withdrawn", obj=old, after={"status": old.status})
    now = timezone.now()
    claim = AccreditationClaim.objects.create(investor=investor, method=method, attested=True, **clean)
    if method == M.SELF_CERTIFICATION:
        claim.status = AccreditationStatus.SELF_CERTIFIED
        claim.decided_at = now
        claim.save(update_fields=["status", "decided_at"])
    mark_step_saved(investor, "accreditation", save=True)
    audit_record(
        actor=actor,
        action="accreditation.started",
        obj=claim,
        # Which figures were given, not their amounts: incomes and net worth stay out of the audit chain.
        after={"investor": investor.reference, "method": method, "status": claim.status, "figures": sorted(clean)},
    )
    holder_record_update(investor=investor)
    return claim


def accreditation_missing(*, claim: AccreditationClaim) -> list[MissingItem]:
    """What evidence the claim still lacks, as the investor should read it."""
    have: dict[str, int] = {}
    for kind in claim.documents.filter(removed_at__isnull=True).values_list("kind", flat=True):
        have[kind] = have.get(kind, 0) + 1
    return [
        MissingItem(kind=kind, label=DocumentKind(kind).label, needed=count, have=have.get(kind, 0))
        for kind, count in REQUIRED_EVIDENCE[claim.method]
        if have.get(kind, 0) < count
    ]


def stale_evidence(*, claim: AccreditationClaim) -> list[str]:
    """Dated evidence older than the three months 506(c) allows."""
    oldest = timezone.localdate() - dt.timedelta(days=settings.ACCREDITATION_EVIDENCE_MAX_AGE_DAYS)
    stale = []
    for doc in claim.documents.filter(removed_at__isnull=True, kind__in=list(DATED_EVIDENCE)):
        if doc.document_date is None or doc.document_date < oldest:
            stale.append(f"{doc.get_kind_display()} ({doc.original_name})")
    return stale


@transaction.atomic
def accreditation_claim_submit(*, claim: AccreditationClaim, actor: User) -> AccreditationClaim:
    claim = AccreditationClaim.objects.select_for_update().get(pk=claim.pk)
    if claim.status == AccreditationStatus.PENDING:
        return claim
    if claim.status not in {AccreditationStatus.DRAFT, AccreditationStatus.MORE_INFO}:
        raise ApplicationError("This claim cannot be sent for review.", code="claim_state")
    missing = accreditation_missing(claim=claim)
    if missing:
        raise ApplicationError(
            "Still missing: " + "; ".join(f"{m.label} ({m.needed - m.have} more)" for m in missing) + ".",
            code="evidence_missing",
        )
    stale = stale_evidence(claim=claim)
    if stale:
        raise ApplicationError(
            "These must be dated within the last three months: " + ", ".join(stale) + ".", code="evidence_stale"
        )
    before = {"status": claim.status}
    claim.status = AccreditationStatus.PENDING
    claim.save(update_fields=["status"])
    audit_record(
        actor=actor, action="accreditation.submitted", obj=claim, before=before, after={"status": claim.status}
    )
    holder_record_update(investor=claim.investor)
    return claim
