"""A vendor's approval meets the same checks as an officer's, and re-screening records whom it cleared."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import DatabaseError

from compliance.kyc.base import VendorResult, VendorVerdict
from compliance.models import KycCheck, KycCheckStatus
from compliance.services.kyc import kyc_vendor_result_apply
from compliance.services.sanctions import sanctions_rescreen_all
from compliance.tests.support import sanctions_fixture_loaded, submitted_investor
from core.models import AuditEvent
from core.tests.refusals import audit_refused
from investors.models import BeneficialOwner, InvestorProfile, KycStatus, ScreeningStatus
from investors.tests.support import verified_investor

pytestmark = pytest.mark.django_db


def _vendor_approves(check: KycCheck) -> KycCheck | None:
    return kyc_vendor_result_apply(
        provider="vendor",
        result=VendorResult(
            event_id=uuid.uuid4().hex,
            reference=check.public_id.hex,
            external_ref="",
            result=VendorVerdict.APPROVED,
            reason="",
            valid_until=None,
        ),
    )


@pytest.fixture
def vendor_check(cast, settings):
    settings.KYC_PROVIDER = "vendor"
    investor = submitted_investor(cast)
    check = KycCheck.objects.get(investor=investor)
    assert check.provider == "vendor"
    return investor, check


def test_a_vendor_approval_of_an_investor_never_screened_waits_for_a_person(vendor_check) -> None:
    investor, check = vendor_check
    InvestorProfile.objects.filter(pk=investor.pk).update(screened_at=None)
    _vendor_approves(check)
    check.refresh_from_db()
    assert check.status == KycCheckStatus.NEEDS_REVIEW and "not been screened" in check.reason
    assert InvestorProfile.objects.get(pk=investor.pk).kyc_status == KycStatus.PENDING


def test_a_vendor_approval_with_an_owner_not_verified_waits_for_a_person(vendor_check) -> None:
    investor, check = vendor_check
    BeneficialOwner.objects.create(
        investor=investor,
        role="owner",
        full_name="Ines Okonkwo-Barr",
        date_of_birth=dt.date(1970, 1, 1),
        address="1 Main St",
        country="US",
        citizenship="US",
        ownership_bps=5_000,
        id_kind="ssn",
        id_number="123456789",
    )
    _vendor_approves(check)
    check.refresh_from_db()
    assert check.status == KycCheckStatus.NEEDS_REVIEW and "Verify every owner" in check.reason
    assert "Ines" not in check.reason  # the reason goes into the audit chain: no names
    assert InvestorProfile.objects.get(pk=investor.pk).kyc_status == KycStatus.PENDING


def test_a_vendor_approval_that_passes_the_checks_approves(vendor_check, registry) -> None:
    investor, check = vendor_check
    _vendor_approves(check)
    assert InvestorProfile.objects.get(pk=investor.pk).kyc_status == KycStatus.APPROVED


def test_rescreening_records_whom_it_cleared_in_the_same_transaction() -> None:
    sanctions_fixture_loaded()
    fresh = [verified_investor(name=f"Walter Kessler {n}", screening=ScreeningStatus.NOT_SCREENED) for n in range(3)]
    with audit_refused("sanctions.investors_cleared"), pytest.raises(DatabaseError):
        sanctions_rescreen_all()
    assert {i.screening_status for i in InvestorProfile.objects.filter(pk__in=[i.pk for i in fresh])} == {
        ScreeningStatus.NOT_SCREENED
    }
    sanctions_rescreen_all()
    assert {i.screening_status for i in InvestorProfile.objects.filter(pk__in=[i.pk for i in fresh])} == {
        ScreeningStatus.CLEAR
    }
    event = AuditEvent.objects.get(action="sanctions.investors_cleared")
    assert event.after is not None and set(event.after["investors"]) >= {i.pk for i in fresh}
