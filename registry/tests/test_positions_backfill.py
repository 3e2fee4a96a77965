"""Upgrading a database whose register was posted before holder positions existed: the data migration
derives the positions, the holder changes and the day totals, so the cap table shows every holder without
anyone running `positions_rebuild`."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from investors.tests.support import verified_investor
from offerings.tests.support import offering_open
from registry.models import HolderPosition, LedgerPosting, RegisterDay
from registry.selectors.ledger import investor_totals
from registry.services.positions import positions_rebuild
from registry.tests.ledger_rows import Register

pytestmark = pytest.mark.django_db

BACKFILL = importlib.import_module("registry.migrations.0009_holder_positions_backfill")
BEFORE = ("registry", "0008_position_snapshots")
NOW = timezone.now()


def _run_backfill() -> None:
    """The migration's operation, on the models as they stood before it (its historical models)."""
    state = MigrationExecutor(connection).loader.project_state(BEFORE)
    BACKFILL.positions_backfill(state.apps, connection.schema_editor())


def _old_register(offering) -> dict[int, int]:
    """Ledger rows as a database posted before positions existed holds them: lots, movements, no positions."""
    alice = verified_investor(name="Alice Old", wallet=None)
    bob = verified_investor(name="Bob Old", wallet=None)
    r = Register(offering=offering)
    r.mint(alice, "0x" + "e1" * 20, 300, at=NOW - dt.timedelta(days=30))
    r.mint(bob, "0x" + "e2" * 20, 200, at=NOW - dt.timedelta(days=20))
    r.mint(None, "0x" + "e3" * 20, 5, at=NOW - dt.timedelta(days=20))
    r.transfer(
        "0x" + "e1" * 20, "0x" + "e2" * 20, 300, at=NOW - dt.timedelta(days=10), from_investor=alice, to_investor=bob
    )
    assert not HolderPosition.objects.filter(offering=offering).exists()
    return {alice.pk: 0, bob.pk: 500}


def test_the_upgrade_fills_the_positions_of_a_register_posted_before_they_existed(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    _old_register(offering)

    _run_backfill()

    positions = dict(HolderPosition.objects.filter(offering=offering).values_list("investor_id", "quantity").order_by())
    assert positions == investor_totals(offering=offering)
    assert sorted(positions.values()) == [5, 500]  # Alice sold everything: no position
    days = RegisterDay.objects.filter(offering=offering).aggregate(h=Sum("holders_delta"), s=Sum("supply_delta"))
    assert (days["h"], days["s"]) == (2, 505)
    assert LedgerPosting.objects.filter(offering=offering).aggregate(h=Sum("holders_delta"))["h"] == 2

    # The cap table reads the positions: both holders show, with the supply.
    client = Client()
    client.force_login(cast.admin)
    response = client.get(reverse("cap_table", args=[offering.issuer.slug, offering.public_id]))
    assert response.status_code == 200
    assert [r.quantity for r in response.context["page"].rows] == [500, 5]


def test_the_upgrade_leaves_a_register_whose_positions_are_kept_as_they_are(cast) -> None:
    kept = offering_open(cast.issuer, cast.admin)
    _old_register(kept)
    positions_rebuild(offering=kept)
    before = list(HolderPosition.objects.filter(offering=kept).values_list("pk", "investor_id", "quantity"))

    _run_backfill()

    assert list(HolderPosition.objects.filter(offering=kept).values_list("pk", "investor_id", "quantity")) == before
