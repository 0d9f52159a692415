"""The config loader: YAML and plain data in, GateConfig or every located problem out."""

from __future__ import annotations

import json
import math
import textwrap

import pytest
import yaml

from gate.config.loader import config_from_data, load_config, parse_compact_rule
from gate.core.errors import MAX_PROBLEMS, ConfigError, ExitCode
from gate.core.model import (
    ALL,
    EvalBy,
    EvalSpec,
    GateConfig,
    IfMissing,
    Location,
    Rule,
    Severity,
    Threshold,
    ThresholdKind,
)

EXAMPLE = """\
version: 1
workspace: my-workspace
evals:
  - id: huUF720inUcymARwqAGK
    name: rim detector
    baseline: auto
rules:
  - metric: map50_95          # split-level metric
    split: test               # test (default) | valid | train | a list | "*"
    min: 0.70                 # inclusive; `max` also allowed
  - "map50 >= 0.85"           # compact form of the same thing, split defaults to test
  - metric: iou               # semantic segmentation, per class
    classes: "*"              # every class present, or a list of class names
    min: 0.50
  - metric: map50
    object_size: small        # small | medium | large (detection), combinable with classes
    min: 0.60
    if_missing: skip          # fail (default) | warn | skip, when the value is absent/null
  - metric: map50_95
    max_drop: 0.02            # vs the baseline, absolute
  - metric: miou
    max_drop_pct: 3           # vs the baseline, percent of the baseline value
  - metric: map75
    min: 0.8
    severity: warning         # error (default) | warning: reported, never fails the build
    evals: [rim detector]     # optional: restrict a rule to some evals (by name or id)
"""

MIN, MAX = ThresholdKind.MIN, ThresholdKind.MAX

EXPECTED = GateConfig(
    version=1,
    workspace="my-workspace",
    evals=(EvalSpec(id="huUF720inUcymARwqAGK", name="rim detector", baseline="auto"),),
    rules=(
        Rule(metric="map50_95", thresholds=(Threshold(MIN, 0.7),)),
        Rule(metric="map50", thresholds=(Threshold(MIN, 0.85),)),
        Rule(metric="iou", thresholds=(Threshold(MIN, 0.5),), classes=ALL),
        Rule(
            metric="map50",
            thresholds=(Threshold(MIN, 0.6),),
            object_size="small",
            if_missing=IfMissing.SKIP,
        ),
        Rule(metric="map50_95", thresholds=(Threshold(ThresholdKind.MAX_DROP, 0.02),)),
        Rule(metric="miou", thresholds=(Threshold(ThresholdKind.MAX_DROP_PCT, 3.0),)),
        Rule(
            metric="map75",
            thresholds=(Threshold(MIN, 0.8),),
            severity=Severity.WARNING,
            evals=("rim detector",),
        ),
    ),
    source="gate.yml",
)


def problems(text: str, source: str = "gate.yml") -> list[str]:
    """Every problem line load_config reports for `text` (which must be invalid)."""
    with pytest.raises(ConfigError) as info:
        load_config(textwrap.dedent(text), source)
    assert info.value.exit_code is ExitCode.USAGE
    return info.value.lines()


def data_problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_data(data)
    return info.value.lines()


def rules_problems(rules: str) -> list[str]:
    """Problems of a config whose rules list (indented by 2, starting on line 3) is `rules`."""
    return problems("version: 1\nrules:\n" + textwrap.indent(textwrap.dedent(rules), "  "))


# --------------------------------------------------------------------------- valid configs


def test_full_example_parses_into_the_expected_values():
    config = load_config(EXAMPLE, "gate.yml")
    assert config == EXPECTED
    # Splits default to test, severity to error, if_missing to fail, no eval restriction.
    first = config.rules[0]
    assert (first.splits, first.severity, first.if_missing, first.evals) == (
        ("test",),
        Severity.ERROR,
        IfMissing.FAIL,
        None,
    )


def test_each_rule_and_eval_is_located_at_its_item():
    config = load_config(EXAMPLE, "gate.yml")
    assert [r.location for r in config.rules] == [
        Location("gate.yml", line, column)
        for line, column in [(8, 5), (11, 5), (12, 5), (15, 5), (19, 5), (21, 5), (23, 5)]
    ]
    assert config.evals[0].location == Location("gate.yml", 4, 5)


def test_minimal_config_and_defaults():
    config = load_config('version: 1\nrules: ["f1 <= 0.9"]\n')
    assert config == GateConfig(
        version=1, rules=(Rule(metric="f1", thresholds=(Threshold(MAX, 0.9),)),)
    )
    assert config.source == "<config>"
    assert config.workspace is None
    assert config.evals == ()


