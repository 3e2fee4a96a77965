"""What investors, the issuer's admins and the transfer agent see of paid distributions: each investor only their
own lines and their yearly tax summary; the register and the IRS forms' files for whoever reads the register."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from core.models import AuditEvent
from core.services import api_token_create
from distributions.models import Distribution, DistributionKind, DistributionState, WithholdingReason
from distributions.tests.support import Part, distribution_paid, w9
from investors.models import InvestorProfile
from investors.tests.support import verified_investor
from offerings.models import Offering
from offerings.tests.support import offering_open
from registry.models import ExportJob
from registry.services.exports import export_job_run

pytestmark = pytest.mark.django_db

TX = "0x" + "c3" * 32


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def paid(cast, registry) -> tuple[Offering, Distribution, InvestorProfile, InvestorProfile]:
    """A dividend paid in 2026: the cast's investor (US, W-9) on-chain, a German holder at 30 % by bank."""
    offering = offering_open(cast.issuer, cast.admin)
    me = verified_investor(user=cast.investor, name="Ivy Investor", wallet=None)
    other = verified_investor(name="Greta Gruber", country="DE", wallet=None)
    dividend = distribution_paid(
        offering,
        cast.admin,
        [
            Part(me, 400, 400_00, 0, WithholdingReason.US_W9, w9(me), reference=TX),
            Part(other, 600, 600_00, 3000, WithholdingReason.NO_VALID_W8, reference="BANK-REF-778"),
        ],
        payment_date=dt.date(2026, 3, 31),
    )
    distribution_paid(
        offering,
        cast.admin,
        [Part(me, 400, 40_00, 0, WithholdingReason.RETURN_OF_CAPITAL)],
        kind=DistributionKind.RETURN_OF_CAPITAL,
        payment_date=dt.date(2026, 6, 30),
    )
    distribution_paid(
        offering, cast.admin, [Part(me, 400, 25_00, 0, WithholdingReason.US_W9)], payment_date=dt.date(2025, 9, 30)
    )
    return offering, dividend, me, other


def test_an_investor_sees_their_own_gross_withholding_net_and_transaction(cast, paid) -> None:
    response = _client(cast.investor).get(reverse("investor_distributions"))
    html = response.content.decode()

    assert response.status_code == 200
    assert "400.00 USD" in html and "Dividend" in html and "Return of capital" in html
    assert "US holder with a certified W-9" in html
    assert TX[:15] in html
    assert "Greta" not in html and "600.00" not in html and "BANK-REF-778" not in html


def test_an_on_chain_payment_links_to_its_transaction_in_the_explorer(cast, paid, settings) -> None:
    settings.CHAIN_EXPLORER_TX_URL = "https://explorer.example/tx/{hash}"
    html = _client(cast.investor).get(reverse("investor_distributions")).content.decode()
    assert f'href="https://explorer.example/tx/{TX}"' in html


def test_another_investor_sees_only_their_own_line_with_its_bank_reference(cast, paid) -> None:
    _, _, _, other = paid
    html = _client(other.user).get(reverse("investor_distributions")).content.decode()
    assert "600.00 USD" in html and "420.00 USD" in html and "30%" in html and "BANK-REF-778" in html
    assert "400.00" not in html and TX[:15] not in html


def test_an_investor_with_nothing_paid_is_told_what_will_appear(cast, paid) -> None:
    stranger = verified_investor(name="Nobody Paid", wallet=None)
    html = _client(stranger.user).get(reverse("investor_distributions")).content.decode()
    assert 'id="no-distributions"' in html and 'id="no-tax-years"' in html


def test_a_draft_register_is_not_shown_to_the_investor(cast, paid) -> None:
    offering, _, me, _ = paid
    draft = distribution_paid(offering, cast.admin, [Part(me, 400, 123_45)], payment_date=dt.date(2026, 11, 30))
    Distribution.objects.filter(pk=draft.pk).update(state=DistributionState.DRAFT)
    html = _client(cast.investor).get(reverse("investor_distributions")).content.decode()
    assert "123.45" not in html


def test_the_portfolio_lists_the_investors_distributions(cast, paid) -> None:
    html = _client(cast.investor).get(reverse("portfolio")).content.decode()
    assert 'id="portfolio-distributions"' in html and "400.00 USD" in html
    assert reverse("investor_distributions") in html


