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
- Each chunk of lots is read in a thread of the export while the chunk before it is formatted, through the
  export's own connection (the holders' table is a temporary table of that connection): the database and
  this process work at the same time, and two chunks of at most READ_AHEAD_LOTS lots are in memory.
"""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connections

from core.csv import csv_cells_text, csv_lines, csv_plain
from registry.exporters.base import ExportParams, chunked
from registry.exporters.master_file import FIELDS, UNREGISTERED, exemption_cells, lots_as_of
from registry.models import Lot
from registry.selectors.holders import holder_details

if TYPE_CHECKING:
    from offerings.models import Offering
    from registry.exporters.master_file import MasterFileExporter

# Holders whose registration is read and written per batch while the table is filled.
HOLDER_BATCH = 1000
# Lots per chunk at most: two chunks are in memory at once (one formatted, the next read meanwhile).
READ_AHEAD_LOTS = 1000
WALLET, CURRENCY, TX_HASH = FIELDS.index("wallet"), FIELDS.index("currency"), FIELDS.index("transaction_hash")


def _registration_table(connection: Any, offering: Offering, params: ExportParams) -> str:
    """A temporary table: investor id → the holder's registration cells as CSV text, as of the export's point.

    On PostgreSQL each batch's cells are copied into the table (COPY), not inserted a row at a time."""
    name = f"tessera_holder_cells_{secrets.token_hex(6)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} (investor_id bigint PRIMARY KEY, cells text NOT NULL)")
    holding = Lot.objects.filter(offering=offering, investor__isnull=False)
    investors = holding.order_by("investor_id").values_list("investor_id", flat=True).distinct()
    for batch in chunked(investors.iterator(chunk_size=HOLDER_BATCH), HOLDER_BATCH):
        details = holder_details(investor_ids=batch, at=params.as_of_moment)
        rows = [(pk, csv_cells_text(holder[1:])) for pk, holder in details.items()]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {name} (investor_id, cells) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(
                    f"INSERT INTO {name} (investor_id, cells) VALUES (%s, %s)",  # noqa: S608 - our own table name
                    rows,
                )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {name}")
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


# Stand-ins for a window's bounds while its query is written once; each window's values replace them.
_AFTER, _UP_TO = -7_340_011, -7_340_029


def _window_sql(queryset: Any) -> Callable[..., tuple[str, list[Any]]]:
    """The query's SQL, written by the ORM once, and its parameters with the stand-ins replaced."""
    sql, args = queryset.query.sql_with_params()
    at = {i: a for i, a in enumerate(args) if type(a) is int and a in (_AFTER, _UP_TO)}

    def write(after: int, up_to: int = 0) -> tuple[str, list[Any]]:
        bounds = {_AFTER: after, _UP_TO: up_to}
        return sql, [bounds[at[i]] if i in at else a for i, a in enumerate(args)]

    return write


def _lot_chunks(
    exporter: MasterFileExporter, offering: Offering, params: ExportParams, connection: Any, table: str
) -> Iterator[list[tuple[Any, ...]]]:
    """Each chunk of lots with its holder's cells, read through `connection` alone (its SQL is written before
    the first read): it runs in a thread of its own while the previous chunk is formatted."""
    size = min(exporter.chunk_size, READ_AHEAD_LOTS)
    ids = Lot.objects.filter(offering=offering).order_by("pk").values_list("pk", flat=True)
    next_upper = _window_sql(ids.filter(pk__gt=_AFTER)[size - 1 : size])
    base = lots_as_of(offering, params).order_by("pk").values_list(*FIELDS)
    # The chunk's lots as the ORM writes the query, each joined to its holder's cells.
    join = f"SELECT w.*, h.cells FROM ({{}}) w LEFT JOIN {table} h ON h.investor_id = w.investor_id ORDER BY w.pk"  # noqa: S608 - the ORM's SQL and our own table name
    bounded = _window_sql(base.filter(pk__gt=_AFTER, pk__lte=_UP_TO))
    rest = _window_sql(base.filter(pk__gt=_AFTER))
    # The bounds of each chunk as `lot_windows` sets them: the next chunk's last lot id from the index alone.
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(*next_upper(last))
            found = cursor.fetchone()
            upper = None if found is None else found[0]
            sql, args = rest(last) if upper is None else bounded(last, upper)
            cursor.execute(join.format(sql), args)
            chunk = cursor.fetchall()
        if chunk or upper is None:
            yield chunk
        if upper is None:
            return
        last = upper


def _read_ahead(connection: Any, chunks: Iterator[list[tuple[Any, ...]]]) -> Iterator[list[tuple[Any, ...]]]:
    """The chunks, each read in a thread while the one before is formatted: the database works on the next
    chunk while this process writes the last one. At most two chunks are held (the one handed over and the
    one being read); the thread uses the export's own connection (its temporary table, its transaction) and
    only while the caller does not."""
    handed: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    taken = threading.Semaphore(0)
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                handed.put(("chunk", chunk))
                taken.acquire()
                if stop.is_set():
                    return
            handed.put(("end", None))
        except BaseException as error:  # noqa: BLE001 - handed to the caller, which raises it
            handed.put(("error", error))

    connection.inc_thread_sharing()
    reader = threading.Thread(target=read, name="master-file-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = handed.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            taken.release()  # the thread reads the next chunk while this one is formatted
            yield value
    finally:
        stop.set()
        taken.release()
        reader.join()
        connection.dec_thread_sharing()


def _chunks(
    exporter: MasterFileExporter, offering: Offering, params: ExportParams, connection: Any, table: str
) -> Iterator[tuple[int, str]]:
    labels, legends = exemption_cells()
    exemption_text: dict[str, str] = {}
    unregistered = csv_cells_text(UNREGISTERED)
    for chunk in _read_ahead(connection, _lot_chunks(exporter, offering, params, connection, table)):
        if not chunk:
            return
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
