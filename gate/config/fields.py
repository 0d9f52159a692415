"""The config's fields, declared once: per section (the top level, an `evals` item, a rule),
each field's name, how it is read (its kind, `gate.config.kinds`: type, converter, allowed
values), its default and its help text.

The validator reads a mapping by walking its section's table (`gate.config.primitives`), and
`gate.config.schema` generates the JSON Schema (`schema/eval-gate.schema.json`) from the same
tables, so a field, an allowed value or a default is added in one place. What the tables cannot
say (a rule needs at least one threshold, `min` above `max`, a metric measured where the rule
looks, an eval that is its own baseline, unique ids) the validator checks in code, and the
schema says as much of it as JSON Schema can, by hand.

This module does no I/O and imports nothing heavy.

Each field of the top level and of an `evals` item also says where its value comes from on a
pull request gated with `config-from: base` (`Origin`): a field that decides the verdict comes
from the base commit's config, so the pull request cannot change it for its own run; the others
say what to gate and come from the checkout (`gate.config.from_base` merges the two). A rule's
fields need not say: the rules come from the base whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from gate.config.kinds import (
    Choice,
    Count,
    EvalList,
    Flag,
    Ident,
    Kind,
    Level,
    Metric,
    Names,
    Number,
    RuleList,
    Splits,
    Text,
    Version,
)
from gate.core.metrics import COUNT_METRICS, METRICS, OBJECT_SIZES, SPLITS, MetricSpec
from gate.core.model import ALL, AUTO, BASE, CHAMPION, IfMissing, Severity, ThresholdKind

__all__ = [
    "DEFAULT_TREND",
    "EVAL",
    "MAX_SUPPORT",
    "MAX_TREND",
    "RULE",
    "TOP",
    "Field",
    "Origin",
    "Section",
]

# The largest `min_support` (pixels of a semantic segmentation split can run to billions).
MAX_SUPPORT: Final = 10**12
DEFAULT_TREND: Final = 5  # earlier evals on the trend chart
MAX_TREND: Final = 50


class Origin(Enum):
    """Where a field's value comes from on a pull request gated with `config-from: base`."""

    BASE = "the base commit's config"  # it decides the verdict
    CHECKOUT = "the checkout's config"  # it says what to gate (or only shapes the report)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    help: str  # the schema's description (editor completion)
    default: Any = None  # as written in a config; None: no default
    required: str | None = None  # the problem when the field is missing (what to add)
    # With config-from: base (the top level and an evals item; None in a rule: rules come from
    # the base whole). The field's name is then the attribute of GateConfig or EvalSpec.
    origin: Origin | None = None
    # What the validator makes of the default (made once: a config may hold 500,000 rules).
    when_missing: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        made = None if self.default is None else self.kind.convert(self.default)
        object.__setattr__(self, "when_missing", made)


