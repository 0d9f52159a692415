"""When a failed callback is tried again (a pure function, tested as a table) and that it gives
up 24 hours after the first attempt, on a fake clock."""

from __future__ import annotations

import itertools
import math

import pytest

from gate.worker import DEFAULT_SCHEDULE, CallbackSchedule, next_attempt_at

S = 1000  # milliseconds
H = 3600 * S
DAY = 24 * H
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a first attempt


@pytest.mark.parametrize(
    ("attempt", "now", "retry_after", "rand", "expected"),
    [
        # exponential: 10 s doubling, a random half taken off
        (1, T0, None, 1.0, T0 + 10 * S),
        (1, T0, None, 0.0, T0 + 5 * S),
        (1, T0, None, 0.5, T0 + 7_500),
        (2, T0 + 10 * S, None, 1.0, T0 + 30 * S),
        (3, T0 + 30 * S, None, 1.0, T0 + 70 * S),
        (9, T0 + H, None, 1.0, T0 + H + 2560 * S),
        # capped at an hour
        (10, T0 + 2 * H, None, 1.0, T0 + 3 * H),
        (10, T0 + 2 * H, None, 0.0, T0 + 2 * H + 1800 * S),
        (10_000, T0 + 2 * H, None, 1.0, T0 + 3 * H),
        # jitter outside [0, 1] is clamped
        (1, T0, None, -3.0, T0 + 5 * S),
        (1, T0, None, 7.0, T0 + 10 * S),
        # Retry-After: waits longer, never shorter, at most an hour
        (1, T0, 120.0, 0.0, T0 + 120 * S),
        (5, T0, 1.0, 1.0, T0 + 160 * S),
        (1, T0, 86_400.0, 0.0, T0 + H),
        (1, T0, 0.0, 1.0, T0 + 10 * S),
        (1, T0, -5.0, 1.0, T0 + 10 * S),
        (1, T0, math.nan, 1.0, T0 + 10 * S),
        (1, T0, 0.0004, 0.0, T0 + 5 * S),
        # the window's end: a late wait is cut to end there, for one last try
        (30, T0 + DAY - 100 * S, None, 1.0, T0 + DAY),
        (1, T0 + DAY - 1, None, 1.0, T0 + DAY),
        (30, T0 + DAY - H, None, 1.0, T0 + DAY),
        # ... unless the receiver asked to wait past it
        (30, T0 + DAY - 100 * S, 600.0, 1.0, None),
        (30, T0 + DAY - 100 * S, 50.0, 1.0, T0 + DAY),
        # at or after the end: give up
        (30, T0 + DAY, None, 1.0, None),
        (30, T0 + DAY + 1, None, 1.0, None),
        (1, T0 + 3 * DAY, None, 1.0, None),
    ],
)
def test_the_next_attempt_follows_the_schedule(attempt, now, retry_after, rand, expected):
    # The first attempt was at T0.
    got = next_attempt_at(attempt, first_at=T0, now=now, retry_after=retry_after, rand=rand)
    assert got == expected


def test_the_next_attempt_is_always_later_than_now():
    tiny = CallbackSchedule(base=1e-9, cap=1e-9)
    assert tiny.next_at(1, first_at=T0, now=T0, retry_after=None, rand=0.0) == T0 + 1


def test_a_callback_that_never_gets_a_2xx_is_given_up_24_hours_after_the_first_attempt():
    for rand in (0.0, 0.5, 1.0):
        now, attempt, times = T0, 1, [T0]  # a fake clock: each attempt fails at its time
        while (at := next_attempt_at(attempt, first_at=T0, now=now, rand=rand)) is not None:
            assert now < at <= T0 + DAY
            now, attempt = at, attempt + 1
            times.append(now)
        assert times[-1] == T0 + DAY  # the last try at the window's end
        assert 33 <= len(times) <= 57, (rand, len(times))
        assert max(b - a for a, b in itertools.pairwise(times)) <= H


def test_a_receiver_that_always_asks_for_an_hour_gets_one_attempt_an_hour():
    now, attempt, times = T0, 1, [T0]
    while (at := next_attempt_at(attempt, first_at=T0, now=now, retry_after=7200.0)) is not None:
        now, attempt = at, attempt + 1
        times.append(now)
    assert times == [T0 + i * H for i in range(25)]


@pytest.mark.parametrize(
    "bad",
    [{"base": 0}, {"cap": -1}, {"window": math.inf}, {"max_retry_after": math.nan}],
)
def test_a_schedule_with_a_wait_that_is_not_a_positive_number_is_refused(bad):
    with pytest.raises(ValueError, match="must be > 0 and finite"):
        CallbackSchedule(**bad)


def test_attempt_numbers_start_at_one():
    with pytest.raises(ValueError, match="start at 1"):
        DEFAULT_SCHEDULE.next_at(0, first_at=T0, now=T0, retry_after=None, rand=1.0)
