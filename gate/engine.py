"""The one engine behind the CLI, the GitHub Action and the HTTP service: plan, gather, decide.

`plan_targets` says which evaluations a `GateRequest` gates (pure); `gather_inputs` fetches
everything they need from a results source, concurrently (`GateInputs`); `decide_gate`
checks the rules over it (pure). `run_gate` is the last two in one call; a face that decides
elsewhere (the service, on its worker threads) calls them apart. Nothing here reads the
environment, prints or exits, and no message names a face's setting: the errors whose fix is
one carry their data, and each face words them (`GateError.worded`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from gate.baseline_data import choose_baseline
from gate.core.baseline import BaseEvals, Baseline
from gate.core.decision import decide
from gate.core.errors import (
    BaseNotAvailable,
    ExitCode,
    GateError,
    NothingToGate,
    ResultsUnavailable,
    UsageError,
)
from gate.core.eval_info import EvalInfo
from gate.core.evaluate import EvalInput, applies, evaluate
from gate.core.lookup import Need, Panel, Panels, needs
from gate.core.model import AUTO, BASE, CHAMPION, EvalBy, EvalSpec, GateConfig, Provenance
from gate.core.outcome import GateOutcome, Verdict
from gate.core.results import EvalResults, Malformed, MalformedResults, Missing
from gate.fetch import Fetcher, FetchOptions, PanelUnavailable, ResultsSource
from gate.trend_data import gather_trend, trend_budget

__all__ = [
    "DEFAULT_EVAL_URL",
    "BaseEvals",
    "GateInputs",
    "GateRequest",
    "decide_gate",
    "exit_code_for",
    "gather_inputs",
    "plan_targets",
    "run_gate",
]

_T = TypeVar("_T")

DEFAULT_EVAL_URL = "https://app.roboflow.com/{workspace}/model-evals/{eval_id}"


@dataclass(frozen=True, slots=True)
class GateRequest:
    """What to gate, beyond the config: evals and baseline named on the command line."""

    config: GateConfig
    eval_ids: tuple[str, ...] = ()
    baseline: str | None = None  # applies to the evals in eval_ids, models and versions
    models: tuple[str, ...] = ()  # gate the newest eval of each of these models
    versions: tuple[str, ...] = ()  # gate the newest eval on each of these dataset versions
    workspace: str | None = None
    saved_ids: tuple[str, ...] = ()  # ids of saved results files, gated when nothing else is named
    eval_url: str | None = DEFAULT_EVAL_URL  # a template with {workspace} and {eval_id}
    base: BaseEvals | None = None  # baseline: base (the Action on pull requests); None: refused


def plan_targets(request: GateRequest) -> tuple[EvalSpec, ...]:
    """The evaluations to gate, in order, each with its baseline (pure)."""
    config = request.config
    by_key = {(spec.by, spec.id): spec for spec in config.evals}
    targets: list[EvalSpec] = list(config.evals)
    named = [
        *((EvalBy.ID, ref) for ref in request.eval_ids),
        *((EvalBy.MODEL, ref) for ref in request.models),
        *((EvalBy.VERSION, ref) for ref in request.versions),
    ]
    for by, ref in named:
        if (by, ref) in by_key:
            spec = by_key[(by, ref)]
            if request.baseline is not None:
                targets[targets.index(spec)] = EvalSpec(
                    spec.id, spec.name, request.baseline, spec.location, by=spec.by
                )
        else:
            by_key[(by, ref)] = EvalSpec(ref, baseline=request.baseline, by=by)
            targets.append(by_key[(by, ref)])
    if not targets:
        baseline = request.baseline
        targets = [EvalSpec(i, baseline=baseline) for i in request.saved_ids if i != baseline]
    if not targets:
        raise NothingToGate
    for spec in targets:
        if spec.by is EvalBy.ID and spec.baseline == spec.id:
            raise UsageError(f"eval {spec.id} is its own baseline: name an earlier evaluation")
    based = [spec for spec in targets if spec.baseline == BASE]
    if request.base is None and based:
        # `baseline: base` with no base config to match against: located on each item.
        raise BaseNotAvailable.at(based)
    return tuple(targets)


def exit_code_for(verdict: Verdict, fail_on: str) -> ExitCode:
    """The process exit code for a verdict: `fail_on` is a `FailOn` (error, warning, never).
    The decision's (gate.core.decision), which every other output reads too."""
    return decide(verdict, fail_on).exit_code


def _url(template: str | None, workspace: str | None, eval_id: str) -> str | None:
    if not template or not workspace:
        return None
    return template.format(workspace=quote(workspace, safe=""), eval_id=quote(eval_id, safe=""))


