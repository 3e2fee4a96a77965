"""Demo data, built only through the services (so every change is audited as usual).

`demo_seed` needs no chain: the team, the sanctions list, the investors' onboarding and the offerings
with their documents. `demo.chain` does the rest once a chain and a worker run. Both are
idempotent: running them again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from backing.models import AttestorKind, BackingAsset, CustodianRole, HolderClaim, LegalStructure, NavPoint
from backing.selectors import backing_profile_of, backing_rule_of, nav_terms_of, reserve_statement_current
from backing.services.nav import nav_point_propose, nav_terms_save
from backing.services.profile import CustodianInput, ProfileInput, backing_profile_save
from backing.services.rule import backing_rule_change_pending, backing_rule_propose
from backing.services.statements import LineInput, StatementInput, reserve_statement_propose
from compliance.exemptions import Exemption
from compliance.services.onboarding import onboarding_submit
from compliance.services.sanctions import (
    active_list,
    sanctions_files_fetch,
    sanctions_list_load,
    sanctions_rescreen_all,
)
from core.approvals import approval_approve
from core.business_days import business_day_is
from core.invitations import invitation_create
from core.mfa import totp_enroll
from core.models import ApiToken, Invitation, Issuer, Role, User
from core.money import Money
from core.services import api_token_create, issuer_create, membership_grant, platform_compliance_set
from demo import documents as pdfs
from distributions.models import AmountBasis, Distribution, DistributionKind, PaymentMethod
from distributions.services.declaring import RECORD_DATE_LEAD, DistributionInput, distribution_declare
from investors.models import (
    AccreditationMethod,
    AccreditationStatus,
    DocumentKind,
    InvestorKind,
    InvestorProfile,
    KycStatus,
    LetterSigner,
    TaxFormKind,
)
from investors.selectors import accreditation_current, identity_documents_missing, tax_form_current, wallets_active
from investors.services.accreditation import (
    accreditation_claim_start,
    accreditation_claim_submit,
    accreditation_missing,
)
from investors.services.documents import document_upload as investor_document_upload
from investors.services.profiles import investor_details_save, investor_kind_set, investor_profile_ensure
from investors.services.tax import tax_form_sign
from investors.services.wallets import wallet_custodial_record
from offerings.models import DocumentKind as OfferingDocumentKind
from offerings.models import Offering, SecurityType
from offerings.services.documents import document_upload as offering_document_upload
from offerings.services.offerings import OfferingInput, offering_create
from redemptions.models import DealingFrequency, RedemptionRequest, RequestState
from redemptions.services.requesting import redemption_request, redemption_terms_of
from redemptions.services.terms import TermsInput, redemption_terms_set
from registry.exporters import ExportParams
from registry.models import ExportJob, TokenAdminAction, TokenAdminKind, TokenAdminState
from registry.services.control_book import authorization_propose, authorized_quantity_of
from registry.services.exports import export_job_request, export_job_run
from registry.services.token_admin import token_admin_freeze_amount, token_admin_recovery_propose

DEMO_PASSWORD = "tessera-demo-2026"
# A fixed base32 secret so the demo's authenticator codes can be printed (`make otp`). Demo only.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DEMO_ISSUER_SLUG = "harbor-street"
# Invited to the team and not yet accepted: the team page shows an open invitation.
DEMO_INVITEE = "analyst@harborstreet.example"
# The transfer agent's API token, published so the read-only API can be tried with curl. Demo only.
DEMO_AGENT_EMAIL = "agent@ledgertransfer.example"
DEMO_API_TOKEN = "tsa_demo-transfer-agent-read-only-registry-2026"
SANCTIONS_FIXTURE = Path(settings.BASE_DIR) / "compliance" / "fixtures" / "ofac"
# anvil's dev accounts #1 and #2: public keys of a local chain, recorded as custodial wallets.
ALICE_WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB_WALLET = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
# anvil's dev account #3: the new custody wallet Alice's notes are proposed to be recovered to.
ALICE_NEW_WALLET = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
DEMO_CUSTODIAN = "Harbor Street Capital demo custody"
FUND_TITLE = "Harbor Street Logistics Fund I"
NOTES_TITLE = "Harbor Street Cold Storage Notes"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    mfa: bool


DEMO_LOGINS = [
    DemoLogin("staff@tessera.local", "Platform staff", True),
    DemoLogin("identity@tessera.local", "Platform compliance (KYC, sanctions, accreditation)", True),
    DemoLogin("admin@harborstreet.example", "Issuer admin, Harbor Street Capital", True),
    DemoLogin("finance@harborstreet.example", "Issuer admin (second approver), Harbor Street Capital", True),
    DemoLogin("compliance@harborstreet.example", "Compliance officer, Harbor Street Capital", True),
    DemoLogin("agent@ledgertransfer.example", "Transfer agent, Harbor Street Capital", True),
    DemoLogin("alice@investor.example", "Investor, verified and accredited (custodial transfers need the code)", True),
    DemoLogin("bob@investor.example", "Investor, not accredited, holds revenue shares from Alice", False),
]
ROLES = {
    "admin@harborstreet.example": Role.ISSUER_ADMIN,
    "finance@harborstreet.example": Role.ISSUER_ADMIN,
    "compliance@harborstreet.example": Role.COMPLIANCE_OFFICER,
    "agent@ledgertransfer.example": Role.TRANSFER_AGENT,
}
NAMES = {
    "staff@tessera.local": "Sam Staff",
    "identity@tessera.local": "Priya Natarajan",
    "admin@harborstreet.example": "Hannah Reyes",
    "finance@harborstreet.example": "Femi Adeyemi",
    "compliance@harborstreet.example": "Carlos Ortiz",
    "agent@ledgertransfer.example": "Tara Agent",
    "alice@investor.example": "Alice Moreau",
    "bob@investor.example": "Bob Tanaka",
}


@dataclass(frozen=True)
class DemoPerson:
    email: str
    details: dict[str, object]
    passport_number: str
    wallet: str


ALICE = DemoPerson(
    email="alice@investor.example",
    details={
        "legal_name": "Alice Moreau",
        "date_of_birth": dt.date(1979, 3, 14),
        "address_line1": "48 Beacon Street",
        "address_line2": "Apt 3",
        "city": "Boston",
        "region": "MA",
        "postal_code": "02108",
        "country": "US",
        "citizenship": "US",
        "phone": "+1 617 555 0142",
        "tax_id_kind": "ssn",
        "tax_id": "123-45-6789",
    },
    passport_number="A1234567",
    wallet=ALICE_WALLET,
)
BOB = DemoPerson(
    email="bob@investor.example",
    details={
        "legal_name": "Bob Tanaka",
        "date_of_birth": dt.date(1986, 11, 2),
        "address_line1": "2-11-3 Meguro",
        "city": "Tokyo",
        "postal_code": "153-0063",
        "country": "JP",
        "citizenship": "JP",
        "phone": "+81 3 5555 0199",
        "tax_id_kind": "foreign_tin",
        "tax_id": "JP482913570",
        "tax_id_country": "JP",
    },
    passport_number="TK8821034",
    wallet=BOB_WALLET,
)


@dataclass
class DemoSeed:
    logins: list[DemoLogin]
    done: list[str] = field(default_factory=list)  # what this run changed, in words


@dataclass(frozen=True)
class DemoTeam:
    staff: User
    issuer: Issuer
    admin: User
    compliance: User
    identity: User  # platform compliance


def demo_user(email: str) -> User:
    return User.objects.get(email=email)


def demo_team() -> DemoTeam:
    return DemoTeam(
        staff=demo_user("staff@tessera.local"),
        issuer=Issuer.objects.get(slug=DEMO_ISSUER_SLUG),
        admin=demo_user("admin@harborstreet.example"),
        compliance=demo_user("compliance@harborstreet.example"),
        identity=demo_user("identity@tessera.local"),
    )


def demo_fund() -> Offering | None:
    return Offering.objects.filter(issuer__slug=DEMO_ISSUER_SLUG, title=FUND_TITLE).first()


def _user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=NAMES[email])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def _pdf_upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


# --------------------------------------------------------------------------- sanctions


def _sanctions(seed: DemoSeed, staff: User) -> None:
    """The fixture list, unless a list is loaded already (the demo never replaces a real one)."""
    if active_list() is not None:
        return
    source = str(SANCTIONS_FIXTURE)
    files = sanctions_files_fetch(source=source)
    loaded, changed = sanctions_list_load(files=files, source=source, actor=staff, rescreen_after_commit=False)
    if changed:
        sanctions_rescreen_all(actor=staff)
        seed.done.append(f"Loaded the OFAC fixture list ({loaded.entries} entries) from compliance/fixtures/ofac.")


# --------------------------------------------------------------------------- investors


def _identity_documents(investor: InvestorProfile, user: User, person: DemoPerson) -> None:
    missing = identity_documents_missing(investor=investor)
    if not missing:
        return
    today = timezone.localdate()
    have = set(investor.documents.filter(removed_at__isnull=True).values_list("kind", flat=True))
    name = str(person.details["legal_name"])
    if DocumentKind.PASSPORT not in have:
        expires = today.replace(year=today.year + 6)
        investor_document_upload(
            investor=investor,
            actor=user,
            kind=DocumentKind.PASSPORT,
            upload=_pdf_upload(
                "passport.pdf",
                pdfs.passport_specimen_pdf(
                    name=name,
                    number=person.passport_number,
                    country=str(person.details["citizenship"]),
                    birth=person.details["date_of_birth"],  # type: ignore[arg-type]
                    expires=expires,
                ),
            ),
            document_number=person.passport_number,
            issuing_country=str(person.details["citizenship"]),
            expires_on=expires,
        )
    if DocumentKind.PROOF_OF_ADDRESS not in have:
        address = ", ".join(
            str(person.details[k]) for k in ("address_line1", "city", "postal_code", "country") if person.details.get(k)
        )
        investor_document_upload(
            investor=investor,
            actor=user,
            kind=DocumentKind.PROOF_OF_ADDRESS,
            upload=_pdf_upload("utility-bill.pdf", pdfs.proof_of_address_pdf(name=name, address=address, issued=today)),
            document_date=today,
        )


def _accreditation(investor: InvestorProfile, user: User) -> None:
    """Rule 506(c)(2)(ii)(C): a CPA's letter dated within three months, sent for review."""
    claim = accreditation_current(investor=investor)
    today = timezone.localdate()
    if claim is None or claim.status in {AccreditationStatus.REJECTED, AccreditationStatus.EXPIRED}:
        claim = accreditation_claim_start(
            investor=investor,
            actor=user,
            method=AccreditationMethod.THIRD_PARTY_LETTER,
            figures={"letter_signer": LetterSigner.CPA, "letter_date": today},
            attested=True,
        )
    if claim.status not in {AccreditationStatus.DRAFT, AccreditationStatus.MORE_INFO}:
        return
    if accreditation_missing(claim=claim):
        investor_document_upload(
            investor=investor,
            actor=user,
            kind=DocumentKind.VERIFICATION_LETTER,
            claim=claim,
            upload=_pdf_upload(
                "cpa-verification-letter.pdf",
                pdfs.verification_letter_pdf(name=investor.legal_name, signer="Dana Whitfield, CPA", dated=today),
            ),
            document_date=today,
        )
    accreditation_claim_submit(claim=claim, actor=user)


