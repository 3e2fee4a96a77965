"""Chain tasks: thin, they take plain values and call one function each."""

from __future__ import annotations

import contextlib

from celery import shared_task
from django.conf import settings

from core.errors import Conflict
from core.runs import one_run_at_a_time
from tokens.indexer import chain_index
from tokens.outbox import chain_client, outbox_flush, outbox_watch
from tokens.services import CHAIN_TRANSIENT_ERRORS

COMMON = {
    "acks_late": True,
    "autoretry_for": CHAIN_TRANSIENT_ERRORS,
    "time_limit": 300,
    "soft_time_limit": 240,
    "ignore_result": True,
}


@shared_task(name="tokens.tasks.outbox_flush_task", retry_backoff=2, retry_backoff_max=60, max_retries=8, **COMMON)
def outbox_flush_task(chain_id: int, sender: str) -> int:
    # When the retries run out the rows stay pending and the watcher's next pass sends them.
    return outbox_flush(chain_id=chain_id, sender=sender)


@shared_task(name="tokens.tasks.outbox_watch_task", max_retries=0, **COMMON)
def outbox_watch_task() -> int:
    return outbox_watch(chain_id=settings.CHAIN_ID)


@shared_task(name="tokens.tasks.chain_index_task", max_retries=0, **COMMON)
@one_run_at_a_time(lambda: f"tokens.chain_index:{settings.CHAIN_ID}", busy=-1)
def chain_index_task() -> int:
    """One indexing pass; returns -1, reading nothing, while another pass over the chain is still going."""
    return chain_index(client=chain_client(), chain_id=settings.CHAIN_ID)


@shared_task(
    name="tokens.tasks.chain_bootstrap_task",
    retry_backoff=2,
    max_retries=10,
    **{**COMMON, "time_limit": 120, "soft_time_limit": 100},
)
def chain_bootstrap_task() -> str:
    """Local chains only: make sure the registry and the test stablecoin exist (a fresh anvil has nothing)."""
    from tokens.services import portal_registry_ensure
    from tokens.stablecoin import portal_stablecoin, stablecoin_deploy

    registry = portal_registry_ensure()
    if portal_stablecoin() is None:
        stablecoin_deploy()
        return f"registry {registry}, stablecoin queued"
    return f"registry {registry}, stablecoin present, {_payout_ensure()}"


def _payout_ensure() -> str:
    """The distribution payout contract once the stablecoin has an address, and the treasury's allowance to it."""
    from tokens.payout import payout_allowance_ensure, payout_contract_deploy, portal_payout
    from tokens.stablecoin import portal_stablecoin

    coin = portal_stablecoin()
    if coin is None or not coin.address:
        return "payout contract waits for the stablecoin"
    payout = portal_payout()
    if payout is None:
        with contextlib.suppress(Conflict):  # another worker queued it at the same moment
            payout_contract_deploy()
        return "payout contract queued"
    if not payout.address:
        return "payout contract deploying"
    payout_allowance_ensure()
    return "payout contract present"
