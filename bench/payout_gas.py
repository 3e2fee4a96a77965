"""Gas of paying a distribution on-chain, per holder, against a plain ERC-20 transfer.

    python -m bench.payout_gas [--json] [--quick]

Starts its own anvil, deploys a plain OpenZeppelin 5 ERC-20 as the stablecoin, a treasury that
holds it and `DistributionPayout`, and measures gasUsed from receipts. Holders already hold the
coin (the steady state of a register paid before), as in the plain transfer it is compared with:
one ERC-20 `transfer` from the treasury to an existing holder, which is what batched transfers
from the treasury cost per holder (an account cannot batch, and nothing guards exactly-once).

Beside the two keys later benchmarks read (`payout_gas_per_holder`,
`plain_transfer_gas_per_holder`) it prints the designs it was chosen against: one storage flag
per line instead of a bitmap, holders that never held the coin, and a batch sent twice.
`payout_gas(w3=..., holders=...)` returns the same figures for other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from web3 import Web3

from bench.gas import Bench
from tokens.chain.anvil import Anvil

MAX_UINT = 2**256 - 1
AMOUNT = 125_000_000  # 125.000000 of a 6-decimals stablecoin


def _distribution(label: str) -> bytes:
    return bytes(Web3.keccak(text=f"bench:distribution:{label}"))


def payout_gas(*, w3: Web3, holders: int) -> dict[str, Any]:
    """Per-holder gas of a batch of `holders` lines (rounded down) and of the designs it is compared with."""
    bench = Bench(w3, batch_size=holders)
    treasury = bench.admin
    coin = bench.deploy("PlainERC20")
    bench.send(coin.functions.mint(treasury, 10**30))
    bitmap = bench.deploy("DistributionPayout", coin.address, treasury, treasury, treasury)
    mapping = bench.deploy("PayoutByMapping", coin.address, treasury, treasury)
    for payout in (bitmap, mapping):
        bench.send(coin.functions.approve(payout.address, MAX_UINT))

    def existing_holders() -> list[str]:
        wallets = [bench.fresh() for _ in range(holders)]
        bench.send(coin.functions.batchMint(wallets, [1] * holders))
        return wallets

    def batch(payout: Any, label: str, wallets: list[str]) -> int:
        call = payout.functions.pay(_distribution(label), list(range(holders)), wallets, [AMOUNT] * holders)
        return bench.gas(call)

    # Warm the treasury's balance and allowance slots the way a live portal has them (non-zero).
    batch(bitmap, "warm-up", existing_holders())
    batch(mapping, "warm-up", existing_holders())

    payees = existing_holders()
    payout_total = batch(bitmap, "main", payees)
    duplicate_total = batch(bitmap, "main", payees)  # the same batch again: every line skipped
    mapping_total = batch(mapping, "main", existing_holders())
    new_holders_total = batch(bitmap, "new-holders", [bench.fresh() for _ in range(holders)])
    plain = bench.gas(coin.functions.transfer(existing_holders()[0], AMOUNT))
    return {
        "holders": holders,
        "payout_gas_per_holder": payout_total // holders,
        "plain_transfer_gas_per_holder": plain,
        "mapping_payout_gas_per_holder": mapping_total // holders,
        "payout_gas_per_new_holder": new_holders_total // holders,
        "duplicate_batch_gas_per_line": duplicate_total // holders,
        "payout_batch_gas": payout_total,
    }


ROWS = [
    ("payout_gas_per_holder", "DistributionPayout (bitmap), holders already hold the coin"),
    ("plain_transfer_gas_per_holder", "ERC-20 transfer from the treasury to an existing holder, one per holder"),
    ("mapping_payout_gas_per_holder", "the same contract with one storage flag per line"),
    ("payout_gas_per_new_holder", "DistributionPayout, holders who never held the coin"),
    ("duplicate_batch_gas_per_line", "the same batch sent again: every line skipped"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payout_gas", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument("--quick", action="store_true", help="batches of 20 lines instead of 200")
    args = parser.parse_args(argv)
    with Anvil(accounts=2, gas_limit=100_000_000) as node:
        figures = payout_gas(w3=Web3(Web3.HTTPProvider(node.rpc_url)), holders=20 if args.quick else 200)
    if args.json:
        json.dump(figures, sys.stdout)
        sys.stdout.write("\n")
        return 0
    plain = figures["plain_transfer_gas_per_holder"]
    print(f"Paying one distribution on-chain, {figures['holders']} lines a batch (gas per holder)")
    print(f"{'figure':<32} {'gas':>8} {'vs plain':>9}  note")
    for key, note in ROWS:
        value = figures[key]
        print(f"{key:<32} {value:>8,} {value / plain:>8.2f}x  {note}")
    print(f"{'payout_batch_gas':<32} {figures['payout_batch_gas']:>8,} {'':>9}  one batch transaction")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
