"""The one place that decides "may this user do this to this object".

Every page and API endpoint names a `Perm`; `can()` answers for a user and an object, and
`require()` / `access_required` / `AccessPermission` apply the answer to pages and the API.
Holders of issuer roles, platform compliance and platform staff must have multi-factor
authentication enrolled before any page that needs those roles opens for them.

Who decides what: identity (KYC, sanctions matches, accreditation verification, custodial
wallets) is decided once for the whole platform by platform compliance (or the configured KYC
vendor), because every issuer and the shared on-chain registry rely on it. An issuer's admins
and compliance officers decide only whether their issuer admits an applicant.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.models import Issuer, IssuerMembership, Role, User


class Perm(StrEnum):
    INVESTOR_SELF = "investor.self"  # an investor's own pages
    ISSUER_VIEW = "issuer.view"
    ISSUER_MANAGE_TEAM = "issuer.manage_team"
    ISSUER_VIEW_AUDIT = "issuer.view_audit"
    ISSUER_MANAGE_OFFERINGS = "issuer.manage_offerings"
    ISSUER_RECORD_PAYMENTS = "issuer.record_payments"  # wires received, refunds sent by hand
    ISSUER_APPROVE_MONEY = "issuer.approve_money"  # the second pair of eyes on money moved by hand
    ISSUER_MANAGE_DISTRIBUTIONS = "issuer.manage_distributions"  # declare, compute and approve distributions
    ISSUER_MANAGE_BALLOTS = "issuer.manage_ballots"  # create ballots, read their voting power, count them
    # A token's backing profile and rule, reserve statements entered and approved (issuer admins only).
    ISSUER_MANAGE_BACKING = "issuer.manage_backing"
    COMPLIANCE_REVIEW = "compliance.review"  # the issuer admits or declines its applicants
    REGISTRY_VIEW = "registry.view"
    # Freeze, unfreeze, pause, forced transfer and recovery on the issuer's tokens (issuer admins only).
    REGISTRY_ADMINISTER = "registry.administer"
    # Approve or refuse holders' exception requests: issuer admins, and the transfer agent where the issuer allows
    # it (Issuer.transfer_agent_decides_requests). What an approval proposes is still approved by an issuer admin.
    TRANSFER_REQUESTS_DECIDE = "registry.decide_transfer_requests"
    # Not scoped to one issuer: the registry landing page and one's own API tokens, for whoever reads
    # the register of at least one issuer (each register is still checked with REGISTRY_VIEW).
    REGISTRY_READER = "registry.reader"
    PLATFORM_ADMIN = "platform.admin"
    PLATFORM_COMPLIANCE = "platform.compliance"  # identity decisions for every issuer


ROLE_GRANTS: dict[str, frozenset[Perm]] = {
    Role.ISSUER_ADMIN: frozenset(
        {
            Perm.ISSUER_VIEW,
            Perm.ISSUER_MANAGE_TEAM,
            Perm.ISSUER_VIEW_AUDIT,
            Perm.ISSUER_MANAGE_OFFERINGS,
            Perm.ISSUER_RECORD_PAYMENTS,
            Perm.ISSUER_APPROVE_MONEY,
            Perm.ISSUER_MANAGE_DISTRIBUTIONS,
            Perm.ISSUER_MANAGE_BALLOTS,
            Perm.ISSUER_MANAGE_BACKING,
            Perm.COMPLIANCE_REVIEW,
            Perm.REGISTRY_VIEW,
            Perm.REGISTRY_ADMINISTER,
            Perm.TRANSFER_REQUESTS_DECIDE,
        }
    ),
    # Compliance officers review applicants; they do not move or book money.
    Role.COMPLIANCE_OFFICER: frozenset({Perm.ISSUER_VIEW, Perm.ISSUER_VIEW_AUDIT, Perm.COMPLIANCE_REVIEW}),
    # Transfer agents read the register; they change nothing at the issuer.
    Role.TRANSFER_AGENT: frozenset({Perm.ISSUER_VIEW, Perm.REGISTRY_VIEW}),
}
# What a role may do at an issuer only where the issuer allows it: role → perm → the issuer's flag that allows it.
ISSUER_ALLOWED_GRANTS: dict[str, dict[Perm, str]] = {
    Role.TRANSFER_AGENT: {Perm.TRANSFER_REQUESTS_DECIDE: "transfer_agent_decides_requests"},
}
# Platform staff support every issuer but do not act in its name (no reviews, no team changes).
STAFF_GRANTS: frozenset[Perm] = frozenset({Perm.PLATFORM_ADMIN, Perm.ISSUER_VIEW, Perm.ISSUER_VIEW_AUDIT})
ISSUER_SCOPED = frozenset(p for grants in ROLE_GRANTS.values() for p in grants)


def signed_in_user(request: HttpRequest | Request) -> User:
    """The user of a request that an access rule already let through (so never anonymous)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user