def test_split_class_and_eval_forms():
    config = load_config(
        textwrap.dedent(
            """\
            version: 1
            evals:
              - plainEvalId
              - id: 12345          # digits: kept as written
                name: 0042
                baseline: plainEvalId
            rules:
              - metric: map50
                split: [valid, train]
                classes: car         # one class
                object_size: large
                min: 0.2
                max: 0.9
                if_missing: warn
                evals: plainEvalId
              - metric: precision
                split: "*"
                classes: [car, 7, "truck"]
                min: 0
                max: 1
              - metric: recall
                split: valid
                min: 0.5
            """
        )
    )
    assert config.evals == (
        EvalSpec(id="plainEvalId"),
        EvalSpec(id="12345", name="0042", baseline="plainEvalId"),
    )
    first, second, third = config.rules
    assert first == Rule(
        metric="map50",
        thresholds=(Threshold(MIN, 0.2), Threshold(MAX, 0.9)),
        splits=("valid", "train"),
        classes=("car",),
        object_size="large",
        if_missing=IfMissing.WARN,
        evals=("plainEvalId",),
    )
    assert second.splits == ALL
    assert second.classes == ("car", "7", "truck")
    assert second.thresholds == (Threshold(MIN, 0.0), Threshold(MAX, 1.0))
    assert third.splits == ("valid",)


def test_thresholds_come_in_kind_order_whatever_the_key_order():
    config = load_config(
        "version: 1\nrules:\n  - {metric: map50, max_drop_pct: 5, max: 0.99, min: 0.1}\n"
    )
    assert [t.kind for t in config.rules[0].thresholds] == [
        MIN,
        MAX,
        ThresholdKind.MAX_DROP_PCT,
    ]


def test_yaml_aliases_are_followed():
    config = load_config(
        textwrap.dedent(
            """\
            version: 1
            rules:
              - {metric: map50, split: &both [valid, test], min: 0.5}
              - {metric: map75, split: *both, min: 0.4}
            """
        )
    )
    assert config.rules[1].splits == ("valid", "test")


# --------------------------------------------------------------------------- compact rules


@pytest.mark.parametrize(
    ("text", "metric", "threshold"),
    [
        ("map50 >= 0.85", "map50", Threshold(MIN, 0.85)),
        ("  miou<=0.3  ", "miou", Threshold(MAX, 0.3)),
        ("map50_95 >= 1", "map50_95", Threshold(MIN, 1.0)),
        ("f1 >= .5", "f1", Threshold(MIN, 0.5)),
        ("nonsense >= 7", "nonsense", Threshold(MIN, 7.0)),  # names/ranges: the validator's job
    ],
)
def test_parse_compact_rule(text, metric, threshold):
    assert parse_compact_rule(text) == (metric, threshold)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "map50 > 0.8",
            (
                "operator '>' is not supported in 'map50 > 0.8': "
                "thresholds are inclusive: use >= or <="
            ),
        ),
        (
            "map50 == 0.8",
            (
                "operator '==' is not supported in 'map50 == 0.8': "
                "thresholds are inclusive: use >= or <="
            ),
        ),
        (
            "map50 at least 0.8",
            (
                "bad compact rule 'map50 at least 0.8': expected '<metric> >= <number>' or "
                "'<metric> <= <number>', e.g. 'map50 >= 0.85'"
            ),
        ),
        (
            "map50 >= high",
            (
                "bad threshold 'high' in 'map50 >= high': expected '<metric> >= <number>' or "
                "'<metric> <= <number>', e.g. 'map50 >= 0.85'"
            ),
        ),
        ("map50 >= -0.1", "bad threshold '-0.1' in 'map50 >= -0.1'"),
        ("", "bad compact rule ''"),
    ],
)
def test_parse_compact_rule_rejects(text, message):
    with pytest.raises(ValueError, match=r"^(bad|operator) ") as info:
        parse_compact_rule(text)
    assert str(info.value).startswith(message)


# --------------------------------------------------------------------------- one problem each

