"""The validated config, as values: rules, evaluations to gate, and the gate config itself.

`gate.config.loader` builds these from YAML (or a mapping); everything downstream takes them as-is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

ALL: Literal["*"] = "*"
AUTO: Literal["auto"] = "auto"
CHAMPION: Literal["champion"] = "champion"
# The eval the base branch's config gives the same name (the Action, on pull requests).
BASE: Literal["base"] = "base"
BASE_CHOSEN = "base (the base branch's config names it)"
# Said next to every delta against a baseline measured on another dataset version.
DIFFERENT_VERSION = "different dataset version: the test sets differ"
# How far past a threshold a value may be and still meet it (float noise), everywhere a value
# is compared with a threshold: rules, bootstrap intervals, the report's counts.
TOLERANCE = 1e-9


class Severity(enum.StrEnum):
    ERROR = "error"  # a failing check fails the gate
    WARNING = "warning"  # a failing check is reported, never fails the gate


class IfMissing(enum.StrEnum):
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


class FailOn(enum.StrEnum):
    """Which verdict fails the run (exit code 1, a failing status): the same words on every face."""

    ERROR = "error"  # a failing gate only
    WARNING = "warning"  # a warning too
    NEVER = "never"  # report only: exit 0 whatever the verdict


class CommentMode(enum.StrEnum):
    """What a gate does with its pull-request comment."""

    UPDATE = "update"  # one sticky comment per gate, edited on each run
    NEW = "new"  # a new comment on each run
    ON_FAILURE = "on-failure"  # like update, but a passing gate creates none (only edits its own)
    OFF = "off"  # no comment


FAIL_ON: tuple[str, ...] = tuple(m.value for m in FailOn)
COMMENT_MODES: tuple[str, ...] = tuple(m.value for m in CommentMode)


class ThresholdKind(enum.StrEnum):
    MIN = "min"  # actual >= value
    MAX = "max"  # actual <= value
    MAX_DROP = "max_drop"  # actual >= baseline - value
    MAX_DROP_PCT = "max_drop_pct"  # actual >= baseline * (1 - value / 100)

    @property
    def is_regression(self) -> bool:
        return self in (ThresholdKind.MAX_DROP, ThresholdKind.MAX_DROP_PCT)


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: file, 1-based line and column."""

    source: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        out = self.source
        if self.line is not None:
            out += f":{self.line}"
            if self.column is not None:
                out += f":{self.column}"
        return out


@dataclass(frozen=True, slots=True)
class Threshold:
    kind: ThresholdKind
    value: float


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the config. Each threshold becomes its own check per scope."""

    metric: str
    thresholds: tuple[Threshold, ...]
    splits: tuple[str, ...] | Literal["*"] = ("test",)
    classes: tuple[str, ...] | Literal["*"] | None = None  # None: not per class
    object_size: str | None = None
    if_missing: IfMissing = IfMissing.FAIL
    severity: Severity = Severity.ERROR
    evals: tuple[str, ...] | None = None  # eval names or ids; None: every eval
    location: Location | None = field(default=None, compare=False)
    # Per-class rules: skip classes with fewer ground-truth instances (objects, or pixels for
    # semantic segmentation) than this in the split.
    min_support: int | None = None
    # Regression thresholds on a detection eval's split-level precision, recall or F1: judge
    # the drop by a paired bootstrap interval at this level, in (0.5, 1).
    confidence: float | None = None

    @property
    def is_regression(self) -> bool:
        return any(t.kind.is_regression for t in self.thresholds)

    def describe(self) -> str:
        """A short human form, e.g. `map50_95 >= 0.7 [test]`."""
        parts = [self.metric]
        if self.object_size:
            parts.append(f"({self.object_size})")
        if self.classes is not None:
            parts.append("per class" if self.classes == ALL else f"classes {list(self.classes)}")
        conds = []
        for t in self.thresholds:
            if t.kind is ThresholdKind.MIN:
                conds.append(f">= {t.value:g}")
            elif t.kind is ThresholdKind.MAX:
                conds.append(f"<= {t.value:g}")
            elif t.kind is ThresholdKind.MAX_DROP:
                conds.append(f"drop <= {t.value:g}")
            else:
                conds.append(f"drop <= {t.value:g}%")
        splits = "*" if self.splits == ALL else ",".join(self.splits)
        extra = ""
        if self.confidence is not None:
            extra += f" at {self.confidence * 100:g}% confidence"
        if self.min_support is not None:
            extra += f" (support >= {self.min_support})"
        return f"{' '.join(parts)} {' and '.join(conds)}{extra} [{splits}]"


class EvalBy(enum.StrEnum):
    """How an evaluation to gate is named: by its own id, or by what CI knows (the model it
    evaluates, or the dataset version it was measured on), resolved to the newest such eval."""

    ID = "id"
    MODEL = "model"
    VERSION = "version"


EVAL_BY: tuple[str, ...] = tuple(m.value for m in EvalBy)


@dataclass(frozen=True, slots=True)
class EvalSpec:
    """One evaluation to gate: `id` is the eval id when `by` is `id`, else the model's or the
    dataset version's id (the gate resolves it to that model's or version's newest eval)."""

    id: str
    name: str | None = None
    baseline: str | None = None  # an eval id, "auto", "champion", "base", or None
    location: Location | None = field(default=None, compare=False)
    by: EvalBy = EvalBy.ID
    # Where each key of the item is written (key name -> its location); none for an id alone.
    locations: tuple[tuple[str, Location], ...] = field(default=(), compare=False, repr=False)

    @property
    def label(self) -> str:
        return self.name or self.id

    def located(self, key: str) -> Location | None:
        """Where the item writes `key` (None: it does not)."""
        return dict(self.locations).get(key)

    @property
    def named(self) -> str:
        """How the spec names its eval, for messages: `eval X`, `model M`, `version V`."""
        return f"{'eval' if self.by is EvalBy.ID else self.by.value} {self.id}"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a gated evaluation and its baseline come from, as the report and the JSON say."""

    model_id: str | None = None
    version_id: str | None = None  # the dataset version (its test set)
    created_at: str | None = None  # ISO 8601
    baseline_id: str | None = None
    baseline_chosen: str | None = None  # how: "given", or how auto/champion chose it
    baseline_same_version: bool | None = None  # None: not known (or no baseline)
    unknown: str | None = None  # why the candidate's model, version and created are unknown

    @property
    def different_version(self) -> bool:
        return self.baseline_id is not None and self.baseline_same_version is False


@dataclass(frozen=True, slots=True)
class GateConfig:
    version: int
    rules: tuple[Rule, ...]
    workspace: str | None = None
    evals: tuple[EvalSpec, ...] = ()
    source: str = "<config>"
    # baseline: auto must be on the candidate's dataset version (no fallback to the project)
    require_same_version: bool = False
    trend: int = 5  # earlier evals of the version on the report's trend chart; 0: no chart
    # Where each top-level key is written (key name -> its location).
    locations: tuple[tuple[str, Location], ...] = field(default=(), compare=False, repr=False)

    def located(self, key: str) -> Location | None:
        """Where the config writes top-level `key` (None: it does not)."""
        return dict(self.locations).get(key)
