"""Load and validate the eval-gate config (YAML text or an already-parsed mapping).

One validator walks an abstract "node with a location", so `load_config` (YAML, located by
line and column) and `config_from_data` (JSON from the HTTP service, located by a path such as
`rules[2].min`) apply exactly the same rules. Every problem is collected, then raised at once
as one `ConfigError`. The nodes are `gate.config.nodes`' (YAML's: `gate.config.yaml_nodes`).
"""

from __future__ import annotations

import difflib
import functools
import heapq
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from gate.config.fields import EVAL, RULE, THRESHOLD_MAX, TOP, Field, Section
from gate.config.nodes import DataNode, Node, as_written, short
from gate.config.yaml_nodes import EMPTY_CONFIG, BudgetExhausted, compose
from gate.core.errors import MAX_PROBLEMS, ConfigError, Problem
from gate.core.metrics import COUNT_METRICS, METRICS, SPLITS, MetricSpec, suggest_metric
from gate.core.model import (
    ALL,
    AUTO,
    EvalBy,
    EvalSpec,
    GateConfig,
    Location,
    Rule,
    Threshold,
    ThresholdKind,
)

__all__ = [
    "EVAL_KEYS",
    "RULE_KEYS",
    "TOP_KEYS",
    "config_from_data",
    "load_config",
    "parse_compact_rule",
]

# The keys each mapping may hold, in the order the docs and the JSON Schema list them: the
# fields are declared once, in `gate.config.fields`, and the validator walks those tables.
TOP_KEYS: Final = TOP.keys
EVAL_KEYS: Final = EVAL.keys
RULE_KEYS: Final = RULE.keys
THRESHOLD_KEYS: Final = tuple(kind.value for kind in ThresholdKind)
_THRESHOLDS: Final = tuple((kind, kind.value) for kind in ThresholdKind)
_RULE_FIRST: Final = tuple(f for f in RULE.fields if f.name in ("metric", *THRESHOLD_KEYS))
_RULE_REST: Final = tuple(f for f in RULE.fields if f not in _RULE_FIRST)

COMPACT_FORM: Final = "'<metric> >= <number>' or '<metric> <= <number>', e.g. 'map50 >= 0.85'"
_COMPACT_RE: Final = re.compile(r"\s*(?P<metric>[^\s<>=!]+)\s*(?P<op>[<>=!]+)\s*(?P<value>\S+)\s*")
_NUMBER_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


# --------------------------------------------------------------------------- public API


def load_config(text: str, source: str = "<config>") -> GateConfig:
    """YAML text -> GateConfig; raises ConfigError listing every problem, each at line:column."""
    root = compose(text, source)
    if root is None:
        raise ConfigError([Problem(EMPTY_CONFIG, source, 1, 1)])
    try:
        return _Validator(source, by_path=False).run(root)
    except BudgetExhausted as exc:
        raise ConfigError([exc.problem(source)]) from None


def config_from_data(data: Any, source: str = "<request>") -> GateConfig:
    """An already-parsed mapping (e.g. JSON) -> GateConfig, with the same validation.

    There are no line numbers, so each problem message starts with the path of the offending
    value, e.g. `rules[2].min: min must be between 0 and 1, got 70`.
    """
    if data is None:
        raise ConfigError([Problem(EMPTY_CONFIG, source)])
    return _Validator(source, by_path=True).run(DataNode(data, ""))


def parse_compact_rule(text: str) -> tuple[str, Threshold]:
    """`"map50 >= 0.85"` -> `("map50", Threshold(MIN, 0.85))`; ValueError with a user message.

    Only the syntax is checked here: the metric name and the value's range are checked by the
    validator, like for the mapping form.
    """
    match = _COMPACT_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"bad compact rule {text!r}: expected {COMPACT_FORM}")
    metric, op, value = match["metric"], match["op"], match["value"]
    if op not in (">=", "<="):
        raise ValueError(
            f"operator {op!r} is not supported in {text!r}: thresholds are inclusive: use >= or <="
        )
    if _NUMBER_RE.fullmatch(value) is None:
        raise ValueError(f"bad threshold {value!r} in {text!r}: expected {COMPACT_FORM}")
    kind = ThresholdKind.MIN if op == ">=" else ThresholdKind.MAX
    return metric, Threshold(kind, float(value))


