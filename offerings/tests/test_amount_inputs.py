"""Amounts are typed the same way everywhere: the accreditation form and the subscription form use the same
text input (no browser number field, which would take "1e5"), and the server refuses "1e5", "-5" and "12.345"
in both with the same message, naming the field."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from core.tests.support import Cast
from investors.models import AccreditationClaim
from investors.tests.support import onboarded_individual, verified_investor
from offerings.tests.support import offering_open

pytestmark = pytest.mark.django_db

MESSAGES = {
    "1e5": "Enter the {label} as a number, like 1000 or 1000.50.",
    "-5": "The {label} cannot be negative.",
    "12.345": "The {label} has more decimal places than USD allows.",
}


def _errors(page: str) -> list[str]:
    return [html.unescape(e).strip() for e in re.findall(r'class="invalid-feedback d-block">([^<]+)<', page)]


@pytest.mark.parametrize("typed", list(MESSAGES))
def test_the_subscription_and_accreditation_forms_refuse_the_same_input_with_the_same_message(
    cast: Cast, typed: str
) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    verified_investor(user=cast.investor, accreditation="verified")
    investor_client = Client()
    investor_client.force_login(cast.investor)
    subscribe = investor_client.post(f"/offerings/{offering.public_id}/subscribe/", {"amount": typed})

    accreditor = onboarded_individual()
    client = Client()
    client.force_login(accreditor.user)
    claim = client.post(
        "/onboarding/accreditation/",
        {"action": "claim", "method": "net_worth", "net_worth": typed, "attested": "on"},
    )

    assert MESSAGES[typed].format(label="amount") in _errors(subscribe.content.decode())
    assert MESSAGES[typed].format(label="net worth excluding primary residence") in _errors(claim.content.decode())
    assert not AccreditationClaim.objects.filter(investor=accreditor).exists()


def test_both_forms_type_amounts_in_the_same_input(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    verified_investor(user=cast.investor, accreditation="verified")
    client = Client()
    client.force_login(cast.investor)
    subscribe = client.get(f"/offerings/{offering.public_id}/subscribe/").content.decode()
    accreditor = onboarded_individual()
    client.force_login(accreditor.user)
    accreditation = client.get("/onboarding/accreditation/").content.decode()
    for page, name in ((subscribe, "amount"), (accreditation, "net_worth")):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert tag is not None and 'type="text"' in tag[0] and 'inputmode="decimal"' in tag[0]