def test_the_tax_summary_pdf_shows_the_years_totals_by_kind(cast, paid) -> None:
    page = _client(cast.investor).get(reverse("investor_distributions")).content.decode()
    assert reverse("investor_tax_summary", args=[2026]) in page  # the newest year is chosen
    assert '<option value="2025"' in page

    response = _client(cast.investor).get(reverse("investor_tax_summary", args=[2026]))
    assert response["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.getvalue())).pages)
    assert "Distributions tax summary 2026" in text and "Ivy Investor" in text
    assert cast.issuer.legal_name in text
    assert "Dividend" in text and "400.00 USD" in text
    assert "Return of capital" in text and "40.00 USD" in text
    assert "440.00 USD" in text  # the year's total
    assert "25.00" not in text  # paid in 2025
    assert "W-9" in text and "Page 1" in text
    assert "Greta" not in text and "600.00" not in text

    text_2025 = "\n".join(
        p.extract_text()
        for p in PdfReader(
            io.BytesIO(_client(cast.investor).get(reverse("investor_tax_summary", args=[2025])).getvalue())
        ).pages
    )
    assert "25.00 USD" in text_2025 and "400.00" not in text_2025


def test_a_year_without_payments_gives_a_summary_that_says_so(cast, paid) -> None:
    response = _client(cast.investor).get(reverse("investor_tax_summary", args=[2019]))
    text = PdfReader(io.BytesIO(response.getvalue())).pages[0].extract_text()
    assert "Nothing was paid to you in 2019." in text


def test_the_transfer_agent_reads_the_register_in_their_records_and_downloads_it(cast, paid) -> None:
    offering, dividend, _, _ = paid
    agent = _client(cast.agent)
    listing = agent.get(reverse("registry_distributions", args=[cast.issuer.slug, offering.public_id]))
    html = listing.content.decode()
    assert listing.status_code == 200
    assert reverse("registry_distribution", args=[cast.issuer.slug, offering.public_id, dividend.public_id]) in html
    assert (
        "Information returns" in html
        and reverse("registry_tax_form_file", args=[cast.issuer.slug, offering.public_id, "form_1042s", 2026, "csv"])
        in html
    )
    holdings = agent.get(reverse("registry_holdings", args=[cast.issuer.slug, offering.public_id])).content.decode()
    assert reverse("registry_distributions", args=[cast.issuer.slug, offering.public_id]) in holdings  # the tab

    detail = agent.get(
        reverse("registry_distribution", args=[cast.issuer.slug, offering.public_id, dividend.public_id])
    )
    assert "Greta Gruber" in detail.content.decode() and "Ivy Investor" in detail.content.decode()

    download = agent.get(reverse("distribution_register_file", args=[cast.issuer.slug, dividend.public_id, "csv"]))
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.getvalue().decode())))
    assert {r["Holder"]: r["Transaction or bank reference"] for r in rows} == {
        "Ivy Investor": TX,
        "Greta Gruber": "BANK-REF-778",
    }
    event = AuditEvent.objects.filter(action="registry.export_streamed", actor_id=cast.agent.pk).get()
    assert (event.after or {})["exporter"] == "distribution_register"

    form = agent.get(
        reverse("registry_tax_form_file", args=[cast.issuer.slug, offering.public_id, "form_1042s", 2026, "xlsx"])
    )
    assert form.status_code == 200 and form["Content-Disposition"].endswith('1042-s-2026.xlsx"')


