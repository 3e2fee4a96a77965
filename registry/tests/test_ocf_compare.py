"""An issuer's admins (and its transfer agents) set an Open Cap Format package beside the register: it is
checked, replayed and compared holder by holder and token by token; nothing is written; a file that is not a
sound package is refused with the reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from investors.tests.support import verified_investor
from offerings.tests.support import offering_open
from registry.exporters import ExportParams
from registry.exporters.ocf import OcfCapTableExporter
from registry.models import HolderPosition, LedgerPosting, Lot, LotMovement
from registry.services.positions import positions_rebuild
from registry.tests.ledger_rows import Register

pytestmark = pytest.mark.django_db

NOW = timezone.now()
W = [f"0x{n:040x}" for n in range(0xE1, 0xE6)]


@pytest.fixture
def world(cast):
    offering = offering_open(cast.issuer, cast.admin)
    alice = verified_investor(name="Alice Adams", wallet=None)
    bob = verified_investor(name="Bob Becker", wallet=None)
    r = Register(offering=offering)
    r.mint(alice, W[0], 200, at=NOW - dt.timedelta(days=30))
    r.mint(bob, W[1], 300, at=NOW - dt.timedelta(days=30))
    r.transfer(W[0], W[1], 50, at=NOW - dt.timedelta(days=10), from_investor=alice, to_investor=bob)
    positions_rebuild(offering=offering)
    return offering, r, alice, bob


def _package(offering) -> bytes:
    out = io.BytesIO()
    OcfCapTableExporter().write(offering=offering, params=ExportParams(), fmt="ocf", out=out)
    return out.getvalue()


def _upload(user, issuer, data: bytes, name: str = "cap.ocf.zip"):
    client = Client()
    client.force_login(user)
    return client.post(
        reverse("registry_ocf_compare", args=[issuer.slug]),
        {"package": SimpleUploadedFile(name, data, "application/zip")},
    )


def _ledger_state() -> tuple:
    return tuple(m.objects.count() for m in (LedgerPosting, Lot, LotMovement, HolderPosition)), list(
        HolderPosition.objects.order_by("pk").values_list("investor_id", "quantity")
    )


def _rows(response) -> dict[str, tuple[int, int, str]]:
    return {
        f"{r.holder}/{r.token}": (r.in_package, r.on_register, r.state) for r in response.context["comparison"].rows
    }


def test_our_own_package_matches_the_register_holder_by_holder_and_nothing_is_written(cast, world) -> None:
    offering, *_ = world
    data = _package(offering)
    before = _ledger_state()
    response = _upload(cast.admin, cast.issuer, data)
    assert response.status_code == 200
    assert _rows(response) == {"Alice Adams/HSCA": (150, 150, "match"), "Bob Becker/HSCA": (350, 350, "match")}
    html = response.content.decode()
    assert "nothing is written to the ledger or the register" in html
    assert "Every holder holds the same units" in html
    assert _ledger_state() == before


def test_holders_and_quantities_that_moved_since_the_package_show_as_differences(cast, world) -> None:
    offering, register, _alice, bob = world
    data = _package(offering)
    carol = verified_investor(name="Carol Chen", wallet=None)
    register.mint(bob, W[1], 10, at=NOW)
    register.mint(carol, W[2], 5, at=NOW)
    positions_rebuild(offering=offering)

    response = _upload(cast.agent, cast.issuer, data)  # a transfer agent reconciles records too
    assert response.status_code == 200
    assert _rows(response) == {
        "Alice Adams/HSCA": (150, 150, "match"),
        "Bob Becker/HSCA": (350, 360, "differs"),
        "Carol Chen/HSCA": (0, 5, "register_only"),
    }
    html = response.content.decode()
    assert "The package and the register differ" in html
    # Differences are listed first.
    states = re.findall(r'<tr data-state="(\w+)">', html)
    assert states == ["differs", "register_only", "match"]


def _rewritten(data: bytes, name: str, edit) -> bytes:
    """The package with one file edited and the manifest's MD5 made to fit again (a sound zip, a new content)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    files = {n: source.read(n) for n in source.namelist()}
    files[name] = edit(files[name])
    manifest = json.loads(files["Manifest.ocf.json"])
    for key, entries in manifest.items():
        if key.endswith("_files"):
            for entry in entries:
                entry["md5"] = hashlib.md5(files[entry["filepath"]]).hexdigest()
    files["Manifest.ocf.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for n, content in files.items():
            package.writestr(n, content)
    return out.getvalue()


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("Manifest.ocf.json", b"{" + b" " * (24 << 20) + b"}")
    return out.getvalue()


def _tampered(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for n in source.namelist():
            content = source.read(n)
            if n == "transactions.ocf.json":
                content = content.replace(b'"quantity":"200"', b'"quantity":"20"')
            copy.writestr(n, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not_a_zip", "This is not a zip file"),
        ("wrong_md5", "does not match its MD5 in the manifest"),
        ("invalid_ocf", "does not follow Open Cap Format 1.2.0"),
        ("zip_bomb", "likely zip bomb"),
        ("too_big", "a package of at most 25 MB is read here"),
    ],
)
def test_a_file_that_is_not_a_sound_package_is_refused_with_the_reason_and_nothing_is_written(
    cast, world, monkeypatch, case: str, message: str
) -> None:
    offering, *_ = world
    data = _package(offering)
    upload = {
        "not_a_zip": lambda: b"holder,quantity\nalice,150\n",
        "wrong_md5": lambda: _tampered(data),
        "invalid_ocf": lambda: _rewritten(
            data, "stakeholders.ocf.json", lambda b: b.replace(b'"INDIVIDUAL"', b'"ROBOT"', 1)
        ),
        "zip_bomb": _bomb,
        "too_big": lambda: data,
    }[case]()
    if case == "too_big":
        monkeypatch.setattr("registry.forms.OCF_UPLOAD_MAX_BYTES", len(data) - 1)
    before = _ledger_state()
    response = _upload(cast.admin, cast.issuer, upload)
    assert response.status_code == 400
    assert response.context["comparison"] is None
    assert message in response.content.decode()
    assert _ledger_state() == before


def test_only_the_registers_readers_of_the_issuer_may_compare(cast, world) -> None:
    offering, *_ = world
    data = _package(offering)
    assert _upload(cast.compliance, cast.issuer, data).status_code == 403
    assert _upload(cast.other_admin, cast.issuer, data).status_code == 403
    page = Client()
    page.force_login(cast.admin)
    html = page.get(reverse("registry_exports", args=[cast.issuer.slug])).content.decode()
    assert reverse("registry_ocf_compare", args=[cast.issuer.slug]) in html
