"""Which withholding rate applies to one holder's payment, and why: pure rules over plain values.

REGULATORY.md, "Tax on distributions (US)":
- non-US holders: 30 % on dividends (26 USC 1441/1442) unless a valid W-8BEN / W-8BEN-E claims a treaty
  rate; a W-8 is valid to the end of the third calendar year after signing (Treas. Reg.
  1.1441-1(e)(4)(ii)), judged here on the payment date, when the tax is withheld;
- US holders without a certified TIN on a W-9: 24 % backup withholding (26 USC 3406), also when the W-9
  does not certify that the holder is exempt from it (an IRS notice applies);
- a return of capital is not a dividend: nothing is withheld from it as one; it reduces the cost basis
  (1099-DIV box 3).
Interest follows the same rates here: the W-8's treaty claim is the rate the holder claimed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from distributions.models import DistributionKind, WithholdingReason
from investors.models import TaxFormKind

# 26 USC 1441(a): the statutory rate on US-source dividends and interest paid to non-US persons.
STATUTORY_RATE_BPS = 3000
# 26 USC 3406(a)(1): the fourth-lowest income tax rate, 24 % since 2018.
BACKUP_RATE_BPS = 2400


@dataclass(frozen=True)
class TaxStatus:
    """What withholding depends on for one holder: residence and the current form on file (if any)."""

    us_taxpayer: bool
    form_kind: str = ""  # a TaxFormKind, or "" when no form is on file
    form_expires_on: dt.date | None = None
    tin_certified: bool = False
    exempt_from_backup: bool = False
    treaty_rate_bps: int | None = None


@dataclass(frozen=True)
class Withholding:
    rate_bps: int
    reason: str  # a WithholdingReason
    form_applies: bool  # the form on file is the one this rate rests on


def withholding_for(*, status: TaxStatus, kind: str, payment_date: dt.date) -> Withholding:
    if kind == DistributionKind.RETURN_OF_CAPITAL:
        return Withholding(0, WithholdingReason.RETURN_OF_CAPITAL, False)
    if status.us_taxpayer:
        if status.form_kind == TaxFormKind.W9 and status.tin_certified:
            if status.exempt_from_backup:
                return Withholding(0, WithholdingReason.US_W9, True)
            return Withholding(BACKUP_RATE_BPS, WithholdingReason.US_BACKUP_NOTICE, True)
        return Withholding(BACKUP_RATE_BPS, WithholdingReason.US_BACKUP, False)
    w8 = status.form_kind in (TaxFormKind.W8BEN, TaxFormKind.W8BENE)
    valid = w8 and (status.form_expires_on is None or payment_date <= status.form_expires_on)
    if not valid:
        return Withholding(STATUTORY_RATE_BPS, WithholdingReason.NO_VALID_W8, False)
    if status.treaty_rate_bps is not None and status.treaty_rate_bps < STATUTORY_RATE_BPS:
        return Withholding(status.treaty_rate_bps, WithholdingReason.TREATY, True)
    return Withholding(STATUTORY_RATE_BPS, WithholdingReason.W8_STATUTORY, True)
