"""An issuer admin invites a new compliance officer, who accepts in a browser: password and authenticator in one go."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from core.mfa import totp_code
from core.models import IssuerMembership, Role
from core.tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_invitee_sets_a_password_and_an_authenticator_and_lands_on_the_issuer(page, browser, live_server) -> None:
    membership = MembershipFactory.create(role=Role.ISSUER_ADMIN, user__email="hannah@harbor.example")
    issuer = membership.issuer
    page.goto(f"{live_server.url}/issuers/{issuer.slug}/team/")
    page.get_by_label("Email").fill("hannah@harbor.example")
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code").fill(totp_code(secret=TEST_TOTP_SECRET))
    page.get_by_role("button", name="Sign In").click()

    page.get_by_role("heading", name="Give someone a role").wait_for()
    page.get_by_label("E-mail address").fill("nia@harbor.example")
    page.get_by_label("Role").select_option("compliance_officer")
    page.get_by_role("button", name="Give the role or invite").click()
    page.get_by_text("An invitation was sent to nia@harbor.example").wait_for()
    assert page.get_by_role("cell", name="nia@harbor.example").is_visible()

    link = re.search(r"https?://\S+/invitations/\S+/", str(mail.outbox[-1].body))
    assert link, mail.outbox[-1].body
    context = browser.new_context(viewport={"width": 390, "height": 844})  # the invitee, on a phone
    invitee = context.new_page()
    invitee.set_default_timeout(15_000)
    try:
        invitee.goto(link[0])
        invitee.get_by_role("heading", name="You are invited to Tessera").wait_for()
        assert invitee.get_by_text(issuer.name).first.is_visible()
        assert invitee.get_by_role("img", name=re.compile("QR code")).is_visible()
        invitee.get_by_label("Your name").fill("Nia Officer")
        invitee.get_by_label("Password", exact=True).fill("a-long-new-passphrase-31")
        invitee.get_by_label("Password again").fill("a-long-new-passphrase-31")
        secret = invitee.get_by_test_id("totp-secret").inner_text().strip()
        invitee.get_by_label("Code from your authenticator app").fill(totp_code(secret=secret))
        invitee.get_by_role("button", name="Accept the invitation").click()

        invitee.get_by_text(f"You are now compliance officer at {issuer.name}").wait_for()
        invitee.get_by_role("heading", name=issuer.name).wait_for()
        assert invitee.url.endswith(f"/issuers/{issuer.slug}/")
    finally:
        context.close()
    assert IssuerMembership.objects.get(user__email="nia@harbor.example", issuer=issuer).role == Role.COMPLIANCE_OFFICER
