"""The master securityholder file (17Ad-9): every holding on the register as of a block or a date.

One row per lot with units left at that point (with `include_closed`, also the lots emptied by then,
with their cancellation date): how the holder is registered (name, holder type, address, country),
tax form and accreditation status, the quantity, issue and acquisition dates, exemption, legend,
lock-up release, wallet and the transaction that opened the lot (an identifier the agent needs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Q, QuerySet, Sum

from compliance.exemptions import Exemption
from core.csv import Cell
from registry.exporters.base import Column, Exporter, ExportParams, day_text, moment_text
from registry.legends import legend_for
from registry.models import Lot
from registry.selectors.holders import holder_details

if TYPE_CHECKING:
    from offerings.models import Offering

UNKNOWN_HOLDER = "Wallet not linked to a registered holder"
FIELDS = (
    "pk",
    "investor_id",
    "wallet",
    "quantity",
    "issued_at",
    "acquired_at",
    "exemption",
    "lockup_release",
    "cost_basis_minor",
    "currency",
    "transaction_hash",
    "remaining",
    "closed_at",
)


def lots_as_of(offering: Offering, params: ExportParams) -> QuerySet[Lot]:
    """Lots opened by then, with what remained of each and when units last left it (both at that point)."""
    moved = Q()
    if params.as_of_block is not None:
        moved &= Q(movements__block_number__lte=params.as_of_block)
    if params.as_of_moment is not None:
        moved &= Q(movements__chain_time__lte=params.as_of_moment)
    rows = Lot.objects.filter(offering=offering).annotate(
        remaining=Sum("movements__delta", filter=moved),
        closed_at=Max("movements__chain_time", filter=moved & Q(movements__delta__lt=0)),
    )
    # A lot whose opening is after the point has no movement then (remaining is NULL).
    return rows.filter(remaining__isnull=False) if params.include_closed else rows.filter(remaining__gt=0)


class MasterFileExporter(Exporter):
    identifier = "master_file"
    verbose_name = "Master securityholder file"
    description = "Every holding as of a date or block: holder registration, quantity, dates, exemption, legend."
    holder_data = True
    takes = frozenset({"as_of", "block", "closed"})
    columns = (
        Column("holder_id", "Holder id", 1.4),
        Column("legal_name", "Registered name", 1.6),
        Column("holder_type", "Holder type", 0.9),
        Column("address", "Registered address", 1.8),
        Column("country", "Country", 0.5),
        Column("tax_form", "Tax form", 0.6),
        Column("tax_form_status", "Tax form status", 0.6),
        Column("accreditation", "Accreditation", 0.9),
        Column("accreditation_method", "Verification method", 0),
        Column("wallet", "Wallet", 1.5),
        Column("lot", "Lot", 0.4),
        Column("quantity", "Quantity", 0.7),
        Column("original_quantity", "Lot opened with", 0),
        Column("issue_date", "Issue date", 0.7),
        Column("acquisition_date", "Acquired", 0.7),
        Column("cancellation_date", "Cancellation date", 0.7),
        Column("exemption", "Exemption", 0.9),
        Column("legend", "Legend", 0),
        Column("lockup_release", "Lock-up release", 0.9),
        Column("cost_basis_minor", "Cost basis (minor units)", 0),
        Column("currency", "Currency", 0),
        Column("transaction_hash", "Transaction", 0),
    )

    def row_count(self, offering: Offering, params: ExportParams) -> int:
        return lots_as_of(offering, params).count()

    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        exemptions = dict(Exemption.choices)
        legends: dict[str, str] = {}
        for value in exemptions:
            legend = legend_for(value)
            legends[value] = legend.name if legend else ""
        base = lots_as_of(offering, params).order_by("pk")
        last = 0
        while True:
            chunk: list[tuple[Any, ...]] = list(base.filter(pk__gt=last).values_list(*FIELDS)[: self.chunk_size])
            if not chunk:
                return
            last = chunk[-1][0]
            holders = holder_details(investor_ids={r[1] for r in chunk}, at=params.as_of_moment)
            for (
                pk,
                investor_id,
                wallet,
                quantity,
                issued_at,
                acquired_at,
                exemption,
                lockup_release,
                cost_basis,
                currency,
                tx_hash,
                remaining,
                closed_at,
            ) in chunk:
                h = holders.get(investor_id) if investor_id is not None else None
                yield (
                    h.reference if h else "",
                    h.legal_name if h else UNKNOWN_HOLDER,
                    h.holder_type if h else "",
                    h.address if h else "",
                    h.country if h else "",
                    h.tax_form if h else "",
                    h.tax_form_status if h else "",
                    h.accreditation_status if h else "",
                    h.accreditation_method if h else "",
                    wallet,
                    pk,
                    int(remaining),
                    quantity,
                    day_text(issued_at),
                    day_text(acquired_at),
                    day_text(closed_at) if remaining == 0 else "",
                    exemptions.get(exemption, exemption),
                    legends.get(exemption, ""),
                    moment_text(lockup_release),
                    cost_basis,
                    currency,
                    tx_hash,
                )
