"""The config's fields, declared once: per section (the top level, an `evals` item, a rule),
each field's name, how it is read (its kind: type, converter, allowed values), its default
and its help text.

The validator reads a mapping by walking its section's table (`gate.config.primitives`), and
`gate.config.schema` generates the JSON Schema (`schema/eval-gate.schema.json`) from the same
tables, so a field, an allowed value or a default is added in one place. What the tables cannot
say (a rule needs at least one threshold, `min` above `max`, a metric measured where the rule
looks, an eval that is its own baseline, unique ids) the validator checks in code, and the
schema says as much of it as JSON Schema can, by hand.

A kind reads a value through the validator (`Reader`), which reports the problems with the
value's location; this module does no I/O and imports nothing heavy.

Each field of the top level and of an `evals` item also says where its value comes from on a
pull request gated with `config-from: base` (`Origin`): a field that decides the verdict comes
from the base commit's config, so the pull request cannot change it for its own run; the others
say what to gate and come from the checkout (`gate.config.from_base` merges the two). A rule's
fields need not say: the rules come from the base whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from gate.core.metrics import COUNT_METRICS, METRICS, OBJECT_SIZES, SPLITS, MetricSpec
from gate.core.model import ALL, AUTO, BASE, CHAMPION, EVAL_BY, IfMissing, Severity, ThresholdKind

if TYPE_CHECKING:
    from gate.core.model import EvalSpec, Rule

__all__ = [
    "DEFAULT_TREND",
    "EVAL",
    "MAX_SUPPORT",
    "MAX_TREND",
    "RULE",
    "THRESHOLD_MAX",
    "TOP",
    "Field",
    "Kind",
    "Origin",
    "Reader",
    "Section",
]

# The upper bound of each threshold (the lower bound is 0): metric values are fractions,
# `max_drop_pct` is a percentage of the baseline value.
THRESHOLD_MAX: Final = {
    ThresholdKind.MIN: 1.0,
    ThresholdKind.MAX: 1.0,
    ThresholdKind.MAX_DROP: 1.0,
    ThresholdKind.MAX_DROP_PCT: 100.0,
}

# The largest `min_support` (pixels of a semantic segmentation split can run to billions).
MAX_SUPPORT: Final = 10**12
DEFAULT_TREND: Final = 5  # earlier evals on the trend chart
MAX_TREND: Final = 50

NAME_REF: Final = "#/$defs/name"
CLASS_NAME_REF: Final = "#/$defs/className"
RULE_REF: Final = "#/$defs/rule"


class Reader(Protocol):
    """What a kind reads a value with: the validator's readers, each reporting its problems
    (located at `node`) and giving None for a value it refused."""

    def version(self, node: Any) -> int | None: ...
    def text(self, node: Any, what: str) -> str | None: ...
    def ident(self, node: Any, what: str) -> str | None: ...
    def flag(self, node: Any, what: str) -> bool | None: ...
    def count(self, node: Any, what: str, top: int) -> int | None: ...
    def level(self, node: Any, what: str) -> float | None: ...
    def choice(self, node: Any, what: str, allowed: Sequence[str]) -> str | None: ...
    def metric(self, node: Any, name: str | None = None) -> MetricSpec | None: ...
    def number(self, node: Any, kind: ThresholdKind) -> float | None: ...
    def splits(self, node: Any) -> tuple[str, ...] | Literal["*"] | None: ...
    def names(
        self, node: Any, key: str, noun: str, *, allow_all: bool
    ) -> tuple[str, ...] | Literal["*"] | None: ...
    def evals(self, node: Any) -> tuple[EvalSpec, ...]: ...
    def rules(self, node: Any) -> tuple[Rule, ...]: ...


class Kind:
    """How a field's value is read (with the validator) and described (in the JSON Schema)."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        raise NotImplementedError

    def convert(self, written: Any) -> Any:
        """A default, as written in a config, as the value the validator makes of it."""
        return written

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError


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


# --------------------------------------------------------------------------- kinds


class Version(Kind):
    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.version(node)

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "const": 1}


