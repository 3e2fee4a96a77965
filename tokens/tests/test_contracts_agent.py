"""Agent operations: recovery, batches, roles, and record-date checkpoints."""

from __future__ import annotations

from tokens.chain.testing import DAY, YEAR, Env, investor_id


def add_wallet(env: Env, wallet: str, investor: str) -> None:
    env.tx(env.registry.functions.addWallet(wallet, investor_id(investor)))


# ------------------------------------------------------------------ recovery


def test_recovery_moves_balance_freeze_and_lockup_to_a_wallet_of_the_same_investor(env: Env) -> None:
    env.tx(env.token.functions.setLockupPeriod(YEAR))
    env.tx(env.token.functions.mint(env.alice, 100))
    env.tx(env.token.functions.freezePartialTokens(env.alice, 200))
    env.tx(env.token.functions.setAddressFrozen(env.alice, True))
    new_wallet = env.spare1
    add_wallet(env, new_wallet, "alice")
    receipt = env.tx(env.token.functions.recoveryAddress(env.alice, new_wallet, investor_id("alice")))
    (event,) = env.events(receipt, env.token, "RecoverySuccess")
    assert event["args"]["investorId"] == investor_id("alice")
    assert env.balance(env.alice) == 0 and env.balance(new_wallet) == 1100
    assert env.token.functions.getFrozenTokens(new_wallet).call() == 200
    assert env.token.functions.isFrozen(new_wallet).call() is True
    assert env.token.functions.lockup(new_wallet).call()[0] == 100
    assert env.token.functions.isFrozen(env.alice).call() is False
    assert env.token.functions.investorCount().call() == 2
    assert env.token.functions.investorBalance(new_wallet).call() == 1100


def test_recovery_to_another_investors_wallet_is_refused(env: Env) -> None:
    decoded = env.reverts(env.token.functions.recoveryAddress(env.alice, env.bob, investor_id("alice")))
    assert decoded.name == "RecoveryInvestorMismatch"
    decoded = env.reverts(env.token.functions.recoveryAddress(env.alice, env.carol, investor_id("carol")))
    assert decoded.name == "RecoveryInvestorMismatch"
    assert env.balance(env.alice) == 1000


def test_recovery_needs_an_empty_registered_wallet(env: Env) -> None:
    env.tx(env.token.functions.transfer(env.alice2, 1), env.alice)
    decoded = env.reverts(env.token.functions.recoveryAddress(env.alice, env.alice2, investor_id("alice")))
    assert decoded.name == "RecoveryWalletNotEmpty"
    add_wallet(env, env.spare2, "alice")
    env.tx(env.registry.functions.removeWallet(env.spare2))
    decoded = env.reverts(env.token.functions.recoveryAddress(env.alice, env.spare2, investor_id("alice")))
    assert decoded.name == "ReceiverNotRegistered"


# ------------------------------------------------------------------ roles, batches


def test_only_agents_run_agent_operations(env: Env) -> None:
    for call in (
        env.token.functions.mint(env.outsider, 1),
        env.token.functions.forcedTransfer(env.alice, env.bob, 1, "x"),
        env.token.functions.pause(),
        env.token.functions.setAddressFrozen(env.bob, True),
        env.registry.functions.addWallet(env.outsider, investor_id("bob")),
    ):
        assert env.reverts(call, env.outsider).name == "AccessControlUnauthorizedAccount"
    assert env.reverts(env.token.functions.setRules(0), env.outsider).name == "AccessControlUnauthorizedAccount"
    env.tx(env.token.functions.addAgent(env.outsider))
    assert env.token.functions.isAgent(env.outsider).call() is True
    env.tx(env.token.functions.pause(), env.outsider)
    env.tx(env.token.functions.unpause(), env.outsider)
    # Minting is its own role: an agent mints only once the admin grants it that role too.
    assert env.reverts(env.token.functions.mint(env.bob, 1), env.outsider).name == "AccessControlUnauthorizedAccount"
    env.tx(env.token.functions.grantRole(env.token.functions.MINTER_ROLE().call(), env.outsider))
    env.tx(env.token.functions.mint(env.bob, 1), env.outsider)