def test_the_transfer_agent_asks_for_the_register_on_the_export_jobs_queue_and_the_api(cast, paid) -> None:
    offering, dividend, _, _ = paid
    response = _client(cast.agent).post(
        reverse("registry_export_create", args=[cast.issuer.slug]),
        {
            "offering": offering.pk,
            "exporter": "distribution_register",
            "format": "xlsx",
            "distribution": dividend.public_id,
        },
    )
    assert response.status_code == 302
    job = export_job_run(job_id=ExportJob.objects.get(exporter="distribution_register").pk)
    assert job.state == "done" and job.rows_total == 2

    _, secret = api_token_create(actor=cast.agent, name="records")
    api = Client(HTTP_AUTHORIZATION=f"Token {secret}")
    made = api.post(
        f"/api/v1/registry/tokens/{offering.public_id}/exports/",
        {"exporter": "form_1099_div", "format": "csv", "tax_year": 2026},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    job = export_job_run(job_id=ExportJob.objects.get(public_id=made.json()["id"]).pk)
    assert job.state == "done" and "Ivy Investor" in job.file.open("rb").read().decode()


def test_the_transfer_agent_sees_no_draft_register_and_another_issuers_admin_nothing(cast, paid) -> None:
    offering, dividend, me, _ = paid
    draft = distribution_paid(offering, cast.admin, [Part(me, 400, 1_00)], payment_date=dt.date(2026, 11, 30))
    Distribution.objects.filter(pk=draft.pk).update(state=DistributionState.DRAFT)
    agent = _client(cast.agent)
    assert (
        agent.get(reverse("distribution_register_file", args=[cast.issuer.slug, draft.public_id, "csv"])).status_code
        == 404
    )
    assert (
        agent.get(
            reverse("registry_distribution", args=[cast.issuer.slug, offering.public_id, draft.public_id])
        ).status_code
        == 404
    )
    # The admin downloads the draft's preview register from the distribution's page.
    admin = _client(cast.admin)
    assert (
        admin.get(reverse("distribution_register_file", args=[cast.issuer.slug, draft.public_id, "csv"])).status_code
        == 200
    )

    other = _client(cast.other_admin)
    for url in (
        reverse("registry_distributions", args=[cast.issuer.slug, offering.public_id]),
        reverse("distribution_register_file", args=[cast.issuer.slug, dividend.public_id, "csv"]),
        reverse("registry_tax_form_file", args=[cast.issuer.slug, offering.public_id, "form_1099_div", 2026, "csv"]),
    ):
        assert other.get(url).status_code == 403
    # Their own issuer has no such distribution.
    assert other.get(reverse("distribution_register_file", args=["other", dividend.public_id, "csv"])).status_code in (
        403,
        404,
    )
    investor = _client(cast.investor)
    assert (
        investor.get(
            reverse("distribution_register_file", args=[cast.issuer.slug, dividend.public_id, "csv"])
        ).status_code
        == 403
    )


def test_the_issuer_admin_downloads_the_register_and_tax_files_from_the_distribution_page(cast, paid) -> None:
    offering, dividend, _, _ = paid
    html = (
        _client(cast.admin)
        .get(reverse("distribution_detail", args=[cast.issuer.slug, dividend.public_id]))
        .content.decode()
    )
    register = reverse("distribution_register_file", args=[cast.issuer.slug, dividend.public_id, "pdf"])
    div = reverse("registry_tax_form_file", args=[cast.issuer.slug, offering.public_id, "form_1099_div", 2026, "csv"])
    assert register in html and div in html
    pdf = _client(cast.admin).get(register)
    text = PdfReader(io.BytesIO(pdf.getvalue())).pages[0].extract_text()
    assert "Distribution register" in text and "Greta Gruber" in text
    rows = list(csv.DictReader(io.StringIO(_client(cast.admin).get(div).getvalue().decode())))
    assert [
        (r["Recipient name"], r["Box 1a Total ordinary dividends"], r["Box 3 Nondividend distributions"]) for r in rows
    ] == [("Ivy Investor", "400.00", "40.00")]


def test_a_tax_file_for_a_year_not_begun_is_refused_with_a_message(cast, paid) -> None:
    offering, _, _, _ = paid
    year = dt.date.today().year + 1
    response = _client(cast.agent).get(
        reverse("registry_tax_form_file", args=[cast.issuer.slug, offering.public_id, "form_1099_div", year, "csv"])
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("registry_distributions", args=[cast.issuer.slug, offering.public_id])


def test_the_investor_page_and_the_records_page_read_a_bounded_number_of_queries(cast, paid) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    offering, _, me, other = paid

    def counts() -> tuple[int, int]:
        investor, agent = _client(cast.investor), _client(cast.agent)
        with CaptureQueriesContext(connection) as mine:
            assert investor.get(reverse("investor_distributions")).status_code == 200
        with CaptureQueriesContext(connection) as records:
            assert (
                agent.get(reverse("registry_distributions", args=[cast.issuer.slug, offering.public_id])).status_code
                == 200
            )
        return len(mine), len(records)

    before = counts()
    for month in range(1, 11):
        distribution_paid(
            offering,
            cast.admin,
            [
                Part(me, 400, month * 100, 0, WithholdingReason.US_W9),
                Part(other, 600, month * 100, 3000, WithholdingReason.NO_VALID_W8),
            ],
            payment_date=dt.date(2026, month, 28),
        )
    assert counts() == before


def test_an_issuer_admin_gives_the_payers_ein_and_address_for_the_forms_and_the_agent_reads_them(cast, paid) -> None:
    offering = paid[0]
    records = reverse("registry_distributions", args=[cast.issuer.slug, offering.public_id])
    payer = reverse("registry_payer_details", args=[cast.issuer.slug, offering.public_id])
    admin, agent = _client(cast.admin), _client(cast.agent)
    page = admin.get(records).content.decode()
    assert "EIN and address are not on file" in page and 'id="payer-form"' in page

    refused = admin.post(
        payer, {"tax_id": "12-345", "address_line1": "100 Harbor Street", "city": "Boston"}, follow=True
    )
    assert "An EIN has nine digits" in refused.content.decode()
    cast.issuer.refresh_from_db()
    assert cast.issuer.tax_id == ""

    details = {
        "tax_id": "12-3456789",
        "address_line1": "100 Harbor Street",
        "city": "Boston",
        "region": "MA",
        "postal_code": "02110",
    }
    saved = admin.post(payer, details, follow=True).content.decode()
    assert "are saved" in saved and "EIN 12-3456789, 100 Harbor Street, Boston, MA 02110" in saved
    cast.issuer.refresh_from_db()
    assert (cast.issuer.tax_id, cast.issuer.city) == ("123456789", "Boston")
    event = AuditEvent.objects.get(action="issuer.payer_details_set")
    assert event.after is not None and event.after["tax_id"] == "123456789" and event.actor_id == cast.admin.pk

    agent_page = agent.get(records).content.decode()
    assert "EIN 12-3456789" in agent_page and 'id="payer-form"' not in agent_page
    assert agent.post(payer, details).status_code == 403
