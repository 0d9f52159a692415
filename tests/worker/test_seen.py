"""What the looks saw of done evaluations, held for the gates they wake (gate.worker.seen):
only looks made after the gate was last written count, only for the ttl, at most `limit`."""

from __future__ import annotations

from typing import Any

import pytest

from gate.core.eval_info import EvalInfo, EvalQuery
from gate.worker.seen import Seen
from tests.store.conftest import FakeClock


def info(eval_id: str, status: str = "done", model: str | None = None) -> EvalInfo:
    return EvalInfo(eval_id, status, "p", "v1", model, None)


class Upstream:
    """A results source that counts what it is asked."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    async def eval_info(self, eval_id: str) -> EvalInfo:
        self.asked.append(("info", eval_id))
        return info(eval_id, "running")

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]:
        self.asked.append(("list", query))
        return []

    def has_info(self, eval_id: str) -> bool:
        return True

    async def map_results(self, eval_id: str) -> Any:
        self.asked.append(("map-results", eval_id))
        return {"id": eval_id}


async def test_a_gate_uses_what_a_later_look_saw_and_asks_for_the_rest():
    clock = FakeClock()
    seen = Seen(60_000, clock)
    since = clock.now
    clock.advance(1)
    seen.remember("ws", "id", "e1", [info("e1")])
    seen.remember("ws", "model", "m", [info("e2", model="m"), info("e3", "running", model="m")])
    upstream = Upstream()
    source = seen.source("ws", upstream, since=since)  # type: ignore[arg-type]
    assert await source.eval_info("e1") == info("e1")
    assert [e.eval_id for e in await source.list_evals(EvalQuery.of("model", "m"))] == ["e2", "e3"]
    assert upstream.asked == []
    assert (await source.eval_info("e9")).status == "running"  # not held: asked
    assert await source.list_evals(EvalQuery.of("version", "m")) == []
    assert await source.map_results("e1") == {"id": "e1"}  # never held here
    assert [a[0] for a in upstream.asked] == ["info", "list", "map-results"]


async def test_a_look_made_before_or_as_the_gate_was_written_does_not_count():
    clock = FakeClock()
    seen = Seen(60_000, clock)
    seen.remember("ws", "id", "e1", [info("e1")])
    assert seen.info("ws", "e1", since=clock.now) is None  # the same millisecond: not after
    assert seen.info("ws", "e1", since=clock.now - 1) == info("e1")
    assert seen.info("other", "e1", since=clock.now - 1) is None  # another workspace


async def test_answers_expire_after_the_ttl_and_only_done_infos_are_held():
    clock = FakeClock()
    seen = Seen(1_000, clock)
    since = clock.now - 1
    seen.remember("ws", "id", "e1", [info("e1")])
    seen.remember("ws", "id", "e2", [info("e2", "running")])
    assert seen.info("ws", "e2", since=since) is None
    clock.advance(1_000)
    assert seen.info("ws", "e1", since=since) == info("e1")
    clock.advance(1)
    assert seen.info("ws", "e1", since=since) is None
    assert len(seen) == 0


def test_at_most_limit_answers_are_held_the_oldest_dropped_first():
    clock = FakeClock()
    seen = Seen(60_000, clock, limit=3)
    for n in range(5):
        seen.remember("ws", "id", f"e{n}", [info(f"e{n}")])
    assert len(seen) == 3
    since = clock.now - 1
    assert [seen.info("ws", f"e{n}", since=since) is not None for n in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]
    with pytest.raises(ValueError, match="limit"):
        Seen(1, clock, limit=0)
