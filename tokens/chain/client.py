"""The node, through web3.py, behind a small surface of plain Python values."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import RPCEndpoint

from tokens.chain.errors import UNKNOWN, rejection_kind, revert_data


class NodeUnavailable(Exception):
    """The node did not answer; try again later."""


class NodeRejected(Exception):
    """The node refused a transaction for a reason that is not a revert; `kind` says which (chain/errors.py)."""

    def __init__(self, message: str, kind: str = UNKNOWN) -> None:
        super().__init__(message)
        self.kind = kind


class Reverted(Exception):
    def __init__(self, data: str | None, message: str = "") -> None:
        super().__init__(message or "execution reverted")
        self.data = data


@dataclass(frozen=True)
class Receipt:
    status: int
    block_number: int
    block_hash: str
    gas_used: int
    contract_address: str | None
    effective_gas_price: int


_TRANSIENT = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError, TimeoutError)


def _hex(value: Any) -> str:
    return value.to_0x_hex() if hasattr(value, "to_0x_hex") else "0x" + bytes(value).hex()


class ChainClient:
    def __init__(self, rpc_url: str, *, timeout: float = 10.0) -> None:
        self.rpc_url = rpc_url
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except _TRANSIENT as exc:
            raise NodeUnavailable(f"{self.rpc_url}: {type(exc).__name__}") from exc

    def chain_id(self) -> int:
        return int(self._call(lambda: self.w3.eth.chain_id))

    def block_number(self) -> int:
        return int(self._call(lambda: self.w3.eth.block_number))

    def block(self, number: int | str) -> dict[str, Any] | None:
        try:
            block = self._call(self.w3.eth.get_block, number)
        except Exception as exc:  # web3 raises BlockNotFound for heights past the head
            if type(exc).__name__ == "BlockNotFound":
                return None
            raise
        return {
            "number": block["number"],
            "hash": _hex(block["hash"]),
            "parent_hash": _hex(block["parentHash"]),
            "base_fee": int(block.get("baseFeePerGas") or 0),
            "timestamp": int(block["timestamp"]),
        }

    def blocks(self, numbers: list[int]) -> dict[int, dict[str, Any] | None]:
        """Many blocks (as `block` gives them) in one JSON-RPC batch request: number → block, or None past the head."""
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        responses = self._batch([(RPCEndpoint("eth_getBlockByNumber"), [hex(n), False]) for n in wanted])
        found: dict[int, dict[str, Any] | None] = {}
        for number, response in zip(wanted, responses, strict=True):
            if response.get("error"):
                raise NodeRejected(str(response["error"].get("message") or "the node refused the call"))
            block = response.get("result")
            found[number] = (
                {
                    "number": int(block["number"], 16),
                    "hash": block["hash"],
                    "parent_hash": block["parentHash"],
                    "base_fee": int(block.get("baseFeePerGas") or "0x0", 16),
                    "timestamp": int(block["timestamp"], 16),
                }
                if block
                else None
            )
        return found

    def pending_nonce(self, address: str) -> int:
        return int(self._call(self.w3.eth.get_transaction_count, Web3.to_checksum_address(address), "pending"))

    def mined_nonce(self, address: str, block: int | str = "latest") -> int:
        return int(self._call(self.w3.eth.get_transaction_count, Web3.to_checksum_address(address), block))

    def code(self, address: str) -> bytes:
        return bytes(self._call(self.w3.eth.get_code, Web3.to_checksum_address(address)))

    def balance(self, address: str) -> int:
        return int(self._call(self.w3.eth.get_balance, Web3.to_checksum_address(address)))

    def fees(self) -> tuple[int, int]:
        """(max fee, priority fee) per gas for a transaction sent now (priced on the block being built)."""
        latest = self.block("pending") or self.block("latest")
        base = latest["base_fee"] if latest else 0
        priority = 1_000_000_000
        return 2 * base + priority, priority

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        try:
            return int(self._call(self.w3.eth.estimate_gas, tx))
        except (ContractCustomError, ContractLogicError) as exc:
            raise Reverted(revert_data(exc), str(exc)) from exc
        except Web3RPCError as exc:
            if "revert" in str(exc).lower():
                raise Reverted(revert_data(exc), str(exc)) from exc
            raise NodeRejected(str(exc)) from exc

    def call(self, tx: dict[str, Any], block: int | str = "latest") -> bytes:
        try:
            return bytes(self._call(self.w3.eth.call, tx, block))
        except (ContractCustomError, ContractLogicError) as exc:
            raise Reverted(revert_data(exc), str(exc)) from exc
        except Web3RPCError as exc:
            if "revert" in str(exc).lower():
                raise Reverted(revert_data(exc), str(exc)) from exc
            raise NodeRejected(str(exc)) from exc

    def call_many(self, txs: list[dict[str, Any]], block: int | str = "latest") -> list[bytes]:
        """`eth_call` of each of `txs` at one block, sent as one JSON-RPC batch request; results in order.

        Raises Reverted if any call reverts (with that call's revert data), NodeRejected if the node refuses
        the batch or a call for another reason."""
        if not txs:
            return []
        at = block if isinstance(block, str) else hex(block)
        responses = self._batch([(RPCEndpoint("eth_call"), [tx, at]) for tx in txs])
        results = []
        for response in responses:
            error = response.get("error")
            if error:
                message = str(error.get("message") or "")
                if "revert" in message.lower():
                    data = error.get("data")
                    raise Reverted(data if isinstance(data, str) else None, message)
                raise NodeRejected(message)
            results.append(bytes.fromhex(str(response["result"]).removeprefix("0x")))
        return results

    def send_raw(self, raw: bytes) -> str:
        """Broadcast signed bytes. Sending the same bytes again is harmless and not an error.

        "Nonce too low" is raised, not swallowed: it means success only if this transaction's
        own receipt exists, which the caller checks.
        """
        try:
            return _hex(self._call(self.w3.eth.send_raw_transaction, raw))
        except Web3RPCError as exc:
            message = str(exc)
            if "already known" in message.lower() or "already imported" in message.lower():
                return ""  # the node holds these very bytes
            raise NodeRejected(message, rejection_kind(message)) from exc

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The transaction's receipt once mined, else None.

        Read as the node's JSON, not through web3's formatters: a payout batch's receipt carries hundreds of
        logs, which web3 would turn into objects (a third of a second for 200 lines) only for us to drop them."""
        return _receipt_of(self._raw("eth_getTransactionReceipt", [tx_hash]))

    def receipts(self, tx_hashes: list[str]) -> dict[str, Receipt | None]:
        """The receipts of many transactions in one JSON-RPC batch request: hash → receipt, or None if not mined."""
        wanted = list(dict.fromkeys(tx_hashes))
        if not wanted:
            return {}
        responses = self._batch([(RPCEndpoint("eth_getTransactionReceipt"), [h]) for h in wanted])
        found: dict[str, Receipt | None] = {}
        for tx_hash, response in zip(wanted, responses, strict=True):
            if response.get("error"):
                raise NodeRejected(str(response["error"].get("message") or "the node refused the call"))
            found[tx_hash] = _receipt_of(response.get("result"))
        return found

    def _raw(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call, its result as the node sent it (hex strings); an error answer raises NodeRejected."""
        response = self._call(self.w3.provider.make_request, RPCEndpoint(method), params)
        if response.get("error"):
            raise NodeRejected(str(response["error"].get("message") or f"the node refused {method}"))
        return response.get("result")

    def _batch(self, requests_: list[tuple[RPCEndpoint, list[Any]]]) -> list[dict[str, Any]]:
        provider = self.w3.provider
        assert isinstance(provider, HTTPProvider)  # the one transport ChainClient makes (batch requests over HTTP)
        responses = self._call(provider.make_batch_request, requests_)
        if not isinstance(responses, list):  # the node answered the whole batch with one error
            error = dict(responses.get("error") or {})
            raise NodeRejected(str(error.get("message") or "the node refused the batch request"))
        if len(responses) != len(requests_):
            raise NodeRejected(f"the node answered {len(responses)} of {len(requests_)} calls of a batch request")
        return list(responses)

    def transaction_known(self, tx_hash: str) -> bool:
        try:
            return self._call(self.w3.eth.get_transaction, tx_hash) is not None
        except TransactionNotFound:
            return False

    def logs(
        self, addresses: list[str], from_block: int, to_block: int, topics: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {
            "address": [Web3.to_checksum_address(a) for a in addresses],
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
        }
        if topics:
            query["topics"] = [_topic_json(t) for t in topics]
        # The node's JSON as it is: web3's formatters would make objects of every field of every log (seconds for
        # the 10,000 logs of a large payout) that are turned back into these plain values here anyway.
        raw = self._raw("eth_getLogs", [query]) or []
        checksummed: dict[str, str] = {}
        return [
            {
                "address": checksummed.get(log["address"])
                or checksummed.setdefault(log["address"], Web3.to_checksum_address(log["address"])),
                "topics": [bytes.fromhex(t.removeprefix("0x")) for t in log["topics"]],
                "data": bytes.fromhex(log["data"].removeprefix("0x")),
                "block_number": int(log["blockNumber"], 16),
                "block_hash": log["blockHash"],
                "transaction_hash": log["transactionHash"],
                "log_index": int(log["logIndex"], 16),
            }
            for log in raw
            if not log.get("removed")
        ]

    def rpc(self, method: str, params: list[Any]) -> Any:
        return self._call(self.w3.provider.make_request, method, params)


def _receipt_of(r: dict[str, Any] | None) -> Receipt | None:
    if not r or r.get("blockNumber") is None:
        return None
    return Receipt(
        status=int(r["status"], 16),
        block_number=int(r["blockNumber"], 16),
        block_hash=r["blockHash"],
        gas_used=int(r["gasUsed"], 16),
        contract_address=Web3.to_checksum_address(r["contractAddress"]) if r.get("contractAddress") else None,
        effective_gas_price=int(r.get("effectiveGasPrice") or "0x0", 16),
    )


def _topic_json(topic: Any) -> Any:
    """A topic filter as JSON: a hex string, None for any, or a list of alternatives."""
    if topic is None or isinstance(topic, str):
        return topic
    if isinstance(topic, list | tuple):
        return [_topic_json(t) for t in topic]
    return "0x" + bytes(topic).hex()


@cache
def client_for(rpc_url: str) -> ChainClient:
    return ChainClient(rpc_url)
