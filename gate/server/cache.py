"""Sharing map-results between the requests of one `eval-gate serve` process.

A `done` evaluation's map-results never change, so the server keeps them in a bytes-bounded
LRU (`ResultsCache`) keyed by who asked (a hash of the API key), where (API URL, workspace)
and which eval. Identical requests that arrive while a fetch is in flight join it
(`SingleFlight`) instead of starting their own. `SharedResults` puts both in front of one
request's upstream `ResultsSource` (normally a `RoboflowClient`).

Documents handed out are shared between requests: treat them as read-only.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from gate.core.eval_info import EvalInfo, EvalQuery
from gate.fetch import ResultsSource

__all__ = [
    "CacheKey",
    "ResultsCache",
    "SharedResults",
    "SingleFlight",
    "estimate_size",
    "tenant_of",
]

T = TypeVar("T")

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_SAMPLE = 16  # children measured per wide container
_BUDGET = 4096  # nodes measured before every container is measured on one child only


def tenant_of(api_key: str) -> str:
    """Who is asking, as the SHA-256 hex digest of the API key (never the key itself)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheKey:
    """One eval's map-results as seen by one API key against one API and workspace."""

    tenant: str  # tenant_of(api_key): results fetched with one key are never served to another
    api_url: str
    workspace: str
    eval_id: str


def estimate_size(document: Any, *, sample: int = _SAMPLE, budget: int = _BUDGET) -> int:
    """Estimated in-memory bytes of a decoded JSON document (CPython object sizes).

    A container with more than `sample` children is measured on `sample` evenly spaced
    children and scaled up; once `budget` nodes have been measured, every container is
    measured on one child. A map-results document (fixed-shape entries under a wide
    perClass) needs about 700 nodes whatever its class count, and lands within a few
    percent of a full `sys.getsizeof` walk. Dict keys shared between objects (json.loads
    reuses them) are counted once. None, True and False are singletons and cost nothing.
    """
    if sample < 1 or budget < 0:
        raise ValueError("estimate_size needs sample >= 1 and budget >= 0")
    total = 0.0
    seen_keys: set[int] = set()
    stack: list[tuple[Any, float]] = [(document, 1.0)]  # depth-first: the stack stays short
    measured = 0
    while stack:
        node, weight = stack.pop()
        if node is None or node is True or node is False:
            continue
        measured += 1
        total += weight * sys.getsizeof(node)
        per_container = sample if measured <= budget else 1
        if isinstance(node, dict):
            count = len(node)
            if count == 0:
                continue
            if count <= per_container:
                items = list(node.items())
                child_weight = weight
            else:
                keys = list(node)
                step = count / per_container
                items = [
                    (keys[int(i * step)], node[keys[int(i * step)]]) for i in range(per_container)
                ]
                child_weight = weight * count / per_container
            for key, value in items:
                if id(key) not in seen_keys:
                    seen_keys.add(id(key))
                    total += child_weight * sys.getsizeof(key)
                stack.append((value, child_weight))
        elif isinstance(node, list | tuple):
            count = len(node)
            if count == 0:
                continue
            if count <= per_container:
                stack.extend((value, weight) for value in node)
            else:
                step = count / per_container
                child_weight = weight * count / per_container
                stack.extend((node[int(i * step)], child_weight) for i in range(per_container))
    return int(total)


@dataclass(slots=True)
class _Entry:
    document: Any
    size: int


