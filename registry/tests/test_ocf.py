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


def _load(data: bytes, tmp_path) -> Captable:
    path = tmp_path / "cap.ocf.zip"
    path.write_bytes(data)
    return Captable.load(path)


def test_the_package_is_the_issuers_whole_cap_table_every_token_a_stock_class(ledger, cast, tmp_path) -> None:
    from offerings.tests.support import offering_open

    offering, alice, bob, _carol = ledger
    notes = offering_open(
        cast.issuer,
        cast.admin,
        title="Harbor Street Notes",
        token_name="Harbor Street Notes",
        token_symbol="HSN",
        exemption="reg_s",
        price_minor=100_00,
    )
    r = Register(offering=notes, token="0x00000000000000000000000000000000000000bb", block=5000)
    r.mint(alice, W[0], 40, at=ISSUED)
    r.mint(bob, W[3], 60, at=SOLD)

    # Asked from either token, the package is the same issuer's cap table.
    data = _package(notes)
    table = _load(data, tmp_path)
    assert sorted(c.name for c in table.stock_classes) == ["Harbor Street Class A (HSCA)", "Harbor Street Notes (HSN)"]
    assert {t.id for t in table.stock_legend_templates} == {"legend-restricted", "legend-reg-s"}
    # Alice holds both tokens and is one stakeholder.
    assert [s.name.legal_name for s in table.stakeholders].count("Alice Adams") == 1
    back = ocf_package_read(io.BytesIO(data))
    assert back.holdings_by_class() == {
        (f"holder-{alice.reference}", "class-HSCA"): 50,
        (f"holder-{bob.reference}", "class-HSCA"): 280,
        (f"holder-{_carol.reference}", "class-HSCA"): 150,
        (f"wallet-{W[4].lower()}", "class-HSCA"): 7,
        (f"holder-{alice.reference}", "class-HSN"): 40,
        (f"holder-{bob.reference}", "class-HSN"): 60,
    }
    notes_issue = next(
        t for t in table.transactions if t.object_type == "TX_STOCK_ISSUANCE" and t.stock_class_id == "class-HSN"
    )
    assert [e.description for e in notes_issue.security_law_exemptions] == ["Regulation S"]
    assert (
        OcfCapTableExporter().filename(offering, ExportParams(), "ocf").startswith(f"{cast.issuer.slug}-cap_table_ocf")
    )


def test_the_issuer_is_dated_from_its_incorporation_when_the_portal_knows_it(ledger, tmp_path) -> None:
    offering, *_ = ledger
    issuer = offering.issuer
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(_package(offering))).read("Manifest.ocf.json"))
    # Not recorded: the date it joined stands in, and the package says so.
    assert manifest["issuer"]["formation_date"] == issuer.created_at.date().isoformat()
    assert any("not recorded" in c for c in manifest["issuer"]["comments"])

    issuer.formation_date = dt.date(2019, 3, 14)
    issuer.save(update_fields=["formation_date"])
    offering.refresh_from_db()
    table = _load(_package(offering), tmp_path)
    assert table.manifest.issuer.formation_date.root == dt.date(2019, 3, 14)
    assert not any("not recorded" in c for c in table.manifest.issuer.comments or [])


def test_a_transfer_consumes_the_sellers_security_and_names_the_securities_it_results_in(ledger, tmp_path) -> None:
    offering, alice, _bob, carol = ledger
    table = _load(_package(offering), tmp_path)
    issuances = {t.security_id: t for t in table.transactions if t.object_type == "TX_STOCK_ISSUANCE"}
    (transfer,) = [t for t in table.transactions if t.object_type == "TX_STOCK_TRANSFER"]
    sold = issuances[transfer.security_id]
    assert sold.stakeholder_id == f"holder-{alice.reference}" and int(sold.quantity.root) == 200

    # The transferee's security: issued on the transfer's date, to Carol, for the units transferred, with the
    # exemption and legend the units were issued under; what she paid is not known to the register.
    (resulting,) = [issuances[s] for s in transfer.resulting_security_ids]
    assert resulting.stakeholder_id == f"holder-{carol.reference}"
    assert resulting.date.root == transfer.date.root == SOLD.astimezone(dt.UTC).date()
    assert int(resulting.quantity.root) == int(transfer.quantity.root) == 150
    assert transfer.id in resulting.consideration_text
    assert [e.description for e in resulting.security_law_exemptions] == [
        e.description for e in sold.security_law_exemptions
    ]
    assert resulting.stock_legend_ids == sold.stock_legend_ids == ["legend-restricted"]
    assert resulting.cost_basis is None

    # Alice's remainder: a balance security on the same date, keeping its share of what she paid.
    balance = issuances[transfer.balance_security_id]
    assert balance.stakeholder_id == sold.stakeholder_id and int(balance.quantity.root) == 50
    assert balance.date.root == transfer.date.root
    assert sold.cost_basis is not None and balance.cost_basis is not None
    assert balance.cost_basis.amount.root * 4 == sold.cost_basis.amount.root  # 50 of 200 units
    assert balance.share_price == sold.share_price

    # Every issuance is a mint, a transfer's resulting security or a balance security: no stray issuance.
    named = set(transfer.resulting_security_ids) | {
        t.balance_security_id for t in table.transactions if getattr(t, "balance_security_id", None)
    }
    mints = {s for s, t in issuances.items() if "mint" in (t.consideration_text or "")}
    assert set(issuances) == mints | named and not mints & named
