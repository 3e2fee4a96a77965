"""Generated input for property tests of forms and APIs: amounts, dates, countries, wallet addresses,
uploads; and the check that a refused request stored nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from investors.countries import COUNTRIES

PROJECT_APPS = ("core", "investors", "compliance", "offerings", "tokens")

# Bounded so the whole suite stays within CI's time; each example is a full request.
examples = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

AMOUNT_TEXT = st.one_of(
    st.from_regex(r"\A-?[0-9]{0,22}(\.[0-9]{0,5})?([eE][+-]?[0-9]{1,10})?\Z"),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=0, max_value=10**20).map(lambda n: f"{n:,}"),
    st.sampled_from(
        ["NaN", "sNaN", "Infinity", "-inf", "1e999999999", "1E+999999999", "9" * 40, "١٢٣", "0x10", "1_000", ""]
    ),
    st.text(max_size=30),
)
MINOR_UNITS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=25),
    st.booleans(),
    st.none(),
    st.sampled_from(["1e30", "100", "100.0", 10**19, 2**63, -1]),
)
DATE_TEXT = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.from_regex(r"\A[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}\Z"),
    st.sampled_from(["0000-00-00", "9999-12-31", "2024-02-30", "0001-01-01", "31/12/2024", ""]),
    st.text(max_size=20),
)
COUNTRY = st.one_of(st.sampled_from(sorted(COUNTRIES)), st.text(max_size=4))
WALLET_ADDRESS = st.one_of(
    st.from_regex(r"\A0x[0-9a-fA-F]{38,42}\Z"),
    st.from_regex(r"\A0x[0-9a-fA-F]{0,44}\Z"),
    st.text(max_size=70),
)


def _file(name: str, head: bytes, body: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or "file", head + body, content_type="application/octet-stream")


UPLOAD = st.builds(
    _file,
    st.text(alphabet=st.characters(categories=["L", "N"]), max_size=20).map(lambda s: s + ".pdf"),
    st.sampled_from([b"", b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"<html>"]),
    st.binary(max_size=3000),
)


def stored_rows() -> dict[str, int]:
    """Row counts of every table the project owns."""
    return {
        model._meta.label: model._default_manager.count()
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
    }


def changed_tables(before: dict[str, int]) -> set[str]:
    after = stored_rows()
    return {label for label, count in after.items() if before.get(label) != count}


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run one generated example and undo whatever it stored, so the next starts from the same state."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
