from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_media(tmp_path: Path, settings) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """Each test writes documents and signed agreements to its own private directory."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    yield settings.PRIVATE_MEDIA_ROOT
    shutil.rmtree(settings.PRIVATE_MEDIA_ROOT, ignore_errors=True)


@pytest.fixture
def chain_settings(anvil_node):  # type: ignore[no-untyped-def]
    """A real anvil, reverted to a snapshot after the test (as the chain pipeline's own tests do)."""
    from django.test import override_settings

    snapshot = anvil_node.rpc("evm_snapshot")
    with override_settings(CHAIN_RPC_URL=anvil_node.rpc_url, CHAIN_ID=31337, CHAIN_CONFIRMATIONS=1):
        yield anvil_node
    anvil_node.rpc("evm_setAutomine", [True])
    anvil_node.rpc("evm_revert", [snapshot])
