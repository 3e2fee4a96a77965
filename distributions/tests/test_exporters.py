"""Distribution exports written and read back (CSV, XLSX, PDF text): the register of one distribution, and the
Form 1099-DIV, 1099-INT and 1042-S data of a tax year, each box the sum of the lines behind it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from distributions.exporters.irs_forms import CHAPTER_4_ENTITY_STATUS, CHAPTER_4_LEFT_FOR_ADVISER
from distributions.models import Distribution, DistributionKind, DistributionLine, LinePaymentState, WithholdingReason
from distributions.tests.support import Part, distribution_paid, w8, w9
from investors.models import Chapter4Status, InvestorProfile, TaxForm
from investors.tests.support import verified_investor
from offerings.models import Offering
from offerings.tests.support import offering_draft
from registry.exporters import ExportError, ExportParams, exporter_get
from registry.services.exports import export_job_request, export_job_run

pytestmark = pytest.mark.django_db

PAID_2026 = dt.date(2026, 3, 31)


@dataclass
class Year:
    offering: Offering
    dividend: Distribution
    capital: Distribution
    interest: Distribution
    alice: InvestorProfile  # US, certified W-9: nothing withheld
    bob: InvestorProfile  # US, no W-9: 24 % backup withholding
    chen: InvestorProfile  # JP, W-8BEN with a 10 % treaty rate on dividends, 0 % on interest
    dana: InvestorProfile  # DE, no W-8: 30 %
    erin: InvestorProfile  # US, $5 of dividends: below the 1099-DIV threshold


def _person(name: str, country: str, tin: str = "", tin_kind: str = "") -> InvestorProfile:
    investor = verified_investor(name=name, country=country, wallet=None)
    investor.address_line1, investor.city, investor.postal_code = f"{name.split()[0]} Street 1", "Springfield", "12345"
    investor.tax_id, investor.tax_id_kind = tin, tin_kind
    investor.save()
    return investor


@pytest.fixture
def year(cast) -> Year:
    offering = offering_draft(cast.issuer, cast.admin)
    alice = _person("Alice Adams", "US", "123-45-6789", "ssn")
    bob = _person("Bob Becker", "US", "987-65-4321", "ssn")
    chen = _person("Chen Wei", "JP", "JP-55501234", "foreign_tin")
    dana = _person("Dana Dietrich", "DE")
    erin = _person("Erin Eads", "US", "111-22-3333", "ssn")
    alice_w9 = w9(alice)
    chen_w8 = w8(chen, signed_on=dt.date(2025, 6, 1), treaty_rate_bps=1000)
    chen_w8.foreign_tin = "JP-55501234"
    chen_w8.save()
    dividend = distribution_paid(
        offering,
        cast.admin,
        [
            Part(alice, 1000, 1000_00, 0, WithholdingReason.US_W9, alice_w9, reference="0x" + "a1" * 32),
            Part(bob, 500, 500_00, 2400, WithholdingReason.US_BACKUP),
            Part(chen, 800, 800_00, 1000, WithholdingReason.TREATY, chen_w8),
            Part(dana, 300, 300_00, 3000, WithholdingReason.NO_VALID_W8),
            Part(erin, 5, 5_00, 0, WithholdingReason.US_W9, w9(erin)),
        ],
        payment_date=PAID_2026,
    )
    capital = distribution_paid(
        offering,
        cast.admin,
        [
            Part(alice, 1000, 200_00, 0, WithholdingReason.RETURN_OF_CAPITAL),
            Part(dana, 300, 60_00, 0, WithholdingReason.RETURN_OF_CAPITAL),
        ],
        kind=DistributionKind.RETURN_OF_CAPITAL,
        payment_date=dt.date(2026, 6, 30),
    )
    interest = distribution_paid(
        offering,
        cast.admin,
        [
            Part(bob, 500, 50_00, 2400, WithholdingReason.US_BACKUP),
            Part(chen, 800, 80_00, 0, WithholdingReason.TREATY, chen_w8),
        ],
        kind=DistributionKind.INTEREST,
        payment_date=dt.date(2026, 9, 30),
    )
    # Not in 2026: paid in 2025, and a line that failed.
    distribution_paid(offering, cast.admin, [Part(alice, 1000, 999_00)], payment_date=dt.date(2025, 12, 31))
    distribution_paid(
        offering, cast.admin, [Part(alice, 1000, 777_00, state=LinePaymentState.FAILED)], payment_date=PAID_2026
    )
    return Year(offering, dividend, capital, interest, alice, bob, chen, dana, erin)


def _bytes(offering: Offering, identifier: str, fmt: str = "csv", **params) -> bytes:
    out = io.BytesIO()
    exporter_get(identifier).write(offering=offering, params=ExportParams(**params), fmt=fmt, out=out)
    return out.getvalue()


def _csv(offering: Offering, identifier: str, **params) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_bytes(offering, identifier, **params).decode())))


def _xlsx(offering: Offering, identifier: str, **params) -> list[dict[str, object]]:
    book = load_workbook(io.BytesIO(_bytes(offering, identifier, "xlsx", **params)), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _pdf_text(offering: Offering, identifier: str, **params) -> str:
    reader = PdfReader(io.BytesIO(_bytes(offering, identifier, "pdf", **params)))
    return "\n".join(page.extract_text() for page in reader.pages)


def _by(rows: list[dict], key: str = "Recipient name") -> dict:
    return {r[key]: r for r in rows}


def test_the_distribution_register_lists_each_line_with_its_withholding_and_how_it_was_paid(year: Year) -> None:
    rows = _csv(year.offering, "distribution_register", distribution=year.dividend.public_id)

    lines = list(DistributionLine.objects.filter(distribution=year.dividend).order_by("line_index"))
    assert [r["Holder id"] for r in rows] == [line.investor.reference for line in lines]
    alice, bob = _by(rows, "Holder")["Alice Adams"], _by(rows, "Holder")["Bob Becker"]
    assert (alice["Gross"], alice["Withheld"], alice["Net"], alice["Withholding rate (%)"]) == (
        "1000.00",
        "0.00",
        "1000.00",
        "0.00",
    )
    assert alice["Tax form"] == "W-9"
    assert alice["Payment"] == "Paid"
    assert alice["Transaction or bank reference"] == "0x" + "a1" * 32
    assert (bob["Gross"], bob["Withheld"], bob["Net"], bob["Withholding rate (%)"]) == (
        "500.00",
        "120.00",
        "380.00",
        "24.00",
    )
    assert bob["Why"] == WithholdingReason.US_BACKUP.label
    assert sum(Decimal(r["Gross"]) for r in rows) == Decimal(year.dividend.total_gross_minor) / 100
    assert sum(Decimal(r["Withheld"]) for r in rows) == Decimal(year.dividend.total_withheld_minor) / 100


def test_the_distribution_register_reads_the_same_in_xlsx_and_pdf(year: Year) -> None:
    rows = _xlsx(year.offering, "distribution_register", distribution=year.dividend.public_id)
    assert {r["Holder"]: r["Withheld"] for r in rows} == {
        "Alice Adams": 0,
        "Bob Becker": 120,
        "Chen Wei": 80,
        "Dana Dietrich": 90,
        "Erin Eads": 0,
    }
    assert sum(Decimal(str(r["Net"])) for r in rows) == Decimal(year.dividend.total_net_minor) / 100

    text = _pdf_text(year.offering, "distribution_register", distribution=year.dividend.public_id)
    assert "Distribution register" in text
    assert year.offering.issuer.legal_name in text
    assert "Page 1" in text
    for name, net in [("Bob Becker", "380.00"), ("Dana Dietrich", "210.00"), ("Chen Wei", "720.00")]:
        assert name in text
        assert net in text


def test_another_tokens_distribution_cannot_be_exported_through_this_token(cast, year: Year) -> None:
    other = offering_draft(cast.issuer, cast.admin, title="Another note")
    with pytest.raises(ExportError, match="no such distribution"):
        export_job_request(
            offering=other,
            exporter_id="distribution_register",
            fmt="csv",
            params=ExportParams(distribution=year.dividend.public_id),
            actor=cast.agent,
        )
    with pytest.raises(ExportError, match="ask for it from that distribution's page"):
        export_job_request(
            offering=year.offering,
            exporter_id="distribution_register",
            fmt="csv",
            params=ExportParams(),
            actor=cast.agent,
        )


def test_the_register_is_made_by_the_export_jobs_queue_too(cast, year: Year) -> None:
    job = export_job_request(
        offering=year.offering,
        exporter_id="distribution_register",
        fmt="csv",
        params=ExportParams(distribution=year.dividend.public_id),
        actor=cast.agent,
    )
    job = export_job_run(job_id=job.pk)
    assert job.state == "done", job.error
    assert job.rows_total == 5
    assert job.filename.endswith(f"distribution-register-{year.dividend.record_date.isoformat()}.csv")
    text = job.file.open("rb").read().decode()
    assert "Dana Dietrich" in text


def test_1099_div_lists_us_holders_with_each_box_the_sum_of_their_lines_in_the_year(year: Year) -> None:
    rows = _by(_csv(year.offering, "form_1099_div", tax_year=2026))

    assert set(rows) == {"Alice Adams", "Bob Becker", "Erin Eads"}  # Chen and Dana file 1042-S
    alice, bob, erin = rows["Alice Adams"], rows["Bob Becker"], rows["Erin Eads"]
    # The 2025 payment and the failed line do not count in 2026.
    assert alice["Box 1a Total ordinary dividends"] == "1000.00"
    assert alice["Box 1b Qualified dividends"] == "1000.00"  # a US issuer: see the exporter's note
    assert alice["Box 3 Nondividend distributions"] == "200.00"
    assert alice["Box 4 Federal income tax withheld"] == "0.00"
    assert alice["Recipient TIN (masked)"] == "XXX-XX-6789"
    assert alice["Address"] == "Alice Street 1"
    assert alice["Form on file"] == "W-9"
    assert bob["Box 1a Total ordinary dividends"] == "500.00"
    assert bob["Box 4 Federal income tax withheld"] == "120.00"  # interest is on the 1099-INT
    assert (bob["Backup withholding"], bob["Form on file"]) == ("yes", "none")
    assert erin["Filing required"] == "no"  # $5, nothing withheld
    assert alice["Filing required"] == bob["Filing required"] == "yes"
    assert alice["Tax year"] == "2026"
    assert alice["Payer"] == year.offering.issuer.legal_name
    assert "6789" in alice["Recipient TIN (masked)"] and "123" not in alice["Recipient TIN (masked)"]


def test_1099_div_of_a_foreign_issuer_leaves_qualified_dividends_for_the_adviser(cast, year: Year) -> None:
    cast.issuer.country = "KY"
    cast.issuer.save()
    rows = _by(_csv(year.offering, "form_1099_div", tax_year=2026))
    assert rows["Alice Adams"]["Box 1a Total ordinary dividends"] == "1000.00"
    assert rows["Alice Adams"]["Box 1b Qualified dividends"] == "0.00"


def test_1099_int_lists_us_holders_interest_and_its_withholding(year: Year) -> None:
    rows = _by(_csv(year.offering, "form_1099_int", tax_year=2026))
    assert set(rows) == {"Bob Becker"}
    assert rows["Bob Becker"]["Box 1 Interest income"] == "50.00"
    assert rows["Bob Becker"]["Box 4 Federal income tax withheld"] == "12.00"


def test_1042s_lists_non_us_holders_one_form_per_income_code_and_rate(year: Year) -> None:
    rows = _csv(year.offering, "form_1042s", tax_year=2026)
    forms = {(r["Recipient name"], r["Box 1 Income code"]): r for r in rows}

    assert set(forms) == {("Chen Wei", "06"), ("Chen Wei", "01"), ("Dana Dietrich", "06")}  # no return of capital
    chen_dividend, chen_interest, dana = forms["Chen Wei", "06"], forms["Chen Wei", "01"], forms["Dana Dietrich", "06"]
    assert (chen_dividend["Box 2 Gross income"], chen_dividend["Box 7a Federal tax withheld"]) == ("800.00", "80.00")
    assert (chen_dividend["Box 3a Exemption code"], chen_dividend["Box 3b Tax rate (%)"]) == ("00", "10.00")
    assert (chen_dividend["W-8 on file"], chen_dividend["Treaty country"]) == ("W-8BEN", "JP")
    assert chen_dividend["W-8 valid to"] == "2028-12-31"
    assert chen_dividend["Box 13i Foreign TIN (masked)"] == "XXXXXX1234"
    assert chen_dividend["Box 3 Chapter indicator"] == "3"
    # Exempt under the treaty: code 04 at 0 %.
    assert (chen_interest["Box 3a Exemption code"], chen_interest["Box 3b Tax rate (%)"]) == ("04", "0.00")
    assert chen_interest["Box 2 Gross income"] == "80.00"
    assert (dana["Box 3a Exemption code"], dana["Box 3b Tax rate (%)"], dana["Box 7a Federal tax withheld"]) == (
        "00",
        "30.00",
        "90.00",
    )
    assert dana["W-8 on file"] == "none"
    assert dana["Box 13b Recipient country code"] == "DE"


def test_the_tax_exports_read_the_same_in_xlsx_and_pdf(year: Year) -> None:
    rows = _xlsx(year.offering, "form_1042s", tax_year=2026)
    assert sum(Decimal(str(r["Box 7a Federal tax withheld"])) for r in rows) == Decimal("170.00")
    text = _pdf_text(year.offering, "form_1099_div", tax_year=2026)
    assert "Form 1099-DIV data" in text and "Tax year 2026" in text
    assert f"Every token of {year.offering.issuer.name}" in text  # one payer: all its tokens
    assert "Alice Adams" in text and "XXX-XX-6789" in text and "123-45-6789" not in text


def test_a_tax_export_needs_a_year_that_has_begun(cast, year: Year) -> None:
    for params in (ExportParams(), ExportParams(tax_year=dt.date.today().year + 1)):
        with pytest.raises(ExportError):
            export_job_request(
                offering=year.offering, exporter_id="form_1099_div", fmt="csv", params=params, actor=cast.admin
            )


AMOUNTS = st.integers(min_value=0, max_value=10**9)
# Holders 0 and 1 are US (a W-9, or backup withholding without one), 2 and 3 are not (treaty rate or 30 %).
RATES = {
    True: [(0, WithholdingReason.US_W9), (2400, WithholdingReason.US_BACKUP)],
    False: [(1500, WithholdingReason.TREATY), (0, WithholdingReason.TREATY), (3000, WithholdingReason.NO_VALID_W8)],
}
LINE = st.tuples(
    st.integers(min_value=0, max_value=3),  # which holder
    st.sampled_from([DistributionKind.DIVIDEND, DistributionKind.RETURN_OF_CAPITAL, DistributionKind.INTEREST]),
    AMOUNTS,
    st.integers(min_value=0, max_value=2),  # which of the holder's rates
    st.sampled_from([LinePaymentState.PAID, LinePaymentState.REINVESTED, LinePaymentState.FAILED]),
)


def _total(rows: list[dict], column: str) -> int:
    return sum(int(Decimal(r[column]) * 100) for r in rows)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=1, max_size=12))
def test_every_box_of_every_form_totals_the_lines_paid_in_the_year(cast, lines) -> None:
    offering = offering_draft(cast.issuer, cast.admin)
    people = [verified_investor(name=f"Holder {n}", country="US" if n < 2 else "FR", wallet=None) for n in range(4)]
    expected: dict[tuple[bool, str], list[int]] = {}
    for who, kind, gross, choice, state in lines:
        us = who < 2
        rate, reason = RATES[us][choice % len(RATES[us])]
        if kind == DistributionKind.RETURN_OF_CAPITAL:
            rate, reason = 0, WithholdingReason.RETURN_OF_CAPITAL
        distribution_paid(offering, cast.admin, [Part(people[who], 1, gross, rate, reason, state=state)], kind=kind)
        if state != LinePaymentState.FAILED:
            totals = expected.setdefault((us, kind), [0, 0])
            totals[0] += gross
            totals[1] += gross * rate // 10_000

    def sums(us: bool, kind: str) -> list[int]:
        return expected.get((us, kind), [0, 0])

    div = _csv(offering, "form_1099_div", tax_year=2026)
    interest = _csv(offering, "form_1099_int", tax_year=2026)
    foreign = _csv(offering, "form_1042s", tax_year=2026)
    assert _total(div, "Box 1a Total ordinary dividends") == sums(True, DistributionKind.DIVIDEND)[0]
    assert _total(div, "Box 1b Qualified dividends") == sums(True, DistributionKind.DIVIDEND)[0]
    assert _total(div, "Box 3 Nondividend distributions") == sums(True, DistributionKind.RETURN_OF_CAPITAL)[0]
    assert _total(div, "Box 4 Federal income tax withheld") == sums(True, DistributionKind.DIVIDEND)[1]
    assert _total(interest, "Box 1 Interest income") == sums(True, DistributionKind.INTEREST)[0]
    assert _total(interest, "Box 4 Federal income tax withheld") == sums(True, DistributionKind.INTEREST)[1]
    for code, kind in (("06", DistributionKind.DIVIDEND), ("01", DistributionKind.INTEREST)):
        own = [r for r in foreign if r["Box 1 Income code"] == code]
        assert _total(own, "Box 2 Gross income") == sums(False, kind)[0]
        assert _total(own, "Box 7a Federal tax withheld") == sums(False, kind)[1]
    assert len({r["Recipient holder id"] for r in div}) == len(div)  # one 1099-DIV per recipient
    assert {r["Recipient holder id"] for r in div + interest}.isdisjoint({r["Recipient holder id"] for r in foreign})
    Distribution.objects.filter(offering=offering).delete()


def _payer_on_file(issuer) -> None:
    from distributions.services.payer import PayerInput, issuer_payer_set
    from distributions.tests.support import second_admin

    issuer_payer_set(
        issuer=issuer,
        actor=second_admin(issuer, email="payer@harbor.example"),
        data=PayerInput("12-3456789", "100 Harbor Street", "Suite 4", "Boston", "MA", "02110"),
    )


def test_the_1099_forms_name_the_payer_by_its_ein_and_address(cast, year: Year) -> None:
    blank = _by(_csv(year.offering, "form_1099_div", tax_year=2026))["Alice Adams"]
    assert (blank["Payer's TIN"], blank["Payer's address"]) == ("", "")  # not given yet: left blank, never made up

    _payer_on_file(cast.issuer)
    year.offering.issuer.refresh_from_db()
    for identifier, name in (("form_1099_div", "Alice Adams"), ("form_1099_int", "Bob Becker")):
        row = _by(_csv(year.offering, identifier, tax_year=2026))[name]
        assert row["Payer"] == cast.issuer.legal_name
        assert row["Payer's TIN"] == "12-3456789"
        assert row["Payer's address"] == "100 Harbor Street, Suite 4"
        assert row["Payer's city, state and ZIP"] == "Boston, MA 02110"
        assert row["Payer country"] == "US"


def test_1042s_names_the_withholding_agent_and_fills_the_chapter_4_boxes(cast, year: Year) -> None:
    _payer_on_file(cast.issuer)
    year.offering.issuer.refresh_from_db()
    rows = _csv(year.offering, "form_1042s", tax_year=2026)
    forms = {(r["Recipient name"], r["Box 1 Income code"]): r for r in rows}
    chen, dana = forms["Chen Wei", "06"], forms["Dana Dietrich", "06"]

    for row in (chen, dana):
        # Boxes 12a-12i: the issuer, a US withholding agent other than a financial institution (02, both chapters).
        assert row["Box 12a Withholding agent's EIN"] == "12-3456789"
        assert row["Box 12d Withholding agent's name"] == cast.issuer.legal_name
        assert (row["Box 12b Ch. 3 status code"], row["Box 12c Ch. 4 status code"]) == ("02", "02")
        assert row["Box 12h Address"] == "100 Harbor Street, Suite 4"
        assert row["Box 12i City, state, ZIP"] == "Boston, MA 02110"
        assert row["Box 12f Country code"] == "US"
        # Individuals: withheld under chapter 3; chapter 4 does not reach them (exemption 15 at 0.00 %, status 23).
        assert row["Box 3 Chapter indicator"] == "3"
        assert (row["Box 4a Ch. 4 exemption code"], row["Box 4b Ch. 4 tax rate (%)"]) == ("15", "0.00")
        assert row["Box 13g Ch. 4 status code"] == "23"
    assert chen["Box 13f Ch. 3 status code"] == "16"  # an individual with a valid W-8BEN
    assert dana["Box 13f Ch. 3 status code"] == "21"  # no valid W-8: an unknown recipient under the presumption rules


def _chen_as_a_corporation(year: Year, chapter_4_status: str) -> dict[str, str]:
    """Chen Wei as a corporation whose W-8BEN-E (the form behind his payments) certifies `chapter_4_status`."""
    year.chen.kind, year.chen.entity_type = "entity", "corporation"
    year.chen.save()
    TaxForm.objects.filter(investor=year.chen).update(kind="w8bene", chapter_4_status=chapter_4_status)
    return {(r["Recipient name"], r["Box 1 Income code"]): r for r in _csv(year.offering, "form_1042s", tax_year=2026)}[
        "Chen Wei", "06"
    ]


@pytest.mark.parametrize(
    ("status", "boxes"),
    [
        # Not subject to chapter 4 withholding by its status: exemption 15 at 0.00 %, and the status's own code.
        ("participating_ffi", ("15", "0.00", "05")),
        ("registered_deemed_compliant_ffi", ("15", "0.00", "09")),
        ("active_nffe", ("15", "0.00", "22")),
        ("passive_nffe", ("15", "0.00", "20")),
        ("passive_nffe_us_owners", ("15", "0.00", "19")),
        # A status the code list has no line for: left for the issuer's adviser, never another status's code.
        ("exempt_beneficial_owner", ("", "", "")),
        ("direct_reporting_nffe", ("", "", "")),
        # Chapter 4 withholds from a nonparticipating FFI; the portal does not, so no exemption is claimed for it.
        ("nonparticipating_ffi", ("", "", "15")),
        # A W-8BEN-E signed before the portal asked for the status: left for the issuer's adviser.
        ("", ("", "", "")),
    ],
)
def test_1042s_gives_an_entitys_chapter_4_status_from_its_w8bene(
    cast, year: Year, status: str, boxes: tuple[str, str, str]
) -> None:
    chen = _chen_as_a_corporation(year, status)
    assert chen["Box 13f Ch. 3 status code"] == "15"  # a corporation
    assert (
        chen["Box 4a Ch. 4 exemption code"],
        chen["Box 4b Ch. 4 tax rate (%)"],
        chen["Box 13g Ch. 4 status code"],
    ) == boxes


def test_every_w8bene_chapter_4_status_has_a_1042s_code_or_is_left_for_the_adviser() -> None:
    assert set(CHAPTER_4_ENTITY_STATUS) | CHAPTER_4_LEFT_FOR_ADVISER == set(Chapter4Status.values)
    assert not set(CHAPTER_4_ENTITY_STATUS) & CHAPTER_4_LEFT_FOR_ADVISER
    assert all(len(code) == 2 and code.isdigit() for code in CHAPTER_4_ENTITY_STATUS.values())


def test_a_foreign_issuer_leaves_the_withholding_agent_status_codes_for_its_adviser(cast, year: Year) -> None:
    cast.issuer.country = "KY"
    cast.issuer.save()
    row = _csv(year.offering, "form_1042s", tax_year=2026)[0]
    assert (row["Box 12b Ch. 3 status code"], row["Box 12c Ch. 4 status code"], row["Box 12f Country code"]) == (
        "",
        "",
        "KY",
    )
