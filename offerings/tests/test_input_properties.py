"""Generated input through every offerings form and API that takes amounts, dates, countries or uploads:
never a server error, and a refused request stores nothing."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from compliance.exemptions import Exemption
from core.money import MAX_AMOUNT_MINOR
from core.tests.inputs import (
    AMOUNT_TEXT,
    COUNTRY,
    DATE_TEXT,
    MINOR_UNITS,
    UPLOAD,
    changed_tables,
    examples,
    rolled_back,
    stored_rows,
)
from investors.tests.support import verified_investor
from offerings.forms import CURRENCY_CHOICES
from offerings.models import Offering, Subscription, WireReceipt
from offerings.services.subscriptions import subscription_create
from offerings.services.wires import bank_statement_import
from offerings.tests.support import offering_draft, offering_open

pytestmark = pytest.mark.django_db
CURRENCIES = st.sampled_from([c for c, _ in CURRENCY_CHOICES] + ["", "XYZ", "usd"])


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _refused_or_done(response, before: dict[str, int], *tables: str) -> None:
    """A form page either re-renders with its errors and stores nothing, or redirects having stored
    one of the rows it makes (a wire above the four-eyes threshold is stored as a proposal)."""
    assert response.status_code in (200, 302), response.status_code
    changed = changed_tables(before)
    if response.status_code == 200:
        assert changed == set(), changed
    else:
        assert changed & set(tables), changed


@pytest.mark.parametrize(
    "amount", ["1e999999999", "1E+999999999", "9e99999999", "1" + "0" * 39, "NaN", "Infinity", "-1e5", "1e3"]
)
def test_an_exponent_or_a_huge_amount_is_refused_at_once_in_every_amount_field(cast, amount: str) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    verified_investor(user=cast.investor, accreditation="self_certified")
    investor, admin = _client(cast.investor), _client(cast.admin)
    started = time.monotonic()
    subscribe = investor.post(
        f"/offerings/{offering.public_id}/subscribe/",
        {"amount": amount, "annual_income": amount, "net_worth": amount},
    )
    wire = admin.post(
        f"/issuers/{cast.issuer.slug}/wires/",
        {
            "reference": "TSR-AAAA-BBBBB",
            "bank_reference": "FED0000000001",
            "amount": amount,
            "currency": "USD",
            "received_on": "2024-01-02",
        },
    )
    report = bank_statement_import(
        issuer=cast.issuer,
        actor=cast.admin,
        content=f"date,amount,currency,reference\n2024-01-02,{amount},USD,TSR-AAAA-BBBBB\n".encode(),
    )
    assert time.monotonic() - started < 5  # was about 30 s of CPU per parse of an exponent
    assert subscribe.status_code == 200 and not Subscription.objects.exists()
    assert wire.status_code == 200 and not WireReceipt.objects.exists()
    page = subscribe.content.decode() + wire.content.decode()
    assert "as a number" in page or "too long" in page or "too large" in page or "negative" in page
    assert report.recorded == [] and len(report.errors) == 1 and report.errors[0].startswith("Line 2:")


def test_a_bad_statement_line_is_reported_and_the_good_lines_imported(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=2_000_00)
    today = timezone.localdate().isoformat()
    content = (
        "date,amount,currency,reference,id\n"
        f"{today},1e30,USD,{subscription.wire_reference},b1\n"
        f"{today},{'9' * 25},USD,{subscription.wire_reference},b2\n"
        f'{today},"10.00",USD,"{"x" * 200_000}",b3\n'
        f"{today},2000.00,USD,{subscription.wire_reference},b4\n"
        f"{today},NaN,USD,unrelated,b5\n"
        f"{today},5.00,USD,unrelated,b6\n"
    ).encode()
    report = bank_statement_import(issuer=cast.issuer, actor=cast.admin, content=content)
    assert [r.bank_line_id for r in report.recorded] == ["b4", "b6"]
    assert [e.split(":")[0] for e in report.errors] == ["Line 2", "Line 3", "Line 4", "Line 6"]
    subscription.refresh_from_db()
    assert subscription.paid_minor == 2_000_00


def test_amounts_beyond_the_columns_are_refused_by_the_api(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    verified_investor(user=cast.investor, accreditation="self_certified")
    client = _client(cast.investor)
    for body in (
        {"amount_minor": 2**63},
        {"amount_minor": 1_000_00, "annual_income_minor": 10**30, "net_worth_minor": 1},
        {"amount_minor": MAX_AMOUNT_MINOR + 1},
    ):
        response = client.post(f"/api/v1/offerings/{offering.public_id}/subscriptions/", body, "application/json")
        assert response.status_code == 400, response.content
    assert not Subscription.objects.exists()


def test_generated_subscription_amounts(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    verified_investor(user=cast.investor, accreditation="self_certified")
    client = _client(cast.investor)
    url = f"/offerings/{offering.public_id}/subscribe/"

    @examples
    @given(amount=AMOUNT_TEXT, income=AMOUNT_TEXT, worth=AMOUNT_TEXT)
    def check(amount: str, income: str, worth: str) -> None:
        before = stored_rows()
        with rolled_back():
            response = client.post(url, {"amount": amount, "annual_income": income, "net_worth": worth})
            _refused_or_done(response, before, "offerings.Subscription")

    check()


def test_generated_api_amounts(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    verified_investor(user=cast.investor, accreditation="self_certified")
    client = _client(cast.investor)
    base = f"/api/v1/offerings/{offering.public_id}"

    @examples
    @given(
        amount=MINOR_UNITS,
        income=MINOR_UNITS,
        worth=MINOR_UNITS,
        path=st.sampled_from(["eligibility", "subscriptions"]),
    )
    def check(amount: object, income: object, worth: object, path: str) -> None:
        before = stored_rows()
        with rolled_back():
            body = {"amount_minor": amount, "annual_income_minor": income, "net_worth_minor": worth}
            response = client.post(f"{base}/{path}/", body, "application/json")
            assert response.status_code in (200, 201, 400, 409), (response.status_code, response.content[:300])
            changed = changed_tables(before)
            if response.status_code != 201:
                assert changed == set(), changed
            else:
                assert "offerings.Subscription" in changed

    check()


def test_generated_wires(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=2_000_00)
    client = _client(cast.admin)
    url = f"/issuers/{cast.issuer.slug}/wires/"

    @examples
    @given(
        amount=AMOUNT_TEXT,
        currency=CURRENCIES,
        received_on=DATE_TEXT,
        reference=st.one_of(st.just(subscription.wire_reference), st.text(max_size=150)),
        payer=st.text(max_size=210),
        bank_reference=st.one_of(st.from_regex(r"\AFED[0-9]{10}\Z"), st.text(max_size=40)),
    )
    def check(amount: str, currency: str, received_on: str, reference: str, payer: str, bank_reference: str) -> None:
        before = stored_rows()
        with rolled_back():
            data = {"reference": reference, "amount": amount, "currency": currency, "received_on": received_on}
            response = client.post(url, {**data, "payer": payer, "bank_reference": bank_reference})
            _refused_or_done(response, before, "offerings.WireReceipt", "core.ApprovalRequest")

    check()


def test_generated_statements(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=2_000_00)
    client = _client(cast.admin)
    url = f"/issuers/{cast.issuer.slug}/wires/import/"
    good_line = f"{timezone.localdate().isoformat()},2000.00,USD,{subscription.wire_reference}"
    line = st.one_of(
        st.tuples(DATE_TEXT, AMOUNT_TEXT, CURRENCIES, st.text(max_size=30)).map(
            lambda t: ",".join(part.replace(",", "").replace("\n", "").replace("\r", "") for part in t)
        ),
        st.text(max_size=60),
    )

    @examples
    @given(lines=st.lists(line, max_size=6), good_at=st.integers(min_value=0, max_value=6), raw=st.booleans())
    def check(lines: list[str], good_at: int, raw: bool) -> None:
        body = "\n".join([*lines[:good_at], good_line, *lines[good_at:]])
        content = body.encode() if raw else ("date,amount,currency,reference\n" + body).encode()
        before = stored_rows()
        with rolled_back():
            response = client.post(url, {"statement": _named(content)})
            assert response.status_code == 200
            if not raw:
                # The good line is recorded whatever the other lines hold.
                assert WireReceipt.objects.filter(reference=subscription.wire_reference).exists()
            elif not WireReceipt.objects.exists():
                assert changed_tables(before) == set()

    check()


def _named(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("statement.csv", content, content_type="text/csv")


def test_generated_offering_terms(cast) -> None:
    client = _client(cast.admin)
    url = f"/issuers/{cast.issuer.slug}/offerings/new/"

    @examples
    @given(
        amounts=st.lists(AMOUNT_TEXT, min_size=5, max_size=5),
        currency=CURRENCIES,
        dates=st.lists(st.one_of(DATE_TEXT, DATE_TEXT.map(lambda d: d + "T10:00")), min_size=2, max_size=2),
        countries=st.lists(COUNTRY, max_size=3),
        blocked=st.lists(COUNTRY, max_size=3),
        lockup=st.one_of(st.integers(), st.text(max_size=12)).map(str),
    )
    def check(amounts, currency, dates, countries, blocked, lockup) -> None:
        price, minimum, maximum, soft, hard = amounts
        data = {
            "title": "Generated",
            "security_type": "equity",
            "exemption": Exemption.REG_D_506C,
            "currency": currency,
            "price": price,
            "min_investment": minimum,
            "max_investment": maximum,
            "soft_cap": soft,
            "hard_cap": hard,
            "opens_at": dates[0],
            "closes_at": dates[1],
            "allowed_countries": countries,
            "blocked_countries": blocked,
            "token_name": "Generated",
            "token_symbol": "GEN",
            "lockup_days": lockup,
            "max_non_accredited": "",
        }
        before = stored_rows()
        with rolled_back():
            _refused_or_done(client.post(url, data), before, "offerings.Offering")

    check()


def test_generated_offering_documents(cast) -> None:
    offering = offering_draft(cast.issuer, cast.admin)
    client = _client(cast.admin)
    url = f"/issuers/{cast.issuer.slug}/offerings/{offering.public_id}/documents/"

    @examples
    @given(upload=UPLOAD, kind=st.sampled_from(["ppm", "subscription_agreement", "other", "bogus"]))
    def check(upload, kind: str) -> None:
        before = stored_rows()
        with rolled_back():
            response = client.post(url, {"kind": kind, "title": "", "file": upload, "change_note": ""})
            _refused_or_done(response, before, "offerings.OfferingDocument")

    check()
    assert Offering.objects.count() == 1


def test_generated_document_choices_when_signing(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(user=cast.investor, accreditation="verified")
    subscription = subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=2_000_00)
    client = _client(cast.investor)
    url = f"/subscriptions/{subscription.public_id}/sign/"

    @examples
    @given(documents=st.lists(st.one_of(st.text(max_size=25), st.integers().map(str), st.just("²")), max_size=4))
    def check(documents: list[str]) -> None:
        before = stored_rows()
        with rolled_back():
            response = client.post(url, {"documents": documents})
            assert response.status_code in (200, 302), response.status_code
            if response.status_code == 200:
                assert changed_tables(before) == set()

    check()
