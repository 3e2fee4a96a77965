"""Filings the exemptions ask of an issuer: a Regulation Crowdfunding offering has its Form C among its
documents (and is reminded until it has one); a Regulation D offering's dashboard says when Form D is due once
it has sold (Rule 503(a): 15 calendar days after the first sale)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from compliance.exemptions import Exemption
from core.errors import ApplicationError
from core.tests.support import Cast
from investors.tests.support import verified_investor
from offerings.models import DocumentKind
from offerings.selectors.home import form_d_due
from offerings.services.documents import document_upload
from offerings.tests.support import offering_draft, offering_open, pdf, subscribed

pytestmark = pytest.mark.django_db


def _page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    return client.get(url).content.decode()


def test_a_reg_cf_offering_is_reminded_of_its_form_c_until_it_is_uploaded(cast: Cast) -> None:
    offering = offering_draft(
        cast.issuer,
        cast.admin,
        exemption=Exemption.REG_CF,
        min_investment_minor=100_00,
        closes_at=timezone.now() + dt.timedelta(days=30),
    )
    offering.documents.filter(kind=DocumentKind.FORM_C).delete()  # the draft before its Form C is uploaded
    url = f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/documents/"
    page = _page(cast.admin, url)
    assert 'id="form-c-missing"' in page and 'value="form_c"' in page and "cannot be published without it" in page

    document_upload(
        offering=offering,
        actor=cast.admin,
        kind=DocumentKind.FORM_C,
        title="",
        upload=SimpleUploadedFile("form-c.pdf", pdf("form c"), "application/pdf"),
    )

    page = _page(cast.admin, url)
    assert 'id="form-c-missing"' not in page and "Form C (Regulation Crowdfunding offering statement)" in page


def test_form_c_is_not_a_document_of_other_offerings(cast: Cast) -> None:
    offering = offering_draft(cast.issuer, cast.admin, exemption=Exemption.REG_D_506C)
    page = _page(cast.admin, f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/documents/")
    assert 'value="form_c"' not in page and 'id="form-c-missing"' not in page
    with pytest.raises(ApplicationError, match="Regulation Crowdfunding offerings only"):
        document_upload(
            offering=offering,
            actor=cast.admin,
            kind=DocumentKind.FORM_C,
            title="",
            upload=SimpleUploadedFile("form-c.pdf", pdf("form c"), "application/pdf"),
        )


def test_a_reg_d_dashboard_says_when_form_d_is_due_after_the_first_sale(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_D_506C)
    url = f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/dashboard/"
    assert 'id="form-d-deadline"' not in _page(cast.admin, url)

    sale = subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)

    page = _page(cast.admin, url)
    first = timezone.localtime(sale.signed_at).date()
    assert 'id="form-d-deadline"' in page and f"is due {form_d_due(first):%-d %b %Y}" in page
