"""State changes of the shared kernel: issuers, memberships and personal API tokens. Each one is audited."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from core.access import Perm, can
from core.audit import audit_record
from core.countries import country_code, is_country
from core.errors import ApplicationError, Conflict, NotPermitted
from core.mfa import mfa_enrolled
from core.models import ApiToken, Issuer, IssuerMembership, Role, User


def _issuer_state(issuer: Issuer) -> dict[str, Any]:
    return {
        "name": issuer.name,
        "slug": issuer.slug,
        "legal_name": issuer.legal_name,
        "jurisdiction": issuer.jurisdiction,
        "formation_date": issuer.formation_date.isoformat() if issuer.formation_date else None,
        "country": country_code(issuer.country),
    }


@transaction.atomic
def issuer_create(
    *,
    actor: User | None,
    name: str,
    legal_name: str,
    jurisdiction: str,
    country: str,
    slug: str = "",
    website: str = "",
    description: str = "",
    formation_date: dt.date | None = None,
) -> Issuer:
    slug = slug or slugify(name)[:80]
    if not slug:
        raise ApplicationError("The issuer needs a name made of letters or digits.", code="invalid_name")
    if not is_country(country):
        raise ApplicationError(f"“{country}” is not a two-letter ISO country code.", code="unknown_country")
    if formation_date is not None and formation_date > timezone.now().date():
        raise ApplicationError("The date of incorporation is in the future.", code="formation_date_in_future")
    if Issuer.objects.filter(slug=slug).exists():
        raise Conflict(f"An issuer with the short name “{slug}” already exists.", code="duplicate_issuer")
    issuer = Issuer.objects.create(
        name=name,
        slug=slug,
        legal_name=legal_name,
        jurisdiction=jurisdiction,
        formation_date=formation_date,
        country=country_code(country),
        website=website,
        description=description,
    )
    audit_record(actor=actor, action="issuer.created", obj=issuer, after=_issuer_state(issuer))
    return issuer


def issuer_memberships_lock(issuer_id: int) -> None:
    """Lock every membership of the issuer (in primary-key order) before counting its admins, so two
    people removing or demoting each other at once cannot both succeed and leave no admin."""
    Issuer.objects.select_for_update().filter(pk=issuer_id).first()
    list(IssuerMembership.objects.select_for_update().filter(issuer_id=issuer_id).order_by("pk").values_list("pk"))


def _keep_an_admin(issuer_id: int, *, leaving: int) -> None:
    others = IssuerMembership.objects.filter(issuer_id=issuer_id, role=Role.ISSUER_ADMIN).exclude(pk=leaving)
    if not others.exists():
        raise ApplicationError(
            "An issuer must keep at least one admin. Make someone else an admin first.", code="last_admin"
        )


@transaction.atomic
def membership_grant(*, actor: User | None, issuer: Issuer, user: User, role: str) -> IssuerMembership:
    """Give `user` a role at `issuer`, or change the role they already have there.

    A new member must already have a second factor: everyone else joins through an invitation
    (`core.invitations`), whose link enrols one before the role is given.
    """
    if role not in Role.values:
        raise ApplicationError("Choose one of the listed roles.", code="invalid_role")
    issuer_memberships_lock(issuer.pk)
    existing = IssuerMembership.objects.filter(issuer=issuer, user=user).first()
    if existing is None and not mfa_enrolled(user):
        raise ApplicationError(
            f"{user.email} has no second factor yet: invite them, so the link enrols one first.",
            code="needs_invitation",
        )
    if existing is not None:
        if existing.role == role:
            return existing
        if existing.role == Role.ISSUER_ADMIN:
            _keep_an_admin(issuer.pk, leaving=existing.pk)
        before = {"user": user.email, "role": existing.role}
        existing.role = role
        existing.save(update_fields=["role"])
        audit_record(
            actor=actor,
            action="membership.role_changed",
            obj=existing,
            before=before,
            after={"user": user.email, "role": role},
        )
        return existing
    try:
        with transaction.atomic():
            membership = IssuerMembership.objects.create(issuer=issuer, user=user, role=role)
    except IntegrityError as exc:
        raise Conflict("That person was given a role at this issuer a moment ago.") from exc
    audit_record(actor=actor, action="membership.granted", obj=membership, after={"user": user.email, "role": role})
    return membership


@transaction.atomic
def membership_revoke(*, actor: User | None, membership: IssuerMembership) -> None:
    issuer_memberships_lock(membership.issuer_id)
    locked = IssuerMembership.objects.select_related("user", "issuer").filter(pk=membership.pk).first()
    if locked is None:
        raise Conflict("That person no longer has a role at this issuer.", code="membership_gone")
    if locked.role == Role.ISSUER_ADMIN:
        _keep_an_admin(locked.issuer_id, leaving=locked.pk)
    audit_record(
        actor=actor,
        action="membership.revoked",
        obj=locked,
        issuer=locked.issuer,
        before={"user": locked.user.email, "role": locked.role},
    )
    locked.delete()


@transaction.atomic
def platform_compliance_set(*, actor: User | None, user: User, granted: bool) -> User:
    """Give or take the platform compliance role (identity decisions for every issuer)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.platform_compliance == granted:
        return locked
    if granted and not mfa_enrolled(locked):
        raise ApplicationError(
            f"{locked.email} has no second factor yet: invite them from the Platform page instead.",
            code="needs_invitation",
        )
    locked.platform_compliance = granted
    locked.save(update_fields=["platform_compliance"])
    audit_record(
        actor=actor,
        action="platform_compliance.granted" if granted else "platform_compliance.revoked",
        obj=locked,
        before={"platform_compliance": not granted},
        after={"platform_compliance": granted},
    )
    return locked


