"""The interface every register exporter implements, and what they share.

An exporter names its columns and yields rows (`rows`), reading the database in chunks so that an
export of any size holds only one chunk in memory; the writers in `registry.exporters.writers` turn
those rows into CSV (formula-safe, streamed), XLSX (write-only) or PDF (paged, with the issuer, the
as-of point and the page number on every page). An exporter that writes a package of its own (the
Open Cap Format cap table) overrides `write`. Exporters are chosen by `settings.REGISTRY_EXPORTERS`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, ClassVar, TypeVar

from django.utils import timezone

from core.csv import Cell, csv_lines
from core.errors import ApplicationError
from registry.selectors.ledger import AsOf

if TYPE_CHECKING:
    from offerings.models import Offering

T = TypeVar("T")
# Called with the number of rows written so far, once per chunk.
Progress = Callable[[int], None]

CSV, XLSX, PDF, OCF = "csv", "xlsx", "pdf", "ocf"
FORMAT_LABELS = {CSV: "CSV", XLSX: "Excel (XLSX)", PDF: "PDF", OCF: "Open Cap Format package (.ocf.zip)"}
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    PDF: "application/pdf",
    OCF: "application/zip",
}
EXTENSIONS = {CSV: "csv", XLSX: "xlsx", PDF: "pdf", OCF: "ocf.zip"}
# A PDF is built in memory page by page; past this many rows a spreadsheet format is the right tool.
PDF_MAX_ROWS = 50_000


class ExportError(ApplicationError):
    """The export cannot be made as asked; `message` says why, for the person who asked."""

    code = "export_invalid"


@dataclass(frozen=True)
class ExportParams:
    """What an export covers: a point on the register (a block, or the end of a day), a period, a tax year,
    or one record of an app above the registry (a distribution or a ballot, by its public id)."""

    as_of_block: int | None = None
    as_of_date: dt.date | None = None
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive
    include_closed: bool = False
    tax_year: int | None = None
    distribution: uuid.UUID | None = None
    ballot: uuid.UUID | None = None

    @property
    def as_of_moment(self) -> dt.datetime | None:
        """The last instant of the as-of day, in UTC: the register as it stood when that day ended."""
        if self.as_of_date is None:
            return None
        return dt.datetime.combine(self.as_of_date, dt.time.max, tzinfo=dt.UTC)

    @property
    def point(self) -> AsOf:
        return AsOf(block=self.as_of_block, at=self.as_of_moment)

    def describe(self, *, now: dt.datetime | None = None) -> str:
        """The as-of line printed on every page; `now` is when an export "as of now" was made."""
        if self.tax_year is not None:
            return f"Tax year {self.tax_year} (payments made 1 January to 31 December, UTC)"
        if self.distribution is not None:
            return f"Distribution {self.distribution}"
        if self.ballot is not None:
            return f"Ballot {self.ballot}"
        if self.since is not None or self.until is not None:
            start = self.since.isoformat() if self.since else "the first posting"
            end = self.until.isoformat() if self.until else "today"
            return f"Period {start} to {end} (UTC)"
        parts = []
        if self.as_of_date is not None:
            parts.append(f"end of {self.as_of_date.isoformat()} (UTC)")
        if self.as_of_block is not None:
            parts.append(f"block {self.as_of_block}")
        return "As of " + (", ".join(parts) if parts else (now or timezone.now()).strftime("%Y-%m-%d %H:%M UTC"))

    def slug(self) -> str:
        if self.tax_year is not None:
            return str(self.tax_year)
        if self.distribution is not None:
            return self.distribution.hex[:8]
        if self.ballot is not None:
            return self.ballot.hex[:8]
        if self.since is not None or self.until is not None:
            return f"{self.since or 'start'}_{self.until or 'today'}"
        if self.as_of_block is not None:
            return f"block-{self.as_of_block}"
        if self.as_of_date is not None:
            return self.as_of_date.isoformat()
        return timezone.now().date().isoformat()

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of_block": self.as_of_block,
            "as_of_date": self.as_of_date.isoformat() if self.as_of_date else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "include_closed": self.include_closed,
            "tax_year": self.tax_year,
            "distribution": str(self.distribution) if self.distribution else None,
            "ballot": str(self.ballot) if self.ballot else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportParams:
        def day(value: Any) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        block = data.get("as_of_block")
        year = data.get("tax_year")
        distribution = data.get("distribution")
        ballot = data.get("ballot")
        return cls(
            as_of_block=int(block) if block is not None else None,
            as_of_date=day(data.get("as_of_date")),
            since=day(data.get("since")),
            until=day(data.get("until")),
            include_closed=bool(data.get("include_closed")),
            tax_year=int(year) if year is not None else None,
            distribution=uuid.UUID(str(distribution)) if distribution else None,
            ballot=uuid.UUID(str(ballot)) if ballot else None,
        )


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    # Share of the page width in the PDF; 0 leaves the column out of the PDF (it stays in CSV and XLSX).
    pdf_width: float = 1.0


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def day_text(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date().isoformat()
    return value.isoformat()


def moment_text(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Exporter(ABC):
    identifier: ClassVar[str]
    verbose_name: ClassVar[str]
    description: ClassVar[str] = ""
    formats: ClassVar[tuple[str, ...]] = (CSV, XLSX, PDF)
    # Rows name holders (names, addresses, tax status): requests and downloads are audited.
    holder_data: ClassVar[bool] = False
    # Which parameters the export takes: "as_of" (a date), "block", "period" (since/until), "closed",
    # "tax_year", "distribution" or "ballot" (the public id of one distribution or ballot, asked for from its page).
    takes: ClassVar[frozenset[str]] = frozenset({"as_of"})
    columns: ClassVar[tuple[Column, ...]] = ()
    chunk_size: ClassVar[int] = 2000

    @abstractmethod
    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        """One row per record, in the order of `columns`, read in chunks of `chunk_size`."""

    @abstractmethod
    def row_count(self, offering: Offering, params: ExportParams) -> int:
        """How many rows `rows` yields, for the progress bar."""

    def params_check(self, params: ExportParams) -> None:
        """Refuse parameters that make no sense for this export."""
        today = timezone.now().date()
        for name in ("as_of_date", "since", "until"):
            value = getattr(params, name)
            if value is not None and value > today:
                raise ExportError(f"The date {value.isoformat()} is in the future.", code="date_in_future")
        if params.as_of_block is not None and params.as_of_block < 0:
            raise ExportError("A block number is zero or more.", code="invalid_block")
        if params.since and params.until and params.since > params.until:
            raise ExportError("The period starts after it ends.", code="period_reversed")
        if "tax_year" in self.takes and params.tax_year is None:
            raise ExportError(f"{self.verbose_name} is for a tax year: choose one.", code="tax_year_missing")
        if params.tax_year is not None and not 2000 <= params.tax_year <= today.year:
            raise ExportError(f"There is no tax year {params.tax_year} to report yet.", code="tax_year_invalid")
        if "distribution" in self.takes and params.distribution is None:
            raise ExportError(
                f"{self.verbose_name} is of one distribution: ask for it from that distribution's page.",
                code="distribution_missing",
            )
        if "ballot" in self.takes and params.ballot is None:
            raise ExportError(
                f"{self.verbose_name} is of one ballot: ask for it from that ballot's page.", code="ballot_missing"
            )

    def request_check(self, offering: Offering, params: ExportParams) -> None:
        """Refuse, before anything is queued, an export of something that is not the offering's (the default
        has nothing to check beyond `params_check`)."""
        return None

    def scope(self, offering: Offering) -> str:
        """What the export covers, under its title on every page: the token, unless it spans the issuer."""
        return f"{offering.title} ({offering.token_symbol})"

    def csv_text(self, offering: Offering, params: ExportParams) -> Iterator[tuple[int, str]]:
        """The CSV file in pieces of whole lines, each with the number of rows in it: the header line first
        (no rows), then the rows a chunk at a time. An exporter may write its lines faster; they must be
        the lines `core.csv.csv_lines` writes for `header()` and `rows()`."""
        lines = csv_lines(self.header(), self.rows(offering, params))
        yield 0, next(lines)
        for chunk in chunked(lines, self.chunk_size):
            yield len(chunk), "".join(chunk)

    def header(self) -> list[str]:
        return [c.title for c in self.columns]

    def filename(self, offering: Offering, params: ExportParams, fmt: str) -> str:
        symbol = "".join(ch for ch in offering.token_symbol if ch.isalnum()) or "token"
        return f"{symbol}-{self.identifier}-{params.slug()}.{EXTENSIONS[fmt]}"

    def write(
        self, *, offering: Offering, params: ExportParams, fmt: str, out: IO[bytes], progress: Progress | None = None
    ) -> int:
        """Write the export to `out` in `fmt`; returns the number of rows written."""
        from registry.exporters import writers

        if fmt not in self.formats:
            raise ExportError(f"{self.verbose_name} cannot be written as {fmt}.", code="format_unsupported")
        write = {CSV: writers.csv_write, XLSX: writers.xlsx_write, PDF: writers.pdf_write}[fmt]
        return write(exporter=self, offering=offering, params=params, out=out, progress=progress)
