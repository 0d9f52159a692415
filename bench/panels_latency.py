"""How many round trips do the panels add to a gate?

In this process, against the stand-in Roboflow API on 127.0.0.1 with 0.2 s added to every
answer: one eval with a fixed baseline on a dataset version holding two more done evals (so
the default trend fetches them), each with a confusion matrix and 1,500 test images. Three
configs, `--runs` gates each (median): map-results rules only (`plain`); plus a per-class rule
(the support: the candidate's confusion matrix); plus a recall drop with `confidence` (both
evals' matrices and image pages). Target: the panels cost at most one extra round trip over
`plain`, as they are asked as soon as each eval's own results are in, alongside the baseline,
the metadata and the trend.

    /work/venv/bin/python bench/panels_latency.py [--runs 3]
"""

from __future__ import annotations

import asyncio
import sys

from _common import REPO, Row, Stats, bench_main, machine

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp
from aiohttp.test_utils import TestServer

from gate.config.loader import load_config
from gate.engine import GateRequest, run_gate
from gate.fetch import FetchOptions
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import RoboflowStandIn, detection_results, generated_panels

LATENCY = 0.2
IMAGES = 1_500
HEAD = "version: 1\nworkspace: ws\nevals: [{id: cand, baseline: prev}]\nrules:\n"
CONFIGS = {
    "plain": HEAD + "  - {metric: map50, min: 0.5}\n",
    "support": HEAD
    + '  - {metric: map50, min: 0.5}\n  - {metric: map50, classes: "*", min: 0.5}\n',
    "interval": HEAD
    + '  - {metric: map50, min: 0.5}\n  - {metric: map50, classes: "*", min: 0.5}\n'
    + "  - {metric: recall, max_drop: 0.02, confidence: 0.95}\n",
}


def _standin() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key="k", workspace="ws", latency=LATENCY)
    for day, eval_id in enumerate(("r1", "r2", "prev", "cand"), start=1):
        standin.add_eval(
            eval_id,
            map_results=detection_results(["car", "bus"]),
            version_id="v1",
            model_id=f"m{day}",
            created_at=f"2026-01-{day:02d}T00:00:00Z",
            **generated_panels(["car", "bus"], images=IMAGES, seed=day, splits=("test",)),
        )
    return standin


async def _gate(config: str) -> float:
    server = TestServer(_standin().app())
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url("")).rstrip("/")
            client = RoboflowClient(session, api_key="k", workspace="ws", api_url=url)
            request = GateRequest(config=load_config(config, "gate.yml"), workspace="ws")
            loop = asyncio.get_running_loop()
            started = loop.time()
            outcome = await run_gate(request, client, FetchOptions())
            elapsed = loop.time() - started
            if not any(True for _ in outcome.checks):
                raise AssertionError("no checks")
            return elapsed
    finally:
        await server.close()


def run(runs: int) -> list[Row]:
    print(f"panels_latency ({machine()})")
    stats = {
        name: Stats.of([asyncio.run(_gate(config)) for _ in range(runs)])
        for name, config in CONFIGS.items()
    }
    plain = stats["plain"].median
    rows = []
    for name in ("support", "interval"):
        extra = (stats[name].median - plain) / LATENCY
        rows.append(
            Row(
                f"panels_latency: {name} vs plain ({LATENCY:g} s a reply)",
                f"{stats[name].median:.3f} s vs {plain:.3f} s (+{extra:.2f} round trips)",
                "<= +1 round trip",
                extra <= 1.0 + 0.25,  # a quarter round trip of slack for this process's CPU
            )
        )
    return rows


def main() -> int:
    return bench_main(
        "panels_latency",
        __doc__ or "panels_latency",
        run,
        default_runs=3,
        runs_help="gates of each config",
    )


if __name__ == "__main__":
    raise SystemExit(main())
