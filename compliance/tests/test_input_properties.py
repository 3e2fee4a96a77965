"""Generated input through platform compliance's custodial wallet form and the staff's issuer form
(wallet addresses, countries): never a server error, and a refused request stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from compliance.tests.support import submitted_investor
from core.tests.inputs import COUNTRY, WALLET_ADDRESS, changed_tables, examples, rolled_back, stored_rows

pytestmark = pytest.mark.django_db
TEXT = st.text(max_size=60)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, data: dict[str, object]) -> None:
    before = stored_rows()
    with rolled_back():
        response = client.post(url, data)
        assert response.status_code in (200, 302), response.status_code
        changed = changed_tables(before)
        if response.status_code == 200:
            assert changed == set(), changed
        elif changed:
            assert "core.AuditEvent" in changed, changed


def test_generated_custodial_wallets_and_issuers(cast) -> None:
    investor = submitted_investor(cast)
    officer = _client(cast.platform_compliance)  # custodial wallets are a platform decision
    staff = _client(cast.staff)
    url = f"/platform/compliance/investors/{investor.public_id}/wallets/"

    @examples
    @given(address=WALLET_ADDRESS, custodian=TEXT, country=COUNTRY)
    def check(address, custodian, country) -> None:
        before = stored_rows()
        with rolled_back():
            response = officer.post(url, {"address": address, "custodian_name": custodian})
            assert response.status_code in (200, 302)
            changed = changed_tables(before)
            assert not changed or {"investors.Wallet", "core.AuditEvent"} <= changed, changed
        issuer = {
            "name": "Generated",
            "legal_name": "Generated Inc.",
            "jurisdiction": "Delaware",
            "country": country,
            "admin_email": cast.admin.email,
        }
        _post(staff, "/staff/", issuer)

    check()
