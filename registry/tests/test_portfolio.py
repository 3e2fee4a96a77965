"""The investor's portfolio reads the holdings ledger: units from its lots once posted, and units the
outbox minted but the ledger has not posted yet, marked as being recorded."""

from __future__ import annotations

import pytest
from django.test import Client

from compliance.exemptions import Exemption
from registry.selectors.portfolio import portfolio
from registry.services.ledger import ledger_sync
from registry.tests.conftest import offering_closed
from tokens.tests.support import WALLETS, chain_indexed, contract_send

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_the_portfolio_shows_the_ledger_holdings_with_lock_up_and_mint_transaction(cast, chain_settings) -> None:
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_D_506C)
    # Minted and confirmed, not yet read by the indexer: shown at once, not yet on the register.
    holding = portfolio(investor=closed.alice)[0]
    assert holding.state == "issued" and holding.tx_hash and holding.lockup_release is not None
    assert holding.quantity == 200 and not holding.recorded
    client = Client()
    client.force_login(closed.alice.user)
    assert "being recorded" in client.get("/portfolio/").content.decode()

    chain_indexed(chain_settings.rpc_url)
    ledger_sync(offering=closed.offering)
    holding = portfolio(investor=closed.alice)[0]
    assert holding.recorded and holding.quantity == 200 and holding.amount_minor == 2_000_00
    assert holding.state == "issued" and holding.tx_hash and holding.lockup_release is not None
    assert holding.wallets == (WALLETS[0],)
    page = client.get("/portfolio/").content.decode()
    assert "200 HSCA" in page and "being recorded" not in page


def test_units_received_directly_between_wallets_show_in_the_portfolio(cast, chain_settings) -> None:
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_A_TIER2)
    chain_indexed(chain_settings.rpc_url)
    ledger_sync(offering=closed.offering)
    contract_send(chain_settings.rpc_url, WALLETS[2], closed.token.address, "SecurityToken", "transfer", WALLETS[1], 25)
    chain_indexed(chain_settings.rpc_url)
    ledger_sync(offering=closed.offering)
    holding = portfolio(investor=closed.alice)[0]
    assert holding.quantity == 225 and holding.wallets == (WALLETS[0], WALLETS[1])
    # Bought outside the portal: no cost basis, so only the subscription's cost counts as invested.
    assert holding.amount_minor == 2_000_00
    assert portfolio(investor=closed.bob)[0].quantity == 275
