"""The master securityholder file (17Ad-9): every holding on the register as of a block or a date.

One row per lot with units left at that point (with `include_closed`, also the lots emptied by then,
with their cancellation date): how the holder is registered (name, holder type, address, country),
tax form and accreditation status, the quantity, issue and acquisition dates, exemption, legend,
lock-up release, wallet and the transaction that opened the lot (an identifier the agent needs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.db.models import CharField, Max, Q, QuerySet, Sum
from django.db.models.functions import Cast

from compliance.exemptions import Exemption
from core.csv import Cell
from core.raw_rows import queryset_rows_raw
from registry.exporters.base import Column, Exporter, ExportParams
from registry.legends import legend_for
from registry.models import Lot
from registry.selectors.holders import holder_details

if TYPE_CHECKING:
    from offerings.models import Offering

UNKNOWN_HOLDER = "Wallet not linked to a registered holder"
UNREGISTERED = ("", UNKNOWN_HOLDER, "", "", "", "", "", "", "")
# Timestamps are read as the database's text (UTC, "YYYY-MM-DD HH:MM:SS..."): parsing a million of
# them into datetimes only to print them again would cost more than the rest of a row.
FIELDS = (
    "pk",
    "investor_id",
    "wallet",
    "quantity",
    "issued_text",
    "acquired_text",
    "exemption",
    "lockup_text",
    "cost_basis_minor",
    "currency",
    "transaction_hash",
    "remaining",
    "closed_text",
)


def _moment(text: str | None) -> str:
    return f"{text[:10]}T{text[11:19]}Z" if text else ""


def lots_as_of(offering: Offering, params: ExportParams) -> QuerySet[Lot]:
    """Lots opened by then, with what remained of each and when units last left it (both at that point)."""
    moved = Q()
    if params.as_of_block is not None:
        moved &= Q(movements__block_number__lte=params.as_of_block)
    if params.as_of_moment is not None:
        moved &= Q(movements__chain_time__lte=params.as_of_moment)
    rows = Lot.objects.filter(offering=offering).annotate(
        remaining=Sum("movements__delta", filter=moved),
        closed_text=Cast(Max("movements__chain_time", filter=moved & Q(movements__delta__lt=0)), CharField()),
        issued_text=Cast("issued_at", CharField()),
        acquired_text=Cast("acquired_at", CharField()),
        lockup_text=Cast("lockup_release", CharField()),
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
        exemptions, legends = exemption_cells()
        base = lots_as_of(offering, params).order_by("pk")
        for last, upper in lot_windows(offering, self.chunk_size):
            window = base.filter(pk__gt=last) if upper is None else base.filter(pk__gt=last, pk__lte=upper)
            chunk = queryset_rows_raw(window.values_list(*FIELDS))
            if upper is None and not chunk:
                return
            lots = Lot.objects.filter(offering=offering, pk__gt=last, investor__isnull=False)
            lots = lots if upper is None else lots.filter(pk__lte=upper)
            holders = holder_details(investor_ids=lots.values("investor_id"), at=params.as_of_moment)
            # The nine registration columns, in HolderDetails' order after its investor id.
            registered = {pk: h[1:] for pk, h in holders.items()}
            for (
                pk,
                investor_id,
                wallet,
                quantity,
                issued,
                acquired,
                exemption,
                lockup,
                cost_basis,
                currency,
                tx_hash,
                remaining,
                closed,
            ) in chunk:
                yield (
                    *registered.get(investor_id, UNREGISTERED),
                    wallet,
                    pk,
                    int(remaining),
                    quantity,
                    issued[:10],
                    acquired[:10],
                    closed[:10] if remaining == 0 and closed else "",
                    exemptions.get(exemption, exemption),
                    legends.get(exemption, ""),
                    _moment(lockup),
                    cost_basis,
                    currency,
                    tx_hash,
                )

    def csv_text(self, offering: Offering, params: ExportParams) -> Iterator[tuple[int, str]]:
        from registry.exporters.master_file_csv import master_file_csv_text

        return master_file_csv_text(self, offering, params)


def exemption_cells() -> tuple[dict[str, str], dict[str, str]]:
    """Exemption code → its label, and → the name of the legend its units carry."""
    exemptions = dict(Exemption.choices)
    legends: dict[str, str] = {}
    for value in exemptions:
        legend = legend_for(value)
        legends[value] = legend.name if legend else ""
    return exemptions, legends


def lot_windows(offering: Offering, size: int) -> Iterator[tuple[int, int | None]]:
    """Bounds (after, up to) of each chunk of the offering's lots by id; the last chunk has no upper bound.

    The next chunk's last lot id comes from the index alone, so each aggregate covers at most `size` lots
    whatever the database's planner would do with a LIMIT over a GROUP BY."""
    ids = Lot.objects.filter(offering=offering).order_by("pk").values_list("pk", flat=True)
    last = 0
    while True:
        upper = next(iter(ids.filter(pk__gt=last)[size - 1 : size]), None)
        yield last, upper
        if upper is None:
            return
        last = upper
