"""Redemption tests on a real anvil: the registry's closed offering (Alice 200 units in wallet 0, Bob 300 in
wallet 2), its token's events indexed onto the ledger."""

from __future__ import annotations

import pytest

from compliance.exemptions import Exemption
from registry.services.ledger import ledger_sync
from registry.tests.conftest import Closed, offering_closed
from tokens.tests.support import chain_indexed, drain


@pytest.fixture
def closed(cast, chain_settings) -> Closed:
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_A_TIER2)
    drain()
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    return closed
