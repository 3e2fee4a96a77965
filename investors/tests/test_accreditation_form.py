"""The accreditation form shows the fields of the basis chosen: each set of fields is marked with the bases
that ask for it (the page hides the others), an entity is offered only the bases an entity can claim, and
figures typed for another basis are not kept."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from investors.models import AccreditationClaim
from investors.tests.support import investor_started, onboarded_individual

pytestmark = pytest.mark.django_db


def _page(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get("/onboarding/accreditation/").content.decode()


def test_each_basis_has_its_own_fields_on_the_page() -> None:
    page = _page(onboarded_individual().user)
    groups = dict(
        re.findall(
            r'data-basis="([^"]+)">(.*?)</div>\s*(?=<div class="basis-fields"|<div class="mb-3 form-check")', page, re.S
        )
    )
    assert 'name="income_last_year"' in groups["income joint_income"]
    assert 'name="net_worth"' in groups["net_worth"] and 'name="income_last_year"' not in groups["net_worth"]
    assert 'name="licence_crd_number"' in groups["professional_licence"]
    assert 'name="letter_date"' in groups["third_party_letter"]
    assert "entity_test" not in page  # an individual is not offered the entity test
    assert "js/accreditation.js" in page


def test_an_entity_is_offered_only_the_bases_an_entity_can_claim() -> None:
    page = _page(investor_started(kind="entity").user)
    assert 'value="entity_test"' in page and 'value="income"' not in page and 'value="net_worth"' not in page


def test_figures_typed_for_another_basis_are_dropped_not_refused() -> None:
    investor = onboarded_individual()
    client = Client()
    client.force_login(investor.user)
    client.post(
        "/onboarding/accreditation/",
        {
            "action": "claim",
            "method": "net_worth",
            "net_worth": "1,500,000",
            "income_last_year": "1e5",
            "attested": "on",
        },
    )
    claim = AccreditationClaim.objects.get(investor=investor)
    assert claim.net_worth_cents == 1_500_000_00 and claim.income_last_year_cents is None
