"""Each person's home is their work: an issuer admin sees their offerings, the raises in progress and what waits
for them; a compliance officer their review queue; a transfer agent, staff and platform compliance land on the
page that is their work; investor onboarding shows for investors only (second for staff who also invest)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from core.approvals import four_eyes_threshold_propose
from core.models import Role
from core.tests.factories import MembershipFactory, UserFactory
from core.tests.support import Cast
from investors.tests.support import investor_started, verified_investor
from offerings.selectors.home import form_d_due
from offerings.services.wires import wire_receipt_record
from offerings.tests.support import bank_reference_new, offering_open, subscribed

pytestmark = pytest.mark.django_db


def _home(user) -> tuple[int, str, str]:
    client = Client()
    client.force_login(user)
    response = client.get("/dashboard/")
    return response.status_code, response.get("Location", ""), response.content.decode()


def test_an_issuer_admin_sees_their_raises_and_what_waits_for_them_not_investor_onboarding(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, title="Harbor Street Class A")
    subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)
    wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.admin,
        reference="NO-SUCH-REFERENCE",
        amount_minor=1_500_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    second = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user
    four_eyes_threshold_propose(issuer=cast.issuer, actor=second, threshold_minor=1_000_000_00)

    status, _, html = _home(cast.admin)

    assert status == 200
    assert 'data-home-panel="issuer"' in html and "Harbor Street Class A" in html
    assert "2,000.00 USD of 100,000.00 USD · 1 investor" in html  # the raise in progress, as money
    assert "1 wire to match" in html
    assert "1 approval</a> another admin proposed: you are the second person" in html
    assert "Your investor account" not in html
    # The admin who proposed it is not asked to approve it.
    assert "another admin proposed" not in _home(second)[2]


def test_a_reg_d_offering_shows_when_form_d_is_due_once_it_has_sold(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    assert "Form D" not in _home(cast.admin)[2]
    subscription = subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)

    html = _home(cast.admin)[2]

    first_sale = timezone.localtime(subscription.signed_at).date()
    assert f"due {form_d_due(first_sale):%-d %b %Y}, 15 days after the first sale on {first_sale:%-d %b %Y}" in html


def test_form_d_due_on_a_weekend_or_holiday_moves_to_the_next_business_day() -> None:
    assert form_d_due(dt.date(2025, 3, 3)) == dt.date(2025, 3, 18)  # a Tuesday: 15 days on
    assert form_d_due(dt.date(2025, 3, 1)) == dt.date(2025, 3, 17)  # Sunday the 16th → Monday
    assert form_d_due(dt.date(2025, 6, 19)) == dt.date(2025, 7, 7)  # Friday 4 July, then the weekend


def test_a_compliance_officer_sees_the_review_queue(cast: Cast) -> None:
    status, _, html = _home(cast.compliance)
    assert status == 200
    assert 'data-home-panel="review-queue"' in html and "Open the review queue" in html
    assert 'data-home-panel="issuer"' not in html and "Your investor account" not in html


def test_a_transfer_agent_staff_and_platform_compliance_land_on_their_work(cast: Cast) -> None:
    assert _home(cast.agent)[:2] == (302, "/registry/")
    assert _home(cast.staff)[:2] == (302, "/staff/")
    assert _home(cast.platform_compliance)[:2] == (302, "/platform/compliance/")


def test_staff_who_also_invest_see_the_platform_first_and_their_onboarding_second(cast: Cast) -> None:
    investor_started(cast.staff)
    status, _, html = _home(cast.staff)
    assert status == 200
    assert html.index('data-home-panel="platform"') < html.index("Your investor account")


def test_an_investor_sees_onboarding_with_the_steps_the_onboarding_pages_count(cast: Cast) -> None:
    status, _, html = _home(cast.investor)
    assert status == 200
    assert "Your investor account" in html and "0 of 7 steps done" in html and "Start onboarding" in html
    assert 'data-home-panel="issuer"' not in html


def test_a_role_without_its_second_factor_sees_none_of_its_work(cast: Cast) -> None:
    admin = UserFactory.create(email="new-admin@harbor.example")
    MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN, user=admin)
    offering_open(cast.issuer, cast.admin, title="Secret Raise")
    status, _, html = _home(admin)
    assert status == 200 and "Secret Raise" not in html and "two-factor" in html
