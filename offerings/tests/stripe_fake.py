"""A local HTTP endpoint answering like Stripe's API (documented response shapes), and signed webhooks.

Only Stripe's servers are faked: the real `stripe` library talks to this endpoint over HTTP, and
webhook payloads carry a real `Stripe-Signature` HMAC made with the endpoint secret. Shapes are
those of the current API version: a charge no longer embeds its refunds (since 2022-11-15, read
`amount_refunded` and the `refund.*` events), a refund may stay `pending` before it succeeds or
fails, and an open Checkout Session can be expired (`POST /v1/checkout/sessions/:id/expire`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

WEBHOOK_SECRET = "whsec_test_offerings_secret"
API_VERSION = "2025-07-30.basil"
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
    # The status new refunds get: "succeeded" (cards, usually), "pending" (bank debits, some cards).
    refund_status: str = "succeeded"
    charges: dict[str, str] = field(default_factory=dict)  # payment intent -> charge id

    def charge_of(self, intent: str) -> str:
        return self.charges.setdefault(intent, _id("ch"))

    def pay(self, session_id: str, *, intent: str) -> dict[str, Any]:
        """The payer completes the hosted page: the session is complete and can no longer be expired."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", payment_intent=intent)
        self.charge_of(intent)
        return session

    def refund_settle(self, refund_id: str, status: str, *, failure_reason: str | None = None) -> dict[str, Any]:
        """A pending refund moves on at the bank: the refund object as a `refund.updated` event carries it."""
        refund = self.refunds[refund_id]
        refund.update(status=status, failure_reason=failure_reason)
        return dict(refund)

    # Called (in the server's thread) with each request's path before it is answered.
    on_request: Callable[[str], None] | None = None


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

        def _missing(self, what: str) -> None:
            self._send(404, {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": what}})

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if not path.startswith("/v1/"):
                # The hosted checkout page: the payer "pays" and Stripe sends the browser to success_url.
                session = state.sessions.get(path.rsplit("/", 1)[-1]) if path.startswith("/pay/") else None
                if session is None:
                    return self._missing("No such page")
                self.send_response(303)
                self.send_header("Location", session["success_url"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            params = _flatten(parse_qs(query))
            state.requests.append((self.path, params, {k.lower(): v for k, v in self.headers.items()}))
            if self.headers.get("Authorization", "") != "Bearer sk_test_offerings":
                return self._send(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
            parts = path.strip("/").split("/")
            if parts[1:3] == ["checkout", "sessions"] and len(parts) == 4:
                found = state.sessions.get(parts[3])
                return self._send(200, found) if found else self._missing(f"No such checkout.session: '{parts[3]}'")
            if parts[1:] == ["refunds"]:
                rows = [
                    r
                    for r in state.refunds.values()
                    if r["charge"] == params.get("charge", r["charge"])
                    and r["payment_intent"] == params.get("payment_intent", r["payment_intent"])
                ]
                return self._send(200, {"object": "list", "data": rows, "has_more": False, "url": "/v1/refunds"})
            if parts[1] == "refunds" and len(parts) == 3:
                found = state.refunds.get(parts[2])
                return self._send(200, found) if found else self._missing(f"No such refund: '{parts[2]}'")
            return self._missing("Unrecognized request URL")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            params = _flatten(parse_qs(self.rfile.read(length).decode()))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append((self.path, params, headers))
            if state.on_request is not None:
                state.on_request(self.path)
            key = headers.get("idempotency-key")
            if key and key in state.idempotent:
                return self._send(200, state.idempotent[key])
            if self.headers.get("Authorization", "") != "Bearer sk_test_offerings":
                return self._send(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
            if self.path == "/v1/checkout/sessions":
                body = self._session(params)
            elif self.path.startswith("/v1/checkout/sessions/") and self.path.endswith("/expire"):
                session = state.sessions.get(self.path.split("/")[4])
                if session is None:
                    return self._missing("No such checkout.session")
                if session["status"] != "open":
                    return self._send(
                        400,
                        {
                            "error": {
                                "type": "invalid_request_error",
                                "message": f'Only Checkout Sessions with a status in ["open"] can be expired. '
                                f'This Checkout Session has a status of "{session["status"]}".',
                            }
                        },
                    )
                session["status"] = "expired"
                body = session
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
                "expires_at": int(time.time()) + 24 * 3600,
            }
            state.sessions[session_id] = session
            return session

        def _refund(self, p: dict[str, Any]) -> dict[str, Any]:
            refund = refund_object(
                intent=p["payment_intent"],
                charge=state.charge_of(p["payment_intent"]),
                amount=int(p["amount"]),
                status=state.refund_status,
                metadata={k[9:-1]: v for k, v in p.items() if k.startswith("metadata[")},
            )
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
        "api_version": API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": obj},
    }


def completed_session(session: dict[str, Any], *, intent: str, paid: bool = True) -> dict[str, Any]:
    return {**session, "status": "complete", "payment_status": "paid" if paid else "unpaid", "payment_intent": intent}


def refund_object(
    *,
    intent: str,
    charge: str,
    amount: int,
    status: str = "succeeded",
    metadata: dict[str, str] | None = None,
    currency: str = "usd",
    refund_id: str | None = None,
) -> dict[str, Any]:
    """A Refund object as the API and the `refund.*` events carry it."""
    return {
        "id": refund_id or _id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": _id("txn"),
        "charge": charge,
        "created": int(time.time()),
        "currency": currency,
        "destination_details": {"type": "card", "card": {"type": "refund", "reference_status": "pending"}},
        "failure_reason": None,
        "metadata": metadata or {},
        "payment_intent": intent,
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def charge_object(
    *, intent: str, charge: str, amount: int, amount_refunded: int = 0, payment_pk: int | None = None
) -> dict[str, Any]:
    """A Charge as `charge.refunded` carries it today: `amount_refunded`, no embedded `refunds` list."""
    return {
        "id": charge,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "captured": True,
        "currency": "usd",
        "disputed": False,
        "metadata": {"payment": str(payment_pk)} if payment_pk else {},
        "paid": True,
        "payment_intent": intent,
        "refunded": amount_refunded >= amount,
        "status": "succeeded",
    }


def dispute(
    *, intent: str, amount: int, status: str = "needs_response", charge: str | None = None, currency: str = "usd"
) -> dict[str, Any]:
    return {
        "id": _id("du"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge or _id("ch"),
        "created": int(time.time()),
        "currency": currency,
        "evidence_details": {"due_by": int(time.time()) + 7 * 86400, "has_evidence": False, "submission_count": 0},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": intent,
        "reason": "fraudulent",
        "status": status,
    }
