"""The local node runner never mistakes another process's node for the one it started."""

from __future__ import annotations

import os

import pytest

from tokens.chain.anvil import Anvil, AnvilError, serves_port

pytestmark = pytest.mark.chain


def test_a_port_given_that_another_node_serves_is_refused_with_its_number() -> None:
    with Anvil() as first, pytest.raises(AnvilError, match=f"port {first.port} is already served by another process"):
        Anvil(port=first.port).start()


def test_a_chosen_port_taken_by_another_node_is_replaced_and_the_new_node_is_its_own_chain() -> None:
    with Anvil() as first:
        first.rpc("evm_mine")
        second = Anvil()
        second.port = first.port  # as if another run's node had taken the free port in the meantime
        with second:
            assert second.port != first.port
            assert second.pid is not None and serves_port(second.pid, second.port) is True
            assert second.rpc("eth_blockNumber") == "0x0"  # not the first node's chain, which has a block
            assert first.rpc("eth_blockNumber") == "0x1"


def test_only_the_process_holding_the_listening_socket_serves_the_port() -> None:
    with Anvil() as node:
        assert node.pid is not None
        assert serves_port(node.pid, node.port) is True
        assert serves_port(os.getpid(), node.port) is False
