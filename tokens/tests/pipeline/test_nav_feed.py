"""A token's NAV feed on a real anvil: deployed by the command, published to by the attestor key through the
outbox, and read back as any AggregatorV3 contract is (decimals, description, its rounds after one read before)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.errors import ApplicationError
from tokens.models import ChainTransaction
from tokens.nav_feed import aggregator_read, aggregator_rounds, nav_feed_of, nav_feed_publish
from tokens.selectors import chain_head_time
from tokens.tests.support import Chain, drain

pytestmark = [pytest.mark.chain]

OWNER = "offering:1"


def test_the_deploy_command_sets_up_a_nav_feed_that_reads_as_an_aggregator(chain: Chain, capsys) -> None:
    call_command("chain_deploy", "nav-feed", "--owner", OWNER, "--description", "HSCA NAV per unit (USD)", "--wait")
    feed = nav_feed_of(OWNER)
    assert feed is not None and f"Deployed at {feed.address}" in capsys.readouterr().out
    info = aggregator_read(address=feed.address.lower())
    assert (info.address, info.decimals, info.description, info.latest) == (
        feed.address,
        8,
        "HSCA NAV per unit (USD)",
        None,
    )
    first = chain_head_time() - timedelta(hours=2)
    for n, nav in enumerate((100_00000000, 100_01000000, 100_02000000), start=1):
        nav_feed_publish(owner_ref=OWNER, nav_per_unit=nav, as_of=first + timedelta(minutes=n), idempotency_key=f"n{n}")
        drain()
    (latest,) = aggregator_rounds(address=feed.address, after_round_id=None)
    assert (latest.round_id, latest.answer) == (3, 100_02000000)
    assert latest.updated_at == int((first + timedelta(minutes=3)).timestamp())
    assert [r.round_id for r in aggregator_rounds(address=feed.address, after_round_id=1)] == [2, 3]
    assert aggregator_rounds(address=feed.address, after_round_id=3) == []


@pytest.mark.parametrize(
    ("nav", "as_of", "code"),
    [
        (0, timezone.now(), "invalid_nav"),
        (-1, timezone.now(), "invalid_nav"),
        (1, datetime(2026, 1, 1), "as_of"),
        (1, datetime.now(tz=UTC) + timedelta(days=1), "as_of"),
        (1, timezone.now() - timedelta(days=1), "no_nav_feed"),
    ],
)
def test_a_nav_the_feed_cannot_carry_is_refused_before_it_is_queued(
    db: None, nav: int, as_of: datetime, code: str
) -> None:
    with pytest.raises(ApplicationError) as refused:
        nav_feed_publish(owner_ref=OWNER, nav_per_unit=nav, as_of=as_of, idempotency_key="bad")
    assert refused.value.code == code
    assert not ChainTransaction.objects.exists()
