"""How eval-gate waits, and the one test switch that skips every wait: `sleepless()`.

Two things wait: a retried request (`gate.http`, its backoff) and a poll of a running
evaluation (`gate.fetch`). Both sleep through `resolve_sleep`; a poll measures its wait on
`poll_clock`. Inside `sleepless()` nothing sleeps: each wait is appended to the list it
yields, the poll's clock moves on by it (so a poll that would wait ten minutes gives up at
once, after the same looks), and the backoff's random factor is fixed (`resolve_rand`).
Tests use the switch instead of passing `sleep=`/`rand=` to every constructor.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

__all__ = ["Sleep", "Waits", "poll_clock", "resolve_rand", "resolve_sleep", "sleepless"]

Sleep = Callable[[float], Awaitable[None]]


class Waits(list[float]):
    """The waits recorded while `sleepless()` is on."""


_testing: tuple[Waits, float] | None = None


@contextmanager
def sleepless(*, jitter: float = 1.0) -> Iterator[Waits]:
    """Within this block nothing sleeps: each wait is appended to the yielded list (and a
    poll's clock moves on by it), and the backoff's random factor is `jitter` (1.0: the full
    exponential backoff)."""
    global _testing  # noqa: PLW0603 - a process-wide test switch, like stamina's
    previous = _testing
    waits = Waits()
    _testing = (waits, jitter)
    try:
        yield waits
    finally:
        _testing = previous


def resolve_sleep(sleep: Sleep | None = None) -> Sleep:
    """The sleep to use: the one given, else the test switch's recorder, else asyncio's."""
    if sleep is not None:
        return sleep
    switch = _testing
    if switch is None:
        return asyncio.sleep
    waits = switch[0]

    async def record(delay: float) -> None:
        waits.append(delay)

    return record


def resolve_rand(rand: Callable[[], float] | None) -> Callable[[], float]:
    """The jitter source: the one given, else the test switch's fixed value, else random."""
    if rand is not None:
        return rand
    switch = _testing
    if switch is None:
        return random.random  # noqa: S311 - backoff jitter, not a secret
    jitter = switch[1]
    return lambda: jitter


def poll_clock(clock: Callable[[], float]) -> Callable[[], float]:
    """`clock`, moved on by every wait `sleepless()` skipped (it is `clock` itself without
    the switch): a poll measures its wait on it, so a skipped wait counts as waited."""

    def now() -> float:
        switch = _testing
        return clock() + (sum(switch[0]) if switch is not None else 0.0)

    return now
