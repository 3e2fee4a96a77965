"""Reads for what was paid to whom in a tax year: the investor's own lines and yearly summary, and the per
recipient totals that Forms 1099-DIV, 1099-INT and 1042-S report.

A line counts in the calendar year (UTC) it was paid in: `paid_at`, or the declared payment date for a
line marked paid without a moment. Only lines paid in money or reinvested count; a pending, held,
failed or returned line was not paid, so nothing of it was distributed or withheld yet. A reinvested
line is still income: the holder received the net as new tokens (Treas. Reg. 1.305-1(b), dividend
reinvestment plans).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from core.models import Issuer
from core.money import CURRENCY_EXPONENTS
from distributions.models import (
    DistributionKind,
    DistributionLine,
    DistributionState,
    LinePaymentState,
    WithholdingReason,
)
from distributions.selectors import tax_standings
from investors.models import InvestorProfile

REPORTED_STATES = (LinePaymentState.PAID, LinePaymentState.REINVESTED)
US_REASONS = frozenset({WithholdingReason.US_W9, WithholdingReason.US_BACKUP, WithholdingReason.US_BACKUP_NOTICE})
NON_US_REASONS = frozenset({WithholdingReason.TREATY, WithholdingReason.W8_STATUTORY, WithholdingReason.NO_VALID_W8})
KINDS = (DistributionKind.DIVIDEND, DistributionKind.INTEREST, DistributionKind.RETURN_OF_CAPITAL)


def major_units(minor: int, currency: str) -> Decimal:
    """Exact minor units as a decimal in major units (12345 USD → 123.45), for files people add up."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    return (Decimal(minor) / (Decimal(10) ** exponent)).quantize(Decimal(1).scaleb(-exponent))


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)


def lines_paid_in(*, year: int) -> QuerySet[DistributionLine]:
    """Lines paid (in money or tokens) in the calendar year, UTC."""
    start, end = _year_bounds(year)
    return DistributionLine.objects.filter(payment_state__in=REPORTED_STATES).filter(
        Q(paid_at__gte=start, paid_at__lt=end)
        | Q(
            paid_at__isnull=True,
            distribution__payment_date__gte=start.date(),
            distribution__payment_date__lt=end.date(),
        )
    )


# --------------------------------------------------------------------------- the investor's own


# An investor sees a line once its register is approved: a draft's preview may still change or be cancelled.
VISIBLE_TO_HOLDERS = (DistributionState.APPROVED, DistributionState.PAYING, DistributionState.PAID)


def investor_lines(*, investor: InvestorProfile) -> QuerySet[DistributionLine]:
    """The investor's own lines of approved distributions, newest payment first, with token and issuer."""
    return (
        DistributionLine.objects.filter(investor=investor, distribution__state__in=VISIBLE_TO_HOLDERS)
        .select_related("distribution__offering__issuer")
        .order_by("-distribution__payment_date", "-distribution_id")
    )


def investor_tax_years(*, investor: InvestorProfile) -> list[int]:
    """The calendar years in which the investor was paid something, newest first."""
    lines = DistributionLine.objects.filter(investor=investor, payment_state__in=REPORTED_STATES)
    paid = lines.filter(paid_at__isnull=False).values_list("paid_at", flat=True)
    years = {moment.astimezone(dt.UTC).year for moment in paid if moment is not None}
    years |= {d.year for d in lines.filter(paid_at__isnull=True).values_list("distribution__payment_date", flat=True)}
    return sorted(years, reverse=True)


@dataclass
class KindTotal:
    kind: str
    gross_minor: int = 0
    withheld_minor: int = 0
    net_minor: int = 0
    reinvested_units: int = 0
    payments: int = 0

    @property
    def label(self) -> str:
        return DistributionKind(self.kind).label


@dataclass
class TokenYear:
    """One issuer's token in one year: totals by kind, in the distributions' currency."""

    issuer_name: str
    token_symbol: str
    offering_title: str
    currency: str
    forms: list[str] = field(default_factory=list)  # the tax forms the lines' withholding rested on
    kinds: dict[str, KindTotal] = field(default_factory=dict)

    def total(self, attribute: str) -> int:
        return sum(getattr(k, attribute) for k in self.kinds.values())

    @property
    def gross_minor(self) -> int:
        return self.total("gross_minor")

    @property
    def withheld_minor(self) -> int:
        return self.total("withheld_minor")

    @property
    def net_minor(self) -> int:
        return self.total("net_minor")

    @property
    def kinds_in_order(self) -> list[KindTotal]:
        return [self.kinds[k] for k in KINDS if k in self.kinds]


@dataclass(frozen=True)
class YearSummary:
    year: int
    tokens: list[TokenYear]

    @property
    def empty(self) -> bool:
        return not self.tokens

    def totals_by_currency(self) -> dict[str, tuple[int, int, int]]:
        """currency → (gross, withheld, net) over every token."""
        found: dict[str, tuple[int, int, int]] = {}
        for t in self.tokens:
            g, w, n = found.get(t.currency, (0, 0, 0))
            found[t.currency] = (g + t.gross_minor, w + t.withheld_minor, n + t.net_minor)
        return found


