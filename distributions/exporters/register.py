"""One distribution's register, line by line: who was entitled to what at the record date, what was
withheld and why, and how each line was paid (the transaction hash or the bank's reference)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from core.csv import Cell
from distributions.models import Distribution, DistributionLine, LinePaymentState, WithholdingReason
from distributions.tax_reporting import TAX_FORM_LABELS, major_units
from registry.exporters.base import (
    EXTENSIONS,
    Column,
    Exporter,
    ExportError,
    ExportParams,
    chunked,
    day_text,
    moment_text,
)
from registry.selectors.holders import holder_details

if TYPE_CHECKING:
    from offerings.models import Offering

FIELDS = (
    "line_index",
    "investor_id",
    "balance_at_record",
    "gross_minor",
    "withholding_rate_bps",
    "withholding_reason",
    "tax_form_kind",
    "withheld_minor",
    "net_minor",
    "reinvest_units",
    "cash_minor",
    "destination_status",
    "destination_wallet",
    "payment_state",
    "payment_reference",
    "paid_at",
)


def rate_percent(bps: int) -> str:
    """1500 → "15.00": the rate as the IRS forms write it."""
    return f"{bps // 100}.{bps % 100:02d}"


def distribution_of(offering: Offering, params: ExportParams) -> Distribution:
    """The distribution the export is about, only among the offering's own (another's is as absent as none)."""
    found = (
        Distribution.objects.filter(offering=offering, public_id=params.distribution)
        .select_related("offering__issuer")
        .first()
        if params.distribution
        else None
    )
    if found is None:
        raise ExportError("This token has no such distribution.", code="distribution_unknown")
    return found


def _lines(distribution: Distribution) -> QuerySet[DistributionLine]:
    return DistributionLine.objects.filter(distribution=distribution).order_by("line_index")


class DistributionRegisterExporter(Exporter):
    identifier = "distribution_register"
    verbose_name = "Distribution register"
    description = (
        "One distribution, per holder: balance at the record date, gross, withholding rate and why, withheld, net, "
        "reinvested units, cash, and how it was paid."
    )
    holder_data = True
    takes = frozenset({"distribution"})
    columns = (
        Column("line", "Line", 0.35),
        Column("holder_id", "Holder id", 0),
        Column("name", "Holder", 1.4),
        Column("country", "Country", 0.45),
        Column("kind", "Kind", 0),
        Column("record_date", "Record date", 0),
        Column("payment_date", "Payment date", 0),
        Column("currency", "Currency", 0),
        Column("balance", "Balance at record date", 0.7),
        Column("gross", "Gross", 0.8),
        Column("rate", "Withholding rate (%)", 0.5),
        Column("reason", "Why", 1.5),
        Column("tax_form", "Tax form", 0.55),
        Column("withheld", "Withheld", 0.7),
        Column("net", "Net", 0.8),
        Column("reinvest_units", "Reinvested units", 0.5),
        Column("cash", "Cash paid", 0.8),
        Column("destination", "Paid to", 0),
        Column("payment_state", "Payment", 0.6),
        Column("payment_reference", "Transaction or bank reference", 1.3),
        Column("paid_at", "Paid (UTC)", 0.9),
    )

    def request_check(self, offering: Offering, params: ExportParams) -> None:
        distribution = distribution_of(offering, params)
        if not distribution.register_ready:
            raise ExportError("The register is computed once the record date has passed.", code="register_not_ready")

    def filename(self, offering: Offering, params: ExportParams, fmt: str) -> str:
        distribution = distribution_of(offering, params)
        symbol = "".join(ch for ch in offering.token_symbol if ch.isalnum()) or "token"
        return f"{symbol}-distribution-register-{distribution.record_date.isoformat()}.{EXTENSIONS[fmt]}"

    def row_count(self, offering: Offering, params: ExportParams) -> int:
        return _lines(distribution_of(offering, params)).count()

    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        distribution = distribution_of(offering, params)
        currency = distribution.currency
        reasons = dict(WithholdingReason.choices)
        states = dict(LinePaymentState.choices)
        kind = distribution.get_kind_display()
        lines = _lines(distribution).values_list(*FIELDS).iterator(chunk_size=self.chunk_size)
        for chunk in chunked(lines, self.chunk_size):
            holders = holder_details(investor_ids={r[1] for r in chunk})
            for (
                index,
                investor_id,
                balance,
                gross,
                rate,
                reason,
                form,
                withheld,
                net,
                units,
                cash,
                destination,
                wallet,
                state,
                reference,
                paid_at,
            ) in chunk:
                holder = holders.get(investor_id)
                yield (
                    index + 1,
                    holder.reference if holder else "",
                    holder.legal_name if holder else "",
                    holder.country if holder else "",
                    kind,
                    distribution.record_date.isoformat(),
                    day_text(distribution.payment_date),
                    currency,
                    balance,
                    major_units(gross, currency),
                    rate_percent(rate),
                    reasons.get(reason, reason),
                    TAX_FORM_LABELS.get(form, form),
                    major_units(withheld, currency),
                    major_units(net, currency),
                    units,
                    major_units(cash, currency),
                    wallet if destination == "wallet" else destination.replace("_", " "),
                    states.get(state, state),
                    reference,
                    moment_text(paid_at),
                )
