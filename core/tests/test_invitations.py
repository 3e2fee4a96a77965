"""Privileged roles are reached through an invitation link that enrols a second factor; a password alone never can."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.core import mail
from django.core.cache import cache
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ApplicationError
from core.invitations import (
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    invitation_token_hash,
)
from core.mfa import totp_code
from core.models import AuditEvent, Invitation, InvitationRole, IssuerMembership, Role, User
from core.tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory
from core.tests.inputs import examples, rolled_back
from core.tests.support import Cast

NEW_PASSWORD = "a-long-new-passphrase-31"
SITE = "http://testserver"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


def _link_in_last_mail() -> str:
    match = re.search(r"https?://testserver(/invitations/\S+/)", str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return match[1]


def _secret_on(page_html: str) -> str:
    match = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page_html)
    assert match, "the accept page shows no authenticator key"
    return match[1]


def _invite(client: Client, cast: Cast, email: str, role: str, capture: Callable) -> str:
    """The admin invites `email` from the team page; returns the path of the link in the e-mail."""
    client.force_login(cast.admin)
    with capture(execute=True):
        page = client.post(f"/issuers/{cast.issuer.slug}/team/", {"email": email, "role": role}, follow=True)
    assert f"An invitation was sent to {email}" in page.content.decode()
    assert mail.outbox[-1].to == [email]
    return _link_in_last_mail()


# --------------------------------------------------------------------------- the hole that is closed


@pytest.mark.django_db
def test_a_stolen_password_of_an_admin_without_a_factor_cannot_enrol_one_on_allauths_pages(client: Client) -> None:
    membership = MembershipFactory.create(role=Role.ISSUER_ADMIN, user=UserFactory.create(email="cfo@harbor.example"))
    client.post("/accounts/login/", {"login": "cfo@harbor.example", "password": TEST_PASSWORD})
    client.post("/accounts/reauthenticate/", {"password": TEST_PASSWORD})  # the thief knows the password

    for url in ("/accounts/2fa/totp/activate/", "/accounts/2fa/webauthn/add/"):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert "set up only from the link in an invitation e-mail" in refused.content.decode()

    # Even a well-formed activation with a code for a secret of the thief's choosing is refused.
    session = client.session
    session[SECRET_SESSION_KEY] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    session.save()
    posted = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")})
    assert posted.status_code == 403
    assert not Authenticator.objects.filter(user=membership.user).exists()
    assert client.get(f"/issuers/{membership.issuer.slug}/")["Location"] == "/two-factor/needed/"


@pytest.mark.django_db
def test_an_investor_still_enrols_an_authenticator_app_from_the_account_settings(client: Client) -> None:
    investor = UserFactory.create(email="saver@example.com")
    client.post("/accounts/login/", {"login": "saver@example.com", "password": TEST_PASSWORD})
    client.post("/accounts/reauthenticate/", {"password": TEST_PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret=secret)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=investor, type=Authenticator.Type.TOTP).exists()


# --------------------------------------------------------------------------- the invitation flow


@pytest.mark.django_db
def test_a_new_person_accepts_an_invitation_with_a_password_and_an_authenticator_in_one_go(
    client: Client, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    link = _invite(client, cast, "new.officer@harbor.example", "compliance_officer", django_capture_on_commit_callbacks)
    assert "invites you to Tessera as compliance officer at Harbor Street Capital" in mail.outbox[-1].body
    team = client.get(f"/issuers/{cast.issuer.slug}/team/").content.decode()
    assert "Open invitations" in team and "new.officer@harbor.example" in team

    invitee = Client()
    page = invitee.get(link)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Harbor Street Capital" in html and "Compliance officer" in html
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code is drawn inline, no CDN
    secret = _secret_on(html)

    weak = invitee.post(link, {"password1": "password", "password2": "password", "code": totp_code(secret=secret)})
    assert weak.status_code == 200 and "This password is too short" in weak.content.decode()
    wrong_code = invitee.post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": "000000"})
    assert "does not match the authenticator" in wrong_code.content.decode()
    assert not User.objects.filter(email="new.officer@harbor.example").exists()
    assert _secret_on(wrong_code.content.decode()) == secret  # the same key across attempts

    done = invitee.post(
        link,
        {
            "full_name": "Nia Officer",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "code": totp_code(secret=secret),
        },
        follow=True,
    )
    assert done.redirect_chain[-1][0] == f"/issuers/{cast.issuer.slug}/"
    assert "You are now compliance officer at Harbor Street Capital" in done.content.decode()
    user = User.objects.get(email="new.officer@harbor.example")
    assert user.check_password(NEW_PASSWORD) and user.full_name == "Nia Officer"
    assert EmailAddress.objects.get(user=user).verified
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).count() == 1
    assert IssuerMembership.objects.get(user=user, issuer=cast.issuer).role == Role.COMPLIANCE_OFFICER
    invitation = Invitation.objects.get(email="new.officer@harbor.example")
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"invitation.created", "invitation.accepted", "mfa.totp_enrolled", "membership.granted"} <= actions
    # The token is never stored, only its hash.
    token = link.strip("/").split("/")[-1]
    assert invitation.token_hash == invitation_token_hash(token) and token not in str(invitation.__dict__)

    # Signing in later needs the password and the code.
    later = Client()
    later.post("/accounts/login/", {"login": "new.officer@harbor.example", "password": NEW_PASSWORD})
    assert later.get(f"/issuers/{cast.issuer.slug}/").status_code == 302


@pytest.mark.django_db
def test_an_existing_account_signs_in_then_enrols_and_accepts(
    client: Client, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    link = _invite(client, cast, cast.investor.email, "transfer_agent", django_capture_on_commit_callbacks)
    assert not IssuerMembership.objects.filter(user=cast.investor).exists()

    signed_out = Client().get(link).content.decode()
    assert "Sign in first" in signed_out and "/accounts/login/?next=" in signed_out

    stranger = Client()
    stranger.force_login(cast.other_admin)
    wrong = stranger.get(link)
    assert wrong.status_code == 403 and "for another e-mail address" in wrong.content.decode()
    assert stranger.post(link, {"code": "123456"}).status_code == 403

    own = Client()
    own.force_login(cast.investor)
    html = own.get(link).content.decode()
    assert "Choose a password" not in html  # the account keeps its password
    secret = _secret_on(html)
    own.post(link, {"code": totp_code(secret=secret)})
    assert IssuerMembership.objects.get(user=cast.investor, issuer=cast.issuer).role == Role.TRANSFER_AGENT
    assert cast.investor.check_password(TEST_PASSWORD)
    assert own.get(f"/issuers/{cast.issuer.slug}/").status_code == 200


@pytest.mark.django_db
def test_used_revoked_expired_and_unknown_links_say_why(
    client: Client, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    unknown = Client().get("/invitations/not-a-real-token/")
    assert unknown.status_code == 404 and "This invitation link is not valid" in unknown.content.decode()

    link = _invite(client, cast, "late@harbor.example", "transfer_agent", django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(email="late@harbor.example")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    expired = Client().get(link)
    assert expired.status_code == 410 and "This invitation expired on" in expired.content.decode()

    # Resending makes a new link and a new expiry; the old link stops working.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/issuers/{cast.issuer.slug}/team/invitations/{invitation.pk}/resend/")
    fresh = _link_in_last_mail()
    assert fresh != link and Client().get(link).status_code == 404
    assert Client().get(fresh).status_code == 200

    page = client.post(f"/issuers/{cast.issuer.slug}/team/invitations/{invitation.pk}/revoke/", follow=True)
    assert "was withdrawn" in page.content.decode()
    revoked = Client().get(fresh)
    assert revoked.status_code == 410 and "This invitation was withdrawn" in revoked.content.decode()
    assert {"invitation.resent", "invitation.revoked"} <= set(AuditEvent.objects.values_list("action", flat=True))

    used_link = _invite(client, cast, "once@harbor.example", "transfer_agent", django_capture_on_commit_callbacks)
    invitee = Client()
    secret = _secret_on(invitee.get(used_link).content.decode())
    invitee.post(used_link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": totp_code(secret=secret)})
    again = Client().get(used_link)
    assert again.status_code == 410 and "already used" in again.content.decode()


@pytest.mark.django_db
def test_another_issuers_admin_cannot_resend_or_revoke_an_invitation(cast: Cast) -> None:
    invitation = invitation_create(
        actor=cast.admin, email="x@harbor.example", role=Role.TRANSFER_AGENT, site=SITE, issuer=cast.issuer
    )
    other = Client()
    other.force_login(cast.other_admin)
    assert other.post(f"/issuers/{cast.issuer.slug}/team/invitations/{invitation.pk}/revoke/").status_code == 403
    assert other.post(f"/issuers/{cast.other_issuer.slug}/team/invitations/{invitation.pk}/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


@pytest.mark.django_db
def test_one_open_invitation_per_person_and_issuer(cast: Cast) -> None:
    invitation_create(
        actor=cast.admin, email="dup@harbor.example", role=Role.TRANSFER_AGENT, site=SITE, issuer=cast.issuer
    )
    with pytest.raises(ApplicationError, match="already has an open invitation"):
        invitation_create(
            actor=cast.admin, email="DUP@harbor.example", role=Role.ISSUER_ADMIN, site=SITE, issuer=cast.issuer
        )
    with pytest.raises(ApplicationError, match="already is transfer agent"):
        invitation_create(
            actor=cast.admin, email=cast.agent.email, role=Role.TRANSFER_AGENT, site=SITE, issuer=cast.issuer
        )


@pytest.mark.django_db(transaction=True)
def test_accepting_one_link_twice_at_once_grants_once(cast: Cast) -> None:
    """The invitation row is locked before its state is read (PostgreSQL: SELECT ... FOR UPDATE)."""
    secret = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
    invitation_create(
        actor=cast.admin, email="race@harbor.example", role=Role.ISSUER_ADMIN, site=SITE, issuer=cast.issuer
    )
    token = _link_in_last_mail().strip("/").split("/")[-1]  # sent once the invitation committed

    start = threading.Barrier(3)
    results: list[str] = []
    lock = threading.Lock()

    def accept() -> None:
        try:
            start.wait()
            invitation_accept(
                token=token,
                user=None,
                password=NEW_PASSWORD,
                totp_secret=secret,
                totp_code=totp_code(secret=secret),
            )
            result = "ok"
        except ApplicationError as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=accept) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["invitation_used", "invitation_used", "ok"], results
    user = User.objects.get(email="race@harbor.example")
    assert IssuerMembership.objects.filter(user=user).count() == 1
    assert Authenticator.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(action="invitation.accepted").count() == 1


# --------------------------------------------------------------------------- platform roles and resets


@pytest.mark.django_db
def test_staff_invite_a_platform_compliance_officer_who_accepts_by_link(
    client: Client, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    client.force_login(cast.staff)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            "/staff/invitations/", {"email": "kyc@tessera.example", "role": "platform_compliance"}, follow=True
        )
    assert "An invitation was sent to kyc@tessera.example" in page.content.decode()
    link = _link_in_last_mail()
    invitee = Client()
    secret = _secret_on(invitee.get(link).content.decode())
    done = invitee.post(
        link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": totp_code(secret=secret)}, follow=True
    )
    assert done.redirect_chain[-1][0] == "/platform/compliance/"
    officer = User.objects.get(email="kyc@tessera.example")
    assert officer.platform_compliance and not officer.is_staff
    # Only staff invite to platform roles.
    admin = Client()
    admin.force_login(cast.admin)
    assert admin.post("/staff/invitations/", {"email": "x@example.com", "role": "platform_staff"}).status_code == 403


@pytest.mark.django_db
def test_a_staff_reset_removes_the_factor_ends_sessions_and_mails_a_link_that_sets_both_again(
    client: Client, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    victim_session = Client()
    victim_session.force_login(cast.admin)
    assert victim_session.get(f"/issuers/{cast.issuer.slug}/").status_code == 200

    client.force_login(cast.staff)
    no_reason = client.post("/staff/mfa-reset/", {"email": cast.admin.email, "reason": " "})
    assert no_reason.status_code == 200 and Authenticator.objects.filter(user=cast.admin).exists()
    own = client.post("/staff/mfa-reset/", {"email": cast.staff.email, "reason": "lost phone"})
    assert "Another staff member must reset your own" in own.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            "/staff/mfa-reset/", {"email": cast.admin.email, "reason": "ticket 4411, called back"}, follow=True
        )
    assert "sessions ended" in page.content.decode()
    assert not Authenticator.objects.filter(user=cast.admin).exists()
    assert victim_session.get(f"/issuers/{cast.issuer.slug}/").status_code == 302  # signed out
    old_password = Client()
    old_password.post("/accounts/login/", {"login": cast.admin.email, "password": TEST_PASSWORD})
    assert "_auth_user_id" not in old_password.session
    event = AuditEvent.objects.get(action="mfa.reset")
    assert event.actor_id == cast.staff.pk and event.before == {"authenticators": ["totp"]}
    assert "Set up two-factor authentication again" in mail.outbox[-1].subject

    link = _link_in_last_mail()
    back = Client()
    html = back.get(link).content.decode()
    assert "Choose a password" in html
    secret = _secret_on(html)
    back.post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": totp_code(secret=secret)})
    cast.admin.refresh_from_db()
    assert cast.admin.check_password(NEW_PASSWORD)
    assert Authenticator.objects.filter(user=cast.admin, type=Authenticator.Type.TOTP).exists()
    assert IssuerMembership.objects.filter(user=cast.admin, issuer=cast.issuer).exists()  # the role stays
    assert Invitation.objects.get(role=InvitationRole.MFA_RESET).accepted_by == cast.admin


# --------------------------------------------------------------------------- whatever happens, one grant at most

OPERATIONS = st.lists(
    st.sampled_from(["accept", "accept_old_link", "resend", "revoke", "expire", "wrong_code"]), max_size=8
)


@pytest.mark.django_db
def test_an_invitation_grants_at_most_once_and_only_through_its_latest_link(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    secret = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"

    def sent(action: Callable[[], object]) -> str:
        """Run a service that mails a link (the mail leaves on commit) and return the link's token."""
        with django_capture_on_commit_callbacks(execute=True):
            action()
        return _link_in_last_mail().strip("/").split("/")[-1]

    @examples
    @given(operations=OPERATIONS)
    def run(operations: list[str]) -> None:
        with rolled_back():
            created: list[Invitation] = []
            tokens = [
                sent(
                    lambda: created.append(
                        invitation_create(
                            actor=cast.admin,
                            email="p@harbor.example",
                            role=Role.TRANSFER_AGENT,
                            site=SITE,
                            issuer=cast.issuer,
                        )
                    )
                )
            ]
            invitation = created[0]

            def resend() -> None:
                invitation_resend(actor=cast.admin, invitation=invitation, site=SITE)

            grants = 0
            for op in operations:
                try:
                    if op == "resend":
                        tokens.append(
                            sent(lambda: invitation_resend(actor=cast.admin, invitation=invitation, site=SITE))
                        )
                    elif op == "revoke":
                        invitation_revoke(actor=cast.admin, invitation=invitation)
                    elif op == "expire":
                        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
                    else:
                        token = tokens[0] if op == "accept_old_link" else tokens[-1]
                        code = "000000" if op == "wrong_code" else totp_code(secret=secret)
                        with transaction.atomic():
                            invitation_accept(
                                token=token, user=None, password=NEW_PASSWORD, totp_secret=secret, totp_code=code
                            )
                        grants += 1
                        assert token == tokens[-1], "an earlier link was accepted"
                except ApplicationError:
                    pass
            invitation.refresh_from_db()
            assert grants <= 1
            assert IssuerMembership.objects.filter(user__email="p@harbor.example").count() == grants
            assert User.objects.filter(email="p@harbor.example").count() == grants
            assert (invitation.accepted_at is not None) == (grants == 1)
            if invitation.accepted_at is not None:
                assert invitation.revoked_at is None, "an accepted invitation was withdrawn afterwards"

    run()


@pytest.mark.django_db
def test_a_fresh_install_gets_its_first_staff_member_from_the_invite_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from django.core.management import call_command

    call_command("invite", "ops@tessera.example", "--url", "http://testserver")
    link = re.search(r"http://testserver(/invitations/\S+/)", capsys.readouterr().out)
    assert link
    invitee = Client()
    secret = _secret_on(invitee.get(link[1]).content.decode())
    done = invitee.post(
        link[1], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": totp_code(secret=secret)}, follow=True
    )
    assert done.redirect_chain[-1][0] == "/staff/"
    assert User.objects.get(email="ops@tessera.example").is_staff
    assert AuditEvent.objects.filter(action="platform_staff.granted").exists()
