"""OFAC's SDN list in its published CSV form: SDN.CSV, ALT.CSV (aliases) and ADD.CSV (addresses).

The files have no header row; an empty field is written `-0-`; the last line may hold a lone
SUB character (0x1A). Dates of birth and nationalities appear only inside the Remarks column.
OFAC has published them in Windows-1252 and, lately, in UTF-8 (some tools add a byte-order mark);
`decode` tells them apart instead of assuming one. ADD.CSV only improves matching and may be absent.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from core.countries import country_by_name

SDN_COLUMNS = (
    "ent_num",
    "SDN_Name",
    "SDN_Type",
    "Program",
    "Title",
    "Call_Sign",
    "Vess_type",
    "Tonnage",
    "GRT",
    "Vess_flag",
    "Vess_owner",
    "Remarks",
)
ALT_COLUMNS = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")
ADD_COLUMNS = ("ent_num", "add_num", "address", "city_state_province_postal", "country", "add_remarks")
FILES = ("SDN.CSV", "ALT.CSV", "ADD.CSV")
REQUIRED_FILES = ("SDN.CSV", "ALT.CSV")
EMPTY = "-0-"

_MONTHS = {
    m: i
    for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)
}
_DOB = re.compile(
    r"DOB\s+(?:circa\s+)?((?:\d{1,2}\s+)?(?:[A-Za-z]{3}\s+)?\d{4})(?:\s+to\s+((?:\d{1,2}\s+)?(?:[A-Za-z]{3}\s+)?\d{4}))?",
    re.IGNORECASE,
)
_NATIONALITY = re.compile(r"(?:nationality|citizen)\s+([A-Za-z .'-]+?)(?:;|\.|$|,)", re.IGNORECASE)
# OFAC writes some countries by names that differ from ISO's short names.
_COUNTRY_ALIASES = {
    "burma": "MM",
    "russia": "RU",
    "iran": "IR",
    "syria": "SY",
    "north korea": "KP",
    "korea, north": "KP",
    "korea, south": "KR",
    "south korea": "KR",
    "venezuela": "VE",
    "bolivia": "BO",
    "tanzania": "TZ",
    "laos": "LA",
    "vietnam": "VN",
    "moldova": "MD",
    "congo, democratic republic of the": "CD",
    "united kingdom": "GB",
    "united states": "US",
    "turkey": "TR",
    "west bank": "PS",
    "gaza": "PS",
}
_COUNTRY_BY_NAME = country_by_name() | _COUNTRY_ALIASES


_NUMBER = re.compile(r"[0-9]{1,9}", re.ASCII)


class ListFormatError(ValueError):
    pass


def decode(raw: bytes, *, label: str) -> str:
    """The text of one list file: UTF-8 (with or without a byte-order mark) or Windows-1252.

    Strict UTF-8 is tried first: Windows-1252 text with letters beyond ASCII is almost never
    valid UTF-8, so a file that decodes is UTF-8. Anything else (UTF-16, binary, a compressed
    download) raises ListFormatError rather than being read as garbled names.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in raw:
        raise ListFormatError(f"{label} is not text in UTF-8 or Windows-1252 (UTF-16 or binary data)")
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ListFormatError(
                f"{label} starts with a UTF-8 byte-order mark but byte {exc.start + 3} is not UTF-8"
            ) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ListFormatError(
            f"{label} is neither UTF-8 nor Windows-1252 (byte {exc.start} is 0x{raw[exc.start]:02X})"
        ) from exc


@dataclass
class Entry:
    ent_num: int
    name: str
    sdn_type: str
    program: str
    title: str
    remarks: str
    aliases: list[tuple[int, str, str, str]] = field(default_factory=list)  # alt_num, type, name, remarks
    addresses: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    birth_dates: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


def _value(raw: str) -> str:
    value = raw.strip()
    return "" if value == EMPTY else value


def _rows(text: str, columns: tuple[str, ...], label: str) -> Iterator[list[str]]:
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (len(row) == 1 and row[0].strip() in {"", "\x1a"}):
            continue
        if len(row) != len(columns):
            raise ListFormatError(f"{label} line {number}: {len(row)} columns, expected {len(columns)}")
        for position, column in enumerate(columns):
            # Entry, alias and address numbers: ASCII digits that fit the columns that store them.
            if column.endswith("_num") and not _NUMBER.fullmatch(row[position].strip()):
                raise ListFormatError(f"{label} line {number}: {column} “{row[position][:20]}” is not a number")
        yield [_value(v) for v in row]


def country_code(name: str) -> str | None:
    return _COUNTRY_BY_NAME.get(name.strip().lower().rstrip("."))


def _iso_date(text: str) -> str:
    parts = text.split()
    if len(parts) == 3:
        month = _MONTHS.get(parts[1][:3].lower())
        if month:
            return f"{int(parts[2]):04d}-{month:02d}-{int(parts[0]):02d}"
    if len(parts) == 2:
        month = _MONTHS.get(parts[0][:3].lower())
        if month:
            return f"{int(parts[1]):04d}-{month:02d}"
    return parts[-1]


def birth_dates(remarks: str) -> list[str]:
    """ISO dates ("1960-01-12"), months ("1960-01") or years ("1960") named by DOB in the remarks."""
    found: list[str] = []
    for match in _DOB.finditer(remarks):
        start = _iso_date(match[1])
        found.append(start)
        if match[2]:
            first, last = int(start[:4]), int(_iso_date(match[2])[:4])
            found += [str(year) for year in range(first + 1, min(last, first + 20) + 1)]
    return found


def remark_countries(remarks: str) -> list[str]:
    codes = []
    for match in _NATIONALITY.finditer(remarks):
        code = country_code(match[1])
        if code:
            codes.append(code)
    return codes


def parse(*, sdn: str, alt: str, add: str = "") -> list[Entry]:
    """All entries with their aliases and addresses; ListFormatError names the first bad line."""
    entries: dict[int, Entry] = {}
    for row in _rows(sdn, SDN_COLUMNS, "SDN.CSV"):
        ent_num = int(row[0])
        if not row[1]:
            raise ListFormatError(f"SDN.CSV: entry {ent_num} has no name")
        entries[ent_num] = Entry(
            ent_num=ent_num,
            name=row[1],
            sdn_type=row[2].lower(),
            program=row[3],
            title=row[4],
            remarks=row[11],
            birth_dates=birth_dates(row[11]),
            countries=remark_countries(row[11]),
        )
    for row in _rows(alt, ALT_COLUMNS, "ALT.CSV"):
        entry = entries.get(int(row[0]))
        if entry is not None and row[3]:
            entry.aliases.append((int(row[1]), row[2], row[3], row[4]))
    for row in _rows(add, ADD_COLUMNS, "ADD.CSV"):
        entry = entries.get(int(row[0]))
        if entry is not None:
            entry.addresses.append((int(row[1]), row[2], row[3], row[4], row[5]))
            code = country_code(row[4]) if row[4] else None
            if code and code not in entry.countries:
                entry.countries.append(code)
    return list(entries.values())