_MAX_MESSAGE = 500  # characters of one problem's message


# --------------------------------------------------------------------------- validator

_Fields = dict[str, tuple[Node, Node]]  # key name -> (key node, value node)


@dataclass(frozen=True, slots=True)
class _Kept:
    """A problem kept for showing; `order` is (-line, -column, -number): a min-heap of these
    has the problem that comes last in the document on top."""

    order: tuple[int, int, int]
    path: str
    message: str | Callable[[], str]

    def __lt__(self, other: _Kept) -> bool:
        return self.order < other.order


class _Validator:
    """Walks the nodes, collects every problem, builds the GateConfig if there were none."""

    def __init__(self, source: str, *, by_path: bool) -> None:
        self.source = source
        self.by_path = by_path
        self.problems = 0  # how many were found
        # Only the problems that will be shown are kept: the first MAX_PROBLEMS in document
        # order (YAML: line, column; data: the walk's order), in a heap whose top is the last
        # of them. A message may be a function, called only for those: a did-you-mean costs a
        # difflib search, and a megabyte of invalid rules holds hundreds of thousands of
        # problems, of which 50 are shown.
        self._kept: list[_Kept] = []

    # -- reporting

    def report(self, node: Node, message: str | Callable[[], str]) -> None:
        self.problems += 1
        line, column = (0, 0) if self.by_path else (node.line or 0, node.column or 0)
        entry = _Kept((-line, -column, -self.problems), node.path, message)
        if len(self._kept) < MAX_PROBLEMS:
            heapq.heappush(self._kept, entry)
        elif entry.order > self._kept[0].order:  # earlier than the last one kept
            heapq.heapreplace(self._kept, entry)

    def _shown(self) -> list[Problem]:
        shown = []
        for entry in sorted(self._kept, key=lambda kept: kept.order, reverse=True):
            text = entry.message if isinstance(entry.message, str) else entry.message()
            if len(text) > _MAX_MESSAGE:  # a name quoted from a megabyte-long scalar
                text = text[: _MAX_MESSAGE - 1] + "…"
            line, column = -entry.order[0], -entry.order[1]
            if self.by_path:
                shown.append(Problem(f"{entry.path}: {text}" if entry.path else text, self.source))
            else:
                shown.append(Problem(text, self.source, line or None, column or None))
        return shown

    def location(self, node: Node) -> Location:
        return Location(self.source, node.line, node.column)

    def locations(self, fields: _Fields) -> tuple[tuple[str, Location], ...]:
        """Where each present key of a mapping is written (its key's location)."""
        return tuple((name, self.location(key)) for name, (key, _) in fields.items())

    @staticmethod
    def where(node: Node) -> str:
        """Where `node` is, for "first at ..." in messages."""
        return f"line {node.line}" if node.line is not None else node.path

    # -- top level

    def run(self, root: Node) -> GateConfig:
        config = self.config(root)
        if self.problems or config is None:
            shown = self._shown() or [Problem("invalid config", self.source)]
            raise ConfigError(shown, total=max(self.problems, 1))
        return config

    def config(self, root: Node) -> GateConfig | None:
        if root.kind != "mapping":
            self.report(
                root,
                "the config must be a mapping with `version: 1` and `rules:`, "
                f"got {root.describe()}",
            )
            return None
        values, fields = self.record(root, TOP)
        version: int | None = values["version"]
        if self.problems or version is None:
            return None
        return GateConfig(
            version=version,
            rules=values["rules"] or (),
            workspace=values["workspace"],
            evals=values["evals"] or (),
            source=self.source,
            require_same_version=bool(values["require_same_version"]),
            trend=values["trend"],
            locations=self.locations(fields),
        )

    def record(self, node: Node, section: Section) -> tuple[dict[str, Any], _Fields]:
        """A mapping read by its section's table: each field's value (None when it was refused,
        the field's default when it is absent), and the fields present; every problem reported
        (unknown keys, missing required fields, each value's own problems)."""
        fields = self.fields(node, section)
        return self.read(node, fields, section.fields), fields

    def read(self, node: Node, fields: _Fields, table: Iterable[Field]) -> dict[str, Any]:
        """The values of `table`'s fields in `node` (whose present fields are `fields`)."""
        values: dict[str, Any] = {}
        for field in table:
            present = fields.get(field.name)
            if present is not None:
                values[field.name] = field.kind.read(self, present[1], field.name)
                continue
            if field.required:
                self.report(node, field.required)
            values[field.name] = field.when_missing
        return values

    def fields(self, node: Node, section: Section) -> _Fields:
        """A mapping's known keys; reports unknown, duplicate and non-name keys."""
        allowed, what = section.keys, section.what
        out: _Fields = {}
        for key, value in node.entries():
            name = key.key_name()
            if name is None:
                self.report(key, f"keys must be plain names, got {key.describe()}")
            elif name == "<<":
                self.report(key, "YAML merge keys (<<) are not supported: write the keys out")
            elif name in out:
                first = out[name][0]
                self.report(key, f"duplicate key {name!r} (first at {self.where(first)})")
            elif name not in allowed:
                self.report(key, functools.partial(_unknown_key, name, what, allowed))
            else:
                out[name] = (key, value)
        return out

    def version(self, node: Node) -> int | None:
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, int) and not isinstance(value, bool):
            if value == 1:
                return 1
            self.report(node, f"unsupported version {value}: this eval-gate reads `version: 1`")
            return None
        hint = "; remove the quotes" if isinstance(value, str) and value.strip() == "1" else ""
        self.report(node, f"version must be the integer 1, got {node.describe()}{hint}")
        return None

    # -- strings

    def text(self, node: Node, what: str) -> str | None:
        """A non-blank string."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, str) and value.strip():
            return value
        self.report(
            node, f"{what} must be a non-empty string, got {node.describe()}{node.quote_hint()}"
        )
        return None

    def flag(self, node: Node, what: str) -> bool | None:
        """true or false."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, bool):
            return value
        self.report(node, f"{what} must be true or false, got {node.describe()}")
        return None

    def count(self, node: Node, what: str, top: int) -> int | None:
        """A whole number from 0 to `top`."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, bool) or not isinstance(value, int):
            hint = ""
            if isinstance(value, float) and value.is_integer() and 0 <= value <= top:
                hint = f"; write {int(value)}"
            elif isinstance(value, str) and value.strip().isdigit():
                hint = "; remove the quotes"
            self.report(
                node,
                f"{what} must be a whole number from 0 to {top:,}, got {node.describe()}{hint}",
            )
            return None
        if not 0 <= value <= top:
            shown = node.raw() or "a number out of range"
            self.report(node, f"{what} must be from 0 to {top:,}, got {shown}")
            return None
        return value

    def level(self, node: Node, what: str) -> float | None:
        """A confidence level: a number strictly between 0.5 and 1 (0.95, not 95)."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.report(
                node,
                f"{what} must be a number between 0.5 and 1 (e.g. 0.95), got {node.describe()}",
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.report(node, f"{what} must be a finite number, got {node.describe()}")
            return None
        if not 0.5 < value < 1:
            shown = node.raw() or f"{value:g}"
            hint = ""
            if 50 < value < 100:
                hint = f"; a level is a fraction: did you mean {value / 100:g}?"
            self.report(
                node,
                f"{what} must be between 0.5 and 1, both excluded (e.g. 0.95), got {shown}{hint}",
            )
            return None
        return float(value)

    def ident(self, node: Node, what: str) -> str | None:
        """A name or id: a non-blank string, or an integer.

        Decision: ids, names and class names are often all digits (`id: 12345`, classes `0`,
        `1`), which YAML and JSON read as integers. Rather than reject them with "quote it",
        an integer is accepted as the text it was written as (YAML's original scalar text, so
        `id: 0123` stays "0123"; str(int) for data). Booleans, floats, dates and null are still
        rejected (`on`, `1.5`, `2024-01-01` would not survive as the text the user meant).
        """
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, int) and not isinstance(value, bool):
            return node.raw() or str(value)
        return self.text(node, what)

    def choice(self, node: Node, what: str, allowed: Sequence[str]) -> str | None:
        """One of `allowed`, with a did-you-mean."""
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, str) and value in allowed:
            return value
        got = repr(value) if isinstance(value, str) else node.describe()
        message = f"{what} must be one of {', '.join(allowed)}, got {short(got, quoted=False)}"
        if not isinstance(value, str):
            self.report(node, message)
            return None

        def with_guess() -> str:
            guess = _close(value, allowed)
            return message + (f"; did you mean {guess!r}?" if guess else "")

        self.report(node, with_guess)
        return None

    # -- evals

    def evals(self, node: Node) -> tuple[EvalSpec, ...]:
        if node.kind != "sequence":
            self.report(node, f"evals must be a list, got {node.describe()}")
            return ()
        specs: list[EvalSpec] = []
        ids: dict[str, tuple[Node, int]] = {}
        names: dict[str, tuple[Node, int]] = {}
        for index, item in enumerate(node.items()):
            spec, id_node, name_node = self.eval_item(item)
            if spec is None:
                continue
            assert id_node is not None
            key = spec.id if spec.by is EvalBy.ID else spec.named
            if key in ids:
                first = ids[key][0]
                self.report(
                    id_node,
                    f"duplicate eval {spec.by.value} {spec.id!r} (first at {self.where(first)})",
                )
            else:
                ids[key] = (id_node, index)
            if spec.name is not None and name_node is not None:
                if spec.name in names:
                    first = names[spec.name][0]
                    self.report(
                        name_node,
                        f"duplicate eval name {spec.name!r} (first at {self.where(first)})",
                    )
                else:
                    names[spec.name] = (name_node, index)
            specs.append(spec)
        # A rule's `evals:` refers to evals by name or id: one eval's name must not be another's id.
        for name, (name_node, index) in names.items():
            if name in ids and ids[name][1] != index:
                other = ids[name][0]
                self.report(
                    name_node,
                    f"eval name {name!r} is the id of another eval ({self.where(other)}): "
                    "rules could not tell them apart; rename it",
                )
        return tuple(specs)

    def eval_item(self, node: Node) -> tuple[EvalSpec | None, Node | None, Node | None]:
        """One `evals` item: an id, or a mapping; returns the spec and its id and name nodes."""
        before = self.problems
        if node.kind == "scalar" and node.value is not None:
            eval_id = self.ident(node, "an eval id")
            if eval_id is None:
                return None, None, None
            return EvalSpec(id=eval_id, location=self.location(node)), node, None
        if node.kind != "mapping":
            self.report(
                node,
                "each eval must be an id or a mapping with id, name and baseline, "
                f"got {node.describe()}",
            )
            return None, None, None
        values, fields = self.record(node, EVAL)
        named = [by for by in EvalBy if by.value in fields]
        if not named:
            self.report(
                node,
                "eval has no id: add id: <the evaluation's id> "
                "(or model: <a model id>, or version: <a dataset version id>)",
            )
        for extra in named[1:]:
            self.report(
                fields[extra.value][0],
                f"an eval has exactly one of id, model and version: "
                f"remove {extra.value}: or {named[0].value}:",
            )
        by = named[0] if named else EvalBy.ID
        eval_id, name, baseline = values[by.value], values["name"], values["baseline"]
        id_node = fields[by.value][1] if by.value in fields else None
        name_node = fields["name"][1] if "name" in fields else None
        if by is EvalBy.ID and baseline is not None and baseline == eval_id:
            self.report(
                fields["baseline"][1],
                f"eval {eval_id!r} cannot be its own baseline: "
                f"use {AUTO!r} or another evaluation's id",
            )
        if eval_id is None or self.problems != before:
            return None, None, None
        spec = EvalSpec(
            id=eval_id,
            name=name,
            baseline=baseline,
            location=self.location(node),
            by=by,
            locations=self.locations(fields),
        )
        return spec, id_node, name_node

    # -- rules

    def rules(self, node: Node) -> tuple[Rule, ...]:
        if node.kind != "sequence":
            self.report(node, f"rules must be a list, got {node.describe()}")
            return ()
        if not node.count():
            self.report(node, "rules is empty: add at least one rule, e.g. 'map50 >= 0.85'")
            return ()
        return tuple(rule for item in node.items() if (rule := self.rule(item)) is not None)

    def rule(self, node: Node) -> Rule | None:
        if node.kind == "scalar" and isinstance(node.value, str):
            return self.compact_rule(node)
        if node.kind != "mapping":
            self.report(
                node,
                "each rule must be a mapping or a compact string like 'map50 >= 0.85', "
                f"got {node.describe()}",
            )
            return None
        before = self.problems
        # The metric and the thresholds first, then the rest: without lines and columns (a
        # mapping from JSON) problems are listed in the order they are found.
        fields = self.fields(node, RULE)
        values = self.read(node, fields, _RULE_FIRST)
        spec: MetricSpec | None = values["metric"]
        thresholds = self.thresholds(node, fields, values)
        values |= self.read(node, fields, _RULE_REST)
        if spec is not None:
            self.levels(spec, fields)
            self.rule_options(spec, fields, thresholds)
        if self.problems != before or spec is None:
            return None
        return Rule(
            min_support=values["min_support"],
            confidence=values["confidence"],
            metric=spec.name,
            thresholds=thresholds,
            splits=values["split"],
            classes=values["classes"],
            object_size=values["object_size"],
            if_missing=values["if_missing"],
            severity=values["severity"],
            evals=values["evals"],
            location=self.location(node),
        )

    def compact_rule(self, node: Node) -> Rule | None:
        try:
            metric, threshold = parse_compact_rule(node.value)
        except ValueError as exc:
            self.report(node, str(exc))
            return None
        before = self.problems
        spec = self.metric(node, metric)
        self.in_range(node, threshold.kind, threshold.value, shown=f"{threshold.value:g}")
        if spec is not None and not spec.split_level:
            self.report(
                node,
                f"{spec.name!r} is per class, which the compact form cannot say: write a mapping "
                f'with metric: {spec.name} and classes: "*" (every class) or a list of names',
            )
        if spec is None or self.problems != before:
            return None
        return Rule(metric=spec.name, thresholds=(threshold,), location=self.location(node))

    def metric(self, node: Node, name: str | None = None) -> MetricSpec | None:
        if name is None:
            value = node.value if node.kind == "scalar" else None
            if not isinstance(value, str):
                self.report(
                    node, f"metric must be a metric name, got {node.describe()}{node.quote_hint()}"
                )
                return None
            name = value
        spec = METRICS.get(name)
        if spec is not None:
            return spec
        self.report(node, functools.partial(_unknown_metric, name))
        return None

    def levels(self, spec: MetricSpec, fields: _Fields) -> None:
        """Is the metric measured where the rule looks (per class, per object size)?"""
        if "classes" in fields and not spec.per_class:
            per_class = [
                m.name for m in METRICS.values() if m.per_class and set(m.tasks) & set(spec.tasks)
            ]
            message = f"{spec.name!r} is split-level and has no per-class value"
            if spec.name == "miou" and "iou" in per_class:
                message = f"{spec.name!r} is split-level; per class use 'iou'"
            self.report(fields["classes"][1], message)
        if "classes" not in fields and not spec.split_level:
            self.report(fields["metric"][1], _per_class_message(spec))
        if "object_size" in fields and not spec.by_size:
            by_size = ", ".join(m.name for m in METRICS.values() if m.by_size)
            self.report(
                fields["object_size"][1],
                f"object_size applies only to detection metrics ({by_size})",
            )

    def rule_options(
        self, spec: MetricSpec, fields: _Fields, thresholds: tuple[Threshold, ...]
    ) -> None:
        """`min_support` needs a per-class rule; `confidence` a regression threshold on a
        split-level metric that per-image counts can rebuild."""
        if "min_support" in fields and "classes" not in fields:
            self.report(
                fields["min_support"][1],
                'min_support applies to per-class rules: add classes: "*" (every class) '
                "or a list of names, or remove min_support",
            )
        if "confidence" not in fields:
            return
        where = fields["confidence"][1]
        if spec.name not in COUNT_METRICS:
            self.report(
                where,
                f"confidence needs per-image true/false positive counts, from which "
                f"{', '.join(COUNT_METRICS)} can be rebuilt but {spec.name!r} cannot "
                "(it ranks predictions by score); remove confidence, or use it on a "
                f"{'/'.join(COUNT_METRICS)} rule",
            )
        elif "classes" in fields or "object_size" in fields:
            self.report(
                where,
                "confidence applies to split-level rules (per-image counts are not per class "
                "or per object size): remove classes/object_size, or remove confidence",
            )
        if thresholds and not any(t.kind.is_regression for t in thresholds):
            self.report(
                where,
                "confidence applies to regression thresholds: add max_drop or max_drop_pct, "
                "or remove confidence",
            )

    def thresholds(
        self, rule: Node, fields: _Fields, values: dict[str, Any]
    ) -> tuple[Threshold, ...]:
        """The rule's thresholds (read by the table), in ThresholdKind order; the rules
        across them: at least one, and `min` not above `max`."""
        found: dict[ThresholdKind, tuple[Node, float]] = {
            kind: (fields[key][1], values[key])
            for kind, key in _THRESHOLDS
            if values[key] is not None
        }
        if not any(key in fields for key in THRESHOLD_KEYS):
            self.report(rule, "rule has no threshold: add min, max, max_drop or max_drop_pct")
        low, high = found.get(ThresholdKind.MIN), found.get(ThresholdKind.MAX)
        if low is not None and high is not None and low[1] > high[1]:
            self.report(
                low[0], f"min {low[1]:g} is greater than max {high[1]:g}: no value can pass"
            )
        return tuple(Threshold(kind, value) for kind, (_, value) in found.items())

    def number(self, node: Node, kind: ThresholdKind) -> float | None:
        top = THRESHOLD_MAX[kind]
        value = node.value if node.kind == "scalar" else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = ""
            if isinstance(value, str):
                as_number = _to_float(value)
                if as_number is not None and node.quoted:
                    hint = "; remove the quotes"
                elif as_number is not None and node.raw() is not None:
                    # YAML 1.1 reads `1e-3` (no dot) as text.
                    hint = f"; write it as a decimal, e.g. {_decimal(as_number)}"
            self.report(
                node,
                f"{kind.value} must be a number between 0 and {top:g}, got {node.describe()}{hint}",
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.report(node, f"{kind.value} must be a finite number, got {node.describe()}")
            return None
        if not self.in_range(node, kind, value):
            return None
        return float(value)

    def in_range(
        self, node: Node, kind: ThresholdKind, value: float, *, shown: str | None = None
    ) -> bool:
        top = THRESHOLD_MAX[kind]
        if 0 <= value <= top:
            return True
        raw = node.raw()
        shown = shown or (as_written(raw) if raw else f"{value:g}")
        message = f"{kind.value} must be between 0 and {top:g}, got {shown}"
        if kind is ThresholdKind.MAX_DROP_PCT:
            message += " (a percentage of the baseline value)"
        elif 1 < value <= 100 and kind is ThresholdKind.MAX_DROP:
            message += (
                f"; metric values are fractions: did you mean max_drop: {value / 100:g}"
                f" or max_drop_pct: {value:g}?"
            )
        elif 2 <= value <= 100:  # looks like a percentage; 1.5 is more likely a typo
            message += f"; metric values are fractions: did you mean {value / 100:g}?"
        self.report(node, message)
        return False

    def splits(self, node: Node) -> tuple[str, ...] | Literal["*"] | None:
        allowed = [*SPLITS, ALL]
        if node.kind == "scalar" and node.value == ALL:
            return ALL
        if node.kind != "sequence":
            value = self.choice(node, "split", allowed)
            return (value,) if value else None
        if not node.count():
            self.report(node, "split is an empty list: list splits, or remove it to use 'test'")
            return None
        out: list[str] = []
        seen: dict[str, Node] = {}
        ok = True
        for item in node.items():
            if item.kind == "scalar" and item.value == ALL:
                self.report(item, "'*' means every split and must stand alone: write split: \"*\"")
                ok = False
                continue
            value = self.choice(item, "split", SPLITS)
            if value is None:
                ok = False
            elif value in seen:
                self.report(
                    item, f"split {value!r} is listed twice (first at {self.where(seen[value])})"
                )
                ok = False
            else:
                seen[value] = item
                out.append(value)
        return tuple(out) if ok else None

    def names(
        self, node: Node, key: str, noun: str, *, allow_all: bool
    ) -> tuple[str, ...] | Literal["*"] | None:
        """`classes` or a rule's `evals`: a name, a list of names, or (classes only) "*"."""
        if allow_all and node.kind == "scalar" and node.value == ALL:
            return ALL
        if node.kind != "sequence":
            if (
                node.kind == "scalar"
                and node.value is not None
                and not isinstance(node.value, bool)
            ):
                one = self.ident(node, f"{key} ({'a' if noun == 'class' else 'an'} {noun} name)")
                return (one,) if one is not None else None
            every = '"*" (every class), ' if allow_all else ""
            article = "an" if noun[0] in "aeiou" else "a"
            self.report(
                node,
                f"{key} must be {every}{article} {noun} name or a list of {noun} names, "
                f"got {node.describe()}{node.quote_hint()}",
            )
            return None
        if not node.count():
            hint = (
                'use "*" for every class, or list names'
                if allow_all
                else "list names, or remove it"
            )
            self.report(node, f"{key} is an empty list: {hint}")
            return None
        out: list[str] = []
        seen: dict[str, Node] = {}
        ok = True
        for item in node.items():
            if allow_all and item.kind == "scalar" and item.value == ALL:
                self.report(
                    item, f"'*' means every {noun} and must stand alone: write {key}: \"*\""
                )
                ok = False
                continue
            name = self.ident(item, f"each {noun} name")
            if name is None:
                ok = False
            elif name in seen:
                self.report(
                    item, f"{noun} {name!r} is listed twice (first at {self.where(seen[name])})"
                )
                ok = False
            else:
                seen[name] = item
                out.append(name)
        return tuple(out) if ok else None


# --------------------------------------------------------------------------- helpers


def _per_class_message(spec: MetricSpec) -> str:
    message = f'{spec.name!r} is per class: add classes: "*" (every class) or a list of names'
    split_mean = [
        m.name for m in METRICS.values() if set(m.tasks) & set(spec.tasks) and m.split_level
    ]
    if spec.name == "iou" and "miou" in split_mean:
        message += "; for the split mean use 'miou'"
    return message


def _unknown_key(name: str, what: str, allowed: Sequence[str]) -> str:
    guess = _close(name, allowed)
    if guess:
        return f"unknown key {name!r} in {what}, did you mean {guess!r}?"
    return f"unknown key {name!r} in {what}: expected one of {', '.join(allowed)}"


def _unknown_metric(name: str) -> str:
    guess = suggest_metric(name)
    if guess is not None:
        return f"unknown metric {name!r}, did you mean {guess!r}?"
    return f"unknown metric {name!r}: valid metrics are {', '.join(METRICS)}"


def _close(name: str, allowed: Sequence[str]) -> str | None:
    lowered = name.strip().lower()
    if lowered in allowed:
        return lowered
    close = difflib.get_close_matches(lowered, list(allowed), n=1, cutoff=0.6)
    return close[0] if close else None


def _to_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _decimal(value: float) -> str:
    text = f"{value:.12f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
