"""One request in flight per key, however many callers need its answer at once.

`SingleFlight.run(key, work)`: the first caller for `key` starts `work()` as a task; every
caller that comes while it runs awaits the same task. A caller that is cancelled leaves the
task running for the others (it awaits it through `asyncio.shield`); a failure reaches every
caller of that flight and is not remembered (the next call starts a new flight). `detach`
makes later callers start a new flight while the running one still answers its own callers
(after an invalidation, an answer asked for before it must not be handed to new callers).
Use one SingleFlight from one event loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Deduplicates concurrent calls by key."""

    __slots__ = ("_flights", "started")

    def __init__(self) -> None:
        self._flights: dict[K, asyncio.Task[V]] = {}
        self.started = 0  # flights started, for tests and the benchmark

    def __len__(self) -> int:
        return len(self._flights)

    async def run(self, key: K, work: Callable[[], Awaitable[V]]) -> V:
        """`work()`'s answer, from the flight for `key` already running or a new one."""
        task = self._flights.get(key)
        if task is None:

            async def flight() -> V:
                return await work()

            task = asyncio.create_task(flight(), name=f"single-flight:{key!r}")
            self._flights[key] = task
            self.started += 1
            task.add_done_callback(functools.partial(self._landed, key))
        return await asyncio.shield(task)

    def detach(self, key: K | None = None) -> None:
        """Later callers of `key` (of every key, for None) start a new flight."""
        if key is None:
            self._flights.clear()
        else:
            self._flights.pop(key, None)

    def _landed(self, key: K, task: asyncio.Task[V]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved: a flight every caller left is not an unseen error
