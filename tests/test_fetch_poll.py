"""The Fetcher's one poll helper on the one fake-time switch: inside `sleepless()` a running
evaluation (or a model's evaluation that has not appeared) is looked at as often as it would
be, and the wait ends as it would, without sleeping. An in-memory source, no server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gate.core.errors import ResultsUnavailable
from gate.core.eval_info import EvalInfo
from gate.fetch import Fetcher, FetchOptions, NotReady
from gate.sleeping import sleepless
from tests.memory_source import MemorySource
from tests.roboflow_standin import detection_results


class Running(MemorySource):
    """A source whose evals run until `done_after` looks at their map-results, and whose
    model lists stay empty: it counts what it is asked."""

    def __init__(self, done_after: int | None = None) -> None:
        super().__init__()
        self.done_after = done_after

    async def map_results(self, eval_id: str) -> Any:
        self.asked.append("map-results")
        if self.done_after is not None and self.asked.count("map-results") > self.done_after:
            return detection_results(["car"])
        raise NotReady(f"evaluation {eval_id} is not done", eval_id=eval_id)

    async def eval_info(self, eval_id: str) -> EvalInfo:
        self.asked.append("info")
        return EvalInfo(eval_id, "running", "proj", "v1", "m1", None)


def stopped() -> float:
    """A clock that stands still: only the waits `sleepless()` skips move the poll's on."""
    return 0.0


def fetcher(source: Running, *, wait: float = 30) -> Fetcher:
    return Fetcher(source, FetchOptions(wait=wait, poll_interval=10), clock=stopped)


async def test_a_running_evaluation_is_polled_until_the_wait_ends_without_sleeping():
    source = Running()
    with sleepless() as waits:
        async with asyncio.timeout(5):  # 30 s of polling, skipped
            with pytest.raises(ResultsUnavailable, match="still running after waiting 30 s"):
                await fetcher(source).results("e1")
    assert waits == [10, 10, 10]
    assert source.asked.count("map-results") == 4  # at 0, 10, 20 and 30 s
    assert source.asked.count("info") == 4  # its status, asked afresh at each look


async def test_a_running_evaluation_that_finishes_is_fetched_at_the_look_that_sees_it():
    source = Running(done_after=2)
    with sleepless() as waits:
        async with asyncio.timeout(5):
            results = await fetcher(source).results("e1")
    assert results.task_type.value == "object-detection-like"
    assert waits == [10, 10]


async def test_a_model_whose_evaluation_never_appears_is_looked_for_afresh_until_the_wait_ends():
    source = Running()
    with sleepless() as waits:
        async with asyncio.timeout(5):
            with pytest.raises(ResultsUnavailable, match="no evaluation of model m9 appeared"):
                await fetcher(source).resolve("model", "m9")
    assert waits == [10, 10, 10]
    assert source.asked.count("list") == 4  # a new look each time, never the old answer


async def test_the_poll_never_sleeps_past_the_end_of_the_wait():
    with sleepless() as waits, pytest.raises(ResultsUnavailable, match="after waiting 25 s"):
        async with asyncio.timeout(5):
            await fetcher(Running(), wait=25).results("e1")
    assert waits == [10, 10, 5]
