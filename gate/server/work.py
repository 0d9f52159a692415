"""CPU work of `eval-gate serve` requests: off the event loop, bounded, and stoppable.

Parsing a body and its config, counting, evaluating, rendering the report and encoding the
answer are CPU work whose cost grows with what a client sends. `WorkPool` runs it on a few
threads (`EVAL_GATE_WORK_THREADS`, default 2), so the event loop keeps answering `/healthz`
and other clients meanwhile; work beyond the threads waits its turn in the pool's queue
(each request holds a gate slot while it waits, so the queue is bounded by
`EVAL_GATE_MAX_CONCURRENT_GATES`).

A thread cannot be killed, so work stops itself: each piece of work gets a `StopFlag`
(gate.api.stopping: its request's deadline, and a switch the event loop throws when the request
is cancelled: deadline reached, grace period over). The longest stretch that does not read it
is rendering the Markdown report, which the bound on checks a request keeps to a fraction of a
second. Work still queued when
its request is cancelled never starts.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import structlog

from gate.api.stopping import StopFlag, WorkStopped

__all__ = ["StopFlag", "WorkPool", "WorkStopped"]

P = ParamSpec("P")
T = TypeVar("T")


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
