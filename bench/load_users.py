"""The people bench.load sends (locust runs this file): investors who subscribe once, and holders who browse.

Each user is handed a signed-in session made by the bench (a sign-in costs a password hash, which is not what a
hot offering measures). A subscription counts as accepted when the portal moves on to signing, as refused when
the page says why in words an investor can act on; anything else, and any server error, is a failure.
"""

from __future__ import annotations

import json
import os
import re
from collections import deque
from typing import Any

from locust import HttpUser, between, events, task
from locust.exception import StopUser

with open(os.environ["LOAD_PLAN"]) as plan:
    _PLAN: dict[str, Any] = json.load(plan)
_SUBSCRIBERS: deque[dict[str, Any]] = deque(_PLAN["subscribers"])
_BROWSERS: deque[dict[str, Any]] = deque(_PLAN["browsers"])
OFFERING = _PLAN["offering"]
# What the subscribe page says when the hard cap leaves too little room (offerings/services/subscriptions.py).
REFUSALS = ("This offering is fully subscribed.", "of this offering is still available.")
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
OUTCOMES = {"accepted": 0, "refused": 0, "unclear": 0}
# Every request's time and result by endpoint, as it completes (locust's own tables leave out the last ones).
TIMES: dict[str, list[float]] = {}
FAILURES: dict[str, int] = {}
SERVER_ERRORS: dict[str, int] = {}
FAILURE_KINDS: dict[str, int] = {}


def _sign_in(user: HttpUser, person: dict[str, Any]) -> None:
    user.client.cookies.set("sessionid", person["session"], domain="127.0.0.1", path="/")


class Subscriber(HttpUser):
    """Opens the offering page, then its subscribe form, and subscribes once."""

    fixed_count = int(_PLAN["subscriber_count"])
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.person = _SUBSCRIBERS.popleft()
        _sign_in(self, self.person)

    @task
    def subscribe(self) -> None:
        self.client.get(f"/offerings/{OFFERING}/", name="offering page")
        form = self.client.get(f"/offerings/{OFFERING}/subscribe/", name="subscribe form")
        token = _CSRF.search(form.text)
        if token is None:
            events.request.fire(
                request_type="CHECK",
                name="subscribe form",
                response_time=0,
                response_length=0,
                exception=AssertionError("the subscribe form has no CSRF token"),
            )
            raise StopUser()
        with self.client.post(
            f"/offerings/{OFFERING}/subscribe/",
            data={"csrfmiddlewaretoken": token.group(1), "amount": self.person["amount"]},
            headers={"Referer": f"{self.host}/offerings/{OFFERING}/subscribe/"},
            name="subscribe",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 302 and "/sign/" in response.headers.get("Location", ""):
                OUTCOMES["accepted"] += 1
                response.success()
            elif response.status_code == 200 and any(message in response.text for message in REFUSALS):
                OUTCOMES["refused"] += 1
                response.success()
            else:
                OUTCOMES["unclear"] += 1
                response.failure(f"neither accepted nor refused with a reason: HTTP {response.status_code}")
        raise StopUser()


class Browser(HttpUser):
    """A holder reading their portfolio and the open offerings while the offering is hot."""

    fixed_count = int(_PLAN["browser_count"])
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        _sign_in(self, _BROWSERS.popleft())

    @task(3)
    def portfolio(self) -> None:
        self.client.get("/portfolio/", name="portfolio")

    @task(1)
    def offerings(self) -> None:
        self.client.get("/offerings/", name="offering list")


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, exception: Any = None, **kwargs: Any) -> None:
    if request_type != "CHECK":
        TIMES.setdefault(name, []).append(response_time)
    if exception is not None:
        FAILURES[name] = FAILURES.get(name, 0) + 1
        kind = f"{name}: {type(exception).__name__}: {str(exception)[:120]}"
        FAILURE_KINDS[kind] = FAILURE_KINDS.get(kind, 0) + 1
    response = kwargs.get("response")
    if response is not None and getattr(response, "status_code", 0) >= 500:
        SERVER_ERRORS[name] = SERVER_ERRORS.get(name, 0) + 1


@events.quitting.add_listener
def _write_outcomes(environment: Any, **kwargs: Any) -> None:
    with open(os.environ["LOAD_OUTCOMES"], "w") as out:
        json.dump(
            {
                **OUTCOMES,
                "times": TIMES,
                "failures": FAILURES,
                "server_errors": SERVER_ERRORS,
                "failure_kinds": FAILURE_KINDS,
            },
            out,
        )
