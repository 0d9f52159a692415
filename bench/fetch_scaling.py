"""Does fetching 32 evaluations cost about as much as fetching one?

Starts the stand-in Roboflow API (0.2 s added to every reply, 32 done evals) on a free
127.0.0.1 port, then times whole `eval-gate check` processes (spawn to exit): one eval
(`--eval eval-0001`) versus 32 evals (`--eval eval-0001 ... --eval eval-0032
--concurrency 32`), interleaved. Target: the 32-eval median is at most 1.5x the one-eval
median. Run from the repo root with the project venv's python:

    /work/venv/bin/python bench/fetch_scaling.py [--runs 5]
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import (
    API_KEY,
    BenchError,
    Row,
    Stats,
    bench_main,
    checks_in,
    child_env,
    eval_ids,
    expect,
    machine,
    online_gate_cmd,
    run_timed,
    standin,
    write_online_config,
)

LATENCY = 0.2
EVALS = 32
TARGET_RATIO = 1.5


@dataclass(frozen=True, slots=True)
class Scaling:
    one: Stats
    many: Stats
    one_cpu: Stats
    many_cpu: Stats

    @property
    def ratio(self) -> float:
        return self.many.median / self.one.median


def measure(runs: int) -> Scaling:
    """Time `runs` one-eval and `runs` 32-eval gate runs (after one warm-up of each)."""
    samples: dict[int, list[float]] = {1: [], EVALS: []}
    cpu: dict[int, list[float]] = {1: [], EVALS: []}
    with standin(latency=LATENCY, evals=EVALS) as url, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = write_online_config(directory)
        env = child_env({"ROBOFLOW_API_KEY": API_KEY, "ROBOFLOW_API_URL": url})
        for index in range(runs + 1):  # the first round warms caches and is not counted
            for count in (1, EVALS):
                out = directory / f"gate-{count}.json"
                cmd = online_gate_cmd(config, eval_ids(count), out)
                run = expect(run_timed(cmd, env=env), (0,), f"eval-gate check ({count} evals)")
                if checks_in(out) != count:
                    raise BenchError(f"{count}-eval run made {checks_in(out)} checks")
                if index > 0:
                    samples[count].append(run.wall)
                    cpu[count].append(run.cpu)
    return Scaling(
        Stats.of(samples[1]), Stats.of(samples[EVALS]), Stats.of(cpu[1]), Stats.of(cpu[EVALS])
    )


def run(runs: int = 5) -> list[Row]:
    print(f"## fetch scaling ({machine()}; stand-in latency {LATENCY} s per request)\n")
    result = measure(runs)
    print(f"- 1 eval:   {result.one.fmt()}; CPU median {result.one_cpu.median:.3f} s")
    print(f"- {EVALS} evals: {result.many.fmt()}; CPU median {result.many_cpu.median:.3f} s")
    print(f"- floor: one request round trip = {LATENCY} s; overhead of one run over it =")
    print(f"  {result.one.median - LATENCY:.3f} s (process start, imports, connect, report)")
    print(
        f"- ratio {EVALS}/1 (medians): {result.ratio:.2f}x "
        f"(mins: {result.many.min / result.one.min:.2f}x), target <= {TARGET_RATIO}x\n"
    )
    return [
        Row(
            f"fetch scaling: {EVALS} evals vs 1 (latency {LATENCY} s)",
            f"{result.many.median:.3f} s vs {result.one.median:.3f} s = {result.ratio:.2f}x",
            f"<= {TARGET_RATIO}x",
            result.ratio <= TARGET_RATIO,
        )
    ]


def main() -> int:
    return bench_main(
        "fetch_scaling",
        __doc__ or "fetch_scaling",
        run,
        default_runs=5,
        runs_help="timed runs of each",
    )


if __name__ == "__main__":
    raise SystemExit(main())