class ResultsCache:
    """Bytes-bounded LRU of map-results documents (keyed by CacheKey), shared by all requests
    of one server process; the service also keeps whole answers in one (keyed by request).

    Sizes are whatever the caller says (SharedResults uses `estimate_size`, in-memory bytes).
    Not thread-safe: use it from the server's event loop only.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"ResultsCache max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.oversized = 0  # puts refused because the entry alone exceeds max_bytes
        self.bytes = 0
        self._log = structlog.get_logger("gate.server.cache")

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether `key` is cached, without touching recency or the counters."""
        return key in self._entries

    def get(self, key: Hashable) -> Any | None:
        """The cached document (now the most recently used), or None; counts a hit or a miss."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.document

    def put(self, key: Hashable, document: Any, size: int) -> None:
        """Store `document` as most recently used, evicting least recently used entries to fit.

        An entry larger than max_bytes is not stored (and replaces nothing: any older entry
        under the same key is dropped too, so the key never maps to a stale document).
        """
        if document is None:
            raise ValueError("ResultsCache cannot store None (get() uses it to mean a miss)")
        if size < 0:
            raise ValueError(f"ResultsCache entry size must be >= 0, got {size}")
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        if size > self.max_bytes:
            self.oversized += 1
            self._log.info(
                "results_cache.oversized",
                eval_id=getattr(key, "eval_id", None),
                size=size,
                max_bytes=self.max_bytes,
            )
            return
        while self.bytes + size > self.max_bytes:
            evicted_key, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size
            self.evictions += 1
            self._log.debug(
                "results_cache.evict",
                eval_id=getattr(evicted_key, "eval_id", None),
                size=evicted.size,
            )
        self._entries[key] = _Entry(document, size)
        self.bytes += size


class SingleFlight:
    """Concurrent callers with the same key share one in-flight coroutine.

    The shared work runs as its own task: a caller that is cancelled (its HTTP client went
    away) stops waiting but does not cancel the work for the others. When every caller has
    gone, the work finishes in the background and its outcome is consumed (no "Task
    exception was never retrieved"). A key is forgotten as soon as its work completes,
    whether it succeeded or failed; the next call starts afresh. The task copies the context
    of the caller that started it (its log context included).
    """

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Future[Any]] = {}

    @property
    def in_flight(self) -> int:
        """How many keys have work running."""
        return len(self._tasks)

    async def run(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        """The result of `factory()`, started now or joined if already running for `key`."""
        task = self._tasks.get(key)
        if task is None or task.done():  # done but not yet forgotten: it is finished, start anew
            task = asyncio.ensure_future(factory())
            self._tasks[key] = task
            task.add_done_callback(lambda finished: self._forget(key, finished))
        result: T = await asyncio.shield(task)
        return result

    def _forget(self, key: Hashable, task: asyncio.Future[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled():
            # Mark it retrieved: a failure nobody waits for any more is not an unhandled one.
            # (shield does this too for cancelled waiters; this keeps it true on every path.)
            task.exception()

    async def close(self) -> None:
        """Cancel all work in flight and wait for it to end (server shutdown)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class SharedResults:
    """A `ResultsSource` for one request, sharing map-results with the rest of the process.

    map-results: a cached document is answered without asking upstream; otherwise the
    request joins or starts the one fetch for its CacheKey. A successful answer means the
    eval is done (Roboflow answers 409 otherwise), so it is cached. Errors, NotReady
    included, are never cached and reach every caller that joined the failed fetch.
    eval_info and list_evals are never cached (statuses change) but are shared while in
    flight. The shared fetch runs on the upstream of the request that started it, so that
    upstream's HTTP session must outlive the request (use one session per process) and its
    deadline governs every request that joins.
    """

    def __init__(
        self,
        upstream: ResultsSource,
        cache: ResultsCache,
        flights: SingleFlight,
        *,
        tenant: str,
        api_url: str,
        workspace: str,
        on_hit: Callable[[], None] | None = None,
        on_miss: Callable[[], None] | None = None,
        size_of: Callable[[Any], int] = estimate_size,
    ) -> None:
        self._upstream = upstream
        self._cache = cache
        self._flights = flights
        self._tenant = tenant
        self._api_url = api_url
        self._workspace = workspace
        self._on_hit = on_hit
        self._on_miss = on_miss
        self._size_of = size_of

    def _key(self, eval_id: str) -> CacheKey:
        return CacheKey(self._tenant, self._api_url, self._workspace, eval_id)

    async def map_results(self, eval_id: str) -> Any:
        key = self._key(eval_id)
        document = self._cache.get(key)
        if document is not None:
            if self._on_hit is not None:
                self._on_hit()
            return document
        if self._on_miss is not None:
            self._on_miss()  # joining another request's fetch is a miss too: it was not cached
        return await self._flights.run(("map-results", key), lambda: self._fetch(key))

    async def _fetch(self, key: CacheKey) -> Any:
        document = await self._upstream.map_results(key.eval_id)
        if document is not None:
            self._cache.put(key, document, self._size_of(document))
        return document

    async def eval_info(self, eval_id: str) -> EvalInfo:
        return await self._flights.run(
            ("info", self._key(eval_id)), lambda: self._upstream.eval_info(eval_id)
        )

    def has_info(self, eval_id: str) -> bool:
        return self._upstream.has_info(eval_id)

    # The panels are shared while in flight, not cached (yet): each answer is one split's.

    async def confusion_matrix(self, eval_id: str, split: str) -> Any:
        return await self._flights.run(
            ("confusion-matrix", self._key(eval_id), split),
            lambda: self._upstream.confusion_matrix(eval_id, split),
        )

    async def performance_by_class(self, eval_id: str, split: str) -> Any:
        return await self._flights.run(
            ("performance-by-class", self._key(eval_id), split),
            lambda: self._upstream.performance_by_class(eval_id, split),
        )

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any:
        return await self._flights.run(
            ("image-predictions", self._key(eval_id), split, offset, limit),
            lambda: self._upstream.image_predictions(eval_id, split, offset, limit),
        )

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]:
        key = ("list", self._tenant, self._api_url, self._workspace, query)
        shared = await self._flights.run(key, lambda: self._upstream.list_evals(query))
        return list(shared)  # each caller gets its own list (EvalInfo values are frozen)
