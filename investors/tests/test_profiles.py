"""Identification details and entity owners: every bad input is refused with a message and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import ApplicationError, NotPermitted
from core.models import AuditEvent, User
from investors.models import InvestorProfile, KycStatus
from investors.services.profiles import (
    investor_details_save,
    owner_add,
    owners_declare_complete,
)
from investors.tests.support import Person, individual_details, investor_started

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh() -> tuple[User, InvestorProfile]:
    investor = investor_started()
    return investor.user, investor


def _refused(fresh: tuple[User, InvestorProfile], match: str, **changes: object) -> None:
    user, investor = fresh
    details = {**individual_details(Person()), **changes}
    events = AuditEvent.objects.count()
    with pytest.raises(ApplicationError, match=match):
        investor_details_save(investor=investor, actor=user, details=details)
    unchanged = InvestorProfile.objects.get(pk=investor.pk)
    assert unchanged.legal_name == investor.legal_name and unchanged.country == ""
    assert "details" not in unchanged.steps_saved
    assert AuditEvent.objects.count() == events


def test_details_are_saved_normalised_and_audited_without_pii(fresh) -> None:
    user, investor = fresh
    investor = investor_details_save(investor=investor, actor=user, details=individual_details(Person()))
    assert investor.tax_id == "123456789" and investor.country == "US" and "details" in investor.steps_saved
    event = AuditEvent.objects.filter(action="investor.details_saved").get()
    assert event.after is not None and "tax_id" in event.after["changed"]
    assert "123456789" not in str(event.after) and "1980" not in str(event.after)


def test_a_date_of_birth_in_the_future_is_refused(fresh) -> None:
    _refused(fresh, "cannot be in the future", date_of_birth=timezone.localdate() + dt.timedelta(days=1))


def test_a_minor_is_refused(fresh) -> None:
    _refused(fresh, "at least 18", date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 17))


def test_an_unknown_country_code_is_refused(fresh) -> None:
    _refused(fresh, "“XQ” is not a country code", country="XQ")
    _refused(fresh, "citizenship", citizenship="ZZ")


@pytest.mark.parametrize(
    ("kind", "number", "match"),
    [
        ("ssn", "12345", "nine digits"),
        ("ssn", "666-12-3456", "not a valid Social Security"),
        ("itin", "123-45-6789", "starts with 9"),
        ("ein", "12-3456789", "SSN, ITIN or a foreign"),
        ("passport", "!!", "4 to 30"),
    ],
)
def test_malformed_tax_numbers_are_refused(fresh, kind: str, number: str, match: str) -> None:
    _refused(fresh, match, tax_id_kind=kind, tax_id=number, tax_id_country="DE")


def test_details_are_locked_once_under_review(fresh) -> None:
    user, investor = fresh
    InvestorProfile.objects.filter(pk=investor.pk).update(kyc_status=KycStatus.PENDING)
    with pytest.raises(NotPermitted, match="can no longer be changed"):
        investor_details_save(investor=investor, actor=user, details=individual_details(Person()))


def _owner(**changes):
    return {
        "role": "owner",
        "full_name": "Jonas Weber",
        "date_of_birth": dt.date(1975, 1, 2),
        "address": "Hauptstrasse 1, Berlin",
        "country": "DE",
        "citizenship": "DE",
        "ownership_bps": 6000,
        "id_kind": "passport",
        "id_number": "C01X00T47",
        **changes,
    }


def test_entity_owners_need_25_percent_and_one_controlling_person() -> None:
    entity = investor_started(kind="entity")
    user = entity.user
    with pytest.raises(ApplicationError, match="25% or more"):
        owner_add(investor=entity, actor=user, data=_owner(ownership_bps=1000))
    owner_add(investor=entity, actor=user, data=_owner())
    with pytest.raises(ApplicationError, match="more than 100%"):
        owner_add(investor=entity, actor=user, data=_owner(full_name="Other Person", ownership_bps=5000))
    with pytest.raises(ApplicationError, match="controls the entity"):
        owners_declare_complete(investor=entity, actor=user)
    with pytest.raises(ApplicationError, match="in the future"):
        owner_add(
            investor=entity,
            actor=user,
            data=_owner(role="controller", ownership_bps=0, date_of_birth=timezone.localdate() + dt.timedelta(days=3)),
        )
    owner_add(
        investor=entity, actor=user, data=_owner(role="controller", full_name="Eva Braun-Schmidt", ownership_bps=0)
    )
    with pytest.raises(ApplicationError, match="already has its controlling person"):
        owner_add(investor=entity, actor=user, data=_owner(role="controller", full_name="Third", ownership_bps=0))
    entity = owners_declare_complete(investor=entity, actor=user)
    assert entity.owners_declared_complete and entity.owners.count() == 2
