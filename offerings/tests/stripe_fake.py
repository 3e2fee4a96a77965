"""A local HTTP endpoint answering like Stripe's API (documented response shapes), and signed webhooks.

Only Stripe's servers are faked: the real `stripe` library talks to this endpoint over HTTP, and
webhook payloads carry a real `Stripe-Signature` HMAC made with the endpoint secret.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

WEBHOOK_SECRET = "whsec_test_offerings_secret"
_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_test{next(_ids):08d}"


@dataclass
class FakeStripe:
    base_url: str
    requests: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_refunds: bool = False


def _flatten(form: dict[str, list[str]]) -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else v for k, v in form.items()}


def _handler(state: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Request-Id", _id("req"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            # The hosted checkout page: the payer "pays" and Stripe sends the browser to success_url.
            session = state.sessions.get(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/pay/") else None
            if session is None:
                return self._send(404, {"error": {"type": "invalid_request_error", "message": "No such page"}})
            self.send_response(303)
            self.send_header("Location", session["success_url"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            params = _flatten(parse_qs(self.rfile.read(length).decode()))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append((self.path, params, headers))
            key = headers.get("idempotency-key")
            if key and key in state.idempotent:
                return self._send(200, state.idempotent[key])
            if self.headers.get("Authorization", "") != "Bearer sk_test_offerings":
                return self._send(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
            if self.path == "/v1/checkout/sessions":
                body = self._session(params)
            elif self.path == "/v1/refunds":
                if state.fail_refunds:
                    return self._send(
                        400,
                        {
                            "error": {
                                "type": "invalid_request_error",
                                "code": "charge_disputed",
                                "message": "Charge is disputed.",
                            }
                        },
                    )
                body = self._refund(params)
            else:
                return self._send(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}})
            if key:
                state.idempotent[key] = body
            return self._send(200, body)

        def _session(self, p: dict[str, Any]) -> dict[str, Any]:
            session_id = _id("cs")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "amount_total": int(p["line_items[0][price_data][unit_amount]"]),
                "currency": p["line_items[0][price_data][currency]"],
                "client_reference_id": p.get("client_reference_id"),
                "customer_email": p.get("customer_email"),
                "metadata": {k[9:-1]: v for k, v in p.items() if k.startswith("metadata[")},
                "mode": "payment",
                "payment_intent": None,
                "payment_status": "unpaid",
                "status": "open",
                "success_url": p.get("success_url"),
                "cancel_url": p.get("cancel_url"),
                "url": f"{state.base_url}/pay/{session_id}",
                "livemode": False,
                "created": int(time.time()),
            }
            state.sessions[session_id] = session
            return session

        def _refund(self, p: dict[str, Any]) -> dict[str, Any]:
            refund = {
                "id": _id("re"),
                "object": "refund",
                "amount": int(p["amount"]),
                "currency": "usd",
                "payment_intent": p["payment_intent"],
                "charge": None,
                "metadata": {k[9:-1]: v for k, v in p.items() if k.startswith("metadata[")},
                "status": "succeeded",
                "created": int(time.time()),
            }
            state.refunds[refund["id"]] = refund
            return refund

    return Handler


@contextmanager
def fake_stripe() -> Iterator[FakeStripe]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = FakeStripe(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def signed(payload: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[bytes, str]:
    """The body and `Stripe-Signature` header Stripe sends: t=timestamp, v1=HMAC-SHA256(secret, "t.body")."""
    body = json.dumps(payload).encode()
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={t},v1={digest}"


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or _id("evt"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": obj},
    }


def completed_session(session: dict[str, Any], *, intent: str, paid: bool = True) -> dict[str, Any]:
    return {**session, "status": "complete", "payment_status": "paid" if paid else "unpaid", "payment_intent": intent}


def refunded_charge(*, intent: str, payment_pk: int, refunds: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": _id("ch"),
        "object": "charge",
        "amount": sum(r["amount"] for r in refunds),
        "amount_refunded": sum(r["amount"] for r in refunds),
        "currency": "usd",
        "payment_intent": intent,
        "metadata": {"payment": str(payment_pk)},
        "refunded": True,
        "refunds": {"object": "list", "data": refunds, "has_more": False},
    }


def dispute(*, intent: str, amount: int, status: str = "needs_response") -> dict[str, Any]:
    return {
        "id": _id("dp"),
        "object": "dispute",
        "amount": amount,
        "currency": "usd",
        "payment_intent": intent,
        "charge": _id("ch"),
        "reason": "fraudulent",
        "status": status,
        "metadata": {},
    }
