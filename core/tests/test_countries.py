"""Countries come from django-countries (names, fields, forms) and pycountry (the registry's numeric codes)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_countries import countries
from django_countries.fields import Country

from core.countries import country_by_name, country_codes, country_name, country_numeric, is_country
from core.errors import ApplicationError
from core.models import Issuer
from core.services import issuer_create
from core.tests.factories import UserFactory


def test_every_country_a_form_offers_has_the_numeric_code_the_registry_stores() -> None:
    codes = country_codes()
    assert len(codes) == 249 and "US" in codes and "XK" not in codes  # ISO 3166-1 only
    for code in codes:
        # pycountry and django-countries carry the same ISO table; the registry must never get a code they disagree on.
        assert country_numeric(code) == countries.numeric(code), code
    assert country_numeric("us") == 840 and country_numeric(Country("DE")) == 276 and country_numeric("JP") == 392


def test_an_unknown_code_is_no_country_and_has_no_numeric_code() -> None:
    assert not is_country("XX") and not is_country("") and not is_country(None) and not is_country("USA")
    with pytest.raises(KeyError):
        country_numeric("XX")
    assert country_name("de") == "Germany" and country_name("XX") == "XX"


def test_names_as_sanctions_lists_write_them_find_the_code() -> None:
    names = country_by_name()
    assert names["iran"] == "IR" and names["germany"] == "DE" and names["north korea"] == "KP"


@pytest.mark.django_db
def test_an_issuer_country_is_a_country_code_and_reads_back_as_one() -> None:
    issuer = issuer_create(actor=None, name="Acme", legal_name="Acme Inc.", jurisdiction="Delaware", country="us")
    issuer.refresh_from_db()
    assert issuer.country == "US" and country_name(issuer.country) == "United States of America"
    assert Issuer.objects.filter(pk=issuer.pk).values_list("country", flat=True).get() == "US"
    with pytest.raises(ApplicationError, match="not a two-letter ISO country code"):
        issuer_create(actor=None, name="Nowhere", legal_name="Nowhere Ltd", jurisdiction="-", country="XX")
    assert not Issuer.objects.filter(slug="nowhere").exists()


@pytest.mark.django_db
def test_the_issuer_form_refuses_a_code_that_is_no_country() -> None:
    staff = UserFactory.create(is_staff=True, mfa=True)
    client = Client()
    client.force_login(staff)
    response = client.post(
        "/staff/",
        {"name": "Beacon", "legal_name": "Beacon LP", "jurisdiction": "Delaware", "country": "ZZ", "admin_email": ""},
    )
    assert response.status_code == 200
    assert "Use a two-letter ISO country code such as US or DE." in response.content.decode()
    assert not Issuer.objects.exists()
