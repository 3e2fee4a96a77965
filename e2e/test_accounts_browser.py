"""A person in a browser: sign-up with e-mail verification; an issuer admin's sign-in with MFA."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from core.mfa import totp_code
from core.models import Role
from core.tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_investor_signs_up_and_verifies_their_email(page, live_server) -> None:
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Create an investor account").click()
    page.get_by_label("Email").fill("maria.lopez@example.com")
    page.locator("#id_password1").fill(TEST_PASSWORD)
    page.locator("#id_password2").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify Your Email Address").wait_for()

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", str(mail.outbox[-1].body))
    assert link, mail.outbox[-1].body
    page.goto(link[0])
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Welcome").wait_for()
    assert "Tell us about yourself" in page.content()


def test_an_issuer_admin_needs_the_authenticator_code_to_reach_the_issuer(page, live_server) -> None:
    membership = MembershipFactory.create(role=Role.ISSUER_ADMIN, user__email="hannah@harbor.example")
    page.goto(f"{live_server.url}/issuers/{membership.issuer.slug}/")
    page.get_by_label("Email").fill("hannah@harbor.example")
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign In").click()
    page.get_by_text("Incorrect code").wait_for()

    page.get_by_label("Code").fill(totp_code(secret=TEST_TOTP_SECRET))
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name=membership.issuer.name).wait_for()
    assert page.url.endswith(f"/issuers/{membership.issuer.slug}/")
    assert page.get_by_role("link", name="Audit log", exact=True).is_visible()
