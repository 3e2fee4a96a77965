"""The offerings list tells a signed-in investor, per offering, whether they can invest and if not the short
reason; a permanent bar never reads as "not yet" and comes with no amount form; a subscription in progress
shows on the subscribe page with its next step before anything is typed."""

from __future__ import annotations

import pytest
from django.test import Client

from compliance.exemptions import Exemption
from core.tests.support import Cast
from investors.tests.support import verified_investor
from offerings.tests.support import offering_open, subscribed

pytestmark = pytest.mark.django_db


def _get(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    return client.get(url).content.decode()


def _card(html: str, title: str) -> str:
    start = html.index(f">{title}</a></h2>")
    return html[start : html.index("</article>", start)]


def test_each_offering_says_whether_the_investor_can_invest_and_if_not_why(cast: Cast) -> None:
    open_to_all = offering_open(cast.issuer, cast.admin, title="Harbor Notes", exemption=Exemption.REG_D_506C)
    offshore = offering_open(cast.issuer, cast.admin, title="Offshore Units", exemption=Exemption.REG_S)
    verified_investor(user=cast.investor, country="US", accreditation="verified")

    html = _get(cast.investor, "/offerings/")

    notes = _card(html, "Harbor Notes")
    assert 'data-standing="can-invest"' in notes and f"/offerings/{open_to_all.public_id}/subscribe/" in notes
    units = _card(html, "Offshore Units")
    assert 'data-standing="closed"' in units and "Not open to you:" in units and "Not yet" not in units
    assert "cannot be sold to US persons" in units and f"/offerings/{offshore.public_id}/subscribe/" not in units

    # No amount form where the answer cannot change.
    subscribe = _get(cast.investor, f"/offerings/{offshore.public_id}/subscribe/")
    assert "This offering is not open to you" in subscribe and 'name="amount"' not in subscribe
    assert "You cannot subscribe yet" not in subscribe


def test_an_investor_with_steps_left_reads_not_yet_and_where_to_take_them(cast: Cast) -> None:
    offering_open(cast.issuer, cast.admin, title="Harbor Notes")
    verified_investor(user=cast.investor, accreditation=None, wallet=None)

    card = _card(_get(cast.investor, "/offerings/"), "Harbor Notes")

    assert 'data-standing="not-yet"' in card and "Not yet:" in card and "What to do" in card


def test_a_subscription_in_progress_shows_with_its_next_step_before_the_form(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, title="Harbor Notes")
    investor = verified_investor(user=cast.investor, accreditation="verified")
    subscription = subscribed(offering, investor, 2_000_00)  # signed: the next step is paying

    page = _get(cast.investor, f"/offerings/{offering.public_id}/subscribe/")

    assert page.index('id="in-progress"') < page.index('name="amount"')
    assert "2,000.00 USD for 200 HSCA" in page
    assert f'href="/subscriptions/{subscription.public_id}/pay/" id="in-progress-next">Pay</a>' in page
    card = _card(_get(cast.investor, "/offerings/"), "Harbor Notes")
    assert 'data-standing="in-progress"' in card and f"/subscriptions/{subscription.public_id}/pay/" in card
