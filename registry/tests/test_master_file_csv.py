"""The master file's CSV is written a chunk of lines at a time; it is the file the rows define, byte for byte."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from investors.models import InvestorProfile, TaxForm, TaxFormKind
from offerings.models import Offering
from registry.exporters import ExportParams, exporter_get
from registry.exporters.base import Exporter
from registry.exporters.master_file import MasterFileExporter
from registry.models import Lot
from registry.tests.ledger_rows import Register, mints_bulk

pytestmark = pytest.mark.django_db

NOW = timezone.now()
ISSUED = NOW - dt.timedelta(days=120)
SOLD = NOW - dt.timedelta(days=30)
BEFORE_SALE = (NOW - dt.timedelta(days=60)).date()
FORMULAS = ["=1+2", "+31 20 555 0100", "-5", "@SUM(A1)", "\tTab", "\rReturn"]
AWKWARD = ["Comma, Inc.", 'The "Quoted" Fund', "Line\nbreak", "Crème Brûlée GmbH", "李小龍"]
_wallets = itertools.count(0xF000)


def _wallet() -> str:
    return f"0x{next(_wallets):040x}"


def _per_row(offering: Offering, **params) -> str:
    """The file as the rows define it: `core.csv.csv_lines` over `MasterFileExporter.rows`, one line each."""
    exporter = exporter_get("master_file")
    return "".join(text for _, text in Exporter.csv_text(exporter, offering, ExportParams(**params)))


def _written(offering: Offering, **params) -> str:
    out = io.BytesIO()
    exporter_get("master_file").write(offering=offering, params=ExportParams(**params), fmt="csv", out=out)
    return out.getvalue().decode("utf-8")


def _holder(name: str, *, line1: str = "1 Main St", city: str = "Springfield") -> InvestorProfile:
    from investors.tests.support import verified_investor

    investor = verified_investor(name=name, accreditation="verified", wallet=None)
    investor.address_line1, investor.city = line1, city
    investor.save()
    return investor


@pytest.fixture
def offering(cast, registry) -> Offering:
    from offerings.tests.support import offering_open

    return offering_open(cast.issuer, cast.admin)


def test_names_and_addresses_that_look_like_formulas_or_need_quotes_are_written_as_the_rows_define(
    offering: Offering,
) -> None:
    register = Register(offering=offering)
    holders = [_holder(name, line1=name, city=name) for name in FORMULAS + AWKWARD]
    for n, holder in enumerate(holders):
        register.mint(holder, _wallet(), 10 + n, at=ISSUED)
    TaxForm.objects.create(investor=holders[0], kind=TaxFormKind.W9, signer_name="x", signed_on=ISSUED.date())
    register.mint(None, _wallet(), 7, at=ISSUED)  # a wallet nobody linked

    written = _written(offering)
    assert written == _per_row(offering)
    names = [row["Registered name"] for row in csv.DictReader(io.StringIO(written))]
    assert names[: len(FORMULAS)] == ["'" + name for name in FORMULAS]
    assert names[len(FORMULAS) : len(FORMULAS) + len(AWKWARD)] == AWKWARD
    assert names[-1] == "Wallet not linked to a registered holder"


def test_a_wallet_or_currency_the_csv_writer_must_quote_or_neutralise_is_written_as_the_rows_define(
    offering: Offering,
) -> None:
    alice = _holder("Alice Adams")
    mints_bulk(offering, [(alice.pk, _wallet(), 3) for _ in range(4)], at=ISSUED)
    odd = Lot.objects.filter(offering=offering).order_by("pk")
    Lot.objects.filter(pk=odd[1].pk).update(wallet="=HYPERLINK(1)")
    Lot.objects.filter(pk=odd[2].pk).update(currency='U"S')

    written = _written(offering)
    assert written == _per_row(offering)
    wallets = [row["Wallet"] for row in csv.DictReader(io.StringIO(written))]
    assert wallets[1] == "'=HYPERLINK(1)"


def test_the_file_as_of_a_past_date_a_block_and_with_closed_lots_is_the_file_the_rows_define(
    offering: Offering,
) -> None:
    alice, bob, carol = _holder("Alice Adams"), _holder("=Bob"), _holder("Carol, C.")
    register = Register(offering=offering)
    register.mint(alice, "0x" + "a1" * 20, 200, at=ISSUED)
    register.mint(bob, "0x" + "b2" * 20, 300, at=ISSUED)
    block = register.block
    register.transfer("0x" + "a1" * 20, "0x" + "c3" * 20, 200, at=SOLD, from_investor=alice, to_investor=carol)

    for params in ({}, {"as_of_date": BEFORE_SALE}, {"as_of_block": block}, {"include_closed": True}):
        assert _written(offering, **params) == _per_row(offering, **params), params
    closed = list(csv.DictReader(io.StringIO(_written(offering, include_closed=True))))
    assert [r["Cancellation date"] for r in closed] == [SOLD.date().isoformat(), "", ""]


def test_the_export_leaves_no_table_behind_on_its_connection(offering: Offering) -> None:
    register = Register(offering=offering)
    register.mint(_holder("Alice Adams"), _wallet(), 5, at=ISSUED)
    before = set(connection.introspection.table_names(include_views=False))
    _written(offering)
    assert {t for t in connection.introspection.table_names() if t.startswith("tessera_holder_cells")} == set()
    assert set(connection.introspection.table_names(include_views=False)) == before


text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.one_of(text, st.sampled_from(FORMULAS + AWKWARD)), min_size=1, max_size=5),
    lots=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 10**12), st.booleans()), min_size=1, max_size=12),
    chunk=st.integers(1, 5),
)
def test_any_register_is_written_as_the_rows_define_it(offering: Offering, monkeypatch, names, lots, chunk) -> None:
    """Invariant: whatever the names, addresses and chunk size, the file equals the per-row definition."""
    Lot.objects.filter(offering=offering).delete()
    holders = [_holder(name or "x", line1=name, city=name[::-1]) for name in names]
    holdings = [
        (None if i >= len(holders) else holders[i].pk, "=x" if odd else _wallet(), quantity)
        for i, quantity, odd in lots
    ]
    mints_bulk(offering, holdings, at=ISSUED, first_block=next(_blocks))
    monkeypatch.setattr(MasterFileExporter, "chunk_size", chunk)
    assert _written(offering) == _per_row(offering)


_blocks = itertools.count(1_000, 1_000)


class _FullDisk(io.BytesIO):
    """A file that takes the header and the first chunk, then fails as a full disk would."""

    writes = 0

    def write(self, data) -> int:
        self.writes += 1
        if self.writes > 2:
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_a_file_that_fails_mid_way_stops_the_reading_ahead_and_leaves_no_table(offering: Offering, monkeypatch) -> None:
    """The next chunk is read in a thread while one is written: a write that fails ends that thread (nothing
    reads on the connection afterwards), the failure is the error, and the holders' table is dropped."""
    import threading

    alice = _holder("Alice Adams")
    mints_bulk(offering, [(alice.pk, _wallet(), 3) for _ in range(6)], at=ISSUED)
    monkeypatch.setattr(MasterFileExporter, "chunk_size", 2)
    with pytest.raises(OSError, match="No space left"):
        exporter_get("master_file").write(offering=offering, params=ExportParams(), fmt="csv", out=_FullDisk())
    assert not [t for t in threading.enumerate() if t.name == "master-file-read-ahead"]
    assert [t for t in connection.introspection.table_names() if t.startswith("tessera_holder_cells")] == []
    assert _written(offering) == _per_row(offering)  # and the connection serves the next export


def test_a_chunk_that_cannot_be_read_is_the_export_s_error(offering: Offering, monkeypatch) -> None:
    from django.db import DatabaseError

    from registry.exporters import master_file_csv

    alice = _holder("Alice Adams")
    mints_bulk(offering, [(alice.pk, _wallet(), 3) for _ in range(4)], at=ISSUED)
    real = master_file_csv._lot_chunks

    def failing(*args, **kwargs):
        chunks = real(*args, **kwargs)
        yield next(chunks)
        raise DatabaseError("the connection was lost")

    monkeypatch.setattr(master_file_csv, "_lot_chunks", failing)
    monkeypatch.setattr(MasterFileExporter, "chunk_size", 2)
    with pytest.raises(DatabaseError, match="connection was lost"):
        _written(offering)
