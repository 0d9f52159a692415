"""Is an offline gate run barely slower than importing the gate's dependencies?

Whole-process wall clock of the offline example run

    python -m gate check --config examples/eval-gate.yml --results examples/results/ -q

versus `python -c "import aiohttp, jinja2, yaml, structlog"` (and, for scale, `python -c
pass`), interleaved, cwd the repo. Target: the example run's median is at most 1.3x the
import-only median. Then `python -X importtime` of the example run, the top modules by
cumulative and by self import time (medians over a few runs), to show where startup goes.

    /work/venv/bin/python bench/offline_startup.py [--runs 20]
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from _common import (
    PYTHON,
    BenchError,
    Row,
    Stats,
    bench_main,
    expect,
    gate_cmd,
    machine,
    run_timed,
)

TARGET_RATIO = 1.3
EXAMPLE = ("--config", "examples/eval-gate.yml", "--results", "examples/results/", "-q")
IMPORTS = "import aiohttp, jinja2, yaml, structlog"
IMPORTTIME_RUNS = 5
TOP = 10
EXAMPLE_CODES = (0, 1)  # the example gate fails on purpose; 2 and 3 would be errors


@dataclass(frozen=True, slots=True)
class ImportCost:
    module: str
    depth: int  # nesting level in -X importtime's tree (0: imported at top level)
    self_us: float
    cumulative_us: float


@dataclass(frozen=True, slots=True)
class Startup:
    example: Stats
    imports: Stats
    bare: Stats
    example_cpu: Stats
    imports_cpu: Stats

    @property
    def ratio(self) -> float:
        return self.example.median / self.imports.median


def measure(runs: int) -> Startup:
    commands = {
        "example": gate_cmd(*EXAMPLE),
        "imports": [PYTHON, "-c", IMPORTS],
        "bare": [PYTHON, "-c", "pass"],
    }
    samples: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    for index in range(runs + 2):  # two warm-up rounds: fill the bytecode and page caches
        for name, cmd in commands.items():
            codes = EXAMPLE_CODES if name == "example" else (0,)
            run = expect(run_timed(cmd), codes, name)
            if index >= 2:
                samples[name].append(run.wall)
                cpu[name].append(run.cpu)
    return Startup(
        Stats.of(samples["example"]),
        Stats.of(samples["imports"]),
        Stats.of(samples["bare"]),
        Stats.of(cpu["example"]),
        Stats.of(cpu["imports"]),
    )


def parse_importtime(stderr: str) -> list[ImportCost]:
    """The `import time: self | cumulative | name` lines of `python -X importtime`."""
    costs: list[ImportCost] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line[len("import time:") :].split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line
        name = fields[2].rstrip()
        stripped = name.lstrip(" ")
        depth = (len(name) - len(stripped) - 1) // 2
        costs.append(ImportCost(stripped, depth, float(fields[0]), float(fields[1])))
    return costs


def import_profile(runs: int = IMPORTTIME_RUNS) -> list[ImportCost]:
    """Per module, the median self and cumulative import time over `runs` example runs."""
    cmd = [PYTHON, "-X", "importtime", *gate_cmd(*EXAMPLE)[1:]]
    selfs: dict[str, list[float]] = defaultdict(list)
    cumulatives: dict[str, list[float]] = defaultdict(list)
    depths: dict[str, int] = {}
    for _ in range(runs):
        run = expect(run_timed(cmd), EXAMPLE_CODES, "python -X importtime -m gate")
        costs = parse_importtime(run.stderr)
        if not costs:
            raise BenchError("python -X importtime printed no import times")
        for cost in costs:
            selfs[cost.module].append(cost.self_us)
            cumulatives[cost.module].append(cost.cumulative_us)
            depths.setdefault(cost.module, cost.depth)
    return [
        ImportCost(
            module,
            depths[module],
            statistics.median(selfs[module]),
            statistics.median(cumulatives[module]),
        )
        for module in selfs
    ]


def _print_top(costs: list[ImportCost], *, by_self: bool) -> None:
    key = "self" if by_self else "cumulative"
    print(f"Top {TOP} imports by {key} time (median of {IMPORTTIME_RUNS} runs):\n")
    print("| module | depth | self ms | cumulative ms |")
    print("|---|--:|--:|--:|")
    ranked = sorted(costs, key=lambda c: c.self_us if by_self else c.cumulative_us, reverse=True)
    for cost in ranked[:TOP]:
        print(
            f"| `{cost.module}` | {cost.depth} | {cost.self_us / 1000:.1f} "
            f"| {cost.cumulative_us / 1000:.1f} |"
        )
    print()


def run(runs: int = 20) -> list[Row]:
    print(f"## offline startup ({machine()})\n")
    result = measure(runs)
    print(f"- example run (`python -m gate check ... -q`): {result.example.fmt()}")
    print(f"  CPU median {result.example_cpu.median:.3f} s")
    print(f"- `python -c {IMPORTS!r}`: {result.imports.fmt()}")
    print(f"  CPU median {result.imports_cpu.median:.3f} s")
    print(f"- `python -c pass`: {result.bare.fmt()}")
    print(f"- ratio example/imports (medians): {result.ratio:.2f}x, target <= {TARGET_RATIO}x\n")
    costs = import_profile()
    top_level = sum(c.cumulative_us for c in costs if c.depth == 0) / 1000
    print(f"Imports total (sum of top-level cumulative): {top_level:.1f} ms.\n")
    _print_top(costs, by_self=False)
    _print_top(costs, by_self=True)
    return [
        Row(
            "offline example run vs importing the dependencies",
            f"{result.example.median * 1000:.0f} ms vs {result.imports.median * 1000:.0f} ms "
            f"= {result.ratio:.2f}x",
            f"<= {TARGET_RATIO}x",
            result.ratio <= TARGET_RATIO,
        )
    ]


def main() -> int:
    return bench_main(
        "offline_startup",
        __doc__ or "offline_startup",
        run,
        default_runs=20,
        runs_help="timed runs of each",
    )


if __name__ == "__main__":
    raise SystemExit(main())
