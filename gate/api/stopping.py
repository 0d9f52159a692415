"""Stopping CPU work on time: the flag a piece of work reads, and a JSON encoder that reads it.

A thread cannot be killed, so work stops itself: each piece of work gets a `StopFlag` (its
request's or step's deadline, and a switch the event loop throws when the caller is cancelled).
The work reads it between its steps and, during evaluation and encoding, every few hundred
items (`StopFlag.tick`), and raises `WorkStopped`. The service's `WorkPool` (gate.server.work)
and the durable gates' worker both hand it to the answer builder (gate.api.answer).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["ENCODE_CHUNK", "TICK", "StopFlag", "WorkStopped", "encode_document"]

TICK: Final = 1024  # StopFlag.tick reads the flag once every this many calls (a power of two)
ENCODE_CHUNK: Final = 500  # list items JSON-encoded between two reads of the flag


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
