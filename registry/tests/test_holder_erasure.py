"""Platform staff act on an investor's erasure request: their personal data is blanked and their account
closed, but their holder record is kept six years (17Ad-10(f)), so the master file and the cap table as of
the dates it was current still name them; a holder of record is not erased."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from investors.models import HolderRecordCause, HolderRecordVersion, InvestorProfile
from investors.tests.support import verified_investor
from offerings.tests.support import offering_open
from registry.exporters import ExportParams, exporter_get
from registry.selectors.cap_table import CapTableQuery, cap_table
from registry.services.positions import positions_rebuild
from registry.tests.ledger_rows import Register

pytestmark = pytest.mark.django_db

NOW = timezone.now()
HELD = (NOW - dt.timedelta(days=60)).date()
W = ["0x" + "f1" * 20, "0x" + "f2" * 20]


@pytest.fixture
def sold_out(cast):
    """Erin held 100 units from 90 days ago and sold them all to Frank 30 days ago."""
    offering = offering_open(cast.issuer, cast.admin)
    erin = verified_investor(name="Erin Marlow", wallet=None)
    # Registered with her address from the start, 120 days ago.
    InvestorProfile.objects.filter(pk=erin.pk).update(address_line1="3 Elm Row", city="Leeds")
    HolderRecordVersion.objects.filter(investor=erin).update(
        address_line1="3 Elm Row", city="Leeds", valid_from=NOW - dt.timedelta(days=120)
    )
    erin.refresh_from_db()
    frank = verified_investor(name="Frank Hale", wallet=None)
    r = Register(offering=offering)
    r.mint(erin, W[0], 100, at=NOW - dt.timedelta(days=90))
    r.transfer(W[0], W[1], 100, at=NOW - dt.timedelta(days=30), from_investor=erin, to_investor=frank)
    positions_rebuild(offering=offering)
    return offering, erin, frank, r


def _erase(cast, investor):
    client = Client()
    client.force_login(cast.staff)
    url = reverse("staff_investor_erasure", args=[investor.public_id])
    return client, client.post(url, {"confirmed": "on"}, follow=True)


def _master_file(offering, **params) -> list[dict[str, str]]:
    out = io.BytesIO()
    exporter_get("master_file").write(offering=offering, params=ExportParams(**params), fmt="csv", out=out)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode())))


def test_an_erased_holder_still_appears_as_registered_in_exports_as_of_when_they_held_units(cast, sold_out) -> None:
    offering, erin, _frank, _ = sold_out
    _, response = _erase(cast, erin)
    assert response.status_code == 200 and 'id="erased"' in response.content.decode()

    erin.refresh_from_db()
    assert erin.legal_name == "(erased)" and erin.address_line1 == "" and erin.tax_id == ""
    assert not erin.user.is_active and "Erin" not in erin.user.email
    record = HolderRecordVersion.objects.get(investor=erin, legal_name="Erin Marlow")
    assert record.ended_by == HolderRecordCause.ERASED and record.valid_to is not None
    assert record.retain_until is not None and record.retain_until.year == record.valid_to.year + 6
    assert not HolderRecordVersion.objects.filter(investor=erin, valid_to__isnull=True).exists()

    # As of a day she held units, the master file and the cap table name her as registered then.
    (then,) = [row for row in _master_file(offering, as_of_date=HELD) if row["Quantity"] == "100"]
    assert then["Registered name"] == "Erin Marlow" and "3 Elm Row" in then["Registered address"]
    (row,) = cap_table(offering=offering, query=CapTableQuery(as_of=HELD))[0].rows
    assert row.name == "Erin Marlow"
    # Today the erased data shows nowhere, and the audit log records the erasure without it.
    closed = [row for row in _master_file(offering, include_closed=True) if row["Quantity"] == "0"]
    assert [row["Registered name"] for row in closed] == ["(erased)"]
    event = AuditEvent.objects.get(action="investor.erased")
    after = event.after or {}
    assert "Erin" not in json.dumps(after) and after["holder_record_retained_until"]


def test_a_holder_of_record_is_not_erased(cast, sold_out) -> None:
    _, _, frank, _ = sold_out
    _, response = _erase(cast, frank)
    html = response.content.decode()
    assert 'id="holder-of-record"' in html and "HSCA (100)" in html
    frank.refresh_from_db()
    assert frank.legal_name == "Frank Hale" and frank.user.is_active
    assert HolderRecordVersion.objects.filter(investor=frank, valid_to__isnull=True).exists()
    assert not AuditEvent.objects.filter(action="investor.erased").exists()


def test_a_second_erasure_changes_nothing_and_only_staff_open_the_page(cast, sold_out) -> None:
    _, erin, _, _ = sold_out
    _erase(cast, erin)
    _erase(cast, erin)
    assert AuditEvent.objects.filter(action="investor.erased").count() == 1
    url = reverse("staff_investor_erasure", args=[erin.public_id])
    for user in (cast.admin, cast.agent, cast.platform_compliance):
        client = Client()
        client.force_login(user)
        assert client.post(url, {"confirmed": "on"}).status_code == 403
