"""Errors reported to Sentry carry no personal data: no user, no e-mail or wallet address, no tax id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from portal.error_reporting import FILTERED, before_send, scrub, sentry_init


def test_the_scrubber_removes_personal_data_and_keeps_what_locates_the_bug() -> None:
    event: dict[str, Any] = {
        "message": (
            "No investor for alice.smith+1@investor.example with wallet 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        ),
        "user": {"id": 7, "email": "alice@investor.example", "ip_address": "10.0.0.7"},
        "request": {
            "url": "https://portal.example.com/onboarding/details/",
            "data": {"email": "bob@investor.example", "tax_id": "123-45-6789", "country": "US", "amount": "2500"},
            "headers": [["Cookie", "sessionid=abc"], ["Authorization", "Bearer t0k"], ["Accept", "text/html"]],
            "query_string": [["next", "/portfolio/"]],
        },
        "exception": {
            "values": [
                {
                    "type": "ApplicationError",
                    "value": "SSN 123-45-6789 already on file for carol@example.org",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "investors/services/profile.py",
                                "function": "investor_details_update",
                                "lineno": 88,
                                "vars": {
                                    "first_name": "Alice",
                                    "date_of_birth": "1980-02-03",
                                    "street_address": "1 Main St",
                                    "offering_id": 12,
                                    "note": "wire from dave@bank.example",
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {"values": [{"category": "query", "message": "SELECT … WHERE email = 'erin@investor.example'"}]},
        "extra": {"wallets": ["0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"], "purpose": "Mint 10 units"},
    }

    scrubbed = before_send(event, {})
    text = json.dumps(scrubbed)

    for personal in ("alice", "bob@", "carol@", "dave@", "erin@", "123-45-6789", "0x7099", "0x3C44", "1 Main", "1980"):
        assert personal not in text.lower(), personal
    assert "user" not in scrubbed
    assert scrubbed["request"]["data"] == {
        "email": FILTERED,
        "tax_id": FILTERED,
        "country": "US",
        "amount": "2500",
    }
    assert scrubbed["request"]["headers"] == [
        ["Cookie", FILTERED],
        ["Authorization", FILTERED],
        ["Accept", "text/html"],
    ]
    frame = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]
    # Where it broke and the values that are not personal stay, so the error can still be found.
    assert (frame["filename"], frame["function"], frame["lineno"]) == (
        "investors/services/profile.py",
        "investor_details_update",
        88,
    )
    assert frame["vars"]["offering_id"] == 12 and frame["vars"]["note"] == "wire from [email]"
    assert scrubbed["message"] == "No investor for [email] with wallet [wallet]"
    assert scrubbed["extra"] == {"wallets": FILTERED, "purpose": "Mint 10 units"}
    assert scrub({"zip_code": "10004", "capacity": 5, "ethnicity_note": "n/a"}) == {
        "zip_code": FILTERED,
        "capacity": 5,
        "ethnicity_note": "n/a",
    }


class _Captured(Transport):
    """Sentry's own servers are out of reach: the envelopes the SDK would send are kept here to be read."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


@pytest.fixture
def sentry() -> Iterator[_Captured]:
    sentry_init(dsn="https://public@sentry.invalid/1", environment="test")
    transport = _Captured(sentry_sdk.get_client().options)
    sentry_sdk.get_client().transport = transport
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: reporting off again for the rest of the run


def test_with_a_dsn_errors_go_to_sentry_without_personal_data(sentry: _Captured) -> None:
    options = sentry_sdk.get_client().options
    assert options["send_default_pii"] is False
    names = {type(i).__name__ for i in sentry_sdk.get_client().integrations.values()}
    assert {"DjangoIntegration", "CeleryIntegration"} <= names

    def fails(email: str) -> None:
        raise ValueError(f"no subscription for {email}")

    with sentry_sdk.new_scope() as scope:
        scope.set_user({"id": 3, "email": "frank@investor.example"})
        try:
            fails("frank@investor.example")
        except ValueError as exc:
            sentry_sdk.capture_exception(exc)
    sentry_sdk.flush()

    events: list[dict[str, Any]] = [
        item.payload.json or {} for envelope in sentry.envelopes for item in envelope.items if item.type == "event"
    ]
    assert len(events) == 1
    assert "frank" not in json.dumps(events[0])
    assert events[0]["exception"]["values"][0]["value"] == "no subscription for [email]"
    assert "user" not in events[0]
