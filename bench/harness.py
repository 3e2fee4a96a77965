"""What the pipeline benchmarks share: a scratch database, broker, anvil and worker processes.

Everything started here is stopped on exit, also on errors and Ctrl-C. To see what the workers did:
BENCH_LOG_LEVEL=INFO logs every task with its duration to worker-NAME.log in the stack's scratch folder, and
BENCH_KEEP=1 keeps that folder (its SQLite files and logs) after the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    workdir: Path
    env: dict[str, str]
    anvil: Any
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(
        self, name: str, concurrency: int = 1, queues: tuple[str, ...] | None = None
    ) -> subprocess.Popen[bytes]:
        """A worker on `queues` (every queue of the portal by default), as Procfile.production runs one."""
        from django.conf import settings

        log = open(self.workdir / f"worker-{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=solo" if concurrency == 1 else "--pool=prefork",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                ",".join(queues or settings.TASK_QUEUES),
                "-n",
                f"{name}@%h",
                f"--loglevel={os.environ.get('BENCH_LOG_LEVEL', 'WARNING')}",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(proc)
        return proc

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers.clear()


@contextmanager
def scratch_servers() -> Iterator[None]:
    """With a PostgreSQL DATABASE_URL (and no BENCH_DATABASE_URL), the stack runs on a scratch database made
    there and dropped afterwards; with a Redis or AMQP CELERY_BROKER_URL (and no BENCH_BROKER_URL), on that
    broker. Otherwise (the default) on scratch SQLite files."""
    url = os.environ.get("DATABASE_URL", "")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if broker.startswith(("redis://", "amqp://")) and not os.environ.get("BENCH_BROKER_URL"):
        os.environ["BENCH_BROKER_URL"] = broker
    if os.environ.get("BENCH_DATABASE_URL") or not url.startswith(("postgres://", "postgresql://")):
        yield
        return
    import psycopg

    name = f"tessera_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = url.rpartition("/")
    os.environ["BENCH_DATABASE_URL"] = f"{base}/{name}"
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_vendor() -> str:
    """ "postgresql" or "sqlite": what the stack's database is."""
    from django.db import connection

    return str(connection.vendor)


@contextmanager
def stack(*, state_file: bool = False, keep: bool = False, confirmations: int = 1) -> Iterator[Stack]:
    """Scratch SQLite database and broker (or BENCH_DATABASE_URL / BENCH_BROKER_URL), one anvil, Django
    configured for them in this process."""
    workdir = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    from tokens.chain.anvil import Anvil

    node = Anvil(state_path=workdir / "anvil-state.json" if state_file else None, gas_limit=100_000_000).start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", f"sqla+sqlite:///{workdir / 'broker.sqlite3'}"),
        "CHAIN_RPC_URL": node.rpc_url,
        "CHAIN_ID": "31337",
        "CHAIN_CONFIRMATIONS": str(confirmations),
        "CHAIN_REPLACE_UNMINED_AFTER_SECONDS": "30",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        # The test settings name the broker's queues (their Redis key prefix) after the run: this process and the
        # workers it starts are one run, so they share its queues.
        "TESSERA_TEST_RUN_ID": os.environ.get("TESSERA_TEST_RUN_ID", f"bench-{os.getpid()}"),
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if os.environ.get("BENCH_BROKER_URL"):
        from portal.celery import app

        app.control.purge()  # a broker on a server may hold tasks of an earlier run, for another database
    s = Stack(workdir=workdir, env=env, anvil=node)
    try:
        yield s
    finally:
        s.stop_workers()
        node.stop()
        if not keep and not os.environ.get("BENCH_KEEP"):
            for path in workdir.iterdir():
                path.unlink(missing_ok=True)
            workdir.rmdir()


def wait_until(
    predicate: Callable[[], bool], *, timeout: float, poll: float = 0.25, tick: Callable[[], None] | None = None
) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if tick is not None:
            tick()
        if predicate():
            return time.monotonic() - started
        time.sleep(poll)
    raise TimeoutError("the benchmark did not finish in time")


def report(title: str, rows: list[tuple[str, Any]], payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(payload))
        return
    width = max(len(k) for k, _ in rows)
    print(title)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
