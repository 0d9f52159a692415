"""The baseline policy: which evaluation an eval is compared with, chosen from listed evals.

`baseline: auto` (the newest earlier done evaluation of another model on the candidate's
dataset version, else of its project), `baseline: champion` (the best done evaluation of
another model on the version, by the task's headline metric: the `HEADLINE` table) and
`baseline: base` (the eval the base branch's config names alike) as pure functions over
`EvalInfo`s and values already fetched. Each returns a `Baseline`: the eval chosen and how,
or why there is none. What to fetch, and when, is `gate.baseline_data`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gate.core.errors import GateError, ResultsUnavailable
from gate.core.eval_info import EvalInfo, EvalQuery, newest
from gate.core.metrics import TaskType
from gate.core.model import BASE_CHOSEN, EvalSpec
from gate.core.results import EvalResults, Malformed, Missing

__all__ = [
    "HEADLINE",
    "MAX_NAMED_RIVALS",
    "BaseEvals",
    "Baseline",
    "Headline",
    "Unscored",
    "auto_in_project",
    "auto_not_on_version",
    "auto_on_version",
    "auto_project_query",
    "base_chosen",
    "champion_rivals",
    "champion_version",
    "check_auto",
    "choose_champion",
    "newest_done",
    "results_score",
    "short_why",
    "summary_score",
]


@dataclass(frozen=True, slots=True)
class Baseline:
    """The baseline chosen for one evaluation, or why there is none."""

    eval_id: str | None
    note: str | None = None  # why there is none
    chosen: str | None = None  # how it was chosen, when auto or champion chose it
    same_version: bool | None = None  # measured on the candidate's dataset version (None: unknown)
    # A baseline was asked for but cannot be known (the champion, when a rival's value cannot
    # be had): the regression checks follow `if_missing`, with `note` saying why.
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class Headline:
    """The metric `baseline: champion` ranks by: its map-results name, its summary key."""

    name: str
    label: str
    summary_key: str | None  # None: the summary does not carry it (summary.mAP is mAP@0.5)


HEADLINE: Mapping[TaskType, Headline] = {
    TaskType.DETECTION: Headline("map50_95", "mAP@50:95", None),
    TaskType.SEGMENTATION: Headline("miou", "mIoU", "mIoU"),
}


@dataclass(frozen=True, slots=True)
class Unscored:
    """Why an eval's headline value cannot be had (its map-results failed, or the value is
    null, NaN, out of range or not a number)."""

    why: str


MAX_NAMED_RIVALS = 3  # rivals named in an unknown champion's note (the rest counted)

_UNKNOWN_PROJECT = " (a project not known to be the candidate's: not known to share its test set)"


def _done_rival(info: EvalInfo, candidate: EvalInfo) -> bool:
    """A done evaluation other than the candidate, not of the candidate's model, and not of
    another project (a version id may be another project's too)."""
    return (
        info.eval_id != candidate.eval_id
        and info.status == "done"
        and (candidate.model_id is None or info.model_id != candidate.model_id)
        and not info.of_another_project(candidate)
    )


def _created(info: EvalInfo) -> datetime:
    return info.created_at or datetime.min.replace(tzinfo=UTC)


def _fraction(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 1.0
    )


# --------------------------------------------------------------------------- auto


def _unsaid(choice: str, candidate: EvalInfo, what: str) -> ResultsUnavailable:
    """`baseline: choice` cannot be chosen: Roboflow did not say `what` of the candidate."""
    return ResultsUnavailable(
        f"baseline: {choice} for eval {candidate.eval_id}: Roboflow did not say {what}; set "
        "baseline: to an eval id instead",
        eval_id=candidate.eval_id,
    )


def check_auto(candidate: EvalInfo) -> None:
    """`baseline: auto` needs the candidate's creation time (the baseline is created before)."""
    if candidate.created_at is None:
        raise _unsaid("auto", candidate, "when it was created")


def auto_on_version(
    candidate: EvalInfo, listed: Iterable[EvalInfo], *, require_same_version: bool
) -> Baseline | None:
    """`baseline: auto` among the evals of the candidate's dataset version (`listed`): the
    newest done one created before it, not of its model, one known to be of its project
    first (only it shares the test set; with `require_same_version`, only such a one). None
    when there is none (then `auto_not_on_version`, or the project: `auto_project_query`)."""
    created, version = candidate.created_at, candidate.version_id
    assert created is not None  # check_auto
    same = [
        e
        for e in listed
        if _done_rival(e, candidate)
        and e.version_id in (None, version)
        and e.created_at is not None
        and e.created_at < created
        and (e.same_project(candidate) if require_same_version else True)
    ]
    if not same:
        return None
    chosen = max(same, key=lambda e: (e.same_project(candidate), _created(e)))
    shared = chosen.same_project(candidate)
    return Baseline(
        chosen.eval_id,
        chosen=(
            "auto: the newest earlier done evaluation of another model "
            f"on dataset version {version}" + ("" if shared else _UNKNOWN_PROJECT)
        ),
        same_version=shared,
    )


def auto_not_on_version(candidate: EvalInfo) -> Baseline:
    """No baseline: none on the candidate's dataset version, and `require_same_version`."""
    version = candidate.version_id
    where = f"dataset version '{version}'" if version else "its dataset version (unknown)"
    return Baseline(
        None,
        "baseline: auto found no earlier done evaluation of another model on "
        f"{where}, and require_same_version is set",
    )


def auto_project_query(candidate: EvalInfo) -> EvalQuery:
    """The list `auto_in_project` chooses from: the done evals of the candidate's project."""
    if not candidate.project:
        raise _unsaid("auto", candidate, "which project it belongs to")
    return EvalQuery(project=candidate.project, status="done")


def auto_in_project(candidate: EvalInfo, listed: Iterable[EvalInfo]) -> Baseline:
    """`baseline: auto` in the candidate's project (`listed`: its done evals), when none of
    another model on its dataset version is: the newest done one created before it, flagged
    as measured on another dataset version when it is."""
    created, version, project = candidate.created_at, candidate.version_id, candidate.project
    assert created is not None  # check_auto
    earlier = [
        (e.created_at, e)
        for e in listed
        if e.eval_id != candidate.eval_id
        and e.status == "done"
        and e.created_at is not None
        and e.created_at < created
        and (e.project in (None, project))
    ]
    if not earlier:
        return Baseline(
            None, f"baseline: auto found no earlier done evaluation in project '{project}'"
        )
    chosen = max(earlier, key=lambda pair: pair[0])[1]
    if version is None or chosen.version_id is None:
        same_version = None
        how = f"auto: the newest earlier done evaluation in project {project}"
    else:
        same_version = chosen.version_id == version
        how = (
            f"auto: the newest earlier done evaluation in project {project} "
            f"(none of another model on dataset version {version})"
        )
    return Baseline(chosen.eval_id, chosen=how, same_version=same_version)


# --------------------------------------------------------------------------- champion


def champion_version(candidate: EvalInfo) -> str:
    """The dataset version `baseline: champion` ranks the evals of: the candidate's."""
    if candidate.version_id is None:
        raise _unsaid("champion", candidate, "which dataset version it was measured on")
    return candidate.version_id


def champion_rivals(candidate: EvalInfo, listed: Iterable[EvalInfo]) -> list[EvalInfo]:
    """The evals of the candidate's dataset version the champion is the best of: done, not
    the candidate, not of its model, not of another project."""
    version = candidate.version_id
    return [e for e in listed if _done_rival(e, candidate) and e.version_id in (None, version)]


def summary_score(info: EvalInfo, task_type: TaskType) -> float | None:
    """An eval's headline metric on test from its summary, when the summary has it as a
    usable fraction (else its map-results must say: `results_score`)."""
    metric = HEADLINE[task_type]
    if metric.summary_key is not None and info.summary is not None:
        value = info.summary.get(metric.summary_key)
        if isinstance(value, int | float) and _fraction(value):
            return float(value)
    return None


def results_score(results: EvalResults, task_type: TaskType) -> float | Unscored | None:
    """An eval's headline metric on test from its map-results: `Unscored` (why) when it is
    not a usable fraction; None when the eval is of another task (no rival)."""
    if results.task_type is not task_type:
        return None
    value = results.value(HEADLINE[task_type].name, "test")
    if isinstance(value, Missing | Malformed):
        return Unscored(value.reason)
    return float(value)


def short_why(error: GateError, eval_id: str) -> str:
    """Why an eval's map-results cannot be had, in short: the HTTP status when the answer
    had one, else the message's first clause (without the eval it is about)."""
    status = getattr(error, "status", None)
    if isinstance(status, int) and status >= 400:
        return f"HTTP {status}"
    text = str(error).split("; ", 1)[0]
    for prefix in (f"map-results for eval {eval_id}: ", f"evaluation {eval_id} "):
        text = text.removeprefix(prefix)
    return text


def _champion_unknown(version: str, metric: Headline, unknown: list[tuple[str, str]]) -> str:
    """Why the champion is unknown: the rivals whose value cannot be had, each with why,
    named first (a report shortens long messages)."""
    named = ", ".join(f"eval {rival} ({why})" for rival, why in unknown[:MAX_NAMED_RIVALS])
    more = len(unknown) - MAX_NAMED_RIVALS
    return (
        f"baseline: champion is unknown: {named}"
        + (f" and {more} more" if more > 0 else "")
        + f": no usable {metric.label} on test, so the best done evaluation of another model "
        f"on dataset version '{version}' is not known; re-run the gate when Roboflow answers, "
        "or name the baseline's id"
    )


def choose_champion(
    candidate: EvalInfo,
    task_type: TaskType,
    scored: Sequence[tuple[EvalInfo, float | Unscored | None]],
) -> Baseline:
    """`baseline: champion`: the best of the rivals (`champion_rivals`, each with its score:
    None for one of another task) by the headline metric, the newer on a tie.

    The champion is the best of all of them or it is unknown: when any rival's value cannot
    be had (`Unscored`), there is no baseline and the note names the rivals and why, with
    `unknown` set (the regression checks follow `if_missing`): never a weaker champion."""
    version = champion_version(candidate)
    metric = HEADLINE[task_type]
    unknown = [(e.eval_id, score.why) for e, score in scored if isinstance(score, Unscored)]
    if unknown:
        return Baseline(None, _champion_unknown(version, metric, unknown), unknown=True)
    ranked = [(score, e) for e, score in scored if isinstance(score, float)]
    if not ranked:
        return Baseline(
            None,
            "baseline: champion found no done evaluation of another model on dataset "
            f"version '{version}'",
        )
    score, chosen = max(ranked, key=lambda pair: (pair[0], _created(pair[1])))
    return Baseline(
        chosen.eval_id,
        chosen=(
            f"champion: the best done evaluation of another model on dataset version "
            f"{version} by {metric.label} on test ({score:.4f})"
            + ("" if chosen.same_project(candidate) else _UNKNOWN_PROJECT)
        ),
        same_version=chosen.same_project(candidate),
    )


# --------------------------------------------------------------------------- base


@dataclass(frozen=True, slots=True)
class BaseEvals:
    """`baseline: base`: the evals the base branch's config names, matched to the candidates
    by name (an item's `name`, else its id, model or version). `evals` is None when there is
    no base config to read, `reason` saying why (no pull request, config-from: workspace, the
    base commit has no config)."""

    evals: tuple[EvalSpec, ...] | None = None
    reason: str = "there is no base branch's config"

    def find(self, name: str) -> tuple[EvalSpec | None, str]:
        """The base's eval named `name`, or None and why there is none."""
        if self.evals is None:
            return None, f"no baseline for {name}: {self.reason}"
        for spec in self.evals:
            if spec.label == name:
                return spec, ""
        return None, f"no eval named {name} in the base branch's config"


def newest_done(
    listed: Iterable[EvalInfo], by: str, ref: str, *, other_than: EvalInfo | str
) -> EvalInfo | None:
    """The newest `done` evaluation of model (or dataset version) `ref` in `listed`, other
    than `other_than` (the candidate: its id, or its info, and then none of another project);
    None when there is none (no waiting: a baseline is what is already done)."""
    candidate = other_than if isinstance(other_than, EvalInfo) else None
    other_id = candidate.eval_id if candidate is not None else other_than
    return newest(
        e
        for e in listed
        if e.is_of(by, ref)
        and e.status == "done"
        and e.eval_id != other_id
        and not (candidate is not None and e.of_another_project(candidate))
    )


def base_chosen(spec: EvalSpec, found: EvalSpec, eval_id: str | None) -> Baseline:
    """`baseline: base` for `spec`: `found` is the base branch's eval of the same name and
    `eval_id` the evaluation it names (its id, or its model's or version's newest done one:
    None when there is none)."""
    if eval_id is None:
        return Baseline(
            None,
            f"no done evaluation of {found.named} (the base branch's config names it {spec.label})",
        )
    if eval_id == spec.id:
        return Baseline(
            None,
            f"the base branch's config names {spec.label} the same eval ({eval_id}): "
            "nothing to compare with",
        )
    return Baseline(eval_id, chosen=BASE_CHOSEN)