def test_batch_mint_and_burn(env: Env) -> None:
    env.tx(env.token.functions.batchMint([env.carol, env.yuri, env.carol], [10, 20, 5]))
    assert env.balance(env.carol) == 15 and env.balance(env.yuri) == 20
    assert env.token.functions.totalSupply().call() == 2035
    assert env.token.functions.investorCount().call() == 4
    assert env.reverts(env.token.functions.batchMint([env.carol, env.frank], [1, 1])).name == "ReceiverNotVerified"
    env.tx(env.token.functions.batchBurn([env.carol, env.yuri], [15, 5]))
    assert env.token.functions.totalSupply().call() == 2015
    assert env.token.functions.investorCount().call() == 3
    assert env.reverts(env.token.functions.burn(env.yuri, 16)).name == "ERC20InsufficientBalance"


def test_transfer_from_follows_the_rules_and_the_allowance(env: Env) -> None:
    env.tx(env.token.functions.approve(env.outsider, 50), env.alice)
    env.tx(env.token.functions.transferFrom(env.alice, env.bob, 30), env.outsider)
    assert env.token.functions.allowance(env.alice, env.outsider).call() == 20
    assert env.reverts(env.token.functions.transferFrom(env.alice, env.bob, 21), env.outsider).name == (
        "ERC20InsufficientAllowance"
    )
    assert env.reverts(env.token.functions.transferFrom(env.alice, env.frank, 1), env.outsider).name == (
        "ReceiverNotVerified"
    )


def test_batch_transfer_is_all_or_nothing(env: Env) -> None:
    assert env.reverts(env.token.functions.batchTransfer([env.bob, env.frank], [1, 1]), env.alice).name == (
        "ReceiverNotVerified"
    )
    env.tx(env.token.functions.batchTransfer([env.bob, env.alice2], [1, 2]), env.alice)
    assert env.balance(env.alice) == 997


# ------------------------------------------------------------------ record dates


def test_checkpoint_reads_the_record_date_after_later_transfers(env: Env) -> None:
    record = env.now() + DAY
    receipt = env.tx(env.token.functions.scheduleRecordDate(record))
    record_id = env.events(receipt, env.token, "RecordDateScheduled")[0]["args"]["recordId"]
    env.tx(env.token.functions.transfer(env.bob, 100), env.alice)  # before the record date: counts
    assert env.reverts(env.token.functions.balanceOfAt(env.alice, record_id)).name == "RecordDateNotPassed"
    env.advance(2 * DAY)
    env.tx(env.token.functions.transfer(env.bob, 300), env.alice)
    env.tx(env.token.functions.transfer(env.carol, 50), env.bob)  # carol's first tokens, after the record
    env.tx(env.token.functions.mint(env.alice, 1000))
    env.tx(env.token.functions.transfer(env.carol, 1), env.alice)
    assert env.token.functions.balanceOfAt(env.alice, record_id).call() == 900
    assert env.token.functions.balanceOfAt(env.bob, record_id).call() == 1100
    assert env.token.functions.balanceOfAt(env.carol, record_id).call() == 0
    assert env.token.functions.balanceOfAt(env.yuri, record_id).call() == 0
    assert env.token.functions.totalSupplyAt(record_id).call() == 2000
    assert env.balance(env.alice) == 1599 and env.token.functions.totalSupply().call() == 3000


def test_successive_record_dates_each_keep_their_balances(env: Env) -> None:
    env.tx(env.token.functions.scheduleRecordDate(env.now() + 10))
    decoded = env.reverts(env.token.functions.scheduleRecordDate(env.now() + 20))
    assert decoded.name == "RecordDatePending"
    env.advance(60)
    env.tx(env.token.functions.transfer(env.carol, 10), env.alice)  # carol: 0 at record 1
    env.tx(env.token.functions.scheduleRecordDate(env.now() + 10))
    env.advance(60)
    env.tx(env.token.functions.transfer(env.carol, 10), env.alice)  # carol: 10 at record 2
    env.tx(env.token.functions.transfer(env.bob, 20), env.carol)
    env.tx(env.token.functions.scheduleRecordDate(env.now() + 10))
    env.advance(60)
    env.tx(env.token.functions.transfer(env.carol, 5), env.alice)  # carol: 0 at record 3
    assert [env.token.functions.balanceOfAt(env.carol, r).call() for r in (1, 2, 3)] == [0, 10, 0]
    assert [env.token.functions.balanceOfAt(env.alice, r).call() for r in (1, 2, 3)] == [1000, 990, 980]
    assert env.token.functions.recordDateCount().call() == 3
    assert env.reverts(env.token.functions.balanceOfAt(env.carol, 4)).name == "RecordDateNotPassed"


def test_record_date_cannot_be_in_the_past(env: Env) -> None:
    assert env.reverts(env.token.functions.scheduleRecordDate(env.now() - 1)).name == "RecordDateInPast"
