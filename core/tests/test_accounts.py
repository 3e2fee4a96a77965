"""Sign-up with mandatory e-mail verification, password reset, MFA at login, login rate limits."""

from __future__ import annotations

import re
import time

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client

from core.mfa import totp_code
from core.middleware import PrivilegedIdleTimeoutMiddleware
from core.models import Role, User
from core.tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET, MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


def _link_in_last_mail() -> str:
    match = re.search(r"https?://testserver(/\S+)", str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return match[1]


@pytest.mark.django_db
def test_sign_up_needs_a_verified_email_before_the_account_opens(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"email": "new.investor@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/dashboard/").status_code == 302  # not signed in yet
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.investor@example.com"]
    # The e-mail names the portal, not the host the request came to.
    body = str(mail.outbox[0].body)
    assert body.startswith("Hello from Tessera,") and "— Tessera" in body
    assert "Hello from testserver" not in body and "Thank you for using testserver" not in body
    assert mail.outbox[0].subject.startswith("[Tessera] ")

    # Signing in before verifying sends the person back to the verification notice.
    client.post("/accounts/login/", {"login": "new.investor@example.com", "password": TEST_PASSWORD})
    assert client.get("/dashboard/").status_code == 302

    confirm = _link_in_last_mail()
    page = client.get(confirm)
    assert page.status_code == 200
    done = client.post(confirm)
    assert done.status_code == 302
    assert client.get("/dashboard/").status_code == 200
    assert EmailAddress.objects.get(user__email="new.investor@example.com").verified


@pytest.mark.django_db
def test_password_reset_by_email_link(client: Client) -> None:
    UserFactory.create(email="forgetful@example.com")
    client.post("/accounts/password/reset/", {"email": "forgetful@example.com"})
    assert len(mail.outbox) == 1
    reset_link = _link_in_last_mail()
    form = client.get(reset_link, follow=True)
    assert form.status_code == 200
    new_password = "a-brand-new-passphrase-42"
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else reset_link,
        {"password1": new_password, "password2": new_password},
    )
    assert done.status_code == 302
    assert User.objects.get(email="forgetful@example.com").check_password(new_password)


@pytest.mark.django_db
def test_an_issuer_admin_signs_in_with_password_and_authenticator_code(client: Client) -> None:
    membership = MembershipFactory.create(role=Role.ISSUER_ADMIN, user__email="cfo@issuer.example")
    response = client.post("/accounts/login/", {"login": "cfo@issuer.example", "password": TEST_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    # The password alone opens nothing.
    assert client.get(f"/issuers/{membership.issuer.slug}/").status_code == 302

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and b"Incorrect code" in wrong.content
    ok = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret=TEST_TOTP_SECRET)})
    assert ok.status_code == 302
    assert client.get(f"/issuers/{membership.issuer.slug}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("steps_ago", "accepted"), [(1, True), (2, False), (-2, False)])
def test_a_code_of_the_time_step_just_gone_is_taken_once_and_older_ones_never(
    client: Client, steps_ago: int, accepted: bool
) -> None:
    """A code typed at the end of its 30 seconds arrives in the next: it still signs in, once."""
    MembershipFactory.create(role=Role.ISSUER_ADMIN, user__email="cfo@issuer.example")
    code = totp_code(secret=TEST_TOTP_SECRET, at=time.time() - steps_ago * 30)
    client.post("/accounts/login/", {"login": "cfo@issuer.example", "password": TEST_PASSWORD})
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert (response.status_code == 302) is accepted, response.content[:300]
    if accepted:
        client.logout()
        client.post("/accounts/login/", {"login": "cfo@issuer.example", "password": TEST_PASSWORD})
        again = client.post("/accounts/2fa/authenticate/", {"code": code})
        assert again.status_code == 200 and b"Incorrect code" in again.content


@pytest.mark.django_db
def test_an_admin_without_mfa_is_told_to_use_an_invitation_not_sent_to_enrol(client: Client) -> None:
    membership = MembershipFactory.create(
        role=Role.ISSUER_ADMIN, user=UserFactory.create(email="new.admin@issuer.example")
    )
    client.post("/accounts/login/", {"login": "new.admin@issuer.example", "password": TEST_PASSWORD})
    page = client.get(f"/issuers/{membership.issuer.slug}/", follow=True)
    assert page.redirect_chain[0] == ("/two-factor/needed/", 302)
    text = page.content.decode()
    assert "Your role needs two-factor authentication" in text
    assert "invitation" in text and "two-factor reset" in text
    assert "/accounts/2fa/totp/activate/" not in text


@pytest.mark.django_db
def test_repeated_failed_logins_are_rate_limited(client: Client) -> None:
    UserFactory.create(email="target@example.com")
    for i in range(5):
        wrong = client.post("/accounts/login/", {"login": "target@example.com", "password": f"guess-{i}"})
        assert wrong.status_code == 200 and b"not correct" in wrong.content
    # Past the limit even the right password is refused, and the reason is shown.
    blocked = client.post("/accounts/login/", {"login": "target@example.com", "password": TEST_PASSWORD})
    assert blocked.status_code == 200
    assert b"Too many failed login attempts" in blocked.content
    assert client.get("/dashboard/").status_code == 302


def _idle_for(client: Client, seconds: int) -> None:
    session = client.session
    session[PrivilegedIdleTimeoutMiddleware.SESSION_KEY] = int(time.time()) - seconds
    session.save()


@pytest.mark.django_db
def test_a_privileged_session_ends_after_the_idle_timeout(cast) -> None:
    client = Client()
    client.force_login(cast.admin)
    assert client.get(f"/issuers/{cast.issuer.slug}/").status_code == 200
    _idle_for(client, 29 * 60)
    assert client.get(f"/issuers/{cast.issuer.slug}/").status_code == 200  # still inside the 30 minutes
    _idle_for(client, 31 * 60)
    response = client.get(f"/issuers/{cast.issuer.slug}/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert "signed out after 30 minutes without activity" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Investors are not privileged: their sessions follow the ordinary session lifetime.
    investor = Client()
    investor.force_login(cast.investor)
    investor.get("/dashboard/")
    _idle_for(investor, 31 * 60)
    assert investor.get("/dashboard/").status_code == 200
