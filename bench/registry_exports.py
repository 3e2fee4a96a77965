"""python -m bench.registry_exports [--holdings N] [--ocf-holders N] [--reconcile-holders N] [--quick] [--json]

The exports section of `python -m bench.registry`, run in a process of its own. Three figures of the
register, on a scratch database (SQLite; PostgreSQL when DATABASE_URL or
BENCH_DATABASE_URL names a server: a scratch database is made there and dropped afterwards):

- export: the master securityholder file of N holdings (1,000,000 by default; 100,000 investors with
  ten lots each, tax forms and accreditation claims) streamed to CSV through the same exporter and
  `core.csv` lines the streaming download sends. It runs in a fresh process, so its peak memory is the
  peak resident set size (RSS, from getrusage) of a process that did nothing but the export, Python
  and Django included (VmHWM from /proc). Targets: >= 50,000 rows/s, peak <= 150 MB.
- ocf: the Open Cap Format package of the cap table for N holders (100,000), written and read back.
- reconcile: registry/services/reconciliation.py over N holders (100,000) minted in closing batches
  of 100, each batch in the control book; the on-chain supply is read through tokens.selectors from
  anvil, where a contract answering `totalSupply()` with the minted total is placed at the token's
  address (the benchmark measures the reconciliation, not a token deployment). Target: <= 10 s.

Setup writes investors and ledger rows in bulk (what onboarding and the indexer would have left
behind); only the export, the package and the reconciliation are timed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import ROOT, report, scratch_servers, stack

STUB_TOKEN = "0x00000000000000000000000000000000000000b7"
ZERO = "0x0000000000000000000000000000000000000000"


def _investors(count: int) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from core.models import User
    from investors.models import AccreditationClaim, InvestorProfile, TaxForm

    password = make_password(None)
    ids: list[int] = []
    signed = datetime.now(tz=UTC) - timedelta(days=400)
    for start in range(0, count, 5000):
        stop = min(count, start + 5000)
        users = User.objects.bulk_create(
            [User(email=f"holder{i}@bench.example", password=password) for i in range(start, stop)]
        )
        profiles = InvestorProfile.objects.bulk_create(
            [
                InvestorProfile(
                    user=u,
                    kind="individual" if i % 5 else "entity",
                    entity_type="" if i % 5 else "llc",
                    legal_name=f"Bench Holder {i}",
                    address_line1=f"{i} Market Street",
                    city="Springfield",
                    region="IL",
                    postal_code="62701",
                    country="US" if i % 3 else "DE",
                    kyc_status="approved",
                    screening_status="clear",
                )
                for i, u in zip(range(start, stop), users, strict=True)
            ]
        )
        TaxForm.objects.bulk_create(
            [
                TaxForm(investor=p, kind="w9" if i % 3 else "w8ben", signer_name=p.legal_name, signed_on=signed.date())
                for i, p in zip(range(start, stop), profiles, strict=True)
                if i % 7
            ]
        )
        AccreditationClaim.objects.bulk_create(
            [AccreditationClaim(investor=p, method="net_worth", status="verified") for p in profiles]
        )
        ids.extend(p.pk for p in profiles)
    return ids


def _offering(issuer: Any, admin: Any, symbol: str) -> Any:
    from offerings.models import Offering, OfferingStatus

    now = datetime.now(tz=UTC)
    return Offering.objects.create(
        issuer=issuer,
        title=f"Bench {symbol}",
        security_type="equity",
        exemption="reg_d_506c",
        price_minor=10_00,
        min_investment_minor=1_000_00,
        soft_cap_minor=1_00,
        hard_cap_minor=10**15,
        opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(days=30),
        token_name=f"Bench {symbol}",
        token_symbol=symbol,
        status=OfferingStatus.CLOSED,
        created_by=admin,
    )


def _holdings(investors: list[int], count: int) -> list[tuple[int | None, str, int]]:
    return [(investors[i % len(investors)], f"0x{i % len(investors) + 1:040x}", 1 + i % 97) for i in range(count)]


def _ledger_fast(
    offering: Any,
    holdings: list[tuple[int | None, str, int]],
    *,
    at: datetime,
    token: str,
    first_block: int,
    per_transaction: int = 100,
) -> None:
    """The rows `registry.tests.ledger_rows.mints_bulk` writes, inserted with executemany: a million
    holdings are four million rows, more than model instances can be made for in a benchmark's setup."""
    from django.db import connection, transaction

    from registry.models import LedgerPosting, Lot, LotMovement
    from tokens.models import ChainEvent

    ops = connection.ops
    when = ops.adapt_datetimefield_value(at)

    # The columns written below, in this order; a column added later takes its model default.
    written = {
        ChainEvent: 10,  # id .. indexed_at
        LedgerPosting: 17,  # id .. posted_at
        Lot: 14,  # id .. source_id
        LotMovement: 6,  # id .. chain_time
    }

    def insert(model: Any, rows: list[tuple[Any, ...]]) -> None:
        fields = model._meta.concrete_fields
        columns = [f.column for f in fields]
        extra = tuple(f.get_default() for f in fields[written[model] :])
        if extra:
            rows = [row + extra for row in rows]
        sql = (
            f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({', '.join(ops.quote_name(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def next_id(model: Any) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {ops.quote_name(model._meta.db_table)}")
            return int(cursor.fetchone()[0]) + 1

    base = {m: next_id(m) for m in (ChainEvent, LedgerPosting, Lot, LotMovement)}
    step = 20_000
    for start in range(0, len(holdings), step):
        events, postings, lots, movements = [], [], [], []
        for i, (investor_id, wallet, quantity) in enumerate(holdings[start : start + step], start=start):
            block = first_block + i // per_transaction
            # "b…" hashes, as mints_bulk writes them: one transaction and block per closing batch.
            block_hash = f"0xb{block:063x}"
            log = i % per_transaction
            args = ops.adapt_json_value({"from": ZERO, "to": wallet, "value": str(quantity)}, None)
            e, p, lot, mv = (base[ChainEvent] + i, base[LedgerPosting] + i, base[Lot] + i, base[LotMovement] + i)
            events.append((e, 31337, token, block, block_hash, block_hash, log, "Transfer", args, when))
            postings.append(
                (
                    *(p, e, offering.pk, "mint", block, block_hash, log, block_hash, "", wallet, None, investor_id),
                    *(quantity, True, "", when, when),
                )
            )
            lots.append(
                (
                    *(lot, offering.pk, investor_id, wallet, quantity, when, when, offering.exemption, None),
                    *(quantity * offering.price_minor, offering.currency, block_hash, p, None),
                )
            )
            movements.append((mv, lot, p, quantity, block, when))
        with transaction.atomic():
            insert(ChainEvent, events)
            insert(LedgerPosting, postings)
            insert(Lot, lots)
            insert(LotMovement, movements)
    if connection.vendor == "postgresql":
        from django.core.management.color import no_style

        with connection.cursor() as cursor:
            for sql in ops.sequence_reset_sql(no_style(), [ChainEvent, LedgerPosting, Lot, LotMovement]):
                cursor.execute(sql)


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not getrusage: its ru_maxrss keeps the parent's size
    from before exec, and the parent holds the whole seeded data set."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_child(offering_id: int) -> None:
    """In a fresh process: stream the master file to nowhere and print rows, seconds and peak RSS."""
    import django

    django.setup()
    from offerings.models import Offering
    from registry.exporters import ExportParams, exporter_get

    offering = Offering.objects.select_related("issuer").get(pk=offering_id)
    exporter = exporter_get("master_file")
    baseline_mb = _peak_rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    with open(os.devnull, "wb") as sink:
        rows = exporter.write(offering=offering, params=ExportParams(), fmt="csv", out=sink)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = _peak_rss_mb()
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_mb": peak_mb,
                "baseline_mb": baseline_mb,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdings", type=int, default=1_000_000)
    parser.add_argument("--ocf-holders", type=int, default=100_000)
    parser.add_argument("--reconcile-holders", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="20,000 holdings, 2,000 holders, for CI")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child is not None:
        export_child(args.export_child)
        return
    holdings = 20_000 if args.quick else args.holdings
    ocf_holders = 2_000 if args.quick else args.ocf_holders
    reconcile_holders = 2_000 if args.quick else args.reconcile_holders

    with scratch_servers(), stack() as s:
        from django.db import connection

        from core.models import Issuer, User
        from registry.exporters import ExportParams
        from registry.exporters.ocf import OcfCapTableExporter, ocf_package_read
        from registry.models import ControlBookEntry, ControlEntryKind
        from registry.services.reconciliation import reconcile
        from tokens.models import ContractDeployment, ContractKind

        setup_started = time.monotonic()
        issuer = Issuer.objects.create(
            name="Bench Registry", slug="bench-registry", legal_name="Bench Registry Inc.", jurisdiction="Delaware"
        )
        admin = User.objects.create_user("admin@bench.example", "bench-password-1")
        investors = _investors(max(holdings // 10, ocf_holders, reconcile_holders, 1))
        issued = datetime.now(tz=UTC) - timedelta(days=45)

        master = _offering(issuer, admin, "BMF")
        _ledger_fast(
            master,
            _holdings(investors, holdings),
            at=issued,
            per_transaction=100,
            token="0x" + "a1" * 20,
            first_block=10_000_000,
        )
        # The OCF package is an issuer's whole cap table: this token's issuer holds only it.
        ocf_issuer = Issuer.objects.create(
            name="Bench Cap Table", slug="bench-cap-table", legal_name="Bench Cap Table Inc.", jurisdiction="Delaware"
        )
        ocf = _offering(ocf_issuer, admin, "BOCF")
        _ledger_fast(
            ocf,
            _holdings(investors, ocf_holders),
            at=issued,
            per_transaction=100,
            token="0x" + "a2" * 20,
            first_block=20_000_000,
        )

        # Reconciliation: closing batches of 100 holders, each entered in the control book with its transaction.
        recon = _offering(issuer, admin, "BREC")
        recon_rows = _holdings(investors, reconcile_holders)
        _ledger_fast(recon, recon_rows, at=issued, per_transaction=100, token=STUB_TOKEN, first_block=1)
        batches = (reconcile_holders + 99) // 100
        ControlBookEntry.objects.bulk_create(
            [
                ControlBookEntry(
                    offering=recon,
                    kind=ControlEntryKind.ISSUE,
                    quantity=sum(q for _, _, q in recon_rows[b * 100 : (b + 1) * 100]),
                    transaction_hash=f"0xb{1 + b:063x}",
                )
                for b in range(batches)
            ]
        )
        supply = sum(q for _, _, q in recon_rows)
        # PUSH32 supply, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN: every call answers the minted total.
        s.anvil.rpc("anvil_setCode", [STUB_TOKEN, "0x7f" + f"{supply:064x}" + "60005260206000f3"])
        s.anvil.rpc("anvil_mine", [hex(batches + 2)])
        ContractDeployment.objects.create(
            chain_id=31337, kind=ContractKind.SECURITY_TOKEN, owner_ref=recon.owner_ref, address=STUB_TOKEN
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        setup_seconds = time.monotonic() - setup_started

        child = subprocess.run(
            [sys.executable, "-m", "bench.registry_exports", "--export-child", str(master.pk)],
            env=s.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"the export process failed:\n{child.stderr[-3000:]}")
        exported = json.loads(child.stdout.strip().splitlines()[-1])
        if exported["rows"] != holdings:
            raise RuntimeError(f"the master file has {exported['rows']} rows, not {holdings}")

        with tempfile.TemporaryFile() as package:
            started = time.perf_counter()
            OcfCapTableExporter().write(offering=ocf, params=ExportParams(), fmt="ocf", out=package)
            ocf_seconds = time.perf_counter() - started
            ocf_size = package.tell()
            package.seek(0)
            started = time.perf_counter()
            table = ocf_package_read(package)
            ocf_read_seconds = time.perf_counter() - started
        if sum(table.holdings().values()) != sum(q for _, _, q in _holdings(investors, ocf_holders)):
            raise RuntimeError("the OCF package does not read back to the ledger's total")

        started = time.perf_counter()
        run = reconcile(offering=recon)
        reconcile_seconds = time.perf_counter() - started
        if run is None or not run.balanced or run.differences_open:
            raise RuntimeError(f"the reconciliation did not balance: {run and run.__dict__}")

        database = connection.vendor
        payload = {
            "database": database,
            "export_rows": exported["rows"],
            "export_seconds": round(exported["seconds"], 2),
            "export_rows_per_second": round(exported["rows"] / exported["seconds"]),
            # The process's own CPU time (and the database's, for SQLite, which runs in it): on a shared machine
            # the wall clock also counts the time other processes held the cores.
            "export_cpu_seconds": round(exported["cpu_seconds"], 2),
            "export_peak_mb": round(exported["peak_mb"], 1),
            "export_baseline_mb": round(exported["baseline_mb"], 1),
            "export_peak_measure": "peak RSS (VmHWM) of a fresh process running only the export",
            "ocf_holders": ocf_holders,
            "ocf_seconds": round(ocf_seconds, 2),
            "ocf_read_seconds": round(ocf_read_seconds, 2),
            "ocf_bytes": ocf_size,
            "reconcile_holders": reconcile_holders,
            "reconcile_seconds": round(reconcile_seconds, 2),
            "setup_seconds": round(setup_seconds, 1),
        }
        rows = [
            ("database", database),
            ("master file rows (CSV, streamed)", f"{exported['rows']:,}"),
            ("export time", f"{exported['seconds']:.2f} s ({payload['export_rows_per_second']:,} rows/s)"),
            (
                "export peak memory (RSS)",
                f"{exported['peak_mb']:.1f} MB ({exported['baseline_mb']:.1f} MB before the first row)",
            ),
            ("OCF package holders", f"{ocf_holders:,}"),
            ("OCF package written", f"{ocf_seconds:.2f} s ({ocf_size / 1e6:.1f} MB)"),
            ("OCF package read back", f"{ocf_read_seconds:.2f} s"),
            ("reconciliation holders", f"{reconcile_holders:,}"),
            ("reconciliation time", f"{reconcile_seconds:.2f} s"),
            ("setup (not timed)", f"{setup_seconds:.0f} s"),
        ]
        report("Register exports and reconciliation", rows, payload, args.json)


if __name__ == "__main__":
    main()