async def _resolve_baseline(
    fetcher: Fetcher,
    spec: EvalSpec,
    request: GateRequest,
    results: asyncio.Future[EvalResults],
    info_until: float,
) -> tuple[Baseline, EvalResults | None]:
    """The baseline `spec` asks for and its results; its info (the report's provenance only)
    is waited for until `info_until` (loop time) at most."""
    baseline = await choose_baseline(
        fetcher,
        spec,
        base=request.base,
        require_same_version=request.config.require_same_version,
        results=results,
    )
    if baseline.eval_id is None:
        return baseline, None
    if baseline.same_version is not None:
        return baseline, await fetcher.results(baseline.eval_id)
    # Same dataset version or not: the baseline's info, asked alongside its results.
    within = info_until - asyncio.get_running_loop().time()
    base_results, _ = await asyncio.gather(
        fetcher.results(baseline.eval_id), fetcher.info_or_none(baseline.eval_id, within=within)
    )
    return baseline, base_results


def _provenance(
    fetcher: Fetcher, eval_id: str, baseline: Baseline, info: EvalInfo | None
) -> Provenance:
    """What is known of the candidate (`info`: asked of Roboflow alongside its results; None
    from a saved file) and its baseline: on the same test set when both say the same dataset
    version of the same project (a project unknown on either side is not known to be)."""
    info = fetcher.known_info(eval_id) or info  # the newest look (a running eval is re-asked)
    same = baseline.same_version
    if same is None and baseline.eval_id is not None and info is not None:
        base = fetcher.known_info(baseline.eval_id)
        if base is not None and info.version_id is not None and base.version_id is not None:
            same = base.version_id == info.version_id and base.same_project(info)
    return Provenance(
        model_id=info.model_id if info else None,
        version_id=info.version_id if info else None,
        created_at=info.created_at.isoformat() if info and info.created_at else None,
        baseline_id=baseline.eval_id,
        baseline_chosen=baseline.chosen,
        baseline_same_version=same,
        unknown=None if info is not None else _unknown_why(fetcher, eval_id),
    )


def _unknown_why(fetcher: Fetcher, eval_id: str) -> str:
    if fetcher.has_info(eval_id):
        return "Roboflow did not say"
    return "its results come from a saved file"


async def _resolve(fetcher: Fetcher, spec: EvalSpec) -> tuple[EvalSpec, float | None]:
    """`spec` naming its eval by id: a model or version is resolved to its newest eval (the
    spec then carries that eval's id, and its name is the model or version id unless it had
    one); with the clock time the wait for results must end by, when resolving spent some."""
    if spec.by is EvalBy.ID:
        return spec, None
    info, give_up = await fetcher.resolve(spec.by.value, spec.id)
    if info.status == "failed":
        raise ResultsUnavailable(
            f"the evaluation of {spec.named} failed on Roboflow (eval {info.eval_id}), so there "
            "is nothing to gate; re-run the evaluation in Roboflow",
            eval_id=info.eval_id,
        )
    if spec.baseline == info.eval_id and spec.baseline not in (AUTO, CHAMPION, BASE):
        raise UsageError(
            f"the newest evaluation of {spec.named} is {info.eval_id}, its own baseline: "
            "name an earlier evaluation"
        )
    resolved = EvalSpec(info.eval_id, spec.name or spec.id, spec.baseline, spec.location)
    return resolved, give_up


async def _gather_input(fetcher: Fetcher, spec: EvalSpec, request: GateRequest) -> EvalInput:
    """What one evaluation is gated on: its results, its baseline's, the panels its rules
    need, its trend and provenance. The candidate's and the baseline's info (asked for the
    report's provenance alone) get the trend's budget: they never stall the verdict."""
    named = None if spec.by is EvalBy.ID else spec.named
    spec, give_up = await _resolve(fetcher, spec)
    within = trend_budget(fetcher.deadline, fetcher.now())
    info_until = asyncio.get_running_loop().time() + within
    candidate = fetcher.results(spec.id, give_up=give_up, named=named)
    resolving = asyncio.ensure_future(
        _resolve_baseline(fetcher, spec, request, candidate, info_until)
    )
    asked = asyncio.ensure_future(fetcher.info_or_none(spec.id, within=within))
    trend = gather_trend(
        fetcher,
        spec.id,
        last=request.config.trend,
        info=asked,
        results=candidate,
        resolving=resolving,
    )
    panels_of = _panels_for(fetcher, spec, request.config, candidate, resolving)
    (
        results,
        (baseline, base_results),
        info,
        trend_data,
        (panels, baseline_panels),
    ) = await asyncio.gather(candidate, resolving, asked, trend, panels_of)
    return EvalInput(
        spec=spec,
        results=results,
        baseline=base_results,
        baseline_id=baseline.eval_id,
        baseline_note=baseline.note,
        baseline_unknown=baseline.unknown,
        url=_url(request.eval_url, request.workspace, spec.id),
        provenance=_provenance(fetcher, spec.id, baseline, info),
        trend=trend_data,
        panels=panels,
        baseline_panels=baseline_panels,
    )


