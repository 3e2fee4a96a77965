"""Invariant: for any sequence of token events the ledger posts, every lot's remaining units are never
negative and the lots of each wallet sum to the wallet's balance replayed from the same events."""

from __future__ import annotations

import itertools

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import AuditEvent
from registry.models import LedgerPosting, LotMovement
from registry.selectors.ledger import ledger_total, lots_held, wallet_balances
from registry.services.ledger import ZERO, ledger_sync
from tokens.models import ChainEvent, ContractDeployment, ContractKind

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

HOLDERS = [f"0x{n:040x}" for n in range(1, 5)]
_block_hashes = itertools.count(1)

# (kind, wallet a, wallet b, amount): mint to a, burn from a, or transfer a → b (amounts clipped to what a holds).
step = st.tuples(
    st.sampled_from(["mint", "burn", "transfer"]),
    st.sampled_from(HOLDERS),
    st.sampled_from(HOLDERS),
    st.integers(min_value=1, max_value=1_000),
)


def _token(offering) -> ContractDeployment:
    """The offering's token as the pipeline records it once deployed (its events are written below)."""
    token = ContractDeployment.objects.get(kind=ContractKind.SECURITY_TOKEN, owner_ref=offering.owner_ref)
    if not token.address:
        token.address = "0x00000000000000000000000000000000000000aa"
        token.save(update_fields=["address"])
    return token


@pytest.fixture
def offering(cast, registry):
    from offerings.tests.support import offering_open

    return offering_open(cast.issuer, cast.admin)


def _replayed(events: list[ChainEvent]) -> dict[str, int]:
    balances: dict[str, int] = {}
    for e in events:
        amount = int(e.args["value"])
        if e.args["from"] != ZERO:
            balances[e.args["from"]] -= amount
        if e.args["to"] != ZERO:
            balances[e.args["to"]] = balances.get(e.args["to"], 0) + amount
    return {w: n for w, n in balances.items() if n}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=25), split=st.integers(min_value=0, max_value=25))
def test_lots_never_go_negative_and_sum_to_the_wallet_balances(chain_settings, offering, steps, split) -> None:
    LedgerPosting.objects.filter(offering=offering).delete()
    ChainEvent.objects.all().delete()
    token = _token(offering)
    balances = dict.fromkeys(HOLDERS, 0)
    events = []
    # Every event sits in block 0 (its time comes from the real node), one log index each.
    block_hash = f"0x{next(_block_hashes):064x}"
    for log_index, (kind, a, b, amount) in enumerate(steps):
        if kind == "mint":
            source, target = ZERO, a
            balances[a] += amount
        else:
            amount = min(amount, balances[a])
            if amount == 0 or (kind == "transfer" and a == b):
                continue
            source, target = a, (ZERO if kind == "burn" else b)
            balances[a] -= amount
            if target != ZERO:
                balances[target] += amount
        events.append(
            ChainEvent(
                chain_id=31337,
                contract_address=token.address,
                block_number=0,
                block_hash=block_hash,
                transaction_hash=f"0x{log_index:064x}",
                log_index=log_index,
                name="Transfer",
                args={"from": source, "to": target, "value": str(amount)},
            )
        )
    # Posted in two passes (the indexer reads in ranges), which must equal one pass.
    ChainEvent.objects.bulk_create(events[:split])
    ledger_sync(offering=offering)
    ChainEvent.objects.bulk_create(events[split:])
    ledger_sync(offering=offering)

    assert wallet_balances(offering=offering) == {w: n for w, n in balances.items() if n}
    assert ledger_total(offering=offering) == sum(balances.values())
    for wallet in HOLDERS:
        lots = lots_held(offering=offering, wallet=wallet)
        assert all(row.remaining > 0 for row in lots)
        assert sum(row.remaining for row in lots) == balances[wallet]
    remaining = LotMovement.objects.filter(lot__offering=offering).values_list("lot_id").annotate(n=Sum("delta"))
    assert all(n >= 0 for _, n in remaining)

    # The indexer rolls back the events from `split` on: their postings, lots and movements go with them.
    ChainEvent.objects.filter(log_index__gte=split).delete()
    ledger_sync(offering=offering)
    assert wallet_balances(offering=offering) == _replayed([e for e in events if e.log_index < split])


def test_an_event_read_after_later_ones_replays_the_ledger_from_it(chain_settings, offering) -> None:
    token = _token(offering)
    block_hash = f"0x{next(_block_hashes):064x}"

    def mint(log_index: int, wallet: str, amount: int) -> ChainEvent:
        return ChainEvent.objects.create(
            chain_id=31337,
            contract_address=token.address,
            block_number=0,
            block_hash=block_hash,
            transaction_hash=f"0x{log_index + 100:064x}",
            log_index=log_index,
            name="Transfer",
            args={"from": ZERO, "to": wallet, "value": str(amount)},
        )

    mint(0, HOLDERS[0], 10)
    mint(2, HOLDERS[0], 5)
    assert ledger_sync(offering=offering) == 2
    mint(1, HOLDERS[1], 3)  # read late: the posting after it is replayed behind it
    assert ledger_sync(offering=offering) == 2
    postings = list(LedgerPosting.objects.filter(offering=offering).values_list("log_index", flat=True))
    assert postings == [0, 1, 2]
    assert wallet_balances(offering=offering) == {HOLDERS[0]: 15, HOLDERS[1]: 3}
    audit = AuditEvent.objects.filter(action="registry.ledger_posted").order_by("-id").first()
    assert audit is not None and audit.after is not None and audit.after["replayed"] == 1
