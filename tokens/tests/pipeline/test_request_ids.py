"""One request followed from the click to the mint: its id is on the chain transaction it asked for and on the
worker's log lines for the task it queued, the signing and the confirmation."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core.middleware import RequestIdMiddleware, current_request_id, request_id_var
from core.task_context import request_id_enter, request_id_leave, request_id_stamp
from core.tests.support import worker_log_path
from tokens.models import ChainTransaction, TxStatus
from tokens.services import token_mint
from tokens.tests.support import WALLETS, Chain, wait_until


def _mint_view(request: HttpRequest) -> HttpResponse:
    tx = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=7, idempotency_key="request-id-mint")
    return HttpResponse(str(tx.pk))


@pytest.mark.worker
@pytest.mark.chain
def test_the_request_id_reaches_the_chain_transaction_and_the_worker_log_lines(
    committed_chain: Chain, celery_worker_process
) -> None:
    celery_worker_process("request-ids", {"CHAIN_RPC_URL": committed_chain.rpc_url, "CHAIN_ID": "31337"})
    log_file = worker_log_path("request-ids")

    response = RequestIdMiddleware(_mint_view)(RequestFactory().post("/", HTTP_X_REQUEST_ID="click-4f2a9"))

    assert response["X-Request-ID"] == "click-4f2a9"
    tx = ChainTransaction.objects.get(pk=int(response.content))
    assert tx.request_id == "click-4f2a9"
    from tokens.tasks import outbox_watch_task

    wait_until(
        lambda: ChainTransaction.objects.get(pk=tx.pk).status == TxStatus.CONFIRMED,
        what="the mint confirmed by the worker",
        tick=outbox_watch_task.delay,  # the beat's watcher: queued by nobody's request
        timeout=90,
    )
    tx.refresh_from_db()
    assert committed_chain.balance(WALLETS[0]) == 7
    # The flush the request queued runs too, though a watcher pass may have sent the mint before it.
    wait_until(
        lambda: "[click-4f2a9] tessera.tasks: task tokens.tasks.outbox_flush_task started" in log_file.read_text(),
        what="the flush task queued by the request",
    )
    lines = log_file.read_text().splitlines()
    ours = [line for line in lines if "[click-4f2a9]" in line]
    assert any("tokens.tasks.outbox_flush_task started" in line for line in ours), lines[-20:]
    assert any(f"sent {tx.tx_hash}" in line for line in ours), lines[-20:]
    # Confirmed by a watcher task with its own id, still logged under the request that asked for the mint.
    assert any(f"confirmed {tx.tx_hash}" in line for line in ours), lines[-20:]
    watcher_lines = [line for line in lines if "tokens.tasks.outbox_watch_task started" in line]
    assert watcher_lines and not any("[click-4f2a9]" in line for line in watcher_lines)
    assert all(re.search(r"\[[0-9a-f-]{36}\]", line) for line in watcher_lines)  # their own task ids


def test_a_task_queued_by_a_task_carries_the_first_request_id() -> None:
    token = request_id_var.set("click-77")
    try:
        headers: dict[str, object] = {}
        request_id_stamp(headers=headers)  # the web process publishes the first task
    finally:
        request_id_var.reset(token)
    assert headers == {"request_id": "click-77"}

    # In the worker, with no request of its own, the first task runs under the id it carries ...
    first = SimpleNamespace(name="first", request=SimpleNamespace(request_id=headers["request_id"]))
    request_id_enter(task_id="task-1", task=first)
    assert current_request_id() == "click-77"
    onward: dict[str, object] = {}
    request_id_stamp(headers=onward)  # ... and the task it queues carries it on
    request_id_leave(task_id="task-1", task=first)
    assert onward == {"request_id": "click-77"}
    assert current_request_id() == ""

    # A task queued by nobody's request (the beat) runs under its own id; a forged header is not taken.
    beat = SimpleNamespace(name="beat", request=SimpleNamespace(request_id="bad id\nwith a new line"))
    request_id_enter(task_id="3d0c9f4e-task", task=beat)
    assert current_request_id() == "3d0c9f4e-task"
    request_id_leave(task_id="3d0c9f4e-task", task=beat)
