"""What the report and the annotations say about the rules and verdict settings a pull request
changes under config-from: base (gate.action.base_config, pure parts)."""

from __future__ import annotations

from gate.action.base_config import (
    MAX_LISTED_CHANGES,
    ConfigChoice,
    change_notices,
    config_notes,
)
from gate.config.diff import rule_changes
from gate.config.from_base import gated_config, setting_changes
from gate.config.loader import load_config

BASE = """\
version: 1
require_same_version: true
evals:
  - {name: detector, id: a, baseline: good}
rules:
  - "map50 >= 0.8"
"""
HEAD = """\
version: 1
evals:
  - name: detector
    id: b
    baseline: weak
rules:
  - "map50 >= 0.3"
"""


def choice(base: str = BASE, head: str = HEAD, *, own: bool = True) -> ConfigChoice:
    theirs = load_config(base, "<base>:.github/eval-gate.yml")
    ours = load_config(head, "/runner/work/repo/.github/eval-gate.yml")
    return ConfigChoice(
        gated_config(theirs, ours),
        "base",
        base_sha="f" * 40,
        path=".github/eval-gate.yml",
        changes=rule_changes(theirs, ours),
        from_pull_request=own,
        checkout_rules=ours.rules,
        settings=setting_changes(theirs, ours),
    )


def test_rules_and_verdict_settings_are_listed_together():
    notes = config_notes(choice())
    assert (
        "This pull request changes 1 rule and 2 verdict settings; the changes take effect "
        "after merge:"
    ) in notes
    assert "- changed: `map50 >= 0.8 [test]` → `map50 >= 0.3 [test]`" in notes
    assert (
        "- changed: `require_same_version: true` → `require_same_version: false` "
        "(`<base>:.github/eval-gate.yml:2:1`)"
    ) in notes  # the pull request leaves it out: where the base sets it
    assert (
        "- changed: `baseline of detector: good` → `baseline of detector: weak` "
        "(`.github/eval-gate.yml:5:5`)"
    ) in notes  # the checkout's file, relative to the repository's root
    assert "/runner/" not in notes


def test_a_workflow_run_s_checkout_differs_but_changes_nothing():
    notes = config_notes(choice(own=False))
    assert (
        "The checked-out config differs from the base's in 1 rule and 2 verdict settings, "
        "not used here:"
    ) in notes


def test_settings_alone_are_counted_as_settings():
    notes = config_notes(choice(head=HEAD.replace("0.3", "0.8")))
    assert "This pull request changes 2 verdict settings; the changes take effect" in notes


def test_the_list_is_capped_with_settings_counted_in_the_rest():
    many = "".join(f'  - "map75 >= 0.{i:02d}"\n' for i in range(MAX_LISTED_CHANGES))
    notes = config_notes(choice(head=HEAD + many))
    assert f"{MAX_LISTED_CHANGES + 1} rules and 2 verdict settings" in notes
    assert notes.count("\n- ") == MAX_LISTED_CHANGES + 1
    assert notes.rstrip().endswith("- … and 3 more")


def test_a_notice_per_change_on_the_checkout_s_line_when_it_has_one():
    notices = change_notices(choice())
    assert [(n.title, n.line) for n in notices] == [
        ("eval-gate: rule changed", 7),
        ("eval-gate: setting changed", None),  # written only in the base's file
        ("eval-gate: setting changed", 5),
    ]
    assert notices[2].message == (
        "verdict setting changed: baseline of detector: good → baseline of detector: weak; it "
        "takes effect after merge (this run is judged by the base branch's value)"
    )