def _tax_form(investor: InvestorProfile, user: User, person: DemoPerson) -> None:
    if tax_form_current(investor=investor) is not None:
        return
    if investor.is_us_taxpayer:
        tax_form_sign(
            investor=investor,
            actor=user,
            kind=TaxFormKind.W9,
            signer_name=investor.legal_name,
            signed_on=timezone.localdate(),
            tin_certified=True,
            not_subject_to_backup_withholding=True,
        )
    else:
        # The US-Japan income tax treaty, Article 10: 10% on portfolio dividends.
        tax_form_sign(
            investor=investor,
            actor=user,
            kind=TaxFormKind.W8BEN,
            signer_name=investor.legal_name,
            signed_on=timezone.localdate(),
            foreign_tin=str(person.details["tax_id"]),
            treaty_country=investor.country,
            treaty_article="Article 10",
            treaty_rate_bps=1000,
        )


def _investor(seed: DemoSeed, team: DemoTeam, person: DemoPerson, *, accredited: bool) -> None:
    """Every onboarding step, a wallet a custodian holds (recorded by platform compliance), and submission."""
    user = demo_user(person.email)
    investor = investor_profile_ensure(user=user)
    if investor.kyc_status != KycStatus.NOT_SUBMITTED:
        return
    if investor.kind != InvestorKind.INDIVIDUAL:
        investor = investor_kind_set(investor=investor, actor=user, kind=InvestorKind.INDIVIDUAL)
    if "details" not in investor.steps_saved:
        investor = investor_details_save(investor=investor, actor=user, details=dict(person.details))
    _identity_documents(investor, user, person)
    if accredited:
        _accreditation(investor, user)
    _tax_form(investor, user, person)
    if not wallets_active(investor=investor).exists():
        wallet_custodial_record(
            investor=investor,
            actor=team.identity,
            address=person.wallet,
            custodian_name=DEMO_CUSTODIAN,
        )
    onboarding_submit(investor=investor, actor=user, issuers=[team.issuer])
    seed.done.append(
        f"{investor.legal_name}: onboarding finished, sent to platform compliance and applied to {team.issuer.name}."
    )