# (rules list as YAML, indented by the helper to start on line 3 column 3, expected problems)
RULE_CASES = [
    pytest.param(
        "- metric: map50-95\n  min: 0.7\n",
        ["gate.yml:3:13: unknown metric 'map50-95', did you mean 'map50_95'?"],
        id="unknown-metric-suggested",
    ),
    pytest.param(
        "- metric: accuracy\n  min: 0.7\n",
        [
            (
                "gate.yml:3:13: unknown metric 'accuracy': valid metrics are "
                "map50, map50_95, map75, miou, iou, precision, recall, f1"
            )
        ],
        id="unknown-metric-listed",
    ),
    pytest.param(
        "- metric: map50\n  mni: 0.7\n",
        [
            "gate.yml:3:5: rule has no threshold: add min, max, max_drop or max_drop_pct",
            "gate.yml:4:5: unknown key 'mni' in a rule, did you mean 'min'?",
        ],
        id="unknown-key-and-no-threshold",
    ),
    pytest.param(
        "- metric: map50\n  min: 0.7\n  colour: red\n",
        [
            (
                "gate.yml:5:5: unknown key 'colour' in a rule: expected one of metric, split, "
                "classes, object_size, min, max, max_drop, max_drop_pct, if_missing, severity, "
                "evals, min_support, confidence"
            )
        ],
        id="unknown-key-no-suggestion",
    ),
    pytest.param(
        "- metric: map50\n  min: 0.7\n  min: 0.8\n",
        ["gate.yml:5:5: duplicate key 'min' (first at line 4)"],
        id="duplicate-key",
    ),
    pytest.param(
        "- min: 0.7\n",
        [
            (
                "gate.yml:3:5: rule has no metric: add metric: "
                "<one of map50, map50_95, map75, miou, iou, precision, recall, f1>"
            )
        ],
        id="no-metric",
    ),
    pytest.param(
        "- metric: miou\n  classes: '*'\n  min: 0.5\n",
        ["gate.yml:4:14: 'miou' is split-level; per class use 'iou'"],
        id="miou-per-class",
    ),
    pytest.param(
        "- metric: iou\n  min: 0.5\n",
        [
            (
                "gate.yml:3:13: 'iou' is per class: add classes: \"*\" (every class) or a list of "
                "names; for the split mean use 'miou'"
            )
        ],
        id="iou-without-classes",
    ),
    pytest.param(
        "- metric: f1\n  object_size: small\n  min: 0.5\n",
        ["gate.yml:4:18: object_size applies only to detection metrics (map50, map50_95, map75)"],
        id="object-size-not-detection",
    ),
    pytest.param(
        "- metric: map50\n  object_size: tiny\n  min: 0.5\n",
        ["gate.yml:4:18: object_size must be one of small, medium, large, got 'tiny'"],
        id="bad-object-size",
    ),
    pytest.param(
        "- metric: map50\n  severity: Warning\n  min: 0.5\n",
        [
            (
                "gate.yml:4:15: severity must be one of error, warning, got 'Warning'; "
                "did you mean 'warning'?"
            )
        ],
        id="bad-severity",
    ),
    pytest.param(
        "- metric: map50\n  if_missing: ignore\n  min: 0.5\n",
        ["gate.yml:4:17: if_missing must be one of fail, warn, skip, got 'ignore'"],
        id="bad-if-missing",
    ),
    pytest.param(
        "- metric: map50\n  split: tset\n  min: 0.5\n",
        [
            (
                "gate.yml:4:12: split must be one of test, valid, train, *, got 'tset'; "
                "did you mean 'test'?"
            )
        ],
        id="bad-split",
    ),
    pytest.param(
        "- metric: map50\n  split: [test, '*', valid, test]\n  min: 0.5\n",
        [
            "gate.yml:4:19: '*' means every split and must stand alone: write split: \"*\"",
            "gate.yml:4:31: split 'test' is listed twice (first at line 4)",
        ],
        id="split-list",
    ),
    pytest.param(
        "- metric: map50\n  split: []\n  min: 0.5\n",
        ["gate.yml:4:12: split is an empty list: list splits, or remove it to use 'test'"],
        id="empty-split",
    ),
    pytest.param(
        "- metric: map50\n  classes: []\n  min: 0.5\n",
        ['gate.yml:4:14: classes is an empty list: use "*" for every class, or list names'],
        id="empty-classes",
    ),
    pytest.param(
        "- metric: map50\n  classes: [car, '', on, car]\n  min: 0.5\n",
        [
            "gate.yml:4:20: each class name must be a non-empty string, got '' (a string)",
            (
                "gate.yml:4:24: each class name must be a non-empty string, got on (a boolean); "
                'quote it: "on"'
            ),
            "gate.yml:4:28: class 'car' is listed twice (first at line 4)",
        ],
        id="class-names",
    ),
    pytest.param(
        "- metric: map50\n  min: 70\n",
        [
            (
                "gate.yml:4:10: min must be between 0 and 1, got 70; "
                "metric values are fractions: did you mean 0.7?"
            )
        ],
        id="min-looks-like-percent",
    ),
    pytest.param(
        "- metric: map50\n  max: -0.1\n",
        ["gate.yml:4:10: max must be between 0 and 1, got -0.1"],
        id="negative",
    ),
    pytest.param(
        "- metric: map50\n  max_drop: 2\n",
        [
            (
                "gate.yml:4:15: max_drop must be between 0 and 1, got 2; metric values are "
                "fractions: did you mean max_drop: 0.02 or max_drop_pct: 2?"
            )
        ],
        id="max-drop-range",
    ),
    pytest.param(
        "- metric: map50\n  max_drop_pct: 150\n",
        [
            (
                "gate.yml:4:19: max_drop_pct must be between 0 and 100, got 150 "
                "(a percentage of the baseline value)"
            )
        ],
        id="max-drop-pct-range",
    ),
    pytest.param(
        "- metric: map50\n  min: .nan\n",
        ["gate.yml:4:10: min must be a finite number, got .nan (a number)"],
        id="nan",
    ),
    pytest.param(
        "- metric: map50\n  min: .inf\n",
        ["gate.yml:4:10: min must be a finite number, got .inf (a number)"],
        id="inf",
    ),
    pytest.param(
        "- metric: map50\n  min: true\n",
        ["gate.yml:4:10: min must be a number between 0 and 1, got true (a boolean)"],
        id="bool-threshold",
    ),
    pytest.param(
        "- metric: map50\n  min: '0.7'\n",
        [
            (
                "gate.yml:4:10: min must be a number between 0 and 1, got '0.7' (a string); "
                "remove the quotes"
            )
        ],
        id="quoted-threshold",
    ),
    pytest.param(
        "- metric: map50\n  min: 1e-3\n",
        [
            (
                "gate.yml:4:10: min must be a number between 0 and 1, got '1e-3' (a string); "
                "write it as a decimal, e.g. 0.001"
            )
        ],
        id="yaml11-exponent",
    ),
    pytest.param(
        "- metric: map50\n  min:\n",
        ["gate.yml:4:9: min must be a number between 0 and 1, got an empty value"],
        id="empty-threshold",
    ),
    pytest.param(
        "- metric: map50\n  min: 0.9\n  max: 0.5\n",
        ["gate.yml:4:10: min 0.9 is greater than max 0.5: no value can pass"],
        id="min-above-max",
    ),
    pytest.param(
        "- metric: map50\n  min: 0.5\n  evals: []\n",
        ["gate.yml:5:12: evals is an empty list: list names, or remove it"],
        id="empty-rule-evals",
    ),
    pytest.param(
        "- metric: map50\n  min: 0.5\n  evals: {a: 1}\n",
        ["gate.yml:5:12: evals must be an eval name or a list of eval names, got a mapping"],
        id="bad-rule-evals",
    ),
    pytest.param(
        "- 'map50 > 0.85'\n",
        [
            (
                "gate.yml:3:5: operator '>' is not supported in 'map50 > 0.85': "
                "thresholds are inclusive: use >= or <="
            )
        ],
        id="compact-exclusive",
    ),
    pytest.param(
        "- map50 at least 0.85\n",
        [
            (
                "gate.yml:3:5: bad compact rule 'map50 at least 0.85': expected "
                "'<metric> >= <number>' or '<metric> <= <number>', e.g. 'map50 >= 0.85'"
            )
        ],
        id="compact-syntax",
    ),
    pytest.param(
        "- map50-95 >= 0.5\n",
        ["gate.yml:3:5: unknown metric 'map50-95', did you mean 'map50_95'?"],
        id="compact-unknown-metric",
    ),
    pytest.param(
        "- map50 >= 85\n",
        [
            (
                "gate.yml:3:5: min must be between 0 and 1, got 85; "
                "metric values are fractions: did you mean 0.85?"
            )
        ],
        id="compact-range",
    ),
    pytest.param(
        "- iou >= 0.5\n",
        [
            (
                "gate.yml:3:5: 'iou' is per class, which the compact form cannot say: write a "
                'mapping with metric: iou and classes: "*" (every class) or a list of names'
            )
        ],
        id="compact-per-class",
    ),
    pytest.param(
        "- 0.85\n",
        [
            (
                "gate.yml:3:5: each rule must be a mapping or a compact string like "
                "'map50 >= 0.85', got 0.85 (a number)"
            )
        ],
        id="rule-not-mapping",
    ),
    pytest.param(
        "- metric: [map50]\n  min: 0.5\n",
        ["gate.yml:3:13: metric must be a metric name, got a list"],
        id="metric-not-string",
    ),
    pytest.param(
        "- metric: map50\n  min: !percent 50\n",
        [
            (
                "gate.yml:4:10: min must be a number between 0 and 1, got a value tagged "
                "'!percent' (custom YAML tags are not supported)"
            )
        ],
        id="custom-tag",
    ),
]


