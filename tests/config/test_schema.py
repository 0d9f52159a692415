"""The JSON Schema: committed as generated, valid, and agreeing with the loader."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
import yaml
from jsonschema import Draft202012Validator

from gate.config.loader import EVAL_KEYS, RULE_KEYS, TOP_KEYS, load_config, parse_compact_rule
from gate.config.schema import compact_rule_pattern, config_schema, schema_json
from gate.core.errors import ConfigError
from tests.config.test_config import EXAMPLE
from tests.paths import REPO

SCHEMA_FILE = REPO / "schema" / "eval-gate.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_accepts(validator: Draft202012Validator, text: str) -> bool:
    return validator.is_valid(yaml.safe_load(textwrap.dedent(text)))


def loader_accepts(text: str) -> bool:
    try:
        load_config(textwrap.dedent(text))
    except ConfigError:
        return False
    return True


def test_committed_file_is_the_generated_schema():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_json(), (
        "regenerate: python -c 'from gate.config.schema import schema_json; "
        'print(schema_json(), end="")\' > schema/eval-gate.schema.json'
    )
    assert json.loads(schema_json()) == config_schema()


def test_schema_is_draft_2020_12_with_the_loaders_keys(validator):
    schema = validator.schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert tuple(schema["properties"]) == TOP_KEYS
    eval_mapping = schema["properties"]["evals"]["items"]["anyOf"][1]
    assert tuple(eval_mapping["properties"]) == EVAL_KEYS
    rule_mapping = schema["$defs"]["rule"]["anyOf"][1]
    assert tuple(rule_mapping["properties"]) == RULE_KEYS


def test_every_property_has_a_description(validator):
    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                assert sub.get("description"), f"{path}.{name} has no description"
            for key, sub in node.items():
                walk(sub, f"{path}.{key}")
        elif isinstance(node, list):
            for index, sub in enumerate(node):
                walk(sub, f"{path}[{index}]")

    walk(validator.schema, "$")


def test_the_example_is_valid(validator):
    assert loader_accepts(EXAMPLE)
    assert list(validator.iter_errors(yaml.safe_load(EXAMPLE))) == []


VALID = [
    pytest.param("version: 1\nrules: ['map50 >= 0.85']\n", id="minimal"),
    pytest.param("version: 1\nrules: ['f1<=1']\n", id="compact-no-spaces"),
    pytest.param(
        """\
        version: 1
        evals: [abc, 12345, {id: 7, name: 2024, baseline: auto}]
        rules:
          - {metric: map50, split: [valid, train], classes: car, object_size: medium, min: 0}
          - {metric: precision, split: "*", classes: [car, 3], max: 1, if_missing: warn}
          - {metric: miou, max_drop_pct: 100, severity: warning, evals: [abc, 12345]}
          - {metric: iou, classes: "*", max_drop: 0.1, evals: abc}
        """,
        id="all-forms",
    ),
]


@pytest.mark.parametrize("text", VALID)
def test_valid_configs_pass_both(validator, text):
    assert loader_accepts(text)
    assert schema_accepts(validator, text)


INVALID = [
    pytest.param("version: 1\n", id="missing-rules"),
    pytest.param("rules: ['map50 >= 0.5']\n", id="missing-version"),
    pytest.param("version: 2\nrules: ['map50 >= 0.5']\n", id="version-2"),
    pytest.param("version: '1'\nrules: ['map50 >= 0.5']\n", id="version-string"),
    pytest.param("version: 1\nrules: []\n", id="empty-rules"),
    pytest.param("version: 1\nrules: ['map50 >= 0.5']\nextra: 1\n", id="unknown-top-key"),
    pytest.param("version: 1\nworkspace: ''\nrules: ['map50 >= 0.5']\n", id="empty-workspace"),
    pytest.param("version: 1\nrules: [{metric: map50, mni: 0.5}]\n", id="unknown-rule-key"),
    pytest.param("version: 1\nrules: [{metric: map50}]\n", id="no-threshold"),
    pytest.param("version: 1\nrules: [{min: 0.5}]\n", id="no-metric"),
    pytest.param("version: 1\nrules: [{metric: map50-95, min: 0.5}]\n", id="unknown-metric"),
    pytest.param("version: 1\nrules: [{metric: map50, min: 1.5}]\n", id="min-above-1"),
    pytest.param("version: 1\nrules: [{metric: map50, max: -0.5}]\n", id="negative"),
    pytest.param("version: 1\nrules: [{metric: map50, max_drop: 2}]\n", id="max-drop-range"),
    pytest.param("version: 1\nrules: [{metric: miou, max_drop_pct: 101}]\n", id="pct-range"),
    pytest.param("version: 1\nrules: [{metric: map50, min: '0.5'}]\n", id="string-number"),
    pytest.param("version: 1\nrules: [{metric: map50, min: true}]\n", id="bool-number"),
    pytest.param("version: 1\nrules: [{metric: map50, min: 0.5, split: tset}]\n", id="bad-split"),
    pytest.param("version: 1\nrules: [{metric: map50, min: 0.5, split: []}]\n", id="empty-split"),
    pytest.param(
        "version: 1\nrules: [{metric: map50, min: 0.5, split: [test, '*']}]\n", id="split-star"
    ),
    pytest.param(
        "version: 1\nrules: [{metric: map50, min: 0.5, split: [test, test]}]\n", id="split-twice"
    ),
    pytest.param(
        "version: 1\nrules: [{metric: map50, min: 0.5, severity: fatal}]\n", id="bad-severity"
    ),
    pytest.param(
        "version: 1\nrules: [{metric: map50, min: 0.5, if_missing: ignore}]\n", id="bad-if-missing"
    ),
    pytest.param(
        "version: 1\nrules: [{metric: map50, min: 0.5, object_size: huge}]\n", id="bad-size"
    ),
    pytest.param(
        "version: 1\nrules: [{metric: miou, min: 0.5, object_size: small}]\n", id="size-not-det"
    ),
    pytest.param("version: 1\nrules: [{metric: miou, min: 0.5, classes: '*'}]\n", id="miou-class"),
    pytest.param("version: 1\nrules: [{metric: iou, min: 0.5}]\n", id="iou-no-classes"),
    pytest.param("version: 1\nrules: [{metric: map50, min: 0.5, classes: []}]\n", id="no-classes"),
    pytest.param(
        "version: 1\nrules: [{metric: map50, min: 0.5, classes: [a, '*']}]\n", id="class-star"
    ),
    pytest.param(
        "version: 1\nrules: [{metric: map50, min: 0.5, classes: [a, a]}]\n", id="class-twice"
    ),
    pytest.param("version: 1\nrules: [{metric: map50, min: 0.5, evals: []}]\n", id="no-evals"),
    pytest.param("version: 1\nrules: ['map50 > 0.5']\n", id="compact-exclusive"),
    pytest.param("version: 1\nrules: ['map50 >= 1.5']\n", id="compact-range"),
    pytest.param("version: 1\nrules: ['iou >= 0.5']\n", id="compact-per-class"),
    pytest.param("version: 1\nrules: [0.5]\n", id="rule-number"),
    pytest.param("version: 1\nrules: ['map50 >= 0.5']\nevals: abc\n", id="evals-not-list"),
    pytest.param("version: 1\nrules: ['map50 >= 0.5']\nevals: [{name: x}]\n", id="eval-no-id"),
    pytest.param(
        "version: 1\nrules: ['map50 >= 0.5']\nevals: [{id: a, nam: x}]\n", id="eval-unknown-key"
    ),
    pytest.param("version: 1\nrules: ['map50 >= 0.5']\nevals: [true]\n", id="eval-bool-id"),
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_configs_fail_both(validator, text):
    assert not loader_accepts(text)
    assert not schema_accepts(validator, text)


@pytest.mark.parametrize(
    "rule",
    [
        "map50 >= 0.85",
        "map50_95<=1",
        "  miou >= 0  ",
        "f1 >= .5",
        "recall <= 1.",
        "precision >= 00.25",
        "map75 >= 1.000",
        "map50 >= 1.0001",
        "map50 >= 2",
        "map50 >= 0.5.1",
        "map50 >= .",
        "map50 >= -0.1",
        "map50 > 0.5",
        "map50 == 0.5",
        "map50 => 0.5",
        "MAP50 >= 0.5",
        "map50-95 >= 0.5",
        "iou >= 0.5",
        "map50 >= 0.5 on valid",
        "map50 >=",
        ">= 0.5",
        "map50 >= 1e-3",
    ],
)
def test_compact_pattern_agrees_with_the_loader(validator, rule):
    config = f"version: 1\nrules: [{json.dumps(rule)}]\n"
    loader = loader_accepts(config)
    assert schema_accepts(validator, config) == loader
    assert (re.search(compact_rule_pattern(), rule) is not None) == loader
    if loader:
        parse_compact_rule(rule)  # the loader's parser accepts it too
