"""What does naming evaluations by model, with `baseline: champion`, cost compared with naming
them by id with a fixed baseline?

Starts the stand-in Roboflow API (0.2 s added to every reply; 33 done evals, eval-0001 ...
eval-0033, each of its own model model-0001 ..., all on dataset version 1) on a free 127.0.0.1
port, then times whole `eval-gate check` processes (spawn to exit), interleaved, all with
`--concurrency 32`:

- **by id**: `--eval eval-0002 ... --eval eval-0033 --baseline eval-0001` (the reference);
- **by model**: `--model model-0002 ... --model model-0033 --baseline eval-0001`;
- **by model, champion**: `--model model-0002 ... --model model-0033 --baseline champion`
  (the issue's scenario: each eval's baseline is the best done eval of another model on
  version 1 by mAP@50:95 on test).

By model adds one list call per model (`GET /ws/model-evals?model=M`, all in flight at once);
champion adds the version's list (one call, shared by all 32) and the map-results of every
rival (the same evals, each fetched once and shared). Target: by model with champion costs at
most two extra round trips in total, not per eval (median <= by-id median + 2 x 0.2 s). Run
from the repo root with the project venv's python:

    /work/venv/bin/python bench/resolve_by_model.py [--runs 5]
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
    champion: Stats

    def extra(self, stats: Stats) -> float:
        return stats.median - self.by_id.median


def _cmd(config: Path, flag: str, refs: list[str], out: Path, baseline: str) -> list[str]:
    args = ["--config", str(config), "--baseline", baseline]
    for ref in refs:
        args += [flag, ref]
    return gate_cmd(*args, "--concurrency", str(EVALS), "--json", str(out))


def _gated(out: Path) -> list[tuple[str, str | None]]:
    document = json.loads(out.read_text(encoding="utf-8"))
    return [(ev["id"], ev["baseline_id"]) for ev in document["evals"]]


def measure(runs: int) -> Resolving:
    """Time `runs` runs of each kind (after one warm-up of each)."""
    ids = [f"eval-{i:04d}" for i in range(2, EVALS + 2)]
    models = [f"model-{i:04d}" for i in range(2, EVALS + 2)]
    kinds = (
        ("id", "--eval", ids, BASELINE),
        ("model", "--model", models, BASELINE),
        ("champion", "--model", models, "champion"),
    )
    samples: dict[str, list[float]] = {kind[0]: [] for kind in kinds}
    with (
        standin(latency=LATENCY, evals=EVALS + 1, version="1") as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        directory = Path(tmp)
        config = write_online_config(directory)
        env = child_env({"ROBOFLOW_API_KEY": API_KEY, "ROBOFLOW_API_URL": url})
        for index in range(runs + 1):  # the first round warms caches and is not counted
            for kind, flag, refs, baseline in kinds:
                out = directory / f"gate-{kind}.json"
                run = expect(
                    run_timed(_cmd(config, flag, refs, out, baseline), env=env),
                    (0,),
                    f"eval-gate check (32 evals, {kind})",
                )
                gated = _gated(out)
                if [g[0] for g in gated] != ids or any(g[1] is None for g in gated):
                    raise BenchError(f"the {kind} run gated {gated[:2]}..., not {ids[:2]}...")
                if index > 0:
                    samples[kind].append(run.wall)
    return Resolving(*(Stats.of(samples[kind[0]]) for kind in kinds))


def run(runs: int = 5) -> list[Row]:
    print(f"## resolve by model ({machine()}; stand-in latency {LATENCY} s per request)\n")
    result = measure(runs)
    budget = EXTRA_ROUND_TRIPS * LATENCY
    print(f"- {EVALS} evals by id, fixed baseline:    {result.by_id.fmt()}")
    for name, stats in (
        ("by model, fixed baseline", result.by_model),
        ("by model, champion", result.champion),
    ):
        extra = result.extra(stats)
        print(
            f"- {EVALS} evals {name}: {stats.fmt()}; "
            f"+{extra:.3f} s = {extra / LATENCY:.2f} round trips"
        )
    print(f"- target: champion by model <= +{EXTRA_ROUND_TRIPS} round trips ({budget:.1f} s)\n")
    extra = result.extra(result.champion)
    return [
        Row(
            f"resolve by model: {EVALS} evals by model + champion vs by id + fixed baseline "
            f"(latency {LATENCY} s)",
            f"{result.champion.median:.3f} s vs {result.by_id.median:.3f} s "
            f"(+{extra / LATENCY:.2f} round trips)",
            f"<= +{EXTRA_ROUND_TRIPS} round trips",
            extra <= budget,
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