@pytest.mark.parametrize(("rules", "expected"), RULE_CASES)
def test_rule_problem(rules, expected):
    assert rules_problems(rules) == expected


TOP_CASES = [
    pytest.param(
        "rules: ['map50 >= 0.5']\n",
        ["gate.yml:1:1: missing required key 'version': add `version: 1`"],
        id="no-version",
    ),
    pytest.param(
        "version: 2\nrules: ['map50 >= 0.5']\n",
        ["gate.yml:1:10: unsupported version 2: this eval-gate reads `version: 1`"],
        id="version-2",
    ),
    pytest.param(
        "version: '1'\nrules: ['map50 >= 0.5']\n",
        ["gate.yml:1:10: version must be the integer 1, got '1' (a string); remove the quotes"],
        id="version-quoted",
    ),
    pytest.param(
        "version: 1\n",
        [
            (
                "gate.yml:1:1: missing required key 'rules': add a list of rules, "
                "e.g. rules: ['map50 >= 0.85']"
            )
        ],
        id="no-rules",
    ),
    pytest.param(
        "version: 1\nrules: []\n",
        ["gate.yml:2:8: rules is empty: add at least one rule, e.g. 'map50 >= 0.85'"],
        id="empty-rules",
    ),
    pytest.param(
        "version: 1\nrules:\n",
        ["gate.yml:2:7: rules must be a list, got an empty value"],
        id="null-rules",
    ),
    pytest.param(
        "version: 1\nrule: ['map50 >= 0.5']\n",
        [
            (
                "gate.yml:1:1: missing required key 'rules': add a list of rules, "
                "e.g. rules: ['map50 >= 0.85']"
            ),
            "gate.yml:2:1: unknown key 'rule' in the config, did you mean 'rules'?",
        ],
        id="misspelt-rules",
    ),
    pytest.param(
        "version: 1\nworkspace: ''\nrules: ['map50 >= 0.5']\n",
        ["gate.yml:2:12: workspace must be a non-empty string, got '' (a string)"],
        id="empty-workspace",
    ),
    pytest.param(
        "version: 1\nworkspace: 2024\nrules: ['map50 >= 0.5']\n",
        [
            (
                "gate.yml:2:12: workspace must be a non-empty string, got 2024 (a number); "
                'quote it: "2024"'
            )
        ],
        id="numeric-workspace",
    ),
    pytest.param(
        "- version: 1\n",
        ["gate.yml:1:1: the config must be a mapping with `version: 1` and `rules:`, got a list"],
        id="top-level-list",
    ),
    pytest.param(
        "",
        [
            (
                "gate.yml:1:1: the config is empty: "
                "it needs at least `version: 1` and a list of `rules:`"
            )
        ],
        id="empty-file",
    ),
    pytest.param(
        "# only a comment\n",
        [
            (
                "gate.yml:1:1: the config is empty: "
                "it needs at least `version: 1` and a list of `rules:`"
            )
        ],
        id="comment-only",
    ),
    pytest.param(
        "version: 1\n<<: {workspace: w}\nrules: ['map50 >= 0.5']\n",
        ["gate.yml:2:1: YAML merge keys (<<) are not supported: write the keys out"],
        id="merge-key",
    ),
    pytest.param(
        "version: 1\n[a]: 1\nrules: ['map50 >= 0.5']\n",
        ["gate.yml:2:1: keys must be plain names, got a list"],
        id="complex-key",
    ),
]


