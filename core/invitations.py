"""Invitations: the one way into a privileged role for an account without a second factor.

An invitation link sets the password (for a new address, or an account whose password a reset cleared),
enrols a TOTP authenticator verified by a code the person types, and only then creates the account and
gives the role, all in one transaction. A person whose password was stolen before they enrolled a factor
is therefore safe: the password alone reaches no enrolment page (`core.middleware` refuses allauth's own
to privileged accounts without a factor), and the link goes only to their mailbox.

Tokens: `secrets.token_urlsafe`, sent once by e-mail, stored only as a SHA-256 hash. Resending makes a
new token (the old link stops working). Lock order: issuer and its memberships first (as
`core.services.membership_grant` does), then the invitation row, then the audit head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from smtplib import SMTPException

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, validate_totp_code
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict, NotPermitted
from core.mfa import mfa_enrolled
from core.models import (
    ISSUER_INVITATION_ROLES,
    Invitation,
    InvitationRole,
    Issuer,
    IssuerMembership,
    Role,
    User,
)
from core.services import issuer_create, issuer_memberships_lock, membership_grant, platform_compliance_set

log = logging.getLogger(__name__)

TOKEN_BYTES = 32


class InvitationClosed(ApplicationError):
    """The link was used, withdrawn, expired or never existed: gone for good (HTTP 410)."""

    status_code = 410


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _normalized(email: str) -> str:
    return email.strip().lower()


def _expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(days=int(settings.INVITATION_VALIDITY_DAYS))


def _state(invitation: Invitation) -> dict[str, object]:
    state: dict[str, object] = {"role": invitation.role, "expires_at": invitation.expires_at}
    # A reset may be addressed to an investor: the chain names them through the user object, not the address.
    if invitation.role != InvitationRole.MFA_RESET:
        state["email"] = invitation.email
    return state


def invitation_link(*, site: str, token: str) -> str:
    return site.rstrip("/") + reverse("invitation_accept", args=[token])


def _mail_after_commit(invitation: Invitation, token: str, site: str) -> None:
    """Sent from this process after commit: the raw token exists only here and must not sit in a broker."""
    invitation_id = invitation.pk

    def send() -> None:
        fresh = Invitation.objects.select_related("issuer", "invited_by").get(pk=invitation_id)
        body = render_to_string(
            "core/email/invitation.txt",
            {
                "invitation": fresh,
                "link": invitation_link(site=site, token=token),
                "days": int(settings.INVITATION_VALIDITY_DAYS),
            },
        )
        subject = (
            "[Tessera] Set up two-factor authentication again"
            if fresh.role == InvitationRole.MFA_RESET
            else f"[Tessera] You are invited: {fresh.get_role_display()}"
            + (f" at {fresh.issuer.name}" if fresh.issuer else "")
        )
        try:
            send_mail(subject, body, None, [fresh.email], fail_silently=False)
        except (SMTPException, OSError):  # the invitation stands; the team page offers "Resend"
            log.warning("could not send invitation %s; it can be resent from the team page", invitation_id)

    transaction.on_commit(send)


def _pending_for(*, email: str, role: str, issuer: Issuer | None) -> Invitation | None:
    """An invitation not accepted or withdrawn (an expired one too: resending it is the way on)."""
    rows = Invitation.objects.filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True).filter(
        issuer=issuer
    )
    if issuer is None:
        rows = rows.filter(role=role)
    return rows.first()


def invitation_create(
    *, actor: User | None, email: str, role: str, site: str, issuer: Issuer | None = None
) -> Invitation:
    """Invite `email` to `role` (at `issuer` for an issuer role) and mail them the link after commit."""
    return invitation_issue(actor=actor, email=email, role=role, site=site, issuer=issuer)[0]


@transaction.atomic
def invitation_issue(
    *, actor: User | None, email: str, role: str, site: str, issuer: Issuer | None = None
) -> tuple[Invitation, str]:
    """`invitation_create`, also returning the raw token (for an operator's terminal: `manage.py invite`)."""
    email = _normalized(email)
    if role not in InvitationRole.values:
        raise ApplicationError("Choose one of the listed roles.", code="invalid_role")
    if (role in ISSUER_INVITATION_ROLES) != (issuer is not None):
        raise ApplicationError("An issuer role is given at an issuer; a platform role at none.", code="invalid_role")
    if issuer is not None:
        issuer_memberships_lock(issuer.pk)  # one pending invitation per person and issuer, also when two admins click
        member = IssuerMembership.objects.filter(issuer=issuer, user__email__iexact=email).first()
        if member is not None and member.role == role:
            raise Conflict(f"{email} already is {member.get_role_display().lower()} here.", code="already_member")
    if _pending_for(email=email, role=role, issuer=issuer) is not None:
        raise Conflict(f"{email} already has an open invitation; resend or revoke it below.", code="invitation_pending")
    now = timezone.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation.objects.create(
        issuer=issuer,
        email=email,
        role=role,
        invited_by=actor,
        token_hash=invitation_token_hash(token),
        sent_at=now,
        expires_at=_expiry(now),
    )
    audit_record(actor=actor, action="invitation.created", obj=invitation, issuer=issuer, after=_state(invitation))
    _mail_after_commit(invitation, token, site)
    return invitation, token


def _locked(invitation: Invitation) -> Invitation:
    if invitation.issuer_id is not None:
        issuer_memberships_lock(invitation.issuer_id)
    return Invitation.objects.select_for_update(of=("self",)).select_related("issuer").get(pk=invitation.pk)


def _refuse_closed(invitation: Invitation) -> None:
    """A clear reason for every link that can no longer be used."""
    if invitation.accepted_at is not None:
        raise InvitationClosed(
            f"This invitation was already used on {invitation.accepted_at:%Y-%m-%d}. Sign in instead.",
            code="invitation_used",
        )
    if invitation.revoked_at is not None:
        raise InvitationClosed(
            "This invitation was withdrawn. Ask whoever invited you for a new one.", code="invitation_revoked"
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationClosed(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC. Ask whoever invited you to "
            "send it again.",
            code="invitation_expired",
        )


@transaction.atomic
def invitation_resend(*, actor: User | None, invitation: Invitation, site: str) -> Invitation:
    """A new link and a new expiry; the old link stops working."""
    locked = _locked(invitation)
    if locked.accepted_at is not None or locked.revoked_at is not None:
        raise Conflict("This invitation was already used or withdrawn; there is nothing to resend.", code="closed")
    now = timezone.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    before = {"expires_at": locked.expires_at}
    locked.token_hash, locked.sent_at, locked.expires_at = invitation_token_hash(token), now, _expiry(now)
    locked.save(update_fields=["token_hash", "sent_at", "expires_at"])
    audit_record(actor=actor, action="invitation.resent", obj=locked, before=before, after=_state(locked))
    _mail_after_commit(locked, token, site)
    return locked


@transaction.atomic
def invitation_revoke(*, actor: User | None, invitation: Invitation) -> Invitation:
    locked = _locked(invitation)
    if locked.accepted_at is not None:
        raise Conflict("This invitation was already accepted; remove the role from the team instead.", code="used")
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at, locked.revoked_by = timezone.now(), actor
    locked.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor, action="invitation.revoked", obj=locked, before={"state": "pending"}, after=_state(locked)
    )
    return locked


def invitation_by_token(*, token: str) -> Invitation | None:
    """The invitation a link names, or None. Looked up by hash; the hash is compared in constant time again."""
    digest = invitation_token_hash(token)
    invitation = Invitation.objects.select_related("issuer", "invited_by").filter(token_hash=digest).first()
    if invitation is None or not hmac.compare_digest(invitation.token_hash, digest):
        return None
    return invitation


@dataclass(frozen=True)
class AcceptNeeds:
    """What the accept page must ask for, and who is accepting."""

    account: User | None  # the existing account of the invited address, if any
    password: bool  # a new password (new address, or an account whose password a reset cleared)
    factor: bool  # a TOTP authenticator (the account has no factor yet)
    sign_in: bool  # the address has an account with a password: its owner signs in first


def invitation_check(*, invitation: Invitation, user: User | None) -> AcceptNeeds:
    """Raise a clear error when the link cannot be used by this visitor; else say what the page must ask for."""
    _refuse_closed(invitation)
    account = User.objects.filter(email__iexact=invitation.email).first()
    if user is not None and user.email.lower() != invitation.email:
        raise NotPermitted(
            f"This invitation is for another e-mail address; you are signed in as {user.email}. Sign out, then "
            "open the link again.",
            code="wrong_email",
        )
    if account is not None and not account.is_active:
        raise NotPermitted("The account of this address is deactivated; ask platform staff.", code="inactive")
    password = account is None or not account.has_usable_password()
    sign_in = user is None and not password
    return AcceptNeeds(
        account=account,
        password=password,
        factor=account is None or not mfa_enrolled(account),
        sign_in=sign_in,
    )


def _grant(invitation: Invitation, account: User) -> None:
    actor = invitation.invited_by or account
    if invitation.issuer is not None:
        membership_grant(actor=actor, issuer=invitation.issuer, user=account, role=invitation.role)
    elif invitation.role == InvitationRole.PLATFORM_COMPLIANCE:
        platform_compliance_set(actor=actor, user=account, granted=True)
    elif invitation.role == InvitationRole.PLATFORM_STAFF and not account.is_staff:
        account.is_staff = True
        account.save(update_fields=["is_staff"])
        audit_record(
            actor=actor,
            action="platform_staff.granted",
            obj=account,
            before={"is_staff": False},
            after={"is_staff": True, "invitation": invitation.pk},
        )


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    user: User | None,
    password: str = "",
    full_name: str = "",
    totp_secret: str = "",
    totp_code: str = "",
) -> User:
    """Accept once: set the password and enrol the factor when needed, then give the role.

    `user` is the signed-in visitor (None when signed out). Two requests with one link grant once: the
    second waits for the first's lock and then finds the invitation used.
    """
    found = invitation_by_token(token=token)
    if found is None:
        raise InvitationClosed("This invitation link is not valid. Check that you copied all of it.", code="unknown")
    invitation = _locked(found)
    if user is not None:  # the lock may have waited; re-read who the visitor is
        user = User.objects.get(pk=user.pk)
    needs = invitation_check(invitation=invitation, user=user)
    if needs.sign_in:
        raise NotPermitted(
            f"An account with {invitation.email} exists: sign in with it, then open the link again.", code="sign_in"
        )
    account = needs.account
    if account is not None:  # its row before the audit head (core.audit's lock order)
        account = User.objects.select_for_update().get(pk=account.pk)
    if needs.password:
        try:
            validate_password(password, user=account or User(email=invitation.email, full_name=full_name))
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages), code="weak_password", extra={"field": "password1"}) from exc
    if needs.factor and not (totp_secret and totp_code and validate_totp_code(totp_secret, totp_code.strip())):
        raise ApplicationError(
            "That code does not match the authenticator. Enter the 6-digit code your app shows now.",
            code="incorrect_code",
            extra={"field": "code"},
        )
    now = timezone.now()
    if account is None:
        account = User.objects.create_user(invitation.email, password, full_name=full_name.strip()[:200])
        audit_record(
            actor=account, action="user.created_by_invitation", obj=account, after={"invitation": invitation.pk}
        )
    elif needs.password:
        account.set_password(password)
        account.save(update_fields=["password"])
        audit_record(actor=account, action="user.password_set_by_invitation", obj=account)
    # The link reached this mailbox, so the address is verified.
    EmailAddress.objects.update_or_create(
        user=account, email__iexact=invitation.email, defaults={"email": invitation.email, "verified": True}
    )
    if not EmailAddress.objects.filter(user=account, primary=True).exists():
        EmailAddress.objects.filter(user=account, email=invitation.email).update(primary=True)
    if needs.factor:
        TOTP.activate(account, totp_secret)
        audit_record(actor=account, action="mfa.totp_enrolled", obj=account, after={"type": "totp"})
    _grant(invitation, account)
    invitation.accepted_at, invitation.accepted_by = now, account
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=account,
        action="invitation.accepted",
        obj=invitation,
        issuer=invitation.issuer,
        before={"state": "pending"},
        after={**_state(invitation), "user": account.audit_label()},
    )
    return account


