"""How does the gate cope with a big evaluation: 2,000 classes over three splits?

Writes an eval's and its baseline's map-results (built with
`tests.roboflow_standin.detection_results`; about 5% of classes below the per-class floor,
some regressing against the baseline) to a temp dir, and a config with split-level rules
and per-class (`classes: "*"`) min, max_drop, max_drop_pct and object-size rules. Then runs

    eval-gate check --config c.yml --eval big --baseline big-base
        --results big=big.json --results big-base=big-base.json
        --report full.md --json g.json

and reports wall time, the child's peak RSS, the printed report's length (target: at most
65,000 characters, GitHub's comment limit), the full report's size and the number of checks.

    /work/venv/bin/python bench/large_report.py [--runs 5]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    Row,
    Stats,
    bench_main,
    expect,
    gate_cmd,
    machine,
    run_timed,
)

CLASSES = 2_000
SPLITS = ("test", "valid", "train")
MAX_PRINTED = 65_000
EVAL_ID = "big"
BASELINE_ID = "big-base"
SEED = 2026
CONFIG = """\
version: 1
workspace: ws
rules:
  - "map50 >= 0.5"
  - metric: map50_95
    split: "*"
    min: 0.4
  - metric: map50_95
    split: "*"
    max_drop: 0.02
  - metric: map50
    classes: "*"
    split: "*"
    min: 0.6
  - metric: map50
    classes: "*"
    max_drop: 0.03
  - metric: map50_95
    classes: "*"
    split: [test, valid]
    max_drop_pct: 5
  - metric: map50
    classes: "*"
    object_size: small
    min: 0.5
    if_missing: skip
"""


@dataclass(frozen=True, slots=True)
class LargeRun:
    wall: Stats
    cpu: Stats
    max_rss_mib: float
    printed_chars: int
    printed_bytes: int
    full_chars: int
    full_bytes: int
    json_bytes: int
    input_bytes: int
    checks: int
    counts: dict[str, int]
    by_kind: Counter[tuple[str, str]]


def class_names(count: int) -> list[str]:
    """Plain names, with every 97th one carrying Markdown/HTML-special characters to escape."""
    return [
        f"part <{index}> | *{index}*" if index % 97 == 0 else f"class-{index:04d}"
        for index in range(count)
    ]


def write_inputs(directory: Path) -> tuple[Path, Path, int]:
    """The candidate's and the baseline's map-results files, and their total size in bytes."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.roboflow_standin import detection_results  # noqa: PLC0415 - needs REPO on path

    rng = random.Random(SEED)
    names = class_names(CLASSES)
    candidate = {name: round(rng.uniform(0.58, 0.99), 4) for name in names}
    baseline = {
        name: round(min(0.99, value + rng.uniform(-0.02, 0.04)), 4)
        for name, value in candidate.items()
    }
    files = (directory / f"{EVAL_ID}.json", directory / f"{BASELINE_ID}.json")
    for path, values, top in zip(files, (candidate, baseline), (0.90, 0.91), strict=True):
        path.write_text(json.dumps(detection_results(values, map50=top, splits=SPLITS)))
    return files[0], files[1], sum(path.stat().st_size for path in files)


def measure(runs: int) -> LargeRun:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        results, baseline, input_bytes = write_inputs(directory)
        config = directory / "c.yml"
        config.write_text(CONFIG)
        full, out_json = directory / "full.md", directory / "g.json"
        cmd = gate_cmd(
            *("--config", str(config), "--eval", EVAL_ID, "--baseline", BASELINE_ID),
            *("--results", f"{EVAL_ID}={results}", "--results", f"{BASELINE_ID}={baseline}"),
            *("--report", str(full), "--json", str(out_json)),
        )
        walls: list[float] = []
        cpus: list[float] = []
        peak_kib = 0
        printed = ""
        for index in range(runs + 1):  # the first run warms caches and is not counted
            run = expect(run_timed(cmd), (0, 1), "eval-gate check (large)")
            if index > 0:
                walls.append(run.wall)
                cpus.append(run.cpu)
                peak_kib = max(peak_kib, run.max_rss_kib)
            printed = run.stdout
        document: Any = json.loads(out_json.read_text(encoding="utf-8"))
        full_text = full.read_text(encoding="utf-8")
        return LargeRun(
            wall=Stats.of(walls),
            cpu=Stats.of(cpus),
            max_rss_mib=peak_kib / 1024,
            printed_chars=len(printed),
            printed_bytes=len(printed.encode()),
            full_chars=len(full_text),
            full_bytes=full.stat().st_size,
            json_bytes=out_json.stat().st_size,
            input_bytes=input_bytes,
            checks=int(document["counts"]["total"]),
            counts={k: int(v) for k, v in document["counts"].items()},
            by_kind=Counter((c["kind"], c["status"]) for c in document["checks"]),
        )


def run(runs: int = 5) -> list[Row]:
    print(f"## large report: {CLASSES:,} classes x {len(SPLITS)} splits + baseline ({machine()})\n")
    result = measure(runs)
    print(f"- input: two map-results files, {result.input_bytes / 1e6:.1f} MB together")
    print(f"- wall time: {result.wall.fmt()}; CPU median {result.cpu.median:.3f} s")
    print(f"- peak RSS of the gate process: {result.max_rss_mib:.0f} MiB")
    counts = ", ".join(f"{name} {n:,}" for name, n in result.counts.items())
    print(f"- checks: {result.checks:,} ({counts})")
    kinds = ", ".join(
        f"{kind}/{status} {n:,}" for (kind, status), n in sorted(result.by_kind.items())
    )
    print(f"  by rule kind/status: {kinds}")
    print(
        f"- printed report: {result.printed_chars:,} characters ({result.printed_bytes:,} bytes "
        f"UTF-8), target <= {MAX_PRINTED:,} characters"
    )
    print(
        f"- full report (--report): {result.full_chars:,} characters ({result.full_bytes:,} "
        f"bytes); --json: {result.json_bytes / 1e6:.1f} MB\n"
    )
    return [
        Row(
            f"large report: {CLASSES:,} classes x {len(SPLITS)} splits, {result.checks:,} checks",
            f"{result.wall.median:.2f} s, peak RSS {result.max_rss_mib:.0f} MiB, "
            f"printed {result.printed_chars:,} chars (full {result.full_chars:,})",
            f"printed <= {MAX_PRINTED:,} chars",
            result.printed_chars <= MAX_PRINTED,
        )
    ]


def main() -> int:
    return bench_main(
        "large_report", __doc__ or "large_report", run, default_runs=5, runs_help="timed runs"
    )


if __name__ == "__main__":
    raise SystemExit(main())