@pytest.mark.parametrize(("text", "expected"), TOP_CASES)
def test_top_level_problem(text, expected):
    assert problems(text) == expected


EVALS_HEAD = "version: 1\nrules: ['map50 >= 0.5']\nevals:\n"  # items start on line 4

EVAL_CASES = [
    pytest.param(
        "  - id: a\n  - id: a\n",
        ["gate.yml:5:9: duplicate eval id 'a' (first at line 4)"],
        id="duplicate-id",
    ),
    pytest.param(
        "  - {id: a, name: x}\n  - {id: b, name: x}\n",
        ["gate.yml:5:19: duplicate eval name 'x' (first at line 4)"],
        id="duplicate-name",
    ),
    pytest.param(
        "  - a\n  - {id: b, name: a}\n",
        [
            (
                "gate.yml:5:19: eval name 'a' is the id of another eval (line 4): "
                "rules could not tell them apart; rename it"
            )
        ],
        id="name-is-other-id",
    ),
    pytest.param(
        "  - name: x\n",
        [
            (
                "gate.yml:4:5: eval has no id: add id: <the evaluation's id> "
                "(or model: <a model id>, or version: <a dataset version id>)"
            )
        ],
        id="no-id",
    ),
    pytest.param(
        "  - id: a\n    model: m\n",
        ["gate.yml:5:5: an eval has exactly one of id, model and version: remove model: or id:"],
        id="id-and-model",
    ),
    pytest.param(
        "  - model: m\n  - model: m\n",
        ["gate.yml:5:12: duplicate eval model 'm' (first at line 4)"],
        id="duplicate-model",
    ),
    pytest.param(
        "  - id: a\n    nam: x\n",
        ["gate.yml:5:5: unknown key 'nam' in an eval, did you mean 'name'?"],
        id="unknown-key",
    ),
    pytest.param(
        "  - id: a\n    baseline: a\n",
        [
            (
                "gate.yml:5:15: eval 'a' cannot be its own baseline: "
                "use 'auto' or another evaluation's id"
            )
        ],
        id="own-baseline",
    ),
    pytest.param(
        "  - id: yes\n",
        ['gate.yml:4:9: id must be a non-empty string, got yes (a boolean); quote it: "yes"'],
        id="bool-id",
    ),
    pytest.param(
        "  - id: 2024-01-01\n",
        [
            (
                "gate.yml:4:9: id must be a non-empty string, got '2024-01-01' (a YAML timestamp); "
                'quote it: "2024-01-01"'
            )
        ],
        id="date-id",
    ),
    pytest.param(
        "  - [a]\n",
        [
            (
                "gate.yml:4:5: each eval must be an id or a mapping with id, name and baseline, "
                "got a list"
            )
        ],
        id="item-not-mapping",
    ),
]


@pytest.mark.parametrize(("items", "expected"), EVAL_CASES)
def test_eval_problem(items, expected):
    assert problems(EVALS_HEAD + items) == expected


