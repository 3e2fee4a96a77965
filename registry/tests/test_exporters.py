"""Every register export, written and parsed back: CSV, XLSX and PDF, as of a date, a block or a period."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from investors.models import InvestorProfile, TaxForm, TaxFormKind
from offerings.models import Offering
from registry.exporters import ExportError, ExportParams, exporter_get
from registry.exporters.base import PDF_MAX_ROWS
from registry.models import (
    ControlBookEntry,
    ControlEntryKind,
    DifferenceKind,
    IssuerAuthorization,
    LedgerPosting,
    Lot,
    RecordDifference,
)
from registry.selectors.ledger import AsOf, wallet_balances
from registry.tests.ledger_rows import Register, mints_bulk
from tokens.models import ChainEvent

pytestmark = pytest.mark.django_db

WALLETS = [f"0x{n:040x}" for n in range(0xA1, 0xA6)]
NOW = timezone.now()
ISSUED = NOW - dt.timedelta(days=120)
SOLD = NOW - dt.timedelta(days=30)
BEFORE_SALE = (NOW - dt.timedelta(days=60)).date()


@dataclass
class Book:
    offering: Offering
    register: Register
    alice: InvestorProfile
    bob: InvestorProfile
    carol: InvestorProfile


def _tax_form(investor: InvestorProfile, kind: str, signed: dt.datetime) -> None:
    form = TaxForm.objects.create(
        investor=investor, kind=kind, signer_name=investor.legal_name, signed_on=signed.date()
    )
    TaxForm.objects.filter(pk=form.pk).update(created_at=signed)


@pytest.fixture
def book(cast, registry) -> Book:
    """Alice and Bob were issued 200 and 300 units 120 days ago; Alice sold hers to Carol 30 days ago."""
    from investors.tests.support import verified_investor
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    alice = verified_investor(name="Alice Adams", accreditation="verified", wallet=None)
    alice.address_line1, alice.city, alice.region, alice.postal_code = "1 Main St", "Springfield", "IL", "62701"
    alice.save()
    bob = verified_investor(name="Bob Becker", country="DE", wallet=None)
    carol = verified_investor(name='=HYPERLINK("http://evil.example")', wallet=None)
    _tax_form(alice, TaxFormKind.W9, ISSUED - dt.timedelta(days=5))
    alice.accreditation_claims.update(submitted_at=ISSUED - dt.timedelta(days=5))
    _tax_form(bob, TaxFormKind.W8BEN, ISSUED - dt.timedelta(days=5))
    register = Register(offering=offering)
    register.mint(alice, WALLETS[0], 200, at=ISSUED)
    register.mint(bob, WALLETS[1], 300, at=ISSUED)
    register.transfer(WALLETS[0], WALLETS[2], 200, at=SOLD, from_investor=alice, to_investor=carol)
    return Book(offering=offering, register=register, alice=alice, bob=bob, carol=carol)


def _export(offering: Offering, identifier: str, fmt: str = "csv", **params) -> bytes:
    out = io.BytesIO()
    exporter_get(identifier).write(offering=offering, params=ExportParams(**params), fmt=fmt, out=out)
    return out.getvalue()


def _csv(offering: Offering, identifier: str, **params) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_export(offering, identifier, **params).decode())))


def test_master_file_as_of_a_past_date_lists_the_holder_who_sold_later(book: Book) -> None:
    rows = _csv(book.offering, "master_file", as_of_date=BEFORE_SALE)

    by_name = {r["Registered name"]: r for r in rows}
    assert set(by_name) == {"Alice Adams", "Bob Becker"}
    alice = by_name["Alice Adams"]
    assert alice["Quantity"] == "200"
    assert alice["Holder id"] == book.alice.reference
    assert alice["Registered address"] == "1 Main St, Springfield, IL, 62701"
    assert alice["Country"] == "US"
    assert alice["Holder type"] == "Individual"
    assert alice["Tax form"] == "W-9"
    assert alice["Tax form status"] == "valid"
    assert alice["Accreditation"] == "Verified (Rule 506(c))"
    assert alice["Verification method"].startswith("Net worth")
    assert alice["Issue date"] == ISSUED.date().isoformat()
    assert alice["Exemption"] == "Regulation D, Rule 506(c)"
    assert alice["Legend"] == "Restricted securities (Securities Act of 1933)"
    assert alice["Wallet"] == WALLETS[0]
    assert alice["Cancellation date"] == ""
    assert by_name["Bob Becker"]["Tax form"] == "W-8BEN"


def test_master_file_now_lists_the_buyer_and_with_closed_lots_the_sellers_cancellation_date(book: Book) -> None:
    now_rows = _csv(book.offering, "master_file")
    assert sorted((r["Holder id"], r["Quantity"]) for r in now_rows) == sorted(
        [(book.bob.reference, "300"), (book.carol.reference, "200")]
    )
    carol = next(r for r in now_rows if r["Holder id"] == book.carol.reference)
    assert carol["Issue date"] == ISSUED.date().isoformat()  # the original issuance
    assert carol["Acquired"] == SOLD.date().isoformat()
    assert carol["Tax form status"] == "missing"

    with_closed = _csv(book.offering, "master_file", include_closed=True)
    alice = next(r for r in with_closed if r["Holder id"] == book.alice.reference)
    assert alice["Quantity"] == "0"
    assert alice["Lot opened with"] == "200"
    assert alice["Cancellation date"] == SOLD.date().isoformat()


def test_master_file_as_of_a_block_before_the_sale(book: Book) -> None:
    sale_block = LedgerPosting.objects.filter(offering=book.offering, kind="transfer").get().block_number
    rows = _csv(book.offering, "master_file", as_of_block=sale_block - 1)
    assert {r["Holder id"] for r in rows} == {book.alice.reference, book.bob.reference}


def test_a_name_that_is_a_formula_is_written_as_text(book: Book) -> None:
    rows = _csv(book.offering, "master_file")
    names = {r["Registered name"] for r in rows}
    assert '\'=HYPERLINK("http://evil.example")' in names

    sheet = load_workbook(io.BytesIO(_export(book.offering, "master_file", "xlsx")))["master_file"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert len(cells) == 1
    assert cells[0].data_type == "s"  # text, never a formula


def test_xlsx_has_the_header_the_rows_and_who_and_when_it_is_about(book: Book) -> None:
    workbook = load_workbook(io.BytesIO(_export(book.offering, "master_file", "xlsx", as_of_date=BEFORE_SALE)))
    rows = list(workbook["master_file"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:2] == ("Holder id", "Registered name")
    quantity = header.index("Quantity")
    assert sorted(r[quantity] for r in rows[1:]) == [200, 300]  # numbers stay numbers
    about = [r[0] for r in workbook["About"].iter_rows(values_only=True)]
    assert about[0] == f"Master securityholder file — {book.offering.issuer.legal_name}"
    assert f"As of end of {BEFORE_SALE.isoformat()} (UTC)" in about[1]


def test_pdf_names_the_issuer_the_as_of_date_and_the_page_on_every_page(book: Book) -> None:
    mints_bulk(
        book.offering,
        [(book.bob.pk, f"0x{n:040x}", 1) for n in range(0xB000, 0xB000 + 130)],
        at=ISSUED,
        first_block=5000,
    )
    reader = PdfReader(io.BytesIO(_export(book.offering, "master_file", "pdf", as_of_date=BEFORE_SALE)))
    assert len(reader.pages) >= 3
    issuer = book.offering.issuer.legal_name
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert issuer in text
        assert f"As of end of {BEFORE_SALE.isoformat()} (UTC)" in text
        assert f"Page {number}" in text
    everything = "".join(p.extract_text() for p in reader.pages)
    assert "Alice Adams" in everything
    assert everything.count("Bob Becker") == 131


def test_a_pdf_of_more_rows_than_a_pdf_holds_is_refused_with_a_reason(book: Book, monkeypatch) -> None:
    monkeypatch.setattr("registry.exporters.writers.PDF_MAX_ROWS", 1)
    with pytest.raises(ExportError, match="choose CSV or XLSX"):
        _export(book.offering, "master_file", "pdf")
    assert PDF_MAX_ROWS >= 10_000


def test_journal_for_a_period_lists_only_its_postings_in_chain_order(book: Book) -> None:
    everything = _csv(book.offering, "journal")
    assert [r["Kind"] for r in everything] == ["Mint", "Mint", "Transfer"]
    sale = everything[2]
    assert (sale["From"], sale["To"], sale["Quantity"]) == ("Alice Adams", '\'=HYPERLINK("http://evil.example")', "200")
    assert sale["From holder id"] == book.alice.reference
    assert sale["Posted late"] == "no"

    later = _csv(book.offering, "journal", since=(SOLD - dt.timedelta(days=1)).date(), until=NOW.date())
    assert [r["Kind"] for r in later] == ["Transfer"]
    earlier = _csv(book.offering, "journal", since=ISSUED.date(), until=ISSUED.date())
    assert [r["Kind"] for r in earlier] == ["Mint", "Mint"]


def test_control_book_shows_authorized_and_issued_after_each_change(book: Book, cast) -> None:
    auth = IssuerAuthorization.objects.create(
        offering=book.offering,
        authorized_quantity=1_000,
        description="Board resolution 2026-01",
        document="issuer-authorizations/r.pdf",
        document_sha256="ab" * 32,
        authorized_on=ISSUED.date(),
        recorded_by=cast.admin,
        effective_at=timezone.now(),
    )
    # A raise still waiting for a second admin is not in the control book.
    IssuerAuthorization.objects.create(
        offering=book.offering,
        authorized_quantity=5_000,
        description="Board resolution 2026-02, not approved yet",
        document="issuer-authorizations/r2.pdf",
        document_sha256="cd" * 32,
        authorized_on=ISSUED.date(),
        recorded_by=cast.admin,
    )
    ControlBookEntry.objects.create(
        offering=book.offering, kind=ControlEntryKind.ISSUE, quantity=500, transaction_hash="0x1", authorization=auth
    )
    ControlBookEntry.objects.create(
        offering=book.offering, kind=ControlEntryKind.CANCEL, quantity=50, transaction_hash="0x2", authorization=auth
    )
    rows = _csv(book.offering, "control_book")
    assert [
        (r["Event"], r["Quantity"], r["Authorized after"], r["Issued after"], r["Authorized, unissued"]) for r in rows
    ] == [
        ("Authorized", "1000", "1000", "0", "1000"),
        ("Issued", "500", "1000", "500", "500"),
        ("Cancelled", "50", "1000", "450", "550"),
    ]
    assert rows[1]["Authorization"] == "Board resolution 2026-01"


def test_record_differences_as_of_a_date_lists_what_was_open_then_with_its_age(book: Book) -> None:
    arose = NOW - dt.timedelta(days=50)
    RecordDifference.objects.create(
        offering=book.offering,
        kind=DifferenceKind.UNRECORDED_ISSUANCE,
        transaction_hash="0xfeed",
        expected=0,
        actual=25,
        arose_at=arose,
        first_found_at=arose,
        last_found_at=NOW - dt.timedelta(days=10),
        resolved_at=NOW - dt.timedelta(days=10),
    )
    assert _csv(book.offering, "record_differences") == []  # resolved by now
    rows = _csv(book.offering, "record_differences", as_of_date=(NOW - dt.timedelta(days=15)).date())
    assert len(rows) == 1
    row = rows[0]
    assert row["Difference (units)"] == "25"
    assert row["Resolved (UTC)"] == ""  # not yet resolved on that day
    assert int(row["Age (days)"]) == 35
    assert row["Aged (> 30 days)"] == "yes"


def test_a_date_in_the_future_is_refused(book: Book) -> None:
    exporter = exporter_get("master_file")
    with pytest.raises(ExportError, match="in the future"):
        exporter.params_check(ExportParams(as_of_date=NOW.date() + dt.timedelta(days=2)))
    with pytest.raises(ExportError, match="starts after it ends"):
        exporter_get("journal").params_check(ExportParams(since=NOW.date(), until=ISSUED.date()))


def test_master_file_read_in_small_chunks_is_the_same_file(book: Book, monkeypatch) -> None:
    from registry.exporters.master_file import MasterFileExporter

    mints_bulk(book.offering, [(book.bob.pk, f"0x{n:040x}", 2) for n in range(0xE000, 0xE000 + 9)], at=ISSUED)
    whole = _export(book.offering, "master_file", include_closed=True)
    monkeypatch.setattr(MasterFileExporter, "chunk_size", 2)
    assert _export(book.offering, "master_file", include_closed=True) == whole
    assert len(whole.decode().splitlines()) == 1 + 3 + 9  # the header, the three lots of the fixture, the new ones


def test_master_file_reads_the_same_number_of_queries_for_more_holdings(book: Book) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            _export(book.offering, "master_file")
        return len(ctx.captured_queries)

    few = queries()
    mints_bulk(book.offering, [(book.bob.pk, f"0x{n:040x}", 3) for n in range(0xC000, 0xC000 + 300)], at=ISSUED)
    assert queries() == few


_blocks = itertools.count(10_000)
steps = st.lists(
    st.tuples(st.sampled_from(["mint", "transfer", "burn"]), st.integers(0, 2), st.integers(0, 2), st.integers(1, 50)),
    min_size=1,
    max_size=15,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps, cut=st.integers(0, 15))
def test_master_file_quantities_sum_to_the_ledger_at_every_block(book: Book, steps, cut) -> None:
    """Invariant: as of any block, the master file's quantities per wallet are the ledger's balances."""
    LedgerPosting.objects.filter(offering=book.offering).delete()
    Lot.objects.filter(offering=book.offering).delete()
    ChainEvent.objects.all().delete()
    register = Register(offering=book.offering, block=next(_blocks) * 100)
    held = [0, 0, 0]
    investors = [book.alice, book.bob, book.carol]
    blocks = []
    for kind, a, b, amount in steps:
        if kind == "mint":
            register.mint(investors[a], WALLETS[a], amount, at=ISSUED)
            held[a] += amount
        else:
            amount = min(amount, held[a])
            if amount == 0 or (kind == "transfer" and a == b):
                continue
            if kind == "burn":
                register.burn(WALLETS[a], amount, at=ISSUED, investor=investors[a])
            else:
                register.transfer(
                    WALLETS[a], WALLETS[b], amount, at=ISSUED, from_investor=investors[a], to_investor=investors[b]
                )
                held[b] += amount
            held[a] -= amount
        blocks.append(register.block)
    block = blocks[min(cut, len(blocks) - 1)] if blocks else register.block
    rows = _csv(book.offering, "master_file", as_of_block=block)
    by_wallet: dict[str, int] = {}
    for r in rows:
        assert int(r["Quantity"]) > 0
        by_wallet[r["Wallet"]] = by_wallet.get(r["Wallet"], 0) + int(r["Quantity"])
    assert by_wallet == wallet_balances(offering=book.offering, as_of=AsOf(block=block))
