"""gate.config.from_base: with config-from: base, everything that decides the verdict comes from
the base commit's config; the checkout's says only what to gate."""

from __future__ import annotations

import dataclasses

import pytest

from gate.config.fields import EVAL, RULE, TOP, Origin
from gate.config.from_base import (
    EVAL_FROM_BASE,
    TOP_FROM_BASE,
    SettingChange,
    gated_config,
    setting_changes,
)
from gate.config.loader import load_config
from gate.core.model import BASE, EvalSpec, GateConfig, Location

BASE_YML = """\
version: 1
workspace: ws
require_same_version: true
trend: 5
evals:
  - name: detector
    id: cand-1
    baseline: auto
  - name: segmenter
    model: seg
    baseline: shipped-seg
rules:
  - metric: map50
    max_drop: 0.02
"""

LOOSENED = """\
version: 1
workspace: other-ws
trend: 0
evals:
  - name: detector
    id: cand-2
    baseline: weak-old-eval
  - name: segmenter
    model: seg-v2
  - name: newcomer
    id: new-1
    baseline: weak-old-eval
rules:
  - metric: map50
    max_drop: 0.5
"""


def configs(base: str = BASE_YML, head: str = LOOSENED) -> tuple[GateConfig, GateConfig]:
    return load_config(base, "<base>:gate.yml"), load_config(head, "/w/gate.yml")


def test_every_top_level_and_eval_field_says_where_it_comes_from():
    for section in (TOP, EVAL):
        unsaid = [f.name for f in section.fields if f.origin is None]
        assert unsaid == [], f"say where {unsaid} come from with config-from: base"
    assert all(f.origin is None for f in RULE.fields)  # the rules come from the base whole
    assert [f.name for f in TOP_FROM_BASE] == ["require_same_version", "rules"]
    assert [f.name for f in EVAL_FROM_BASE] == ["baseline"]


def test_every_setting_of_the_config_is_a_field_of_the_tables():
    # A new GateConfig or EvalSpec attribute is a new key: its field must say where it comes from.
    config_attrs = {f.name for f in dataclasses.fields(GateConfig)} - {"source", "locations"}
    assert config_attrs == set(TOP.keys)
    eval_attrs = {f.name for f in dataclasses.fields(EvalSpec)} - {"location", "locations", "by"}
    assert eval_attrs == set(EVAL.keys) - {"model", "version"}  # they are `id` with its `by`


def test_the_checkout_says_what_to_gate_and_the_base_how_to_judge_it():
    base, head = configs()
    gated = gated_config(base, head)
    # What to gate, and what only decorates the report: the checkout's.
    assert gated.workspace == "other-ws"
    assert gated.trend == 0
    assert [(e.label, e.id) for e in gated.evals] == [
        ("detector", "cand-2"),
        ("segmenter", "seg-v2"),
        ("newcomer", "new-1"),
    ]
    # What decides the verdict: the base's.
    assert gated.rules == base.rules
    assert gated.require_same_version is True
    detector, segmenter, newcomer = gated.evals
    assert detector.baseline == "auto"  # not the pull request's weak-old-eval
    assert segmenter.baseline == "shipped-seg"  # though the pull request dropped it
    # An eval the base does not have: no baseline (`base` finds none, and says why).
    assert newcomer.baseline == BASE


def test_an_eval_the_base_does_not_have_and_without_a_baseline_keeps_none():
    base, head = configs(head=LOOSENED.replace("    baseline: weak-old-eval\nrules", "rules"))
    assert gated_config(base, head).evals[2].baseline is None


def test_each_changed_verdict_setting_is_listed_where_the_checkout_writes_it():
    base, head = configs()
    assert setting_changes(base, head) == (
        SettingChange("require_same_version", True, False),
        SettingChange("baseline", "auto", "weak-old-eval", eval_label="detector"),
        SettingChange("baseline", "shipped-seg", None, eval_label="segmenter"),
        SettingChange("baseline", None, "weak-old-eval", eval_label="newcomer"),
    )
    where = [str(c.location) for c in setting_changes(base, head)]
    assert where == [
        "<base>:gate.yml:3:1",  # the checkout leaves it out: where the base sets it
        "/w/gate.yml:7:5",  # the checkout's `baseline:` key
        "/w/gate.yml:8:5",  # the checkout's item, which leaves its baseline out
        "/w/gate.yml:12:5",
    ]
    described = [(c.describe(c.before), c.describe(c.after)) for c in setting_changes(base, head)]
    assert described[:2] == [
        ("require_same_version: true", "require_same_version: false"),
        ("baseline of detector: auto", "baseline of detector: weak-old-eval"),
    ]
    assert described[2][1] == "baseline of segmenter: none"


def test_the_same_settings_written_otherwise_are_no_change():
    head = BASE_YML.replace("require_same_version: true\n", "").replace(
        "version: 1\n", "version: 1\nrequire_same_version: yes\n", 1
    )
    head = head.replace("  - name: detector\n    id: cand-1", "  - id: cand-9\n    name: detector")
    base, checkout = configs(head=head)
    assert setting_changes(base, checkout) == ()
    assert gated_config(base, checkout).evals[0] == dataclasses.replace(base.evals[0], id="cand-9")


@pytest.mark.parametrize("origin", list(Origin))
def test_origin_reads_as_a_place(origin):
    assert origin.value.startswith("the ") and origin.value.endswith("config")


def test_a_setting_change_without_a_location_is_still_described():
    change = SettingChange("require_same_version", False, True, Location("x"))
    assert change.describe(change.after) == "require_same_version: true"


# --- the same merge on the documents as written (what the Action sends to a service) ------------

BASE_TEXT = """\
version: 1
workspace: ws
require_same_version: true
evals:
  - id: e1
    name: detector
    baseline: champion
  - model: m-seg
    baseline: auto
rules:
  - map50 >= 0.8
  - metric: map50
    classes: "*"
    min: 0.7
"""
CHECKOUT_TEXT = """\
version: 1
workspace: ws2
evals:
  - id: e9
    name: detector
    baseline: e0
  - model: m-seg
  - new-eval
  - id: e5
    name: fresh
    baseline: e4
rules:
  - map50 >= 0.1
"""


def _plain(config: GateConfig) -> tuple[object, ...]:
    evals = tuple((s.id, s.name, s.by, s.baseline) for s in config.evals)
    rules = tuple(
        rule.describe() if hasattr(rule, "describe") else repr(rule) for rule in config.rules
    )
    return config.workspace, config.require_same_version, evals, rules


def test_gated_document_is_gated_config_on_the_documents_as_written():
    import yaml  # noqa: PLC0415

    from gate.config.from_base import gated_document  # noqa: PLC0415
    from gate.config.loader import config_from_data  # noqa: PLC0415

    base, checkout = load_config(BASE_TEXT), load_config(CHECKOUT_TEXT)
    document = gated_document(yaml.safe_load(BASE_TEXT), yaml.safe_load(CHECKOUT_TEXT))
    sent = config_from_data(document)
    expected = gated_config(base, checkout)
    # An eval the base does not name: gated_config marks it `base` (for the report to say why
    # there is none); a document sent on gets no baseline.
    expected = dataclasses.replace(
        expected,
        evals=tuple(
            dataclasses.replace(s, baseline=None) if s.baseline == BASE else s
            for s in expected.evals
        ),
    )
    assert _plain(sent) == _plain(expected)
    assert sent.workspace == "ws2"  # what to gate: the checkout's
    assert [s.baseline for s in sent.evals] == ["champion", "auto", None, None]
    assert sent.require_same_version is True
