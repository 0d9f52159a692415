"""When the engine asks for the panels: the candidate's as soon as its own results say what it
is, not after its baseline (or the trend) has been fetched."""

from __future__ import annotations

import asyncio

from gate.config.loader import load_config
from gate.engine import GateRequest, run_gate
from gate.fetch import FetchOptions
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import RoboflowStandIn, Scripted, detection_results

KEY = "rf_engine_panels_key_0123456789"
CONFIG = """\
version: 1
workspace: ws
trend: 0
evals: [{id: cand, baseline: prev}]
rules:
  - {metric: map50, classes: "*", min: 0.5}
"""
MATRIX = {"test": {"classes": ["car", "background"], "matrix": [[9, 1], [1, 0]]}}


async def test_the_candidates_panels_are_asked_while_its_baseline_is_still_on_its_way(
    aiohttp_server, session
):
    standin = RoboflowStandIn(api_key=KEY, workspace="ws")
    standin.add_eval("cand", map_results=detection_results(["car"]), confusion=MATRIX)
    standin.add_eval("prev", map_results=detection_results(["car"]), confusion=MATRIX)
    standin.script("map-results", [Scripted(delay=1.5)], eval_id="prev")  # a slow baseline
    server = await aiohttp_server(standin.app())
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    request = GateRequest(config=load_config(CONFIG, "gate.yml"), workspace="ws")
    gating = asyncio.ensure_future(run_gate(request, client, FetchOptions()))

    def asked(endpoint: str, eval_id: str) -> bool:
        return any(r.endpoint == endpoint and r.eval_id == eval_id for r in standin.requests)

    loop = asyncio.get_running_loop()
    started = loop.time()
    while not asked("confusion-matrix", "cand"):
        assert loop.time() - started < 1.0, "the candidate's matrix waited for its baseline"
        assert not gating.done()
        await asyncio.sleep(0.01)
    assert not gating.done()  # the baseline's map-results are still being answered
    outcome = await gating
    assert {c.support for c in outcome.checks} == {10}
    assert standin.count("confusion-matrix") == 1  # support is the candidate's only
