"""The config's fields are declared once (gate.config.fields): the validator and the JSON
Schema both come from those tables."""

from __future__ import annotations

import pytest

from gate.config.fields import EVAL, RULE, TOP, Section
from gate.config.kinds import Choice
from gate.config.loader import EVAL_KEYS, RULE_KEYS, TOP_KEYS, config_from_data, load_config
from gate.config.schema import config_schema
from gate.core.errors import ConfigError
from gate.core.model import IfMissing, Severity

SECTIONS = [
    pytest.param(TOP, id="top"),
    pytest.param(EVAL, id="eval"),
    pytest.param(RULE, id="rule"),
]


def schema_properties(section: Section) -> dict:
    schema = config_schema()
    if section is TOP:
        return schema
    if section is EVAL:
        return schema["properties"]["evals"]["items"]["anyOf"][1]
    return schema["$defs"]["rule"]["anyOf"][1]


def test_the_loaders_keys_are_the_tables():
    assert (TOP.keys, EVAL.keys, RULE.keys) == (TOP_KEYS, EVAL_KEYS, RULE_KEYS)


@pytest.mark.parametrize("section", SECTIONS)
def test_every_field_is_in_the_schema_with_its_help_default_and_requiredness(section):
    mapping = schema_properties(section)
    assert tuple(mapping["properties"]) == section.keys
    assert mapping["required"] == section.required
    for field in section.fields:
        prop = mapping["properties"][field.name]
        assert field.help
        assert prop["description"] == field.help
        assert prop.get("default") == field.default
        if isinstance(field.kind, Choice):
            assert prop["enum"] == list(field.kind.values)


def test_a_rule_without_optional_fields_gets_the_tables_defaults():
    config = load_config("version: 1\nrules:\n  - {metric: map50, min: 0.5}\n")
    (rule,) = config.rules
    assert rule.splits == RULE.fields[RULE.keys.index("split")].when_missing == ("test",)
    assert rule.if_missing is IfMissing.FAIL
    assert rule.severity is Severity.ERROR
    assert (rule.classes, rule.object_size, rule.evals) == (None, None, None)


@pytest.mark.parametrize("section", SECTIONS)
def test_a_missing_required_field_says_what_to_add(section):
    for field in section.fields:
        if field.required:
            assert ": add " in field.required


def test_unknown_keys_list_the_tables_keys_in_order():
    with pytest.raises(ConfigError) as caught:
        config_from_data({"version": 1, "rules": [{"metric": "map50", "min": 0.5, "colour": 1}]})
    assert f"expected one of {', '.join(RULE.keys)}" in str(caught.value)