def test_evals_must_be_a_list():
    assert problems("version: 1\nrules: ['map50 >= 0.5']\nevals: abc\n") == [
        "gate.yml:3:8: evals must be a list, got 'abc' (a string)"
    ]


def test_an_eval_named_by_model_or_version():
    config = load_config(
        "version: 1\nevals:\n  - {model: m1, baseline: auto}\n  - {version: 7, name: v}\n"
        "  - {id: m1}\nrules: ['f1 >= 0']\n"
    )
    assert [(e.by, e.id, e.name, e.baseline) for e in config.evals] == [
        (EvalBy.MODEL, "m1", None, "auto"),
        (EvalBy.VERSION, "7", "v", None),
        (EvalBy.ID, "m1", None, None),
    ]
    assert config.evals[0].named == "model m1"


def test_require_same_version():
    assert load_config("version: 1\nrules: ['f1 >= 0']\n").require_same_version is False
    config = load_config("version: 1\nrequire_same_version: true\nrules: ['f1 >= 0']\n")
    assert config.require_same_version is True
    assert problems("version: 1\nrequire_same_version: 'yes'\nrules: ['f1 >= 0']\n") == [
        "gate.yml:2:23: require_same_version must be true or false, got 'yes' (a string)"
    ]


def test_integer_ids_keep_the_text_as_written():
    config = load_config("version: 1\nevals: [0123, {id: 7, baseline: 0x1F}]\nrules: ['f1 >= 0']\n")
    assert [(e.id, e.baseline) for e in config.evals] == [("0123", None), ("7", "0x1F")]


# --------------------------------------------------------------------------- many problems


def test_every_problem_is_reported_once_in_document_order():
    text = """\
        version: 3
        evals:
          - {id: a, nme: x}
        rules:
          - metric: iou
            mni: 0.5
          - "map50 > 0.9"
          - metric: map50
            severity: fatal
            min: 1.5
        extra: true
        """
    with pytest.raises(ConfigError) as info:
        load_config(textwrap.dedent(text), "ci/gate.yml")
    error = info.value
    assert error.lines() == [
        "ci/gate.yml:1:10: unsupported version 3: this eval-gate reads `version: 1`",
        "ci/gate.yml:3:13: unknown key 'nme' in an eval, did you mean 'name'?",
        "ci/gate.yml:5:5: rule has no threshold: add min, max, max_drop or max_drop_pct",
        (
            "ci/gate.yml:5:13: 'iou' is per class: add classes: \"*\" (every class) or a list of "
            "names; for the split mean use 'miou'"
        ),
        "ci/gate.yml:6:5: unknown key 'mni' in a rule, did you mean 'min'?",
        (
            "ci/gate.yml:7:5: operator '>' is not supported in 'map50 > 0.9': "
            "thresholds are inclusive: use >= or <="
        ),
        "ci/gate.yml:9:15: severity must be one of error, warning, got 'fatal'",
        "ci/gate.yml:10:10: min must be between 0 and 1, got 1.5",
        (
            "ci/gate.yml:11:1: unknown key 'extra' in the config: expected one of "
            "version, workspace, evals, require_same_version, trend, rules"
        ),
    ]
    assert [(p.line, p.column) for p in error.problems][:2] == [(1, 10), (3, 13)]
    assert all(p.source == "ci/gate.yml" for p in error.problems)
    assert str(error) == f"{error.lines()[0]} (and 8 more problems)"


# --------------------------------------------------------------------------- bad YAML


def test_unclosed_bracket_is_one_located_problem():
    [line] = problems("version: 1\nrules: [map50 >= 0.5\n")
    # libyaml and pure-Python PyYAML word it differently; both point at the end of input.
    assert line.startswith("gate.yml:3:1: invalid YAML: ")
    assert "']'" in line
    assert "(while parsing a flow sequence at line 2, column 8)" in line


def test_tab_indentation_is_a_located_problem_with_a_hint():
    [line] = problems("version: 1\nrules:\n\t- map50 >= 0.5\n")
    assert line.startswith("gate.yml:3:1: invalid YAML: found character")
    assert line.endswith("; indent with spaces, not tabs")


def test_unclosed_quote():
    [line] = problems("version: 1\nrules: ['map50 >= 0.5]\n")
    assert line.startswith("gate.yml:3:1: invalid YAML: found unexpected end of stream")


def test_several_documents():
    assert problems("version: 1\n---\nrules: []\n") == [
        "gate.yml:2:1: invalid YAML: the config must be a single YAML document (remove the '---')"
    ]


