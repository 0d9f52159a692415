"""Gathering one gated evaluation's trend: the headline metric of the candidate, its baseline
and the last done evaluations of its dataset version, for the report's chart.

The version's list is the run's shared one (`Fetcher.listing`: one call per version per run,
shared with `baseline: auto` and `champion`), and each eval's value comes from its summary or
its shared map-results, all fetched at once. The trend is informational: nothing here ever
fails the gate.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from datetime import UTC, datetime

import structlog

from gate.core.errors import ResultsUnavailable
from gate.core.metrics import TaskType
from gate.core.results import EvalResults
from gate.core.trend import Trend, TrendPoint, TrendRole, trend_of
from gate.fetch import HEADLINE, Baseline, EvalInfo, Fetcher

__all__ = ["gather_trend"]

_log = structlog.get_logger("gate.trend")


async def gather_trend(
    fetcher: Fetcher,
    eval_id: str,
    *,
    last: int,
    about: Awaitable[EvalInfo | None],
    results: Awaitable[EvalResults],
    resolving: Awaitable[tuple[Baseline, EvalResults | None]],
) -> Trend | None:
    """The trend of eval `eval_id`: its headline metric on test, its baseline's, and those of
    the `last` done evals of its dataset version created at or before it. `about` gives the
    candidate's metadata, `results` its map-results and `resolving` its baseline (all already
    on their way: this only adds the version's list and the earlier evals' values).

    None when off (`last` 0), offline (a saved file says nothing of its eval's version), when
    the version is unknown, or when the version's list cannot be had. An eval whose value
    cannot be had is left out (named in `Trend.left_out`)."""
    if last <= 0 or not fetcher.describes(eval_id):
        return None
    info = await about
    if info is None or info.version_id is None:
        return None
    version = info.version_id
    try:
        listed = await fetcher.listing("version", version)
    except ResultsUnavailable as error:
        _log.warning("trend.unavailable", eval_id=eval_id, version=version, error=str(error))
        return None
    task = (await results).task_type
    metric = HEADLINE[task]
    earlier = _earlier(listed, info, version, last)
    values = await asyncio.gather(*(fetcher.headline(e, task) for e in earlier))
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
        add(e, e.eval_id, value, role)
    if baseline.eval_id is not None and all(e.eval_id != baseline.eval_id for e in earlier):
        value = _test_value(base_results, metric.name, task)
        listed_base = next((e for e in listed if e.eval_id == baseline.eval_id), None)
        about_base = listed_base or fetcher.known_info(baseline.eval_id)
        add(about_base, baseline.eval_id, value, TrendRole.BASELINE)
    add(info, eval_id, _test_value(await results, metric.name, task), TrendRole.CANDIDATE)
    _log.debug("trend.gathered", eval_id=eval_id, points=len(points), left_out=len(left_out))
    return trend_of(metric.name, metric.label, version, points, left_out)


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