# --------------------------------------------------------------------------- offerings


def _terms_table(data: OfferingInput) -> list[list[str]]:
    cur = data.currency
    return [
        ["Security", f"{SecurityType(data.security_type).label}: {data.token_name} ({data.token_symbol})"],
        ["Exemption", Exemption(data.exemption).label],
        ["Price per unit", str(Money(data.price_minor, cur))],
        ["Minimum investment", str(Money(data.min_investment_minor, cur))],
        ["Maximum investment", str(Money(data.max_investment_minor, cur)) if data.max_investment_minor else "None"],
        ["Minimum to close (soft cap)", str(Money(data.soft_cap_minor, cur))],
        ["Maximum raise (hard cap)", str(Money(data.hard_cap_minor, cur))],
        ["Subscriptions open", f"{data.opens_at:%d %B %Y} to {data.closes_at:%d %B %Y}"],
    ]


FUND_SECTIONS = [
    (
        "Who may invest",
        "Units are offered under Rule 506(c) of Regulation D to accredited investors only. Before accepting a "
        "subscription the issuer takes reasonable steps to verify each purchaser's accredited status, for example "
        "by a written confirmation from a CPA, attorney, registered investment adviser or broker-dealer dated "
        "within the last three months.",
    ),
    (
        "Risk factors",
        "Logistics real estate depends on tenant demand, interest rates and the local economy. Units are illiquid: "
        "they are restricted securities, held on a permissioned token that only verified investors may receive, "
        "and may not be resold for one year except as the securities laws allow. You may lose all of your "
        "investment.",
    ),
    (
        "Use of proceeds",
        "Acquisition of three last-mile warehouses (about 410,000 sq ft in total), capital improvements, a "
        "working-capital reserve, and the offering's legal and placement costs.",
    ),
    (
        "Distributions",
        "The fund intends to distribute net operating cash flow quarterly, pro rata to units held on the record "
        "date, as recorded by the transfer agent.",
    ),
]
NOTES_SECTIONS = [
    (
        "Who may invest",
        "The notes are offered under Rule 506(b) of Regulation D without general solicitation, to accredited "
        "investors and to no more than 35 non-accredited investors who receive the disclosure Rule 502(b) requires.",
    ),
    (
        "Interest and repayment",
        "The notes bear interest at 7.25% a year, paid semi-annually, and are repaid at par after five years. They "
        "are secured by a first mortgage on the facility and an assignment of its leases.",
    ),
    (
        "Risk factors",
        "Repayment depends on the facility's tenants and on refinancing at maturity. The notes are restricted "
        "securities, held on a permissioned token, and may not be resold for one year except as the securities "
        "laws allow.",
    ),
]


