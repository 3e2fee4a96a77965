"""Invariant: walking the API's cursor pages of holders and holdings, for any set of holders and any page
size, returns every row exactly once, and the units add up to what was minted."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.services import api_token_create
from investors.tests.support import verified_investor
from registry.models import LedgerPosting
from registry.services.ledger import ZERO, ledger_sync
from tokens.models import ChainEvent, ContractDeployment, ContractKind

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

KNOWN = [f"0x{n:040x}" for n in range(0x100, 0x106)]  # wallets of six investors
UNKNOWN = [f"0x{n:040x}" for n in range(0x200, 0x203)]  # wallets the portal does not know
_block_hashes = itertools.count(1)


@pytest.fixture
def world(cast, registry):
    from offerings.tests.support import offering_open

    offering = offering_open(cast.issuer, cast.admin)
    token = ContractDeployment.objects.get(kind=ContractKind.SECURITY_TOKEN, owner_ref=offering.owner_ref)
    token.address = "0x00000000000000000000000000000000000000bb"
    token.save(update_fields=["address"])
    investors = {wallet: verified_investor(wallet=wallet, register=False) for wallet in KNOWN}
    _, secret = api_token_create(actor=cast.agent, name="walk")
    return offering, token, investors, Client(HTTP_AUTHORIZATION=f"Token {secret}")


def _walk(client: Client, url: str, page_size: int) -> list[dict]:
    rows: list[dict] = []
    body = client.get(url, {"page_size": page_size}).json()
    while True:
        rows += body["results"]
        if not body["next"]:
            return rows
        body = client.get(body["next"]).json()


# Mints per wallet (several lots each), then a few transfers between the holders.
mints = st.lists(st.tuples(st.sampled_from(KNOWN + UNKNOWN), st.integers(1, 500)), min_size=0, max_size=20)
moves = st.lists(st.tuples(st.integers(0, 19), st.sampled_from(KNOWN + UNKNOWN), st.integers(1, 500)), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mints=mints, moves=moves, page_size=st.integers(1, 7))
def test_cursor_pages_walk_every_holder_and_holding_once(chain_settings, world, mints, moves, page_size) -> None:
    offering, token, investors, client = world
    LedgerPosting.objects.filter(offering=offering).delete()
    ChainEvent.objects.all().delete()
    block_hash = f"0x{next(_block_hashes):064x}"
    balances: dict[str, int] = {}
    args = []
    for wallet, amount in mints:
        args.append({"from": ZERO, "to": wallet, "value": str(amount)})
        balances[wallet] = balances.get(wallet, 0) + amount
    for index, target, amount in moves:
        if not mints:
            break
        source = mints[index % len(mints)][0]
        amount = min(amount, balances[source])
        if amount == 0 or source == target:
            continue
        args.append({"from": source, "to": target, "value": str(amount)})
        balances[source] -= amount
        balances[target] = balances.get(target, 0) + amount
    ChainEvent.objects.bulk_create(
        ChainEvent(
            chain_id=31337,
            contract_address=token.address,
            block_number=0,
            block_hash=block_hash,
            transaction_hash=f"0x{log_index + 1:064x}",
            log_index=log_index,
            name="Transfer",
            args=a,
        )
        for log_index, a in enumerate(args)
    )
    ledger_sync(offering=offering)
    base = f"/api/v1/registry/tokens/{offering.public_id}"

    holdings = _walk(client, f"{base}/holdings/", page_size)
    assert len({h["id"] for h in holdings}) == len(holdings)  # no lot twice
    by_wallet: dict[str, int] = {}
    for h in holdings:
        assert h["quantity"] > 0
        by_wallet[h["wallet"]] = by_wallet.get(h["wallet"], 0) + h["quantity"]
    assert by_wallet == {w: n for w, n in balances.items() if n}

    holders = _walk(client, f"{base}/holders/", page_size)
    references = [h["reference"] for h in holders]
    assert len(set(references)) == len(references)  # no holder twice
    expected = {investors[w].reference: n for w, n in balances.items() if n and w in investors}
    assert {h["reference"]: h["quantity"] for h in holders} == expected
    assert sum(h["quantity"] for h in holders) + sum(n for w, n in balances.items() if w in UNKNOWN) == sum(
        balances.values()
    )
