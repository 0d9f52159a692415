"""Gathering one gated evaluation's trend: the headline metric of the candidate, its baseline
and the last done evaluations of its dataset version, for the report's chart.

The version's list is the run's shared one (`Fetcher.listing`: one call per version per run,
shared with `baseline: auto` and `champion`), and each eval's value comes from its summary or
its shared map-results, all fetched at once. The trend is informational: nothing here ever
fails, or stalls, the gate: what it fetches for itself has its own budget (`trend_budget`), and
what is not back in time is left out.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import structlog

from gate.baseline_data import headline
from gate.core.baseline import HEADLINE, Baseline
from gate.core.errors import ResultsUnavailable
from gate.core.eval_info import EvalInfo, EvalQuery
from gate.core.metrics import TaskType
from gate.core.results import EvalResults
from gate.core.trend import Trend, TrendPoint, TrendRole, trend_of
from gate.fetch import Fetcher

__all__ = ["TREND_SHARE", "TREND_TIMEOUT", "gather_trend", "trend_budget"]

_T = TypeVar("_T")

_log = structlog.get_logger("gate.trend")


TREND_SHARE = 0.1  # of what is left of the run's deadline, at most, for the trend's own fetching
TREND_TIMEOUT = 5.0  # seconds, at most, for the trend's own fetching (its list, its rivals)


def trend_budget(deadline: float | None, now: float) -> float:
    """Seconds the trend may spend on its own fetching (the version's list and the rivals'
    values, beyond what the gate needs anyway): a short timeout, and never more than a fixed
    share of what is left of the deadline. What only the report's provenance asks for (an
    eval's info) gets the same budget (`gate.engine`)."""
    if deadline is None:
        return TREND_TIMEOUT
    return max(0.0, min(TREND_TIMEOUT, TREND_SHARE * (deadline - now)))


async def gather_trend(
    fetcher: Fetcher,
    eval_id: str,
    *,
    last: int,
    info: Awaitable[EvalInfo | None],
    results: Awaitable[EvalResults],
    resolving: Awaitable[tuple[Baseline, EvalResults | None]],
) -> Trend | None:
    """The trend of eval `eval_id`: its headline metric on test, its baseline's, and those of
    the `last` done evals of its dataset version created at or before it. `info` gives the
    candidate's info (None: unknown, or not back within its budget), `results` its map-results
    and `resolving` its baseline (all already on their way: this only adds the version's list
    and the earlier evals' values).

    The trend is decoration: it never fails, or stalls, a gate. Its own fetching (the list,
    when nothing else asked for it, and the rivals' values) gets its own budget
    (`trend_budget`): a rival whose value is not back in time is left out (named in
    `Trend.left_out`, as one whose value cannot be had), and the fetches only the trend
    asked for are stopped (`Fetcher.let_go`).

    None when off (`last` 0), offline (a saved file says nothing of its eval's version), when
    the version is unknown, or when the version's list cannot be had in time."""
    if last <= 0 or not fetcher.has_info(eval_id):
        return None
    candidate = await info
    if candidate is None or candidate.version_id is None:
        return None
    version = candidate.version_id
    clock = asyncio.get_running_loop().time
    give_up = clock() + trend_budget(fetcher.deadline, fetcher.now())
    key = EvalQuery(version=version)
    try:
        listed = await _within(fetcher.listing(key, for_trend=True), give_up, clock)
    except (ResultsUnavailable, TimeoutError) as error:
        fetcher.let_go(lists=[key])
        why = str(error) or "not back within the trend's budget"
        _log.warning("trend.unavailable", eval_id=eval_id, version=version, error=why)
        return None
    task = (await results).task_type
    metric = HEADLINE[task]
    earlier = _earlier(listed, candidate, version, last)
    values = await _values(fetcher, earlier, task, give_up, clock)
    baseline, base_results = await resolving
    points: list[TrendPoint] = []
    left_out: list[str] = []

    def add(of: EvalInfo | None, ident: str, value: float | None, role: TrendRole) -> None:
        if value is None:
            left_out.append(ident)
            return
        model = of.model_id if of is not None else None
        points.append(TrendPoint(ident, model, _iso(of), value, role))

    for e, value in zip(earlier, values, strict=True):
        role = TrendRole.BASELINE if e.eval_id == baseline.eval_id else TrendRole.EARLIER
        if value is None and role is TrendRole.BASELINE:  # the gate waited for its results
            add(e, e.eval_id, _test_value(base_results, metric.name, task), role)
        else:
            add(e, e.eval_id, value, role)
    if baseline.eval_id is not None and all(e.eval_id != baseline.eval_id for e in earlier):
        value = _test_value(base_results, metric.name, task)
        listed_base = next((e for e in listed if e.eval_id == baseline.eval_id), None)
        base_info = listed_base or fetcher.known_info(baseline.eval_id)
        add(base_info, baseline.eval_id, value, TrendRole.BASELINE)
    add(candidate, eval_id, _test_value(await results, metric.name, task), TrendRole.CANDIDATE)
    _log.debug("trend.gathered", eval_id=eval_id, points=len(points), left_out=len(left_out))
    return trend_of(metric.name, metric.label, version, points, left_out)


async def _within(fetch: asyncio.Future[_T], give_up: float, clock: Callable[[], float]) -> _T:
    """`fetch`'s result if it comes by clock time `give_up` (TimeoutError otherwise), without
    cancelling it: it may be shared with the gate."""
    done, _ = await asyncio.wait([fetch], timeout=max(0.0, give_up - clock()))
    if not done:
        raise TimeoutError
    return fetch.result()


async def _values(
    fetcher: Fetcher,
    earlier: list[EvalInfo],
    task: TaskType,
    give_up: float,
    clock: Callable[[], float],
) -> list[float | None]:
    """Each earlier eval's headline value, or None when it cannot be had by `give_up` (the
    ones only the trend asked for are then stopped)."""
    asked = [asyncio.ensure_future(headline(fetcher, e, task)) for e in earlier]
    if not asked:
        return []
    _, late = await asyncio.wait(asked, timeout=max(0.0, give_up - clock()))
    for waiting in late:
        waiting.cancel()  # the wait, not the fetch: headline() awaits a shared future
    if late:
        slow = [e.eval_id for e, waiting in zip(earlier, asked, strict=True) if waiting in late]
        _log.warning("trend.rivals_late", rivals=slow)
        fetcher.let_go(eval_ids=slow)
    await asyncio.gather(*late, return_exceptions=True)
    return [None if waiting in late else waiting.result() for waiting in asked]


def _earlier(listed: list[EvalInfo], info: EvalInfo, version: str, last: int) -> list[EvalInfo]:
    """The `last` newest done evals of `version` (other than the candidate, none known to be
    of another project) created at or before the candidate, oldest first."""
    cutoff = info.created_at
    found = [
        e
        for e in listed
        if e.status == "done"
        and e.eval_id != info.eval_id
        and e.version_id in (None, version)
        and not e.of_another_project(info)
        and e.created_at is not None
        and (cutoff is None or e.created_at <= cutoff)
    ]
    found.sort(key=lambda e: (e.created_at or datetime.min.replace(tzinfo=UTC), e.eval_id))
    return found[-last:]


def _iso(info: EvalInfo | None) -> str | None:
    if info is None or info.created_at is None:
        return None
    return info.created_at.astimezone(UTC).isoformat()


def _test_value(results: EvalResults | None, metric: str, task: TaskType) -> float | None:
    """A split-level metric on test when it is a usable fraction; else None (not charted)."""
    if results is None or results.task_type is not task:
        return None
    value = results.value(metric, "test")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0.0 <= value <= 1.0 else None
