from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tokens.tests.support import free_port


@pytest.mark.django_db
def test_health_reports_database_broker_and_chain(client: Client) -> None:
    with override_settings(CHAIN_RPC_URL=f"http://127.0.0.1:{free_port()}"):
        response = client.get("/health/")
    body = response.json()
    assert response.status_code == 200
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["chain"]["ok"] is False  # nothing listens there
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_an_unreachable_broker_makes_the_portal_down(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.chain
@pytest.mark.django_db
def test_a_running_node_with_the_right_chain_id_is_healthy(client: Client, anvil_node) -> None:
    with override_settings(CHAIN_RPC_URL=anvil_node.rpc_url, CHAIN_ID=31337):
        chain = client.get("/health/").json()["checks"]["chain"]
    assert chain["ok"] is True and chain["chain_id"] == 31337
    with override_settings(CHAIN_RPC_URL=anvil_node.rpc_url, CHAIN_ID=1):
        wrong = client.get("/health/").json()["checks"]["chain"]
    assert wrong["ok"] is False and wrong["error"] == "WrongChain"


@pytest.mark.django_db
def test_failures_are_named_without_their_text_except_to_staff(client: Client) -> None:
    from core.tests.factories import UserFactory

    broker = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    with override_settings(CELERY_BROKER_URL=broker, CHAIN_RPC_URL=f"http://127.0.0.1:{free_port()}"):
        anonymous = client.get("/health/")
        client.force_login(UserFactory.create(is_staff=True, mfa=True))
        staff = client.get("/health/")
    body = anonymous.json()
    assert body["status"] == "down" and body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] and body["checks"]["chain"]["error"]
    assert all("detail" not in check for check in body["checks"].values())
    assert "127.0.0.1" not in anonymous.content.decode() and "hunter2" not in anonymous.content.decode()
    assert "detail" in staff.json()["checks"]["chain"]
