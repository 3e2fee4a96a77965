"""The chain pipeline against a real anvil: each test starts from a chain snapshot and an empty outbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokens.chain.anvil import Anvil
from tokens.chain.signer import signing_allowed
from tokens.tests.support import Chain, chain_build


@pytest.fixture(autouse=True)
def worker_signs() -> Iterator[None]:
    """These tests are the worker: they sign in-process, as a Celery worker process does."""
    with signing_allowed():
        yield


@pytest.fixture
def chain(chain_settings: Anvil, db: None) -> Chain:
    """A deployed registry and token, with two verified investors (wallets 0 and 1, 2)."""
    return chain_build(chain_settings.rpc_url)


@pytest.fixture
def committed_chain(chain_settings: Anvil, transactional_db: None) -> Chain:
    """Like `chain`, but committed, so worker processes see it."""
    return chain_build(chain_settings.rpc_url)
