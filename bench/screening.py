"""Sanctions screening at scale: the whole investor base against an OFAC-sized list.

    python -m bench.screening [--json] [--quick] [--investors N] [--entries N]

Builds a scratch SQLite database, writes a synthetic SDN list in OFAC's CSV format (SDN.CSV,
ALT.CSV, ADD.CSV) and loads it with the portal's loader, creates the investors (dates of birth
encrypted as in production, a few of them variants of listed names), then times
`sanctions_rescreen_all()` in a fresh process and reports that process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "sa",
    "na",
    "lu",
    "te",
    "vo",
    "da",
    "mi",
    "ze",
    "ra",
    "no",
    "ha",
    "si",
    "ku",
    "be",
    "la",
    "ta",
    "fi",
    "go",
    "jo",
    "ma",
    "ne",
    "po",
    "qu",
    "re",
    "su",
    "ti",
    "va",
    "al",
    "an",
    "ar",
    "el",
    "en",
    "er",
    "il",
    "in",
    "or",
    "un",
    "os",
    "as",
    "es",
    "is",
    "us",
    "ad",
    "ed",
    "id",
    "od",
    "ub",
    "ib",
    "eb",
]
GIVEN = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Maria",
    "Ahmed",
    "Fatima",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Olga",
    "Ivan",
    "Pierre",
    "Claire",
    "Lars",
    "Ingrid",
    "Rahul",
    "Priya",
    "Kwame",
    "Amara",
    "Diego",
    "Lucia",
    "Mateus",
    "Ana",
    "Omar",
    "Leila",
    "Sven",
    "Astrid",
    "Pavel",
    "Elena",
    "Jonas",
    "Nora",
]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "CA", "MX", "BR", "JP", "IN", "NG", "ZA", "AU", "SE", "NL"]


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _listed_name(rng: random.Random) -> tuple[str, str]:
    last, first, middle = _word(rng, 3), _word(rng, 2), _word(rng, 2)
    return f"{last.upper()}, {first} {middle}", f"{first} {middle} {last}"


def write_list(directory: Path, *, entries: int, rng: random.Random) -> list[tuple[str, str]]:
    """The list files, and (listed name, date of birth) of some individuals to plant among investors."""
    sdn, alt, add = [], [], []
    planted: list[tuple[str, str]] = []
    empty = "-0- "
    alt_num = add_num = 1
    for ent_num in range(1, entries + 1):
        if ent_num % 5 == 0:  # entities
            name = f"{_word(rng, 3).upper()} {rng.choice(['TRADING', 'SHIPPING', 'BANK', 'HOLDING'])} CO"
            sdn.append(
                f'{ent_num},"{name}",{empty},"SDGT",{empty},{empty},{empty},{empty},{empty},{empty},{empty},{empty}'
            )
        else:
            listed, plain = _listed_name(rng)
            year, month, day = rng.randint(1940, 1995), rng.randint(1, 12), rng.randint(1, 28)
            dob = f"{day:02d} {MONTHS[month - 1]} {year}"
            remarks = f'"DOB {dob}; nationality {rng.choice(["Iran", "Russia", "Syria", "Venezuela", "Cuba"])}."'
            sdn.append(
                f'{ent_num},"{listed}","individual","SDGT",{empty},{empty},{empty},{empty},{empty},{empty},{empty},{remarks}'
            )
            if len(planted) < entries // 200:
                planted.append((plain, f"{year:04d}-{month:02d}-{day:02d}"))
        if ent_num % 3 == 0:
            alt.append(f'{ent_num},{alt_num},"aka","{_word(rng, 3).upper()}, {_word(rng, 2)}",{empty}')
            alt_num += 1
        add.append(f'{ent_num},{add_num},{empty},"{_word(rng, 2)}","{rng.choice(["Iran", "Russia", "Syria"])}",{empty}')
        add_num += 1
    for name, rows in (("SDN.CSV", sdn), ("ALT.CSV", alt), ("ADD.CSV", add)):
        (directory / name).write_bytes(("\r\n".join(rows) + "\r\n\x1a\r\n").encode("cp1252"))
    return planted


def _variant(name: str, rng: random.Random) -> str:
    words = name.split()
    choice = rng.randrange(3)
    if choice == 0:
        return " ".join(reversed(words))  # reordered
    if choice == 1:
        return name.lower().replace("a", "á", 1)  # case and accent
    word = rng.randrange(len(words))
    w = words[word]
    words[word] = w[:2] + w[3:] if len(w) > 4 else w  # one letter dropped
    return " ".join(words)


def populate(*, investors: int, entries: int, workdir: Path) -> dict[str, int]:
    import datetime as dt

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from compliance.services.sanctions import sanctions_files_fetch, sanctions_list_load
    from core.models import User
    from investors.models import InvestorProfile

    rng = random.Random(20260101)
    list_dir = workdir / "ofac"
    list_dir.mkdir()
    planted = write_list(list_dir, entries=entries, rng=rng)
    sanctions_list_load(
        files=sanctions_files_fetch(source=str(list_dir)), source=str(list_dir), actor=None, rescreen_after_commit=False
    )
    batch = 5000
    for start in range(0, investors, batch):
        size = min(batch, investors - start)
        users = User.objects.bulk_create(
            [User(email=f"investor{start + i}@bench.example", password="!") for i in range(size)], batch_size=batch
        )
        profiles = []
        for i, user in enumerate(users):
            n = start + i
            if n % max(1, investors // max(1, len(planted))) == 0 and planted:
                listed, dob = planted[(n // max(1, investors // len(planted))) % len(planted)]
                name, birth = _variant(listed, rng), dt.date.fromisoformat(dob)
            else:
                name = f"{rng.choice(GIVEN)} {_word(rng, 2)} {_word(rng, 3)}"
                birth = dt.date(rng.randint(1940, 2000), rng.randint(1, 12), rng.randint(1, 28))
            profiles.append(
                InvestorProfile(
                    user=user, kind="individual", legal_name=name, date_of_birth=birth, country=rng.choice(COUNTRIES)
                )
            )
        InvestorProfile.objects.bulk_create(profiles, batch_size=batch)
    return {"planted": min(len(planted), investors)}


def screen() -> dict[str, float | int]:
    """Runs in its own process so its peak memory is the screening's alone."""
    from compliance.models import ScreeningHit
    from compliance.services.sanctions import sanctions_rescreen_all

    started = time.perf_counter()
    summary = sanctions_rescreen_all()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb, 1),
        "hits": ScreeningHit.objects.count(),
        "subjects": summary.subjects,
    }


