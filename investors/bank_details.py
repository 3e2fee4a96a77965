"""Bank account numbers checked before anything is stored: IBAN and BIC (ISO 13616 and ISO 9362, checked
with schwifty), or a US ABA routing number (its checksum) with an account number."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from core.errors import ApplicationError

# ABA routing numbers: nine digits whose weighted sum (3, 7, 1 repeating) is a multiple of ten.
ABA_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)
# US account numbers are up to 17 digits (the Nacha file's DFI account number field).
US_ACCOUNT = re.compile(r"^[0-9]{4,17}$")


@dataclass(frozen=True)
class CheckedAccount:
    scheme: str  # "iban" or "aba"
    iban: str
    bic: str
    routing_number: str
    account_number: str
    country: str

    @property
    def number(self) -> str:
        """The account's own number: the IBAN, or the US account number."""
        return self.iban or self.account_number


def aba_routing_valid(value: str) -> bool:
    if len(value) != 9 or not value.isdigit():
        return False
    return sum(int(d) * w for d, w in zip(value, ABA_WEIGHTS, strict=True)) % 10 == 0


def _compact(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def bank_account_check(
    *, scheme: str, iban: str = "", bic: str = "", routing_number: str = "", account_number: str = ""
) -> CheckedAccount:
    """The account in its compact form, or an ApplicationError naming the field that is wrong."""
    if scheme == "iban":
        try:
            checked_iban = IBAN(_compact(iban))
        except SchwiftyException as exc:
            raise ApplicationError(
                f"That IBAN is not valid ({exc}). Copy it from a bank statement: it starts with two letters for "
                "the country, then two check digits.",
                code="invalid_iban",
                extra={"field": "iban"},
            ) from exc
        bic_text = _compact(bic)
        if bic_text:
            try:
                checked_bic = BIC(bic_text)
            except SchwiftyException as exc:
                raise ApplicationError(
                    f"That BIC is not valid ({exc}): it has 8 or 11 letters and digits.",
                    code="invalid_bic",
                    extra={"field": "bic"},
                ) from exc
            if checked_bic.country_code != checked_iban.country_code:
                raise ApplicationError(
                    f"The BIC is of a bank in {checked_bic.country_code}, the IBAN of an account in "
                    f"{checked_iban.country_code}: check both.",
                    code="bic_mismatch",
                    extra={"field": "bic"},
                )
            bic_text = checked_bic.compact
        else:
            found = checked_iban.bic
            if found is None:
                raise ApplicationError(
                    "The bank of this IBAN cannot be looked up: enter its BIC as well.",
                    code="bic_needed",
                    extra={"field": "bic"},
                )
            bic_text = str(found.compact)
        return CheckedAccount("iban", checked_iban.compact, bic_text, "", "", checked_iban.country_code)
    if scheme == "aba":
        routing = _compact(routing_number)
        if not aba_routing_valid(routing):
            raise ApplicationError(
                "That routing number is not valid: a US ABA routing number has nine digits and a checksum; "
                "it is printed at the bottom left of a check.",
                code="invalid_routing",
                extra={"field": "routing_number"},
            )
        number = _compact(account_number)
        if not US_ACCOUNT.match(number):
            raise ApplicationError(
                "The account number must be 4 to 17 digits.", code="invalid_account", extra={"field": "account_number"}
            )
        return CheckedAccount("aba", "", "", routing, number, "US")
    raise ApplicationError("Choose IBAN or US routing number.", code="invalid_scheme", extra={"field": "scheme"})
