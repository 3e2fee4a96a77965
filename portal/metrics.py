"""/metrics/: the portal's own figures in Prometheus' text format, read from the database at each scrape.

Every figure is read from the shared database (and the head from the node), never from one process's memory,
so any web process answers for the whole deployment: outbox depth per state, each sender's oldest unconfirmed
nonce, indexer lag, reconciliation differences, flagged webhooks, closing progress, task failures by name.

Staff or a scraper with METRICS_TOKEN (`Authorization: Bearer …`) may read it; production refuses everyone
else (METRICS_REQUIRE_AUTH is forced on there).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Max, Min, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.models import TaskFailureTally, WorkerHeartbeat
from offerings.models import MintBatch, Offering, OfferingStatus, Subscription, SubscriptionStatus, WebhookEvent
from offerings.models import WebhookState as OfferingWebhookState
from registry.models import Reconciliation, RecordDifference
from tokens.models import ChainTransaction, IndexerCursor, TxStatus
from tokens.selectors import chain_status, sender_states


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class PortalCollector(Collector):
    """Reads the figures an operator watches; each block is a handful of grouped queries, whatever the rows."""

    def collect(self) -> Iterator[Metric]:
        yield from self._outbox()
        yield from self._senders()
        yield from self._chain()
        yield from self._reconciliation()
        yield from self._webhooks()
        yield from self._closings()
        yield from self._tasks()

    def _outbox(self) -> Iterator[Metric]:
        depth = _gauge("tessera_outbox_transactions", "Chain transactions in the outbox, by state.", ["state"])
        counts = dict(
            ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for state in TxStatus.values:
            depth.add_metric([state], counts.get(state, 0))
        yield depth

    def _senders(self) -> Iterator[Metric]:
        age = _gauge(
            "tessera_sender_oldest_unconfirmed_nonce_age_seconds",
            "Age of each sender's oldest nonce not yet confirmed (0 when none is open).",
            ["sender"],
        )
        stalled = _gauge(
            "tessera_sender_stalled", "1 when a sender's oldest open nonce is older than the stall limit.", ["sender"]
        )
        held = _gauge(
            "tessera_sender_held_transactions", "Open transactions held until a person acts.", ["sender", "reason"]
        )
        for state in sender_states():
            age.add_metric([state.address], state.age_seconds or 0)
            stalled.add_metric([state.address], 1 if state.stalled else 0)
            for reason, n in state.held.items():
                held.add_metric([state.address, reason], n)
        yield age
        yield stalled
        yield held
        heartbeat = WorkerHeartbeat.objects.order_by("-created_at").values_list("created_at", flat=True).first()
        if heartbeat is not None:
            yield GaugeMetricFamily(
                "tessera_worker_heartbeat_age_seconds",
                "Seconds since a worker last took a heartbeat task from the broker.",
                value=(timezone.now() - heartbeat).total_seconds(),
            )

    def _chain(self) -> Iterator[Metric]:
        status = chain_status(timeout=1.5)
        yield GaugeMetricFamily("tessera_chain_up", "1 when the configured node answers.", value=int(status["ok"]))
        if not status["ok"]:
            return
        head = int(status["block"])
        yield GaugeMetricFamily("tessera_chain_head_block", "The node's latest block.", value=head)
        lag = _gauge(
            "tessera_indexer_lag_blocks", "Blocks between the node's head and the last one indexed.", ["contract"]
        )
        for address, last_block in IndexerCursor.objects.filter(chain_id=settings.CHAIN_ID).values_list(
            "contract_address", "last_block"
        ):
            lag.add_metric([address], max(head - last_block, 0))
        yield lag

    def _reconciliation(self) -> Iterator[Metric]:
        units = _gauge(
            "tessera_reconciliation_difference_units",
            "Latest reconciliation per token: on-chain supply or ledger total less the control book's issued units.",
            ["offering", "record"],
        )
        last_runs = Reconciliation.objects.values("offering_id").annotate(last=Max("id")).values_list("last")
        for public_id, issued, supply, ledger in Reconciliation.objects.filter(id__in=last_runs).values_list(
            "offering__public_id", "issued", "on_chain_supply", "ledger_total"
        ):
            units.add_metric([str(public_id), "on_chain_supply"], supply - issued)
            units.add_metric([str(public_id), "ledger_total"], ledger - issued)
        yield units
        open_differences = RecordDifference.objects.filter(resolved_at__isnull=True)
        by_kind = _gauge("tessera_record_differences_open", "Record differences not yet resolved, by kind.", ["kind"])
        for kind, n in open_differences.values_list("kind").annotate(n=Count("id")).order_by():
            by_kind.add_metric([kind], n)
        yield by_kind
        oldest = open_differences.aggregate(oldest=Min("arose_at"))["oldest"]
        yield GaugeMetricFamily(
            "tessera_record_difference_oldest_age_seconds",
            "Age of the oldest unresolved record difference (0 when none is open).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0,
        )

    def _webhooks(self) -> Iterator[Metric]:
        flagged = _gauge(
            "tessera_webhook_events_flagged",
            "Provider webhook events that could not be applied and wait for a person, by provider.",
            ["provider"],
        )
        for provider, n in (
            WebhookEvent.objects.filter(state=OfferingWebhookState.FLAGGED, resolved_at__isnull=True)
            .values_list("provider")
            .annotate(n=Count("id"))
            .order_by()
        ):
            flagged.add_metric([provider], n)
        yield flagged

    def _closings(self) -> Iterator[Metric]:
        holders = _gauge(
            "tessera_closing_holders",
            "Offerings being closed: paid holders waiting for a batch, in a batch being minted, and minted.",
            ["offering", "state"],
        )
        failed = _gauge("tessera_closing_batches_failed", "Mint batches of a closing that failed.", ["offering"])
        closing = dict(Offering.objects.filter(status=OfferingStatus.CLOSING).values_list("pk", "public_id"))
        waiting = dict(
            Subscription.objects.filter(
                offering_id__in=closing, status=SubscriptionStatus.PAID, mint_batch__isnull=True
            )
            .values_list("offering_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        batches: dict[tuple[int, str], int] = {}
        for offering_id, state, n in (
            MintBatch.objects.filter(offering_id__in=closing, released_at__isnull=True)
            .values_list("offering_id", "chain_transaction__status")
            .annotate(n=Sum("holders"))
            .order_by()
        ):
            batches[(offering_id, state)] = n or 0
        failures = dict(
            MintBatch.objects.filter(
                offering_id__in=closing, released_at__isnull=True, chain_transaction__status=TxStatus.FAILED
            )
            .values_list("offering_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for offering_id, public_id in closing.items():
            minted = batches.get((offering_id, TxStatus.CONFIRMED), 0)
            in_flight = sum(n for (o, s), n in batches.items() if o == offering_id and s != TxStatus.CONFIRMED)
            holders.add_metric([str(public_id), "waiting"], waiting.get(offering_id, 0))
            holders.add_metric([str(public_id), "minting"], in_flight)
            holders.add_metric([str(public_id), "minted"], minted)
            failed.add_metric([str(public_id)], failures.get(offering_id, 0))
        yield holders
        yield failed

    def _tasks(self) -> Iterator[Metric]:
        failures = CounterMetricFamily(
            "tessera_task_failures", "Tasks that failed for good (retries spent), by task name.", labels=["task"]
        )
        for name, n in TaskFailureTally.objects.order_by("task_name").values_list("task_name", "failures"):
            failures.add_metric([name], n)
        yield failures


def metrics_text() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return generate_latest(registry)


def _token_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    return bool(expected) and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    user = getattr(request, "user", None)
    staff = user is not None and user.is_authenticated and user.is_staff
    if settings.METRICS_REQUIRE_AUTH and not staff and not _token_ok(request):
        signed_in = user is not None and user.is_authenticated
        message = (
            "The metrics are for platform staff and the monitoring system only."
            if signed_in
            else "Sign in as platform staff, or send the scrape token as “Authorization: Bearer <METRICS_TOKEN>”."
        )
        response = JsonResponse(
            {"error": {"code": "metrics_refused", "message": message}}, status=403 if signed_in else 401
        )
        if not signed_in:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