def issuer_of(obj: Any) -> Issuer | None:
    """The issuer an object belongs to: the issuer itself, or the nearest `.issuer` along the way."""
    seen = 0
    while obj is not None and seen < 5:
        if isinstance(obj, Issuer):
            return obj
        obj = getattr(obj, "issuer", None)
        seen += 1
    return None


def memberships_of(user: Any) -> dict[int, str]:
    """issuer id → role, cached on the user object for the length of a request."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_tessera_roles", None)
    if cached is None:
        cached = dict(IssuerMembership.objects.filter(user=user).values_list("issuer_id", "role"))
        user._tessera_roles = cached
    return cached


def role_at(user: Any, issuer: Issuer) -> str | None:
    return memberships_of(user).get(issuer.pk)


def registry_issuer_ids(user: Any) -> list[int]:
    """The issuers whose register the user may read through their role there."""
    return sorted(pk for pk, role in memberships_of(user).items() if Perm.REGISTRY_VIEW in ROLE_GRANTS.get(role, ()))


# Roles that only read: someone who holds nothing but these changes nothing anywhere, not even as an
# investor on the platform whose records they keep, except where a view says a read-only role may post
# (their own API tokens, an export of what they may read, a decision the issuer let them make).
READ_ONLY_ROLES = frozenset({Role.TRANSFER_AGENT})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_REFUSAL = "Your role is read-only: it changes nothing here."


def holds_read_only_roles_only(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or user.is_staff or getattr(user, "platform_compliance", False):
        return False
    roles = set(memberships_of(user).values())
    return bool(roles) and roles <= READ_ONLY_ROLES


def is_privileged(user: Any) -> bool:
    """Holds a role whose pages need a second factor: issuer roles, platform compliance, staff."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_staff or getattr(user, "platform_compliance", False) or memberships_of(user))
    )


def needs_mfa(user: Any) -> bool:
    return is_privileged(user)


