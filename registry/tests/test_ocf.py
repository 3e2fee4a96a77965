"""The cap table as an Open Cap Format 1.2.0 package: valid for pyocf, and read back to the same holdings."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from django.utils import timezone
from pyocf.captable import Captable

from registry.exporters import ExportParams
from registry.exporters.ocf import OcfCapTableExporter, OcfImportError, ocf_package_read
from registry.selectors.ledger import AsOf, investor_totals
from registry.tests.ledger_rows import Register

pytestmark = pytest.mark.django_db

NOW = timezone.now()
ISSUED = NOW - dt.timedelta(days=100)
SOLD = NOW - dt.timedelta(days=40)
BURNED = NOW - dt.timedelta(days=10)
W = [f"0x{n:040x}" for n in range(0xD1, 0xD6)]


@pytest.fixture
def ledger(cast, registry):
    """Alice 200, Bob 300 issued; Alice sells 150 to Carol (a partial transfer); 20 of Bob's are burned;
    an unregistered wallet was minted 7."""
    from investors.tests.support import verified_investor
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    alice = verified_investor(name="Alice Adams", wallet=None)
    bob = verified_investor(name="Bob Becker", entity=True, country="DE", wallet=None)
    carol = verified_investor(name="Carol Chen", wallet=None)
    r = Register(offering=offering)
    r.mint(alice, W[0], 200, at=ISSUED)
    r.mint(bob, W[1], 300, at=ISSUED)
    r.mint(None, W[4], 7, at=ISSUED)
    r.transfer(W[0], W[2], 150, at=SOLD, from_investor=alice, to_investor=carol)
    r.burn(W[1], 20, at=BURNED, investor=bob)
    return offering, alice, bob, carol


def _package(offering, **params) -> bytes:
    out = io.BytesIO()
    OcfCapTableExporter().write(offering=offering, params=ExportParams(**params), fmt="ocf", out=out)
    return out.getvalue()


def test_the_package_has_a_manifest_with_an_md5_per_file_and_pyocf_reads_it(ledger, tmp_path) -> None:
    offering, *_ = ledger
    data = _package(offering)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        manifest = json.loads(package.read("Manifest.ocf.json"))
        assert manifest["file_type"] == "OCF_MANIFEST_FILE"
        assert manifest["ocf_version"] == "1.2.0"
        assert manifest["issuer"]["legal_name"] == offering.issuer.legal_name
        for key in ("stakeholders_files", "stock_classes_files", "stock_legend_templates_files", "transactions_files"):
            (entry,) = manifest[key]
            assert hashlib.md5(package.read(entry["filepath"])).hexdigest() == entry["md5"]
    path = tmp_path / "cap.ocf.zip"
    path.write_bytes(data)
    table = Captable.load(path)  # pyocf's own loader validates every file against the OCF 1.2.0 models
    kinds = {t.object_type for t in table.transactions}
    assert kinds == {"TX_STOCK_ISSUANCE", "TX_STOCK_TRANSFER", "TX_STOCK_CANCELLATION"}
    assert [c.name for c in table.stock_classes] == [f"{offering.token_name} ({offering.token_symbol})"]
    assert [t.id for t in table.stock_legend_templates] == ["legend-restricted"]  # Rule 506(c) units are restricted
    names = {s.name.legal_name for s in table.stakeholders}
    assert {"Alice Adams", "Bob Becker", "Carol Chen", f"Unregistered wallet {W[4]}"} == names
    bob = next(s for s in table.stakeholders if s.name.legal_name == "Bob Becker")
    assert bob.stakeholder_type.value == "INSTITUTION"
    transfer = next(t for t in table.transactions if t.object_type == "TX_STOCK_TRANSFER")
    assert int(transfer.quantity.root) == 150
    assert transfer.balance_security_id  # Alice keeps 50 in a balance security


def test_our_import_reads_back_what_each_holder_holds(ledger) -> None:
    offering, alice, bob, carol = ledger
    table = ocf_package_read(io.BytesIO(_package(offering)))
    assert table.issuer_name == offering.issuer.legal_name
    assert table.holdings() == {
        f"holder-{alice.reference}": 50,
        f"holder-{bob.reference}": 280,
        f"holder-{carol.reference}": 150,
        f"wallet-{W[4].lower()}": 7,
    }
    ledger_totals = investor_totals(offering=offering)
    for investor in (alice, bob, carol):
        assert table.holdings()[f"holder-{investor.reference}"] == ledger_totals[investor.pk]


def test_a_package_as_of_a_past_date_holds_what_the_ledger_held_then(ledger) -> None:
    offering, alice, _bob, carol = ledger
    day = (SOLD - dt.timedelta(days=5)).date()
    table = ocf_package_read(io.BytesIO(_package(offering, as_of_date=day)))
    assert table.as_of == day
    moment = dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
    expected = investor_totals(offering=offering, as_of=AsOf(at=moment))
    assert table.holdings()[f"holder-{alice.reference}"] == expected[alice.pk] == 200
    assert f"holder-{carol.reference}" not in table.holdings()


def test_a_tampered_file_is_refused_by_its_md5(ledger) -> None:
    offering, *_ = ledger
    source = zipfile.ZipFile(io.BytesIO(_package(offering)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for name in source.namelist():
            data = source.read(name)
            if name == "transactions.ocf.json":
                data = data.replace(b'"quantity":"150"', b'"quantity":"15"')
            copy.writestr(name, data)
    with pytest.raises(OcfImportError, match="does not match its MD5"):
        ocf_package_read(io.BytesIO(out.getvalue()))


def test_what_is_not_a_package_is_refused_with_a_reason() -> None:
    with pytest.raises(OcfImportError, match="not a zip file"):
        ocf_package_read(io.BytesIO(b"name,quantity\nalice,1\n"))
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as package:
        package.writestr("readme.txt", "hello")
    with pytest.raises(OcfImportError, match=r"has no Manifest\.ocf\.json"):
        ocf_package_read(io.BytesIO(empty.getvalue()))
