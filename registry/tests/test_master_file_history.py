"""The master file "as of" a past date shows each holder as registered then (17Ad-10(f)): a holder who
renamed and moved since appears under the old name and address, today under the new ones."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from core.tests.support import Cast
from investors.models import HolderRecordVersion, InvestorProfile, KycStatus
from investors.services.profiles import investor_details_save
from investors.tests.support import verified_investor
from offerings.tests.support import offering_open
from registry.exporters import ExportParams, exporter_get
from registry.tests.ledger_rows import Register

pytestmark = pytest.mark.django_db

NOW = timezone.now()
JOINED = NOW - dt.timedelta(days=400)
ISSUED = NOW - dt.timedelta(days=300)
A_YEAR_AGO = (NOW - dt.timedelta(days=365)).date()
DETAILS = {
    "legal_name": "Dana Whitfield",
    "date_of_birth": dt.date(1980, 5, 1),
    "address_line1": "12 Harbor Road",
    "city": "Portland",
    "region": "ME",
    "postal_code": "04101",
    "country": "US",
    "citizenship": "US",
    "phone": "+1 207 555 0100",
    "tax_id_kind": "ssn",
    "tax_id": "123-45-6789",
}


def _master_file(offering, **params) -> list[dict[str, str]]:
    out = io.BytesIO()
    exporter_get("master_file").write(offering=offering, params=ExportParams(**params), fmt="csv", out=out)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode())))


def _holder_since(joined: dt.datetime) -> InvestorProfile:
    """An investor onboarded `joined` ago (their first record dates from then), with their details saved."""
    investor = verified_investor(name="Dana Whitfield", kyc=KycStatus.MORE_INFO, wallet=None)
    investor = investor_details_save(investor=investor, actor=investor.user, details=DETAILS)
    InvestorProfile.objects.filter(pk=investor.pk).update(created_at=joined)
    HolderRecordVersion.objects.filter(investor=investor, valid_to__isnull=True).update(valid_from=joined)
    HolderRecordVersion.objects.filter(investor=investor, valid_to__isnull=False).update(
        valid_from=joined - dt.timedelta(days=1), valid_to=joined
    )
    return investor


def test_a_renamed_holder_appears_under_the_old_name_and_address_in_the_master_file_as_of_before(
    cast: Cast, registry
) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    holder = _holder_since(JOINED)
    register = Register(offering=offering)
    register.mint(holder, "0x" + "a1" * 20, 250, at=ISSUED)

    # Today the holder marries and moves; they correct their details when asked for more information.
    investor_details_save(
        investor=holder,
        actor=holder.user,
        details={**DETAILS, "legal_name": "Dana Whitfield-Okafor", "address_line1": "7 Quay Street", "city": "Bath"},
    )

    (then,) = _master_file(offering, as_of_date=A_YEAR_AGO + dt.timedelta(days=100))
    (now,) = _master_file(offering)
    assert then["Registered name"] == "Dana Whitfield" and "12 Harbor Road" in then["Registered address"]
    assert now["Registered name"] == "Dana Whitfield-Okafor" and "7 Quay Street" in now["Registered address"]
    assert then["Quantity"] == now["Quantity"] == "250"
    # The old record is kept until six years after it was replaced.
    old = HolderRecordVersion.objects.get(investor=holder, legal_name="Dana Whitfield", valid_to__gt=JOINED)
    assert old.retain_until is not None and old.valid_to is not None
    assert old.retain_until.year == old.valid_to.year + 6