def _fund_input(today: dt.date) -> OfferingInput:
    opens = dt.datetime.combine(today, dt.time(0, 0), tzinfo=dt.UTC)
    return OfferingInput(
        title=FUND_TITLE,
        summary=(
            "A closed-end fund buying three last-mile logistics warehouses near the ports of Baltimore, Newark "
            "and Savannah, leased to regional carriers on five- to ten-year terms. Target distributions are "
            "paid quarterly from rental income."
        ),
        security_type=SecurityType.FUND_UNITS,
        exemption=Exemption.REG_D_506C,
        currency="USD",
        price_minor=100_00,
        min_investment_minor=10_000_00,
        max_investment_minor=1_000_000_00,
        soft_cap_minor=25_000_00,
        hard_cap_minor=5_000_000_00,
        opens_at=opens,
        closes_at=opens + dt.timedelta(days=60, hours=21),
        token_name="Harbor Street Logistics Fund I Units",
        token_symbol="HSLF1",
    )


def _notes_input(today: dt.date) -> OfferingInput:
    opens = dt.datetime.combine(today + dt.timedelta(days=30), dt.time(13, 0), tzinfo=dt.UTC)
    return OfferingInput(
        title=NOTES_TITLE,
        summary="Five-year senior secured notes financing a cold-storage facility in Elizabeth, New Jersey.",
        security_type=SecurityType.DEBT,
        exemption=Exemption.REG_D_506B,
        currency="USD",
        price_minor=1_000_00,
        min_investment_minor=25_000_00,
        max_investment_minor=None,
        soft_cap_minor=1_000_000_00,
        hard_cap_minor=8_000_000_00,
        opens_at=opens,
        closes_at=opens + dt.timedelta(days=90),
        token_name="Harbor Street Cold Storage Notes",
        token_symbol="HSCSN",
    )


def _offering(
    seed: DemoSeed, team: DemoTeam, data: OfferingInput, *, sections: list[tuple[str, str]], agreement: bool
) -> Offering:
    offering = Offering.objects.filter(issuer=team.issuer, title=data.title).first()
    if offering is None:
        offering = offering_create(issuer=team.issuer, actor=team.admin, data=data)
        seed.done.append(f"Offering “{offering.title}” created as a draft.")
    wanted = [(OfferingDocumentKind.PPM, "Private placement memorandum", "ppm.pdf")]
    if agreement:
        wanted.append((OfferingDocumentKind.SUBSCRIPTION_AGREEMENT, "Subscription agreement", "agreement.pdf"))
    terms = _terms_table(data)
    for kind, title, filename in wanted:
        if offering.documents.filter(kind=kind).exists():
            continue
        if kind == OfferingDocumentKind.PPM:
            content = pdfs.offering_ppm_pdf(
                title=data.title, issuer=team.issuer.legal_name, terms=terms, summary=data.summary, sections=sections
            )
        else:
            content = pdfs.subscription_agreement_pdf(title=data.title, issuer=team.issuer.legal_name, terms=terms)
        offering_document_upload(
            offering=offering, actor=team.admin, kind=kind, title=title, upload=_pdf_upload(filename, content)
        )
        seed.done.append(f"“{offering.title}”: {title.lower()} uploaded.")
    return offering


