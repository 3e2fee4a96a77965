"""One anvil per test session, contracts deployed once, each test isolated by evm_snapshot/evm_revert."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokens.chain.anvil import Anvil
from tokens.chain.testing import Env, contracts_deployed


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    with Anvil(accounts=16) as node:
        yield node


@pytest.fixture(scope="session")
def deployed(anvil: Anvil) -> Env:
    """The registry and token of `tokens.chain.testing.contracts_deployed`, with its cast of wallets."""
    return contracts_deployed(anvil.rpc_url)


@pytest.fixture
def env(deployed: Env) -> Iterator[Env]:
    snapshot = deployed.snapshot()
    try:
        yield deployed
    finally:
        deployed.revert(snapshot)
