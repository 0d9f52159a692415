"""Machine-readable outputs (gate.report.formats): the JSON document and JUnit XML."""

from __future__ import annotations

import dataclasses
import json
import math
import xml.etree.ElementTree as ET

import pytest
import xmlschema

from gate.core.metrics import TaskType
from gate.core.model import DIFFERENT_VERSION, Provenance, Severity, ThresholdKind
from gate.core.outcome import Check, EvalOutcome, GateOutcome, Status
from gate.report.formats import to_json, to_junit
from gate.report.render import render_report
from tests.paths import DATA

JUNIT_XSD = DATA / "junit" / "junit-10.xsd"

CHECK_KEYS = {
    "support",
    "interval",
    "eval",
    "eval_label",
    "split",
    "class",
    "object_size",
    "metric",
    "kind",
    "threshold",
    "limit",
    "actual",
    "baseline",
    "delta",
    "status",
    "severity",
    "message",
    "rule",
    "rule_index",
}


def make_check(
    status: Status = Status.PASS,
    *,
    eval_id: str = "e1",
    label: str = "Eval one",
    metric: str = "map50_95",
    split: str = "test",
    class_name: str | None = None,
    object_size: str | None = None,
    kind: ThresholdKind = ThresholdKind.MIN,
    threshold: float = 0.7,
    limit: float | None = 0.7,
    actual: float | None = 0.8,
    baseline: float | None = None,
    message: str = "",
) -> Check:
    return Check(
        eval_id=eval_id,
        eval_label=label,
        rule_index=0,
        rule=f"{metric} {kind} {threshold:g} [{split}]",
        metric=metric,
        split=split,
        class_name=class_name,
        object_size=object_size,
        kind=kind,
        threshold=threshold,
        limit=limit,
        actual=actual,
        baseline=baseline,
        status=status,
        severity=Severity.WARNING if status is Status.WARN else Severity.ERROR,
        message=message or f"{status} message",
    )


def outcome() -> GateOutcome:
    e1 = EvalOutcome(
        "e1",
        'Eval <one> & "co"',
        TaskType.DETECTION,
        (
            make_check(Status.PASS, actual=0.81),
            make_check(Status.FAIL, object_size="small", actual=0.6, message="below 0.7"),
            make_check(
                Status.WARN,
                kind=ThresholdKind.MAX_DROP_PCT,
                threshold=3,
                limit=0.776,
                actual=0.75,
                baseline=0.8,
                message="dropped 6.25%",
            ),
            make_check(Status.ERROR, class_name="car", actual=None, message="value is 'NaN'"),
            make_check(Status.SKIP, split="valid", actual=None, message="no valid split"),
        ),
        baseline_id="base-1",
        url="https://app.roboflow.com/ws/evals/e1",
    )
    e2 = EvalOutcome(
        "e2",
        "Seg",
        TaskType.SEGMENTATION,
        (make_check(Status.PASS, eval_id="e2", label="Seg", metric="miou", actual=0.9),),
        url="https://api.roboflow.com/ws/evals/e2?api_key=SECRET",
    )
    return GateOutcome((e1, e2))


# --- JSON --------------------------------------------------------------------------------------


def test_a_baseline_on_another_dataset_version_is_flagged_next_to_every_delta():
    base = outcome()
    provenance = Provenance(
        model_id="m2",
        version_id="7",
        created_at="2026-01-02T00:00:00+00:00",
        baseline_id="base-1",
        baseline_chosen="auto: the newest earlier done evaluation in project p",
        baseline_same_version=False,
    )
    e1 = dataclasses.replace(base.evals[0], provenance=provenance)
    flagged = GateOutcome((e1, base.evals[1]))
    doc = json.loads(to_json(flagged))
    assert doc["evals"][0]["candidate"] == {
        "id": "e1",
        "model": "m2",
        "dataset_version": "7",
        "created_at": "2026-01-02T00:00:00+00:00",
    }
    assert doc["evals"][0]["baseline"] == {
        "id": "base-1",
        "chosen": "auto: the newest earlier done evaluation in project p",
        "same_dataset_version": False,
        "warning": DIFFERENT_VERSION,
    }
    with_delta = [c for c in doc["checks"] if c["delta"] is not None]
    assert with_delta
    assert all(c["delta_note"] == DIFFERENT_VERSION for c in with_delta)
    assert all("delta_note" not in c for c in doc["checks"] if c["delta"] is None)
    report = render_report(flagged, max_chars=None)
    assert "model `m2` · dataset version `7`" in report
    assert f"⚠️ **{DIFFERENT_VERSION}**" in report
    minus = "\u2212"  # the report's minus sign
    rows = [line for line in report.splitlines() if f"| {minus}0.0500" in line]
    assert rows and all(f"{minus}0.0500 ⚠️ {DIFFERENT_VERSION}" in row for row in rows)
    # The summary line of a regression rule gives its drops: the warning follows them too.
    story = [line for line in report.splitlines() if line.startswith("- ") and "drop" in line]
    assert story and all(line.endswith(f"⚠️ {DIFFERENT_VERSION}") for line in story)


