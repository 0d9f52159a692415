"""gate.config.diff: which rules one config adds, removes or changes against another."""

from __future__ import annotations

from gate.config.diff import rule_changes
from gate.config.loader import load_config

BASE = """\
version: 1
rules:
  - "map50 >= 0.8"
  - metric: map50
    classes: "*"
    min: 0.7
  - "map75 >= 0.5"
"""


def kinds(base: str, head: str) -> list[tuple[str, str | None, str | None]]:
    changes = rule_changes(load_config(base, "base.yml"), load_config(head, "head.yml"))
    return [
        (
            c.kind,
            c.before.describe() if c.before else None,
            c.after.describe() if c.after else None,
        )
        for c in changes.changes
    ]


def test_the_same_rules_moved_and_rewritten_are_no_change():
    head = """\
version: 1
rules:
  - metric: map75
    min: 0.5
  - "map50 >= 0.8"
  - {metric: map50, classes: "*", min: 0.7, split: test}
"""
    assert kinds(BASE, head) == []
    assert not rule_changes(load_config(BASE), load_config(head))


def test_a_lowered_threshold_is_a_change_of_that_rule():
    head = BASE.replace("min: 0.7", "min: 0.3")
    assert kinds(BASE, head) == [
        ("changed", "map50 per class >= 0.7 [test]", "map50 per class >= 0.3 [test]")
    ]
    (change,) = rule_changes(load_config(BASE), load_config(head, "head.yml")).changes
    assert change.after is not None and change.after.location is not None
    assert (change.after.location.source, change.after.location.line) == ("head.yml", 4)


def test_added_removed_and_changed_severity():
    head = """\
version: 1
rules:
  - "map50 >= 0.8"
  - metric: map75
    min: 0.5
    severity: warning
  - "map50_95 >= 0.4"
"""
    assert kinds(BASE, head) == [
        ("changed", "map75 >= 0.5 [test]", "map75 >= 0.5 [test]"),
        ("added", None, "map50_95 >= 0.4 [test]"),
        ("removed", "map50 per class >= 0.7 [test]", None),
    ]


def test_a_rule_over_another_split_is_another_rule():
    head = BASE.replace('"map75 >= 0.5"', "{metric: map75, min: 0.5, split: valid}")
    assert [k for k, _, _ in kinds(BASE, head)] == ["added", "removed"]


def test_duplicates_are_counted():
    head = BASE + '  - "map50 >= 0.8"\n'
    assert kinds(BASE, head) == [("added", None, "map50 >= 0.8 [test]")]
