"""Transfer tests on a real anvil: the registry's closed offering (Alice 200 units in wallet 0, with wallet 1 also
hers; Bob 300 in wallet 2; Carol none yet, wallets 3 and 4), its token's events posted to the register."""

from __future__ import annotations

import pytest

from compliance.exemptions import Exemption
from registry.tests.conftest import Closed, offering_closed
from transfers.tests.support import indexed


@pytest.fixture
def closed(cast, chain_settings) -> Closed:
    """Reg A+ Tier 2: not restricted, so nothing is locked up."""
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_A_TIER2)
    indexed(closed)
    return closed