def test_undefined_alias():
    [line] = problems("version: 1\nrules: *nope\n")
    assert line.startswith("gate.yml:2:8: invalid YAML: found undefined alias")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: 1\nrules: [\x07]\n",
            (
                "gate.yml:2:9: invalid YAML: control characters are not allowed: "
                "character U+0007 is not allowed"
            ),
        ),
        (
            "version: 1\nrules: ['é', \ud800]\n",
            "gate.yml:2:14: invalid YAML: invalid character: character U+D800 is not allowed",
        ),
    ],
)
def test_unacceptable_characters_are_located(text, expected):
    [line] = problems(text)
    # The reason is the parser's (it differs between libyaml and PyYAML); the place is ours.
    assert line.split(": ")[0] == expected.split(": ")[0]
    assert line.endswith(expected.rsplit(": ", 1)[1])


YAML_ONLY_BREAKS = [
    pytest.param("\u2028", id="U+2028"),
    pytest.param("\x85", id="U+0085"),
    pytest.param("\u2029", id="U+2029"),
]


@pytest.fixture(params=["libyaml", "pure-python"])
def either_parser(request, monkeypatch):
    """load_config with libyaml (when installed), then with PyYAML's pure-Python parser."""
    if request.param == "pure-python":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)


@pytest.mark.usefixtures("either_parser")
@pytest.mark.parametrize("brk", YAML_ONLY_BREAKS)
def test_a_yaml_only_line_break_in_a_comment_does_not_shift_later_lines(brk):
    # YAML 1.1 parsers end a line at U+0085, U+2028 and U+2029; editors and GitHub do not.
    text = f"version: 1\n# tuned on 2025-01-10{brk}\nrules:\n  - metric: map50\n    min: 2\n"
    [line] = problems(text)
    assert line.startswith("gate.yml:5:10: min must be between 0 and 1, got 2;")
    config = load_config(text.replace("min: 2", "min: 0.5"), "gate.yml")
    assert config.rules[0].location == Location("gate.yml", 4, 5)
    # After a break in the middle of a line, the column counts from the file's line start.
    evals = f"version: 1 # v{brk}\nevals: [{{id: a, name: x}}]\nrules: ['map50 >= 0.5']\n"
    (spec,) = load_config(evals, "gate.yml").evals
    assert spec.location == Location("gate.yml", 2, 9)


@pytest.mark.usefixtures("either_parser")
@pytest.mark.parametrize("brk", YAML_ONLY_BREAKS)
def test_yaml_errors_after_a_yaml_only_line_break_are_on_the_files_line(brk):
    [line] = problems(f"version: 1\n# note{brk}\nrules: [map50 >= 0.5\n")
    assert line.startswith("gate.yml:4:1: invalid YAML: ")
    assert "(while parsing a flow sequence at line 3, column 8)" in line
    [line] = problems(f"version: 1\n# note{brk}\nrules: [\x07]\n")
    assert line.startswith("gate.yml:3:9: invalid YAML: ")


def test_absurd_nesting_is_a_problem_not_a_crash():
    [line] = problems("version: 1\nrules: " + "[" * 20_000)
    assert "invalid YAML" in line


# --------------------------------------------------------------------------- plain data


def test_config_from_data_gives_the_same_config():
    data = yaml.safe_load(EXAMPLE)
    config = config_from_data(data, "request")
    assert config == GateConfig(
        version=1,
        rules=EXPECTED.rules,
        workspace=EXPECTED.workspace,
        evals=EXPECTED.evals,
        source="request",
    )
    assert config.rules[0].location == Location("request")
    assert config_from_data(json.loads(json.dumps(data))) == GateConfig(
        version=1,
        rules=EXPECTED.rules,
        workspace=EXPECTED.workspace,
        evals=EXPECTED.evals,
        source="<request>",
    )


def test_config_from_data_locates_problems_by_path():
    data = {
        "version": 1,
        "evals": [{"id": "a"}, {"id": "a", "name": 1.5}],
        "rules": [
            "map50 >= 0.5",
            {"metric": "map50", "min": 70, "classes": ["car", "car"]},
            {"metric": "miou", "mx": 0.2, "max": math.nan},
            {"metric": "map75", "min": True, "split": ["valid", "tset"]},
        ],
        "colour": "red",
    }
    assert data_problems(data) == [
        (
            "<request>: colour: unknown key 'colour' in the config: expected one of "
            "version, workspace, evals, require_same_version, trend, rules"
        ),
        "<request>: evals[1].name: name must be a non-empty string, got 1.5 (a number)",
        (
            "<request>: rules[1].min: min must be between 0 and 1, got 70; metric values are "
            "fractions: did you mean 0.7?"
        ),
        (
            "<request>: rules[1].classes[1]: class 'car' is listed twice "
            "(first at rules[1].classes[0])"
        ),
        "<request>: rules[2].mx: unknown key 'mx' in a rule, did you mean 'max'?",
        "<request>: rules[2].max: max must be a finite number, got nan (a number)",
        "<request>: rules[3].min: min must be a number between 0 and 1, got true (a boolean)",
        (
            "<request>: rules[3].split[1]: split must be one of test, valid, train, got 'tset'; "
            "did you mean 'test'?"
        ),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            None,
            "<request>: the config is empty: it needs at least `version: 1` and a list of `rules:`",
        ),
        ([], "<request>: the config must be a mapping with `version: 1` and `rules:`, got a list"),
        (
            "version: 1",
            (
                "<request>: the config must be a mapping with `version: 1` and `rules:`, "
                "got 'version: 1' (a string)"
            ),
        ),
        (
            {"version": 1, "rules": [], 3: "x"},
            "<request>: 3: keys must be plain names, got 3 (a number)",
        ),
        (
            {"version": 1, "rules": [{"metric": "map50", "min": {1}}]},
            "<request>: rules[0].min: min must be a number between 0 and 1, got a set",
        ),
    ],
)
def test_config_from_data_rejects_odd_shapes(data, expected):
    assert data_problems(data)[0] == expected


