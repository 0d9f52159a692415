"""The report and the JSON show each per-class check's support and a confidence rule's
interval (and whether it leaves the drop inconclusive)."""

from __future__ import annotations

import json
from dataclasses import replace

from gate.core.model import ThresholdKind
from gate.core.outcome import GateOutcome, Interval, Status
from gate.report.formats import to_json
from gate.report.render import render_report
from tests.report.test_report import MINUS, make_check, make_eval


def interval(judgement: str) -> Interval:
    return Interval(
        confidence=0.95,
        point=-0.031,
        low=-0.052,
        high=0.004 if judgement == "inconclusive" else -0.021,
        images=4812,
        resamples=10_000,
        judgement=judgement,
    )


def drop_check(judgement: str, status: Status) -> object:
    check = make_check(
        status,
        metric="precision",
        kind=ThresholdKind.MAX_DROP,
        threshold=0.02,
        limit=0.81,
        actual=0.799,
        baseline=0.83,
        rule="precision drop <= 0.02 at 95% confidence [test]",
    )
    return replace(check, interval=interval(judgement))


def test_a_per_class_table_has_a_support_column_with_the_counts():
    checks = [
        replace(make_check(Status.FAIL, class_name="bus", actual=0.4, threshold=0.5), support=1234),
        replace(make_check(Status.FAIL, class_name="car", actual=0.3, threshold=0.5), support=7),
    ]
    md = render_report(GateOutcome((make_eval(checks),)))
    header = next(line for line in md.splitlines() if "| Class |" in line)
    assert "Support" in header
    assert any("| 1,234 |" in line for line in md.splitlines())
    assert any("| 7 |" in line for line in md.splitlines())


def test_no_support_column_when_no_check_knows_its_support():
    checks = [make_check(Status.FAIL, class_name="bus", actual=0.4, threshold=0.5)]
    md = render_report(GateOutcome((make_eval(checks),)))
    assert "Support" not in md


def test_a_skipped_rare_class_says_why_with_its_count():
    message = (
        "skipped: class 'bus' has 3 ground-truth objects in split 'test', fewer than min_support 10"
    )
    check = replace(
        make_check(Status.SKIP, class_name="bus", actual=None, message=message), support=3
    )
    md = render_report(GateOutcome((make_eval([check, make_check(Status.PASS)]),)))
    assert "3 ground-truth objects" in md
    assert "min\\_support 10" in md or "min_support 10" in md


def test_an_inconclusive_drop_shows_its_interval_and_says_inconclusive():
    check = drop_check("inconclusive", Status.WARN)
    md = render_report(GateOutcome((make_eval([check], baseline_id="b1"),)))
    assert f"(95%: {MINUS}0.0520 to +0.0040) inconclusive" in md


def test_a_failing_drop_shows_its_interval_without_inconclusive():
    check = drop_check("fail", Status.FAIL)
    md = render_report(GateOutcome((make_eval([check], baseline_id="b1"),)))
    assert f"(95%: {MINUS}0.0520 to {MINUS}0.0210)" in md
    assert "inconclusive" not in md


def test_the_json_carries_support_and_the_interval():
    per_class = replace(make_check(Status.PASS, class_name="bus"), support=42)
    doc = json.loads(
        to_json(GateOutcome((make_eval([per_class, drop_check("inconclusive", Status.WARN)]),)))
    )
    first, second = doc["checks"]
    assert first["support"] == 42
    assert first["interval"] is None
    assert second["support"] is None
    assert second["interval"] == {
        "confidence": 0.95,
        "difference": -0.031,
        "low": -0.052,
        "high": 0.004,
        "paired_images": 4812,
        "resamples": 10_000,
        "judgement": "inconclusive",
    }


def test_a_rule_with_a_rare_class_says_skipped_too_few_instances_and_the_legend_explains():
    failing = replace(
        make_check(Status.FAIL, class_name="car", actual=0.4, threshold=0.5), support=900
    )
    rare = replace(
        make_check(
            Status.SKIP, class_name="bus", actual=0.2, threshold=0.5, message="skipped: few"
        ),
        support=3,
        rare=True,
        limit=None,
    )
    md = render_report(GateOutcome((make_eval([failing, rare]),)))
    assert "1 skipped (too few instances)" in md
    assert "skipped (no data, or too few instances)</sub>" in md
    plain = render_report(GateOutcome((make_eval([failing]),)))
    assert "too few instances" not in plain


def test_a_rule_whose_every_class_is_rare_folds_as_too_few_instances():
    rare = replace(
        make_check(Status.SKIP, class_name="bus", actual=0.2, message="skipped: few"),
        support=3,
        rare=True,
        limit=None,
    )
    md = render_report(GateOutcome((make_eval([rare, make_check(Status.PASS)]),)))
    assert "1 check skipped (too few instances)" in md


def test_interval_bounds_print_with_their_sign_never_plus_minus():
    check = replace(
        drop_check("fail", Status.FAIL),
        interval=replace(interval("fail"), low=-0.0235, high=-0.00001),
    )
    md = render_report(GateOutcome((make_eval([check], baseline_id="b1"),)))
    assert f"(95%: {MINUS}0.0235 to {MINUS}0.0000)" in md
    zero = replace(check, interval=replace(interval("inconclusive"), low=0.0, high=0.0))
    md = render_report(GateOutcome((make_eval([zero], baseline_id="b1"),)))
    assert "(95%: +0.0000 to +0.0000)" in md
    assert "±" not in md.split("(95%:")[1].split(")")[0]


def test_the_delta_printed_next_to_an_interval_is_the_delta_that_was_judged():
    # The matrices say 0.9 -> 0.5; the paired images the interval judged say -0.0310.
    check = replace(drop_check("fail", Status.FAIL), actual=0.5, baseline=0.9)
    md = render_report(GateOutcome((make_eval([check], baseline_id="b1"),)))
    assert f"{MINUS}0.0310 (95%: {MINUS}0.0520 to {MINUS}0.0210)" in md
    assert f"{MINUS}0.4000" not in md
    doc = json.loads(to_json(GateOutcome((make_eval([check], baseline_id="b1"),))))
    assert doc["checks"][0]["delta"] == doc["checks"][0]["interval"]["difference"] == -0.031
