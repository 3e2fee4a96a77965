"""Every page writes money, quantities and moments one way (core/templatetags/formatting.py, loaded on every
template): money with separators and its currency from minor units, never the minor units themselves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from core.models import Issuer
from core.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR, Money, amount_parse
from core.tests.support import Cast


def _render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_money_reads_as_money_on_any_template_without_loading_anything() -> None:
    assert _render("{{ a|money:'USD' }}", a=2_500_000) == "25,000.00 USD"
    assert _render("{{ a|money:c }}", a=1_234_567, c="JPY") == "1,234,567 JPY"
    assert _render("{{ a|money:'USD' }}", a=None) == "—"
    # A currency the portal does not know is never shown as if minor units were whole ones.
    assert _render("{{ a|money:'XYZ' }}", a=2_500) == "2,500 minor units of XYZ"
    assert _render("{{ a|usd }}", a=10_000_000_00) == "$10,000,000"
    assert _render("{{ a|usd }}", a=12_345) == "$123.45"


def test_quantities_carry_the_token_symbol_and_counts_their_separators() -> None:
    assert _render("{{ q|quantity:s }}", q=1250, s="HSCA") == "1,250 HSCA"
    assert _render("{{ q|units }}", q=1_000_000) == "1,000,000"
    assert _render("{{ q|units }}", q=None) == "—"


def test_days_and_moments_have_one_format_and_a_moment_names_its_time_zone(settings) -> None:
    moment = dt.datetime(2025, 3, 3, 14, 5, tzinfo=dt.UTC)
    assert _render("{{ m|when }}", m=moment) == "3 Mar 2025 14:05 UTC"
    assert _render("{{ m|day }}", m=dt.date(2025, 3, 3)) == "3 Mar 2025"
    assert _render("{{ m|day|default:'not yet' }}", m=None) == "not yet"
    settings.TIME_ZONE = "America/New_York"
    from django.utils import timezone

    with timezone.override("America/New_York"):
        assert _render("{{ m|when }}", m=moment) == "3 Mar 2025 09:05 EST"
        assert _render("{{ m|day }}", m=dt.datetime(2025, 3, 3, 2, 0, tzinfo=dt.UTC)) == "2 Mar 2025"


@given(minor=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR), currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_what_a_page_shows_parses_back_to_the_same_minor_units(minor: int, currency: str) -> None:
    shown = _render("{{ a|money:c }}", a=minor, c=currency)
    number, code = shown.rsplit(" ", 1)
    assert code == currency and amount_parse(number, currency) == minor
    assert Money(minor, currency).major_text().replace(",", "") == Money(minor, currency).major_text()


@pytest.mark.django_db
def test_the_four_eyes_threshold_is_typed_and_shown_as_money(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.admin)
    Issuer.objects.filter(pk=cast.issuer.pk).update(four_eyes_threshold_minor=5_000_00)
    page = client.get(f"/issuers/{cast.issuer.slug}/approvals/").content.decode()
    assert "Needed above $5,000" in page and 'value="5000.00"' in page and "minor units" not in page

    tighter = client.post(f"/issuers/{cast.issuer.slug}/approvals/threshold/", {"threshold_minor": "2,500.50"})
    assert tighter.status_code == 302
    assert Issuer.objects.get(pk=cast.issuer.pk).four_eyes_threshold_minor == 2_500_50

    looser = client.post(
        f"/issuers/{cast.issuer.slug}/approvals/threshold/", {"threshold_minor": "10000"}, follow=True
    ).content.decode()
    assert "Change the four-eyes threshold from $2,500.50 to $10,000 (0: every amount)" in looser

    wrong = client.post(
        f"/issuers/{cast.issuer.slug}/approvals/threshold/", {"threshold_minor": "1e5"}, follow=True
    ).content.decode()
    assert "Enter the threshold as a number, like 1000 or 1000.50." in wrong
    assert Issuer.objects.get(pk=cast.issuer.pk).four_eyes_threshold_minor == 2_500_50
