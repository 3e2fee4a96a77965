"""Whatever restrictions are combined (a pause, frozen wallets on either side, a frozen amount, a quantity above or
below what is free), the token answers with the rule it checks first, and the portal's first reason in the token's
order of checks names that same code. Each example is set up through the portal's token administration on a real
anvil and undone after (chain snapshot, database savepoint)."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.tests.conftest import Closed
from tokens.tests.support import WALLETS
from transfers.eligibility import transfer_eligibility
from transfers.tests.support import frozen_amount, frozen_wallet, paused

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ALICE, BOB = WALLETS[0], WALLETS[2]


# Each example sends a few transactions on a shared, loaded machine: few examples, no deadline.
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    pause=st.booleans(),
    sender_frozen=st.booleans(),
    receiver_frozen=st.booleans(),
    frozen=st.integers(0, 200),
    quantity=st.integers(1, 260),
)
def test_any_combination_of_restrictions_gets_the_same_first_answer_from_both_sides(
    closed: Closed,
    cast,
    chain_settings,
    pause: bool,
    sender_frozen: bool,
    receiver_frozen: bool,
    frozen: int,
    quantity: int,
) -> None:
    snapshot = chain_settings.rpc("evm_snapshot")
    try:
        with transaction.atomic():
            if frozen:
                frozen_amount(closed, cast.admin, ALICE, frozen)
            if sender_frozen:
                frozen_wallet(closed, cast.admin, ALICE)
            if receiver_frozen:
                frozen_wallet(closed, cast.admin, BOB)
            if pause:
                paused(closed, cast.admin)
            check = transfer_eligibility(offering=closed.offering, from_wallet=ALICE, to_wallet=BOB, quantity=quantity)
            assert check.token is not None
            assert check.portal_restriction == check.token.code, (check.token, [r.as_dict() for r in check.reasons])
            assert check.allowed == (check.token.code == 0)
            transaction.set_rollback(True)
    finally:
        assert chain_settings.rpc("evm_revert", [snapshot]) is True
