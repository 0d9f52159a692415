"""CPU work of `eval-gate serve` requests: off the event loop, bounded, and stoppable.

Parsing a body and its config, counting, evaluating, rendering the report and encoding the
answer are CPU work whose cost grows with what a client sends. `WorkPool` runs it on a few
threads (`EVAL_GATE_WORK_THREADS`, default 2), so the event loop keeps answering `/healthz`
and other clients meanwhile; work beyond the threads waits its turn in the pool's queue
(each request holds a gate slot while it waits, so the queue is bounded by
`EVAL_GATE_MAX_CONCURRENT_GATES`).

A thread cannot be killed, so work stops itself: each piece of work gets a `StopFlag`
(its request's deadline, and a switch the event loop throws when the request is cancelled:
deadline reached, grace period over). The work reads it between its steps and, during
evaluation and encoding, every few hundred items (`StopFlag.tick`), and raises
`WorkStopped`. The longest stretch that does not read it is rendering the Markdown report,
which the bound on checks a request keeps to a fraction of a second. Work still queued when
its request is cancelled never starts.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, ParamSpec, TypeVar

import structlog

__all__ = ["ENCODE_CHUNK", "TICK", "StopFlag", "WorkPool", "WorkStopped", "encode_document"]

TICK: Final = 1024  # StopFlag.tick reads the flag once every this many calls (a power of two)
ENCODE_CHUNK: Final = 500  # list items JSON-encoded between two reads of the flag

P = ParamSpec("P")
T = TypeVar("T")


class WorkStopped(Exception):
    """Work ended before it finished: its request's deadline passed, or it was cancelled."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StopFlag:
    """Tells a piece of work to stop: set from the event loop, read by the worker thread.

    `deadline` is a `time.monotonic()` time (the clock of asyncio's loop.time()), or None.
    """

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        self._event = threading.Event()
        self._reason = "cancelled"
        self._ticks = 0

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    def stop(self, reason: str) -> None:
        """Ask the work to stop (the first reason given is kept)."""
        if not self._event.is_set():
            self._reason = reason
            self._event.set()

    def check(self) -> None:
        """Raise WorkStopped if the work must stop now."""
        deadline = self.deadline
        if deadline is not None and not self._event.is_set() and time.monotonic() >= deadline:
            self.stop("deadline")
        if self._event.is_set():
            raise WorkStopped(self._reason)

    def tick(self) -> None:
        """`check()` once every TICK calls: cheap enough to call once per item of work."""
        self._ticks += 1
        if not self._ticks & (TICK - 1):
            self.check()


class WorkPool:
    """A few threads for the CPU work of requests (see the module docstring)."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"WorkPool needs at least one thread, got {threads}")
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="eval-gate")
        self._lock = threading.Lock()
        self._busy = 0

    @property
    def busy(self) -> int:
        """How many threads are running work now."""
        with self._lock:
            return self._busy

    async def run(
        self, flag: StopFlag, what: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(*args, **kwargs)` on a worker thread, in a copy of the caller's context (its
        log context and request secrets); if the caller is cancelled, `flag` is stopped."""
        flag.check()
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        call = functools.partial(fn, *args, **kwargs)
        future = loop.run_in_executor(self._executor, context.run, self._work, flag, what, call)
        try:
            return await future
        except asyncio.CancelledError:
            flag.stop("cancelled")
            raise

    def _work(self, flag: StopFlag, what: str, call: Callable[[], T]) -> T:
        with self._lock:
            self._busy += 1
        try:
            flag.check()
            return call()
        except WorkStopped as stopped:
            structlog.get_logger("gate.server.work").info(
                "server.work_stopped", work=what, reason=stopped.reason
            )
            raise
        finally:
            with self._lock:
                self._busy -= 1

    def close(self) -> None:
        """Start no more work; work running now ends by itself (its flags were stopped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def encode_document(document: Mapping[str, Any], flag: StopFlag) -> str:
    """`json.dumps(document, allow_nan=False)`, with the flag read between chunks of long
    lists (so a large answer is never one long C call holding the GIL, and stops on time)."""
    parts: list[str] = []
    for key, value in document.items():
        flag.check()
        if isinstance(value, list) and len(value) > ENCODE_CHUNK:
            pieces: list[str] = []
            for start in range(0, len(value), ENCODE_CHUNK):
                flag.check()
                pieces.append(
                    json.dumps(value[start : start + ENCODE_CHUNK], allow_nan=False)[1:-1]
                )
            encoded = "[" + ", ".join(pieces) + "]"
        else:
            encoded = json.dumps(value, allow_nan=False)
        parts.append(f"{json.dumps(key)}: {encoded}")
    return "{" + ", ".join(parts) + "}"
