"""InvestorRegistry: investors with several wallets, batches, expiry, and wallets bound for life."""

from __future__ import annotations

from tokens.chain.testing import ACCREDITED, DAY, DE, FAR_FUTURE, KYC, US, Env, investor_id


def test_investor_with_several_wallets(env: Env) -> None:
    info = env.registry.functions.investorInfo(investor_id("alice")).call()
    assert info == [env.alice, US, KYC | ACCREDITED, FAR_FUTURE, 2]
    assert env.registry.functions.investorIdOf(env.alice2).call() == investor_id("alice")
    assert env.registry.functions.isVerified(env.alice2).call() is True
    assert env.registry.functions.investorCountry(env.bob).call() == DE


def test_update_rewrites_every_wallet_and_needs_the_complete_sorted_list(env: Env) -> None:
    wallets = sorted([env.alice, env.alice2], key=lambda a: int(a, 16))
    update = env.registry.functions.updateInvestor
    assert env.reverts(update(investor_id("alice"), DE, KYC, FAR_FUTURE, wallets[:1])).name == "WalletListMismatch"
    assert env.reverts(update(investor_id("alice"), DE, KYC, FAR_FUTURE, wallets[::-1])).name == "WalletListNotSorted"
    assert env.reverts(
        update(investor_id("alice"), DE, KYC, FAR_FUTURE, sorted([env.alice, env.bob], key=lambda a: int(a, 16)))
    ).name == ("WalletNotOfInvestor")
    env.tx(update(investor_id("alice"), DE, KYC, FAR_FUTURE, wallets))
    for wallet in wallets:
        assert env.registry.functions.walletInfo(wallet).call()[2:5] == [DE, KYC, FAR_FUTURE]


def test_expired_investor_is_not_verified(env: Env) -> None:
    assert env.registry.functions.isVerified(env.erin).call() is True
    env.advance(31 * DAY)
    assert env.registry.functions.isVerified(env.erin).call() is False


def test_wallet_is_bound_to_its_investor_for_life(env: Env) -> None:
    assert env.reverts(env.registry.functions.addWallet(env.alice2, investor_id("bob"))).name == (
        "WalletBoundToOtherInvestor"
    )
    env.tx(env.registry.functions.removeWallet(env.alice2))
    assert env.registry.functions.contains(env.alice2).call() is False
    assert env.registry.functions.investorIdOf(env.alice2).call() == investor_id("alice")
    assert env.reverts(env.registry.functions.addWallet(env.alice2, investor_id("bob"))).name == (
        "WalletBoundToOtherInvestor"
    )
    env.tx(env.registry.functions.addWallet(env.alice2, investor_id("alice")))
    assert env.registry.functions.isVerified(env.alice2).call() is True


def test_batches_add_and_remove_wallets_and_investors(env: Env) -> None:
    new = [env.fresh_wallet() for _ in range(3)]
    env.tx(env.registry.functions.batchAddWallets(new, [investor_id("bob")] * 3))
    assert env.registry.functions.investorInfo(investor_id("bob")).call()[4] == 4
    env.tx(env.registry.functions.batchRemoveWallets(new[:2]))
    assert [env.registry.functions.contains(w).call() for w in new] == [False, False, True]
    remaining = sorted([env.bob, new[2]], key=lambda a: int(a, 16))
    env.tx(env.registry.functions.batchRemoveInvestors([investor_id("bob")], [remaining]))
    assert env.registry.functions.isVerified(env.bob).call() is False
    assert env.registry.functions.investorInfo(investor_id("bob")).call()[4] == 0
    ids = [investor_id(f"batch-{i}") for i in range(2)]
    wallets = [env.fresh_wallet() for _ in range(2)]
    env.tx(env.registry.functions.batchRegisterInvestors(ids, wallets, [US, DE], [KYC, KYC], [FAR_FUTURE] * 2))
    env.tx(
        env.registry.functions.batchUpdateInvestors(
            ids, [DE, US], [KYC, KYC | ACCREDITED], [FAR_FUTURE] * 2, [[w] for w in wallets]
        )
    )
    assert env.registry.functions.investorCountry(wallets[1]).call() == US


def test_registration_errors(env: Env) -> None:
    register = env.registry.functions.registerInvestor
    assert (
        env.reverts(register(investor_id("alice"), env.spare1, US, KYC, FAR_FUTURE)).name == "InvestorAlreadyRegistered"
    )
    assert (
        env.reverts(register(investor_id("new"), env.alice, US, KYC, FAR_FUTURE)).name == "WalletBoundToOtherInvestor"
    )
    assert env.reverts(register(investor_id("new"), env.spare1, 0, KYC, FAR_FUTURE)).name == "InvalidCountry"
    assert env.reverts(env.registry.functions.addWallet(env.spare1, investor_id("nobody"))).name == "UnknownInvestor"
