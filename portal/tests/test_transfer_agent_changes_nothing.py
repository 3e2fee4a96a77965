"""A transfer agent changes nothing anywhere: every URL of the whole site, opened and posted to by a signed-in agent
(two-factor enrolled, with an open offering, a subscription and an API token of their issuer in place),
is refused, or is one of the agent's own account pages, and no row of any table changes. (An issuer may let its
transfer agent decide holders' exception requests, Issuer.transfer_agent_decides_requests; this issuer has not.)

The URLs come from the access matrix's walk of the URL configuration, so a new URL is covered at once.
"""

from __future__ import annotations

import hashlib

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client

from compliance.exemptions import Exemption
from core.models import AuditEvent
from core.services import api_token_create
from core.tests.support import Cast
from core.tests.test_url_access_matrix import ALL_PATTERNS, _concrete_path
from investors.tests.support import verified_investor
from offerings.tests.support import offering_open, subscribed

pytestmark = pytest.mark.django_db

# What a refusal looks like: forbidden, not allowed, not signed in to this, or nothing there to change.
REFUSED = {401, 403, 404, 405}
# The agent's own account (and their own notification list), where a post is theirs to make.
OWN_ACCOUNT = ("account_", "mfa_", "api_token", "notification")
# Public pages that answer any method the same and act on nothing posted.
IGNORE_POSTS = {"landing", "health"}
# The posts open to a transfer agent beyond their own account: asking for an export, itself a read, and
# setting an Open Cap Format package beside the register, which reads the upload and stores nothing.
EXPORT_REQUESTS = {"registry_export_create", "api_registry_exports", "registry_ocf_compare"}
# Rows that record the visit itself, not a change anyone made: the agent's session.
UNTRACKED = {"sessions.session"}
# Reads of holder data are audited (who took which holders' data, as of when): a record of the read.
AUDIT_CHAIN = ["core.auditchainhead", "core.auditevent"]
READS_AUDITED = {"registry.export_streamed", "registry.export_downloaded"}
# The matrix fills ids with ones that exist nowhere; these are swapped for the agent's real issuer's objects.
MISSING_PUBLIC_ID = "00000000-0000-4000-8000-000000000000"
MISSING_SUBSCRIPTION = "00000000-0000-4000-8000-000000000003"


def _fingerprint() -> dict[str, str]:
    """model → a digest of all its rows, so any insert, update or delete shows."""
    found = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in UNTRACKED or not model._meta.managed:
            continue
        rows = model._default_manager.order_by("pk").values_list()
        found[label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return found


@pytest.fixture
def world(cast: Cast) -> Cast:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    investor = verified_investor(user=cast.investor, accreditation="self_certified")
    subscription = subscribed(offering, investor, 500_00)
    api_token_create(actor=cast.agent, name="agent's own")
    cast.offering_id = str(offering.public_id)  # type: ignore[attr-defined]
    cast.subscription_id = str(subscription.public_id)  # type: ignore[attr-defined]
    return cast


def test_a_transfer_agent_posting_to_every_url_of_the_site_changes_nothing(world: Cast) -> None:
    client = Client()
    client.force_login(world.agent)
    before = _fingerprint()
    accepted: dict[str, int] = {}
    for name, route, _ in ALL_PATTERNS:
        path = (
            _concrete_path(route, name, world)
            .replace(MISSING_PUBLIC_ID, world.offering_id)  # type: ignore[attr-defined]
            .replace(MISSING_SUBSCRIPTION, world.subscription_id)  # type: ignore[attr-defined]
        )
        if name == "account_logout":
            continue  # signing out ends the walk's session; it changes no data (the matrix covers it)
        for method in ("GET", "POST"):
            with transaction.atomic():
                last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
                response = client.post(path) if method == "POST" else client.get(path)
                changed = sorted(label for label, digest in _fingerprint().items() if before.get(label) != digest)
                audited = set(AuditEvent.objects.filter(id__gt=last_event).values_list("action", flat=True))
                transaction.set_rollback(True)
            if changed == AUDIT_CHAIN and audited <= READS_AUDITED:
                changed = []
            assert changed == [], f"{method} {path} ({name}) as a transfer agent changed {changed}"
            # Django's admin sends everyone but staff away (to sign in, or home): that is a refusal too.
            to_sign_in = response.status_code == 302 and (
                "/login/" in response["Location"] or name.startswith("admin:")
            )
            if method == "POST" and response.status_code not in REFUSED and not to_sign_in:
                accepted[name] = response.status_code
    assert client.get("/registry/").status_code == 200  # every request above was the agent's
    not_own = {
        name: status
        for name, status in accepted.items()
        if not name.startswith(OWN_ACCOUNT) and name not in IGNORE_POSTS | EXPORT_REQUESTS
    }
    assert not_own == {}, f"URLs that did not refuse a transfer agent's post: {not_own}"
