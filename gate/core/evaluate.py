"""Rule evaluation: config rules x evaluation results -> checks and a verdict. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gate.core.errors import ConfigError, Problem
from gate.core.lookup import NO_PANELS, Panels, support, support_unit, value
from gate.core.metrics import METRICS, TaskType
from gate.core.model import (
    ALL,
    TOLERANCE,
    EvalSpec,
    GateConfig,
    IfMissing,
    Provenance,
    Rule,
    Severity,
    Threshold,
)
from gate.core.model import ThresholdKind as Kind
from gate.core.outcome import Check, EvalOutcome, GateOutcome, Interval, Status
from gate.core.results import EvalResults, Malformed, Missing, Value
from gate.core.trend import Trend

if TYPE_CHECKING:
    from gate.core.bootstrap import Interval as BootInterval

_MISSING_STATUS = {
    IfMissing.FAIL: Status.FAIL,
    IfMissing.WARN: Status.WARN,
    IfMissing.SKIP: Status.SKIP,
}


@dataclass(frozen=True, slots=True)
class EvalInput:
    """One evaluation to gate, with its results and its baseline's (if any)."""

    spec: EvalSpec
    results: EvalResults
    baseline: EvalResults | None = None
    baseline_id: str | None = None
    baseline_note: str | None = None  # why there is no baseline, when there is none
    # The baseline asked for cannot be known (an unknown champion): the regression checks
    # follow their `if_missing` with `baseline_note`, never a config error.
    baseline_unknown: bool = False
    url: str | None = None
    provenance: Provenance | None = None  # the candidate and how its baseline was chosen
    trend: Trend | None = None  # the headline metric over the dataset version's evals
    panels: Panels = NO_PANELS  # the candidate's panels beyond map-results that rules need
    baseline_panels: Panels = NO_PANELS


def _problem(rule: Rule, message: str) -> Problem:
    loc = rule.location
    if loc is None:
        return Problem(message)
    return Problem(message, loc.source, loc.line, loc.column)


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def _compare(threshold: Threshold, actual: float, baseline: float | None) -> tuple[bool, float]:
    """Whether `actual` passes, and the bound it was compared against."""
    kind, t = threshold.kind, threshold.value
    if kind is Kind.MIN:
        return actual >= t - TOLERANCE, t
    if kind is Kind.MAX:
        return actual <= t + TOLERANCE, t
    assert baseline is not None  # callers resolve it for regressions
    limit = baseline - t if kind is Kind.MAX_DROP else baseline * (1.0 - t / 100.0)
    return actual >= limit - TOLERANCE, limit


def _message(
    metric: str,
    threshold: Threshold,
    actual: float,
    baseline: float | None,
    *,
    ok: bool,
    limit: float,
) -> str:
    kind, t = threshold.kind, threshold.value
    if kind is Kind.MIN:
        return f"{metric} = {_fmt(actual)} {'>=' if ok else '<'} min {_fmt(t)}"
    if kind is Kind.MAX:
        return f"{metric} = {_fmt(actual)} {'<=' if ok else '>'} max {_fmt(t)}"
    assert baseline is not None
    delta = actual - baseline
    if kind is Kind.MAX_DROP:
        allowed = f"max drop {_fmt(t)}"
    else:
        allowed = f"max drop {t:g}% (limit {_fmt(limit)})"
    change = f"{'+' if delta >= 0 else '-'}{_fmt(abs(delta))}"
    pct = f" ({delta / baseline * 100:+.1f}%)" if baseline > 0 else ""
    return f"{metric} = {_fmt(actual)} vs baseline {_fmt(baseline)}: {change}{pct}, {allowed}"


