"""Every transfer rule: the allowed case, the rejection (custom error + ERC-1404 code), the agent override."""

from __future__ import annotations

from tokens.chain.testing import (
    ACCREDITED,
    CODES,
    DAY,
    FAR_FUTURE,
    FR,
    KYC,
    US_PERSON,
    YEAR,
    Env,
    deploy,
    investor_id,
)


def assert_rejected(env: Env, sender: str, receiver: str, amount: int, error: str, code: str) -> None:
    assert env.code(sender, receiver, amount) == CODES[code]
    decoded = env.reverts(env.token.functions.transfer(receiver, amount), sender)
    assert decoded.name == error, decoded
    message = env.token.functions.messageForTransferRestriction(CODES[code]).call()
    assert message and message != "No restriction"


def test_plain_transfer_between_verified_investors(env: Env) -> None:
    assert env.code(env.alice, env.bob, 10) == CODES["SUCCESS"]
    receipt = env.tx(env.token.functions.transfer(env.bob, 10), env.alice)
    assert env.balance(env.alice) == 990 and env.balance(env.bob) == 1010
    (event,) = env.events(receipt, env.token, "Transfer")
    assert event["args"]["value"] == 10


# ------------------------------------------------------------------ verified and unexpired


def test_unregistered_receiver_is_rejected_and_force_needs_a_registered_wallet(env: Env) -> None:
    assert_rejected(env, env.alice, env.frank, 1, "ReceiverNotVerified", "RECEIVER_NOT_VERIFIED")
    decoded = env.reverts(env.token.functions.forcedTransfer(env.alice, env.frank, 1, "error correction"))
    assert decoded.name == "ReceiverNotRegistered"


def test_expired_sender_is_rejected_until_agent_forces_the_transfer(env: Env) -> None:
    env.tx(env.token.functions.mint(env.erin, 50))
    env.tx(env.token.functions.transfer(env.bob, 5), env.erin)
    env.advance(31 * DAY)  # erin's verification expired
    assert env.registry.functions.isVerified(env.erin).call() is False
    assert_rejected(env, env.erin, env.bob, 5, "SenderNotVerified", "SENDER_NOT_VERIFIED")
    receipt = env.tx(env.token.functions.forcedTransfer(env.erin, env.bob, 45, "estate settlement"))
    (forced,) = env.events(receipt, env.token, "ForcedTransfer")
    assert forced["args"]["reason"] == "estate settlement" and forced["args"]["agent"] == env.agent
    assert env.balance(env.erin) == 0


def test_expired_receiver_is_rejected(env: Env) -> None:
    env.advance(31 * DAY)
    assert_rejected(env, env.alice, env.erin, 1, "ReceiverNotVerified", "RECEIVER_NOT_VERIFIED")
    # Renewed verification (re-KYC) lifts the restriction.
    env.tx(env.registry.functions.updateInvestor(investor_id("erin"), 840, KYC | ACCREDITED, FAR_FUTURE, [env.erin]))
    env.tx(env.token.functions.transfer(env.erin, 1), env.alice)


def test_removed_wallet_is_unverified(env: Env) -> None:
    env.tx(env.registry.functions.removeWallet(env.bob))
    assert_rejected(env, env.alice, env.bob, 1, "ReceiverNotVerified", "RECEIVER_NOT_VERIFIED")
    assert_rejected(env, env.bob, env.alice, 1, "SenderNotVerified", "SENDER_NOT_VERIFIED")


# ------------------------------------------------------------------ country allow-list


def test_receiver_country_must_be_allowed(env: Env) -> None:
    assert_rejected(env, env.alice, env.dave, 1, "CountryNotAllowed", "COUNTRY_NOT_ALLOWED")
    assert env.reverts(env.token.functions.transfer(env.dave, 1), env.alice).args == (env.dave, FR)
    env.tx(env.token.functions.forcedTransfer(env.alice, env.dave, 1, "transfer by operation of law"))
    env.tx(env.token.functions.setCountriesAllowed([FR], True))
    env.tx(env.token.functions.transfer(env.dave, 1), env.alice)
    assert env.balance(env.dave) == 2