async def _panels_for(
    fetcher: Fetcher,
    spec: EvalSpec,
    config: GateConfig,
    candidate: Awaitable[EvalResults],
    resolving: Awaitable[tuple[Baseline, EvalResults | None]],
) -> tuple[Panels, Panels]:
    """The panels the applicable rules need: the candidate's asked as soon as its results
    say what it is (alongside the baseline's resolution and the trend), the baseline's as
    soon as the baseline's results are in."""
    results = await candidate
    rules = tuple(r for r in config.rules if applies(r, spec, results.task_type))
    mine = asyncio.ensure_future(
        _gather_panels(fetcher, spec.id, None, needs(rules, results, has_baseline=False))
    )
    try:
        baseline, base_results = await resolving
        theirs = {
            need
            for need in needs(rules, results, has_baseline=base_results is not None)
            if need.baseline
        }
        (panels, _), (_, baseline_panels) = await asyncio.gather(
            mine, _gather_panels(fetcher, spec.id, baseline.eval_id, theirs)
        )
    finally:
        mine.cancel()  # (a no-op once done) not left running when the baseline failed
    return panels, baseline_panels


async def _panel(fetch: Awaitable[_T], *, decides: bool) -> _T | Missing | Malformed:
    """A panel, or why it is not there: a panel Roboflow does not have (409, or not in saved
    results) is missing (the rule's `if_missing` decides); a malformed one is an error. Any
    other failure (the network, 5xx after retries) fails the gate like the map-results would
    (exit 3), unless only the report wanted the panel (the support beside a check): then the
    support is just unknown."""
    try:
        return await fetch
    except PanelUnavailable as error:
        return Missing(str(error))
    except MalformedResults as error:
        return Malformed(str(error))
    except ResultsUnavailable as error:
        if decides:
            raise
        return Missing(str(error))


async def _gather_panels(
    fetcher: Fetcher, eval_id: str, baseline_id: str | None, wanted: set[Need]
) -> tuple[Panels, Panels]:
    """Fetch every panel the rules need, the candidate's and the baseline's, concurrently
    (the fetcher shares each across evals and pages image predictions concurrently)."""
    found: dict[tuple[bool, str], dict[str, Any]] = {}
    jobs: list[tuple[Need, Awaitable[Any]]] = []
    for need in sorted(wanted, key=lambda n: (n.baseline, n.panel, n.split)):
        target = baseline_id if need.baseline else eval_id
        if target is None:
            continue
        if need.panel == Panel.CONFUSION:
            fetch: Awaitable[Any] = fetcher.confusion(target, need.split)
        elif need.panel == Panel.PERFORMANCE:
            fetch = fetcher.class_performance(target, need.split)
        else:
            fetch = fetcher.image_counts(target, need.split)
        jobs.append((need, _panel(fetch, decides=need.decides)))
    answers = await asyncio.gather(*(job for _, job in jobs))
    for (need, _), answer in zip(jobs, answers, strict=True):
        found.setdefault((need.baseline, need.panel), {})[need.split] = answer

    def panels(*, of_baseline: bool) -> Panels:
        return Panels(
            confusion=found.get((of_baseline, Panel.CONFUSION), {}),
            performance=found.get((of_baseline, Panel.PERFORMANCE), {}),
            images=found.get((of_baseline, Panel.IMAGES), {}),
        )

    return panels(of_baseline=False), panels(of_baseline=True)


@dataclass(frozen=True, slots=True)
class GateInputs:
    """Everything a gate's verdict is decided from: the config and, for each evaluation to
    gate in order, what was fetched for it (`gather_inputs`' answer, `decide_gate`'s question)."""

    config: GateConfig
    evals: tuple[EvalInput, ...]


async def gather_inputs(
    request: GateRequest,
    source: ResultsSource,
    options: FetchOptions,
    *,
    clock: Callable[[], float] | None = None,
) -> GateInputs:
    """Fetch everything the gate needs, concurrently: each planned evaluation's results, its
    baseline's, the panels its rules need, its trend and provenance (waiting while they run,
    as `options` says). The first user-facing error of any fetch is raised, the rest stopped."""
    targets = plan_targets(request)
    fetcher = Fetcher(source, options, clock=clock or asyncio.get_running_loop().time)
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_gather_input(fetcher, t, request)) for t in targets]
    except BaseExceptionGroup as group_error:
        raise _first_gate_error(group_error) from None
    finally:
        fetcher.cancel()
    return GateInputs(request.config, tuple(task.result() for task in tasks))


def decide_gate(inputs: GateInputs, *, tick: Callable[[], None] | None = None) -> GateOutcome:
    """Check every rule against what was gathered (pure: no fetching). `tick`, when given, is
    called between chunks of the confidence intervals' resampling (raise from it to stop)."""
    return evaluate(inputs.config, inputs.evals, tick=tick)


async def run_gate(
    request: GateRequest,
    source: ResultsSource,
    options: FetchOptions,
    *,
    clock: Callable[[], float] | None = None,
) -> GateOutcome:
    """Fetch every evaluation (and baseline) concurrently, then check the rules: the two
    halves, `gather_inputs` then `decide_gate`."""
    return decide_gate(await gather_inputs(request, source, options, clock=clock))


def _first_gate_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a failed fetch: a user-facing GateError when there is one."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_gate_error(error)
        if isinstance(error, GateError):
            return error
    return group.exceptions[0]
