"""What every `POST /v1/gate` of one service process shares, kept on the app.

`GateRuns` bounds the gates running at once, drains them on shutdown and cuts them short when
the grace period is over; `Upstream` holds the one HTTP session, the results cache and the
single-flight every request fetches through (and the remembered answers). The app keys
(`SETTINGS`, `RUNS`, `UPSTREAM`, `WORK`, `STORE`) say where each lives on the
`web.Application`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from gate.server.cache import ResultsCache, SingleFlight
from gate.server.settings import ServerSettings
from gate.server.work import WorkPool

if TYPE_CHECKING:
    from gate.store import Store

__all__ = ["RUNS", "SETTINGS", "STORE", "UPSTREAM", "WORK", "GateRuns", "Upstream"]


class GateRuns:
    """The gates running now: a bound on their number, draining, and cutting them short.

    Used from the event loop only. `try_enter` never waits: a full server answers 429.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._scopes: set[asyncio.Timeout] = set()

    def try_enter(self) -> bool:
        if self.count >= self.limit:
            return False
        self.count += 1
        self._idle.clear()
        return True

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self._idle.set()

    @contextlib.contextmanager
    def tracked(self, scope: asyncio.Timeout) -> Iterator[None]:
        """While inside, `cut_short` ends `scope` (the request's deadline) at once."""
        self._scopes.add(scope)
        try:
            yield
        finally:
            self._scopes.discard(scope)

    async def wait_idle(self, within: float) -> bool:
        """Whether every gate finished within `within` seconds."""
        try:
            async with asyncio.timeout(max(0.0, within)):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def cut_short(self) -> int:
        """End every running gate's deadline now (the grace period is over); how many."""
        loop = asyncio.get_running_loop()
        for scope in list(self._scopes):
            if not scope.expired():
                scope.reschedule(loop.time())
        return len(self._scopes)


@dataclass(frozen=True, slots=True)
class Upstream:
    """What every request shares: the one HTTP session, the results cache, the single-flight."""

    session: aiohttp.ClientSession
    cache: ResultsCache
    flights: SingleFlight
    clock: Callable[[], float]  # for durations (metrics)
    answers: ResultsCache = field(
        default_factory=lambda: ResultsCache(0)
    )  # whole answers (gate.server.gate)


SETTINGS = web.AppKey("eval_gate.settings", ServerSettings)


RUNS = web.AppKey("eval_gate.runs", GateRuns)


UPSTREAM = web.AppKey("eval_gate.upstream", Upstream)


WORK = web.AppKey("eval_gate.work", WorkPool)


STORE: web.AppKey[Store] = web.AppKey("eval_gate.store")
"""The durable gates' store, when the service has one (the history pages read it)."""
