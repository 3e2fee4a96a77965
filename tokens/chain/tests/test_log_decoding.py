"""Event logs decode the same whichever way: words read straight for elementary types, eth_abi otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi import encode
from eth_abi.exceptions import NonEmptyPaddingBytes
from eth_utils import keccak, to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from tokens.chain import abi
from tokens.chain.abi import EventSpec, checksum_address, decode_log

ADDRESSES = st.binary(min_size=20, max_size=20)
SPEC = EventSpec(
    "Mixed",
    (("from", "address"), ("flag", "bool")),
    (("amount", "uint256"), ("small", "uint64"), ("delta", "int128"), ("tag", "bytes32"), ("short", "bytes4")),
)
TOPIC = keccak(text="Mixed(address,bool,uint256,uint64,int128,bytes32,bytes4)")


@pytest.fixture(autouse=True, scope="module")
def _mixed_known() -> Iterator[None]:
    """decode_log knows the `Mixed` event besides the contracts' own while these tests run."""
    specs = abi.event_specs()
    specs[TOPIC] = SPEC
    yield
    specs.pop(TOPIC, None)


def _general(topics: list[bytes], data: bytes) -> dict[str, Any]:
    """What eth_abi and _jsonable make of the log (the decoder every log went through before)."""
    args: dict[str, Any] = {}
    for (name, kind), topic in zip(SPEC.indexed, topics[1:], strict=True):
        args[name] = abi._jsonable(kind, abi.decode([kind], topic)[0])
    for (name, kind), value in zip(SPEC.data, abi.decode([k for _, k in SPEC.data], data), strict=True):
        args[name] = abi._jsonable(kind, value)
    return args


@given(address=ADDRESSES)
def test_an_address_is_checksummed_as_eth_utils_does(address: bytes) -> None:
    assert checksum_address(address) == to_checksum_address(address)


@given(
    sender=ADDRESSES,
    flag=st.booleans(),
    amount=st.integers(0, 2**256 - 1),
    small=st.integers(0, 2**64 - 1),
    delta=st.integers(-(2**127), 2**127 - 1),
    tag=st.binary(min_size=32, max_size=32),
    short=st.binary(min_size=4, max_size=4),
)
def test_a_log_of_elementary_values_decodes_as_eth_abi_decodes_it(
    sender: bytes, flag: bool, amount: int, small: int, delta: int, tag: bytes, short: bytes
) -> None:
    topics = [TOPIC, encode(["address"], [sender]), encode(["bool"], [flag])]
    data = encode(["uint256", "uint64", "int128", "bytes32", "bytes4"], [amount, small, delta, tag, short])
    decoded = decode_log(topics, data)
    assert decoded is not None and decoded == ("Mixed", _general(topics, data))


@given(padding=st.binary(min_size=12, max_size=12).filter(any))
def test_a_word_that_is_not_a_strict_encoding_is_left_to_eth_abi_which_refuses_it(padding: bytes) -> None:
    topics = [TOPIC, padding + bytes(20), encode(["bool"], [True])]
    data = encode(["uint256", "uint64", "int128", "bytes32", "bytes4"], [1, 2, -3, bytes(32), bytes(4)])
    with pytest.raises(NonEmptyPaddingBytes):
        _general(topics, data)
    with pytest.raises(NonEmptyPaddingBytes):
        decode_log(topics, data)
