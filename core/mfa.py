"""TOTP enrolment for accounts created by operators (demo data, fixtures) and the current code."""

from __future__ import annotations

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.db import transaction

from core.audit import audit_record
from core.models import User

TOTP_PERIOD_SECONDS = 30


@transaction.atomic
def totp_enroll(*, actor: User | None, user: User, secret: str) -> bool:
    """Give `user` a TOTP authenticator with `secret`. False when they already have one."""
    if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        return False
    TOTP.activate(user, secret)
    audit_record(actor=actor, action="mfa.totp_enrolled", obj=user, after={"type": "totp"})
    return True


def mfa_enrolled(user: User) -> bool:
    """The account has a second factor (an authenticator app or a security key), read from the database now."""
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def totp_code(*, secret: str, at: float | None = None) -> str:
    counter = int(at if at is not None else time.time()) // TOTP_PERIOD_SECONDS
    return format_hotp_value(hotp_value(secret, counter))
