"""A zero amount changes no investor bookkeeping, whatever the entry point and whoever calls it.

`transferFrom` of 0 needs no allowance, so these are attacks anyone can run: a zero amount that
counted an empty investor as entering, or a wallet holding nothing as leaving, would let a
stranger lower the investor count below the real number of holders (bypassing the cap), inflate
it (refusing every new investor), wrap the non-accredited counter, or hide an investor's other
wallets from the per-investor balance cap.
"""

from __future__ import annotations

from tokens.chain.testing import YEAR, Env, investor_id

# The `deployed` cast: alice (alice, alice2) and bob are accredited and hold 1000 each; carol is
# not accredited; yuri and erin are accredited; all of them are verified, and they hold nothing.
HOLDERS = 2


def counts(env: Env) -> tuple[int, int]:
    return env.token.functions.investorCount().call(), env.token.functions.nonAccreditedCount().call()


def test_zero_transfers_from_empty_wallets_do_not_lower_the_investor_count(env: Env) -> None:
    env.tx(env.token.functions.setLimits(HOLDERS, 1000, 10**12))
    # A stranger with no allowance moves "nothing" out of wallets that hold nothing.
    for empty in (env.carol, env.yuri, env.erin):
        env.tx(env.token.functions.transferFrom(empty, env.bob, 0), env.frank)
    assert counts(env) == (HOLDERS, 0)
    # The register is still full: a third investor is refused.
    decoded = env.reverts(env.token.functions.transfer(env.carol, 1), env.alice)
    assert decoded.name == "MaxInvestorsReached"


def test_zero_transfers_to_empty_wallets_do_not_raise_the_investor_count(env: Env) -> None:
    for _ in range(3):
        env.tx(env.token.functions.transferFrom(env.bob, env.carol, 0), env.frank)
    env.tx(env.token.functions.transfer(env.yuri, 0), env.alice)
    assert counts(env) == (HOLDERS, 0)
    # One place left: a real new investor takes it.
    env.tx(env.token.functions.setLimits(HOLDERS + 1, 1000, 10**12))
    env.tx(env.token.functions.transfer(env.yuri, 1), env.alice)
    assert counts(env) == (HOLDERS + 1, 0)


def test_zero_transfers_cannot_wrap_the_counters(env: Env) -> None:
    env.tx(env.token.functions.transferFrom(env.bob, env.carol, 0), env.frank)
    for _ in range(HOLDERS + 2):
        env.tx(env.token.functions.transferFrom(env.yuri, env.bob, 0), env.frank)
    assert counts(env) == (HOLDERS, 0)
    # A real non-accredited investor is counted once, and leaves once.
    env.tx(env.token.functions.transfer(env.carol, 5), env.alice)
    env.tx(env.token.functions.transferFrom(env.carol, env.bob, 0), env.frank)
    assert counts(env) == (HOLDERS + 1, 1)
    env.tx(env.token.functions.transfer(env.alice, 5), env.carol)
    assert counts(env) == (HOLDERS, 0)


def test_zero_transfer_cannot_hide_an_investors_other_wallets_from_the_balance_cap(env: Env) -> None:
    env.tx(env.token.functions.setLimits(1000, 1000, 1500))
    env.tx(env.token.functions.transferFrom(env.bob, env.alice2, 0), env.frank)
    env.tx(env.token.functions.transfer(env.alice2, 500), env.alice)
    assert env.token.functions.investorBalance(env.alice).call() == 1000
    # alice holds 1000 across two wallets: 600 more would take her over the cap.
    decoded = env.reverts(env.token.functions.transfer(env.alice, 600), env.bob)
    assert decoded.name == "MaxBalanceExceeded"
    assert decoded.args[1:] == (1000, 1500)
    # Emptying her key wallet does not make her leave while her second wallet holds tokens.
    env.tx(env.token.functions.transfer(env.bob, 500), env.alice)
    assert counts(env) == (HOLDERS, 0)


def test_batch_transfer_of_zero_from_an_empty_wallet(env: Env) -> None:
    env.tx(env.token.functions.batchTransfer([env.bob, env.alice, env.carol], [0, 0, 0]), env.yuri)
    assert counts(env) == (HOLDERS, 0)


def test_zero_mints_burns_and_forced_transfers_leave_the_counts(env: Env) -> None:
    env.tx(env.token.functions.mint(env.carol, 0))
    env.tx(env.token.functions.batchMint([env.yuri, env.carol, env.alice2], [0, 0, 0]))
    env.tx(env.token.functions.burn(env.erin, 0))
    env.tx(env.token.functions.batchBurn([env.yuri, env.alice2], [0, 0]))
    env.tx(env.token.functions.forcedTransfer(env.erin, env.carol, 0, "correction"))
    env.tx(env.token.functions.forcedTransfer(env.bob, env.yuri, 0, "correction"))
    assert counts(env) == (HOLDERS, 0)
    assert env.token.functions.investorBalance(env.alice).call() == 1000
    # The register still counts real holders exactly.
    env.tx(env.token.functions.mint(env.carol, 1))
    assert counts(env) == (HOLDERS + 1, 1)
    env.tx(env.token.functions.burn(env.carol, 1))
    assert counts(env) == (HOLDERS, 0)
    assert env.token.functions.totalSupply().call() == 2000


def test_zero_mint_does_not_extend_a_lock_up(env: Env) -> None:
    env.tx(env.token.functions.setLockupPeriod(YEAR))
    env.tx(env.token.functions.mint(env.carol, 100))
    before = env.token.functions.lockup(env.carol).call()
    env.advance(30 * 24 * 3600)
    env.tx(env.token.functions.mint(env.carol, 0))
    assert env.token.functions.lockup(env.carol).call() == before
    # Nor does it lock an empty wallet's future receipts.
    env.tx(env.token.functions.mint(env.yuri, 0))
    assert env.token.functions.lockup(env.yuri).call() == [0, 0]
    env.tx(env.token.functions.transfer(env.yuri, 10), env.alice)
    env.tx(env.token.functions.transfer(env.alice, 10), env.yuri)


def test_recovery_of_an_empty_wallet_is_refused(env: Env) -> None:
    env.tx(env.registry.functions.addWallet(env.spare1, investor_id("carol")))
    decoded = env.reverts(env.token.functions.recoveryAddress(env.carol, env.spare1, investor_id("carol")))
    assert decoded.name == "NothingToRecover"
    assert counts(env) == (HOLDERS, 0)


def test_a_zero_transfer_is_not_refused_by_the_investor_caps(env: Env) -> None:
    # Nothing enters the register, so a full register does not refuse it and it counts nobody.
    env.tx(env.token.functions.setLimits(HOLDERS, 0, 10**12))
    assert env.code(env.alice, env.carol, 0) == 0
    env.tx(env.token.functions.transfer(env.carol, 0), env.alice)
    assert counts(env) == (HOLDERS, 0)