def test_removing_a_country_applies_to_existing_holders(env: Env) -> None:
    env.tx(env.token.functions.transfer(env.bob, 1), env.alice)  # bob (DE) already checked once
    env.tx(env.token.functions.setCountriesAllowed([276], False))
    assert_rejected(env, env.alice, env.bob, 1, "CountryNotAllowed", "COUNTRY_NOT_ALLOWED")


def test_investor_moving_country_is_checked_again(env: Env) -> None:
    env.tx(env.token.functions.transfer(env.bob, 1), env.alice)
    env.tx(env.registry.functions.updateInvestor(investor_id("bob"), FR, KYC | ACCREDITED, FAR_FUTURE, [env.bob]))
    assert_rejected(env, env.alice, env.bob, 1, "CountryNotAllowed", "COUNTRY_NOT_ALLOWED")


# ------------------------------------------------------------------ required and forbidden flags


def test_506c_requires_accredited_receiver(env: Env) -> None:
    env.tx(env.token.functions.setInvestorFlags(KYC | ACCREDITED, 0))
    env.tx(env.token.functions.transfer(env.bob, 1), env.alice)
    assert_rejected(env, env.alice, env.carol, 1, "InvestorFlagsNotAllowed", "FLAGS_NOT_ALLOWED")
    env.tx(env.token.functions.forcedTransfer(env.alice, env.carol, 1, "gift to family member"))
    assert env.balance(env.carol) == 1


def test_reg_s_forbids_us_persons(env: Env) -> None:
    env.tx(env.token.functions.setInvestorFlags(KYC, US_PERSON))
    assert_rejected(env, env.alice, env.yuri, 1, "InvestorFlagsNotAllowed", "FLAGS_NOT_ALLOWED")
    env.tx(env.token.functions.transfer(env.bob, 1), env.alice)


def test_mint_applies_the_receiver_rules(env: Env) -> None:
    env.tx(env.token.functions.setInvestorFlags(KYC | ACCREDITED, 0))
    assert env.code("0x" + "00" * 20, env.carol, 1) == CODES["FLAGS_NOT_ALLOWED"]
    assert env.reverts(env.token.functions.mint(env.carol, 1)).name == "InvestorFlagsNotAllowed"
    assert env.reverts(env.token.functions.mint(env.frank, 1)).name == "ReceiverNotVerified"
    assert env.reverts(env.token.functions.mint(env.dave, 1)).name == "CountryNotAllowed"


# ------------------------------------------------------------------ lock-up


def test_minted_tokens_are_locked_until_release(env: Env) -> None:
    # Reg CF 227.501: one year from issuance.
    env.tx(env.token.functions.setLockupPeriod(YEAR))
    env.tx(env.token.functions.mint(env.carol, 100))
    locked, release = env.token.functions.lockup(env.carol).call()
    assert locked == 100 and release >= env.now() + YEAR - 5
    assert_rejected(env, env.carol, env.alice, 1, "TokensLocked", "TOKENS_LOCKED")
    env.advance(YEAR + 1)
    assert env.token.functions.lockup(env.carol).call() == [0, 0]
    env.tx(env.token.functions.transfer(env.alice, 100), env.carol)


def test_lockup_covers_only_issued_tokens(env: Env) -> None:
    env.tx(env.token.functions.setLockupPeriod(YEAR))
    env.tx(env.token.functions.mint(env.bob, 100))  # bob already holds 1000 free tokens
    env.tx(env.token.functions.transfer(env.alice, 1000), env.bob)
    assert_rejected(env, env.bob, env.alice, 1, "TokensLocked", "TOKENS_LOCKED")
    # Tokens bought on the market are free even while issued ones are locked.
    env.tx(env.token.functions.mint(env.carol, 100))
    env.tx(env.token.functions.transfer(env.carol, 30), env.alice)
    env.tx(env.token.functions.transfer(env.alice, 30), env.carol)
    assert_rejected(env, env.carol, env.alice, 1, "TokensLocked", "TOKENS_LOCKED")


