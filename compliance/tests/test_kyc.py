"""KYC decisions (manual and vendor), their expiry, and the on-chain registry that follows them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import Client
from django.utils import timezone

from compliance.kyc.vendor import webhook_signature
from compliance.models import KycCheck, KycCheckStatus, VendorWebhookEvent
from compliance.services.kyc import kyc_approve, kyc_check_send, kyc_reject, kyc_request_information
from compliance.services.onboarding import onboarding_submit
from compliance.services.reviews import accreditation_approve, owner_review, verifications_expire
from compliance.tests.support import approved_investor, sanctions_fixture_loaded, submitted_investor, wallet_linked
from core.errors import ApplicationError
from core.models import AuditEvent, NotificationKind
from core.tests.files import pdf_bytes
from core.tests.support import told_once
from investors.models import InvestorProfile, KycStatus, RegistryState
from investors.services.accreditation import accreditation_claim_start, accreditation_claim_submit
from investors.services.documents import document_upload
from investors.tests.support import investor_started, upload
from tokens.models import RegistryInvestor
from tokens.services import InvestorFlag

pytestmark = pytest.mark.django_db
SECRET = "test-vendor-webhook-secret"


def test_submission_opens_a_manual_check_and_screens(cast) -> None:
    investor = submitted_investor(cast)
    assert investor.kyc_status == KycStatus.PENDING and investor.screening_status == "clear"
    check = KycCheck.objects.get(investor=investor)
    assert check.provider == "manual" and check.status == KycCheckStatus.PENDING
    assert investor.applications.get().issuer == cast.issuer


def test_submission_needs_every_required_step(cast) -> None:

    investor = investor_started(kind="individual")
    user = investor.user
    with pytest.raises(
        ApplicationError, match="Finish these steps first: “Your details”, “Identity documents”, “Tax form”"
    ):
        onboarding_submit(investor=investor, actor=user, issuers=[cast.issuer])
    assert InvestorProfile.objects.get(pk=investor.pk).kyc_status == KycStatus.NOT_SUBMITTED


def test_approval_registers_the_wallets_with_country_flags_and_expiry(cast, registry) -> None:
    investor = approved_investor(cast)
    assert investor.kyc_status == KycStatus.APPROVED and investor.registry_state == RegistryState.SYNCED
    passport_expiry = investor.documents.get(kind="passport").expires_on
    assert investor.kyc_expires_at is not None and passport_expiry is not None
    assert investor.kyc_expires_at.date() <= passport_expiry
    mirror = RegistryInvestor.objects.get(investor_ref=investor.reference)
    assert mirror.country == 840 and mirror.flags == InvestorFlag.KYC | InvestorFlag.US_PERSON
    assert mirror.expiry == int(investor.kyc_expires_at.timestamp())
    assert [w.address for w in mirror.wallets.filter(active=True)] == [investor.wallets.get().address]
    event = AuditEvent.objects.get(action="kyc.approved")
    # A platform decision: it belongs to no issuer and is made by platform compliance.
    assert event.issuer_id is None and event.actor_id == cast.platform_compliance.pk


def test_approval_is_refused_while_something_is_open(cast, registry) -> None:
    blocked = submitted_investor(cast, "Reza Nazari", dob=dt.date(1962, 11, 22))
    with pytest.raises(ApplicationError, match="sanctions match is open"):
        kyc_approve(investor=blocked, actor=cast.platform_compliance)
    assert InvestorProfile.objects.get(pk=blocked.pk).kyc_status == KycStatus.PENDING


def test_reject_and_request_information_reach_the_investor(cast, registry) -> None:
    investor = submitted_investor(cast)
    with pytest.raises(ApplicationError, match="Say what"):
        kyc_request_information(investor=investor, actor=cast.platform_compliance, message="")
    kyc_request_information(investor=investor, actor=cast.platform_compliance, message="The passport scan is blurred.")
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.MORE_INFO and investor.kyc_note == "The passport scan is blurred."
    # The investor fixes it and submits again: the same check goes back to pending.
    onboarding_submit(investor=investor, actor=investor.user, issuers=[cast.issuer])
    assert KycCheck.objects.get(investor=investor).status == KycCheckStatus.PENDING
    with pytest.raises(ApplicationError, match="Give the reason"):
        kyc_reject(investor=investor, actor=cast.platform_compliance, reason=" ")
    kyc_reject(investor=investor, actor=cast.platform_compliance, reason="Document appears altered.")
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.REJECTED and investor.registry_state == RegistryState.NONE
    # The investor was told each decision once, with what to do next.
    asked = told_once(investor.user, NotificationKind.INFORMATION_REQUESTED)
    assert "The passport scan is blurred." in asked.body and asked.path == "/onboarding/status/"
    rejected = told_once(investor.user, NotificationKind.KYC_DECIDED)
    assert "Document appears altered." in rejected.body and "not approved" in rejected.subject
    # The issuer's compliance officer was told of the application once, though the investor submitted twice.
    review = told_once(cast.compliance, NotificationKind.APPLICATION_TO_REVIEW)
    assert review.path == f"/issuers/{cast.issuer.slug}/compliance/"


def test_rejecting_an_approved_investor_removes_them_from_the_registry(cast, registry) -> None:
    investor = approved_investor(cast)
    kyc_reject(investor=investor, actor=cast.platform_compliance, reason="Fraud report received.")
    investor.refresh_from_db()
    assert investor.registry_state == RegistryState.REVOKED
    assert not RegistryInvestor.objects.get(investor_ref=investor.reference).active


def test_expiry_makes_the_investor_ineligible_and_clears_the_flags(cast, registry) -> None:
    investor = approved_investor(cast)
    claim = accreditation_claim_start(
        investor=investor,
        actor=investor.user,
        method="net_worth",
        figures={"net_worth_cents": 3_000_000_00},
        attested=True,
    )
    for kind in ("asset_statement", "credit_report", "liabilities_statement"):
        document_upload(
            investor=investor,
            actor=investor.user,
            kind=kind,
            upload=upload("e.pdf", pdf_bytes()),
            claim=claim,
            document_date=timezone.localdate(),
        )
    accreditation_claim_submit(claim=claim, actor=investor.user)
    accreditation_approve(claim=claim, actor=cast.platform_compliance)
    accreditation_approve(claim=claim, actor=cast.platform_compliance)  # clicked twice: told once
    mirror = RegistryInvestor.objects.get(investor_ref=investor.reference)
    assert mirror.flags & InvestorFlag.ACCREDITED
    verified = told_once(investor.user, NotificationKind.ACCREDITATION_DECIDED)
    assert verified.subject == "Your accreditation is verified" and "506(c)" in verified.body
    approved = told_once(investor.user, NotificationKind.KYC_DECIDED)
    assert "approved" in approved.subject

    summary = verifications_expire(now=timezone.now() + dt.timedelta(days=91))
    assert summary.accreditations_expired == 1 and summary.kyc_expired == 0
    mirror.refresh_from_db()
    assert not mirror.flags & InvestorFlag.ACCREDITED and mirror.active

    assert investor.kyc_expires_at is not None
    summary = verifications_expire(now=investor.kyc_expires_at + dt.timedelta(seconds=1))
    assert summary.kyc_expired == 1
    investor.refresh_from_db()
    mirror.refresh_from_db()
    assert investor.kyc_status == KycStatus.EXPIRED and not mirror.active


def test_entity_owners_must_be_verified_before_approval(cast, registry) -> None:
    from investors.services.profiles import (
        investor_details_save,
        owner_add,
        owners_declare_complete,
    )
    from investors.services.tax import tax_form_sign

    sanctions_fixture_loaded()
    entity = investor_started(kind="entity")
    user = entity.user
    entity = investor_details_save(
        investor=entity,
        actor=user,
        details={
            "legal_name": "Blue Harbor Partners LP",
            "entity_type": "partnership",
            "registration_number": "DE-778812",
            "formation_country": "US",
            "address_line1": "1 Pier Road",
            "city": "Wilmington",
            "postal_code": "19801",
            "country": "US",
            "phone": "+1 302 555 0101",
            "tax_id_kind": "ein",
            "tax_id": "12-3456789",
        },
    )
    owner = owner_add(
        investor=entity,
        actor=user,
        data={
            "role": "both",
            "full_name": "Nora Lindqvist",
            "date_of_birth": dt.date(1979, 3, 3),
            "address": "2 Pier Road",
            "country": "US",
            "citizenship": "US",
            "ownership_bps": 10000,
            "id_kind": "ssn",
            "id_number": "234-56-7890",
        },
    )
    owners_declare_complete(investor=entity, actor=user)
    for kind, own in (("formation_document", None), ("proof_of_address", None)):
        document_upload(investor=entity, actor=user, kind=kind, upload=upload("f.pdf", pdf_bytes()), owner=own)
    document_upload(
        investor=entity,
        actor=user,
        kind="passport",
        upload=upload("p.pdf", pdf_bytes()),
        owner=owner,
        document_number="P998877",
        issuing_country="US",
        expires_on=timezone.localdate() + dt.timedelta(days=900),
    )
    tax_form_sign(
        investor=entity,
        actor=user,
        kind="w9",
        signer_name="Nora Lindqvist",
        signed_on=timezone.localdate(),
        tin_certified=True,
    )
    wallet_linked(entity)
    entity = onboarding_submit(investor=entity, actor=user, issuers=[cast.issuer])
    with pytest.raises(ApplicationError, match="Verify every owner"):
        kyc_approve(investor=entity, actor=cast.platform_compliance)
    owner_review(owner=owner, actor=cast.platform_compliance, verified=True)
    kyc_approve(investor=entity, actor=cast.platform_compliance)
    mirror = RegistryInvestor.objects.get(investor_ref=entity.reference)
    assert mirror.flags == InvestorFlag.KYC | InvestorFlag.US_PERSON | InvestorFlag.ENTITY


# --------------------------------------------------------------------------- vendor provider


class FakeVendor(BaseHTTPRequestHandler):
    """The vendor's API as its documentation describes it: POST /v1/applicants → 201 {applicant_id}."""

    received: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeVendor.received.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
        payload = json.dumps({"applicant_id": f"app_{body['reference'][:8]}", "status": "pending"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def vendor(settings):
    server = HTTPServer(("127.0.0.1", 0), FakeVendor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeVendor.received = []
    settings.KYC_PROVIDER = "vendor"
    settings.KYC_VENDOR_API_URL = f"http://127.0.0.1:{server.server_port}/v1"
    settings.KYC_VENDOR_API_KEY = "vendor-key"
    settings.KYC_VENDOR_WEBHOOK_SECRET = SECRET
    yield FakeVendor
    server.shutdown()


def deliver(body: dict, *, secret: str = SECRET, timestamp: int | None = None):
    raw = json.dumps(body).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return Client().post(
        "/compliance/kyc/webhook/vendor/",
        raw,
        content_type="application/json",
        HTTP_X_KYC_TIMESTAMP=stamp,
        HTTP_X_KYC_SIGNATURE=webhook_signature(secret=secret, timestamp=stamp, body=raw),
    )


def test_a_vendor_check_is_sent_and_decided_by_a_signed_webhook(cast, registry, vendor) -> None:
    investor = submitted_investor(cast)
    check = KycCheck.objects.get(investor=investor)
    assert check.provider == "vendor"
    check = kyc_check_send(check_id=check.pk)  # what the task does after commit
    request = vendor.received[0]
    assert request["path"] == "/v1/applicants" and request["auth"] == "Bearer vendor-key"
    assert request["body"]["reference"] == check.public_id.hex and request["body"]["date_of_birth"] == "1980-05-17"
    assert check.external_ref == f"app_{check.public_id.hex[:8]}"

    event = {
        "event_id": "evt_1",
        "applicant_id": check.external_ref,
        "reference": check.public_id.hex,
        "result": "approved",
        "reason": "",
        "valid_until": None,
    }
    response = deliver(event)
    assert response.status_code == 200 and response.json() == {"ok": True, "applied": True}
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.APPROVED and investor.registry_state == RegistryState.SYNCED
    # The same delivery again (vendors retry) changes nothing.
    assert deliver(event).json() == {"ok": True, "applied": False}
    assert VendorWebhookEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="kyc.approved").count() == 1


def test_forged_stale_or_malformed_webhooks_change_nothing(cast, vendor) -> None:
    investor = submitted_investor(cast)
    check = KycCheck.objects.get(investor=investor)
    event = {"event_id": "evt_2", "reference": check.public_id.hex, "result": "approved"}
    assert deliver(event, secret="not-the-secret").status_code == 401
    assert deliver(event, timestamp=int(time.time()) - 3600).status_code == 401
    unsigned = Client().post("/compliance/kyc/webhook/vendor/", json.dumps(event), content_type="application/json")
    assert unsigned.status_code == 401
    assert deliver({**event, "result": "maybe"}).status_code == 400
    assert deliver({**event, "reference": "0" * 32}).status_code == 409
    assert Client().post("/compliance/kyc/webhook/manual/", "{}", content_type="application/json").status_code == 404
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.PENDING and not VendorWebhookEvent.objects.exists()


def test_a_vendor_review_result_goes_to_the_manual_queue(cast, vendor) -> None:
    investor = submitted_investor(cast)
    check = KycCheck.objects.get(investor=investor)
    deliver({"event_id": "evt_3", "reference": check.public_id.hex, "result": "review", "reason": "Selfie mismatch"})
    check.refresh_from_db()
    assert check.status == KycCheckStatus.NEEDS_REVIEW and check.reason == "Selfie mismatch"
    assert InvestorProfile.objects.get(pk=investor.pk).kyc_status == KycStatus.PENDING


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    expected = hmac.new(b"k", b"1700000000." + b"{}", hashlib.sha256).hexdigest()
    assert webhook_signature(secret="k", timestamp="1700000000", body=b"{}") == f"v1={expected}"


def _pending_claim(investor: InvestorProfile):
    claim = accreditation_claim_start(
        investor=investor,
        actor=investor.user,
        method="third_party_letter",
        figures={"letter_signer": "cpa", "letter_date": timezone.localdate()},
        attested=True,
    )
    document_upload(
        investor=investor,
        actor=investor.user,
        kind="verification_letter",
        upload=upload("letter.pdf", pdf_bytes()),
        claim=claim,
        document_date=timezone.localdate(),
    )
    return accreditation_claim_submit(claim=claim, actor=investor.user)


def test_accreditation_can_be_sent_back_then_rejected_with_reasons(cast, registry) -> None:
    from compliance.services.reviews import accreditation_reject, accreditation_request_information
    from investors.models import AccreditationStatus

    investor = approved_investor(cast)
    claim = _pending_claim(investor)
    with pytest.raises(ApplicationError, match="Say what evidence"):
        accreditation_request_information(claim=claim, actor=cast.platform_compliance, message="")
    claim = accreditation_request_information(
        claim=claim, actor=cast.platform_compliance, message="The letter is unsigned."
    )
    assert claim.status == AccreditationStatus.MORE_INFO and claim.decision_note == "The letter is unsigned."
    with pytest.raises(ApplicationError, match="nothing to verify"):
        accreditation_approve(claim=claim, actor=cast.platform_compliance)
    claim = accreditation_claim_submit(claim=claim, actor=investor.user)
    claim = accreditation_reject(claim=claim, actor=cast.platform_compliance, reason="Signer not licensed.")
    assert claim.status == AccreditationStatus.REJECTED
    mirror = RegistryInvestor.objects.get(investor_ref=investor.reference)
    assert not mirror.flags & InvestorFlag.ACCREDITED
    assert AuditEvent.objects.filter(
        action="accreditation.rejected", issuer_id__isnull=True, actor_id=cast.platform_compliance.pk
    ).exists()


def test_an_owner_can_be_rejected_with_a_reason(cast) -> None:
    from investors.models import BeneficialOwner, ReviewStatus
    from investors.services.profiles import owner_add

    entity = investor_started(kind="entity")
    user = entity.user
    owner = owner_add(
        investor=entity,
        actor=user,
        data={
            "role": "controller",
            "full_name": "Nora Lindqvist",
            "date_of_birth": dt.date(1979, 3, 3),
            "address": "2 Pier Road",
            "country": "SE",
            "citizenship": "SE",
            "ownership_bps": 0,
            "id_kind": "passport",
            "id_number": "SE1234567",
        },
    )
    with pytest.raises(ApplicationError, match="Give the reason"):
        owner_review(owner=owner, actor=cast.platform_compliance, verified=False)
    with pytest.raises(ApplicationError, match="No identity document"):
        owner_review(owner=owner, actor=cast.platform_compliance, verified=True)
    owner_review(owner=owner, actor=cast.platform_compliance, verified=False, note="ID photo unreadable")
    assert BeneficialOwner.objects.get(pk=owner.pk).status == ReviewStatus.REJECTED


def test_a_vendor_rejection_reaches_the_investor(cast, vendor) -> None:
    investor = submitted_investor(cast)
    check = KycCheck.objects.get(investor=investor)
    response = deliver(
        {"event_id": "evt_9", "reference": check.public_id.hex, "result": "rejected", "reason": "Document forged"}
    )
    assert response.status_code == 200
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.REJECTED and investor.kyc_note == "Document forged"
    assert KycCheck.objects.get(pk=check.pk).status == KycCheckStatus.REJECTED
