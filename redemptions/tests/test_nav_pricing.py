"""A dealing day is priced at the token's approved NAV of that day from backing's NAV history (entered with its
statement, approved by a second admin) when the history has one; a NAV typed for the day gives way to it, and one
cannot be typed once it is there. Without one, the NAV typed for the day prices it as before."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backing.services.nav import nav_terms_save
from backing.tests.test_nav import nav_approved
from core.errors import Conflict
from core.models import AuditEvent
from distributions.tests.support import second_admin
from redemptions.models import DealingDay, DealingState, RedemptionRequest
from redemptions.services.dealing import dealing_day_nav_enter, dealing_day_price
from redemptions.tests.support import requested, settled_on_chain, terms_set
from registry.tests.conftest import Closed
from tokens.tests.support import WALLETS

pytestmark = [pytest.mark.chain]


def _cut_off_today(request: RedemptionRequest) -> DealingDay:
    """The request's dealing day is today's and its cut-off has just passed (a NAV is struck for a day passed)."""
    DealingDay.objects.filter(pk=request.dealing_day_id).update(
        dealing_date=timezone.localdate(), cutoff_at=timezone.now() - dt.timedelta(seconds=1)
    )
    return DealingDay.objects.get(pk=request.dealing_day_id)


def _requested_and_frozen(closed: Closed, cast) -> tuple[RedemptionRequest, RedemptionRequest]:
    terms_set(closed.offering, cast.admin)
    nav_terms_save(offering=closed.offering, scale=8, priced_at_nav=False, cutoff=dt.time(16, 0), actor=cast.admin)
    alice = requested(closed.offering, closed.alice, WALLETS[0], 150)
    bob = requested(closed.offering, closed.bob, WALLETS[2], 100)
    settled_on_chain(closed)
    return alice, bob


@pytest.mark.django_db
def test_the_day_is_priced_at_the_approved_nav_of_the_day_without_anyone_typing_it(closed: Closed, cast) -> None:
    alice, bob = _requested_and_frozen(closed, cast)
    day = _cut_off_today(alice)
    point = nav_approved(closed.offering, cast.admin, second_admin(cast.issuer), day.dealing_date, "1.02345678")

    day = dealing_day_price(day_id=day.pk)
    assert day.state == DealingState.PRICED and day.nav_point == point
    assert (day.nav_per_unit, day.nav_scale) == (102_345_678, 8)
    assert day.nav_source.startswith(
        f"Approved NAV of {day.dealing_date:%d %B %Y}, published by Harbor Fund Administration Ltd"
    )
    alice.refresh_from_db()
    bob.refresh_from_db()
    # 150 × 1.02345678 = 153.518517 → 153.51, fee 25 bps 0.38; 100 units → 102.34, fee 0.26.
    assert (alice.gross_minor, alice.fee_minor, alice.net_minor) == (153_51, 38, 153_13)
    assert (bob.gross_minor, bob.fee_minor, bob.net_minor) == (102_34, 26, 102_08)
    event = AuditEvent.objects.get(action="redemption.nav_from_history", object_id=str(day.pk))
    assert event.after is not None and (event.after["nav_point"], event.after["nav"]) == (point.pk, "1.02345678")


@pytest.mark.django_db
def test_a_typed_nav_gives_way_to_the_approved_one_and_none_is_typed_once_it_is_there(closed: Closed, cast) -> None:
    alice, _ = _requested_and_frozen(closed, cast)
    day = _cut_off_today(alice)
    dealing_day_nav_enter(day=day, actor=cast.admin, nav="1.10", source="A figure from the manager's e-mail")
    point = nav_approved(closed.offering, cast.admin, second_admin(cast.issuer), day.dealing_date, "1.02345678")

    client = Client()
    client.force_login(cast.admin)
    url = reverse("dealing_day_detail", args=[cast.issuer.slug, day.public_id])
    page = client.get(url).content.decode()
    assert "The token's NAV history holds the approved NAV of" in page and "1.02345678 USD" in page
    assert 'aria-label="The dealing day\'s NAV"' not in page  # no form to type one over it
    with pytest.raises(Conflict, match=r"approved in the token's NAV history \(1\.02345678 USD, published by"):
        dealing_day_nav_enter(day=day, actor=cast.admin, nav="1.20", source="Another figure")

    day = dealing_day_price(day_id=day.pk)
    assert day.state == DealingState.PRICED and day.nav_point == point and day.nav_per_unit == 102_345_678
    event = AuditEvent.objects.get(action="redemption.nav_from_history", object_id=str(day.pk))
    assert event.after is not None
    assert event.after["replaced"] == {"nav": "1.10000000", "nav_source": "A figure from the manager's e-mail"}


@pytest.mark.django_db
def test_without_an_approved_nav_of_the_day_the_typed_one_prices_it(closed: Closed, cast) -> None:
    alice, _ = _requested_and_frozen(closed, cast)
    day = _cut_off_today(alice)
    # A NAV of the day before is in the history, and one of the day waits for its approval: neither counts.
    nav_approved(
        closed.offering, cast.admin, second_admin(cast.issuer), day.dealing_date - dt.timedelta(days=1), "1.30"
    )
    from backing.tests.test_nav import nav_entered

    nav_entered(closed.offering, cast.admin, day.dealing_date, "1.40")
    assert dealing_day_price(day_id=day.pk).state == DealingState.CUT_OFF  # waits for a NAV
    dealing_day_nav_enter(day=day, actor=cast.admin, nav="1.02345678", source="Administrator's NAV statement")
    day = dealing_day_price(day_id=day.pk)
    assert day.state == DealingState.PRICED and day.nav_point is None and day.nav_per_unit == 102_345_678
    assert day.nav_source == "Administrator's NAV statement"
