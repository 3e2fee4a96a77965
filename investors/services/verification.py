"""Who is verified, with which on-chain flags, and keeping the on-chain InvestorRegistry in step."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.countries import country_numeric
from core.models import User
from investors.models import (
    AccreditationStatus,
    InvestorProfile,
    KycStatus,
    RegistryState,
    ScreeningStatus,
)
from tokens import services as chain
from tokens.services import InvestorFlag


def investor_is_verified(investor: InvestorProfile, *, now: dt.datetime | None = None) -> bool:
    """KYC approved and in force, and no sanctions match open or confirmed."""
    now = now or timezone.now()
    return (
        investor.kyc_status == KycStatus.APPROVED
        and investor.kyc_expires_at is not None
        and investor.kyc_expires_at > now
        and investor.screening_status == ScreeningStatus.CLEAR
    )


def investor_is_accredited(investor: InvestorProfile, *, now: dt.datetime | None = None) -> bool:
    """Verified under Rule 506(c) and not expired. Self-certification alone does not set the flag."""
    now = now or timezone.now()
    return investor.accreditation_claims.filter(status=AccreditationStatus.VERIFIED, expires_at__gt=now).exists()


def investor_flags(investor: InvestorProfile, *, now: dt.datetime | None = None) -> int:
    flags = InvestorFlag(0)
    if investor_is_verified(investor, now=now):
        flags |= InvestorFlag.KYC
    if investor_is_accredited(investor, now=now):
        flags |= InvestorFlag.ACCREDITED
    if investor.is_us_person:
        flags |= InvestorFlag.US_PERSON
    if investor.is_entity:
        flags |= InvestorFlag.ENTITY
    return int(flags)


@transaction.atomic
def investor_registry_refresh(*, investor: InvestorProfile, actor: User | None) -> str:
    """Make the on-chain registry match the investor: register or update when verified with a
    wallet, remove when no longer verified. The chain pipeline writes outbox rows in this
    transaction and broadcasts after commit; sending the same state again adds nothing.
    """
    investor = InvestorProfile.objects.select_for_update().get(pk=investor.pk)
    now = timezone.now()
    wallets = sorted(investor.wallets.filter(removed_at__isnull=True).values_list("address", flat=True))
    if investor_is_verified(investor, now=now) and wallets and investor.kyc_expires_at is not None:
        snapshot: dict[str, Any] = {
            "country": country_numeric(investor.country),
            "flags": investor_flags(investor, now=now),
            "expires_at": investor.kyc_expires_at.isoformat(),
            "wallets": wallets,
        }
        chain.registry_investor_sync(
            investor_ref=investor.reference,
            country_numeric=snapshot["country"],
            flags=snapshot["flags"],
            expires_at=investor.kyc_expires_at,
            wallets=wallets,
            actor=actor,
        )
        if investor.registry_state != RegistryState.SYNCED or investor.registry_snapshot != snapshot:
            before = {"state": investor.registry_state, **(investor.registry_snapshot or {})}
            investor.registry_state = RegistryState.SYNCED
            investor.registry_snapshot = snapshot
            investor.save(update_fields=["registry_state", "registry_snapshot", "updated_at"])
            audit_record(
                actor=actor,
                action="investor.registry_synced",
                obj=investor,
                before=before,
                after={"state": investor.registry_state, **snapshot},
            )
    elif investor.registry_state == RegistryState.SYNCED:
        chain.registry_investor_revoke(investor_ref=investor.reference, actor=actor)
        before = {"state": investor.registry_state, **(investor.registry_snapshot or {})}
        investor.registry_state = RegistryState.REVOKED
        investor.registry_snapshot = None
        investor.save(update_fields=["registry_state", "registry_snapshot", "updated_at"])
        audit_record(
            actor=actor, action="investor.registry_revoked", obj=investor, before=before, after={"state": "revoked"}
        )
    return investor.registry_state
