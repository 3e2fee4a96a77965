"""/metrics/: the figures an operator is paged on, read by Prometheus; refused to anyone else."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.tests.support import Cast
from investors.tests.support import verified_investor
from offerings.models import OfferingStatus, WebhookEvent, WebhookState
from offerings.services.closing import offering_close
from offerings.tests.support import offering_open, subscribed, wire_received
from registry.models import Reconciliation, RecordDifference
from tokens.models import ChainTransaction, TxStatus
from tokens.services import token_mint
from tokens.tests import support
from tokens.tests.support import WALLETS, chain_build, chain_indexed

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(client: Client, **headers: str) -> Samples:
    response = client.get("/metrics/", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def _staff(cast: Cast) -> Client:
    client = Client()
    client.force_login(cast.staff)
    return client


@pytest.mark.chain
@pytest.mark.django_db
def test_metrics_count_the_outbox_by_state_age_the_oldest_nonce_and_measure_the_indexer_lag(
    cast: Cast, chain_settings
) -> None:
    chain = chain_build(chain_settings.rpc_url)
    chain_indexed(chain_settings.rpc_url)
    confirmed = ChainTransaction.objects.filter(status=TxStatus.CONFIRMED).count()
    # One mint signed and sent that no block has taken yet, the way a stuck transaction looks.
    chain_settings.rpc("evm_setAutomine", [False])
    tx = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=3, idempotency_key="metrics-stuck")
    support.outbox_flush(chain_id=31337, sender=tx.sender)  # what a worker's flush task does: sign and send
    tx.refresh_from_db()
    assert tx.status == TxStatus.BROADCAST
    token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=4, idempotency_key="metrics-waiting")
    ChainTransaction.objects.filter(pk=tx.pk).update(signed_at=timezone.now() - dt.timedelta(seconds=900))
    chain_settings.rpc("anvil_mine", [5])  # blocks the indexer has not read yet (they hold nothing of ours)

    samples = _scrape(_staff(cast))

    assert _value(samples, "tessera_outbox_transactions", state="confirmed") == confirmed
    assert _value(samples, "tessera_outbox_transactions", state="broadcast") == 1
    assert _value(samples, "tessera_outbox_transactions", state="pending") == 1
    assert _value(samples, "tessera_outbox_transactions", state="failed") == 0
    assert _value(samples, "tessera_sender_oldest_unconfirmed_nonce_age_seconds", sender=tx.sender) >= 900
    assert _value(samples, "tessera_sender_stalled", sender=tx.sender) == 1  # CHAIN_NONCE_STALL_SECONDS is 600
    assert _value(samples, "tessera_chain_up") == 1
    head = int(chain_settings.rpc("eth_blockNumber"), 16)
    assert _value(samples, "tessera_chain_head_block") == head
    assert chain.token is not None
    from tokens.models import IndexerCursor

    indexed = IndexerCursor.objects.get(contract_address=chain.token.address).last_block
    assert _value(samples, "tessera_indexer_lag_blocks", contract=chain.token.address) == head - indexed >= 5


@pytest.mark.django_db
def test_metrics_show_reconciliation_differences_flagged_webhooks_closing_progress_and_task_failures(
    cast: Cast, registry, settings
) -> None:
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # no node: the chain reads as down, the rest still answers
    offering = offering_open(cast.issuer, cast.admin)
    for amount in (2_000_00, 3_000_00):
        subscription = subscribed(offering, verified_investor(accreditation="verified"), amount)
        wire_received(cast.issuer, cast.compliance, subscription, amount)
    offering = offering_close(offering=offering, actor=cast.admin)
    assert offering.status == OfferingStatus.CLOSING
    now = timezone.now()
    Reconciliation.objects.create(
        offering=offering, issued=50, on_chain_supply=48, ledger_total=50, ledger_block=10, differences_open=1
    )
    RecordDifference.objects.create(
        offering=offering,
        kind="supply",
        expected=50,
        actual=48,
        arose_at=now - dt.timedelta(hours=2),
        first_found_at=now,
        last_found_at=now,
    )
    WebhookEvent.objects.create(
        provider="stripe", event_id="evt_1", event_type="charge.refunded", state=WebhookState.FLAGGED, reason="?"
    )
    WebhookEvent.objects.create(provider="stripe", event_id="evt_2", event_type="x", state=WebhookState.APPLIED)
    from offerings.tasks import material_change_notify_task

    for _ in range(2):
        result = material_change_notify_task.apply(args=[987654])  # no such document: the task fails for good
        assert result.failed()

    samples = _scrape(_staff(cast))

    public_id = str(offering.public_id)
    assert _value(samples, "tessera_chain_up") == 0
    assert ("tessera_chain_head_block", frozenset()) not in samples
    assert (
        _value(samples, "tessera_reconciliation_difference_units", offering=public_id, record="on_chain_supply") == -2
    )
    assert _value(samples, "tessera_reconciliation_difference_units", offering=public_id, record="ledger_total") == 0
    assert _value(samples, "tessera_record_differences_open", kind="supply") == 1
    assert _value(samples, "tessera_record_difference_oldest_age_seconds") >= 7200
    assert _value(samples, "tessera_webhook_events_flagged", provider="stripe") == 1
    holders = {
        state: _value(samples, "tessera_closing_holders", offering=public_id, state=state)
        for state in ("waiting", "minting", "minted")
    }
    assert sum(holders.values()) == 2 and holders["minted"] == 0
    assert _value(samples, "tessera_closing_batches_failed", offering=public_id) == 0
    assert _value(samples, "tessera_task_failures_total", task="offerings.tasks.material_change_notify_task") == 2


@pytest.mark.django_db
def test_metrics_are_for_staff_and_the_scrape_token_only(cast: Cast, settings) -> None:
    settings.METRICS_TOKEN = "scrape-token-1f8e"
    anonymous = Client().get("/metrics/")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert "METRICS_TOKEN" in anonymous.json()["error"]["message"]
    assert Client().get("/metrics/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    investor = Client()
    investor.force_login(cast.investor)
    refused = investor.get("/metrics/")
    assert refused.status_code == 403
    assert "tessera_" not in refused.content.decode()
    assert "tessera_outbox_transactions" in str(_scrape(Client(), Authorization="Bearer scrape-token-1f8e"))
    assert "tessera_outbox_transactions" in str(_scrape(_staff(cast)))
