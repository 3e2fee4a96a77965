"""What the portal reads from the node as plain JSON (receipts, blocks, logs) is what web3's formatted reads
say, and a watch pass asks for the receipts of all its open transactions in one batch request."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.conf import settings
from django.test import override_settings

from tokens.chain.abi import decode_log
from tokens.chain.client import ChainClient, client_for
from tokens.models import ChainTransaction, TxStatus
from tokens.outbox import outbox_flush, outbox_watch
from tokens.payout import PayoutLine, distribution_batch_pay, portal_payout
from tokens.tests.support import Chain, address_for, payout_ready

pytestmark = [pytest.mark.chain]


def _batches(n: int, lines: int) -> list[ChainTransaction]:
    payout_ready(treasury_units=10**12)
    register = [PayoutLine(index=i, payee=address_for(f"reader-{i}"), amount=1_000 + i) for i in range(n * lines)]
    with override_settings(PAYOUT_BATCH_MAX_LINES=lines):
        rows = distribution_batch_pay(key="reads:pay", distribution_ref="reads", lines=register)
    outbox_flush(chain_id=settings.CHAIN_ID, sender=rows[0].sender)  # sent and mined, not watched yet
    return [ChainTransaction.objects.get(pk=row.pk) for row in rows]


def test_receipts_blocks_and_logs_read_as_json_match_what_web3_reads(chain: Chain) -> None:
    batches = _batches(3, 4)
    client = client_for(chain.rpc_url)
    eth = client.w3.eth
    hashes = [str(tx.tx_hash) for tx in batches]
    unknown = "0x" + "ab" * 32
    many = client.receipts([*hashes, unknown])
    assert many[unknown] is None and client.receipt(unknown) is None
    for tx_hash in hashes:
        formatted = eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        receipt = client.receipt(tx_hash)
        assert receipt is not None and many[tx_hash] == receipt
        assert (receipt.status, receipt.block_number, receipt.gas_used) == (
            formatted["status"],
            formatted["blockNumber"],
            formatted["gasUsed"],
        )
        assert receipt.block_hash == formatted["blockHash"].to_0x_hex() and receipt.contract_address is None
    deploy = portal_payout()
    assert deploy is not None and deploy.deploy_transaction is not None
    created = client.receipt(str(deploy.deploy_transaction.tx_hash))
    assert created is not None and created.contract_address == deploy.address  # checksummed, as web3 gives it
    numbers = [r.block_number for r in many.values() if r is not None]
    head = client.block_number()
    blocks = client.blocks([*numbers, head + 5])
    assert blocks[head + 5] is None and all(blocks[n] == client.block(n) for n in numbers)
    logs = client.logs([deploy.address], min(numbers), max(numbers))
    formatted_logs: list[Any] = eth.get_logs(
        cast(Any, {"address": deploy.address, "fromBlock": min(numbers), "toBlock": max(numbers)})
    )
    assert len(logs) == len(formatted_logs) == 12
    for log, theirs in zip(logs, formatted_logs, strict=True):
        assert log["address"] == theirs["address"] and log["data"] == bytes(theirs["data"])
        assert log["topics"] == [bytes(t) for t in theirs["topics"]]
        assert (log["block_number"], log["log_index"]) == (theirs["blockNumber"], theirs["logIndex"])
        assert log["transaction_hash"] == theirs["transactionHash"].to_0x_hex()
        assert log["block_hash"] == theirs["blockHash"].to_0x_hex()
    name, args = decode_log(logs[0]["topics"], logs[0]["data"]) or ("", {})
    assert name == "LinePaid" and args["payee"] == address_for("reader-0") and args["amount"] == "1000"


def test_a_watch_pass_reads_the_receipts_of_its_open_transactions_in_one_batch_request(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = _batches(5, 2)
    asked: list[str] = []
    single = ChainClient.receipt

    def counted(self: ChainClient, tx_hash: str) -> Any:
        asked.append(tx_hash)
        return single(self, tx_hash)

    monkeypatch.setattr(ChainClient, "receipt", counted)
    outbox_watch(chain_id=settings.CHAIN_ID)
    assert asked == []  # none asked for one by one: all five came in the batch
    statuses = set(ChainTransaction.objects.filter(pk__in=[tx.pk for tx in batches]).values_list("status", flat=True))
    assert statuses == {TxStatus.CONFIRMED}
