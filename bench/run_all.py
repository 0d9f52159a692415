"""Run every benchmark and print a Markdown summary table.

    /work/venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--strict]

Each benchmark prints its own details first. --quick uses fewer runs (noisier numbers);
--strict exits 1 when a target is missed. A benchmark that could not run is reported in
the table and the others still run; the exit code is then 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import app_tokens
import bootstrap
import durable_scale
import fetch_scaling
import large_report
import offline_startup
import panels_latency
import sdk_compare
import serve_largest
import serve_throughput
import webhooks
from _common import BenchError, Row, handle_termination, machine, table

# name -> (run function, full runs, quick runs)
BENCHMARKS: dict[str, tuple[Callable[[int], list[Row]], int, int]] = {
    "fetch_scaling": (fetch_scaling.run, 5, 3),
    "sdk_compare": (sdk_compare.run, 5, 1),
    "offline_startup": (offline_startup.run, 20, 8),
    "large_report": (large_report.run, 5, 2),
    "serve_throughput": (serve_throughput.run, 2, 1),  # rounds of 5 x 12 s load runs
    "serve_largest": (serve_largest.run, 3, 1),  # largest gates one at a time, then 3 more
    "bootstrap": (bootstrap.run, 7, 3),  # runs per metric of the 5,000-image interval
    "panels_latency": (panels_latency.run, 3, 1),  # gates of each config
    "app_tokens": (app_tokens.run, 3, 2),  # simulated hours of 1,000 gates as a GitHub App
    "webhooks": (webhooks.run, 3, 1),  # interleaved rounds of 4 x 6 s delivery windows
    # durable gates on SQLite: 100 gates an evaluation, 2,000 (quick: 1,000) in all
    "durable_scale": (durable_scale.run, 2, 1),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs of each benchmark")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    handle_termination()
    chosen = args.only or list(BENCHMARKS)
    rows: list[Row] = []
    failed = False
    started = time.perf_counter()
    for name in chosen:
        run, full, quick = BENCHMARKS[name]
        try:
            rows += run(quick if args.quick else full)
        except BenchError as error:  # report it, and still run the others
            print(f"run_all: {name}: {error}\n", file=sys.stderr)
            rows.append(Row(name, f"could not run: {error}", "-", None))
            failed = True
    print(f"## Summary ({time.strftime('%Y-%m-%d')}, {machine()})\n")
    print(table(rows))
    print(f"\n({time.perf_counter() - started:.0f} s in all)")
    if failed:
        return 2
    missed = [row.benchmark for row in rows if row.met is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
