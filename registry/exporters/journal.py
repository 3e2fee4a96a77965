"""The transaction journal for a period: every posting on the register in chain order (17Ad-10)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from core.csv import Cell
from registry.exporters.base import Column, Exporter, ExportParams, chunked, moment_text
from registry.models import POSTING_LATE_AFTER_DAYS, LedgerPosting, PostingKind
from registry.selectors.holders import holder_details
from registry.selectors.ledger import journal

if TYPE_CHECKING:
    from offerings.models import Offering

FIELDS = (
    "block_number",
    "log_index",
    "chain_time",
    "posted_at",
    "kind",
    "quantity",
    "from_investor_id",
    "from_wallet",
    "to_investor_id",
    "to_wallet",
    "via_portal",
    "reason",
    "transaction_hash",
)


def _period(offering: Offering, params: ExportParams) -> QuerySet[LedgerPosting]:
    since = dt.datetime.combine(params.since, dt.time.min, tzinfo=dt.UTC) if params.since else None
    until = (
        dt.datetime.combine(params.until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC) if params.until else None
    )
    return journal(offering=offering, since=since, until=until).select_related(None)


class JournalExporter(Exporter):
    identifier = "journal"
    verbose_name = "Transaction journal"
    description = "Every posting in a period, in chain order: issuances, transfers, cancellations, freezes."
    holder_data = True
    takes = frozenset({"period"})
    columns = (
        Column("block", "Block", 0.6),
        Column("log_index", "Log", 0.3),
        Column("chain_time", "Chain time (UTC)", 1.1),
        Column("posted_at", "Posted (UTC)", 1.1),
        Column("late", "Posted late", 0.5),
        Column("kind", "Kind", 0.8),
        Column("quantity", "Quantity", 0.7),
        Column("from_holder_id", "From holder id", 0),
        Column("from_name", "From", 1.3),
        Column("from_wallet", "From wallet", 1.5),
        Column("to_holder_id", "To holder id", 0),
        Column("to_name", "To", 1.3),
        Column("to_wallet", "To wallet", 1.5),
        Column("via_portal", "Sent by the portal", 0),
        Column("reason", "Reason", 0),
        Column("transaction_hash", "Transaction", 0),
    )

    def row_count(self, offering: Offering, params: ExportParams) -> int:
        return _period(offering, params).count()

    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        kinds = dict(PostingKind.choices)
        late_after = dt.timedelta(days=POSTING_LATE_AFTER_DAYS)
        postings = _period(offering, params).values_list(*FIELDS).iterator(chunk_size=self.chunk_size)
        for chunk in chunked(postings, self.chunk_size):
            ids = {r[6] for r in chunk} | {r[8] for r in chunk}
            holders = holder_details(investor_ids={i for i in ids if i is not None})
            for block, log, chain_time, posted_at, kind, qty, from_id, from_w, to_id, to_w, portal, why, tx in chunk:
                f, t = holders.get(from_id), holders.get(to_id)
                yield (
                    block,
                    log,
                    moment_text(chain_time),
                    moment_text(posted_at),
                    "yes" if posted_at - chain_time > late_after else "no",
                    kinds.get(kind, kind),
                    qty,
                    f.reference if f else "",
                    f.legal_name if f else "",
                    from_w,
                    t.reference if t else "",
                    t.legal_name if t else "",
                    to_w,
                    "yes" if portal else "no",
                    why,
                    tx,
                )
