"""The JSON Schema (draft 2020-12) of the eval-gate config, for editors and other tools.

It is built from the same catalogues the loader uses (`gate.core.metrics`,
`gate.core.model`, `gate.config.loader`), and `schema/eval-gate.schema.json` holds exactly
`schema_json()`; tests keep the two from drifting. What JSON Schema cannot say (min <= max,
unique eval ids, NaN) only the loader checks.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gate.config.loader import EVAL_KEYS, RULE_KEYS, THRESHOLD_MAX, TOP_KEYS
from gate.core.metrics import METRICS, OBJECT_SIZES, SPLITS
from gate.core.model import ALL, AUTO, IfMissing, Severity, ThresholdKind

__all__ = ["compact_rule_pattern", "config_schema", "schema_json"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# A number written in a compact rule, limited to [0, 1] (what the loader accepts there).
_UNIT_NUMBER = r"(0+(\.[0-9]*)?|0*1(\.0*)?|0*\.[0-9]+)"


def compact_rule_pattern() -> str:
    """The pattern of a compact rule the loader accepts: a split-level metric, >= or <=, 0..1."""
    names = "|".join(re.escape(m.name) for m in METRICS.values() if m.split_level)
    return rf"^\s*({names})\s*(>=|<=)\s*{_UNIT_NUMBER}\s*$"


def _names(metrics: list[str]) -> str:
    return ", ".join(metrics)


def config_schema() -> dict[str, Any]:
    """The config's JSON Schema, with a description on every property for editor completion."""
    split_level = [m.name for m in METRICS.values() if m.split_level]
    per_class = [m.name for m in METRICS.values() if m.per_class]
    by_size = [m.name for m in METRICS.values() if m.by_size]
    metric_help = "; ".join(
        f"{m.name}: {m.label} ({m.task.value}"
        + (", split-level" if m.split_level else "")
        + (", per class" if m.per_class else "")
        + (", per object size" if m.by_size else "")
        + ")"
        for m in METRICS.values()
    )

    def threshold(kind: ThresholdKind, text: str) -> dict[str, Any]:
        top = THRESHOLD_MAX[kind]
        return {
            "description": text,
            "type": "number",
            "minimum": 0,
            "maximum": int(top) if top.is_integer() else top,
        }

    rule_properties: dict[str, Any] = {
        "metric": {
            "description": f"The metric to check. {metric_help}.",
            "enum": list(METRICS),
        },
        "split": {
            "description": (
                f"The dataset split(s) to check: one of {_names(list(SPLITS))}, a list of them, "
                f'or "{ALL}" for every split present. Default: test.'
            ),
            "default": "test",
            "anyOf": [
                {"enum": [*SPLITS, ALL]},
                {
                    "type": "array",
                    "items": {"enum": list(SPLITS)},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            ],
        },
        "classes": {
            "description": (
                f'Check the metric per class: "{ALL}" for every class present, a class name, '
                f"or a list of class names. Only for per-class metrics ({_names(per_class)})."
            ),
            "anyOf": [
                {"const": ALL, "description": "every class present in the results"},
                {"$ref": "#/$defs/className"},
                {
                    "type": "array",
                    "items": {"$ref": "#/$defs/className"},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            ],
        },
        "object_size": {
            "description": (
                "Check the metric for objects of one size only. "
                f"Only for detection metrics ({_names(by_size)}); combinable with classes."
            ),
            "enum": list(OBJECT_SIZES),
        },
        ThresholdKind.MIN.value: threshold(
            ThresholdKind.MIN, "Pass when the value is at least this (inclusive), 0 to 1."
        ),
        ThresholdKind.MAX.value: threshold(
            ThresholdKind.MAX, "Pass when the value is at most this (inclusive), 0 to 1."
        ),
        ThresholdKind.MAX_DROP.value: threshold(
            ThresholdKind.MAX_DROP,
            "Regression check: pass when the value is at least the baseline's minus this "
            "(an absolute drop, 0 to 1). Needs a baseline on the eval.",
        ),
        ThresholdKind.MAX_DROP_PCT.value: threshold(
            ThresholdKind.MAX_DROP_PCT,
            "Regression check: pass when the value dropped by at most this percentage of the "
            "baseline's value (0 to 100). Needs a baseline on the eval.",
        ),
        "if_missing": {
            "description": (
                "What to do when the value is absent or null: fail the check (default), "
                "warn, or skip it."
            ),
            "enum": [m.value for m in IfMissing],
            "default": IfMissing.FAIL.value,
        },
        "severity": {
            "description": (
                "error (default): a failing check fails the gate; "
                "warning: it is reported but never fails the gate."
            ),
            "enum": [s.value for s in Severity],
            "default": Severity.ERROR.value,
        },
        "evals": {
            "description": (
                "Apply the rule only to these evals (by name or id). Default: every eval."
            ),
            "anyOf": [
                {"$ref": "#/$defs/name"},
                {
                    "type": "array",
                    "items": {"$ref": "#/$defs/name"},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            ],
        },
    }
    assert tuple(rule_properties) == RULE_KEYS

    def metric_in(names: list[str], why: str) -> dict[str, Any]:
        return {"properties": {"metric": {"description": why, "enum": names}}}

    rule_mapping: dict[str, Any] = {
        "description": "A rule: a metric, where to look, and at least one threshold.",
        "type": "object",
        "additionalProperties": False,
        "required": ["metric"],
        "properties": rule_properties,
        "anyOf": [{"required": [kind.value]} for kind in ThresholdKind],
        "allOf": [
            {
                "if": {"required": ["classes"]},
                "then": metric_in(per_class, "With classes, a metric measured per class."),
            },
            {
                "if": {"not": {"required": ["classes"]}},
                "then": metric_in(
                    split_level, "Without classes, a metric measured for a whole split."
                ),
            },
            {
                "if": {"required": ["object_size"]},
                "then": metric_in(
                    by_size, "With object_size, a metric measured per object size (detection)."
                ),
            },
        ],
    }

    eval_properties: dict[str, Any] = {
        "id": {"description": "The Roboflow evaluation id.", "$ref": "#/$defs/name"},
        "name": {
            "description": "A readable name, used in reports and by rules' `evals`.",
            "$ref": "#/$defs/name",
        },
        "baseline": {
            "description": (
                "The evaluation to compare against for max_drop / max_drop_pct: "
                f'an eval id, or "{AUTO}".'
            ),
            "$ref": "#/$defs/name",
        },
    }
    assert tuple(eval_properties) == EVAL_KEYS

    top_properties: dict[str, Any] = {
        "version": {
            "description": "The config format version: 1.",
            "type": "integer",
            "const": 1,
        },
        "workspace": {
            "description": "The Roboflow workspace the evaluations belong to.",
            "type": "string",
            "pattern": r"\S",
        },
        "evals": {
            "description": "The evaluations to gate: ids, or mappings with id, name and baseline.",
            "type": "array",
            "items": {
                "anyOf": [
                    {"$ref": "#/$defs/name", "description": "An evaluation id."},
                    {
                        "description": "An evaluation, with an optional name and baseline.",
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["id"],
                        "properties": eval_properties,
                    },
                ]
            },
        },
        "rules": {
            "description": "The checks to run, at least one.",
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/rule"},
        },
    }
    assert tuple(top_properties) == TOP_KEYS

    return {
        "$schema": DRAFT,
        "title": "eval-gate config",
        "description": (
            "Thresholds that Roboflow model evaluations must meet for a CI build to pass."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "rules"],
        "properties": top_properties,
        "$defs": {
            "name": {
                "description": "A name or id (an integer is read as the text it is written as).",
                "anyOf": [{"type": "string", "pattern": r"\S"}, {"type": "integer"}],
            },
            "className": {
                "description": "A class name.",
                "anyOf": [
                    {"type": "string", "pattern": r"\S", "not": {"const": ALL}},
                    {"type": "integer"},
                ],
            },
            "rule": {
                "description": "A rule, as a mapping or as a compact string.",
                "anyOf": [
                    {
                        "description": (
                            "Compact form '<metric> >= <number>' or '<metric> <= <number>' "
                            "(split test, severity error), e.g. 'map50 >= 0.85'."
                        ),
                        "type": "string",
                        "pattern": compact_rule_pattern(),
                    },
                    rule_mapping,
                ],
            },
        },
    }


def schema_json() -> str:
    """The schema as committed in `schema/eval-gate.schema.json`."""
    return json.dumps(config_schema(), indent=2, sort_keys=False) + "\n"
