"""What a token call would do (eth_call), and which restriction code stands for which revert."""

from __future__ import annotations

from typing import Any, cast

from tokens.chain.abi import decode_result, encode_call
from tokens.chain.errors import decode_revert
from tokens.chain.testing import CODES, Env

ZERO = "0x0000000000000000000000000000000000000000"

# The custom error each ERC-1404 code stands for, as the transfer (or mint) reverts with it.
ERRORS_OF_CODE = {
    CODES["PAUSED"]: {"TokenPaused"},
    CODES["SENDER_NOT_VERIFIED"]: {"SenderNotVerified"},
    CODES["RECEIVER_NOT_VERIFIED"]: {"ReceiverNotVerified", "ERC20InvalidReceiver"},
    CODES["COUNTRY_NOT_ALLOWED"]: {"CountryNotAllowed"},
    CODES["FLAGS_NOT_ALLOWED"]: {"InvestorFlagsNotAllowed"},
    CODES["SENDER_FROZEN"]: {"SenderFrozen"},
    CODES["RECEIVER_FROZEN"]: {"ReceiverFrozen"},
    CODES["INSUFFICIENT_BALANCE"]: {"ERC20InsufficientBalance"},
    CODES["AMOUNT_FROZEN"]: {"AmountFrozen"},
    CODES["TOKENS_LOCKED"]: {"TokensLocked"},
    CODES["MAX_INVESTORS"]: {"MaxInvestorsReached"},
    CODES["MAX_NON_ACCREDITED"]: {"MaxNonAccreditedReached"},
    CODES["MAX_BALANCE"]: {"MaxBalanceExceeded"},
    CODES["SUPPLY_LIMIT"]: {"SupplyOverflow"},
}


def raw_outcome(env: Env, sender: str, function: str, args: list[Any]) -> tuple[bytes, str | None]:
    """A SecurityToken call by raw eth_call (fast): its return data, or the error it reverts with."""
    data = "0x" + encode_call("SecurityToken", function, args).hex()
    response = cast(Any, env.w3.provider).make_request(
        "eth_call", [{"from": sender, "to": env.token.address, "data": data}, "latest"]
    )
    if "error" in response:
        revert = response["error"].get("data")
        assert isinstance(revert, str) and len(revert) >= 10, f"revert without data: {response}"
        return b"", decode_revert(revert, *env.abis).name
    return bytes.fromhex(response["result"][2:]), None


def detect(env: Env, sender: str, receiver: str, amount: int) -> int:
    result, error = raw_outcome(env, ZERO, "detectTransferRestriction", [sender, receiver, amount])
    assert error is None, error
    return int(decode_result("SecurityToken", "detectTransferRestriction", result)[0])


def predicted_outcome(env: Env, sender: str, receiver: str, amount: int) -> tuple[int, str | None]:
    """detectTransferRestriction's code and what the transfer (a mint when sender is 0) does."""
    code = detect(env, sender, receiver, amount)
    if sender == ZERO:
        return code, raw_outcome(env, env.agent, "mint", [receiver, amount])[1]
    return code, raw_outcome(env, sender, "transfer", [receiver, amount])[1]


def assert_prediction(code: int, error: str | None, context: object = "") -> None:
    if code == 0:
        assert error is None, f"code 0 but the call reverts with {error}: {context}"
    else:
        assert error in ERRORS_OF_CODE[code], f"code {code} but the call gives {error}: {context}"
