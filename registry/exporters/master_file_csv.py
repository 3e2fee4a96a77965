"""The master file as CSV, put together a chunk of lines at a time: the lines `core.csv.csv_lines` writes for
`MasterFileExporter.rows`, at the pace a register of a million holdings needs.

- Each holder's nine registration cells are written once, as CSV text, into a temporary table of the
  export's database connection (dropped when the export ends) and read back joined to each chunk of lots:
  a holder with ten lots is looked up once, not ten times, and no holder is kept in memory between chunks.
- A lot's own cells are joined with ",". The text that comes from the ledger (wallet, currency, transaction)
  is checked a chunk at a time for anything the csv writer would quote or neutralise as a formula; a chunk
  that has some writes its lots' cells through the writer instead. Numbers are written as numbers, dates are
  the database's text cut to the day (they start with a digit: nothing to escape), and exemption and legend
  cells are written once per exemption.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connections

from core.csv import csv_cells_text, csv_lines, csv_plain
from registry.exporters.base import ExportParams, chunked
from registry.exporters.master_file import FIELDS, UNREGISTERED, exemption_cells, lot_windows, lots_as_of
from registry.models import Lot
from registry.selectors.holders import holder_details

if TYPE_CHECKING:
    from offerings.models import Offering
    from registry.exporters.master_file import MasterFileExporter

# Holders whose registration is read and written per batch while the table is filled.
HOLDER_BATCH = 1000
WALLET, CURRENCY, TX_HASH = FIELDS.index("wallet"), FIELDS.index("currency"), FIELDS.index("transaction_hash")


def _registration_table(connection: Any, offering: Offering, params: ExportParams) -> str:
    """A temporary table: investor id → the holder's registration cells as CSV text, as of the export's point."""
    name = f"tessera_holder_cells_{secrets.token_hex(6)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} (investor_id bigint PRIMARY KEY, cells text NOT NULL)")
    investors = (
        Lot.objects.filter(offering=offering, investor__isnull=False)
        .order_by("investor_id")
        .values_list("investor_id", flat=True)
        .distinct()
    )
    for batch in chunked(investors.iterator(chunk_size=HOLDER_BATCH), HOLDER_BATCH):
        details = holder_details(investor_ids=batch, at=params.as_of_moment)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {name} (investor_id, cells) VALUES (%s, %s)",  # noqa: S608 - our own table name
                [(pk, csv_cells_text(holder[1:])) for pk, holder in details.items()],
            )
    return name


def master_file_csv_text(
    exporter: MasterFileExporter, offering: Offering, params: ExportParams
) -> Iterator[tuple[int, str]]:
    yield 0, next(csv_lines(exporter.header(), ()))
    connection = connections[Lot.objects.db]
    table = _registration_table(connection, offering, params)
    try:
        yield from _chunks(exporter, offering, params, connection, table)
    except BaseException:
        # A failed statement may have ended the transaction the table was made in; the error is the news.
        with suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        raise
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _chunks(
    exporter: MasterFileExporter, offering: Offering, params: ExportParams, connection: Any, table: str
) -> Iterator[tuple[int, str]]:
    labels, legends = exemption_cells()
    exemption_text: dict[str, str] = {}
    unregistered = csv_cells_text(UNREGISTERED)
    base = lots_as_of(offering, params).order_by("pk")
    for last, upper in lot_windows(offering, exporter.chunk_size):
        window = base.filter(pk__gt=last) if upper is None else base.filter(pk__gt=last, pk__lte=upper)
        sql, args = window.values_list(*FIELDS).query.sql_with_params()
        with connection.cursor() as cursor:
            # The chunk's lots as the ORM writes the query, each joined to its holder's cells.
            joined = f"SELECT w.*, h.cells FROM ({sql}) w LEFT JOIN {table} h ON h.investor_id = w.investor_id"  # noqa: S608 - the ORM's SQL and our own table name
            cursor.execute(joined + " ORDER BY w.pk", args)
            chunk = cursor.fetchall()
        if not chunk:
            if upper is None:
                return
            continue
        columns = list(zip(*chunk, strict=True))
        plain = csv_plain(columns[WALLET]) and csv_plain(columns[CURRENCY]) and csv_plain(columns[TX_HASH])
        lines = []
        for (
            pk,
            _investor_id,
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
            cells,
        ) in chunk:
            remaining = int(remaining)
            closed = closed[:10] if remaining == 0 and closed else ""
            lockup = f"{lockup[:10]}T{lockup[11:19]}Z" if lockup else ""
            exempt = exemption_text.get(exemption)
            if exempt is None:
                exempt = exemption_text[exemption] = csv_cells_text(
                    (labels.get(exemption, exemption), legends.get(exemption, ""))
                )
            if plain:
                lines.append(
                    f"{cells or unregistered},{wallet},{pk},{remaining},{quantity},{issued[:10]},{acquired[:10]},"
                    f"{closed},{exempt},{lockup},{'' if cost_basis is None else cost_basis},{currency},{tx_hash}\r\n"
                )
            else:
                own = (
                    csv_cells_text((wallet, pk, remaining, quantity, issued[:10], acquired[:10], closed))
                    + f",{exempt},"
                    + csv_cells_text((lockup, cost_basis, currency, tx_hash))
                )
                lines.append(f"{cells or unregistered},{own}\r\n")
        yield len(lines), "".join(lines)
        if upper is None:
            return
