"""17Ad-10(f): holder data that is replaced is kept with its retention date (six years after it was
replaced), "as of" a past date the holder reads as they were registered then, and the purge deletes only
records whose six years have passed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from core.tests.factories import UserFactory
from investors.models import HolderRecordCause, HolderRecordVersion, InvestorProfile
from investors.selectors import holder_details_as_of
from investors.services.holder_records import holder_record_end, holder_record_update, holder_records_purge
from investors.services.profiles import investor_details_save, investor_kind_set, investor_profile_ensure
from investors.services.tax import tax_form_sign
from investors.tasks import holder_records_purge_task
from investors.tests.support import verified_investor

pytestmark = pytest.mark.django_db

DETAILS: dict[str, Any] = {
    "legal_name": "Alice Moreau",
    "date_of_birth": dt.date(1979, 3, 14),
    "address_line1": "48 Beacon Street",
    "city": "Boston",
    "region": "MA",
    "postal_code": "02108",
    "country": "US",
    "citizenship": "US",
    "phone": "+1 617 555 0142",
    "tax_id_kind": "ssn",
    "tax_id": "123-45-6789",
}


def _onboarded() -> InvestorProfile:
    user = UserFactory.create(full_name="Alice Moreau")
    investor = investor_profile_ensure(user=user)
    investor = investor_kind_set(investor=investor, actor=user, kind="individual")
    return investor_details_save(investor=investor, actor=user, details=DETAILS)


def test_a_renamed_holder_reads_with_the_old_name_and_address_as_of_before_the_change() -> None:
    investor = _onboarded()
    before = timezone.now()
    investor = investor_details_save(
        investor=investor,
        actor=investor.user,
        details={**DETAILS, "legal_name": "Alice Moreau-Lambert", "address_line1": "9 Elm Street"},
    )
    after = timezone.now()

    then = holder_details_as_of(investor_ids=[investor.pk], at=before)[investor.pk]
    now = holder_details_as_of(investor_ids=[investor.pk], at=after)[investor.pk]
    assert (then.legal_name, then.address_line1, then.country) == ("Alice Moreau", "48 Beacon Street", "US")
    assert (now.legal_name, now.address_line1) == ("Alice Moreau-Lambert", "9 Elm Street")
    # The replaced record is kept six years from the day it was replaced.
    assert then.valid_to is not None and then.retain_until == then.valid_to.replace(year=then.valid_to.year + 6)
    assert then.ended_by == HolderRecordCause.CHANGED and now.valid_to is None and now.retain_until is None
    # Saving the same details again records nothing new.
    kept = HolderRecordVersion.objects.filter(investor=investor).count()
    assert kept == 4  # opened, holder type chosen, details, renamed
    investor_details_save(
        investor=investor,
        actor=investor.user,
        details={**DETAILS, "legal_name": "Alice Moreau-Lambert", "address_line1": "9 Elm Street"},
    )
    assert HolderRecordVersion.objects.filter(investor=investor).count() == kept


def test_tax_form_and_accreditation_status_are_part_of_the_record() -> None:
    investor = _onboarded()
    before = timezone.now()
    tax_form_sign(
        investor=investor,
        actor=investor.user,
        kind="w9",
        signer_name="Alice Moreau",
        signed_on=timezone.localdate(),
        tin_certified=True,
    )
    record = holder_details_as_of(investor_ids=[investor.pk], at=timezone.now())[investor.pk]
    assert record.tax_form_kind == "w9" and record.tin_certified
    assert holder_details_as_of(investor_ids=[investor.pk], at=before)[investor.pk].tax_form_kind == ""


def test_a_deleted_holders_record_is_kept_with_its_retention_date() -> None:
    investor = verified_investor(name="Gone Holder")
    pk = investor.pk
    deleted_at = timezone.now() + dt.timedelta(minutes=1)
    holder_record_end(investor=investor, cause=HolderRecordCause.DELETED, at=deleted_at)
    kept = HolderRecordVersion.objects.get(investor_id=pk)
    assert kept.ended_by == HolderRecordCause.DELETED and kept.valid_to == deleted_at
    assert kept.retain_until == deleted_at.replace(year=deleted_at.year + 6)
    assert holder_details_as_of(investor_ids=[pk], at=timezone.now())[pk].legal_name == "Gone Holder"
    assert holder_details_as_of(investor_ids=[pk], at=deleted_at) == {}


def test_the_purge_keeps_every_record_within_its_six_years_and_the_current_ones() -> None:
    investor = verified_investor(name="Long Holder")
    now = timezone.now()
    current = HolderRecordVersion.objects.get(investor=investor)
    # Three past records: replaced 6 years minus a day ago, exactly 6 years ago, 6 years and a day ago.
    ages = {"kept": dt.timedelta(days=-1), "due": dt.timedelta(0), "purged": dt.timedelta(days=1)}
    rows = {}
    for name, extra in ages.items():
        valid_to = now.replace(year=now.year - 6) - extra
        rows[name] = HolderRecordVersion.objects.create(
            investor=investor,
            investor_public_id=investor.public_id,
            legal_name=f"Old name {name}",
            cause=HolderRecordCause.CHANGED,
            ended_by=HolderRecordCause.CHANGED,
            valid_from=valid_to - dt.timedelta(days=30),
            valid_to=valid_to,
            retain_until=valid_to.replace(year=valid_to.year + 6),
        )
    assert holder_records_purge(now=now) == 1
    left = set(HolderRecordVersion.objects.values_list("pk", flat=True))
    assert left == {current.pk, rows["kept"].pk, rows["due"].pk}
    assert holder_records_purge(now=now) == 0
    assert holder_records_purge_task.apply().get() >= 0


def test_the_records_of_many_holders_as_of_a_date_take_one_query(django_assert_num_queries) -> None:
    investors = [verified_investor(name=f"Holder {n}", wallet=None) for n in range(30)]
    for investor in investors[::2]:
        investor.legal_name += " (renamed)"
        investor.save(update_fields=["legal_name"])
        holder_record_update(investor=investor)
    at = timezone.now()
    with django_assert_num_queries(1):
        found = holder_details_as_of(investor_ids=[i.pk for i in investors], at=at)
    assert len(found) == 30
    assert sum(r.legal_name.endswith("(renamed)") for r in found.values()) == 15
