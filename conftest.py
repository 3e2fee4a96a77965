"""Fixtures shared by every app: people in every role at one issuer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.models import Issuer, IssuerMembership, Role, User
from core.tests.factories import IssuerFactory, MembershipFactory, UserFactory


@dataclass
class Cast:
    issuer: Issuer
    other_issuer: Issuer
    investor: User
    other_admin: User
    admin: User
    compliance: User
    agent: User
    staff: User
    admin_membership: IssuerMembership
    agent_membership: IssuerMembership

    def by_role(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


ROLES = ["anonymous", "investor", "other_admin", "admin", "compliance", "agent", "staff"]


@pytest.fixture
def cast(db: None) -> Cast:
    issuer = IssuerFactory(name="Harbor Street Capital", slug="harbor")
    other = IssuerFactory(name="Other Issuer", slug="other")
    admin_m = MembershipFactory(issuer=issuer, role=Role.ISSUER_ADMIN, user__email="admin@harbor.example")
    compliance_m = MembershipFactory(issuer=issuer, role=Role.COMPLIANCE_OFFICER, user__email="co@harbor.example")
    agent_m = MembershipFactory(issuer=issuer, role=Role.TRANSFER_AGENT, user__email="ta@agent.example")
    other_m = MembershipFactory(issuer=other, role=Role.ISSUER_ADMIN, user__email="admin@other.example")
    staff = UserFactory(email="staff@tessera.example", is_staff=True, is_superuser=True, mfa=True)
    return Cast(
        issuer=issuer,
        other_issuer=other,
        investor=UserFactory(email="investor@example.com"),
        other_admin=other_m.user,
        admin=admin_m.user,
        compliance=compliance_m.user,
        agent=agent_m.user,
        staff=staff,
        admin_membership=admin_m,
        agent_membership=agent_m,
    )


def database_url_of_test_db() -> str:
    """The DATABASE_URL under which another process sees the database this test uses."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db: None):
    """Start real `celery worker` processes on the configured broker against the test database."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    started: list[subprocess.Popen[bytes]] = []
    log_dir = Path(settings.VAR_DIR) / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    def start(name: str = "w1", extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": database_url_of_test_db(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            **(extra_env or {}),
        }
        log = open(log_dir / f"worker-{name}.log", "wb")  # noqa: SIM115 - closed with the process
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
def anvil_node():
    """A real anvil on a free port for the whole session (the binary from the npm package)."""
    from tokens.chain.anvil import Anvil

    with Anvil() as node:
        yield node


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove this run's embedded broker file (the test database is removed by pytest-django)."""
    from pathlib import Path

    from django.conf import settings

    broker = getattr(settings, "CELERY_BROKER_URL", "")
    if broker.startswith("sqla+sqlite:///") and "test-celery-broker-" in broker:
        Path(broker.removeprefix("sqla+sqlite:///")).unlink(missing_ok=True)