def test_json_document():
    text = to_json(outcome())
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert doc["schema_version"] == 1
    assert doc["verdict"] == "fail"
    assert doc["counts"] == {"total": 6, "pass": 2, "fail": 1, "warn": 1, "skip": 1, "error": 1}
    assert list(doc["counts"]) == ["total", "pass", "fail", "warn", "skip", "error"]
    assert doc["evals"] == [
        {
            "id": "e1",
            "label": 'Eval <one> & "co"',
            "task_type": "object-detection-like",
            "baseline_id": "base-1",
            "url": "https://app.roboflow.com/ws/evals/e1",
            "verdict": "fail",
            "candidate": {"id": "e1", "model": None, "dataset_version": None, "created_at": None},
            "baseline": {
                "id": "base-1",
                "chosen": None,
                "same_dataset_version": None,
                "warning": None,
            },
            "trend": None,
        },
        {
            "id": "e2",
            "label": "Seg",
            "task_type": "semantic-segmentation",
            "baseline_id": None,
            "url": None,  # it carried an API key: never written out
            "verdict": "pass",
            "candidate": {"id": "e2", "model": None, "dataset_version": None, "created_at": None},
            "baseline": None,
            "trend": None,
        },
    ]
    assert "SECRET" not in text
    assert len(doc["checks"]) == 6
    assert all(set(c) == CHECK_KEYS for c in doc["checks"])
    warn = doc["checks"][2]
    assert warn["kind"] == "max_drop_pct"
    assert warn["status"] == "warn"
    assert warn["severity"] == "warning"
    assert warn["threshold"] == 3
    assert warn["limit"] == 0.776
    assert warn["baseline"] == 0.8
    assert warn["delta"] == pytest.approx(-0.05)
    error = doc["checks"][3]
    assert error["class"] == "car"
    assert error["actual"] is None
    assert error["delta"] is None
    assert error["message"] == "value is 'NaN'"
    assert doc["checks"][1]["object_size"] == "small"
    assert doc["checks"][5]["eval"] == "e2"
    assert doc["checks"][5]["eval_label"] == "Seg"
    assert doc["checks"][0]["rule"] == "map50_95 min 0.7 [test]"
    assert [c["rule_index"] for c in doc["checks"]] == [c.rule_index for c in outcome().checks]


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ((Status.PASS, Status.SKIP), "pass"),
        ((Status.PASS, Status.WARN), "warn"),
        ((Status.WARN, Status.ERROR), "fail"),
        ((), "pass"),
    ],
)
def test_json_verdict(statuses, verdict):
    ev = EvalOutcome("e", "e", TaskType.DETECTION, tuple(make_check(s) for s in statuses))
    doc = json.loads(to_json(GateOutcome((ev,))))
    assert doc["verdict"] == verdict
    assert doc["evals"][0]["verdict"] == verdict
    assert doc["counts"]["total"] == len(statuses)


def test_json_never_writes_nan():
    check = make_check(Status.ERROR, actual=math.nan, baseline=math.inf, threshold=0.7)
    text = to_json(GateOutcome((EvalOutcome("e", "e", TaskType.DETECTION, (check,)),)))
    assert "NaN" not in text
    assert "Infinity" not in text
    doc = json.loads(text)
    assert doc["checks"][0]["actual"] is None
    assert doc["checks"][0]["baseline"] is None
    assert doc["checks"][0]["delta"] is None


def test_json_keeps_unicode_class_names():
    check = make_check(class_name="кошка 🐱 | <b>", message="line\nbreak")
    doc = json.loads(to_json(GateOutcome((EvalOutcome("e", "e", TaskType.DETECTION, (check,)),))))
    assert doc["checks"][0]["class"] == "кошка 🐱 | <b>"
    assert doc["checks"][0]["message"] == "line\nbreak"


# --- JUnit -------------------------------------------------------------------------------------


