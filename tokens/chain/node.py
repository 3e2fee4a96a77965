"""Plain JSON-RPC reachability of the configured node (used by the health page)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


def node_status(*, rpc_url: str, timeout: float = 2.0) -> dict[str, Any]:
    started = time.monotonic()
    try:
        chain_id = _call(rpc_url, "eth_chainId", timeout)
        block = _call(rpc_url, "eth_blockNumber", timeout)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return {"ok": False, "error": type(exc).__name__, "detail": str(exc)[:200]}
    return {
        "ok": True,
        "chain_id": int(chain_id, 16),
        "block": int(block, 16),
        "latency_ms": round((time.monotonic() - started) * 1000, 1),
    }


def _call(rpc_url: str, method: str, timeout: float) -> Any:
    if not rpc_url.startswith(("http://", "https://")):
        raise ValueError("the RPC URL must be http(s)")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(rpc_url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured RPC URL
        payload = json.load(response)
    if "error" in payload:
        raise ValueError(payload["error"].get("message", "RPC error"))
    return payload["result"]