class _RuleRun:
    """Checks of one rule on one evaluation."""

    def __init__(
        self,
        index: int,
        rule: Rule,
        ev: EvalInput,
        intervals: _Intervals,
    ) -> None:
        self.index, self.rule, self.ev = index, rule, ev
        self.described = rule.describe()
        self.intervals = intervals

    def check(
        self,
        split: str,
        class_name: str | None,
        threshold: Threshold,
        status: Status,
        message: str,
        *,
        actual: float | None = None,
        baseline: float | None = None,
        limit: float | None = None,
        support: int | None = None,
        interval: Interval | None = None,
    ) -> Check:
        return Check(
            eval_id=self.ev.spec.id,
            eval_label=self.ev.spec.label,
            rule_index=self.index,
            rule=self.described,
            metric=self.rule.metric,
            split=split,
            class_name=class_name,
            object_size=self.rule.object_size,
            kind=threshold.kind,
            threshold=threshold.value,
            limit=limit,
            actual=actual,
            baseline=baseline,
            status=status,
            severity=self.rule.severity,
            message=message,
            location=self.rule.location,
            support=support,
            interval=interval,
        )

    def _not_a_value(self, value: Missing | Malformed, what: str) -> tuple[Status, str]:
        if isinstance(value, Malformed):
            return Status.ERROR, f"malformed {what}: {value.reason}"
        status = _MISSING_STATUS[self.rule.if_missing]
        if status is Status.FAIL and self.rule.severity is Severity.WARNING:
            status = Status.WARN
        return status, f"missing {what}: {value.reason}"

    def _support(self, split: str, class_name: str | None) -> int | Missing | Malformed | None:
        """The class's support, when the check is per class (None otherwise)."""
        if class_name is None:
            return None
        return support(self.ev.panels, split, class_name)

    def _too_rare(self, split: str, class_name: str, count: int) -> str | None:
        """Why the class is skipped for its support, or None."""
        least = self.rule.min_support
        if least is None or count >= least:
            return None
        unit = support_unit(self.ev.results.task_type)
        return (
            f"skipped: class '{class_name}' has {count:,} ground-truth {unit} in split "
            f"'{split}', fewer than min_support {least:,}"
        )

    def scope(self, split: str, class_name: str | None) -> Iterator[Check]:
        rule = self.rule
        found_support = self._support(split, class_name)
        count = found_support if isinstance(found_support, int) else None
        if class_name is not None and rule.min_support is not None:
            if isinstance(found_support, Missing | Malformed):
                status, message = self._not_a_value(found_support, "support (for min_support)")
                for threshold in rule.thresholds:
                    yield self.check(split, class_name, threshold, status, message)
                return
            assert count is not None
            rare = self._too_rare(split, class_name, count)
            if rare is not None:
                # The values, for context only (no bound: the class is not judged).
                mine, theirs = self._values(split, class_name)
                for threshold in rule.thresholds:
                    check = self.check(
                        split,
                        class_name,
                        threshold,
                        Status.SKIP,
                        rare,
                        actual=mine if isinstance(mine, float) else None,
                        baseline=theirs if isinstance(theirs, float) else None,
                        support=count,
                    )
                    yield replace(check, rare=True)
                return
        for check in self._scope(split, class_name):
            yield replace(check, support=count) if count is not None else check

    def _values(self, split: str, class_name: str | None) -> tuple[Value, Value | None]:
        """The eval's value at this scope, and its baseline's (None: no baseline)."""
        rule, ev = self.rule, self.ev

        def at(results: EvalResults, panels: Panels) -> Value:
            return value(
                results,
                panels,
                rule.metric,
                split,
                class_name=class_name,
                object_size=rule.object_size,
            )

        actual = at(ev.results, ev.panels)
        other = at(ev.baseline, ev.baseline_panels) if ev.baseline is not None else None
        return actual, other

    def _scope(self, split: str, class_name: str | None) -> Iterator[Check]:
        rule, ev = self.rule, self.ev
        # The baseline's value is shown beside every check (it decides only regression ones).
        actual, other = self._values(split, class_name)
        context = other if isinstance(other, float) else None
        for threshold in rule.thresholds:
            base: Value | None = None
            if threshold.kind.is_regression:
                if ev.baseline is None:
                    status, _ = self._not_a_value(Missing("no baseline"), "baseline")
                    yield self.check(
                        split,
                        class_name,
                        threshold,
                        status,
                        ev.baseline_note or f"no baseline for eval {ev.spec.label}",
                        actual=actual if isinstance(actual, float) else None,
                    )
                    continue
                base = other
            if not isinstance(actual, float):
                status, message = self._not_a_value(actual, "value")
                yield self.check(
                    split,
                    class_name,
                    threshold,
                    status,
                    message,
                    baseline=context,
                )
                continue
            if base is not None and not isinstance(base, float):
                status, message = self._not_a_value(base, f"baseline value ({ev.baseline_id})")
                yield self.check(split, class_name, threshold, status, message, actual=actual)
                continue
            if rule.confidence is not None and threshold.kind.is_regression:
                assert isinstance(base, float)
                yield self.judged(split, threshold, actual, base)
                continue
            ok, limit = _compare(threshold, actual, base)
            if ok:
                status = Status.PASS
            else:
                status = Status.FAIL if rule.severity is Severity.ERROR else Status.WARN
            yield self.check(
                split,
                class_name,
                threshold,
                status,
                _message(rule.metric, threshold, actual, base, ok=ok, limit=limit),
                actual=actual,
                baseline=context,
                limit=limit,
            )

    def judged(self, split: str, threshold: Threshold, actual: float, base: float) -> Check:
        """A regression threshold with `confidence`: judged by the paired bootstrap interval
        of the difference, not by the point difference alone."""
        rule = self.rule
        assert rule.confidence is not None
        if threshold.kind is Kind.MAX_DROP:
            allowed = threshold.value
        else:
            allowed = base * threshold.value / 100.0
        limit = base - allowed
        paired = self.interval(split, rule.metric, rule.confidence)
        if isinstance(paired, Missing | Malformed):
            status, message = self._not_a_value(paired, "paired per-image counts")
            return self.check(
                split, None, threshold, status, message, actual=actual, baseline=base, limit=limit
            )
        from gate.core.bootstrap import judge  # noqa: PLC0415 - as _bootstrap

        boot = paired.interval
        judgement = judge(boot, allowed)
        found = Interval(
            confidence=boot.confidence,
            point=boot.point,
            low=boot.low,
            high=boot.high,
            images=boot.images,
            resamples=boot.resamples,
            judgement=judgement.value,
        )
        if judgement.value == "fail":
            status = Status.FAIL if rule.severity is Severity.ERROR else Status.WARN
            verdict = "the whole interval lies beyond the allowed drop"
        elif judgement.value == "inconclusive":
            status = Status.WARN
            if boot.point < -allowed:
                why = "the point estimate is beyond the allowed drop, but the interval reaches "
                why += "back inside it"
            else:  # rare: a skewed resampling distribution
                why = "the interval lies beyond the allowed drop, but the point estimate is "
                why += "within it"
            verdict = f"inconclusive: {why} (the test set cannot resolve the difference)"
        else:
            status = Status.PASS
            verdict = "within the allowed drop"
        if threshold.kind is Kind.MAX_DROP:
            allowed_text = f"max drop {_fmt(threshold.value)}"
        else:
            allowed_text = f"max drop {threshold.value:g}% ({_fmt(allowed)})"
        message = (
            f"{rule.metric} = {_fmt(actual)} vs baseline {_fmt(base)}: "
            f"{_interval_text(found, paired.unpaired)}; {allowed_text}: {verdict}"
        )
        return self.check(
            split,
            None,
            threshold,
            status,
            message,
            actual=actual,
            baseline=base,
            limit=limit,
            interval=found,
        )

    def interval(self, split: str, metric: str, confidence: float) -> _Paired | Missing | Malformed:
        """The paired bootstrap interval of `metric`'s difference on `split` (computed once per
        eval, split, metric and level in a gate run), or why there is none."""
        key = (self.ev.spec.id, split, metric, confidence)
        computed = self.intervals.computed
        if key not in computed:
            computed[key] = _bootstrap(self.ev, split, metric, confidence, self.intervals.tick)
        return computed[key]

    def class_list(self, split: str) -> list[str] | Missing | Malformed:
        rule, ev = self.rule, self.ev
        if rule.classes != ALL:
            assert rule.classes is not None  # only called for per-class rules
            return list(rule.classes)
        names = ev.results.class_names(split)
        if not isinstance(names, list) or not rule.is_regression or ev.baseline is None:
            return names
        # A class the baseline had and the candidate lost is a regression too.
        base_names = ev.baseline.class_names(split)
        if isinstance(base_names, list):
            seen = set(names)
            names = names + [n for n in base_names if n not in seen]
        return names

    def run(self) -> Iterator[Check]:
        rule = self.rule
        splits = self.ev.results.split_names() if rule.splits == ALL else list(rule.splits)
        if not splits:
            for threshold in rule.thresholds:
                status, message = self._not_a_value(Missing("the results have no split"), "value")
                yield self.check("*", None, threshold, status, message)
            return
        for split in splits:
            if rule.classes is None:
                yield from self.scope(split, None)
                continue
            names = self.class_list(split)
            if not isinstance(names, list):
                for threshold in rule.thresholds:
                    status, message = self._not_a_value(names, "per-class results")
                    yield self.check(split, "*", threshold, status, message)
                continue
            if not names:
                for threshold in rule.thresholds:
                    status, message = self._not_a_value(
                        Missing(f"split '{split}' lists no class"), "per-class results"
                    )
                    yield self.check(split, "*", threshold, status, message)
                continue
            for name in names:
                yield from self.scope(split, name)


