"""Dividend allocation with withholding: a total split over many holders, exact to the minor unit.

    python -m bench.distribution [--json] [--quick] [--holders N]

Builds holders with skewed balances (a few large, most small, some holding one token) and a mix of
tax standings (certified W-9, no W-9, W-8 with a treaty rate, expired W-8, no form), then, in a fresh
process so its peak memory is the computation's own: evaluates each holder's withholding rule,
splits $1,000,000.01 by largest remainder and withholds per holder (distributions.allocation).
Checks that the parts sum exactly to the total and gross = withheld + net for every holder.
Reports the time of the computation and the process's peak resident memory (inputs included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOTAL_MINOR = 1_000_000_01


def _holders(n: int) -> tuple[array, array, list[int]]:
    """Balances, investor ids and an index into a small set of tax standings, per holder."""
    rng = random.Random(20261201)
    balances = array("q", bytes(8 * n))
    for i in range(n):
        roll = rng.random()
        balances[i] = 1 if roll < 0.05 else rng.randint(10**5, 10**7) if roll > 0.999 else rng.randint(2, 5_000)
    ids = array("q", range(1, n + 1))  # in investor order, as the register reads them
    standings = [rng.randrange(6) for _ in range(n)]
    return balances, ids, standings


def compute(n: int) -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()
    from distributions.allocation import allocation_compute
    from distributions.withholding import TaxStatus, withholding_for

    balances, ids, standing_of = _holders(n)
    payment = dt.date(2026, 12, 15)
    kinds = [
        TaxStatus(us_taxpayer=True, form_kind="w9", tin_certified=True, exempt_from_backup=True),
        TaxStatus(us_taxpayer=True),
        TaxStatus(us_taxpayer=False, form_kind="w8ben", form_expires_on=dt.date(2028, 12, 31), treaty_rate_bps=1500),
        TaxStatus(us_taxpayer=False, form_kind="w8ben", form_expires_on=dt.date(2024, 12, 31), treaty_rate_bps=1000),
        TaxStatus(us_taxpayer=False, form_kind="w8bene", form_expires_on=dt.date(2027, 12, 31)),
        TaxStatus(us_taxpayer=False),
    ]
    started = time.perf_counter()
    rules = [withholding_for(status=s, kind="dividend", payment_date=payment) for s in kinds]
    rates = array("q", (rules[k].rate_bps for k in standing_of))
    allocation = allocation_compute(balances=balances, holder_ids=ids, rates_bps=rates, total=TOTAL_MINOR)
    totals = (allocation.total_gross, allocation.total_withheld, allocation.total_net)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    exact = totals[0] == TOTAL_MINOR and totals[0] == totals[1] + totals[2]
    exact = exact and all(
        g == w + x for g, w, x in zip(allocation.gross, allocation.withheld, allocation.net, strict=True)
    )
    return {
        "allocation_holders": n,
        "allocation_seconds": round(seconds, 3),
        "allocation_peak_mb": round(peak_mb, 1),
        "allocation_exact": exact,
        "allocation_total_withheld_minor": totals[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument("--quick", action="store_true", help="10,000 holders, for CI")
    parser.add_argument("--holders", type=int, default=1_000_000)
    parser.add_argument("--compute-only", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compute_only:
        print(json.dumps(compute(args.compute_only)))
        return
    holders = 10_000 if args.quick else args.holders
    child = subprocess.run(
        [sys.executable, "-m", "bench.distribution", "--compute-only", str(holders)],
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    if args.json:
        print(json.dumps(figures))
        return
    print(f"Distribution allocation with withholding ({'quick' if args.quick else 'full'} size)")
    print(f"  {'holders':<24}{figures['allocation_holders']:>14,}")
    print(f"  {'seconds':<24}{figures['allocation_seconds']:>14}")
    print(f"  {'peak memory (MB)':<24}{figures['allocation_peak_mb']:>14}")
    print(f"  {'exact to the minor unit':<24}{'yes' if figures['allocation_exact'] else 'NO':>14}")
    print(f"  {'withheld (minor units)':<24}{figures['allocation_total_withheld_minor']:>14,}")


if __name__ == "__main__":
    main()
