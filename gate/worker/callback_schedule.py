"""When a callback that got no 2xx is tried again, or given up: a pure function of the attempt
number, the first attempt's time, now and the receiver's Retry-After.

Every answer but a 2xx is retried (a 4xx too: a receiver that answers 401 to a rotated secret
or 404 while it deploys is fixed within the day more often than not; the delivery id makes a
repeat safe to drop), and so is every attempt that got no answer. The wait after attempt `n` is
exponential with jitter, `base * 2**(n-1)` capped at `cap`, of which a random half is taken off
("equal jitter": spread out, yet never much shorter than planned); a Retry-After raises it (up
to `max_retry_after`, so a receiver cannot park a delivery for a year). Everything stops
`window` after the first attempt: a planned attempt that would fall after the window's end is
moved to its end (one last try), unless the receiver asked to wait past it; at or after the end,
no more attempts.

With the defaults (10 s, doubling, capped at an hour) a receiver that stays down gets 33 to 57
attempts in the 24 hours (41 with the jitter's mean). Times are integers of milliseconds since
the Unix epoch (the store's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DEFAULT_SCHEDULE", "CallbackSchedule", "next_attempt_at"]

_MAX_EXPONENT = 60  # 2**60 s dwarfs any cap; avoids float overflow on absurd attempt numbers


@dataclass(frozen=True, slots=True)
class CallbackSchedule:
    """The backoff of callback deliveries, in seconds."""

    base: float = 10.0  # the wait after the first attempt, before jitter
    cap: float = 3600.0  # no wait is longer (before Retry-After)
    window: float = 86_400.0  # no attempt later than this after the first
    max_retry_after: float = 3600.0  # a longer Retry-After is honoured only this far

    def __post_init__(self) -> None:
        for name in ("base", "cap", "window", "max_retry_after"):
            value = getattr(self, name)
            if not 0 < value < math.inf:  # also refuses NaN
                raise ValueError(f"CallbackSchedule.{name} must be > 0 and finite, got {value}")

    def wait(self, attempt: int, *, retry_after: float | None, rand: float) -> float:
        """Seconds to wait after attempt `attempt` (1-based) failed; `rand` in [0, 1]."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
        wait = ceiling * (0.5 + 0.5 * min(max(rand, 0.0), 1.0))
        asked = self.asked(retry_after)
        return wait if asked is None else max(wait, asked)

    def asked(self, retry_after: float | None) -> float | None:
        """The Retry-After honoured: clamped to [0, max_retry_after]; None when absent or NaN."""
        if retry_after is None or math.isnan(retry_after):
            return None
        return min(max(retry_after, 0.0), self.max_retry_after)

    def next_at(
        self, attempt: int, *, first_at: int, now: int, retry_after: float | None, rand: float
    ) -> int | None:
        """When to try again after attempt `attempt` failed at `now`, or None to give up."""
        end = first_at + round(self.window * 1000)
        if now >= end:
            return None
        at = now + max(1, math.ceil(self.wait(attempt, retry_after=retry_after, rand=rand) * 1000))
        if at <= end:
            return at
        asked = self.asked(retry_after)
        if asked is not None and now + math.ceil(asked * 1000) > end:
            return None  # the receiver asked us to wait past the window: no earlier try
        return end


DEFAULT_SCHEDULE = CallbackSchedule()


def next_attempt_at(
    attempt: int,
    *,
    first_at: int,
    now: int,
    retry_after: float | None = None,
    rand: float = 1.0,
    schedule: CallbackSchedule = DEFAULT_SCHEDULE,
) -> int | None:
    """When to try a callback again after attempt `attempt` (1-based) failed at `now`, the
    first attempt having been at `first_at` (milliseconds since the epoch); None: give up.
    `retry_after` is the receiver's Retry-After in seconds, `rand` the jitter in [0, 1]."""
    return schedule.next_at(attempt, first_at=first_at, now=now, retry_after=retry_after, rand=rand)
