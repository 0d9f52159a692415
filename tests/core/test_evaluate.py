"""Rule semantics at their boundaries: bounds, tolerance, baselines, missing and bad data."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gate.core.errors import ConfigError
from gate.core.evaluate import EvalInput, evaluate
from gate.core.model import (
    ALL,
    EvalSpec,
    GateConfig,
    IfMissing,
    Location,
    Rule,
    Severity,
    Threshold,
    ThresholdKind,
)
from gate.core.outcome import Status, Verdict
from gate.core.results import MalformedResults, parse_map_results

MIN, MAX = ThresholdKind.MIN, ThresholdKind.MAX
DROP, DROP_PCT = ThresholdKind.MAX_DROP, ThresholdKind.MAX_DROP_PCT


def det(test: dict[str, Any] | None = None, **splits: Any) -> dict[str, Any]:
    """A detection document; `test` first, then the other splits in order."""
    doc: dict[str, Any] = {"taskType": "object-detection-like", "splits": {}}
    if test is not None:
        doc["splits"]["test"] = test
    doc["splits"].update(splits)
    return doc


def det_split(map50: Any = 0.9, map50_95: Any = 0.7, map75: Any = 0.8, **extra: Any) -> dict:
    return {"map50": map50, "map50_95": map50_95, "map75": map75, **extra}


def seg(test: dict[str, Any]) -> dict[str, Any]:
    return {"taskType": "semantic-segmentation", "splits": {"test": test}}


def rule(metric: str, kind: ThresholdKind = MIN, value: float = 0.5, **kw: Any) -> Rule:
    return Rule(metric=metric, thresholds=(Threshold(kind, value),), **kw)


def run(rules: list[Rule], doc: dict, base: dict | None = None, name: str | None = None):
    config = GateConfig(version=1, rules=tuple(rules))
    spec = EvalSpec("cand", name=name, baseline="base" if base else None)
    inputs = [
        EvalInput(
            spec=spec,
            results=parse_map_results(doc, "cand"),
            baseline=parse_map_results(base, "base") if base else None,
            baseline_id="base" if base else None,
        )
    ]
    return evaluate(config, inputs)


def statuses(outcome) -> list[Status]:
    return [c.status for c in outcome.checks]


# --- min / max: inclusive, with a 1e-9 tolerance -------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (0.7, Status.PASS),
        (0.7 - 1e-10, Status.PASS),
        (0.7 - 1e-8, Status.FAIL),
        (0.71, Status.PASS),
    ],
)
def test_min_is_inclusive_with_tolerance(actual, expected):
    outcome = run([rule("map50_95", MIN, 0.7)], det(det_split(map50_95=actual)))
    assert statuses(outcome) == [expected]


@pytest.mark.parametrize(
    ("actual", "expected"),
    [(0.99, Status.PASS), (0.99 + 1e-10, Status.PASS), (0.99 + 1e-8, Status.FAIL)],
)
def test_max_is_inclusive_with_tolerance(actual, expected):
    outcome = run([rule("map50", MAX, 0.99)], det(det_split(map50=actual)))
    assert statuses(outcome) == [expected]


def test_min_and_max_at_the_ends_of_the_range():
    doc = det(det_split(map50=0.0, map75=1.0))
    outcome = run([rule("map50", MIN, 0.0), rule("map75", MAX, 1.0)], doc)
    assert statuses(outcome) == [Status.PASS, Status.PASS]


# --- regressions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cand", "base", "drop", "expected"),
    [
        (0.78, 0.80, 0.02, Status.PASS),  # exactly the allowed drop
        (0.78 - 1e-8, 0.80, 0.02, Status.FAIL),
        (0.85, 0.80, 0.0, Status.PASS),  # an improvement
        (0.80, 0.80, 0.0, Status.PASS),  # no drop allowed, none happened
        (0.0, 0.0, 0.0, Status.PASS),  # baseline zero
    ],
)
def test_max_drop(cand, base, drop, expected):
    outcome = run(
        [rule("map50_95", DROP, drop)], det(det_split(map50_95=cand)), det(det_split(map50_95=base))
    )
    check = next(outcome.checks)
    assert check.status is expected
    assert check.baseline == base
    assert check.limit == pytest.approx(base - drop)


@pytest.mark.parametrize(
    ("cand", "base", "pct", "expected"),
    [
        (0.776, 0.80, 3, Status.PASS),  # 0.80 * 0.97 = 0.776 exactly
        (0.7759, 0.80, 3, Status.FAIL),
        (0.0, 0.0, 3, Status.PASS),  # baseline zero: nothing to lose
        (0.5, 1.0, 50, Status.PASS),
        (0.0, 0.5, 100, Status.PASS),
    ],
)
def test_max_drop_pct(cand, base, pct, expected):
    outcome = run(
        [rule("miou", DROP_PCT, pct)],
        seg({"miou": cand, "precision": 0.9, "recall": 0.9, "f1": 0.9, "perClass": []}),
        seg({"miou": base, "precision": 0.9, "recall": 0.9, "f1": 0.9, "perClass": []}),
    )
    assert statuses(outcome) == [expected]


def test_regression_without_baseline_is_a_config_error_with_location():
    r = Rule("map50_95", (Threshold(DROP, 0.02),), location=Location("eval-gate.yml", 7, 5))
    with pytest.raises(ConfigError) as info:
        run([r], det(det_split()))
    assert str(info.value.problems[0]).startswith("eval-gate.yml:7:5: rule on 'map50_95'")
    assert "baseline" in str(info.value)


@pytest.mark.parametrize(
    ("if_missing", "expected"), [(IfMissing.WARN, Status.WARN), (IfMissing.SKIP, Status.SKIP)]
)
def test_regression_without_baseline_follows_if_missing(if_missing, expected):
    outcome = run([rule("map50_95", DROP, 0.02, if_missing=if_missing)], det(det_split()))
    assert statuses(outcome) == [expected]


def test_per_class_regression_compares_the_same_class_and_catches_lost_classes():
    cand = det(det_split(perClass={"a": det_split(map50=0.9), "b": det_split(map50=0.5)}))
    base = det(
        det_split(
            perClass={
                "b": det_split(map50=0.9),
                "a": det_split(map50=0.5),
                "gone": det_split(map50=0.9),
            }
        )
    )
    outcome = run([rule("map50", DROP, 0.05, classes=ALL)], cand, base)
    by_class = {c.class_name: c for c in outcome.checks}
    assert by_class["a"].status is Status.PASS  # 0.9 vs 0.5
    assert by_class["a"].baseline == 0.5
    assert by_class["b"].status is Status.FAIL  # 0.5 vs 0.9
    assert by_class["gone"].status is Status.FAIL  # present in the baseline, missing now
    assert "absent" in by_class["gone"].message


# --- missing, null, malformed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("if_missing", "expected", "verdict"),
    [
        (IfMissing.FAIL, Status.FAIL, Verdict.FAIL),
        (IfMissing.WARN, Status.WARN, Verdict.WARN),
        (IfMissing.SKIP, Status.SKIP, Verdict.PASS),
    ],
)
def test_null_object_size_bucket_follows_if_missing(if_missing, expected, verdict):
    doc = det(det_split(byObjectSize={"small": det_split(), "medium": det_split(), "large": None}))
    outcome = run([rule("map50", object_size="large", if_missing=if_missing)], doc)
    assert statuses(outcome) == [expected]
    assert outcome.verdict is verdict
    assert "no large objects" in next(outcome.checks).message


@pytest.mark.parametrize(
    "bad",
    [
        *(math.nan, math.inf, "0.9", True, 1.5, -0.1, [0.9], {"v": 1}, 2),
        pytest.param(10**400, id="int-past-float"),
        pytest.param(-(10**5000), id="int-past-repr"),
    ],
)
def test_malformed_values_are_errors_never_passes(bad):
    outcome = run([rule("map50", MIN, 0.0)], det(det_split(map50=bad)))
    check = next(outcome.checks)
    assert check.status is Status.ERROR
    assert check.actual is None
    assert outcome.verdict is Verdict.FAIL


def test_malformed_data_fails_even_a_warning_rule():
    outcome = run(
        [rule("map50", MIN, 0.0, severity=Severity.WARNING)], det(det_split(map50=math.nan))
    )
    assert outcome.verdict is Verdict.FAIL


def test_missing_value_on_warning_rule_warns():
    outcome = run([rule("map50", severity=Severity.WARNING)], det(det_split(map50=None)))
    assert statuses(outcome) == [Status.WARN]


@pytest.mark.parametrize("missing", ["absent_split", "null_split", "absent_metric"])
def test_missing_values_fail_by_default(missing):
    if missing == "absent_split":
        doc = det(valid=det_split())
    elif missing == "null_split":
        doc = {"taskType": "object-detection-like", "splits": {"test": None}}
    else:
        split = det_split()
        del split["map50"]
        doc = det(split)
    outcome = run([rule("map50")], doc)
    assert statuses(outcome) == [Status.FAIL]
    assert next(outcome.checks).message.startswith("missing value")


def test_malformed_baseline_value_is_an_error():
    outcome = run([rule("map50", DROP, 0.1)], det(det_split()), det(det_split(map50="n/a")))
    assert statuses(outcome) == [Status.ERROR]


def test_all_splits_with_no_split_present_is_missing():
    outcome = run([rule("map50", splits=ALL)], det())
    assert statuses(outcome) == [Status.FAIL]


def test_all_splits_checks_each_present_split():
    outcome = run(
        [rule("map50", splits=ALL)], det(det_split(), valid=det_split(map50=0.1), train=None)
    )
    assert [(c.split, c.status) for c in outcome.checks] == [
        ("test", Status.PASS),
        ("valid", Status.FAIL),
    ]


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"splits": {}},
        {"taskType": "classification", "splits": {}},
        {"taskType": "object-detection-like", "splits": []},
    ],
)
def test_unreadable_documents_are_rejected(doc):
    with pytest.raises(MalformedResults):
        parse_map_results(doc, "x")


# --- classes ---------------------------------------------------------------------------------

ODD_NAMES = ["a|b", "<script>", "`tick`", "@team", "ünïcode 🚗", "new\nline", "", " "]


def test_detection_per_class_with_odd_names():
    classes = {name: det_split(map50=0.4 + i / 100) for i, name in enumerate(ODD_NAMES)}
    outcome = run([rule("map50", MIN, 0.42, classes=ALL)], det(det_split(perClass=classes)))
    got = {c.class_name: c.status for c in outcome.checks}
    assert got == {
        name: Status.PASS if 0.4 + i / 100 >= 0.42 else Status.FAIL
        for i, name in enumerate(ODD_NAMES)
    }


def test_segmentation_per_class_list_and_listed_classes():
    test = {
        "miou": 0.8,
        "precision": 0.9,
        "recall": 0.8,
        "f1": 0.85,
        "perClass": [
            {
                "classID": 1,
                "className": "road",
                "iou": 0.9,
                "precision": 0.9,
                "recall": 0.9,
                "f1": 0.9,
                "optimalThreshold": 0.0,
            },
            {
                "classID": 2,
                "className": "curb",
                "iou": None,
                "precision": 0.9,
                "recall": 0.9,
                "f1": 0.9,
                "optimalThreshold": 0.3,
            },
        ],
    }
    outcome = run([rule("iou", classes=("road", "curb", "sky"))], seg(test))
    assert [(c.class_name, c.status) for c in outcome.checks] == [
        ("road", Status.PASS),
        ("curb", Status.FAIL),  # null: no ground truth
        ("sky", Status.FAIL),  # not in the results
    ]


def test_segmentation_duplicate_and_nameless_classes_are_errors():
    entry = {"iou": 0.9, "precision": 0.9, "recall": 0.9, "f1": 0.9}
    test = {
        "miou": 0.8,
        "precision": 0.9,
        "recall": 0.8,
        "f1": 0.85,
        "perClass": [{"className": "a", **entry}, {"className": "a", **entry}, entry],
    }
    outcome = run([rule("iou", classes=ALL)], seg(test))
    assert statuses(outcome) == [Status.ERROR, Status.ERROR]


def test_every_class_with_no_class_listed_is_missing():
    outcome = run([rule("map50", classes=ALL)], det(det_split(perClass={})))
    assert statuses(outcome) == [Status.FAIL]


def test_class_by_size():
    cls = det_split(byObjectSize={"small": det_split(map50=0.3), "medium": None, "large": None})
    outcome = run(
        [rule("map50", classes=ALL, object_size="small")], det(det_split(perClass={"car": cls}))
    )
    check = next(outcome.checks)
    assert (check.class_name, check.object_size, check.status) == ("car", "small", Status.FAIL)


# --- which evals a rule applies to --------------------------------------------------------------


def test_rule_for_another_task_type_is_an_error_when_it_applies_to_nothing():
    r = Rule("miou", (Threshold(MIN, 0.5),), location=Location("c.yml", 3, 5))
    with pytest.raises(ConfigError, match="applies to no evaluation"):
        run([r, rule("map50")], det(det_split()))


def test_rule_restricted_to_unknown_eval_is_an_error():
    with pytest.raises(ConfigError, match="'nope'"):
        run([rule("map50", evals=("nope",))], det(det_split()))


def test_rule_restricted_by_name_applies():
    outcome = run([rule("map50", evals=("rims",))], det(det_split()), name="rims")
    assert statuses(outcome) == [Status.PASS]


# --- verdict ---------------------------------------------------------------------------------


def test_verdict_warning_rule_failing_gives_warn():
    outcome = run(
        [rule("map50", MIN, 0.1), rule("map75", MIN, 0.99, severity=Severity.WARNING)],
        det(det_split()),
    )
    assert statuses(outcome) == [Status.PASS, Status.WARN]
    assert outcome.verdict is Verdict.WARN


def test_verdict_fail_beats_warn():
    outcome = run(
        [rule("map50", MIN, 0.99), rule("map75", MIN, 0.99, severity=Severity.WARNING)],
        det(det_split()),
    )
    assert outcome.verdict is Verdict.FAIL


def test_several_thresholds_in_one_rule_give_one_check_each():
    r = Rule("map50", (Threshold(MIN, 0.5), Threshold(MAX, 0.85)))
    outcome = run([r], det(det_split(map50=0.9)))
    assert [(c.kind, c.status) for c in outcome.checks] == [(MIN, Status.PASS), (MAX, Status.FAIL)]
