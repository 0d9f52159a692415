"""The gate's result as values: one Check per (eval, rule threshold, scope), and the verdict."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from gate.core.metrics import TaskType
from gate.core.model import Location, Provenance, Severity, ThresholdKind
from gate.core.trend import Trend


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    FAIL = "fail"  # an error-severity threshold was missed, or missing data with if_missing: fail
    WARN = "warn"  # a warning-severity threshold was missed, or missing data with if_missing: warn
    SKIP = "skip"  # missing data with if_missing: skip
    ERROR = "error"  # malformed data (NaN, string, out of [0, 1]): always fails the gate


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval of the difference candidate - baseline, as a check carries it."""

    confidence: float  # the level, in (0.5, 1)
    point: float  # the difference on the paired images
    low: float
    high: float
    images: int  # paired images resampled
    resamples: int
    judgement: str  # "fail", "inconclusive" or "pass"


class Verdict(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One comparison of one value against one threshold."""

    eval_id: str
    eval_label: str
    rule_index: int  # 0-based index of the rule in the config
    rule: str  # the rule's short description
    metric: str
    split: str
    class_name: str | None
    object_size: str | None
    kind: ThresholdKind
    threshold: float  # the number written in the config
    limit: float | None  # the bound actually compared against (baseline-derived for regressions)
    actual: float | None
    baseline: float | None  # the baseline's value for the same scope, for any kind of rule
    status: Status
    severity: Severity
    message: str
    location: Location | None = field(default=None, compare=False)  # where the rule is written
    # The class's ground-truth count in the split (objects, or pixels for semantic
    # segmentation), for per-class checks when the confusion matrix was fetched.
    support: int | None = None
    # A rule with `confidence`: the paired bootstrap interval of the difference (candidate -
    # baseline) at that level, and the images it paired.
    interval: Interval | None = None
    # Skipped because the class has fewer ground-truth instances than the rule's min_support.
    rare: bool = False

    @property
    def delta(self) -> float | None:
        """The change the check judged: its interval's difference (on the paired images)
        when it was judged by one, else actual - baseline."""
        if self.interval is not None:
            return self.interval.point
        if self.actual is None or self.baseline is None:
            return None
        return self.actual - self.baseline

    @property
    def failing(self) -> bool:
        """Whether this check makes the verdict `fail`."""
        return self.status in (Status.FAIL, Status.ERROR)


@dataclass(frozen=True, slots=True)
class EvalOutcome:
    """Every check of one evaluation."""

    eval_id: str
    label: str
    task_type: TaskType
    checks: tuple[Check, ...]
    baseline_id: str | None = None
    url: str | None = None
    provenance: Provenance | None = None  # where the eval and its baseline come from
    trend: Trend | None = None  # the headline metric over the dataset version's evals

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.checks)


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """The whole gate: every evaluation's outcome and the verdict."""

    evals: tuple[EvalOutcome, ...]

    @property
    def checks(self) -> Iterator[Check]:
        for ev in self.evals:
            yield from ev.checks

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.checks)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status is status)


def verdict_of(checks: Iterator[Check] | tuple[Check, ...]) -> Verdict:
    """`fail` if any check fails; else `warn` if any warns; else `pass`."""
    verdict = Verdict.PASS
    for check in checks:
        if check.failing:
            return Verdict.FAIL
        if check.status is Status.WARN:
            verdict = Verdict.WARN
    return verdict
