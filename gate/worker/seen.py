"""What the poll loop saw of evaluations that are done, so that the gates a watch wakes do not
each ask Roboflow again.

A look that finds a watched evaluation done has Roboflow's answer in hand: the evaluation's info
(a watch by id) or the list its newest was picked from (a watch by model or dataset version).
The worker keeps that answer here for `ttl_ms`, and each woken gate's engine reads it through
`Seen.source` instead of asking again: the 100 gates one evaluation wakes cost its one look,
not 100 more requests of its info (the map-results are the process's shared cache's already).

Only a look made after the gate was last written (submitted, put to sleep, re-run) counts for
it — a gate submitted later asks for itself: a newer evaluation of its model may have started
since — and only for `ttl_ms` (the worker's: as long as it trusts a settled watch before looking
at it again). What is not held is asked upstream as before, so a gate stepped after the ttl, or
by another replica (a process knows only what it looked at), asks afresh. The staleness is the
polling's own: a gate woken by a look uses what that look saw. Bounded: at most `limit`
answers, the oldest dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from gate.core.eval_info import EvalInfo, EvalQuery
from gate.fetch import ResultsSource

__all__ = ["Seen", "SeenSource"]

DEFAULT_LIMIT = 4_096  # answers held at most (an info, or a list of at most 200 infos)


class Seen:
    """Done evaluations' info and lists, as the latest looks saw them, for `ttl_ms`."""

    def __init__(
        self, ttl_ms: int, clock: Callable[[], int], *, limit: int = DEFAULT_LIMIT
    ) -> None:
        if ttl_ms < 0 or limit < 1:
            raise ValueError("Seen needs ttl_ms >= 0 and limit >= 1")
        self.ttl_ms = ttl_ms
        self.limit = limit
        self._clock = clock
        self._held: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def _put(self, key: Hashable, value: Any) -> None:
        self._held.pop(key, None)
        self._held[key] = (self._clock(), value)
        while len(self._held) > self.limit:
            self._held.popitem(last=False)

    def _get(self, key: Hashable, since: int) -> Any:
        found = self._held.get(key)
        if found is None:
            return None
        at, value = found
        if self._clock() - at > self.ttl_ms:
            del self._held[key]
            return None
        return value if at > since else None

    def remember(self, workspace: str, by: str, ref: str, answer: Sequence[EvalInfo]) -> None:
        """Keep what a look that found `ref` done saw: its info (`by` "id"), or the list of
        model or version `ref`'s evaluations."""
        if by == "id":
            for info in answer:
                if info.eval_id == ref and info.status == "done":
                    self._put(("info", workspace, ref), info)
            return
        self._put(("list", workspace, EvalQuery.of(by, ref)), tuple(answer))

    def info(self, workspace: str, eval_id: str, *, since: int) -> EvalInfo | None:
        """The info a look made after `since` saw, if it is held."""
        found: EvalInfo | None = self._get(("info", workspace, eval_id), since)
        return found

    def listed(self, workspace: str, query: EvalQuery, *, since: int) -> list[EvalInfo] | None:
        """The list a look made after `since` saw, if it is held."""
        found = self._get(("list", workspace, query), since)
        return None if found is None else list(found)

    def source(self, workspace: str, upstream: ResultsSource, *, since: int) -> SeenSource:
        """`upstream`, answering what looks made after `since` saw of `workspace`
        without asking it (`since`: when the gate was last written before this step)."""
        return SeenSource(self, workspace, upstream, since)


class SeenSource:
    """A `ResultsSource` that answers info and lists from `Seen` when it holds them."""

    def __init__(self, seen: Seen, workspace: str, upstream: ResultsSource, since: int) -> None:
        self._seen = seen
        self._workspace = workspace
        self._upstream = upstream
        self._since = since

    async def eval_info(self, eval_id: str) -> EvalInfo:
        held = self._seen.info(self._workspace, eval_id, since=self._since)
        return held if held is not None else await self._upstream.eval_info(eval_id)

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]:
        held = self._seen.listed(self._workspace, query, since=self._since)
        return held if held is not None else await self._upstream.list_evals(query)

    def has_info(self, eval_id: str) -> bool:
        return self._upstream.has_info(eval_id)

    async def map_results(self, eval_id: str) -> Any:
        return await self._upstream.map_results(eval_id)

    async def confusion_matrix(self, eval_id: str, split: str) -> Any:
        return await self._upstream.confusion_matrix(eval_id, split)

    async def performance_by_class(self, eval_id: str, split: str) -> Any:
        return await self._upstream.performance_by_class(eval_id, split)

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any:
        return await self._upstream.image_predictions(eval_id, split, offset, limit)
