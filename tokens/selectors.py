"""Reads about the chain that the rest of the portal may call."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tokens.chain.node import node_status


def chain_status(*, timeout: float = 2.0) -> dict[str, Any]:
    status = node_status(rpc_url=settings.CHAIN_RPC_URL, timeout=timeout)
    if status.get("ok") and status["chain_id"] != settings.CHAIN_ID:
        return {**status, "ok": False, "error": "WrongChain", "detail": f"expected chain id {settings.CHAIN_ID}"}
    return status