def _interval_text(found: Interval, unpaired: int) -> str:
    left_out = f" ({unpaired:,} images of only one eval left out)" if unpaired else ""
    return (
        f"difference {found.point:+.4f}, {found.confidence * 100:g}% interval "
        f"[{found.low:+.4f}, {found.high:+.4f}] over {found.images:,} paired images{left_out}"
    )


@dataclass(frozen=True, slots=True)
class _Intervals:
    """One gate run's confidence intervals, each computed once, and the run's `tick`."""

    tick: Callable[[], None] | None = None
    computed: dict[tuple[str, str, str, float], _Paired | Missing | Malformed] = field(
        default_factory=dict
    )


@dataclass(frozen=True, slots=True)
class _Paired:
    """A paired bootstrap's interval, and how many images only one of the evals had."""

    interval: BootInterval
    unpaired: int


def _bootstrap(
    ev: EvalInput,
    split: str,
    metric: str,
    confidence: float,
    tick: Callable[[], None] | None,
) -> _Paired | Missing | Malformed:
    """The paired bootstrap of the eval against its baseline on `split`'s shared images."""
    from gate.core import bootstrap  # noqa: PLC0415 - numpy, only when a rule asks for it

    provenance = ev.provenance
    if provenance is not None and provenance.different_version:
        return Missing(
            "the eval and its baseline were measured on different dataset versions: they "
            "share no test images to pair"
        )
    candidate = ev.panels.images_of(split)
    if isinstance(candidate, Missing | Malformed):
        return candidate
    base = ev.baseline_panels.images_of(split)
    if isinstance(base, Missing | Malformed):
        return base
    try:
        pairing = bootstrap.pair_images(candidate.images, base.images)
    except bootstrap.CannotBootstrap as error:
        return Malformed(str(error))
    if not pairing.candidate:
        return Missing(
            f"the eval and its baseline share no image in split '{split}' (different dataset "
            "versions?): nothing to pair"
        )
    try:
        found = bootstrap.paired_bootstrap(pairing, metric, confidence, tick=tick)
    except bootstrap.NoPairedImages as error:
        return Missing(str(error))  # different test sets: the rule's if_missing decides
    except bootstrap.CannotBootstrap as error:
        # A metric undefined on every paired image (UndefinedMetric), or counts beyond the
        # bounds: bad data, whatever if_missing says (a skip would excuse a real drop).
        return Malformed(str(error))
    return _Paired(found, pairing.only_candidate + pairing.only_baseline)