# --------------------------------------------------------------------------- the seed


@transaction.atomic
def demo_seed(*, site: str = "http://127.0.0.1:8000") -> DemoSeed:
    seed = DemoSeed(logins=DEMO_LOGINS)
    staff = _user("staff@tessera.local")
    if not staff.is_staff:
        staff.is_staff = staff.is_superuser = True
        staff.save(update_fields=["is_staff", "is_superuser"])
    issuer = Issuer.objects.filter(slug=DEMO_ISSUER_SLUG).first() or issuer_create(
        actor=staff,
        name="Harbor Street Capital",
        slug=DEMO_ISSUER_SLUG,
        legal_name="Harbor Street Capital LLC",
        jurisdiction="Delaware",
        formation_date=dt.date(2019, 3, 14),
        country="US",
        website="https://harborstreet.example",
        description="Owns and operates mid-size logistics real estate on the US East Coast.",
    )
    for login in DEMO_LOGINS:
        user = _user(login.email)
        # The factor first: roles go only to accounts that have one (others are invited, core.invitations).
        if login.mfa:
            totp_enroll(actor=staff, user=user, secret=DEMO_TOTP_SECRET)
        if login.email in ROLES:
            membership_grant(actor=staff, issuer=issuer, user=user, role=ROLES[login.email])
        if login.email == "identity@tessera.local" and not user.platform_compliance:
            platform_compliance_set(actor=staff, user=user, granted=True)
    team = demo_team()
    _pending_invitation(seed, team, site)
    _agent_api_token(seed)
    _sanctions(seed, staff)
    _investor(seed, team, ALICE, accredited=True)
    _investor(seed, team, BOB, accredited=False)
    today = timezone.localdate()
    fund = _offering(seed, team, _fund_input(today), sections=FUND_SECTIONS, agreement=True)
    _authorization(seed, team, fund, today)
    _backing(seed, team, fund, today)
    _nav_history(seed, team, fund, today)
    _offering(seed, team, _notes_input(today), sections=NOTES_SECTIONS, agreement=False)
    return seed


def _pending_invitation(seed: DemoSeed, team: DemoTeam, site: str) -> None:
    """One invitation waiting on the team page (the console mail backend prints its e-mail with the link)."""
    if Invitation.objects.filter(issuer=team.issuer, email=DEMO_INVITEE).exists():
        return
    invitation_create(actor=team.admin, email=DEMO_INVITEE, role=Role.COMPLIANCE_OFFICER, site=site, issuer=team.issuer)
    seed.done.append(f"{DEMO_INVITEE} invited as compliance officer (pending on the team page).")


def _agent_api_token(seed: DemoSeed) -> None:
    """The transfer agent's published API token, made once through the service (audited as usual)."""
    if ApiToken.objects.filter(key_hash=ApiToken.hash_of(DEMO_API_TOKEN)).exists():
        return
    api_token_create(actor=demo_user(DEMO_AGENT_EMAIL), name="Demo: read-only registry API", secret=DEMO_API_TOKEN)
    seed.done.append("The transfer agent's API token made.")


def _authorization(seed: DemoSeed, team: DemoTeam, fund: Offering, today: dt.date) -> None:
    """The board's written consent for the fund's units: the control book's authorized quantity, recorded
    by the admin with the signed document and approved by the second admin (a cap-table change)."""
    if authorized_quantity_of(offering=fund) is not None:
        return
    units = fund.hard_cap_minor // fund.price_minor
    content = pdfs.board_resolution_pdf(issuer=team.issuer.legal_name, title=fund.title, units=units, dated=today)
    outcome = authorization_propose(
        offering=fund,
        authorized_quantity=units,
        description="Written consent of the board authorizing the fund's units",
        document=_pdf_upload("board-resolution.pdf", content),
        authorized_on=today,
        actor=team.admin,
    )
    if outcome.pending and outcome.request is not None:
        approval_approve(request=outcome.request, actor=demo_user("finance@harborstreet.example"))
    seed.done.append(
        f"“{fund.title}”: {units:,} units authorized in the control book (board resolution attached, "
        "approved by the second admin)."
    )


# --------------------------------------------------------------------------- backing and NAV