def has_mfa(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_tessera_has_mfa", None)
    if cached is None:
        cached = Authenticator.objects.filter(
            user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        ).exists()
        user._tessera_has_mfa = cached
    return cached


def can(user: Any, perm: Perm, obj: Any = None) -> bool:
    """True when `user` may do `perm` to `obj` (role and scope only; MFA is checked by `require`)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if perm == Perm.INVESTOR_SELF:
        return True
    if perm == Perm.PLATFORM_ADMIN:
        return bool(user.is_staff)
    if perm == Perm.REGISTRY_READER:
        return bool(registry_issuer_ids(user))
    if perm == Perm.PLATFORM_COMPLIANCE:
        # Staff support the platform but do not decide identity; only the platform role does.
        return bool(getattr(user, "platform_compliance", False))
    if perm in ISSUER_SCOPED:
        issuer = issuer_of(obj)
        if issuer is None:
            return False
        if user.is_staff and perm in STAFF_GRANTS:
            return True
        role = role_at(user, issuer)
        if role is None:
            return False
        allowed_by = ISSUER_ALLOWED_GRANTS.get(role, {}).get(perm)
        if allowed_by is not None:
            return bool(getattr(issuer, allowed_by))
        return perm in ROLE_GRANTS[role]
    return False


def ballot_visible_to_investor(user: Any, ballot: Any) -> bool:
    """Holders see a ballot of a token only when they held it at the record date (their voting power was read);
    `ballot.powers` is the ballot's voting power per investor."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(ballot.powers.filter(investor__user=user).exists())


def privileged(perm: Perm) -> bool:
    return perm != Perm.INVESTOR_SELF


class Decision(StrEnum):
    ALLOW = "allow"
    LOGIN = "login"
    ENROLL_MFA = "enroll_mfa"
    DENY = "deny"


def decide(user: Any, perm: Perm, obj: Any = None, *, writes: bool = False) -> Decision:
    """`writes`: the request would change something (an unsafe method the view does not open to read-only roles)."""
    if not getattr(user, "is_authenticated", False):
        return Decision.LOGIN
    if not can(user, perm, obj):
        return Decision.DENY
    if writes and holds_read_only_roles_only(user):
        return Decision.DENY
    if privileged(perm) and not has_mfa(user):
        return Decision.ENROLL_MFA
    return Decision.ALLOW


MFA_REQUIRED_MESSAGE = (
    "Your role needs two-factor authentication, and your account has none. It is set up only from an "
    "invitation link: ask an admin of your issuer to resend your invitation, or platform staff for a two-factor reset."
)


def require(
    request: HttpRequest,
    perm: Perm,
    obj: Any = None,
    *,
    read_only_roles_may_post: bool = False,
    writes_on_get: bool = False,
) -> HttpResponse | None:
    """For pages: None when allowed, else the response to send (login, the page that explains how a factor is
    enrolled, or 403). A password alone never leads to an enrolment page: see `core.invitations`."""
    writes = (writes_on_get or request.method not in SAFE_METHODS) and not read_only_roles_may_post
    decision = decide(request.user, perm, obj, writes=writes)
    if decision == Decision.ALLOW:
        return None
    if decision == Decision.LOGIN:
        return redirect_to_login(request.get_full_path())
    if decision == Decision.ENROLL_MFA:
        return redirect("mfa_required")
    if writes and can(request.user, perm, obj):
        raise PermissionDenied(READ_ONLY_REFUSAL)
    raise PermissionDenied("You do not have access to this page.")


def access_required(
    perm: Perm,
    *,
    issuer_kwarg: str | None = None,
    read_only_roles_may_post: bool = False,
    writes_on_get: bool = False,
) -> Callable[..., Any]:
    """Page decorator. With `issuer_kwarg`, the URL's issuer slug is loaded and passed as `issuer`;
    `read_only_roles_may_post` opens a post to roles that otherwise only read (see READ_ONLY_ROLES);
    `writes_on_get` marks a page that records something when it is merely opened."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            obj = None
            if issuer_kwarg:
                obj = get_object_or_404(Issuer, slug=kwargs.pop(issuer_kwarg))
                kwargs["issuer"] = obj
            refusal = require(
                request, perm, obj, read_only_roles_may_post=read_only_roles_may_post, writes_on_get=writes_on_get
            )
            if refusal is not None:
                return refusal
            return view(request, *args, **kwargs)

        wrapped.access_perm = perm  # type: ignore[attr-defined]
        return wrapped

    return decorator


class AccessPermission(BasePermission):
    """DRF: the view names `access_perm`; object-scoped views also call `check_object_permissions`."""

    message = "You do not have access to this resource."

    def _decide(self, request: Request, view: Any, obj: Any) -> bool:
        perm: Perm = view.access_perm
        writes = request.method not in SAFE_METHODS and not getattr(view, "read_only_roles_may_post", False)
        decision = decide(request.user, perm, obj, writes=writes)
        if decision == Decision.ENROLL_MFA:
            self.message = MFA_REQUIRED_MESSAGE
        elif decision == Decision.DENY and writes and can(request.user, perm, obj):
            self.message = READ_ONLY_REFUSAL
        return decision == Decision.ALLOW

    def has_permission(self, request: Request, view: Any) -> bool:
        if not getattr(request.user, "is_authenticated", False):
            return False
        get_obj = getattr(view, "get_access_object", None)
        return self._decide(request, view, get_obj() if get_obj is not None else None)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return self._decide(request, view, obj)
