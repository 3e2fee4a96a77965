"""Values packed into narrow fields are bounded: none can overflow into its neighbour.

The token keeps its configuration in one packed word (see SecurityToken's CFG_* layout) and each
account's balance, lock-up release and checkpoint mark in another. Counters that only billions of
transactions could fill are set near their limit directly in storage.
"""

from __future__ import annotations

from typing import Any, cast

from tokens.chain.testing import US, YEAR, Env

MAX_32 = 2**32 - 1
MAX_40 = 2**40 - 1
MAX_128 = 2**128 - 1
MAX_LOCKUP = MAX_32
# Storage slot of the packed config word (after AccessControl's roles, the name and the symbol).
CONFIG_SLOT = 3
EPOCH_SHIFT, RECORDS_SHIFT, INVESTORS_SHIFT, NON_ACCREDITED_SHIFT = 48, 80, 152, 184


def config(env: Env) -> int:
    return int.from_bytes(env.w3.eth.get_storage_at(env.token.address, CONFIG_SLOT), "big")


def set_config_field(env: Env, shift: int, value: int) -> None:
    word = (config(env) & ~(MAX_32 << shift)) | (value << shift)
    cast(Any, env.w3.provider).make_request(
        "anvil_setStorageAt", [env.token.address, hex(CONFIG_SLOT), "0x" + word.to_bytes(32, "big").hex()]
    )


def test_config_slot_is_the_packed_config_word(env: Env) -> None:
    assert (config(env) >> INVESTORS_SHIFT) & MAX_32 == env.token.functions.investorCount().call() == 2
    assert (config(env) >> 1) & 0xFF == env.token.functions.rules().call()


# ------------------------------------------------------------------ lock-up period


def test_lockup_period_is_bounded(env: Env) -> None:
    decoded = env.reverts(env.token.functions.setLockupPeriod(MAX_LOCKUP + 1))
    assert decoded.name == "LockupPeriodTooLong"
    assert decoded.args == (MAX_LOCKUP + 1, MAX_LOCKUP)
    assert env.reverts(env.token.functions.setLockupPeriod(MAX_40)).name == "LockupPeriodTooLong"


def test_longest_lockup_keeps_the_release_time_in_its_field(env: Env) -> None:
    env.tx(env.token.functions.setLockupPeriod(MAX_LOCKUP))
    assert env.token.functions.limits().call()[3] == MAX_LOCKUP
    env.tx(env.token.functions.scheduleRecordDate(env.now() + 5))
    env.advance(10)
    receipt = env.tx(env.token.functions.mint(env.carol, 100))
    minted_at = env.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert env.token.functions.lockup(env.carol).call() == [100, minted_at + MAX_LOCKUP]
    # The checkpoint mark above the release time is intact: the record date still answers.
    env.advance(10)
    assert env.token.functions.balanceOfAt(env.carol, 1).call() == 0
    env.tx(env.token.functions.scheduleRecordDate(env.now() + 5))
    env.advance(10)
    env.tx(env.token.functions.transfer(env.carol, 1), env.alice)
    assert env.token.functions.balanceOfAt(env.carol, 2).call() == 100


# ------------------------------------------------------------------ limits and caps


def test_widest_limits_read_back_exactly_and_leave_the_lockup_period(env: Env) -> None:
    env.tx(env.token.functions.setLockupPeriod(YEAR))
    env.tx(env.token.functions.setLimits(MAX_32, MAX_32, MAX_128))
    assert env.token.functions.limits().call() == [MAX_32, MAX_32, MAX_128, YEAR]
    env.tx(env.token.functions.setLimits(0, 0, 0))
    assert env.token.functions.limits().call() == [0, 0, 0, YEAR]
    env.tx(env.token.functions.setLockupPeriod(0))
    env.tx(env.token.functions.setLimits(MAX_32, 0, MAX_128))
    assert env.token.functions.limits().call() == [MAX_32, 0, MAX_128, 0]


def test_investor_count_cannot_spill_into_the_non_accredited_count(env: Env) -> None:
    set_config_field(env, INVESTORS_SHIFT, MAX_32)
    assert env.token.functions.investorCount().call() == MAX_32
    # A forced transfer skips the cap but not the counter's bound.
    decoded = env.reverts(env.token.functions.forcedTransfer(env.alice, env.carol, 1, "court order"))
    assert decoded.name == "InvestorCountExhausted"
    env.tx(env.token.functions.setRules(127 & ~16))
    assert env.reverts(env.token.functions.mint(env.carol, 1)).name == "InvestorCountExhausted"
    # An investor already holding can still receive, and one leaving frees a place.
    env.tx(env.token.functions.transfer(env.bob, 1), env.alice)
    env.tx(env.token.functions.transfer(env.alice, 1001), env.bob)
    assert env.token.functions.investorCount().call() == MAX_32 - 1
    assert env.token.functions.nonAccreditedCount().call() == 0
    env.tx(env.token.functions.mint(env.carol, 1))
    assert env.token.functions.investorCount().call() == MAX_32
    assert env.token.functions.nonAccreditedCount().call() == 1


# ------------------------------------------------------------------ record dates and the country list


def test_latest_record_date_fits_its_field(env: Env) -> None:
    env.tx(env.token.functions.scheduleRecordDate(MAX_40))
    assert env.token.functions.recordDate(1).call() == MAX_40
    assert env.token.functions.recordDateCount().call() == 1
    assert env.token.functions.investorCount().call() == 2
    assert env.reverts(env.token.functions.scheduleRecordDate(env.now() + 10)).name == "RecordDatePending"


def test_record_date_count_cannot_wrap(env: Env) -> None:
    set_config_field(env, RECORDS_SHIFT, MAX_32)  # the last one (timestamp 0) has passed
    decoded = env.reverts(env.token.functions.scheduleRecordDate(env.now() + 10))
    assert decoded.name == "RecordDatesExhausted"
    set_config_field(env, RECORDS_SHIFT, MAX_32 - 1)
    env.tx(env.token.functions.scheduleRecordDate(env.now() + 10))
    assert env.token.functions.recordDateCount().call() == MAX_32
    assert env.token.functions.investorCount().call() == 2


def test_country_list_epoch_cannot_spill_into_the_record_dates(env: Env) -> None:
    set_config_field(env, EPOCH_SHIFT, MAX_32 - 1)
    env.tx(env.token.functions.setCountriesAllowed([US], True))
    decoded = env.reverts(env.token.functions.setCountriesAllowed([US], True))
    assert decoded.name == "CountryListUpdatesExhausted"
    assert env.token.functions.recordDateCount().call() == 0
    env.tx(env.token.functions.transfer(env.bob, 1), env.alice)
