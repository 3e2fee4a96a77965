"""ISO 3166-1 countries: django-countries for names, model fields and forms; pycountry for the numeric codes.

Records and forms use the alpha-2 code; the on-chain InvestorRegistry stores the numeric code (uint16).
"""

from __future__ import annotations

import pycountry
from django_countries import countries
from django_countries.fields import Country

# The United States: residence here makes a US person (Reg S 902(k)) and a US taxpayer (IRC 7701(a)(30)).
UNITED_STATES = "US"


def country_code(value: str | Country | None) -> str:
    """The upper-case alpha-2 code of a value as typed or as a model field holds it; "" for none."""
    return str(value or "").strip().upper()


def is_country(value: str | Country | None) -> bool:
    code = country_code(value)
    return bool(code) and code in countries


def country_name(value: str | Country | None) -> str:
    """The country's short English name; the code itself when it is not a country."""
    code = country_code(value)
    return str(countries.name(code)) if is_country(code) else code


def country_numeric(value: str | Country | None) -> int:
    """The ISO 3166-1 numeric code of an alpha-2 code; KeyError for a code that is not a country."""
    code = country_code(value)
    record = pycountry.countries.get(alpha_2=code) if is_country(code) else None
    if record is None:
        raise KeyError(code)
    return int(record.numeric)


def country_codes() -> list[str]:
    """Every alpha-2 code a form offers, in code order."""
    return sorted(c.code for c in countries)


def country_choices() -> list[tuple[str, str]]:
    """(code, name) for a select, sorted by name."""
    return [(c.code, str(c.name)) for c in countries]


def country_by_name() -> dict[str, str]:
    """Lower-case short name (ISO's common name where it has one) → alpha-2, for lists that write names."""
    return {getattr(c, "common_name", c.name).lower(): c.alpha_2 for c in pycountry.countries}