def test_agent_can_move_locked_tokens(env: Env) -> None:
    env.tx(env.token.functions.setLockupPeriod(YEAR))
    env.tx(env.token.functions.mint(env.carol, 100))
    env.tx(env.token.functions.forcedTransfer(env.carol, env.alice, 40, "transfer to the issuer"))
    assert env.token.functions.lockup(env.carol).call()[0] == 60
    assert_rejected(env, env.carol, env.alice, 1, "TokensLocked", "TOKENS_LOCKED")


def test_lockup_rule_off_does_not_lock(env: Env) -> None:
    env.tx(env.token.functions.setLockupPeriod(YEAR))
    env.tx(env.token.functions.setRules(127 & ~8))
    env.tx(env.token.functions.mint(env.carol, 100))
    env.tx(env.token.functions.transfer(env.alice, 100), env.carol)


# ------------------------------------------------------------------ investor counts (persons, not wallets)


def test_max_investors_counts_persons_not_wallets(env: Env) -> None:
    assert env.token.functions.investorCount().call() == 2
    env.tx(env.token.functions.setLimits(2, 1000, 10**12))
    assert_rejected(env, env.alice, env.carol, 1, "MaxInvestorsReached", "MAX_INVESTORS")
    # alice moving tokens to her own second wallet adds no investor.
    env.tx(env.token.functions.transfer(env.alice2, 400), env.alice)
    env.tx(env.token.functions.transfer(env.alice2, 600), env.alice)
    env.tx(env.token.functions.transfer(env.alice, 10), env.alice2)
    assert env.token.functions.investorCount().call() == 2
    assert env.token.functions.investorBalance(env.alice).call() == 1000


def test_seller_leaving_frees_a_place_for_the_buyer(env: Env) -> None:
    env.tx(env.token.functions.setLimits(2, 1000, 10**12))
    env.tx(env.token.functions.transfer(env.carol, 1000), env.bob)
    assert env.token.functions.investorCount().call() == 2
    assert env.balance(env.bob) == 0


def test_agent_can_exceed_max_investors(env: Env) -> None:
    env.tx(env.token.functions.setLimits(2, 1000, 10**12))
    env.tx(env.token.functions.forcedTransfer(env.alice, env.carol, 1, "court order"))
    assert env.token.functions.investorCount().call() == 3


def test_max_non_accredited_investors(env: Env) -> None:
    env.tx(env.token.functions.setLimits(1000, 0, 10**12))
    assert_rejected(env, env.alice, env.carol, 1, "MaxNonAccreditedReached", "MAX_NON_ACCREDITED")
    env.tx(env.token.functions.transfer(env.yuri, 1), env.alice)  # accredited
    env.tx(env.token.functions.forcedTransfer(env.alice, env.carol, 1, "inheritance"))
    assert env.token.functions.nonAccreditedCount().call() == 1
    # carol leaving the register frees her place.
    env.tx(env.token.functions.burn(env.carol, 1))
    assert env.token.functions.nonAccreditedCount().call() == 0
    assert env.token.functions.investorCount().call() == 3


def test_max_balance_is_per_investor_across_wallets(env: Env) -> None:
    env.tx(env.token.functions.setLimits(1000, 1000, 1500))
    env.tx(env.token.functions.transfer(env.alice2, 300), env.alice)
    env.tx(env.token.functions.transfer(env.alice, 500), env.bob)  # alice now 1500 in two wallets
    assert_rejected(env, env.bob, env.alice2, 1, "MaxBalanceExceeded", "MAX_BALANCE")
    assert env.reverts(env.token.functions.transfer(env.alice2, 1), env.bob).args[1:] == (1500, 1500)
    env.tx(env.token.functions.forcedTransfer(env.bob, env.alice2, 1, "corporate action"))
    assert env.token.functions.investorBalance(env.alice2).call() == 1501


