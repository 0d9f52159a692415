"""Backoff policy for retried requests, as pure values, and the test switch for sleeping.

`RetryPolicy.delay` is the backoff hook: exponential backoff with full jitter, never
shorter than the server's Retry-After (however the API read it: `Retry-After`, GitHub's
`x-ratelimit-reset`), itself clamped so a hostile server cannot park us. `RateLimits`
bounds the waits a server may ask for without using up retries.

`sleepless()` (`gate.sleeping`'s, named here too) is the switch tests use instead of passing
`sleep=`/`rand=` to every client: inside it no retry sleeps, the waits are recorded, and the
jitter is fixed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gate.sleeping import Sleep, Waits, sleepless

__all__ = ["RateLimits", "RetryPolicy", "Sleep", "Waits", "sleepless"]

_MAX_EXPONENT = 60  # 2**60 already dwarfs any cap; avoids float overflow on huge attempt numbers


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many tries a request gets and how long to wait between them.

    `attempts` is the total number of tries (1 = no retry). Backoff is exponential with
    full jitter, capped at `cap`, but never shorter than the server's Retry-After
    (itself clamped to `max_retry_after`, so a hostile or broken server cannot park us).
    """

    attempts: int = 4
    base: float = 0.5
    cap: float = 10.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be >= 1, got {self.attempts}")
        for name in ("base", "cap", "max_retry_after"):
            value = getattr(self, name)
            if not value >= 0:  # also rejects NaN
                raise ValueError(f"RetryPolicy.{name} must be >= 0, got {value}")

    def delay(self, attempt: int, *, retry_after: float | None, rand: Callable[[], float]) -> float:
        """Seconds to wait after try number `attempt` (1-based) failed.

        `rand()` returns a float in [0, 1); the backoff is
        `rand() * min(cap, base * 2**(attempt-1))`, raised to the clamped Retry-After if any.
        """
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        ceiling = min(self.cap, self.base * 2.0**exponent)
        jitter = min(max(rand(), 0.0), 1.0)
        wait = ceiling * jitter
        if retry_after is not None and not math.isnan(retry_after):
            wait = max(wait, min(max(retry_after, 0.0), self.max_retry_after))
        return wait


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Waits a rate-limited server asks for: each at most `max_wait` seconds (a longer one
    gives up at once), at most `max_waits` of them a request; they use up no retry."""

    max_wait: float = 60.0
    max_waits: int = 3

    def __post_init__(self) -> None:
        if not self.max_wait >= 0 or self.max_waits < 0:
            raise ValueError("RateLimits.max_wait and max_waits must be >= 0")
