"""After a step is saved the investor lands on the next step that still needs them, not on one already done."""

from __future__ import annotations

import pytest

from investors.tests.support import investor_started, onboarded_individual
from investors.views import _next

pytestmark = pytest.mark.django_db


def test_after_sending_accreditation_for_review_the_investor_lands_on_what_is_left() -> None:
    investor = onboarded_individual()  # details, documents and tax form done; no wallet yet
    assert _next(investor, "accreditation")["Location"] == "/onboarding/wallets/"  # not the tax form again


def test_a_new_investor_goes_on_to_their_details() -> None:
    assert _next(investor_started(), "kind")["Location"] == "/onboarding/details/"
