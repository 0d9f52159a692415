"""Database work that a cancellation must not cut in half.

SQLAlchemy treats a statement whose task is cancelled as a lost connection: it invalidates the
connection and terminates it from a task nobody keeps. On SQLite that connection's write lock
can outlive it, and the next writer waits out the busy timeout (a worker told to stop while it
was claiming took 10 s to release its leases, and a test server's teardown timed out on it).
So every statement, begin, commit, rollback and close of the store runs to completion, and a
cancellation takes effect as soon as it has.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["settle"]

T = TypeVar("T")


async def settle(work: Awaitable[T]) -> T:
    """Run `work` to completion even when the task awaiting it is cancelled, once or
    repeatedly; only then pass the cancellation on (and drop what `work` ended in)."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    if cancelled:
        with contextlib.suppress(BaseException):
            task.result()  # the caller is gone: whatever it ended in, nobody is told
        raise asyncio.CancelledError
    return task.result()
