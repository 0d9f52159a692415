"""The JSON Schema (draft 2020-12) of the eval-gate config, for editors and other tools.

It is generated from the field tables the loader walks (`gate.config.fields`), and
`schema/eval-gate.schema.json` holds exactly `schema_json()`; tests keep the two from
drifting. What JSON Schema cannot say (min <= max, unique eval ids, NaN) only the loader
checks.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gate.config.fields import RULE, TOP
from gate.core.metrics import METRICS
from gate.core.model import ALL, ThresholdKind

__all__ = ["compact_rule_pattern", "config_schema", "schema_json"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# A number written in a compact rule, limited to [0, 1] (what the loader accepts there).
_UNIT_NUMBER = r"(0+(\.[0-9]*)?|0*1(\.0*)?|0*\.[0-9]+)"


def compact_rule_pattern() -> str:
    """The pattern of a compact rule the loader accepts: a split-level metric, >= or <=, 0..1."""
    names = "|".join(re.escape(m.name) for m in METRICS.values() if m.split_level)
    return rf"^\s*({names})\s*(>=|<=)\s*{_UNIT_NUMBER}\s*$"


def config_schema() -> dict[str, Any]:
    """The config's JSON Schema, with a description on every property for editor completion.

    The properties (types, allowed values, defaults, descriptions) come from the field tables
    of `gate.config.fields`, which the validator walks; only the rules across fields (a
    threshold needed, a metric measured where the rule looks) and the compact form are
    written here.
    """
    split_level = [m.name for m in METRICS.values() if m.split_level]
    per_class = [m.name for m in METRICS.values() if m.per_class]
    by_size = [m.name for m in METRICS.values() if m.by_size]

    def metric_in(names: list[str], why: str) -> dict[str, Any]:
        return {"properties": {"metric": {"description": why, "enum": names}}}

    rule_mapping: dict[str, Any] = {
        "description": "A rule: a metric, where to look, and at least one threshold.",
        "type": "object",
        "additionalProperties": False,
        "required": RULE.required,
        "properties": RULE.properties(),
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

    return {
        "$schema": DRAFT,
        "title": "eval-gate config",
        "description": (
            "Thresholds that Roboflow model evaluations must meet for a CI build to pass."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": TOP.required,
        "properties": TOP.properties(),
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