# --------------------------------------------------------------------------- personal API tokens

API_TOKEN_PREFIX = "tsa_"
API_TOKENS_ACTIVE_MAX = 10  # per person: enough for a few systems, few enough to review at a glance
API_TOKEN_LONGEST = dt.timedelta(days=366 * 2)


@transaction.atomic
def api_token_create(
    *, actor: User, name: str, expires_at: dt.datetime | None = None, secret: str | None = None
) -> tuple[ApiToken, str]:
    """Make a personal API token for `actor`; returns the token and its secret, which is never shown again.

    `secret` is for the demo only, whose published token must survive a reseed; anyone else gets 256 random bits."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Name the token after what will use it, e.g. “nightly reconciliation”.", code="name")
    if len(name) > 100:
        raise ApplicationError("Keep the token's name to 100 characters.", code="name")
    if not can(actor, Perm.REGISTRY_READER):
        raise NotPermitted("API tokens are for people who read an issuer's register (transfer agents, issuer admins).")
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ApplicationError("The expiry must be in the future.", code="expiry")
    if expires_at is not None and expires_at > now + API_TOKEN_LONGEST:
        raise ApplicationError("A token can last two years at most; make a new one when it expires.", code="expiry")
    User.objects.select_for_update().only("pk").get(pk=actor.pk)  # two tokens made at once count as two
    active = ApiToken.objects.filter(user=actor, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if active.count() >= API_TOKENS_ACTIVE_MAX:
        raise Conflict(f"You have {API_TOKENS_ACTIVE_MAX} active tokens; revoke one you no longer use first.")
    if secret is not None and (not secret.startswith(API_TOKEN_PREFIX) or len(secret) < 36):
        raise ApplicationError("A chosen secret needs the token prefix and 32 characters after it.", code="secret")
    secret = secret or API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor, name=name, prefix=secret[:12], key_hash=ApiToken.hash_of(secret), expires_at=expires_at
    )
    audit_record(
        actor=actor,
        action="api_token.created",
        obj=token,
        after={"user": actor.email, "name": name, "prefix": token.prefix, "expires_at": expires_at},
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke one of the actor's own tokens; revoking it again changes nothing."""
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.user_id != actor.pk:
        raise NotPermitted("You can revoke only your own tokens.")
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api_token.revoked",
        obj=locked,
        before={"revoked_at": None},
        after={"user": actor.email, "name": locked.name, "prefix": locked.prefix, "revoked_at": locked.revoked_at},
    )
    return locked
