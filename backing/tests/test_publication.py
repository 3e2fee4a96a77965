"""An approved reserve statement reaches the token's on-chain reserve feed, once, in the feed's units."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backing.services.publication import feed_reserve, publication_key
from backing.tasks import reserve_statement_publish_task
from backing.tests.support import rule_set, statement_approved, statement_entered
from offerings.services.offerings import offering_publish
from offerings.tests.support import offering_draft
from registry.tests.support import second_admin
from tokens.models import ChainTransaction
from tokens.selectors import reserve_feed_latest, token_controls
from tokens.services import portal_registry, portal_registry_ensure, reserve_feed_deploy
from tokens.tests.support import drain


def test_a_feed_in_coarser_units_never_reports_more_than_was_attested() -> None:
    assert feed_reserve(total_amount=1_234_567, unit_scale=2, feed_decimals=2) == 1_234_567
    assert feed_reserve(total_amount=1_234_567, unit_scale=2, feed_decimals=8) == 1_234_567 * 10**6
    assert feed_reserve(total_amount=1_234_567, unit_scale=2, feed_decimals=0) == 12_345


@pytest.mark.chain
@pytest.mark.django_db
def test_an_approved_statement_is_published_to_the_reserve_feed_once(
    cast, chain_settings, django_capture_on_commit_callbacks
) -> None:
    portal_registry_ensure()
    drain()
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    drain()
    reserve_feed_deploy(owner_ref=offering.owner_ref, decimals=2, description="Harbor Street reserves (USD)")
    drain()
    rule_set(offering, cast.admin)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        statement = statement_approved(offering, cast.admin, second_admin(cast.issuer), 2_500_000_00, 500_000_25)
    assert queued  # the publication waits for the approval to commit
    assert reserve_statement_publish_task(statement.pk) == "queued"
    assert reserve_statement_publish_task(statement.pk) == "queued_before"
    assert ChainTransaction.objects.filter(idempotency_key=publication_key(statement)).count() == 1
    drain()
    report = reserve_feed_latest(owner_ref=offering.owner_ref)
    assert report is not None and report.reserve == 3_000_000_25 and report.decimals == 2
    assert report.as_of.date() <= timezone.localdate()


@pytest.mark.django_db
def test_a_statement_waiting_for_approval_is_never_published(cast) -> None:
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    rule_set(offering, cast.admin)
    statement = statement_entered(offering, cast.admin, 1_000_00)
    assert reserve_statement_publish_task(statement.pk) == "not_current"


@pytest.mark.chain
@pytest.mark.django_db
def test_the_backing_page_shows_the_contract_controls_and_the_feed_as_the_chain_reports_them(
    cast, chain_settings, django_capture_on_commit_callbacks
) -> None:
    portal_registry_ensure()
    drain()
    offering = offering_publish(offering=offering_draft(cast.issuer, cast.admin), actor=cast.admin)
    drain()
    controls = token_controls(owner_ref=offering.owner_ref, fresh=True)
    assert controls is not None
    assert all(f.present for f in controls.functions) and not controls.upgradeable
    agents = next(r for r in controls.roles if r.role == "agent").holders
    assert settings.CHAIN_SENDERS["agent"] in agents
    assert controls.registry == portal_registry().address
    reserve_feed_deploy(owner_ref=offering.owner_ref, decimals=2, description="Harbor Street reserves (USD)")
    drain()
    rule_set(offering, cast.admin)
    with django_capture_on_commit_callbacks(execute=False):
        statement = statement_approved(offering, cast.admin, second_admin(cast.issuer), 1_000_00)
    reserve_statement_publish_task(statement.pk)
    drain()
    client = Client()
    client.force_login(cast.agent)
    page = client.get(reverse("backing_overview", args=[cast.issuer.slug, offering.public_id])).content.decode()
    assert "reports 1,000.00 USD" in page
    assert "Pause all transfers" in page and "cannot be replaced" in page and settings.CHAIN_SENDERS["agent"] in page
