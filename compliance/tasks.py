"""Compliance tasks: thin wrappers that take ids and call one service each."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from compliance.kyc.base import KycProviderError
from compliance.services.kyc import kyc_check_send
from compliance.services.reviews import verifications_expire
from compliance.services.sanctions import (
    ListUnavailable,
    sanctions_files_fetch,
    sanctions_list_load,
    sanctions_rescreen_all,
)


@shared_task(
    name="compliance.tasks.kyc_check_send_task",
    acks_late=True,
    autoretry_for=(KycProviderError,),
    retry_backoff=30,
    max_retries=5,
    time_limit=60,
    soft_time_limit=45,
)
def kyc_check_send_task(check_id: int) -> str:
    return kyc_check_send(check_id=check_id).external_ref


@shared_task(name="compliance.tasks.sanctions_rescreen_task", acks_late=True, time_limit=1800, soft_time_limit=1700)
def sanctions_rescreen_task(list_id: int) -> dict[str, int]:
    summary = sanctions_rescreen_all()
    return {"subjects": summary.subjects, "matches": summary.matches, "new_hits": summary.new_hits}


@shared_task(
    name="compliance.tasks.sanctions_list_refresh",
    acks_late=True,
    autoretry_for=(ListUnavailable,),
    retry_backoff=300,
    max_retries=3,
    time_limit=900,
    soft_time_limit=840,
)
def sanctions_list_refresh() -> bool:
    """Download the configured list; a changed list is stored and re-screens everyone."""
    if not settings.SANCTIONS_LIST_URL:
        return False
    files = sanctions_files_fetch(source=settings.SANCTIONS_LIST_URL)
    _, changed = sanctions_list_load(files=files, source=settings.SANCTIONS_LIST_URL, actor=None)
    return changed


@shared_task(name="compliance.tasks.verifications_expire", acks_late=True, time_limit=600, soft_time_limit=540)
def verifications_expire_task() -> dict[str, int]:
    summary = verifications_expire()
    return {"kyc_expired": summary.kyc_expired, "accreditations_expired": summary.accreditations_expired}
