"""Withholding per holder, for each tax status: a certified W-9, none, a W-8 with a treaty claim, an
expired W-8, a W-8 without a claim, no form, and a return of capital."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from distributions.models import DistributionKind, WithholdingReason
from distributions.selectors import tax_standings
from distributions.tests.support import w8, w9
from distributions.withholding import TaxStatus, withholding_for
from investors.tests.support import verified_investor

PAYMENT = dt.date(2026, 12, 15)


def _rate(investor, *, kind: str = DistributionKind.DIVIDEND, payment_date: dt.date = PAYMENT) -> tuple[int, str]:
    standing = tax_standings(investor_ids=[investor.pk])[investor.pk]
    rule = withholding_for(status=standing.status, kind=kind, payment_date=payment_date)
    return rule.rate_bps, rule.reason


@pytest.mark.django_db
def test_a_us_holder_with_a_certified_w9_has_nothing_withheld() -> None:
    investor = verified_investor(country="US")
    w9(investor)
    assert _rate(investor) == (0, WithholdingReason.US_W9)


@pytest.mark.django_db
def test_a_us_holder_without_a_w9_has_24_percent_backup_withholding() -> None:
    investor = verified_investor(country="US")
    assert _rate(investor) == (2400, WithholdingReason.US_BACKUP)
    uncertified = verified_investor(country="US")
    w9(uncertified, certified=False)
    assert _rate(uncertified) == (2400, WithholdingReason.US_BACKUP)


@pytest.mark.django_db
def test_a_w9_that_does_not_certify_exemption_from_backup_withholding_is_withheld_at_24_percent() -> None:
    investor = verified_investor(country="US")
    w9(investor, exempt_from_backup=False)
    assert _rate(investor) == (2400, WithholdingReason.US_BACKUP_NOTICE)


@pytest.mark.django_db
def test_a_us_citizen_living_abroad_files_a_w9_not_a_w8() -> None:
    investor = verified_investor(country="DE", citizenship="US")
    w8(investor, signed_on=dt.date(2026, 2, 1), treaty_rate_bps=1500)  # the wrong form claims nothing
    assert _rate(investor) == (2400, WithholdingReason.US_BACKUP)


@pytest.mark.django_db
def test_a_treaty_rate_claimed_on_a_valid_w8ben_applies() -> None:
    investor = verified_investor(country="JP")
    w8(investor, signed_on=dt.date(2025, 6, 1), treaty_rate_bps=1000)
    assert _rate(investor) == (1000, WithholdingReason.TREATY)


@pytest.mark.django_db
def test_an_entity_claims_its_treaty_rate_on_a_w8bene() -> None:
    entity = verified_investor(country="GB", entity=True)
    form = w8(entity, signed_on=dt.date(2026, 3, 1), treaty_rate_bps=1500)
    assert form.kind == "w8bene"
    assert _rate(entity) == (1500, WithholdingReason.TREATY)


@pytest.mark.django_db
def test_a_w8_is_valid_to_the_end_of_the_third_calendar_year_after_signing_and_not_a_day_more() -> None:
    investor = verified_investor(country="JP")
    w8(investor, signed_on=dt.date(2023, 3, 1), treaty_rate_bps=1000)  # valid to 31 December 2026
    assert _rate(investor, payment_date=dt.date(2026, 12, 31)) == (1000, WithholdingReason.TREATY)
    assert _rate(investor, payment_date=dt.date(2027, 1, 1)) == (3000, WithholdingReason.NO_VALID_W8)


@pytest.mark.django_db
def test_an_expired_w8_means_the_statutory_30_percent() -> None:
    investor = verified_investor(country="DE")
    w8(investor, signed_on=dt.date(2021, 5, 1), treaty_rate_bps=1500)  # expired 31 December 2024
    assert _rate(investor) == (3000, WithholdingReason.NO_VALID_W8)


@pytest.mark.django_db
def test_a_non_us_holder_without_a_form_or_without_a_treaty_claim_is_withheld_at_30_percent() -> None:
    nothing = verified_investor(country="FR")
    assert _rate(nothing) == (3000, WithholdingReason.NO_VALID_W8)
    no_claim = verified_investor(country="FR")
    w8(no_claim, signed_on=dt.date(2026, 1, 10))
    assert _rate(no_claim) == (3000, WithholdingReason.W8_STATUTORY)


@pytest.mark.django_db
def test_only_the_current_form_counts_not_a_superseded_one() -> None:
    investor = verified_investor(country="JP")
    old = w8(investor, signed_on=dt.date(2026, 1, 10), treaty_rate_bps=1000)
    old.superseded_at = timezone.now()
    old.save(update_fields=["superseded_at"])
    assert _rate(investor) == (3000, WithholdingReason.NO_VALID_W8)


@pytest.mark.django_db
def test_a_return_of_capital_is_not_withheld_as_a_dividend_whatever_the_forms() -> None:
    us_without = verified_investor(country="US")
    foreign = verified_investor(country="DE")
    for investor in (us_without, foreign):
        assert _rate(investor, kind=DistributionKind.RETURN_OF_CAPITAL) == (0, WithholdingReason.RETURN_OF_CAPITAL)


def test_interest_follows_the_same_rates_as_dividends() -> None:
    treaty = TaxStatus(us_taxpayer=False, form_kind="w8ben", form_expires_on=dt.date(2027, 12, 31), treaty_rate_bps=0)
    assert withholding_for(status=treaty, kind=DistributionKind.INTEREST, payment_date=PAYMENT).rate_bps == 0
    assert withholding_for(status=TaxStatus(us_taxpayer=True), kind="interest", payment_date=PAYMENT).rate_bps == 2400
