"""Reinvestment without a chain: the split of a net into whole tokens and cash, the cut-off at the record
moment, the investor's election page, and the preview register's reinvestment columns."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from compliance.exemptions import Exemption
from core.models import AuditEvent
from distributions.models import (
    DestinationStatus,
    Distribution,
    DistributionLine,
    DistributionState,
    ReinvestmentElection,
    WithholdingReason,
)
from distributions.reinvestment import reinvestment_split
from distributions.selectors import reinvestment_elected
from distributions.services.electing import reinvestment_elect, reinvestment_withdraw
from investors.models import InvestorProfile
from investors.tests.support import verified_investor
from offerings.models import Offering, Subscription, SubscriptionStatus
from offerings.tests.support import offering_draft, offering_open, subscribed
from tokens.models import ContractDeployment, ContractKind


@given(net=st.integers(min_value=0, max_value=10**15), price=st.integers(min_value=1, max_value=10**12))
def test_a_reinvested_net_is_whole_tokens_at_the_price_and_less_than_one_token_in_cash(net: int, price: int) -> None:
    split = reinvestment_split(net_minor=net, price_minor=price)
    assert split.units * price + split.cash_minor == net
    assert 0 <= split.cash_minor < price
    assert split.units >= 0


def test_a_net_of_456_000_01_at_12_50_a_token_is_36_480_tokens_and_a_cent() -> None:
    assert reinvestment_split(net_minor=456_000_01, price_minor=12_50) == reinvestment_split(
        net_minor=36_480 * 12_50 + 1, price_minor=12_50
    )
    split = reinvestment_split(net_minor=456_000_01, price_minor=12_50)
    assert (split.units, split.cash_minor) == (36_480, 1)
    # Less than one token's price: all cash.
    assert reinvestment_split(net_minor=12_49, price_minor=12_50).units == 0


@pytest.fixture
def offering(cast) -> Offering:
    offering = offering_draft(cast.issuer, cast.admin)
    ContractDeployment.objects.create(
        chain_id=settings.CHAIN_ID,
        kind=ContractKind.SECURITY_TOKEN,
        owner_ref=offering.owner_ref,
        name=offering.token_name,
        address="0x" + "ab" * 20,
    )
    return offering


def _declared(cast, offering: Offering, *, record_at: dt.datetime, price: int | None = 12_50) -> Distribution:
    return Distribution.objects.create(
        offering=offering,
        kind="dividend",
        currency="USD",
        amount_basis="total",
        amount_minor=1_000_00,
        record_date=record_at.date(),
        record_at=record_at,
        payment_date=record_at.date() + dt.timedelta(days=14),
        payment_method="bank_file",
        reinvestment_price_minor=price,
        declared_by=cast.admin,
    )


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _election(investor: InvestorProfile, offering: Offering, *, at: dt.datetime, withdrawn: dt.datetime | None = None):
    election = ReinvestmentElection.objects.create(investor=investor, offering=offering)
    ReinvestmentElection.objects.filter(pk=election.pk).update(elected_at=at, withdrawn_at=withdrawn)
    return election


@pytest.mark.django_db
def test_only_elections_open_at_the_record_moment_count_not_those_made_or_withdrawn_after(cast, offering) -> None:
    record_at = timezone.now() - dt.timedelta(days=1)
    before, after = record_at - dt.timedelta(hours=1), record_at + dt.timedelta(hours=1)
    early = verified_investor()
    late = verified_investor()
    withdrew_later = verified_investor()
    withdrew_before = verified_investor()
    _election(early, offering, at=before)
    _election(late, offering, at=after)  # made after the cut-off: counts from the next distribution
    _election(withdrew_later, offering, at=before, withdrawn=after)  # still counts for this one
    _election(withdrew_before, offering, at=before - dt.timedelta(hours=1), withdrawn=before)

    assert reinvestment_elected(offering=offering, at=record_at) == {early.pk, withdrew_later.pk}
    # Today, the open elections are another set: the register does not read "now".
    assert reinvestment_elected(offering=offering, at=timezone.now()) == {early.pk, late.pk}


@pytest.mark.django_db
def test_an_investor_elects_and_withdraws_reinvestment_from_the_portfolio_and_each_step_is_audited(cast) -> None:
    investor = verified_investor(user=cast.investor, accreditation="self_certified")
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    # The investor holds the token (issued, not yet on the ledger).
    Subscription.objects.filter(pk=subscribed(offering, investor, 1_000_00).pk).update(
        status=SubscriptionStatus.ISSUED, issued_at=timezone.now()
    )
    distribution = _declared(cast, offering, record_at=timezone.now() + dt.timedelta(days=7))
    client = _client(cast.investor)
    url = reverse("reinvestment_election", args=[offering.public_id])

    portfolio = client.get(reverse("portfolio")).content.decode()
    assert "Reinvesting distributions" in portfolio and f'href="{url}">Elect reinvestment…' in portfolio
    page = client.get(url).content.decode()
    assert "You are paid in cash" in page
    assert "at the price per token its issuer declared for that distribution" in page
    assert "the part below one token's price is paid to you in cash" in page
    assert "if it is made before that distribution's record date" in page
    assert f"record date <strong>{distribution.record_date:%-d %b %Y}</strong>" in page
    assert "12.50 USD per token" in page

    done = client.post(url, {"choice": "elect"}, follow=True).content.decode()
    assert "Reinvestment elected for" in done and "You reinvest" in done
    client.post(url, {"choice": "elect"})  # asked twice: one election
    election = ReinvestmentElection.objects.get(investor=investor, offering=offering)
    assert election.withdrawn_at is None
    assert (
        AuditEvent.objects.filter(action="distribution.reinvestment_elected", object_id=str(election.pk)).count() == 1
    )

    portfolio = client.get(reverse("portfolio")).content.decode()
    assert '<span class="badge text-bg-info">Reinvest</span>' in portfolio and "Withdraw…" in portfolio
    done = client.post(url, {"choice": "withdraw"}, follow=True).content.decode()
    assert "Reinvestment withdrawn" in done and "You are paid in cash" in done
    election.refresh_from_db()
    assert election.withdrawn_at is not None
    assert AuditEvent.objects.filter(action="distribution.reinvestment_withdrawn", object_id=str(election.pk)).exists()


@pytest.mark.django_db
def test_a_token_without_a_distribution_offering_reinvestment_cannot_be_elected(cast, offering) -> None:
    investor = verified_investor(user=cast.investor)
    _declared(cast, offering, record_at=timezone.now() + dt.timedelta(days=7), price=None)
    url = reverse("reinvestment_election", args=[offering.public_id])
    assert _client(cast.investor).get(url).status_code == 404
    assert _client(cast.investor).post(url, {"choice": "elect"}).status_code == 404
    assert not ReinvestmentElection.objects.exists()
    with pytest.raises(Exception, match="does not offer reinvestment"):
        reinvestment_elect(investor=investor, offering=offering, actor=cast.investor)
    assert reinvestment_withdraw(investor=investor, offering=offering, actor=cast.investor) is None


@pytest.mark.django_db
def test_the_preview_register_shows_reinvested_tokens_and_cash_per_line_and_in_total(cast, offering) -> None:
    distribution = _declared(cast, offering, record_at=timezone.now() - dt.timedelta(days=1))
    reinvesting, cash_only = verified_investor(), verified_investor()
    split = reinvestment_split(net_minor=76_00, price_minor=12_50)
    for n, (investor, reinvests) in enumerate(((reinvesting, True), (cash_only, False))):
        DistributionLine.objects.create(
            distribution=distribution,
            line_index=n,
            investor=investor,
            balance_at_record=10,
            gross_minor=100_00,
            withholding_rate_bps=2400,
            withholding_reason=WithholdingReason.US_BACKUP,
            withheld_minor=24_00,
            net_minor=76_00,
            reinvest=reinvests,
            reinvest_units=split.units if reinvests else 0,
            cash_minor=split.cash_minor if reinvests else 76_00,
            destination_status=DestinationStatus.BANK_MISSING,
            idempotency_key=f"test:{n}",
        )
    Distribution.objects.filter(pk=distribution.pk).update(
        register_computed_at=timezone.now(),
        holders=2,
        total_gross_minor=200_00,
        total_withheld_minor=48_00,
        total_net_minor=152_00,
        state=DistributionState.DRAFT,
    )
    html = (
        _client(cast.admin)
        .get(reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id]))
        .content.decode()
    )
    assert "Reinvested tokens" in html
    assert f'<dd class="col-6 text-end" id="reinvest-units">6 {offering.token_symbol}</dd>' in html
    # 6 tokens at 12.50 = 75.00 reinvested; 1.00 in cash to the reinvesting holder, 76.00 to the other.
    assert '<dd class="col-6 text-end" id="total-cash">77.00 USD</dd>' in html
