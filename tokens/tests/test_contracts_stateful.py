"""Random sequences of everything that can happen to a token, against anvil, checked after each step.

A hypothesis rule-based state machine drives transfers (of 0 too, by strangers through
transferFrom, between one investor's wallets), batch transfers, mints, batch mints, burns, forced
transfers, recoveries, wallet and amount freezes, registry changes (investors and wallets added
and removed, flags, country, expiry), limit and lock-up changes, country-list changes and time.
A Python model of the balances and of who holds tokens is kept beside the chain. After each step:

- the investor count and the non-accredited count are the real numbers of investors (persons,
  all wallets together) holding tokens, the non-accredited ones counted by their accreditation
  when they became holders;
- each investor's balance across its wallets is the model's, and no transfer or mint (the checked
  operations) took an investor over the per-investor cap or the register over its limits;
- the balances sum to the total supply;
- `detectTransferRestriction` predicted the outcome of each transfer and mint: code 0 exactly
  when it succeeded.

Each example starts from the same chain state (evm_snapshot / evm_revert). The normal suite runs a
bounded number of steps; `TOKEN_STATEFUL_STEPS=2000` runs at least that many and prints the count.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tokens.chain.abi import decode_result, encode_call
from tokens.chain.anvil import Anvil
from tokens.chain.testing import (
    ACCREDITED,
    ALL_RULES,
    DAY,
    DE,
    FAR_FUTURE,
    FR,
    KYC,
    US,
    US_PERSON,
    Env,
    address_for,
    deploy,
    investor_id,
)

STEPS = int(os.environ.get("TOKEN_STATEFUL_STEPS", "0"))
SHRINK = os.environ.get("TOKEN_STATEFUL_SHRINK") == "1"
# The normal suite: about this many steps, a few dozen examples.
CI_STEPS, STEPS_PER_EXAMPLE = 300, 30
GAS = 3_000_000
MAX_UINT = 2**256 - 1
ZERO = "0x0000000000000000000000000000000000000000"

# Investors: country, accredited, registered at the start, wallets registered at the start.
CAST = [
    (US, True, True, 2),
    (DE, True, True, 1),
    (US, False, True, 2),
    (DE, False, True, 1),
    (FR, True, True, 1),
    (US, False, False, 0),
]
WALLETS_PER_INVESTOR = 3
# Time moves in whole days and every deadline (lock-up release, verification expiry) sits half a
# day off, so a read at one block and a transaction in the next never straddle one.
LOCKUPS = [0, DAY + DAY // 2, 3 * DAY + DAY // 2]
AMOUNT_KINDS = ["zero", "one", "half", "all", "more"]


def wallet_address(investor: int, index: int) -> str:
    return address_for(f"stateful:{investor}:{index}")


def investor_key(investor: int) -> bytes:
    return investor_id(f"stateful:{investor}")


@dataclass
class World:
    rpc_url: str
    agent: str
    registry: str
    token: str
    stranger: str
    wallets: list[list[str]]
    initial_balances: dict[str, int]
    limits: tuple[int, int, int]
    counters: dict[str, int] = field(default_factory=lambda: {"steps": 0, "examples": 0, "checks": 0})
    outcomes: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        # One kept-alive connection: web3's provider costs more per call than anvil does.
        url = urlsplit(self.rpc_url)
        self.connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)

    def post(self, body: Any) -> Any:
        self.connection.request("POST", "/", json.dumps(body), {"Content-Type": "application/json"})
        return json.loads(self.connection.getresponse().read())

    def rpc(self, method: str, params: list[Any]) -> Any:
        response = self.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response["result"]

    def send(self, sender: str, to: str, data: bytes) -> bool:
        """Mined (automine) with a fixed gas limit, so a reverting transaction is mined too."""
        tx = {"from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(GAS)}
        tx_hash = self.rpc("eth_sendTransaction", [tx])
        for _ in range(3000):
            receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return int(receipt["status"], 16) == 1
            time.sleep(0.01)
        raise AssertionError(f"transaction {tx_hash} was not mined")

    def token_tx(self, sender: str, function: str, *args: Any) -> bool:
        ok = self.send(sender, self.token, encode_call("SecurityToken", function, list(args)))
        self.outcomes[f"{function} {'ok' if ok else 'reverted'}"] += 1
        return ok

    def registry_tx(self, function: str, *args: Any) -> bool:
        ok = self.send(self.agent, self.registry, encode_call("InvestorRegistry", function, list(args)))
        self.outcomes[f"{function} {'ok' if ok else 'reverted'}"] += 1
        return ok

    def calls(self, calls: list[tuple[str, str, str, list[Any]]]) -> list[tuple[Any, ...]]:
        """Many view calls in one JSON-RPC batch: (contract name, address, function, args)."""
        requests = [
            {
                "jsonrpc": "2.0",
                "id": n,
                "method": "eth_call",
                "params": [{"to": to, "data": "0x" + encode_call(name, fn, args).hex()}, "latest"],
            }
            for n, (name, to, fn, args) in enumerate(calls)
        ]
        responses = sorted(self.post(requests), key=lambda r: r["id"])
        results = []
        for response, (name, _, fn, _) in zip(responses, calls, strict=True):
            assert "error" not in response, response
            results.append(decode_result(name, fn, bytes.fromhex(response["result"][2:])))
        return results

    def view(self, name: str, to: str, fn: str, args: list[Any]) -> tuple[Any, ...]:
        return self.calls([(name, to, fn, args)])[0]


@pytest.fixture(scope="session")
def world(anvil: Anvil, deployed: Env) -> World:
    """Its own registry and a token with every rule; wallets are impersonated fresh addresses."""
    w3 = deployed.w3
    agent = deployed.agent
    registry = deploy(w3, "InvestorRegistry", agent, agent, agent)
    token = deploy(w3, "SecurityToken", agent, "Stateful", "STF", 0, registry.address, agent, agent)
    wallets = [[wallet_address(i, j) for j in range(WALLETS_PER_INVESTOR)] for i in range(len(CAST))]
    stranger = wallet_address(99, 0)
    limits = (4, 2, 1000)
    world = World(anvil.rpc_url, agent, registry.address, token.address, stranger, wallets, {}, limits)
    for address in [stranger, *(w for group in wallets for w in group)]:
        world.rpc("anvil_impersonateAccount", [address])
        world.rpc("anvil_setBalance", [address, hex(10**21)])
    for i, (country, accredited, registered, extra) in enumerate(CAST):
        if not registered:
            continue
        flags = KYC | (ACCREDITED if accredited else 0)
        assert world.registry_tx("registerInvestor", investor_key(i), wallets[i][0], country, flags, FAR_FUTURE)
        for j in range(1, extra):
            assert world.registry_tx("addWallet", wallets[i][j], investor_key(i))
    assert world.token_tx(agent, "setRules", ALL_RULES)
    assert world.token_tx(agent, "setInvestorFlags", KYC, US_PERSON)
    assert world.token_tx(agent, "setCountriesAllowed", [US, DE], True)
    assert world.token_tx(agent, "setLimits", *limits)
    assert world.token_tx(agent, "batchMint", [wallets[0][0], wallets[1][0], wallets[0][1]], [400, 500, 100])
    world.initial_balances = {wallets[0][0]: 400, wallets[1][0]: 500, wallets[0][1]: 100}
    return world


class TokenMachine(RuleBasedStateMachine):
    world: ClassVar[World]

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.snapshot = w.rpc("evm_snapshot", [])
        w.counters["examples"] += 1
        self.all_wallets = [wallet for group in w.wallets for wallet in group]
        self.balances = {wallet: w.initial_balances.get(wallet, 0) for wallet in self.all_wallets}
        self.balances[w.stranger] = 0
        # Investors counted as non-accredited (their accreditation when they became holders).
        self.counted_non_accredited: set[int] = set()
        self.max_investors, self.max_non_accredited, self.max_balance = w.limits
        self._registry_state: tuple[dict[str, tuple[Any, ...]], list[tuple[Any, ...]]] | None = None

    def teardown(self) -> None:
        assert self.world.rpc("evm_revert", [self.snapshot]) is True

    # ------------------------------------------------------------------ model helpers

    def registry_state(self) -> tuple[dict[str, tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Every pool wallet's and investor's registry record, read in one batch and kept until the
        next registry transaction (token operations never change the registry)."""
        if self._registry_state is None:
            w = self.world
            pool = [*self.all_wallets, w.stranger]
            results = w.calls(
                [("InvestorRegistry", w.registry, "walletInfo", [a]) for a in pool]
                + [("InvestorRegistry", w.registry, "investorInfo", [investor_key(i)]) for i in range(len(CAST))]
            )
            n = len(pool)
            self._registry_state = (dict(zip(pool, results[:n], strict=True)), results[n:])
        return self._registry_state

    def registry_tx(self, function: str, *args: Any) -> bool:
        self._registry_state = None
        return self.world.registry_tx(function, *args)

    def wallet_info(self, wallet: str) -> tuple[Any, ...]:
        return self.registry_state()[0][wallet]

    def bound(self, wallet: str) -> bool:
        return bool(self.wallet_info(wallet)[1] != ZERO)

    def active(self, wallet: str) -> bool:
        return bool(self.wallet_info(wallet)[5])

    def investor_of(self, wallet: str) -> int | None:
        for i, group in enumerate(self.world.wallets):
            if wallet in group and self.bound(wallet):
                return i
        return None

    def active_wallets(self, investor: int) -> list[str]:
        active = [wallet for wallet in self.world.wallets[investor] if self.active(wallet)]
        return sorted(active, key=lambda a: int(a, 16))

    def registered(self, investor: int) -> bool:
        return bool(self.registry_state()[1][investor][0] != ZERO)

    def total(self, investor: int) -> int:
        return sum(self.balances[wallet] for wallet in self.world.wallets[investor])

    def totals(self) -> list[int]:
        return [self.total(i) for i in range(len(CAST))]

    def apply(self, moves: list[tuple[str | None, str | None, int]]) -> None:
        """Apply successful moves (None = mint or burn side) and the register's entries and exits.

        Token operations never change the registry: accreditation read now is what they saw."""
        accredited = [bool(info[2] & ACCREDITED) for info in self.registry_state()[1]]
        for source, target, amount in moves:
            before = self.totals()
            if source is not None:
                self.balances[source] -= amount
                assert self.balances[source] >= 0
            if target is not None:
                self.balances[target] += amount
            after = self.totals()
            for i in range(len(CAST)):
                if before[i] == 0 and after[i] > 0 and not accredited[i]:
                    self.counted_non_accredited.add(i)
                if before[i] > 0 and after[i] == 0:
                    self.counted_non_accredited.discard(i)

    def amount(self, wallet: str, kind: str) -> int:
        balance = self.balances[wallet]
        return {"zero": 0, "one": 1, "half": balance // 2, "all": balance, "more": balance + 1}[kind]

    def detect(self, sender: str, receiver: str, amount: int) -> int:
        w = self.world
        (code,) = w.view("SecurityToken", w.token, "detectTransferRestriction", [sender, receiver, amount])
        return int(code)

    def step(self) -> None:
        self.world.counters["steps"] += 1

    def assert_checked_credit(self, before: list[int], sender_investor: int | None) -> None:
        """After a transfer or mint (rules checked): the caps held for every investor that gained."""
        after = self.totals()
        entered = [i for i in range(len(CAST)) if before[i] == 0 and after[i] > 0]
        for i in range(len(CAST)):
            if after[i] > before[i] and i != sender_investor:
                assert after[i] <= self.max_balance, f"investor {i} holds {after[i]} > cap {self.max_balance}"
        holders = sum(1 for t in after if t > 0)
        if entered:
            assert holders <= self.max_investors, f"{holders} investors > limit {self.max_investors}"
        if any(i in self.counted_non_accredited for i in entered):
            count = len(self.counted_non_accredited)
            assert count <= self.max_non_accredited, f"{count} non-accredited > limit {self.max_non_accredited}"

    # ------------------------------------------------------------------ transfers

    wallets_st = st.tuples(st.integers(0, len(CAST) - 1), st.integers(0, WALLETS_PER_INVESTOR - 1))

    holder_st = st.integers(0, 10**6)
    receiver_st = st.integers(0, 10**6)

    def pick(self, choice: tuple[int, int]) -> str:
        return self.world.wallets[choice[0]][choice[1]]

    def holder(self, choice: int) -> str:
        """Mostly a wallet holding tokens (any wallet when none does, or one time in five)."""
        holders = [wallet for wallet in self.all_wallets if self.balances[wallet] > 0]
        pool = holders * 4 + self.all_wallets if holders else self.all_wallets
        return pool[choice % len(pool)]

    def receiver(self, choice: int) -> str:
        """Mostly an active (registered) wallet, sometimes any wallet, sometimes the stranger."""
        active = [wallet for wallet in self.all_wallets if self.active(wallet)]
        pool = active * 3 + self.all_wallets + [self.world.stranger]
        return pool[choice % len(pool)]

    @rule(sender=holder_st, receiver=receiver_st, kind=st.sampled_from(AMOUNT_KINDS))
    def transfer(self, sender: int, receiver: int, kind: str) -> None:
        self.transfer_between(self.holder(sender), self.receiver(receiver), kind)

    def transfer_between(self, source: str, target: str, kind: str) -> None:
        self.step()
        amount = self.amount(source, kind)
        code = self.detect(source, target, amount)
        before = self.totals()
        ok = self.world.token_tx(source, "transfer", target, amount)
        assert ok == (code == 0), f"detect said {code}, transfer {'succeeded' if ok else 'failed'}"
        if ok:
            self.apply([(source, target, amount)])
            self.assert_checked_credit(before, self.investor_of(source))

    @rule(
        investor=st.integers(0, len(CAST) - 1),
        a=st.integers(0, 2),
        b=st.integers(0, 2),
        kind=st.sampled_from(AMOUNT_KINDS),
    )
    def transfer_between_own_wallets(self, investor: int, a: int, b: int, kind: str) -> None:
        wallets = self.active_wallets(investor)
        if len(wallets) < 2:
            wallets = self.world.wallets[investor]
        self.transfer_between(wallets[a % len(wallets)], wallets[b % len(wallets)], kind)

    @rule(owner=receiver_st, receiver=receiver_st, kind=st.sampled_from(AMOUNT_KINDS))
    def transfer_from_by_stranger(self, owner: int, receiver: int, kind: str) -> None:
        """Often out of a wallet holding nothing: 0 needs no allowance."""
        self.step()
        w = self.world
        source, target = self.receiver(owner), self.receiver(receiver)
        amount = self.amount(source, kind)
        (allowed,) = w.view("SecurityToken", w.token, "allowance", [source, w.stranger])
        code = self.detect(source, target, amount)
        before = self.totals()
        ok = w.token_tx(w.stranger, "transferFrom", source, target, amount)
        assert ok == (code == 0 and amount <= allowed), f"detect {code}, allowance {allowed}, amount {amount}: {ok}"
        if ok:
            self.apply([(source, target, amount)])
            self.assert_checked_credit(before, self.investor_of(source))

    @rule(owner=holder_st, value=st.sampled_from([1, 100, MAX_UINT]))
    def approve_stranger(self, owner: int, value: int) -> None:
        self.step()
        assert self.world.token_tx(self.holder(owner), "approve", self.world.stranger, value)

    @rule(
        sender=holder_st,
        receivers=st.lists(receiver_st, min_size=1, max_size=3),
        kinds=st.lists(st.sampled_from(["zero", "one", "half"]), min_size=3, max_size=3),
    )
    def batch_transfer(self, sender: int, receivers: list[int], kinds: list[str]) -> None:
        self.step()
        source = self.holder(sender)
        targets = [self.receiver(r) for r in receivers]
        amounts = [self.amount(source, kind) // len(targets) for kind in kinds[: len(targets)]]
        before = self.totals()
        if self.world.token_tx(source, "batchTransfer", targets, amounts):
            self.apply([(source, target, amount) for target, amount in zip(targets, amounts, strict=True)])
            self.assert_checked_credit(before, self.investor_of(source))

    # ------------------------------------------------------------------ agent operations

    @rule(receiver=receiver_st, amount=st.sampled_from([50, 1, 0, 300, 50, 1001]))
    def mint(self, receiver: int, amount: int) -> None:
        self.step()
        target = self.receiver(receiver)
        code = self.detect(ZERO, target, amount)
        before = self.totals()
        ok = self.world.token_tx(self.world.agent, "mint", target, amount)
        assert ok == (code == 0), f"detect said {code} for a mint, mint {'succeeded' if ok else 'failed'}"
        if ok:
            self.apply([(None, target, amount)])
            self.assert_checked_credit(before, None)

    @rule(
        receivers=st.lists(receiver_st, min_size=1, max_size=4),
        amounts=st.lists(st.sampled_from([0, 1, 40, 200]), min_size=4, max_size=4),
    )
    def batch_mint(self, receivers: list[int], amounts: list[int]) -> None:
        self.step()
        targets = [self.receiver(r) for r in receivers]
        amounts = amounts[: len(targets)]
        before = self.totals()
        if self.world.token_tx(self.world.agent, "batchMint", targets, amounts):
            self.apply([(None, target, amount) for target, amount in zip(targets, amounts, strict=True)])
            self.assert_checked_credit(before, None)

    @rule(holder=holder_st, kind=st.sampled_from(AMOUNT_KINDS))
    def burn(self, holder: int, kind: str) -> None:
        self.step()
        source = self.holder(holder)
        amount = self.amount(source, kind)
        ok = self.world.token_tx(self.world.agent, "burn", source, amount)
        assert ok == (amount <= self.balances[source])
        if ok:
            self.apply([(source, None, amount)])

    @rule(holders=st.lists(holder_st, min_size=1, max_size=3), kind=st.sampled_from(["zero", "half", "all"]))
    def batch_burn(self, holders: list[int], kind: str) -> None:
        self.step()
        sources = list(dict.fromkeys(self.holder(h) for h in holders))
        amounts = [self.amount(source, kind) for source in sources]
        assert self.world.token_tx(self.world.agent, "batchBurn", sources, amounts)
        self.apply([(source, None, amount) for source, amount in zip(sources, amounts, strict=True)])

    @rule(sender=holder_st, receiver=receiver_st, kind=st.sampled_from(AMOUNT_KINDS))
    def forced_transfer(self, sender: int, receiver: int, kind: str) -> None:
        self.step()
        source, target = self.holder(sender), self.receiver(receiver)
        amount = self.amount(source, kind)
        active = self.active(target)
        ok = self.world.token_tx(self.world.agent, "forcedTransfer", source, target, amount, "court order")
        assert ok == (active and amount <= self.balances[source]), (active, amount, self.balances[source], ok)
        if ok:
            self.apply([(source, target, amount)])

    @rule(choice=st.integers(0, 10**6), investor=st.integers(0, len(CAST) - 1), lost=st.integers(0, 2))
    def recovery(self, choice: int, investor: int, lost: int) -> None:
        """Mostly a lost wallet holding tokens and an empty active wallet of the same investor."""
        self.step()
        w = self.world
        pairs = [
            (a, b)
            for group in w.wallets
            for a in group
            for b in group
            if a != b and self.balances[a] > 0 and self.balances[b] == 0 and self.active(b)
        ]
        if pairs and choice % 4:
            source, target = pairs[choice % len(pairs)]
            investor = next(i for i, group in enumerate(w.wallets) if source in group)
        else:
            source, target = w.wallets[investor][lost], w.wallets[investor][(lost + 1) % WALLETS_PER_INVESTOR]
        amount = self.balances[source]
        if w.token_tx(w.agent, "recoveryAddress", source, target, investor_key(investor)):
            assert amount > 0 and source != target
            self.apply([(source, target, amount)])

    @rule(holder=holder_st, frozen=st.sampled_from([False, True]))
    def freeze_wallet(self, holder: int, frozen: bool) -> None:
        self.step()
        assert self.world.token_tx(self.world.agent, "setAddressFrozen", self.holder(holder), frozen)

    @rule(holder=holder_st, kind=st.sampled_from(["one", "half", "all"]), freeze=st.booleans())
    def freeze_amount(self, holder: int, kind: str, freeze: bool) -> None:
        self.step()
        w = self.world
        wallet = self.holder(holder)
        (frozen,) = w.view("SecurityToken", w.token, "getFrozenTokens", [wallet])
        if freeze:
            free = self.balances[wallet] - frozen
            amount = {"one": 1, "half": free // 2, "all": free}[kind]
            assert w.token_tx(w.agent, "freezePartialTokens", wallet, amount) == (amount <= free)
        else:
            amount = {"one": min(1, frozen), "half": frozen // 2, "all": frozen}[kind]
            assert w.token_tx(w.agent, "unfreezePartialTokens", wallet, amount)

    # ------------------------------------------------------------------ registry and configuration

    @rule(
        change=st.sampled_from(["add_wallet", "update", "add_wallet", "remove_wallet", "update", "remove_investor"]),
        investor=st.integers(0, len(CAST) - 1),
        index=st.integers(0, WALLETS_PER_INVESTOR - 1),
        country=st.sampled_from([US, DE, US, FR]),
        flags=st.sampled_from([KYC | ACCREDITED, KYC, KYC | ACCREDITED, KYC, ACCREDITED, KYC | US_PERSON]),
        expiry=st.sampled_from(["far", "far", "far", "soon", "past"]),
    )
    def registry_change(self, change: str, investor: int, index: int, country: int, flags: int, expiry: str) -> None:
        """Investors and wallets added and removed, flags, country and expiry changed."""
        self.step()
        key, wallet = investor_key(investor), self.world.wallets[investor][index]
        registered = self.registered(investor)
        if not registered:
            # The only way in: a new investor with its first wallet (which becomes its key).
            assert self.registry_tx("registerInvestor", key, self.world.wallets[investor][0], US, KYC, FAR_FUTURE)
        elif change == "add_wallet":
            expected = not self.active(wallet)
            assert self.registry_tx("addWallet", wallet, key) == expected
        elif change == "remove_wallet":
            expected = self.active(wallet)
            assert self.registry_tx("removeWallet", wallet) == expected
        elif change == "update":
            now = int(self.world.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
            until = {"far": FAR_FUTURE, "soon": now + DAY + DAY // 2, "past": now - DAY // 2}[expiry]
            wallets = self.active_wallets(investor)
            assert self.registry_tx("updateInvestor", key, country, flags, until, wallets)
        else:
            assert self.registry_tx("removeInvestor", key, self.active_wallets(investor))

    @rule(
        max_investors=st.integers(1, 6),
        max_non_accredited=st.integers(0, 3),
        max_balance=st.sampled_from([50, 300, 1000, 10**6]),
    )
    def set_limits(self, max_investors: int, max_non_accredited: int, max_balance: int) -> None:
        self.step()
        assert self.world.token_tx(self.world.agent, "setLimits", max_investors, max_non_accredited, max_balance)
        self.max_investors, self.max_non_accredited, self.max_balance = max_investors, max_non_accredited, max_balance

    @rule(period=st.sampled_from(LOCKUPS), country=st.sampled_from([DE, FR]), allowed=st.booleans())
    def configure(self, period: int, country: int, allowed: bool) -> None:
        """The lock-up period for later mints, and one country on or off the allow-list."""
        self.step()
        assert self.world.token_tx(self.world.agent, "setLockupPeriod", period)
        assert self.world.token_tx(self.world.agent, "setCountriesAllowed", [country], allowed)

    @rule(days=st.sampled_from([1, 2, 5]))
    def advance(self, days: int) -> None:
        self.step()
        self.world.rpc("evm_increaseTime", [days * DAY])
        self.world.rpc("evm_mine", [])

    # ------------------------------------------------------------------ invariants

    @invariant()
    def bookkeeping_matches_the_holders(self) -> None:
        w = self.world
        wallets = [*self.all_wallets, w.stranger]
        calls: list[tuple[str, str, str, list[Any]]] = [
            ("SecurityToken", w.token, "balanceOf", [wallet]) for wallet in wallets
        ]
        calls += [
            ("SecurityToken", w.token, "totalSupply", []),
            ("SecurityToken", w.token, "investorCount", []),
            ("SecurityToken", w.token, "nonAccreditedCount", []),
        ]
        calls += [("SecurityToken", w.token, "investorBalance", [group[0]]) for group in w.wallets]
        calls += [("SecurityToken", w.token, "getFrozenTokens", [wallet]) for wallet in wallets]
        results = [r[0] for r in w.calls(calls)]
        n, m = len(wallets), len(w.wallets)
        balances, (supply, investors, non_accredited) = results[:n], results[n : n + 3]
        investor_balances, frozen = results[n + 3 : n + 3 + m], results[n + 3 + m :]
        assert all(f <= b for f, b in zip(frozen, balances, strict=True)), (frozen, balances)
        assert dict(zip(wallets, balances, strict=True)) == self.balances
        assert sum(balances) == supply
        totals = self.totals()
        assert investors == sum(1 for t in totals if t > 0), (investors, totals)
        assert non_accredited == len(self.counted_non_accredited), (non_accredited, self.counted_non_accredited)
        for i, group in enumerate(w.wallets):
            if self.bound(group[0]):
                assert investor_balances[i] == totals[i], (i, investor_balances[i], totals[i])
        w.counters["checks"] += 1


def run_machine(world: World, steps: int) -> dict[str, int]:
    TokenMachine.world = world
    start = dict(world.counters)
    while world.counters["steps"] - start["steps"] < steps:
        remaining = steps - (world.counters["steps"] - start["steps"])
        run_state_machine_as_test(
            TokenMachine,
            settings=settings(
                max_examples=max(1, min(20, remaining // (STEPS_PER_EXAMPLE // 2))),
                stateful_step_count=STEPS_PER_EXAMPLE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                # Shrinking replays a failing sequence hundreds of times against the node; the
                # failing sequence is printed either way. TOKEN_STATEFUL_SHRINK=1 shrinks it.
                phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if SHRINK else []),
            ),
        )
    return {key: world.counters[key] - start[key] for key in world.counters}


@pytest.mark.chain
def test_random_sequences_keep_the_token_consistent(world: World) -> None:
    started = time.monotonic()
    done = run_machine(world, STEPS or CI_STEPS)
    print(
        f"\nstateful token: {done['steps']} steps in {done['examples']} examples, "
        f"{done['checks']} invariant checks, 0 violations, {time.monotonic() - started:.0f} s"
    )
    print("transactions:", ", ".join(f"{k} {v}" for k, v in sorted(world.outcomes.items())))
    assert done["steps"] >= (STEPS or CI_STEPS)
