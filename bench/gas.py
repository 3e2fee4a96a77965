"""Gas benchmark: Tessera's registry and security token against a plain OpenZeppelin 5 ERC-20.

    python -m bench.gas [--json] [--quick]

Starts its own anvil, deploys everything, measures gasUsed from transaction receipts and
prints a table (or, with --json, one JSON list on stdout). Figures are for the steady state:
accounts involved in "existing" transfers have already been written since the last record
date, and lock-ups from issuance have elapsed but are still recorded, so the rules run.

The `*_guarded` rows mint a third token, set up like the base one, through its
ReserveGuardedMinter (a fresh report on its ReserveFeed, 1 token = 100 feed units); the
`reserve_check_*` rows are what that costs over the same mints sent to the token directly.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from tokens.chain.anvil import Anvil
from tokens.chain.artifacts import load_artifact

FLAG_KYC = 1
FLAG_ACCREDITED = 2
RULE_VERIFIED, RULE_COUNTRY, RULE_FLAGS, RULE_LOCKUP = 1, 2, 4, 8
RULE_MAX_INVESTORS, RULE_MAX_NON_ACCREDITED, RULE_MAX_BALANCE = 16, 32, 64
BASE_RULES = RULE_VERIFIED | RULE_COUNTRY | RULE_FLAGS | RULE_LOCKUP
ALL_RULES = BASE_RULES | RULE_MAX_INVESTORS | RULE_MAX_NON_ACCREDITED | RULE_MAX_BALANCE
US, DE = 840, 276
YEAR = 365 * 24 * 3600

TARGETS = {
    "transfer_existing_base": ("ratio", 1.3),
    "transfer_new_base": ("ratio", 1.4),
    "transfer_existing_all": ("ratio", 1.6),
    "transfer_new_all": ("ratio", 1.7),
    "batch_mint_100_per_holder": ("ratio", 1.4),
    "batch_mint_100_per_holder_guarded": ("ratio", 1.5),
    "registry_add": ("gas", 60_000),
}


@dataclass
class Row:
    operation: str
    tessera_gas: int
    erc20_gas: int | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.erc20_gas is None else round(self.tessera_gas / self.erc20_gas, 3)

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "tessera_gas": self.tessera_gas,
            "erc20_gas": self.erc20_gas,
            "ratio": self.ratio,
        }


class Bench:
    def __init__(self, w3: Web3, batch_size: int) -> None:
        self.w3 = w3
        self.batch_size = batch_size
        self.admin = w3.eth.accounts[0]

    def deploy(self, name: str, *args: Any) -> Contract:
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.send(factory.constructor(*args))
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def send(self, call: Any, sender: str | None = None) -> Any:
        tx_hash = call.transact({"from": sender or self.admin})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction failed: {call}")
        return receipt

    def gas(self, call: Any, sender: str | None = None) -> int:
        return int(self.send(call, sender)["gasUsed"])

    def advance(self, seconds: int) -> None:
        self.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
        self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    @staticmethod
    def fresh() -> str:
        return Web3.to_checksum_address("0x" + secrets.token_hex(20))

    def register(self, wallets: list[str]) -> list[bytes]:
        ids = [secrets.token_bytes(32) for _ in wallets]
        expiry = self.now() + 10 * YEAR
        n = len(wallets)
        self.send(
            self.registry.functions.batchRegisterInvestors(
                ids, wallets, [US] * n, [FLAG_KYC | FLAG_ACCREDITED] * n, [expiry] * n
            )
        )
        return ids

    def setup(self) -> None:
        self.registry = self.deploy("InvestorRegistry", self.admin, self.admin)
        self.plain = self.deploy("PlainERC20")
        self.tokens = {}
        for label, rules in (("base", BASE_RULES), ("all", ALL_RULES), ("guarded", BASE_RULES)):
            token = self.deploy(
                "SecurityToken", f"Tessera {label}", "TSR", 0, self.registry.address, self.admin, self.admin
            )
            self.send(token.functions.setRules(rules))
            # Rule 506(c): buyers must be verified accredited investors.
            self.send(token.functions.setInvestorFlags(FLAG_KYC | FLAG_ACCREDITED, 0))
            self.send(token.functions.setCountriesAllowed([US, DE], True))
            # Rule 144(d)(1)(ii): one year for a non-reporting issuer.
            self.send(token.functions.setLockupPeriod(YEAR))
            if rules & RULE_MAX_INVESTORS:
                self.send(token.functions.setLimits(2000, 500, 10**15))
            self.tokens[label] = token
        guarded = self.tokens["guarded"]
        self.feed = self.deploy("ReserveFeed", 2, "Tessera guarded reserves (USD)", self.admin, self.admin)
        self.minter = self.deploy(
            "ReserveGuardedMinter", guarded.address, self.feed.address, 100, 1, 30 * 24 * 3600, self.admin, self.admin
        )
        # The minter role, as the portal grants it; the admin keeps its own so the direct mints compare.
        self.send(guarded.functions.grantRole(guarded.functions.MINTER_ROLE().call(), self.minter.address))
        self.send(self.feed.functions.publish(10**30, self.now()))
        accounts: list[str] = list(self.w3.eth.accounts)
        self.senders = accounts[1:3]
        self.holders = accounts[3:5]
        self.register(self.senders + self.holders)

    def run(self) -> list[Row]:
        self.setup()
        base, every, plain = self.tokens["base"], self.tokens["all"], self.plain
        rows: list[Row] = []

        # Issuance: a registered investor's first tokens, then more to the same wallet.
        receiver = self.fresh()
        self.register([receiver])
        plain_receiver = self.fresh()
        rows.append(
            Row(
                "mint_new",
                self.gas(base.functions.mint(receiver, 100)),
                self.gas(plain.functions.mint(plain_receiver, 100)),
                "base rules, 1-year lock-up",
            )
        )
        rows.append(
            Row(
                "mint_existing",
                self.gas(base.functions.mint(receiver, 100)),
                self.gas(plain.functions.mint(plain_receiver, 100)),
                "base rules, lock-up extended",
            )
        )

        # The same two mints on the guarded token, through its minter.
        minter = self.minter
        guarded_receiver = self.fresh()
        self.register([guarded_receiver])
        guarded_new = self.gas(minter.functions.mint(guarded_receiver, 100))
        guarded_existing = self.gas(minter.functions.mint(guarded_receiver, 100))
        rows.append(Row("mint_new_guarded", guarded_new, rows[0].erc20_gas, "through the reserve-guarded minter"))
        rows.append(
            Row("mint_existing_guarded", guarded_existing, rows[1].erc20_gas, "through the reserve-guarded minter")
        )
        rows.append(
            Row("reserve_check_per_mint", guarded_new - rows[0].tessera_gas, None, "minter over a direct mint_new")
        )

        n = self.batch_size
        batch = [self.fresh() for _ in range(n)]
        batch_ids = self.register(batch)
        plain_batch = [self.fresh() for _ in range(n)]
        direct_batch = self.gas(base.functions.batchMint(batch, [100] * n))
        tessera = direct_batch // n
        erc20 = self.gas(plain.functions.batchMint(plain_batch, [100] * n)) // n
        rows.append(Row("batch_mint_100_per_holder", tessera, erc20, f"{n} new holders, base rules, per holder"))
        guarded_batch = [self.fresh() for _ in range(n)]
        self.register(guarded_batch)
        through_minter = self.gas(minter.functions.batchMint(guarded_batch, [100] * n))
        rows.append(
            Row("batch_mint_100_per_holder_guarded", through_minter // n, erc20, f"{n} new holders, through the minter")
        )
        rows.append(
            Row(
                "reserve_check_per_holder_in_batch",
                (through_minter - direct_batch) // n,
                None,
                f"minter over a direct batch of {n}, per holder (one check per batch)",
            )
        )

        # Holders receive issued tokens; the lock-up then elapses and a record date passes.
        for token in (base, every, plain):
            for account in self.senders + self.holders:
                self.send(token.functions.mint(account, 10**6))
        self.advance(YEAR + 1)
        for token in (base, every):
            self.send(token.functions.scheduleRecordDate(self.now() + 10))
        self.advance(60)
        # First writes after the record date store the checkpoints; what follows is steady state.
        for token in (base, every, plain):
            for sender, holder in zip(self.senders, self.holders, strict=True):
                self.send(token.functions.transfer(holder, 1), sender)

        sender, holder = self.senders[0], self.holders[0]
        erc20_existing = self.gas(plain.functions.transfer(holder, 10), sender)
        erc20_new = self.gas(plain.functions.transfer(self.fresh(), 10), sender)
        for label, token in (("base", base), ("all", every)):
            existing = self.gas(token.functions.transfer(holder, 10), sender)
            new_wallet = self.fresh()
            self.register([new_wallet])
            new = self.gas(token.functions.transfer(new_wallet, 10), sender)
            rows.append(Row(f"transfer_existing_{label}", existing, erc20_existing, f"{label} rules"))
            rows.append(Row(f"transfer_new_{label}", new, erc20_new, f"{label} rules, receiver is a new investor"))

        forced = self.gas(base.functions.forcedTransfer(sender, holder, 10, "court order 2024-117"))
        rows.append(Row("forced_transfer", forced, None, "agent override, reason in event"))

        # A second wallet for an existing investor, then one new wallet for each of n investors.
        registry_add = self.gas(self.registry.functions.addWallet(self.fresh(), batch_ids[0]))
        rows.append(Row("registry_add", registry_add, None, "add a wallet to an investor"))
        wallets = [self.fresh() for _ in range(n)]
        per_wallet = self.gas(self.registry.functions.batchAddWallets(wallets, batch_ids)) // n
        rows.append(Row("registry_batch_100_per_wallet", per_wallet, None, f"{n} wallets of {n} investors, per wallet"))

        order = [
            "mint_new",
            "mint_existing",
            "mint_new_guarded",
            "mint_existing_guarded",
            "reserve_check_per_mint",
            "batch_mint_100_per_holder",
            "batch_mint_100_per_holder_guarded",
            "reserve_check_per_holder_in_batch",
            "transfer_new_base",
            "transfer_existing_base",
            "transfer_new_all",
            "transfer_existing_all",
            "forced_transfer",
            "registry_add",
            "registry_batch_100_per_wallet",
        ]
        rows.sort(key=lambda r: order.index(r.operation))
        return rows


def target_status(row: Row) -> str:
    target = TARGETS.get(row.operation)
    if target is None:
        return ""
    kind, limit = target
    value = row.ratio if kind == "ratio" else row.tessera_gas
    met = value is not None and value <= limit
    bound = f"<= {limit}x" if kind == "ratio" else f"<= {limit:,}"
    return f"{bound} {'met' if met else 'MISSED'}"


def print_table(rows: list[Row]) -> None:
    header = f"{'operation':<30} {'tessera_gas':>12} {'erc20_gas':>10} {'ratio':>7}  {'target':<16} note"
    print(header)
    print("-" * len(header))
    for row in rows:
        erc20 = f"{row.erc20_gas:,}" if row.erc20_gas is not None else "-"
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        print(f"{row.operation:<30} {row.tessera_gas:>12,} {erc20:>10} {ratio:>7}  {target_status(row):<16} {row.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gas", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON list on stdout")
    parser.add_argument("--quick", action="store_true", help="batches of 10 instead of 100")
    args = parser.parse_args(argv)
    with Anvil(accounts=10, gas_limit=100_000_000) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        rows = Bench(w3, batch_size=10 if args.quick else 100).run()
    if args.json:
        json.dump([row.as_json() for row in rows], sys.stdout)
        sys.stdout.write("\n")
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
