"""Reading the config's rules: the mapping form and the compact form (`"map50 >= 0.85"`), and
the checks across a rule's fields that the field tables cannot say.

A rule names a known metric, has at least one threshold (`min` not above `max`), looks where
its metric is measured (per class only with `classes`, per object size only for detection
metrics), and asks for `min_support` or `confidence` only where they apply.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from gate.config.fields import RULE
from gate.config.nodes import Node
from gate.config.primitives import Checker, Fields
from gate.core.metrics import COUNT_METRICS, METRICS, MetricSpec, suggest_metric
from gate.core.model import Rule, Threshold, ThresholdKind

__all__ = ["COMPACT_FORM", "THRESHOLD_KEYS", "RuleChecker", "parse_compact_rule"]

THRESHOLD_KEYS: Final = tuple(kind.value for kind in ThresholdKind)
_THRESHOLDS: Final = tuple((kind, kind.value) for kind in ThresholdKind)
_RULE_FIRST: Final = tuple(f for f in RULE.fields if f.name in ("metric", *THRESHOLD_KEYS))
_RULE_REST: Final = tuple(f for f in RULE.fields if f not in _RULE_FIRST)

COMPACT_FORM: Final = "'<metric> >= <number>' or '<metric> <= <number>', e.g. 'map50 >= 0.85'"
_COMPACT_RE: Final = re.compile(r"\s*(?P<metric>[^\s<>=!]+)\s*(?P<op>[<>=!]+)\s*(?P<value>\S+)\s*")
_NUMBER_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


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


class RuleChecker(Checker):
    """The primitives, and the readers of `rules:` and of a rule's metric."""

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

    def levels(self, spec: MetricSpec, fields: Fields) -> None:
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
        self, spec: MetricSpec, fields: Fields, thresholds: tuple[Threshold, ...]
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
        self, rule: Node, fields: Fields, values: dict[str, Any]
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


def _per_class_message(spec: MetricSpec) -> str:
    message = f'{spec.name!r} is per class: add classes: "*" (every class) or a list of names'
    split_mean = [
        m.name for m in METRICS.values() if set(m.tasks) & set(spec.tasks) and m.split_level
    ]
    if spec.name == "iou" and "miou" in split_mean:
        message += "; for the split mean use 'miou'"
    return message


def _unknown_metric(name: str) -> str:
    guess = suggest_metric(name)
    if guess is not None:
        return f"unknown metric {name!r}, did you mean {guess!r}?"
    return f"unknown metric {name!r}: valid metrics are {', '.join(METRICS)}"
