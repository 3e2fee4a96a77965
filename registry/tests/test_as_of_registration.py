"""As of a past date, the cap table and the master file show each holder's country and accreditation as
registered then (their holder record, 17Ad-10(f)), not as they are today."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from investors.models import AccreditationClaim, AccreditationStatus, HolderRecordVersion, InvestorProfile
from investors.services.holder_records import holder_record_update
from investors.tests.support import verified_investor
from offerings.tests.support import offering_open
from registry.exporters import ExportParams, exporter_get
from registry.selectors.cap_table import Accreditation, CapTableQuery, cap_table, holder_count, moment_of
from registry.selectors.ledger import AsOf
from registry.services.position_snapshots import position_snapshot_ensure
from registry.services.positions import positions_rebuild
from registry.tests.ledger_rows import Register

pytestmark = pytest.mark.django_db

NOW = timezone.now()
JOINED = NOW - dt.timedelta(days=400)
ISSUED = NOW - dt.timedelta(days=300)
THEN = (NOW - dt.timedelta(days=100)).date()


def _pending_holder_in_the_us() -> InvestorProfile:
    """A US holder registered 400 days ago whose accreditation claim was under review all along."""
    holder = verified_investor(name="Ines Ortega", country="US", accreditation=AccreditationStatus.PENDING, wallet=None)
    AccreditationClaim.objects.filter(investor=holder).update(submitted_at=JOINED)
    HolderRecordVersion.objects.filter(investor=holder).update(valid_from=JOINED)
    return holder


def _moves_to_germany_and_is_verified_today(holder: InvestorProfile) -> None:
    # As the profile and review services do: change the rows, then keep the holder's record.
    InvestorProfile.objects.filter(pk=holder.pk).update(country="DE")
    AccreditationClaim.objects.filter(investor=holder).update(
        status=AccreditationStatus.VERIFIED, expires_at=NOW + dt.timedelta(days=90)
    )
    holder.refresh_from_db()
    holder_record_update(investor=holder)


@pytest.fixture
def holder_who_changed(cast):
    offering = offering_open(cast.issuer, cast.admin)
    holder = _pending_holder_in_the_us()
    Register(offering=offering).mint(holder, "0x" + "c4" * 20, 120, at=ISSUED)
    positions_rebuild(offering=offering)
    _moves_to_germany_and_is_verified_today(holder)
    return offering, holder


def test_the_cap_table_as_of_a_past_date_shows_the_country_and_accreditation_registered_then(
    holder_who_changed,
) -> None:
    offering, _ = holder_who_changed
    past, census = cap_table(offering=offering, query=CapTableQuery(as_of=THEN))
    (row,) = past.rows
    assert (row.country, row.accreditation) == ("US", Accreditation.NONE)
    assert [s.label for s in census.by_country] == ["US"]
    assert census.holder_count.non_accredited == 1
    # Filters read the past registration too.
    assert cap_table(offering=offering, query=CapTableQuery(as_of=THEN, country="DE"))[0].rows == []

    today, census_now = cap_table(offering=offering, query=CapTableQuery())
    (row,) = today.rows
    assert (row.country, row.accreditation) == ("DE", Accreditation.VERIFIED)
    assert census_now.holder_count.non_accredited == 0


@pytest.mark.parametrize(
    "query, expected",
    [
        (CapTableQuery(), ("US", Accreditation.NONE)),
        (CapTableQuery(country="US"), ("US", Accreditation.NONE)),
        (CapTableQuery(country="DE"), None),
        (CapTableQuery(accreditation=Accreditation.NONE), ("US", Accreditation.NONE)),
        (CapTableQuery(accreditation=Accreditation.VERIFIED), None),
        (CapTableQuery(sort="country", descending=False), ("US", Accreditation.NONE)),
    ],
)
def test_the_cap_table_read_from_a_snapshot_filters_and_shows_the_registration_of_then(
    holder_who_changed, query: CapTableQuery, expected
) -> None:
    """The as-of page of a large register reads a snapshot: it shows, filters, counts and charts the holder
    as registered at the date, as the in-memory path does, not as the investor stands today."""
    offering, _ = holder_who_changed
    query = CapTableQuery(**{**query.__dict__, "as_of": THEN})
    snapshot = position_snapshot_ensure(offering=offering, moment=moment_of(THEN))
    page, census = cap_table(offering=offering, query=query, snapshot=snapshot)
    assert [(r.country, r.accreditation) for r in page.rows] == ([expected] if expected else [])
    assert [s.label for s in census.by_country] == ["US"]
    assert census.holder_count.non_accredited == 1


def test_the_holder_count_as_of_a_past_date_counts_the_non_accredited_of_then(holder_who_changed) -> None:
    offering, _ = holder_who_changed
    moment = dt.datetime.combine(THEN, dt.time.max, tzinfo=dt.UTC)
    then = holder_count(offering=offering, as_of=AsOf(at=moment))
    assert (then.holders, then.non_accredited) == (1, 1)
    now = holder_count(offering=offering)
    assert (now.holders, now.non_accredited) == (1, 0)


def test_the_master_file_as_of_a_past_date_shows_the_country_and_accreditation_registered_then(
    holder_who_changed,
) -> None:
    offering, _ = holder_who_changed

    def master_file(**params) -> dict[str, str]:
        out = io.BytesIO()
        exporter_get("master_file").write(offering=offering, params=ExportParams(**params), fmt="csv", out=out)
        (row,) = csv.DictReader(io.StringIO(out.getvalue().decode()))
        return row

    then = master_file(as_of_date=THEN)
    assert (then["Country"], then["Accreditation"]) == ("US", AccreditationStatus.PENDING.label)
    now = master_file()
    assert (now["Country"], now["Accreditation"]) == ("DE", AccreditationStatus.VERIFIED.label)