# --------------------------------------------------------------------------- adding people


@transaction.atomic
def team_member_add(*, actor: User, issuer: Issuer, email: str, role: str, site: str) -> IssuerMembership | Invitation:
    """The team page's one button. Someone who already has a second factor gets the role at once (their
    factor was enrolled under their own sign-in, so a stolen password alone cannot use it); everyone else,
    new or not, gets an invitation whose link enrols a factor first."""
    email = _normalized(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and mfa_enrolled(user):
        return membership_grant(actor=actor, issuer=issuer, user=user, role=role)
    existing = IssuerMembership.objects.filter(issuer=issuer, user__email__iexact=email).first()
    if existing is not None:  # a member from before factors were required: their role changes as asked
        return membership_grant(actor=actor, issuer=issuer, user=existing.user, role=role)
    return invitation_create(actor=actor, email=email, role=role, site=site, issuer=issuer)


@transaction.atomic
def issuer_onboard(
    *,
    actor: User,
    name: str,
    legal_name: str,
    jurisdiction: str,
    country: str,
    admin_email: str,
    site: str,
    formation_date: dt.date | None = None,
) -> IssuerMembership | Invitation:
    """Create an issuer with its first admin: both or neither. The admin gets the role at once when they
    already have a second factor, else an invitation (a new address is welcome: the link creates the account)."""
    issuer = issuer_create(
        actor=actor,
        name=name,
        legal_name=legal_name,
        jurisdiction=jurisdiction,
        country=country,
        formation_date=formation_date,
    )
    return team_member_add(actor=actor, issuer=issuer, email=admin_email, role=Role.ISSUER_ADMIN, site=site)


@transaction.atomic
def platform_member_add(*, actor: User, email: str, role: str, site: str) -> User | Invitation:
    """Staff give platform compliance or staff: directly to someone with a factor, else by invitation."""
    if role not in (InvitationRole.PLATFORM_COMPLIANCE, InvitationRole.PLATFORM_STAFF):
        raise ApplicationError("Choose platform compliance or platform staff.", code="invalid_role")
    email = _normalized(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and mfa_enrolled(user):
        if role == InvitationRole.PLATFORM_COMPLIANCE:
            return platform_compliance_set(actor=actor, user=user, granted=True)
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.is_staff:
            locked.is_staff = True
            locked.save(update_fields=["is_staff"])
            audit_record(
                actor=actor,
                action="platform_staff.granted",
                obj=locked,
                before={"is_staff": False},
                after={"is_staff": True},
            )
        return locked
    return invitation_create(actor=actor, email=email, role=role, site=site)


# --------------------------------------------------------------------------- MFA reset by staff


@transaction.atomic
def mfa_reset(*, actor: User, user: User, reason: str, site: str) -> Invitation:
    """Platform staff remove a person's authenticators, end their sessions and mail them a fresh link.

    The password is cleared too: that ends every session (Django checks a hash of it on each request) and
    makes the link the only way back in, so whoever holds the old password cannot enrol a factor.
    """
    if not reason.strip():
        raise ApplicationError("Say why (for example, how the person proved who they are).", code="reason")
    if actor.pk == user.pk:
        raise NotPermitted("Another staff member must reset your own two-factor authentication.", code="four_eyes")
    locked = User.objects.select_for_update().get(pk=user.pk)
    removed = sorted(Authenticator.objects.filter(user=locked).values_list("type", flat=True))
    Authenticator.objects.filter(user=locked).delete()
    locked.set_unusable_password()
    locked.save(update_fields=["password"])
    # An earlier reset's link must not outlive this one.
    superseded = Invitation.objects.filter(
        email=locked.email.lower(), role=InvitationRole.MFA_RESET, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now(), revoked_by=actor)
    audit_record(
        actor=actor,
        action="mfa.reset",
        obj=locked,
        before={"authenticators": removed},
        after={
            "authenticators": [],
            "sessions": "ended",
            "earlier_links_revoked": superseded,
            "reason": reason.strip()[:300],
        },
    )
    return invitation_create(actor=actor, email=locked.email, role=InvitationRole.MFA_RESET, site=site)