def investor_year_summary(*, investor: InvestorProfile, year: int) -> YearSummary:
    """Per issuer and token, totals by kind of what the investor was paid in `year` (one query)."""
    rows = (
        lines_paid_in(year=year)
        .filter(investor=investor)
        .values_list(
            "distribution__offering_id",
            "distribution__offering__issuer__legal_name",
            "distribution__offering__issuer__name",
            "distribution__offering__token_symbol",
            "distribution__offering__title",
            "distribution__currency",
            "distribution__kind",
            "tax_form_kind",
        )
        .annotate(
            gross=Sum("gross_minor"), withheld=Sum("withheld_minor"), net=Sum("net_minor"), units=Sum("reinvest_units")
        )
        .annotate(n=Sum(1))
        .order_by(
            "distribution__offering__issuer__name", "distribution__offering__token_symbol", "distribution__currency"
        )
    )
    tokens: dict[tuple[int, str], TokenYear] = {}
    for offering_id, legal, name, symbol, title, currency, kind, form, gross, withheld, net, units, n in rows:
        token = tokens.setdefault(
            (offering_id, currency),
            TokenYear(issuer_name=legal or name, token_symbol=symbol, offering_title=title, currency=currency),
        )
        total = token.kinds.setdefault(kind, KindTotal(kind=kind))
        total.gross_minor += int(gross or 0)
        total.withheld_minor += int(withheld or 0)
        total.net_minor += int(net or 0)
        total.reinvested_units += int(units or 0)
        total.payments += int(n or 0)
        label = TAX_FORM_LABELS.get(form or "", "")
        if label and label not in token.forms:
            token.forms.append(label)
    return YearSummary(year=year, tokens=list(tokens.values()))


TAX_FORM_LABELS = {"w9": "W-9", "w8ben": "W-8BEN", "w8bene": "W-8BEN-E"}


# --------------------------------------------------------------------------- per recipient, for the IRS forms


@dataclass(frozen=True)
class RecipientPart:
    """What one recipient was paid of one kind at one rate, summed over the issuer's distributions in a year."""

    investor_id: int
    currency: str
    kind: str
    rate_bps: int
    reason: str
    tax_form_id: int | None
    token_symbol: str
    gross_minor: int
    withheld_minor: int


# Recipients read per round: their parts, profiles and forms are fetched together.
RECIPIENTS_PER_CHUNK = 1000


def recipient_parts(*, issuer: Issuer, year: int, us: bool) -> Iterator[list[RecipientPart]]:
    """The parts of US (or non-US) recipients of the issuer's distributions paid in `year`, one recipient's
    parts per list, in investor order. US or not is how the tax was withheld (the line's reason); for a
    return of capital, which withholds nothing, it is the recipient's residence and form on file now."""
    ids = list(
        lines_paid_in(year=year)
        .filter(distribution__offering__issuer=issuer)
        .values_list("investor_id", flat=True)
        .distinct()
        .order_by("investor_id")
    )
    for start in range(0, len(ids), RECIPIENTS_PER_CHUNK):
        chunk = ids[start : start + RECIPIENTS_PER_CHUNK]
        rows = (
            lines_paid_in(year=year)
            .filter(distribution__offering__issuer=issuer, investor_id__in=chunk)
            .values_list(
                "investor_id",
                "distribution__currency",
                "distribution__kind",
                "withholding_rate_bps",
                "withholding_reason",
                "tax_form_id",
                "distribution__offering__token_symbol",
            )
            .annotate(gross=Sum("gross_minor"), withheld=Sum("withheld_minor"))
            .order_by(
                "investor_id",
                "distribution__currency",
                "distribution__kind",
                "withholding_rate_bps",
                "withholding_reason",
                "tax_form_id",
                "distribution__offering__token_symbol",
            )
        )
        parts = [
            RecipientPart(
                investor_id=investor_id,
                currency=currency,
                kind=kind,
                rate_bps=rate,
                reason=reason,
                tax_form_id=form_id,
                token_symbol=symbol,
                gross_minor=int(gross or 0),
                withheld_minor=int(withheld or 0),
            )
            for investor_id, currency, kind, rate, reason, form_id, symbol, gross, withheld in rows
        ]
        roc_only = {p.investor_id for p in parts} - {p.investor_id for p in parts if p.reason != "return_of_capital"}
        standings = tax_standings(investor_ids=roc_only) if roc_only else {}
        by_investor: dict[int, list[RecipientPart]] = {}
        for part in parts:
            by_investor.setdefault(part.investor_id, []).append(part)
        for investor_id, own in by_investor.items():
            reasons = {p.reason for p in own} - {WithholdingReason.RETURN_OF_CAPITAL}
            is_us = bool(reasons & US_REASONS) if reasons else standings[investor_id].status.us_taxpayer
            if is_us == us:
                yield own
