"""The onboarding pages: each step saves, progress shows, and the investor can stop and come back."""

from __future__ import annotations

import pytest
from django.test import Client

from core.tests.factories import UserFactory
from core.tests.files import pdf_bytes, png_bytes
from investors.models import InvestorProfile
from investors.tests.support import upload

pytestmark = pytest.mark.django_db


def test_an_investor_walks_through_the_steps_and_resumes(settings) -> None:
    user = UserFactory.create()
    client = Client()
    client.force_login(user)
    page = client.get("/onboarding/").content.decode()
    assert 'aria-current="step"' in page and "Step 1 of 7" in page

    assert client.post("/onboarding/", {"kind": "individual"})["Location"] == "/onboarding/details/"
    bad = client.post(
        "/onboarding/details/",
        {
            "legal_name": "Alice Marchetti",
            "date_of_birth": "2999-01-01",
            "address_line1": "1 A St",
            "city": "Boston",
            "postal_code": "02110",
            "country": "US",
            "citizenship": "US",
            "phone": "+1 617 555 0100",
            "tax_id_kind": "ssn",
            "tax_id": "123-45-6789",
        },
    )
    assert "cannot be in the future" in bad.content.decode()
    good = client.post(
        "/onboarding/details/",
        {
            "legal_name": "Alice Marchetti",
            "date_of_birth": "1980-05-17",
            "address_line1": "1 A St",
            "city": "Boston",
            "postal_code": "02110",
            "country": "US",
            "citizenship": "US",
            "phone": "+1 617 555 0100",
            "tax_id_kind": "ssn",
            "tax_id": "123-45-6789",
        },
    )
    assert good["Location"] == "/onboarding/documents/"

    disguised = client.post(
        "/onboarding/documents/",
        {"kind": "proof_of_address", "file": upload("bill.pdf", b"<?php echo 1; ?>")},
    )
    assert "content says otherwise" in disguised.content.decode()
    client.post("/onboarding/documents/", {"kind": "proof_of_address", "file": upload("bill.pdf", pdf_bytes())})
    client.post(
        "/onboarding/documents/",
        {
            "kind": "passport",
            "file": upload("p.png", png_bytes()),
            "document_number": "X1234567",
            "issuing_country": "US",
            "expires_on": "2034-01-01",
        },
    )
    investor = InvestorProfile.objects.get(user=user)
    assert investor.documents.count() == 2

    # Later: the dashboard shows what is done and links to each step.
    dashboard = client.get("/dashboard/").content.decode()
    assert 'href="/onboarding/tax/"' in dashboard and dashboard.count(">done</span>") == 3
    # One step count: the dashboard counts the steps the onboarding pages count.
    assert "3 of 7 steps done" in dashboard
    assert "of 7 ·" in client.get("/onboarding/tax/").content.decode()
    status = client.get("/onboarding/status/").content.decode()
    assert "Not yet eligible" in status and "Missing or expired" in status
    details = client.get("/onboarding/details/").content.decode()
    assert 'value="Alice Marchetti"' in details and 'value="1980-05-17"' in details
