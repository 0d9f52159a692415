"""What does naming evaluations by model cost, compared with naming them by id?

Starts the stand-in Roboflow API (0.2 s added to every reply; 33 done evals, eval-0001 ...
eval-0033, each of its own model model-0001 ...) on a free 127.0.0.1 port, then times whole
`eval-gate check` processes (spawn to exit), interleaved: 32 evals named by id
(`--eval eval-0002 ... --eval eval-0033`) versus the same 32 named by model (`--model
model-0002 ... --model model-0033`), both with the fixed baseline `--baseline eval-0001`
(fetched once) and `--concurrency 32`. Naming by model adds one list call per model
(`GET /ws/model-evals?model=M`), all in flight at once, before each eval's map-results.
Target: by model costs at most two extra round trips in total (not per eval): its median is
at most the by-id median + 2 x 0.2 s. Run from the repo root with the project venv's python:

    /work/venv/bin/python bench/resolve_by_model.py [--runs 5]

Not measured here: `baseline: champion` (the issue's scenario), which eval-gate does not have
yet.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import (
    API_KEY,
    BenchError,
    Row,
    Stats,
    bench_main,
    child_env,
    expect,
    gate_cmd,
    machine,
    run_timed,
    standin,
    write_online_config,
)

LATENCY = 0.2
EVALS = 32
BASELINE = "eval-0001"
EXTRA_ROUND_TRIPS = 2


@dataclass(frozen=True, slots=True)
class Resolving:
    by_id: Stats
    by_model: Stats

    @property
    def extra(self) -> float:
        return self.by_model.median - self.by_id.median


def _cmd(config: Path, flag: str, refs: list[str], out: Path) -> list[str]:
    args = ["--config", str(config), "--baseline", BASELINE]
    for ref in refs:
        args += [flag, ref]
    return gate_cmd(*args, "--concurrency", str(EVALS), "--json", str(out))


def _gated(out: Path) -> list[str]:
    document = json.loads(out.read_text(encoding="utf-8"))
    return [ev["id"] for ev in document["evals"]]


def measure(runs: int) -> Resolving:
    """Time `runs` by-id and `runs` by-model gate runs (after one warm-up of each)."""
    ids = [f"eval-{i:04d}" for i in range(2, EVALS + 2)]
    models = [f"model-{i:04d}" for i in range(2, EVALS + 2)]
    samples: dict[str, list[float]] = {"id": [], "model": []}
    with standin(latency=LATENCY, evals=EVALS + 1) as url, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = write_online_config(directory)
        env = child_env({"ROBOFLOW_API_KEY": API_KEY, "ROBOFLOW_API_URL": url})
        for index in range(runs + 1):  # the first round warms caches and is not counted
            for kind, flag, refs in (("id", "--eval", ids), ("model", "--model", models)):
                out = directory / f"gate-{kind}.json"
                run = expect(
                    run_timed(_cmd(config, flag, refs, out), env=env),
                    (0,),
                    f"eval-gate check (32 evals by {kind})",
                )
                if _gated(out) != ids:
                    raise BenchError(
                        f"the by-{kind} run gated {_gated(out)[:3]}..., not {ids[:3]}..."
                    )
                if index > 0:
                    samples[kind].append(run.wall)
    return Resolving(Stats.of(samples["id"]), Stats.of(samples["model"]))


def run(runs: int = 5) -> list[Row]:
    print(f"## resolve by model ({machine()}; stand-in latency {LATENCY} s per request)\n")
    result = measure(runs)
    budget = EXTRA_ROUND_TRIPS * LATENCY
    print(f"- {EVALS} evals by id:    {result.by_id.fmt()}")
    print(f"- {EVALS} evals by model: {result.by_model.fmt()}")
    print(
        f"- extra (medians): {result.extra:.3f} s = {result.extra / LATENCY:.2f} round trips; "
        f"target <= {EXTRA_ROUND_TRIPS} ({budget:.1f} s)\n"
    )
    return [
        Row(
            f"resolve by model: {EVALS} evals by model vs by id (latency {LATENCY} s)",
            f"{result.by_model.median:.3f} s vs {result.by_id.median:.3f} s "
            f"(+{result.extra / LATENCY:.2f} round trips)",
            f"<= +{EXTRA_ROUND_TRIPS} round trips",
            result.extra <= budget,
        )
    ]


def main() -> int:
    return bench_main(
        "resolve_by_model",
        __doc__ or "resolve_by_model",
        run,
        default_runs=5,
        runs_help="timed runs of each",
    )


if __name__ == "__main__":
    raise SystemExit(main())