def _setup_django(workdir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["TESSERA_VAR_DIR"] = str(workdir)
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument("--quick", action="store_true", help="10,000 investors against 2,000 entries")
    parser.add_argument("--investors", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--screen-only", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.screen_only:
        _setup_django(Path(args.screen_only))
        print(json.dumps(screen()))
        return

    investors, entries = (10_000, 2_000) if args.quick else (args.investors, args.entries)
    workdir = Path(tempfile.mkdtemp(prefix="tessera-screening-"))
    try:
        _setup_django(workdir)
        setup_started = time.perf_counter()
        populate(investors=investors, entries=entries, workdir=workdir)
        setup_seconds = time.perf_counter() - setup_started
        child = subprocess.run(
            [sys.executable, "-m", "bench.screening", "--screen-only", str(workdir)],
            cwd=ROOT,
            env={**os.environ},
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "investors": investors,
        "list_entries": entries,
        "seconds": figures["seconds"],
        "peak_mb": figures["peak_mb"],
        "hits": figures["hits"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"Sanctions screening ({'quick' if args.quick else 'full'} size); setup took {setup_seconds:.0f} s")
    print(f"{'investors':<16}{investors:>12,}")
    print(f"{'list entries':<16}{entries:>12,}")
    print(f"{'seconds':<16}{figures['seconds']:>12.2f}   target ≤ 60")
    print(f"{'peak memory MB':<16}{figures['peak_mb']:>12.1f}")
    print(f"{'hits':<16}{figures['hits']:>12,}")


if __name__ == "__main__":
    main()