DEMO_ATTESTOR = "Moss & Calder LLP"
DEMO_ADMINISTRATOR = "Harborside Fund Administration Ltd"
# (asset type, custodian, amount in cents) of the fund's attested reserves.
RESERVE_LINES = [
    ("cash", "Chesapeake Trust Bank", 750_000_00),
    ("treasuries", "First Harborside Custody", 1_500_000_00),
    ("real_estate", "Harbor Street Logistics Property SPV LLC (Baltimore warehouse, appraised)", 1_000_000_00),
]
# The fund's NAV per unit on its last dealing Fridays, oldest first (8 decimal places, as declared).
NAV_SERIES = ["100.00000000", "100.04210000", "100.11835000", "100.09120000", "100.21750000", "100.30412500"]


def _finance() -> User:
    return demo_user("finance@harborstreet.example")


def _backing(seed: DemoSeed, team: DemoTeam, fund: Offering, today: dt.date) -> None:
    """What backs the fund's units, its backing rule (100.00 USD of reserves per unit, attestations at most 35
    days old) and one attestation approved by the second admin: the transparency page has something to show."""
    if backing_profile_of(offering=fund) is None:
        backing_profile_save(
            offering=fund,
            data=ProfileInput(
                asset_kind=BackingAsset.REAL_ESTATE,
                asset_details="Three last-mile logistics warehouses near Baltimore, Newark and Savannah, held by the "
                "fund's property SPV; until each is bought, the money raised is held in cash and Treasury bills.",
                legal_structure=LegalStructure.FUND,
                structure_name="Harbor Street Logistics Fund I LP",
                holder_claim=HolderClaim.BENEFICIAL_INTEREST,
                reserves_segregated=True,
                redemption_terms="A closed-end fund: units are not redeemed on demand. Holders may ask the fund to "
                "buy back units at the latest NAV once a quarter, with 30 days' notice, up to 5% of the units "
                "in issue each quarter, shared pro rata when more is asked.",
                custodians=[
                    CustodianInput(name="Chesapeake Trust Bank", role=CustodianRole.BANK),
                    CustodianInput(name="First Harborside Custody", role=CustodianRole.ASSET_CUSTODIAN),
                    CustodianInput(name=DEMO_ADMINISTRATOR, role=CustodianRole.ADMINISTRATOR),
                ],
            ),
            actor=team.admin,
        )
        seed.done.append(f"“{fund.title}”: backing profile described (real estate in a fund, three custodians).")
    if backing_rule_of(offering=fund) is None and backing_rule_change_pending(offering=fund) is None:
        request = backing_rule_propose(
            offering=fund,
            unit_code="USD",
            unit_scale=2,
            reserve_per_token="100.00",
            staleness_days=35,
            actor=team.admin,
        )
        approval_approve(request=request, actor=_finance())
        seed.done.append(
            f"“{fund.title}”: backing rule of 100.00 USD per unit proposed and approved by the second admin."
        )
    if reserve_statement_current(offering=fund) is None:
        as_of = today - dt.timedelta(days=3)
        content = pdfs.reserve_attestation_pdf(
            issuer=team.issuer.legal_name,
            title=fund.title,
            attestor=DEMO_ATTESTOR,
            as_of=as_of,
            lines=[(BackingAsset(k).label, c, str(Money(a, "USD"))) for k, c, a in RESERVE_LINES],
            total=str(Money(sum(a for _, _, a in RESERVE_LINES), "USD")),
        )
        statement = reserve_statement_propose(
            offering=fund,
            data=StatementInput(
                as_of=as_of,
                period_start=as_of.replace(day=1),
                period_end=as_of,
                attestor_name=DEMO_ATTESTOR,
                attestor_kind=AttestorKind.ACCOUNTING_FIRM,
                lines=[LineInput(asset_kind=k, custodian=c, amount=a) for k, c, a in RESERVE_LINES],
            ),
            document=_pdf_upload("reserve-attestation.pdf", content),
            actor=team.admin,
        )
        assert statement.approval_request is not None
        approval_approve(request=statement.approval_request, actor=_finance())
        seed.done.append(f"“{fund.title}”: reserves attested by {DEMO_ATTESTOR}, approved by the second admin.")


