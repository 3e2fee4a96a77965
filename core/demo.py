"""Demo data: one issuer with its team and two investors. Idempotent: running it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction

from core.mfa import totp_enroll
from core.models import Issuer, Role, User
from core.services import issuer_create, membership_grant

DEMO_PASSWORD = "tessera-demo-2026"
# A fixed base32 secret so the demo's authenticator codes can be printed (`make otp`). Demo only.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DEMO_ISSUER_SLUG = "harbor-street"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    mfa: bool


DEMO_LOGINS = [
    DemoLogin("staff@tessera.local", "Platform staff", True),
    DemoLogin("admin@harborstreet.example", "Issuer admin, Harbor Street Capital", True),
    DemoLogin("compliance@harborstreet.example", "Compliance officer, Harbor Street Capital", True),
    DemoLogin("agent@ledgertransfer.example", "Transfer agent, Harbor Street Capital", True),
    DemoLogin("alice@investor.example", "Investor", False),
    DemoLogin("bob@investor.example", "Investor", False),
]
ROLES = {
    "admin@harborstreet.example": Role.ISSUER_ADMIN,
    "compliance@harborstreet.example": Role.COMPLIANCE_OFFICER,
    "agent@ledgertransfer.example": Role.TRANSFER_AGENT,
}
NAMES = {
    "staff@tessera.local": "Sam Staff",
    "admin@harborstreet.example": "Hannah Reyes",
    "compliance@harborstreet.example": "Carlos Ortiz",
    "agent@ledgertransfer.example": "Tara Agent",
    "alice@investor.example": "Alice Moreau",
    "bob@investor.example": "Bob Tanaka",
}


def _user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=NAMES[email])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


@transaction.atomic
def demo_seed() -> list[DemoLogin]:
    staff = _user("staff@tessera.local")
    if not staff.is_staff:
        staff.is_staff = staff.is_superuser = True
        staff.save(update_fields=["is_staff", "is_superuser"])
    issuer = Issuer.objects.filter(slug=DEMO_ISSUER_SLUG).first() or issuer_create(
        actor=staff,
        name="Harbor Street Capital",
        slug=DEMO_ISSUER_SLUG,
        legal_name="Harbor Street Capital LLC",
        jurisdiction="Delaware",
        country="US",
        website="https://harborstreet.example",
        description="Owns and operates mid-size logistics real estate on the US East Coast.",
    )
    for login in DEMO_LOGINS:
        user = _user(login.email)
        if login.email in ROLES:
            membership_grant(actor=staff, issuer=issuer, user=user, role=ROLES[login.email])
        if login.mfa:
            totp_enroll(actor=staff, user=user, secret=DEMO_TOTP_SECRET)
    return DEMO_LOGINS
