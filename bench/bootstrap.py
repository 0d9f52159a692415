"""How long does a paired bootstrap interval take, and what does numpy cost at start-up?

In this process: `gate.core.bootstrap.paired_bootstrap` with 10,000 resamples over 5,000
paired images (seeded random per-image counts), for precision, recall and F1, after a
warm-up; the median of `--runs` runs each, the peak memory numpy allocates for one
(tracemalloc), and one run at the bound (100,000 paired images). In child processes:
`python -c "import numpy"` against `python -c pass` (interleaved, wall clock), numpy's own
cumulative `-X importtime`, and the bundled example gate (no confidence rules) run with
`-X importtime`, to show it never imports numpy. Target: the 5,000-image interval in at most
0.5 s (median).

    /work/venv/bin/python bench/bootstrap.py [--runs 7]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import tracemalloc

from _common import (
    PYTHON,
    REPO,
    BenchError,
    Row,
    Stats,
    bench_main,
    expect,
    gate_cmd,
    machine,
    run_timed,
)

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from gate.core.bootstrap import METRICS, Pairing, pair_images, paired_bootstrap
from gate.core.panels import ImageCounts

IMAGES = 5_000
BOUND_IMAGES = 100_000
RESAMPLES = 10_000
TARGET_S = 0.5
IMPORT_RUNS = 9
EXAMPLE = ("--config", "examples/eval-gate.yml", "--results", "examples/results/", "-q")


def counts(images: int, seed: int) -> tuple[list[ImageCounts], list[ImageCounts]]:
    """Two systems' per-image counts: 0-8 objects, the baseline finding a little more."""
    rng = random.Random(seed)
    candidate, baseline = [], []
    for index in range(images):
        objects = rng.randint(0, 8)
        found = rng.randint(0, objects)
        better = min(objects, found + (rng.random() < 0.1))
        image_id = f"img-{index:06d}"
        candidate.append(ImageCounts(image_id, found, rng.randint(0, 3), objects - found))
        baseline.append(ImageCounts(image_id, better, rng.randint(0, 3), objects - better))
    return candidate, baseline


def timed(pairing: Pairing, metric: str) -> float:
    start = time.perf_counter()
    paired_bootstrap(pairing, metric, 0.95, resamples=RESAMPLES)
    return time.perf_counter() - start


def resampling(runs: int) -> list[Row]:
    candidate, baseline = counts(IMAGES, seed=1)
    start = time.perf_counter()
    pairing = pair_images(candidate, baseline)
    pair_s = time.perf_counter() - start
    timed(pairing, "f1")  # warm-up: numpy's import and first calls
    rows = []
    for metric in METRICS:
        stats = Stats.of([timed(pairing, metric) for _ in range(runs)])
        found = paired_bootstrap(pairing, metric, 0.95, resamples=RESAMPLES)
        print(
            f"{metric}: {stats.fmt()}; point {found.point:+.4f}, "
            f"95% [{found.low:+.4f}, {found.high:+.4f}]"
        )
        rows.append(
            Row(
                f"bootstrap: {metric}, {RESAMPLES:,} resamples x {IMAGES:,} paired images",
                stats.fmt(),
                f"<= {TARGET_S} s",
                stats.median <= TARGET_S,
            )
        )
    tracemalloc.start()
    try:
        paired_bootstrap(pairing, "f1", 0.95, resamples=RESAMPLES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rows.append(
        Row(
            f"bootstrap: pairing {IMAGES:,} images; peak traced memory of one interval",
            f"{pair_s * 1000:.0f} ms; {peak / 2**20:.1f} MiB",
            "-",
            None,
        )
    )
    big = pair_images(*counts(BOUND_IMAGES, seed=2))
    rows.append(
        Row(
            f"bootstrap: f1 at the bound, {RESAMPLES:,} x {BOUND_IMAGES:,} images (1 run)",
            f"{timed(big, 'f1'):.2f} s",
            "-",
            None,
        )
    )
    return rows


def numpy_import() -> list[Row]:
    with_numpy: list[float] = []
    bare: list[float] = []
    for _ in range(IMPORT_RUNS):  # interleaved: both see the same load
        with_numpy.append(expect(run_timed([PYTHON, "-c", "import numpy"]), [0], "numpy").wall)
        bare.append(expect(run_timed([PYTHON, "-c", "pass"]), [0], "python").wall)
    cumulative = []
    for _ in range(5):
        err = expect(
            run_timed([PYTHON, "-X", "importtime", "-c", "import numpy"]), [0], "importtime"
        ).stderr
        cumulative.append(_cumulative_us(err, "numpy") / 1e6)
    extra = statistics.median(with_numpy) - statistics.median(bare)
    return [
        Row(
            "numpy import in a fresh process (only a rule with `confidence` pays it)",
            f"+{extra * 1000:.0f} ms wall over `python -c pass` (median of {IMPORT_RUNS}); "
            f"-X importtime {statistics.median(cumulative) * 1000:.0f} ms",
            "-",
            None,
        )
    ]


def _cumulative_us(stderr: str, module: str) -> float:
    for line in stderr.splitlines():
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if line.startswith("import time:") and len(parts) == 3 and parts[2] == module:
            return float(parts[1])
    raise BenchError(f"-X importtime reported no {module!r}")


def plain_gate() -> list[Row]:
    run = expect(
        run_timed([PYTHON, "-X", "importtime", *gate_cmd(*EXAMPLE)[1:]]),
        [0, 1],
        "the example gate",
    )
    loaded = any(
        line.startswith("import time:") and line.rsplit("|", 1)[-1].strip().startswith("numpy")
        for line in run.stderr.splitlines()
    )
    if "gate.cli.main" not in run.stderr:
        raise BenchError("-X importtime listed no gate module: cannot tell")
    return [
        Row(
            "the example gate (no confidence rule) imports numpy",
            "yes" if loaded else "no",
            "no",
            not loaded,
        )
    ]


def run(runs: int) -> list[Row]:
    print(f"bootstrap ({machine()})")
    return resampling(runs) + numpy_import() + plain_gate()


if __name__ == "__main__":
    raise SystemExit(
        bench_main("bootstrap", __doc__ or "", run, default_runs=7, runs_help="runs per metric")
    )
