"""The candidate's and its baseline's info are asked for the report's provenance alone: a
Roboflow that never answers them does not stall the gate (they get the trend's budget, then
the provenance is unknown). An in-memory source, no server."""

from __future__ import annotations

import asyncio
from typing import Any

from gate.config.loader import load_config
from gate.core.eval_info import EvalInfo
from gate.engine import GateRequest, run_gate
from gate.fetch import FetchOptions
from tests.memory_source import MemorySource
from tests.roboflow_standin import detection_results

CONFIG = "version: 1\ntrend: 5\nevals:\n  - id: cand\n    baseline: base1\nrules:\n"
RULES = "  - metric: map50\n    max_drop: 0.5\n"


class SilentOnInfo(MemorySource):
    """Answers map-results at once and never answers an eval's info."""

    def __init__(self) -> None:
        super().__init__()
        self.never = asyncio.Event()

    async def map_results(self, eval_id: str) -> Any:
        self.asked.append(f"map-results {eval_id}")
        return detection_results(["car"])

    async def eval_info(self, eval_id: str) -> EvalInfo:
        self.asked.append(f"info {eval_id}")
        await self.never.wait()
        raise AssertionError


async def test_info_that_never_comes_leaves_the_provenance_unknown_not_the_gate_waiting():
    source = SilentOnInfo()
    loop = asyncio.get_running_loop()
    # The budget: a tenth of what is left of the deadline (0.3 s), at most 5 s.
    options = FetchOptions(deadline=loop.time() + 3.0)
    request = GateRequest(config=load_config(CONFIG + RULES), workspace="ws")
    started = loop.time()
    async with asyncio.timeout(2.5):  # before: waited for the info until the deadline's end
        outcome = await run_gate(request, source, options)
    assert loop.time() - started < 2.0
    assert outcome.verdict.value == "pass"
    ev = outcome.evals[0]
    assert ev.baseline_id == "base1"
    assert ev.provenance is not None
    assert ev.provenance.unknown == "Roboflow did not say"
    assert ev.provenance.baseline_same_version is None
    assert ev.trend is None  # the version is not known in time
    assert {"info cand", "info base1"} <= set(source.asked)
