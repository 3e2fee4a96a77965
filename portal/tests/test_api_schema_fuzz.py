"""Every operation of the published OpenAPI schema, called with generated requests (schemathesis, through
WSGI, signed in as an investor and as an issuer admin): no server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from compliance.exemptions import Exemption
from investors.tests.support import verified_investor
from offerings.tests.support import offering_open

pytestmark = pytest.mark.django_db
EXAMPLES_PER_OPERATION = 25  # bounded so the run fits CI


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler without closing the test's database connection after each request
    (what Django's own test client does too)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _signed_in(user) -> tuple[dict[str, str], dict[str, str]]:
    """Cookies and headers of a browser session of `user`, with its CSRF token."""
    client = Client()
    client.force_login(user)
    csrf = _get_new_csrf_string()
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}
    return cookies, {"X-CSRFToken": csrf}


@pytest.mark.parametrize("role", ["investor", "admin"])
def test_generated_requests_to_every_api_operation_get_no_server_error(cast, wsgi_app, role: str) -> None:
    offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    verified_investor(user=cast.investor, accreditation="self_certified")
    cookies, headers = _signed_in(getattr(cast, role))
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results  # the schema is valid
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= 6
    failures: list[str] = []
    calls = 0
    statuses: dict[int, int] = {}

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def call(case) -> None:
            nonlocal calls
            response = case.call(headers=headers, cookies=cookies)
            calls += 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {case.body!r}")

        call()
    assert calls >= len(operations)
    assert failures == []
    assert any(200 <= status < 300 for status in statuses), statuses  # signed in: not only refusals
