"""The review queue and an applicant's page: who sees what, filters, inline documents, audited decisions."""

from __future__ import annotations

import pytest
from django.test import Client

from compliance.tests.support import submitted_investor
from core.models import AuditEvent, Role
from core.tests.factories import MembershipFactory
from investors.models import KycStatus

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_queue_lists_applicants_with_what_they_wait_for(cast) -> None:
    clean = submitted_investor(cast, "Walter Kessler")
    flagged = submitted_investor(cast, "Reza Nazari", dob=__import__("datetime").date(1962, 11, 22))
    officer = _client(cast.compliance)
    page = officer.get(f"/issuers/{cast.issuer.slug}/compliance/").content.decode()
    assert "Walter Kessler" in page and "Reza Nazari" in page and "1 possible match" in page
    sanctions = officer.get(f"/issuers/{cast.issuer.slug}/compliance/?show=sanctions").content.decode()
    assert "Reza Nazari" in sanctions and "Walter Kessler" not in sanctions
    found = officer.get(f"/issuers/{cast.issuer.slug}/compliance/?show=all&q=kessl").content.decode()
    assert "Walter Kessler" in found and "Reza Nazari" not in found
    # Tax ids and dates of birth are not in the list.
    assert "123456789" not in page and "1980" not in page
    assert clean.public_id and flagged.public_id


def test_the_applicant_page_shows_documents_inline_only_to_the_issuers_reviewers(cast) -> None:
    investor = submitted_investor(cast)
    url = f"/issuers/{cast.issuer.slug}/compliance/investors/{investor.public_id}/"
    page = _client(cast.compliance).get(url).content.decode()
    passport = investor.documents.get(kind="passport")
    bill = investor.documents.get(kind="proof_of_address")
    assert f'<img class="doc-preview" src="{url}documents/{passport.public_id}/"' in page
    assert f'<iframe class="doc-frame" src="{url}documents/{bill.public_id}/"' in page
    response = _client(cast.compliance).get(f"{url}documents/{passport.public_id}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    # An officer of another issuer the investor did not apply to sees nothing.
    elsewhere = MembershipFactory.create(issuer=cast.other_issuer, role=Role.COMPLIANCE_OFFICER).user
    assert (
        _client(elsewhere)
        .get(f"/issuers/{cast.other_issuer.slug}/compliance/investors/{investor.public_id}/")
        .status_code
        == 404
    )
    assert _client(elsewhere).get(f"{url}documents/{passport.public_id}/").status_code == 403
    assert _client(cast.agent).get(url).status_code == 403


def test_identity_decisions_from_the_platform_page_are_audited_and_refusals_explained(cast, registry) -> None:
    investor = submitted_investor(cast)
    base = f"/platform/compliance/investors/{investor.public_id}/"
    officer = _client(cast.platform_compliance)
    assert "Walter Kessler" in officer.get("/platform/compliance/").content.decode()
    refused = officer.post(f"{base}kyc/", {"decision": "reject", "note": ""}, follow=True)
    assert "Give the reason for the rejection" in refused.content.decode()
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.PENDING
    approved = officer.post(f"{base}kyc/", {"decision": "approve", "note": ""}, follow=True).content.decode()
    assert "KYC approved. The investor is registered on-chain for every issuer" in approved
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.APPROVED
    event = AuditEvent.objects.get(action="kyc.approved")
    assert event.issuer_id is None and event.actor_label == cast.platform_compliance.email
    officer.post(
        f"{base}wallets/", {"address": "0x000000000000000000000000000000000000dEaD", "custodian_name": "Anchorage"}
    )
    assert investor.wallets.filter(kind="custodial", custodian_name="Anchorage").exists()
    assert AuditEvent.objects.filter(action="wallet.custodial_recorded").exists()


def test_an_issuers_compliance_officer_cannot_decide_identity(cast) -> None:
    investor = submitted_investor(cast, "Reza Nazari", dob=__import__("datetime").date(1962, 11, 22))
    hit = investor.screening_hits.get()
    officer = _client(cast.compliance)
    for path in (
        f"/platform/compliance/investors/{investor.public_id}/kyc/",
        f"/platform/compliance/investors/{investor.public_id}/hits/{hit.pk}/",
    ):
        assert officer.post(path, {"decision": "approve", "note": "looks fine"}).status_code == 403
    # The issuer's own pages have no identity decisions at all any more.
    issuer_base = f"/issuers/{cast.issuer.slug}/compliance/investors/{investor.public_id}/"
    assert officer.post(f"{issuer_base}kyc/", {"decision": "approve"}).status_code == 404
    assert officer.post(f"{issuer_base}hits/{hit.pk}/", {"decision": "clear", "note": "x"}).status_code == 404
    page = officer.get(issuer_base).content.decode()
    assert "KYC decision" not in page and "sanctions match</span>" not in page
    investor.refresh_from_db()
    hit.refresh_from_db()
    assert investor.kyc_status == KycStatus.PENDING and hit.status == "pending"
    # Staff support the platform but do not decide identity either.
    assert _client(cast.staff).get("/platform/compliance/").status_code == 403


def test_the_issuer_admits_or_declines_and_its_notes_stay_its_own(cast) -> None:
    investor = submitted_investor(cast)
    other_officer = MembershipFactory.create(issuer=cast.other_issuer, role=Role.COMPLIANCE_OFFICER).user
    from investors.services.applications import issuer_application_create

    issuer_application_create(investor=investor, issuer=cast.other_issuer, actor=investor.user)
    ours = f"/issuers/{cast.issuer.slug}/compliance/investors/{investor.public_id}/"
    theirs = f"/issuers/{cast.other_issuer.slug}/compliance/investors/{investor.public_id}/"
    refused = _client(cast.compliance).post(f"{ours}decision/", {"decision": "decline", "note": ""}, follow=True)
    assert "Say why the investor is declined" in refused.content.decode()
    _client(other_officer).post(f"{theirs}decision/", {"decision": "decline", "note": "Concentration risk in our book"})
    admitted = _client(cast.compliance).post(
        f"{ours}decision/", {"decision": "admit", "note": "Known to our partners"}, follow=True
    )
    page = admitted.content.decode()
    assert "is admitted to Harbor Street Capital" in page and "Known to our partners" in page
    assert investor.applications.get(issuer=cast.issuer).status == "admitted"
    # The other issuer's note, decision and application never appear on our page, nor ours on theirs.
    assert "Concentration risk" not in page and "Other Issuer" not in page and "application.declined" not in page
    their_page = _client(other_officer).get(theirs).content.decode()
    assert "Concentration risk" in their_page and "Known to our partners" not in their_page
    assert "application.admitted" not in their_page and "Harbor Street" not in their_page
    event = AuditEvent.objects.get(action="application.admitted")
    assert event.issuer_id == cast.issuer.pk and "Known to our partners" not in str(event.after)
    queue = _client(cast.compliance).get(f"/issuers/{cast.issuer.slug}/compliance/?show=admitted").content.decode()
    assert "Walter Kessler" in queue