@dataclass(frozen=True, slots=True)
class Section:
    """The fields one mapping may hold, in the order the docs and the JSON Schema list them."""

    what: str  # for "unknown key 'x' in <what>"
    fields: tuple[Field, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def properties(self) -> dict[str, Any]:
        """Each field's JSON Schema: its description, its kind's schema, its default."""
        out: dict[str, Any] = {}
        for f in self.fields:
            prop: dict[str, Any] = {"description": f.help, **f.kind.schema()}
            if f.default is not None:
                prop["default"] = f.default
            out[f.name] = prop
        return out


# --------------------------------------------------------------------------- the tables


def _metric_help() -> str:
    return "; ".join(
        f"{m.name}: {m.label} ({m.task_names}"
        + (", split-level" if m.split_level else "")
        + (", per class" if m.per_class else "")
        + (", per object size" if m.by_size else "")
        + ")"
        for m in METRICS.values()
    )


def _metrics(test: Callable[[MetricSpec], bool]) -> str:
    return ", ".join(m.name for m in METRICS.values() if test(m))


EVAL: Final = Section(
    "an eval",
    (
        Field(
            "id",
            Ident(),
            "The Roboflow evaluation id. An eval has exactly one of id, model and version.",
            origin=Origin.CHECKOUT,
        ),
        Field(
            "model",
            Ident(),
            "A Roboflow model id: gate the newest evaluation of that model (waiting for one "
            "to appear). An eval has exactly one of id, model and version.",
            origin=Origin.CHECKOUT,
        ),
        Field(
            "version",
            Ident(),
            "A dataset version id: gate the newest evaluation on that version (waiting for one "
            "to appear). An eval has exactly one of id, model and version.",
            origin=Origin.CHECKOUT,
        ),
        Field(
            "name",
            Ident(),
            "A readable name, used in reports and by rules' `evals`.",
            origin=Origin.CHECKOUT,
        ),
        Field(
            "baseline",
            Ident(),
            "The evaluation to compare against for max_drop / max_drop_pct: an eval id; "
            f'"{AUTO}": the newest earlier done evaluation of another model on the same dataset '
            "version (else the project's newest earlier done one, flagged as measured on "
            f'another test set); or "{CHAMPION}": the best done evaluation of another model on '
            "the same dataset version by the task's headline metric (mAP@50:95 or mIoU on test); "
            f'or "{BASE}" (the GitHub Action on pull requests only): the eval the base '
            "branch's config gives the same name (its id, or the newest other done evaluation "
            "of its model or version).",
            origin=Origin.BASE,
        ),
    ),
)

RULE: Final = Section(
    "a rule",
    (
        Field(
            "metric",
            Metric(),
            f"The metric to check. {_metric_help()}.",
            required=f"rule has no metric: add metric: <one of {', '.join(METRICS)}>",
        ),
        Field(
            "split",
            Splits(),
            f"The dataset split(s) to check: one of {', '.join(SPLITS)}, a list of them, "
            f'or "{ALL}" for every split present. Default: test.',
            default="test",
        ),
        Field(
            "classes",
            Names("class", allow_all=True),
            f'Check the metric per class: "{ALL}" for every class present, a class name, '
            "or a list of class names. Only for per-class metrics "
            f"({_metrics(lambda m: m.per_class)}).",
        ),
        Field(
            "object_size",
            Choice(OBJECT_SIZES),
            "Check the metric for objects of one size only. Only for detection metrics "
            f"({_metrics(lambda m: m.by_size)}); combinable with classes.",
        ),
        Field(
            ThresholdKind.MIN.value,
            Number(ThresholdKind.MIN),
            "Pass when the value is at least this (inclusive), 0 to 1.",
        ),
        Field(
            ThresholdKind.MAX.value,
            Number(ThresholdKind.MAX),
            "Pass when the value is at most this (inclusive), 0 to 1.",
        ),
        Field(
            ThresholdKind.MAX_DROP.value,
            Number(ThresholdKind.MAX_DROP),
            "Regression check: pass when the value is at least the baseline's minus this "
            "(an absolute drop, 0 to 1). Needs a baseline on the eval.",
        ),
        Field(
            ThresholdKind.MAX_DROP_PCT.value,
            Number(ThresholdKind.MAX_DROP_PCT),
            "Regression check: pass when the value dropped by at most this percentage of the "
            "baseline's value (0 to 100). Needs a baseline on the eval.",
        ),
        Field(
            "if_missing",
            Choice([m.value for m in IfMissing], IfMissing),
            "What to do when the value is absent or null: fail the check (default), "
            "warn, or skip it.",
            default=IfMissing.FAIL.value,
        ),
        Field(
            "severity",
            Choice([s.value for s in Severity], Severity),
            "error (default): a failing check fails the gate; "
            "warning: it is reported but never fails the gate.",
            default=Severity.ERROR.value,
        ),
        Field(
            "evals",
            Names("eval", allow_all=False),
            "Apply the rule only to these evals (by name or id). Default: every eval.",
        ),
        Field(
            "min_support",
            Count(MAX_SUPPORT),
            "Per-class rules only: skip (with a note giving the count) classes with fewer "
            "ground-truth instances than this in the split: objects for detection-like evals, "
            "pixels for semantic segmentation (the row sum of Roboflow's confusion matrix).",
        ),
        Field(
            "confidence",
            Level(),
            "Regression thresholds (max_drop, max_drop_pct) on a detection-like eval's "
            f"split-level {', '.join(COUNT_METRICS)}: judge the drop by a paired bootstrap "
            "interval of the difference at this level (e.g. 0.95). The check fails only when "
            "the whole interval lies beyond the allowed drop, and warns 'inconclusive' when "
            "only the point estimate does.",
        ),
    ),
)

TOP: Final = Section(
    "the config",
    (
        Field(
            "version",
            Version(),
            "The config format version: 1.",
            required="missing required key 'version': add `version: 1`",
            origin=Origin.CHECKOUT,  # each file is read by its own version
        ),
        Field(
            "workspace",
            Text(),
            "The Roboflow workspace the evaluations belong to.",
            origin=Origin.CHECKOUT,
        ),
        Field(
            "evals",
            EvalList(EVAL),
            "The evaluations to gate: ids, or mappings with id (or model, or version), name and "
            "baseline.",
            origin=Origin.CHECKOUT,  # the items; an item's own fields say for themselves
        ),
        Field(
            "require_same_version",
            Flag(),
            f"baseline: {AUTO} must be measured on the candidate's dataset version: no fallback "
            "to the project's newest earlier done evaluation (regression rules then follow "
            "if_missing).",
            default=False,
            origin=Origin.BASE,
        ),
        Field(
            "trend",
            Count(MAX_TREND),
            "How many earlier done evaluations of the candidate's dataset version the report's "
            "trend chart of the headline metric (mAP@50:95, or mIoU) shows, with the candidate "
            f"and its baseline: 0 to {MAX_TREND}; 0 turns the chart off.",
            default=DEFAULT_TREND,
            origin=Origin.CHECKOUT,  # the chart never decides the verdict
        ),
        Field(
            "rules",
            RuleList(),
            "The checks to run, at least one.",
            required=(
                "missing required key 'rules': add a list of rules, e.g. rules: ['map50 >= 0.85']"
            ),
            origin=Origin.BASE,
        ),
    ),
)
