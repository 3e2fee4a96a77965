"""A security key (WebAuthn) as the second factor, with Chromium's virtual authenticator."""

from __future__ import annotations

import pytest

from core.mfa import totp_code
from core.models import Role
from core.tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_an_admin_adds_a_security_key_and_signs_in_with_it(page, live_server) -> None:
    membership = MembershipFactory.create(role=Role.ISSUER_ADMIN, user__email="keys@harbor.example")
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    _sign_in(page, live_server.url, "keys@harbor.example")
    page.get_by_label("Code").fill(totp_code(secret=TEST_TOTP_SECRET))
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name="Welcome").wait_for()

    page.goto(f"{live_server.url}/accounts/2fa/webauthn/add/")
    page.get_by_role("heading", name="Confirm Access").wait_for()  # changing MFA asks for the password again
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_label("Name").fill("Office key")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Security key added.").wait_for()
    page.get_by_role("heading", name="Recovery Codes").wait_for()

    page.context.clear_cookies()
    _sign_in(page, live_server.url, "keys@harbor.example")
    page.get_by_role("button", name="Use a security key").click()
    page.get_by_role("heading", name="Welcome").wait_for()
    page.goto(f"{live_server.url}/issuers/{membership.issuer.slug}/")
    page.get_by_role("heading", name=membership.issuer.name).wait_for()
