"""python -m bench.load [--investors N] [--browsers N] [--seconds S] [--quick] [--json]

A hot offering on the production topology: gunicorn (several processes) on PostgreSQL with Redis as broker and
cache, and a Celery worker. 500 verified investors open the offering page and its subscribe form and subscribe
within a minute to an offering whose hard cap is smaller than their demand, while 100 holders browse their
portfolios. Locust drives them headless on loopback, bounded in users and time, and stops by itself.

It shows: commitments never exceed the hard cap (and equal the accepted subscriptions), every refused
subscription gets a clear message, and no request fails with a server error; with p50/p95 per endpoint.

Setup (not timed): a fresh database, anvil with the registry and the offering's token, investors written in
bulk with their registry entries confirmed, and one signed-in session per person. Environment:
BENCH_LOAD_DATABASE_URL (PostgreSQL; the database is created and dropped), BENCH_LOAD_REDIS_URL (its db is emptied).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.closing import _investors as investors_bulk_create
from bench.closing import _wallet as investor_wallet
from bench.harness import ROOT, report

PRICE = 100_00  # $100 a token
AMOUNTS = (5_000_00, 10_000_00, 15_000_00)  # what investors ask for, in turn: $10,000 on average
FIELD_KEYS = "90jYYWFCDDT_B8Q9Dv-7RwvGzn21_rl793gBopu4DCc="


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database_recreate(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _database_drop(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drain() -> None:
    """Sign, send and confirm everything pending, in this process (what the chain workers do)."""
    from django.conf import settings

    from tokens.chain.signer import signing_allowed
    from tokens.models import OPEN_STATUSES, ChainTransaction
    from tokens.outbox import outbox_flush, outbox_watch

    with signing_allowed():
        for _ in range(60):
            for sender in set(ChainTransaction.objects.filter(status="pending").values_list("sender", flat=True)):
                outbox_flush(chain_id=settings.CHAIN_ID, sender=sender)
            if outbox_watch(chain_id=settings.CHAIN_ID) == 0:
                break
            time.sleep(0.2)
    failed = ChainTransaction.objects.filter(status="failed").first()
    if failed is not None:
        raise RuntimeError(f"setup transaction failed: {failed.purpose}: {failed.error_name or failed.last_error}")
    if ChainTransaction.objects.filter(status__in=OPEN_STATUSES).exists():
        raise RuntimeError("setup transactions did not confirm")


def _seed(investors: int, browsers: int, hard_cap_minor: int) -> dict[str, Any]:
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from core.models import Issuer, IssuerMembership, User
    from core.tests.files import pdf_bytes
    from offerings.services.documents import document_upload
    from offerings.services.offerings import OfferingInput, offering_create, offering_publish
    from tokens.services import InvestorRecord, registry_deploy, registry_investors_register_batch

    registry_deploy()
    _drain()
    issuer = Issuer.objects.create(
        name="Load Capital", slug="load", legal_name="Load Capital LLC", jurisdiction="Delaware", country="US"
    )
    admin = User.objects.create_user("admin@load.example", "load-password-1")
    IssuerMembership.objects.create(user=admin, issuer=issuer, role="issuer_admin")
    now = datetime.now(tz=UTC)
    offering = offering_create(
        issuer=issuer,
        actor=admin,
        data=OfferingInput(
            title="Hot Harbor Equity",
            security_type="equity",
            exemption="reg_d_506c",
            currency="USD",
            price_minor=PRICE,
            min_investment_minor=min(AMOUNTS),
            max_investment_minor=None,
            soft_cap_minor=min(AMOUNTS),
            hard_cap_minor=hard_cap_minor,
            opens_at=now,
            closes_at=now + timedelta(days=30),
            token_name="Hot Harbor Equity",
            token_symbol="HHE",
            allowed_countries=("US",),
        ),
    )
    document_upload(
        offering=offering,
        actor=admin,
        kind="subscription_agreement",
        title="Subscription agreement",
        upload=SimpleUploadedFile("agreement.pdf", pdf_bytes("load"), "application/pdf"),
    )
    offering = offering_publish(offering=offering, actor=admin)
    total = investors + browsers
    profiles = investors_bulk_create(0, total, "load")
    expiry = now + timedelta(days=365)
    for chunk in range(0, total, 100):
        with transaction.atomic():
            registry_investors_register_batch(
                investors=[
                    InvestorRecord(p.reference, investor_wallet(chunk + j), 840, 3, expiry)
                    for j, p in enumerate(profiles[chunk : chunk + 100])
                ],
                idempotency_key=f"load-registry-{chunk}",
            )
    _drain()

    # One signed-in session per person, written in bulk (what a sign-in leaves behind).
    users = {u.pk: u for u in User.objects.filter(pk__in=[p.user_id for p in profiles])}
    expires = timezone.now() + timedelta(hours=2)
    store = SessionStore()
    keys, rows = [], []
    for p in profiles:
        user = users[p.user_id]
        key = get_random_string(32, VALID_KEY_CHARS)
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        keys.append(key)
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
    Session.objects.bulk_create(rows, batch_size=1000)
    return {
        "offering": str(offering.public_id),
        "offering_id": offering.pk,
        "subscriber_count": investors,
        "browser_count": browsers,
        "subscribers": [
            {"session": keys[i], "amount": str(AMOUNTS[i % len(AMOUNTS)] // 100)} for i in range(investors)
        ],
        "browsers": [{"session": keys[i]} for i in range(investors, total)],
    }


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _endpoints(outcomes: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, times in sorted(outcomes["times"].items()):
        cuts = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else times * 99
        rows.append(
            {
                "endpoint": name,
                "requests": len(times),
                "failures": outcomes["failures"].get(name, 0),
                "p50_ms": round(cuts[49], 1),
                "p95_ms": round(cuts[94], 1),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--investors", type=int, default=500)
    parser.add_argument("--browsers", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--web-processes", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="100 investors and 20 browsers for 30 s, for CI")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the server, worker and locust logs")
    args = parser.parse_args()
    investors, browsers, seconds = (100, 20, 30) if args.quick else (args.investors, args.browsers, args.seconds)
    demand = sum(AMOUNTS[i % len(AMOUNTS)] for i in range(investors))
    hard_cap = (demand * 3 // 5) // PRICE * PRICE  # three fifths of the demand: about 200 of 500 are refused

    database_url = os.environ.get("BENCH_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tessera_load")
    redis_url = os.environ.get("BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6379/0")
    workdir = Path(tempfile.mkdtemp(prefix="tessera-load-"))
    from tokens.chain.anvil import Anvil

    _database_recreate(database_url)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    node = Anvil().start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        common = {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "CACHE_URL": "rediscache" + redis_url.removeprefix("redis"),
            "CHAIN_RPC_URL": node.rpc_url,
            "CHAIN_ID": "31337",
            "FIELD_ENCRYPTION_KEYS": FIELD_KEYS,
            "TESSERA_VAR_DIR": str(workdir),
            "LOG_LEVEL": "WARNING",
            # One key for the seeding here and the servers: sessions made here are signed with it.
            "DJANGO_SECRET_KEY": "bench-load-secret-key-0b7d2f91c4e8a6350f1d9e2c7b4a8f6e",
            "DJANGO_STATIC_ROOT": str(workdir / "static"),
        }
        os.environ.update({**common, "DJANGO_SETTINGS_MODULE": "portal.settings.test"})
        import django

        django.setup()
        from django.core.management import call_command

        setup_started = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        print(f"migrated in {time.monotonic() - setup_started:.1f} s", file=sys.stderr)
        plan = _seed(investors, browsers, hard_cap)
        setup_seconds = time.monotonic() - setup_started
        plan_file, outcomes_file = workdir / "plan.json", workdir / "outcomes.json"
        plan_file.write_text(json.dumps(plan))

        from django.conf import settings

        port = _free_port()
        served = {
            **os.environ,
            **common,
            "DJANGO_SETTINGS_MODULE": "bench.load_settings",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "CHAIN_SENDER_ADDRESS": settings.ANVIL_DEV_ADDRESS,
            "CHAIN_CONFIRMATIONS": "12",
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(args.web_processes),
            "WEB_ACCESS_LOG": "",
        }
        # What a deployment does before it starts web processes: the hashed static files (served by WhiteNoise).
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=served, cwd=ROOT, check=True
        )
        with (workdir / "web.log").open("ab") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--config", "portal/gunicorn.py"],
                    env=served,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        with (workdir / "worker.log").open("ab") as log:
            queues = ",".join(settings.TASK_QUEUES)
            worker = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queues, "--concurrency=1"]
            processes.append(
                subprocess.Popen(
                    [*worker, "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                    env=served,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        host = f"http://127.0.0.1:{port}"
        _wait_http(f"{host}/health/", timeout=240)

        users = investors + browsers
        spawn_rate = max(users / max(seconds - 15, 5), 1.0)  # everyone arrives in the first three quarters
        locust = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "load_users.py"),
            "--headless",
            "--host",
            host,
            "--users",
            str(users),
            "--spawn-rate",
            f"{spawn_rate:.2f}",
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        started = time.monotonic()
        result = subprocess.run(
            locust,
            env={**os.environ, "LOAD_PLAN": str(plan_file), "LOAD_OUTCOMES": str(outcomes_file)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        elapsed = time.monotonic() - started
        if not outcomes_file.exists():
            raise RuntimeError(f"locust did not finish: {result.stderr[-3000:]}")
        outcomes = json.loads(outcomes_file.read_text())
        endpoints = _endpoints(outcomes)
        server_errors = sum(outcomes["server_errors"].values())
        _stop(processes)

        from django.db.models import Sum

        from offerings.models import Offering, Subscription

        offering = Offering.objects.get(pk=plan["offering_id"])
        subscriptions = Subscription.objects.filter(offering=offering)
        accepted = subscriptions.count()
        subscribed_minor = subscriptions.aggregate(total=Sum("amount_minor"))["total"] or 0
    finally:
        _stop(processes)
        node.stop()
        from django.db import connections

        connections.close_all()
        _database_drop(database_url)
        redis.Redis.from_url(redis_url).flushdb()
        if args.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            for path in sorted(workdir.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            workdir.rmdir()

    requests = sum(e["requests"] for e in endpoints)
    errors = sum(outcomes["failures"].values())  # failed requests, and pages without what the next step needs
    payload = {
        "users": users,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "errors": errors,
        "server_errors": server_errors,
        "subscriptions_accepted": accepted,
        "subscriptions_refused_with_reason": outcomes["refused"],
        "committed_minor": offering.committed_minor,
        "hard_cap_minor": offering.hard_cap_minor,
        "demand_minor": demand,
        "endpoints": [{k: e[k] for k in ("endpoint", "requests", "p50_ms", "p95_ms")} for e in endpoints],
    }
    rows: list[tuple[str, Any]] = [
        ("users", f"{investors} subscribing, {browsers} browsing portfolios"),
        ("topology", f"gunicorn ×{args.web_processes} processes, PostgreSQL, Redis broker+cache, 1 Celery worker"),
        ("setup (not timed)", f"{setup_seconds:.1f} s"),
        ("run", f"{elapsed:.1f} s, {requests} requests, {errors} errors ({server_errors} server errors)"),
        ("demand / hard cap", f"${demand / 100:,.0f} / ${offering.hard_cap_minor / 100:,.0f}"),
        ("accepted", f"{accepted} subscriptions, committed ${offering.committed_minor / 100:,.0f}"),
        ("refused with a reason", outcomes["refused"]),
        ("neither", outcomes["unclear"]),
    ]
    rows += [
        (f"  {e['endpoint']}", f"{e['requests']} requests, p50 {e['p50_ms']:.0f} ms, p95 {e['p95_ms']:.0f} ms")
        for e in endpoints
    ]
    report("bench.load: a hot offering on gunicorn + PostgreSQL + Redis", rows, payload, args.json)
    problems = []
    if offering.committed_minor > offering.hard_cap_minor:
        problems.append("commitments exceed the hard cap")
    if offering.committed_minor != subscribed_minor:
        problems.append("commitments differ from the accepted subscriptions")
    if errors or outcomes["unclear"]:
        problems.append("some requests failed or a refusal gave no reason")
    if accepted + outcomes["refused"] != investors:
        problems.append(f"{investors - accepted - outcomes['refused']} investors did not get to subscribe in time")
    for kind, n in sorted(outcomes["failure_kinds"].items()):
        print(f"  failed ×{n}: {kind}", file=sys.stderr)
    if problems:
        print("FAILED: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
