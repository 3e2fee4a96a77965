"""A reviewer's accreditation decision changes the holder's registration, and the record before it is kept
(17Ad-10(f)): as of before the decision the holder reads as verified, after it as rejected."""

from __future__ import annotations

import pytest
from django.utils import timezone

from compliance.services.reviews import accreditation_reject
from core.tests.support import Cast
from investors.models import AccreditationStatus
from investors.selectors import holder_details_as_of
from investors.tests.support import verified_investor
from tokens.tests.support import registry_deployed

pytestmark = pytest.mark.django_db


def test_an_accreditation_decision_is_kept_in_the_holders_record(cast: Cast) -> None:
    registry_deployed()
    investor = verified_investor(accreditation=AccreditationStatus.VERIFIED)
    before = timezone.now()
    accreditation_reject(claim=investor.accreditation_claims.get(), actor=cast.platform_compliance, reason="Stale")
    then = holder_details_as_of(investor_ids=[investor.pk], at=before)[investor.pk]
    now = holder_details_as_of(investor_ids=[investor.pk], at=timezone.now())[investor.pk]
    assert then.accreditation_status == AccreditationStatus.VERIFIED
    assert now.accreditation_status == AccreditationStatus.REJECTED
