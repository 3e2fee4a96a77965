"""Fixtures shared by every app: people in every role at one issuer, worker processes, anvil."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from core.tests.support import Cast, cast_build

if TYPE_CHECKING:
    import subprocess

    from tokens.chain.anvil import Anvil
    from tokens.models import ContractDeployment


@pytest.fixture
def cast(db: None) -> Cast:
    return cast_build()


def database_url_of_test_db() -> str:
    """The DATABASE_URL under which another process sees the database this test uses."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(
    transactional_db: None,
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real `celery worker` processes on the configured broker against the test database."""
    import os
    import signal
    import subprocess
    import sys

    from django.conf import settings

    from core.tests.support import worker_log_path
    from portal.celery import app

    # Tasks an earlier test left on the broker (its beat ticks, its on-commit tasks) belong to rows that test's
    # teardown emptied; a new worker would work through all of them before this test's own, and a loaded machine
    # then misses the test's deadlines. The broker starts empty for each test that starts workers.
    with app.connection_for_write() as connection:
        for queue in settings.TASK_QUEUES:
            connection.default_channel.queue_purge(queue)
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str = "w1", extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": database_url_of_test_db(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            **(extra_env or {}),
        }
        log_path = worker_log_path(name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                # Every queue (settings.CELERY_TASK_ROUTES): one test worker does every kind of work.
                "-Q",
                ",".join(settings.TASK_QUEUES),
                "-n",
                f"{name}@%h",
                "--loglevel=INFO",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[Anvil]:
    """A real anvil on a free port for the whole session (the binary from the npm package)."""
    from tokens.chain.anvil import Anvil

    with Anvil() as node:
        yield node


@pytest.fixture
def chain_settings(anvil_node: Anvil) -> Iterator[Anvil]:
    """The portal pointed at the session's anvil, reverted to a snapshot after the test."""
    from django.test import override_settings

    from tokens.chain.signer import signing_allowed

    snapshot = anvil_node.rpc("evm_snapshot")
    # The test is the worker that signs what it drains in-process.
    with override_settings(CHAIN_RPC_URL=anvil_node.rpc_url, CHAIN_ID=31337, CHAIN_CONFIRMATIONS=1), signing_allowed():
        yield anvil_node
    anvil_node.rpc("evm_setAutomine", [True])
    # A revert that fails would leave this test's blocks and clock to the next one.
    assert anvil_node.rpc("evm_revert", [snapshot]) is True, "the chain could not be put back after the test"


@pytest.fixture
def registry(db: None) -> ContractDeployment:
    """The portal registry recorded as deployed, for tests without a chain."""
    from tokens.tests.support import registry_deployed

    return registry_deployed()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove this run's embedded broker file (the test database is removed by pytest-django)."""
    from pathlib import Path

    from django.conf import settings

    broker = getattr(settings, "CELERY_BROKER_URL", "")
    if broker.startswith("sqla+sqlite:///") and "test-celery-broker-" in broker:
        Path(broker.removeprefix("sqla+sqlite:///")).unlink(missing_ok=True)
