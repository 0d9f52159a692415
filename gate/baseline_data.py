"""Gathering one gated evaluation's baseline: what `baseline: auto`, `champion` and `base`
need fetched, asked of the run's `Fetcher`, then chosen by the pure policy of
`gate.core.baseline`.

auto asks for the candidate's info and its dataset version's list (then, when none of another
model is on the version, its project's); champion for the version's list and each rival's
headline value (its summary's, else its map-results'); base, when the base branch's config
names a model or version, for that list. Every list and result is the run's shared one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import structlog

from gate.core.baseline import (
    BaseEvals,
    Baseline,
    Unscored,
    auto_in_project,
    auto_not_on_version,
    auto_on_version,
    auto_project_query,
    base_chosen,
    champion_rivals,
    champion_version,
    check_auto,
    choose_champion,
    newest_done,
    results_score,
    short_why,
    summary_score,
)
from gate.core.errors import BaseNotAvailable, GateError
from gate.core.eval_info import EvalInfo, EvalQuery
from gate.core.metrics import TaskType
from gate.core.model import AUTO, BASE, CHAMPION, EvalBy, EvalSpec
from gate.core.results import EvalResults
from gate.fetch import Fetcher

__all__ = ["choose_baseline", "headline"]

_log = structlog.get_logger("gate.baseline")


async def choose_baseline(
    fetcher: Fetcher,
    spec: EvalSpec,
    *,
    base: BaseEvals | None,
    require_same_version: bool,
    results: Awaitable[EvalResults],
) -> Baseline:
    """The baseline `spec` asks for (an eval id, auto, champion, base, or none), or why
    there is none. `results`: the candidate's (champion ranks by its task's metric); `base`:
    the base branch's evals (None: `baseline: base` is not available here)."""
    if spec.baseline == BASE:
        return await _base(fetcher, spec, base)
    if spec.baseline == AUTO:
        return await _auto(fetcher, spec.id, require_same_version=require_same_version)
    if spec.baseline == CHAMPION:
        return await _champion(fetcher, spec.id, _task_of(results))
    if spec.baseline is not None:
        return Baseline(spec.baseline, chosen="given")
    return Baseline(None)


async def _task_of(results: Awaitable[EvalResults]) -> TaskType:
    return (await results).task_type


def _logged(eval_id: str, baseline: Baseline, **where: str | None) -> Baseline:
    if baseline.eval_id is not None:
        _log.info("fetch.baseline", eval_id=eval_id, baseline=baseline.eval_id)
    else:
        _log.warning("fetch.no_baseline", eval_id=eval_id, **where)
    return baseline


async def _auto(fetcher: Fetcher, eval_id: str, *, require_same_version: bool) -> Baseline:
    """The newest `done` evaluation on the candidate's dataset version, created before it
    and not of its model; else (unless `require_same_version`) the newest earlier `done`
    evaluation of its project, flagged as measured on another dataset version."""
    info = await fetcher.info(eval_id)
    check_auto(info)
    version = info.version_id
    if version is not None:
        listed = await fetcher.listing(EvalQuery(version=version))
        chosen = auto_on_version(info, listed, require_same_version=require_same_version)
        if chosen is not None:
            return _logged(eval_id, chosen)
    if require_same_version:
        return _logged(eval_id, auto_not_on_version(info), version=version)
    in_project = await fetcher.listing(auto_project_query(info))
    return _logged(eval_id, auto_in_project(info, in_project), project=info.project)


async def _champion(fetcher: Fetcher, eval_id: str, task_type: Awaitable[TaskType]) -> Baseline:
    """The best `done` evaluation of another model on the candidate's dataset version by the
    task's headline metric (the eval's summary when it has the metric, else its
    map-results), or unknown when a rival's value cannot be had. The version's list is
    asked while the candidate's results (which say its task) are still on their way."""
    info = await fetcher.info(eval_id)
    version = champion_version(info)
    task, listed = await asyncio.gather(task_type, fetcher.listing(EvalQuery(version=version)))
    rivals = champion_rivals(info, listed)
    scores = await asyncio.gather(*(_score(fetcher, e, task) for e in rivals))
    scored = list(zip(rivals, scores, strict=True))
    chosen = choose_champion(info, task, scored)
    if chosen.unknown:
        unknown = {e.eval_id: score.why for e, score in scored if isinstance(score, Unscored)}
        _log.warning("fetch.champion_unknown", eval_id=eval_id, version=version, rivals=unknown)
    elif chosen.eval_id is None:
        _log.warning("fetch.no_baseline", eval_id=eval_id, version=version)
    else:
        score = next(score for e, score in scored if e.eval_id == chosen.eval_id)
        _log.info("fetch.champion", eval_id=eval_id, baseline=chosen.eval_id, score=score)
    return chosen


async def headline(fetcher: Fetcher, info: EvalInfo, task_type: TaskType) -> float | None:
    """An eval's headline metric on test (its summary's, else its shared map-results',
    fetched as the trend's own: `Fetcher.trend_results`), or None when it has none: the
    report's trend charts it."""
    score = await _score(fetcher, info, task_type, for_trend=True)
    return score if isinstance(score, float) else None


async def _score(
    fetcher: Fetcher, info: EvalInfo, task_type: TaskType, *, for_trend: bool = False
) -> float | Unscored | None:
    """An eval's headline metric on test; `Unscored` (why) when it cannot be had or is
    not a usable fraction; None when the eval is of another task (no rival)."""
    summary = summary_score(info, task_type)
    if summary is not None:
        return summary
    try:
        if for_trend:  # the trend may stop waiting: never cancel a fetch others share
            results = await asyncio.shield(fetcher.trend_results(info.eval_id))
        else:
            results = await fetcher.results(info.eval_id)
    except GateError as error:
        return Unscored(short_why(error, info.eval_id))
    return results_score(results, task_type)


async def _base(fetcher: Fetcher, spec: EvalSpec, base: BaseEvals | None) -> Baseline:
    """`baseline: base`: the eval the base branch's config names like `spec` (its id, or the
    newest done eval of its model or version), or why there is none."""
    if base is None:
        raise BaseNotAvailable.at([spec])
    found, why = base.find(spec.label)
    if found is None:
        return Baseline(None, why)
    if found.by is EvalBy.ID:
        return base_chosen(spec, found, found.id)
    # None of another project than the candidate's (when both are known): its info is asked
    # alongside the list (both shared with the rest of the run).
    by = found.by.value
    candidate, listed = await asyncio.gather(
        fetcher.info_or_none(spec.id), fetcher.listing(EvalQuery.of(by, found.id))
    )
    newest = newest_done(listed, by, found.id, other_than=candidate or spec.id)
    if newest is not None:
        fetcher.remember(newest)
    return base_chosen(spec, found, newest.eval_id if newest is not None else None)
