"""The one-pass transfer path of a token without investor tracking (base rules only).

Transfers between settled accounts are completed in one pass; anything else (a rule that fails, a
lock-up or frozen amount on record, a checkpoint due, an uncached country) must reach the full
rule checks and revert with the same custom error and ERC-1404 code as a token with every rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from tokens.chain.testing import (
    ACCREDITED,
    CODES,
    COUNTRY,
    DAY,
    DE,
    FAR_FUTURE,
    FLAGS,
    FR,
    KYC,
    LOCKUP,
    US,
    US_PERSON,
    VERIFIED,
    YEAR,
    Env,
    deploy,
    investor_id,
    selector,
)

BASE_RULES = VERIFIED | COUNTRY | FLAGS | LOCKUP
ZERO = "0x0000000000000000000000000000000000000000"
# A settled transfer on the one-pass path stays well below this; the full path needs more.
ONE_PASS_GAS = 46_000


@pytest.fixture(scope="session")
def base_token(deployed: Env) -> Env:
    """A second token on the same registry: base rules, KYC required, US and DE allowed, no
    lock-up period yet; alice and bob hold 1000 each."""
    env = deployed
    token = deploy(
        env.w3, "SecurityToken", env.agent, "Tessera Base", "TSB", 0, env.registry.address, env.agent, env.agent
    )
    env.tx(token.functions.setRules(BASE_RULES))
    env.tx(token.functions.setInvestorFlags(KYC, 0))
    env.tx(token.functions.setCountriesAllowed([US, DE], True))
    env.tx(token.functions.batchMint([env.alice, env.bob], [1000, 1000]))
    return dataclasses.replace(env, token=token)


@pytest.fixture
def fast(base_token: Env, env: Env) -> Iterator[Env]:
    # `env` takes the snapshot that isolates the test; base_token is deployed before it.
    yield base_token


def assert_rejected(env: Env, sender: str, receiver: str, amount: int, error: str, code: str) -> None:
    assert env.code(sender, receiver, amount) == CODES[code]
    decoded = env.reverts(env.token.functions.transfer(receiver, amount), sender)
    assert decoded.name == error, decoded


def test_settled_transfer_is_one_pass_and_complete(fast: Env) -> None:
    assert fast.token.functions.investorTracking().call() is False
    assert fast.token.functions.transfer(fast.bob, 10).call({"from": fast.alice}) is True
    receipt = fast.tx(fast.token.functions.transfer(fast.bob, 10), fast.alice)
    assert receipt["gasUsed"] < ONE_PASS_GAS
    assert fast.balance(fast.alice) == 990 and fast.balance(fast.bob) == 1010
    (event,) = fast.events(receipt, fast.token, "Transfer")
    assert event["args"] == {"from": fast.alice, "to": fast.bob, "value": 10}
    assert fast.token.functions.totalSupply().call() == 2000


def test_transfer_from_and_batch_transfer(fast: Env) -> None:
    fast.tx(fast.token.functions.approve(fast.outsider, 50), fast.alice)
    assert fast.token.functions.transferFrom(fast.alice, fast.bob, 20).call({"from": fast.outsider}) is True
    receipt = fast.tx(fast.token.functions.transferFrom(fast.alice, fast.bob, 20), fast.outsider)
    assert receipt["gasUsed"] < ONE_PASS_GAS + 10_000
    assert fast.token.functions.allowance(fast.alice, fast.outsider).call() == 30
    assert fast.reverts(fast.token.functions.transferFrom(fast.alice, fast.bob, 31), fast.outsider).name == (
        "ERC20InsufficientAllowance"
    )
    receipt = fast.tx(fast.token.functions.batchTransfer([fast.bob, fast.bob, fast.bob], [1, 2, 3]), fast.alice)
    assert [e["args"]["value"] for e in fast.events(receipt, fast.token, "Transfer")] == [1, 2, 3]
    assert fast.balance(fast.alice) == 974 and fast.balance(fast.bob) == 1026
    # All or nothing: the last transfer fails, the first ones are undone.
    decoded = fast.reverts(fast.token.functions.batchTransfer([fast.bob, fast.frank], [1, 1]), fast.alice)
    assert decoded.name == "ReceiverNotVerified"


def test_self_transfer_and_zero_receiver(fast: Env) -> None:
    receipt = fast.tx(fast.token.functions.transfer(fast.alice, 5), fast.alice)
    assert fast.balance(fast.alice) == 1000
    assert len(fast.events(receipt, fast.token, "Transfer")) == 1
    assert fast.reverts(fast.token.functions.transfer(ZERO, 1), fast.alice).name == "ERC20InvalidReceiver"
    assert_rejected(fast, fast.alice, fast.bob, 1001, "ERC20InsufficientBalance", "INSUFFICIENT_BALANCE")


def test_pause_and_verification(fast: Env) -> None:
    fast.tx(fast.token.functions.pause())
    assert_rejected(fast, fast.alice, fast.bob, 1, "TokenPaused", "PAUSED")
    fast.tx(fast.token.functions.unpause())
    assert_rejected(fast, fast.alice, fast.frank, 1, "ReceiverNotVerified", "RECEIVER_NOT_VERIFIED")
    fast.tx(fast.registry.functions.removeWallet(fast.bob))
    assert_rejected(fast, fast.bob, fast.alice, 1, "SenderNotVerified", "SENDER_NOT_VERIFIED")
    assert_rejected(fast, fast.alice, fast.bob, 1, "ReceiverNotVerified", "RECEIVER_NOT_VERIFIED")
    fast.tx(fast.registry.functions.addWallet(fast.bob, investor_id("bob")))
    fast.tx(fast.token.functions.transfer(fast.alice, 1), fast.bob)
    # Verification expires with time, without any write to the token.
    fast.tx(fast.token.functions.mint(fast.erin, 10))
    fast.tx(fast.token.functions.transfer(fast.erin, 1), fast.alice)
    fast.advance(31 * DAY)
    assert_rejected(fast, fast.erin, fast.alice, 1, "SenderNotVerified", "SENDER_NOT_VERIFIED")
    assert_rejected(fast, fast.alice, fast.erin, 1, "ReceiverNotVerified", "RECEIVER_NOT_VERIFIED")


def test_country_cache_follows_the_list_and_the_investor(fast: Env) -> None:
    assert_rejected(fast, fast.alice, fast.dave, 1, "CountryNotAllowed", "COUNTRY_NOT_ALLOWED")
    fast.tx(fast.token.functions.transfer(fast.bob, 1), fast.alice)
    # Removing DE from the list applies to bob although his account cached DE as allowed.
    fast.tx(fast.token.functions.setCountriesAllowed([DE], False))
    assert_rejected(fast, fast.alice, fast.bob, 1, "CountryNotAllowed", "COUNTRY_NOT_ALLOWED")
    fast.tx(fast.token.functions.setCountriesAllowed([DE], True))
    fast.tx(fast.token.functions.transfer(fast.bob, 1), fast.alice)
    # bob's investor moves to FR: the cached country no longer matches the registry's.
    fast.tx(fast.registry.functions.updateInvestor(investor_id("bob"), FR, KYC | ACCREDITED, FAR_FUTURE, [fast.bob]))
    assert_rejected(fast, fast.alice, fast.bob, 1, "CountryNotAllowed", "COUNTRY_NOT_ALLOWED")
    fast.tx(fast.token.functions.setCountriesAllowed([FR], True))
    fast.tx(fast.token.functions.transfer(fast.bob, 1), fast.alice)
    fast.tx(fast.token.functions.transfer(fast.bob, 1), fast.alice)
    assert fast.balance(fast.bob) == 1004


def test_investor_flags(fast: Env) -> None:
    fast.tx(fast.token.functions.mint(fast.carol, 10))
    fast.tx(fast.token.functions.mint(fast.yuri, 10))
    fast.tx(fast.token.functions.transfer(fast.carol, 1), fast.alice)
    fast.tx(fast.token.functions.transfer(fast.yuri, 1), fast.alice)
    fast.tx(fast.token.functions.setInvestorFlags(KYC | ACCREDITED, US_PERSON))
    assert_rejected(fast, fast.alice, fast.carol, 1, "InvestorFlagsNotAllowed", "FLAGS_NOT_ALLOWED")
    assert_rejected(fast, fast.alice, fast.yuri, 1, "InvestorFlagsNotAllowed", "FLAGS_NOT_ALLOWED")
    fast.tx(fast.token.functions.transfer(fast.alice, 1), fast.carol)  # flags are checked on the receiver
    fast.tx(fast.token.functions.transfer(fast.bob, 1), fast.alice)


def test_frozen_wallets_and_amounts(fast: Env) -> None:
    fast.tx(fast.token.functions.setAddressFrozen(fast.bob, True))
    assert_rejected(fast, fast.alice, fast.bob, 1, "ReceiverFrozen", "RECEIVER_FROZEN")
    assert_rejected(fast, fast.bob, fast.alice, 1, "SenderFrozen", "SENDER_FROZEN")
    fast.tx(fast.token.functions.setAddressFrozen(fast.bob, False))
    fast.tx(fast.token.functions.freezePartialTokens(fast.alice, 900))
    assert_rejected(fast, fast.alice, fast.bob, 101, "AmountFrozen", "AMOUNT_FROZEN")
    fast.tx(fast.token.functions.transfer(fast.bob, 100), fast.alice)
    # A frozen amount on the receiver does not stop it from receiving.
    fast.tx(fast.token.functions.transfer(fast.alice, 100), fast.bob)
    fast.tx(fast.token.functions.unfreezePartialTokens(fast.alice, 900))
    fast.tx(fast.token.functions.transfer(fast.bob, 1000), fast.alice)
    assert fast.balance(fast.bob) == 2000


def test_lockup_on_record_until_released(fast: Env) -> None:
    fast.tx(fast.token.functions.setLockupPeriod(YEAR))
    fast.tx(fast.token.functions.mint(fast.bob, 100))  # bob's 1000 are free, the new 100 locked
    fast.tx(fast.token.functions.transfer(fast.alice, 1000), fast.bob)
    assert_rejected(fast, fast.bob, fast.alice, 1, "TokensLocked", "TOKENS_LOCKED")
    # Tokens arriving at a wallet with a lock-up stay free.
    fast.tx(fast.token.functions.transfer(fast.bob, 10), fast.alice)
    fast.tx(fast.token.functions.transfer(fast.alice, 10), fast.bob)
    assert_rejected(fast, fast.bob, fast.alice, 1, "TokensLocked", "TOKENS_LOCKED")
    fast.advance(YEAR + 1)
    fast.tx(fast.token.functions.transfer(fast.alice, 50), fast.bob)  # clears the elapsed lock-up
    assert fast.token.functions.lockup(fast.bob).call() == [0, 0]
    receipt = fast.tx(fast.token.functions.transfer(fast.alice, 50), fast.bob)
    assert receipt["gasUsed"] < ONE_PASS_GAS
    assert fast.balance(fast.bob) == 0 and fast.balance(fast.alice) == 2100


def test_checkpoints_are_written_before_the_one_pass_path_resumes(fast: Env) -> None:
    fast.tx(fast.token.functions.mint(fast.carol, 30))
    fast.tx(fast.token.functions.scheduleRecordDate(fast.now() + 10))
    fast.advance(60)
    fast.tx(fast.token.functions.transfer(fast.bob, 100), fast.alice)  # first write after the record date
    receipt = fast.tx(fast.token.functions.transfer(fast.bob, 100), fast.alice)
    assert receipt["gasUsed"] < ONE_PASS_GAS
    fast.tx(fast.token.functions.transfer(fast.carol, 5), fast.alice)  # only the receiver is due
    fast.tx(fast.token.functions.transfer(fast.alice, 10), fast.carol)
    assert fast.token.functions.balanceOfAt(fast.carol, 1).call() == 30
    fast.tx(fast.token.functions.scheduleRecordDate(fast.now() + 10))
    fast.advance(60)
    fast.tx(fast.token.functions.transfer(fast.alice, 50), fast.bob)
    assert [fast.token.functions.balanceOfAt(fast.alice, r).call() for r in (1, 2)] == [1000, 805]
    assert [fast.token.functions.balanceOfAt(fast.bob, r).call() for r in (1, 2)] == [1000, 1200]
    assert [fast.token.functions.balanceOfAt(fast.carol, r).call() for r in (1, 2)] == [30, 25]
    assert fast.token.functions.totalSupplyAt(2).call() == 2030


def test_without_registry_rules_the_registry_is_not_needed(fast: Env) -> None:
    fast.tx(fast.token.functions.setRules(0))
    fast.tx(fast.token.functions.transfer(fast.frank, 10), fast.alice)
    receipt = fast.tx(fast.token.functions.transfer(fast.frank, 10), fast.alice)
    assert receipt["gasUsed"] < ONE_PASS_GAS - 5_000
    assert fast.balance(fast.frank) == 20


def test_registry_pair_selector_and_words(fast: Env) -> None:
    # The token calls packedPair_anwI by its selector.
    assert selector("packedPair_anwI(address,address)") == "0000099b"
    wf, wt = fast.registry.functions.packedPair_anwI(fast.alice, fast.frank).call()
    assert wt == 0 and wf & ((1 << 160) - 1) == int(fast.alice, 16)
    assert (wf >> 160) & 0xFFFF == US and (wf >> 176) & 0xFFFF == KYC | ACCREDITED