def _dealing_fridays(today: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = today - dt.timedelta(days=1)
    while len(days) < count:
        if day.weekday() == 4 and business_day_is(day):
            days.append(day)
        day -= dt.timedelta(days=1)
    return sorted(days)


def _nav_history(seed: DemoSeed, team: DemoTeam, fund: Offering, today: dt.date) -> None:
    """The fund's NAV per unit on its last six dealing Fridays, each with the administrator's statement, entered
    by the admin and approved by the second admin."""
    if nav_terms_of(offering=fund) is None:
        nav_terms_save(offering=fund, scale=8, priced_at_nav=False, cutoff=dt.time(16, 0), actor=team.admin)
    if NavPoint.objects.filter(offering=fund).exists():
        return
    for day, nav in zip(_dealing_fridays(today, len(NAV_SERIES)), NAV_SERIES, strict=True):
        content = pdfs.nav_statement_pdf(
            title=fund.title, administrator=DEMO_ADMINISTRATOR, dealing_day=day, nav=nav, currency=fund.currency
        )
        point = nav_point_propose(
            offering=fund,
            dealing_day=day,
            nav=nav,
            source=DEMO_ADMINISTRATOR,
            document=_pdf_upload(f"nav-{day:%Y-%m-%d}.pdf", content),
            actor=team.admin,
        )
        assert point.approval_request is not None
        approval_approve(request=point.approval_request, actor=_finance())
    seed.done.append(f"“{fund.title}”: NAV per unit of its last {len(NAV_SERIES)} dealing Fridays, each approved.")


# --------------------------------------------------------------------------- token administration

# The demo's keys for its token administration, fixed so a second run finds the actions the first made.
FREEZE_KEY = "4d656d6f-0000-4000-8000-667265657a65"
RECOVERY_KEY = "4d656d6f-0000-4000-8000-7265636f7665"
FROZEN_NOTES = 100


def demo_token_admin(*, notes: Offering, alice: InvestorProfile, team: DemoTeam) -> list[str]:
    """Token administration on the notes once Alice holds them: 100 of her notes frozen as pledged collateral,
    then, once that is on the ledger, a recovery of her custody wallet to a new one, proposed by the admin and
    waiting for the second admin. Call it again until it returns nothing; a later run changes nothing."""
    done: list[str] = []
    freeze = TokenAdminAction.objects.filter(idempotency_key=FREEZE_KEY).first()
    if freeze is None:
        token_admin_freeze_amount(
            offering=notes,
            wallet=ALICE.wallet,
            quantity=FROZEN_NOTES,
            frozen=True,
            reason="Pledged as collateral for a margin loan (pledge agreement of the demo custodian)",
            actor=team.admin,
            idempotency_key=FREEZE_KEY,
        )
        done.append(f"“{notes.title}”: {FROZEN_NOTES} of Alice's notes frozen as pledged collateral.")
        return done
    if freeze.state != TokenAdminState.POSTED or TokenAdminAction.objects.filter(idempotency_key=RECOVERY_KEY).exists():
        return done
    notice = pdfs.custody_key_rotation_pdf(
        name=str(ALICE.details["legal_name"]),
        custodian=DEMO_CUSTODIAN,
        old_wallet=ALICE.wallet,
        new_wallet=ALICE_NEW_WALLET,
        dated=timezone.localdate(),
    )
    token_admin_recovery_propose(
        offering=notes,
        investor=alice,
        lost_wallet=ALICE.wallet,
        new_wallet=ALICE_NEW_WALLET,
        reason="The custodian rotated Alice's custody key; the old key is retired",
        document=_pdf_upload("custody-key-rotation.pdf", notice),
        actor=team.admin,
        idempotency_key=RECOVERY_KEY,
    )
    done.append(
        f"“{notes.title}”: recovery of Alice's wallet {ALICE.wallet} to {ALICE_NEW_WALLET} proposed; "
        "it waits for the second admin."
    )
    return done


# --------------------------------------------------------------------------- redemption

# The demo's key for Alice's redemption request, fixed so a second run finds the request the first made.
REDEMPTION_KEY = "4d656d6f-0000-4000-8000-726564656d70"
REDEEMED_NOTES = 50


def demo_redemption(*, notes: Offering, alice: InvestorProfile, team: DemoTeam) -> list[str]:
    """A redemption window on the notes: quarterly dealing days (the quarter's last business day, cut-off 16:00
    New York), at least 10 notes, a 0.50% fee, a gate of 25% of the supply, holders in the US, paid in
    stablecoin; lock-ups do not apply (the issuer buys the notes back). Alice asks to redeem 50 notes, which
    are frozen on-chain and wait for the dealing day. Call it once her notes are held; a later run changes
    nothing."""
    done: list[str] = []
    if redemption_terms_of(notes) is None:
        redemption_terms_set(
            offering=notes,
            actor=team.admin,
            data=TermsInput(
                frequency=DealingFrequency.QUARTERLY,
                cutoff_time=dt.time(16, 0),
                cutoff_timezone="America/New_York",
                minimum_units=10,
                fee_bps=50,
                gate_bps=2_500,
                allowed_countries=["US"],
                payout_method=PaymentMethod.STABLECOIN,
                lockups_apply=False,
            ),
        )
        done.append(f"“{notes.title}”: redemptions open quarterly, cut-off 16:00 New York, 0.50% fee, 25% gate.")
    if not RedemptionRequest.objects.filter(idempotency_key=REDEMPTION_KEY).exists():
        request = redemption_request(
            offering=notes,
            investor=alice,
            actor=alice.user,
            wallet=ALICE.wallet,
            quantity=REDEEMED_NOTES,
            idempotency_key=REDEMPTION_KEY,
        )
        done.append(
            f"Alice asked to redeem {REDEEMED_NOTES} notes at the dealing day of "
            f"{request.dealing_day.dealing_date:%d %B %Y}; they are being frozen in her wallet."
        )
    return done


def demo_redemption_frozen() -> bool:
    request = RedemptionRequest.objects.filter(idempotency_key=REDEMPTION_KEY).only("state").first()
    return request is not None and request.state != RequestState.FREEZING


def demo_export(*, notes: Offering, team: DemoTeam) -> list[str]:
    """One finished register export on the issuer's exports page: the notes' master file as of today, asked for
    by the admin and made here at once (the queued task then finds it finished). A later run changes nothing."""
    if ExportJob.objects.filter(offering=notes, exporter="master_file").exists():
        return []
    job = export_job_request(
        offering=notes, exporter_id="master_file", fmt="xlsx", params=ExportParams(), actor=team.admin
    )
    job = export_job_run(job_id=job.pk)
    return [f"“{notes.title}”: master securityholder file exported ({job.rows_done} holding(s)), ready to download."]


def demo_token_admin_done() -> bool:
    return TokenAdminAction.objects.filter(idempotency_key=RECOVERY_KEY, kind=TokenAdminKind.RECOVERY).exists()


# The fund's first quarterly dividend, per unit (a unit is sold at 100.00 USD).
DIVIDEND_PER_UNIT_MINOR = 1_25


def demo_dividend(team: DemoTeam, fund: Offering) -> Distribution | None:
    """The fund's first quarterly dividend, declared once its token is on the chain (the chain phase calls it):
    1.25 USD per unit to holders at the end of the next day, paid in stablecoin two weeks later. The token
    schedules the record date; after it, the register is computed from the units held then and a second admin
    approves it. Returns the distribution when this call declared it."""
    if Distribution.objects.filter(offering=fund).exists():
        return None
    record = timezone.localdate() + dt.timedelta(days=1)
    return distribution_declare(
        issuer=team.issuer,
        offering=fund,
        actor=team.admin,
        data=DistributionInput(
            kind=DistributionKind.DIVIDEND,
            amount_basis=AmountBasis.PER_UNIT,
            amount_minor=DIVIDEND_PER_UNIT_MINOR,
            currency=fund.currency,
            record_date=record,
            payment_date=record + dt.timedelta(days=14),
            payment_method=PaymentMethod.STABLECOIN,
        ),
    )


# The notes' first coupon: 7.25 % a year paid semi-annually on 1,000.00 notes.
COUPON_PER_NOTE_MINOR = 36_25


def demo_coupon(team: DemoTeam, notes: Offering) -> Distribution | None:
    """The notes' first coupon, declared once they are held (the chain phase calls it): 36.25 USD per note to
    holders a few minutes from now, paid in stablecoin from the treasury the same day. Once the record date
    has passed the register is computed, the admin asks for approval and the second admin approves
    (demo.chain.demo_coupon_advance); the payment runs pay it. Returns the coupon when this call declared it."""
    if Distribution.objects.filter(offering=notes).exists():
        return None
    record_at = timezone.now() + RECORD_DATE_LEAD + dt.timedelta(minutes=1)
    return distribution_declare(
        issuer=team.issuer,
        offering=notes,
        actor=team.admin,
        data=DistributionInput(
            kind=DistributionKind.INTEREST,
            amount_basis=AmountBasis.PER_UNIT,
            amount_minor=COUPON_PER_NOTE_MINOR,
            currency=notes.currency,
            record_date=record_at.date(),
            record_at=record_at,
            payment_date=record_at.date(),
            payment_method=PaymentMethod.STABLECOIN,
        ),
    )


def login_lines(url: str) -> list[str]:
    lines = [f"Open {url}/ and sign in at {url}/accounts/login/ (password for every account: {DEMO_PASSWORD})"]
    lines += [f"  {login.email:<34} {login.role}{'  (two-factor)' if login.mfa else ''}" for login in DEMO_LOGINS]
    lines += [
        f"Two-factor accounts share the authenticator secret {DEMO_TOTP_SECRET};",
        "add it to an authenticator app, or run `make otp` in another terminal for the current code.",
        f"The transfer agent's read-only API token ({DEMO_AGENT_EMAIL}): {DEMO_API_TOKEN}",
        f'  curl -H "Authorization: Token {DEMO_API_TOKEN}" {url}/api/v1/registry/issuers/',
    ]
    return lines