def rule_applies(rule: Rule, ev: EvalInput) -> bool:
    """Whether `rule` checks `ev`: its metric is of the eval's task, and `evals:` names it."""
    return applies(rule, ev.spec, ev.results.task_type)


def applies(rule: Rule, spec: EvalSpec, task: TaskType) -> bool:
    """Whether `rule` checks the eval `spec` of task `task` (see `rule_applies`)."""
    if task not in METRICS[rule.metric].tasks:
        return False
    return (
        rule.evals is None
        or spec.id in rule.evals
        or (spec.name is not None and spec.name in rule.evals)
    )


def _check_rules(config: GateConfig, inputs: Sequence[EvalInput]) -> None:
    """Raise ConfigError for rules that cannot be evaluated as written."""
    problems: list[Problem] = []
    known = {ev.spec.id for ev in inputs} | {ev.spec.name for ev in inputs if ev.spec.name}
    tasks = sorted({ev.results.task_type.value for ev in inputs})
    for rule in config.rules:
        if rule.evals is not None:
            for ref in rule.evals:
                if ref not in known:
                    problems.append(
                        _problem(
                            rule,
                            f"rule names eval '{ref}', which is not gated "
                            f"(gated: {', '.join(sorted(known)) or 'none'})",
                        )
                    )
        matching = [ev for ev in inputs if rule_applies(rule, ev)]
        if not matching and not (rule.evals and any(ref not in known for ref in rule.evals)):
            task = METRICS[rule.metric].task_names
            problems.append(
                _problem(
                    rule,
                    f"rule on '{rule.metric}' applies to no evaluation: it needs a {task} "
                    f"evaluation, the gated ones are {', '.join(tasks) or 'none'}; "
                    "remove the rule or restrict it with evals:",
                )
            )
        if rule.confidence is not None:
            for ev in matching:
                if ev.results.task_type is not TaskType.DETECTION:
                    problems.append(
                        _problem(
                            rule,
                            f"confidence applies to detection-like evals (Roboflow gives "
                            f"per-image counts only for them), and eval '{ev.spec.label}' is "
                            f"{ev.results.task_type.value}: restrict the rule with evals:, or "
                            "remove confidence",
                        )
                    )
        if rule.is_regression and rule.if_missing is IfMissing.FAIL:
            for ev in matching:
                if ev.baseline is None and not ev.baseline_unknown:
                    problems.append(
                        _problem(
                            rule,
                            f"rule on '{rule.metric}' compares with a baseline, but eval "
                            f"'{ev.spec.label}' has none"
                            + (f" ({ev.baseline_note})" if ev.baseline_note else "")
                            + ": set baseline: (an eval id or auto) for it, pass --baseline, "
                            "or set if_missing: warn or skip on the rule",
                        )
                    )
    if problems:
        raise ConfigError(problems)


def evaluate(
    config: GateConfig, inputs: Sequence[EvalInput], *, tick: Callable[[], None] | None = None
) -> GateOutcome:
    """Check every rule against every evaluation it applies to. `tick`, when given, is called
    between the chunks of the confidence intervals' resampling (the service stops a request
    past its deadline by raising from it)."""
    _check_rules(config, inputs)
    outcomes = []
    intervals = _Intervals(tick)
    for ev in inputs:
        checks = [
            check
            for index, rule in enumerate(config.rules)
            if rule_applies(rule, ev)
            for check in _RuleRun(index, rule, ev, intervals).run()
        ]
        outcomes.append(
            EvalOutcome(
                eval_id=ev.spec.id,
                label=ev.spec.label,
                task_type=ev.results.task_type,
                checks=tuple(checks),
                baseline_id=ev.baseline_id,
                url=ev.url,
                provenance=ev.provenance,
                trend=ev.trend,
            )
        )
    return GateOutcome(evals=tuple(outcomes))


__all__ = ["TOLERANCE", "EvalInput", "TaskType", "applies", "evaluate", "rule_applies"]