def test_junit_parses_back_with_matching_counts():
    text = to_junit(outcome())
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<testsuites")
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    assert root.attrib == {"name": "eval-gate", "tests": "6", "failures": "1", "errors": "1"}
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ['Eval <one> & "co"', "Seg"]
    assert suites[0].attrib | {"name": ""} == {
        "name": "",
        "tests": "5",
        "failures": "1",
        "errors": "1",
        "skipped": "1",
    }
    assert suites[1].get("tests") == "1"
    assert suites[1].get("failures") == "0"
    # the counts agree with the elements
    cases = root.findall("testsuite/testcase")
    assert len(cases) == int(root.get("tests"))
    assert len(root.findall("testsuite/testcase/failure")) == int(root.get("failures"))
    assert len(root.findall("testsuite/testcase/error")) == int(root.get("errors"))
    skipped = sum(int(suite.get("skipped")) for suite in suites)
    assert len(root.findall("testsuite/testcase/skipped")) == skipped == 1


def test_junit_test_cases():
    root = ET.fromstring(to_junit(outcome()))
    cases = root.findall("testsuite/testcase")
    assert {c.get("classname") for c in cases[:5]} == {'eval-gate.Eval <one> & "co"'}
    assert cases[5].get("classname") == "eval-gate.Seg"
    names = [c.get("name") for c in cases]
    assert names == [
        "map50_95[test] min 0.7",
        "map50_95[test][small] min 0.7",
        "map50_95[test] max_drop_pct 3%",
        "map50_95[test][car] min 0.7",
        "map50_95[valid] min 0.7",
        "miou[test] min 0.7",
    ]
    passed, failed, warned, error, skipped, _ = cases
    assert list(passed) == []
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("type") == "threshold"
    assert failure.get("message") == "below 0.7"
    assert "actual: 0.6" in (failure.text or "")
    assert "limit: 0.7" in (failure.text or "")
    out = warned.find("system-out")
    assert out is not None
    assert out.text == "WARNING: dropped 6.25%"
    assert warned.find("failure") is None
    err = error.find("error")
    assert err is not None
    assert err.get("type") == "malformed-data"
    assert err.get("message") == "value is 'NaN'"
    assert "actual: none" in (err.text or "")
    skip = skipped.find("skipped")
    assert skip is not None
    assert skip.get("message") == "no valid split"


def test_junit_strips_characters_xml_cannot_hold():
    nasty = "bad\x00\x01\x1b[31m\ud800\ufffe name\ttab\nline"
    check = make_check(Status.FAIL, class_name=nasty, message=nasty)
    ev = EvalOutcome("e", nasty, TaskType.DETECTION, (check,))
    text = to_junit(GateOutcome((ev,)))
    root = ET.fromstring(text)  # would raise on an illegal character
    case = root.find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == "map50_95[test][bad[31m name\ttab\nline] min 0.7"
    assert root.find("testsuite").get("name") == "bad[31m name\ttab\nline"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "bad[31m name\ttab\nline"
    text.encode("utf-8")  # no lone surrogate left


def test_junit_empty_outcome():
    root = ET.fromstring(to_junit(GateOutcome(())))
    assert root.attrib == {"name": "eval-gate", "tests": "0", "failures": "0", "errors": "0"}
    assert list(root) == []


# --- JUnit against the schema CI tools validate it with --------------------------------------


@pytest.fixture(scope="module")
def junit_schema():
    """Jenkins xunit's junit-10.xsd rules (see the comment at the top of the file)."""
    return xmlschema.XMLSchema(str(JUNIT_XSD))


def test_the_schema_refuses_what_it_must(junit_schema):
    # The schema is a real check: it rejects a `skipped` count on the root, which this
    # module used to write, and a test case without a name.
    assert not junit_schema.is_valid('<testsuites skipped="0"/>')
    assert not junit_schema.is_valid(
        '<testsuites><testsuite name="s" tests="1" failures="0" '
        'errors="0"><testcase/></testsuite></testsuites>'
    )
    assert junit_schema.is_valid(
        '<testsuites tests="0"><testsuite name="s" tests="0" failures="0" errors="0" '
        'skipped="0"/></testsuites>'
    )


@pytest.mark.parametrize(
    "gate_outcome",
    [
        pytest.param(outcome, id="every-status"),
        pytest.param(lambda: GateOutcome(()), id="empty"),
        pytest.param(
            lambda: GateOutcome(
                (
                    EvalOutcome(
                        "e",
                        "bad\x00\x1b[31m\ud800 name\nline",
                        TaskType.DETECTION,
                        (make_check(Status.FAIL, class_name="\ufffe<&>", message='\x01 "q"'),),
                    ),
                )
            ),
            id="hostile-text",
        ),
    ],
)
def test_junit_is_valid_against_junit_10_xsd(junit_schema, gate_outcome):
    junit_schema.validate(to_junit(gate_outcome()))
