"""The issuer's statement for counting holders of record under Exchange Act 12(g)."""

from __future__ import annotations

from django.db import transaction

from core.audit import audit_record
from core.models import Issuer, User
from registry.models import HolderCountPolicy


def _state(policy: HolderCountPolicy) -> dict[str, object]:
    return {
        "total_assets_minor": policy.total_assets_minor,
        "reg_cf_excluded": policy.reg_cf_excluded,
        "reg_a_tier2_excluded": policy.reg_a_tier2_excluded,
    }


@transaction.atomic
def holder_count_policy_set(
    *,
    issuer: Issuer,
    actor: User,
    total_assets_minor: int | None,
    reg_cf_excluded: bool,
    reg_a_tier2_excluded: bool,
) -> HolderCountPolicy:
    """Record what the issuer states: its total assets and whether it meets the conditions of each exclusion."""
    policy, created = HolderCountPolicy.objects.select_for_update().get_or_create(issuer=issuer)
    before = None if created else _state(policy)
    policy.total_assets_minor = total_assets_minor
    policy.reg_cf_excluded = reg_cf_excluded
    policy.reg_a_tier2_excluded = reg_a_tier2_excluded
    policy.updated_by = actor
    if before == _state(policy):
        return policy  # the same statement twice changes nothing
    policy.save()
    audit_record(
        actor=actor, action="registry.holder_count_policy_set", obj=policy, before=before, after=_state(policy)
    )
    return policy
