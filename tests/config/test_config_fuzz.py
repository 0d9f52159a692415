"""Generated YAML configs: load_config returns a config or raises ConfigError (exit 2, located
problems), never anything else (exit 70). Explicit tags (`!!bool maybe`, `!!int +`), huge
numbers, anchors and aliases, odd indentation and flow styles are where PyYAML's constructors
throw KeyError, IndexError and ValueError at whoever calls them."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.config.loader import load_config
from gate.core.errors import MAX_PROBLEMS, ConfigError
from gate.core.model import GateConfig

KEYS = [
    "version",
    "rules",
    "evals",
    "workspace",
    "metric",
    "min",
    "max",
    "max_drop",
    "max_drop_pct",
    "split",
    "classes",
    "object_size",
    "if_missing",
    "severity",
    "id",
    "name",
    "baseline",
    "<<",
    "? x",
]
TAGS = ["", "", "", "!!int ", "!!float ", "!!bool ", "!!str ", "!!null ", "!!timestamp "]
TAGS += ["!!binary ", "!!seq ", "!!map ", "!custom ", "!!python/object "]
SCALARS = [
    "1",
    "0.5",
    "map50 >= 0.85",
    "'map50 >= 0.85'",
    "map50",
    "iou",
    '"*"',
    "*",
    "test",
    "auto",
    "maybe",
    "+",
    "-",
    "''",
    "0x",
    "0b2",
    "0o9",
    "1:2:3",
    "1_000",
    ".inf",
    ".nan",
    "1e999",
    "9" * 5000,
    "0x" + "f" * 5000,
    "2024-13-45",
    "~",
    "null",
    "yes",
    "[]",
    "{}",
    "[a, b, a]",
    "{min: 0.5, min: 0.6}",
    "&a x",
    "*a",
    "&b !!bool maybe",
    "*b",
    "!!int &c +",
    "*c",
    "*undefined",
    "|\n  text",
]
INDENTS = ["", "  ", "    ", "- ", "  - ", "\t"]


@st.composite
def lines(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from(INDENTS))
    kind = draw(st.sampled_from(["pair", "pair", "item", "raw"]))
    value = draw(st.sampled_from(TAGS)) + draw(st.sampled_from(SCALARS))
    if kind == "pair":
        return f"{indent}{draw(st.sampled_from(KEYS))}: {value}"
    if kind == "item":
        return f"{indent}- {value}"
    return indent + value


configs = st.lists(lines(), min_size=1, max_size=12).map(
    lambda body: "version: 1\nrules:\n" + "\n".join(body) + "\n"
)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(configs, st.lists(lines(), max_size=12).map("\n".join)))
def test_a_generated_config_is_a_config_or_located_problems(text):
    try:
        config = load_config(text, "gate.yml")
    except ConfigError as error:
        lines = error.lines()
        assert 1 <= len(lines) <= MAX_PROBLEMS + 1
        assert all("\n" not in line for line in lines)
        assert all(line.startswith(("gate.yml", "... and ")) for line in lines)
    else:
        assert isinstance(config, GateConfig)
        assert config.rules