# Cases whose wording depends on the YAML text (quote hints, `.nan`, "first at line N").
YAML_WORDED = {
    "duplicate-key",
    "split-list",
    "class-names",
    "nan",
    "inf",
    "quoted-threshold",
    "yaml11-exponent",
    "empty-threshold",
    "custom-tag",
}


@pytest.mark.parametrize(
    ("rules", "expected"), [case for case in RULE_CASES if case.id not in YAML_WORDED]
)
def test_rule_problems_from_data_match_yaml(rules, expected):
    """The shared validator: each YAML rule case, as data, gives the same messages."""
    got = data_problems({"version": 1, "rules": yaml.safe_load(rules)})
    assert all(line.startswith("<request>: rules[0]") for line in got)
    messages = [line.split(": ", 2)[2] for line in got]
    assert sorted(messages) == sorted(line.split(": ", 1)[1] for line in expected)


# --------------------------------------------------------------------------- hostile YAML


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ("!!bool maybe", "got 'maybe' (a YAML bool)"),  # KeyError inside PyYAML
        ("!!int +", "got '+' (a YAML int)"),  # IndexError
        ('!!float ""', "got '' (a YAML float)"),  # IndexError
        ("!!int 0x", "got '0x' (a YAML int)"),  # ValueError
        ("1" * 5000, "got an integer of more than 100 digits"),  # int's 4,300-digit limit
        ("0x" + "f" * 5000, "got an integer of more than 100 digits"),  # reads, cannot print
        ("1:" * 3000 + "0", "got an integer of more than 100 digits"),  # sexagesimal
    ],
)
def test_tagged_and_huge_scalars_are_problems_not_crashes(value, described):
    lines = problems(f"version: {value}\nrules: [{{metric: map50, min: {value}}}]\n")
    assert lines == [
        f"gate.yml:1:10: version must be the integer 1, {described}",
        f"gate.yml:2:30: min must be a number between 0 and 1, {described}",
    ]


def test_problems_are_capped_and_counted_and_suggestions_kept():
    rules = "".join(f"  - {{metric: map5{i}x, min: 0.5, bogus: 1}}\n" for i in range(100))
    with pytest.raises(ConfigError) as info:
        load_config("version: 1\nrules:\n" + rules, "gate.yml")
    error = info.value
    assert error.total == 200
    assert len(error.problems) == MAX_PROBLEMS
    lines = error.lines()
    assert lines[0] == "gate.yml:3:14: unknown metric 'map50x', did you mean 'map50'?"
    assert lines[1].startswith("gate.yml:3:32: unknown key 'bogus' in a rule: expected one of")
    assert lines[-1] == "... and 150 more problems"
    assert str(error).endswith("(and 199 more problems)")


def test_an_alias_of_a_value_that_failed_to_construct_is_the_same_problem_again():
    lines = problems("version: &v !!bool maybe\nrules: [{metric: map50, min: *v}]\n")
    assert lines == [
        "gate.yml:1:10: version must be the integer 1, got 'maybe' (a YAML bool)",
        "gate.yml:1:10: min must be a number between 0 and 1, got 'maybe' (a YAML bool)",
    ]


def test_aliases_are_budgeted_not_expanded_without_bound():
    names = ", ".join(f"c{i}" for i in range(2000))
    text = (
        f"version: 1\nrules:\n  - &r {{metric: iou, classes: [{names}], min: 0.5}}\n"
        + "  - *r\n" * 200
    )
    [line] = problems(text)
    assert line.startswith("gate.yml:")
    assert "the config expands to more than 100,000 values to check" in line
    # Used a few times, the same alias is fine.
    config = load_config(text.replace("  - *r\n" * 200, "  - *r\n" * 3))
    assert len(config.rules) == 4


def test_a_problem_is_one_short_line_whatever_the_scalar():
    block = "version: 1\nrules:\n  - metric: map50\n    min: !!float |\n      1.5\n"
    [line] = problems(block)
    assert line == "gate.yml:4:10: min must be between 0 and 1, got '1.5\\n'"
    [line] = problems("version: 1\nrules:\n  - metric: " + "m" * 1_000_000 + "\n    min: 0.5\n")
    assert line.startswith("gate.yml:3:13: unknown metric 'mmmm")
    assert len(line) < 600
    assert line.endswith("…")