def test_tracked_rules_need_empty_supply(env: Env) -> None:
    token = deploy(env.w3, "SecurityToken", env.agent, "Later", "LTR", 0, env.registry.address, env.agent, env.agent)
    env.tx(token.functions.setRules(1))
    env.tx(token.functions.mint(env.alice, 1))
    assert env.reverts(token.functions.setRules(1 | 16)).name == "TrackingNeedsEmptySupply"


# ------------------------------------------------------------------ freezes and pause


def test_frozen_wallet_cannot_send_or_receive(env: Env) -> None:
    receipt = env.tx(env.token.functions.setAddressFrozen(env.bob, True))
    assert env.events(receipt, env.token, "AddressFrozen")[0]["args"]["isFrozen"] is True
    assert env.token.functions.isFrozen(env.bob).call() is True
    assert_rejected(env, env.alice, env.bob, 1, "ReceiverFrozen", "RECEIVER_FROZEN")
    assert_rejected(env, env.bob, env.alice, 1, "SenderFrozen", "SENDER_FROZEN")
    env.tx(env.token.functions.forcedTransfer(env.bob, env.alice, 100, "regulator order"))
    env.tx(env.token.functions.setAddressFrozen(env.bob, False))
    env.tx(env.token.functions.transfer(env.alice, 1), env.bob)


def test_frozen_amount_cannot_be_sent(env: Env) -> None:
    env.tx(env.token.functions.freezePartialTokens(env.alice, 900))
    assert env.token.functions.getFrozenTokens(env.alice).call() == 900
    assert_rejected(env, env.alice, env.bob, 101, "AmountFrozen", "AMOUNT_FROZEN")
    env.tx(env.token.functions.transfer(env.bob, 100), env.alice)
    assert env.reverts(env.token.functions.freezePartialTokens(env.alice, 1)).name == "FreezeExceedsBalance"
    env.tx(env.token.functions.unfreezePartialTokens(env.alice, 100))
    env.tx(env.token.functions.transfer(env.bob, 100), env.alice)


def test_forced_transfer_unfreezes_what_it_needs(env: Env) -> None:
    env.tx(env.token.functions.freezePartialTokens(env.alice, 900))
    receipt = env.tx(env.token.functions.forcedTransfer(env.alice, env.bob, 500, "court order"))
    (unfrozen,) = env.events(receipt, env.token, "TokensUnfrozen")
    assert unfrozen["args"]["amount"] == 400
    assert env.token.functions.getFrozenTokens(env.alice).call() == 500


def test_paused_token_stops_transfers_and_mints(env: Env) -> None:
    env.tx(env.token.functions.pause())
    assert env.token.functions.paused().call() is True
    assert_rejected(env, env.alice, env.bob, 1, "TokenPaused", "PAUSED")
    assert env.reverts(env.token.functions.mint(env.bob, 1)).name == "TokenPaused"
    env.tx(env.token.functions.forcedTransfer(env.alice, env.bob, 1, "settlement during halt"))
    env.tx(env.token.functions.unpause())
    env.tx(env.token.functions.transfer(env.bob, 1), env.alice)


def test_insufficient_balance(env: Env) -> None:
    assert_rejected(env, env.alice, env.bob, 1001, "ERC20InsufficientBalance", "INSUFFICIENT_BALANCE")


def test_every_code_has_its_own_message(env: Env) -> None:
    messages = [env.token.functions.messageForTransferRestriction(c).call() for c in CODES.values()]
    assert len(set(messages)) == len(messages)
    assert env.token.functions.messageForTransferRestriction(200).call() == "Unknown restriction code"