class Text(Kind):
    """A non-blank string."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.text(node, name)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"\S"}


class Ident(Kind):
    """A name or id: a non-blank string, or an integer read as the text it is written as."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.ident(node, name)

    def schema(self) -> dict[str, Any]:
        return {"$ref": NAME_REF}


class Flag(Kind):
    """true or false."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.flag(node, name)

    def convert(self, written: Any) -> Any:
        return bool(written)

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Count(Kind):
    """A whole number from 0 to `top`."""

    __slots__ = ("top",)

    def __init__(self, top: int) -> None:
        self.top = top

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.count(node, name, self.top)

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 0, "maximum": self.top}


class Level(Kind):
    """A confidence level, strictly between 0.5 and 1."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        return reader.level(node, name)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 1}


class Choice(Kind):
    """One of `values` (with a did-you-mean), made into `to(value)` when given."""

    __slots__ = ("to", "values")

    def __init__(self, values: Sequence[str], to: Callable[[str], Any] | None = None) -> None:
        self.values = tuple(values)
        self.to = to

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        value = reader.choice(node, name, self.values)
        return None if value is None else self.convert(value)

    def convert(self, written: Any) -> Any:
        return written if self.to is None else self.to(written)

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


class Metric(Kind):
    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.metric(node)

    def schema(self) -> dict[str, Any]:
        return {"enum": list(METRICS)}


class Number(Kind):
    """A threshold: a finite number from 0 to `THRESHOLD_MAX[kind]`."""

    __slots__ = ("threshold",)

    def __init__(self, threshold: ThresholdKind) -> None:
        self.threshold = threshold

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.number(node, self.threshold)

    def schema(self) -> dict[str, Any]:
        top = THRESHOLD_MAX[self.threshold]
        return {"type": "number", "minimum": 0, "maximum": int(top) if top.is_integer() else top}


class Splits(Kind):
    """A split, a list of splits, or "*" (every split present)."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.splits(node)

    def convert(self, written: Any) -> Any:
        return ALL if written == ALL else (written,)

    def schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"enum": [*SPLITS, ALL]},
                {
                    "type": "array",
                    "items": {"enum": list(SPLITS)},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            ]
        }


class Names(Kind):
    """A name or a list of names (`classes`, a rule's `evals`); "*" too when `allow_all`."""

    __slots__ = ("allow_all", "noun")

    def __init__(self, noun: str, *, allow_all: bool) -> None:
        self.noun = noun
        self.allow_all = allow_all

    def read(self, reader: Reader, node: Any, name: str) -> Any:
        named = reader.names(node, name, self.noun, allow_all=self.allow_all)
        return named if self.allow_all or isinstance(named, tuple) else None

    def schema(self) -> dict[str, Any]:
        ref = CLASS_NAME_REF if self.allow_all else NAME_REF
        listed = {"type": "array", "items": {"$ref": ref}, "minItems": 1, "uniqueItems": True}
        if not self.allow_all:
            return {"anyOf": [{"$ref": ref}, listed]}
        every = {"const": ALL, "description": f"every {self.noun} present in the results"}
        return {"anyOf": [every, {"$ref": ref}, listed]}


class EvalList(Kind):
    """The top level's `evals`: ids, or mappings of the `EVAL` section."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.evals(node)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {
                "anyOf": [
                    {"$ref": NAME_REF, "description": "An evaluation id."},
                    {
                        "description": (
                            "An evaluation named by its id, its model or its dataset version "
                            "(exactly one), with an optional name and baseline."
                        ),
                        "type": "object",
                        "additionalProperties": False,
                        "required": EVAL.required,
                        "oneOf": [{"required": [key]} for key in EVAL_BY],
                        "properties": EVAL.properties(),
                    },
                ]
            },
        }


class RuleList(Kind):
    """The top level's `rules`: at least one rule (a mapping of the `RULE` section, or the
    compact form, described in the schema's `$defs/rule`)."""

    __slots__ = ()

    def read(self, reader: Reader, node: Any, _name: str) -> Any:
        return reader.rules(node)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "items": {"$ref": RULE_REF}}


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
            EvalList(),
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
