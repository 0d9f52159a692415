"""The Markdown report (gate.report.render): content, escaping, and shortening to a size limit."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import gate
from gate.config.loader import load_config
from gate.core.evaluate import EvalInput, evaluate
from gate.core.metrics import TaskType
from gate.core.model import Location, Severity, ThresholdKind
from gate.core.outcome import Check, EvalOutcome, GateOutcome, Status
from gate.core.results import parse_map_results
from gate.report.markdown import md_text
from gate.report.render import (
    CHECK_RUN_MAX_CHARS,
    DEFAULT_MAX_CHARS,
    SUMMARY_MAX_BYTES,
    render_report,
)
from gate.report.rules import OPEN_ROWS
from gate.report.templates import TemplatesNotFoundError, find_template_dir
from tests.paths import REPO

ICONS = {
    "✅": Status.PASS,
    "❌": Status.FAIL,
    "🚫": Status.ERROR,
    "⚠️": Status.WARN,
    "⏭️": Status.SKIP,
}
SHORTENED = "**This report was shortened**"
MINUS = "\u2212"  # the report writes negative numbers with a real minus sign


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
    limit: float | None = None,
    actual: float | None = 0.8,
    baseline: float | None = None,
    severity: Severity = Severity.ERROR,
    message: str = "",
    rule_index: int = 0,
    rule: str | None = None,
    location: Location | None = None,
) -> Check:
    return Check(
        eval_id=eval_id,
        eval_label=label,
        rule_index=rule_index,
        rule=rule or f"{metric} {kind} {threshold:g} [{split}]",
        metric=metric,
        split=split,
        class_name=class_name,
        object_size=object_size,
        kind=kind,
        threshold=threshold,
        limit=threshold if limit is None and not kind.is_regression else limit,
        actual=actual,
        baseline=baseline,
        status=status,
        severity=severity,
        message=message or f"{status} message",
        location=location,
    )


def make_eval(
    checks: list[Check] | tuple[Check, ...],
    *,
    eval_id: str = "e1",
    label: str = "Eval one",
    task_type: TaskType = TaskType.DETECTION,
    baseline_id: str | None = None,
    url: str | None = None,
) -> EvalOutcome:
    return EvalOutcome(eval_id, label, task_type, tuple(checks), baseline_id, url)


def mixed_outcome() -> GateOutcome:
    """Two evals: every status, a per-class check of each kind, a baseline, a link."""
    e1 = make_eval(
        [
            make_check(Status.PASS, actual=0.81),
            make_check(Status.SKIP, split="valid", actual=None, message="no valid split"),
            make_check(
                Status.WARN,
                kind=ThresholdKind.MAX_DROP,
                threshold=0.02,
                limit=0.78,
                actual=0.75,
                baseline=0.80,
                severity=Severity.WARNING,
                message="dropped by 0.05",
            ),
            make_check(Status.ERROR, metric="map50", actual=None, message="value is 'NaN'"),
            make_check(Status.FAIL, object_size="small", actual=0.6, message="below 0.7"),
            make_check(Status.PASS, class_name="car", actual=0.9, rule_index=1),
            make_check(
                Status.FAIL, class_name="person", actual=0.5, message="below 0.7", rule_index=1
            ),
        ],
        baseline_id="base-1",
        url="https://app.roboflow.com/ws/evals/e1",
    )
    e2 = make_eval(
        [make_check(Status.PASS, eval_id="e2", label="Seg", metric="miou", actual=0.91)],
        eval_id="e2",
        label="Seg",
        task_type=TaskType.SEGMENTATION,
    )
    return GateOutcome((e1, e2))


# --- structural checks every report must pass --------------------------------------------------


def unescaped(text: str, char: str) -> int:
    count = index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        count += text[index] == char
        index += 1
    return count


def outside_code(line: str) -> str:
    """The line without its code spans (where `|`, `<` and `@` are shown as they are)."""
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", line)


def tables(md: str) -> list[list[str]]:
    """Every table: its lines, header and delimiter row included."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in [*md.split("\n"), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def assert_well_formed(md: str, max_chars: int | None = None) -> None:
    if max_chars is not None:
        assert len(md) <= max_chars
    assert md.endswith("\n")
    lines = md.split("\n")
    depth = 0
    for line in lines:
        depth += line.count("<details>")
        assert depth <= 1, "nested <details>"
        depth -= line.count("</details>")
        assert depth >= 0, "</details> before <details>"
    assert depth == 0, "unclosed <details>"
    assert md.count("<summary>") == md.count("</summary>") == md.count("<details>")
    for index, line in enumerate(lines):
        if line.startswith("|"):
            assert line.endswith("|"), f"partial table row: {line!r}"
            if index == 0 or not lines[index - 1].startswith("|"):
                assert index > 0 and lines[index - 1] == "", "no blank line before a table"
            if not lines[index + 1].startswith("|"):
                assert lines[index + 1] == "", "no blank line after a table"
        else:
            assert unescaped(outside_code(line), "|") == 0, f"stray pipe: {line!r}"
    for table in tables(md):
        assert len(table) >= 3, "a table without rows"
        assert re.fullmatch(r"\|(:?-+:?\|)+", table[1])
        width = unescaped(table[0], "|")
        assert all(unescaped(row, "|") == width for row in table)
    assert "\n\n\n" not in md


def row_icons(md: str) -> list[Status]:
    """The status of each table row, in order."""
    return [ICONS[row[2:].split(" |")[0]] for t in tables(md) for row in t[2:]]


def failure_rows(md: str) -> list[str]:
    return [row for t in tables(md) for row in t[2:] if not row.startswith("| ✅ |")]


# --- content -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "headline"),
    [
        ((Status.PASS, Status.SKIP), "## ✅ eval-gate: **Passed**"),
        ((Status.PASS, Status.WARN), "## ⚠️ eval-gate: **Passed with warnings**"),
        ((Status.PASS, Status.WARN, Status.FAIL), "## ❌ eval-gate: **Failed**"),
        ((Status.PASS, Status.ERROR), "## ❌ eval-gate: **Failed**"),
    ],
)
def test_headline_per_verdict(statuses, headline):
    outcome = GateOutcome((make_eval([make_check(s) for s in statuses]),))
    md = render_report(outcome)
    assert md.split("\n")[0] == headline
    assert_well_formed(md, DEFAULT_MAX_CHARS)


@pytest.mark.parametrize(
    ("statuses", "fail_on", "headline"),
    [
        (
            (Status.PASS, Status.WARN),
            "warning",
            "## ❌ eval-gate: **Failed on warnings (fail-on: warning)**",
        ),
        ((Status.PASS, Status.WARN), "never", "## ⚠️ eval-gate: **Passed with warnings**"),
        ((Status.PASS, Status.SKIP), "warning", "## ✅ eval-gate: **Passed**"),
        ((Status.WARN, Status.FAIL), "warning", "## ❌ eval-gate: **Failed**"),
    ],
)
def test_headline_says_what_fail_on_decides(statuses, fail_on, headline):
    # under fail-on: warning a gate that only warned fails (exit 1, status and check run
    # failure): its heading must not say it passed
    outcome = GateOutcome((make_eval([make_check(s) for s in statuses]),))
    assert render_report(outcome, fail_on=fail_on).split("\n")[0] == headline


def test_counts_line_and_title():
    md = render_report(mixed_outcome(), title="model | gate")
    lines = md.split("\n")
    assert lines[0] == "## ❌ model \\| gate: **Failed**"
    assert lines[2] == (
        "8 checks on 2 evaluations: "
        "3 failed (1 with malformed data), 1 warning, 3 passed, 1 skipped."
    )
    assert SHORTENED not in md


def test_eval_sections():
    md = render_report(mixed_outcome())
    assert "### ❌ [Eval one](https://app.roboflow.com/ws/evals/e1)\n" in md
    assert "\nobject detection · vs baseline `base-1` · 3 failed (1 with malformed data)," in md
    assert "### ✅ Seg\n\nsemantic segmentation · 1 passed\n" in md
    assert md.index("### ❌ [Eval one]") < md.index("### ✅ Seg")
    assert_well_formed(md)


def test_rules_that_failed_first_then_warned_then_skipped_passing_and_per_class_folds():
    md = render_report(mixed_outcome())
    section = md[md.index("### ❌") : md.index("### ✅ Seg")]
    headings = re.findall(r"^#### (.*)$", section, flags=re.MULTILINE)
    # Failing rules first (split-level before per-class), then warnings; the heading says how.
    assert headings == [
        "🚫 mAP@50 ≥ 0.7 (test): value is 'NaN'",
        "❌ mAP@50:95 (small) ≥ 0.7 (test): 0.6000 (0.1000 short)",
        "❌ mAP@50:95 ≥ 0.7 per class (test): 1 of 2 classes below",
        f"⚠️ mAP@50:95 drop ≤ 0.02 (test): {MINUS}0.0500 (0.8000 → 0.7500)",
    ]
    nan, small, person, drop, skipped, passing, per_class = tables(section)
    # One table per rule, without the columns the heading already says; the eval has a
    # baseline, so every row has Baseline and Δ. The note only says why a row has no numbers.
    assert nan[0] == "|  | Actual | Baseline | Δ | Missed by | Note |"
    assert nan[2] == "| 🚫 | — | — | — | — | value is 'NaN' |"
    assert small[0] == "|  | Actual | Baseline | Δ | Missed by |"
    assert small[2] == "| ❌ | 0.6000 | — | — | 0.1000 |"
    assert person[0] == "|  | Class | Actual | Baseline | Δ | Missed by |"
    assert person[2] == "| ❌ | person | 0.5000 | — | — | 0.2000 |"
    assert drop[2] == f"| ⚠️ | 0.7500 | 0.8000 | {MINUS}0.0500 | 0.0300 |"
    # rules that only skipped (no data) are folded together, with why
    assert "<details><summary>1 check skipped (no data)</summary>\n\n" + "\n".join(skipped) in (
        section
    )
    assert skipped[2] == "| ⏭️ | mAP@50:95 | valid | — | ≥ 0.7000 | no valid split |"
    # split-level passing checks, folded
    assert "<details><summary>1 passing check</summary>\n\n" + "\n".join(passing) in section
    assert passing[2] == "| ✅ | mAP@50:95 | test | 0.8100 | ≥ 0.7000 | — | — |"
    # per-class passing checks, folded on their own, class first
    assert (
        "<details><summary>Per-class results: 1 passing check on 1 class</summary>\n\n"
        + "\n".join(per_class)
    ) in section
    assert per_class[2] == "| ✅ | car | mAP@50:95 | test | 0.9000 | ≥ 0.7000 | — | — |"
    assert section.index("| ❌ |") < section.index("<details>")


def test_per_class_details_sorted_by_class_and_split_level_kept_apart():
    checks = [make_check(Status.PASS, metric="map50")]
    for split in ("test", "valid"):
        for name in ("zebra", "Apple", "mango"):
            checks.append(make_check(Status.PASS, split=split, class_name=name))
    md = render_report(GateOutcome((make_eval(checks),)))
    passing, per_class = tables(md)
    assert len(passing) == 3
    assert [r.split(" | ")[1] for r in per_class[2:]] == [
        "Apple",
        "Apple",
        "mango",
        "mango",
        "zebra",
        "zebra",
    ]
    assert "Per-class results: 6 passing checks on 3 classes" in md


@pytest.mark.parametrize(
    ("check", "threshold", "delta"),
    [
        (make_check(threshold=0.7), "≥ 0.7000", "—"),
        (make_check(kind=ThresholdKind.MAX, threshold=0.9), "≤ 0.9000", "—"),
        (
            make_check(
                kind=ThresholdKind.MAX_DROP, threshold=0.02, limit=0.79, actual=0.8123, baseline=0.8
            ),
            "drop ≤ 0.02 (≥ 0.7900)",
            "+0.0123",
        ),
        (
            make_check(
                kind=ThresholdKind.MAX_DROP_PCT, threshold=3, limit=0.776, actual=0.78, baseline=0.8
            ),
            "drop ≤ 3% (≥ 0.7760)",
            MINUS + "0.0200",
        ),
        (
            make_check(kind=ThresholdKind.MAX_DROP, threshold=0.02, actual=0.8, baseline=None),
            "drop ≤ 0.02",
            "—",
        ),
        (
            make_check(
                kind=ThresholdKind.MAX_DROP, threshold=0.02, limit=0.78, actual=0.8, baseline=0.8
            ),
            "drop ≤ 0.02 (≥ 0.7800)",
            "±0.0000",
        ),
    ],
)
def test_number_formats(check, threshold, delta):
    md = render_report(GateOutcome((make_eval([check]),)))
    row = tables(md)[0][2]
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert threshold in cells
    if check.kind.is_regression:
        assert cells[-1] == delta
    else:
        assert "Δ" not in md  # no baseline anywhere: no baseline columns


NASTY_CLASSES = [
    "a|b",
    "<script>alert(1)</script>",
    "@team",
    "`rm -rf`",
    "two\nlines",
    "*bold*_it_[x](y)#~!",
    "<details>",
    "",
    "\x00\x1b[31m",
]


def test_nasty_class_names_are_escaped():
    checks = []
    for name in NASTY_CLASSES:
        checks.append(make_check(Status.FAIL, class_name=name, message=f"bad {name}"))
        checks.append(make_check(Status.PASS, split="valid", class_name=name))
    evil_url = "https://app.roboflow.com/x?api_key=SECRET123"
    outcome = GateOutcome(
        (make_eval(checks, label="<b>@team</b> | [x](y)", baseline_id="`id`", url=evil_url),)
    )
    md = render_report(outcome)
    assert_well_formed(md)
    assert "<script>" not in md
    assert "<b>" not in md
    assert "@team" not in md
    assert "&#64;&#8203;team" in md
    assert "SECRET123" not in md
    assert "\x1b" not in md
    assert "\x00" not in md
    assert "### ❌ &lt;b&gt;&#64;&#8203;team&lt;/b&gt; \\| \\[x\\]\\(y\\)\n" in md
    assert "vs baseline `` `id` ``" in md
    # the worst few failures open, the rest folded, and the passing ones folded
    assert md.count("<details>") == 2
    opened, folded, per_class = tables(md)
    assert len(opened) == 2 + OPEN_ROWS
    assert len(opened) + len(folded) == 4 + len(NASTY_CLASSES)
    assert len(per_class) == 2 + len(NASTY_CLASSES)
    # the summary line names the worst classes, escaped too
    story = [line for line in md.split("\n") if line.startswith("- ")]
    assert len(story) == 1
    assert "\\*bold\\*\\_it\\_\\[x\\]\\(y\\)" in story[0]


def test_javascript_url_is_not_linked():
    outcome = GateOutcome((make_eval([make_check()], url="javascript:alert(1)"),))
    md = render_report(outcome)
    assert "javascript" not in md
    assert "### ✅ Eval one\n" in md


def test_eval_without_checks_and_empty_outcome():
    md = render_report(GateOutcome((make_eval([]),)))
    assert "No checks ran on this evaluation." in md
    assert_well_formed(md)
    md = render_report(GateOutcome(()))
    assert md.startswith("## ✅ eval-gate: **Passed**\n\n0 checks on 0 evaluations:")
    assert_well_formed(md)


def test_long_untrusted_text_is_clipped():
    long_name = "c" * 5000
    md = render_report(GateOutcome((make_eval([make_check(Status.FAIL, class_name=long_name)]),)))
    assert "c" * 99 + "…" in md
    assert "c" * 101 not in md


# --- shortening --------------------------------------------------------------------------------


def many_failures(n_fail: int, n_pass: int, *, eval_id: str = "e1") -> EvalOutcome:
    checks = [
        make_check(Status.FAIL, eval_id=eval_id, class_name=f"class {i}", actual=0.1, message="low")
        for i in range(n_fail)
    ]
    checks += [
        make_check(Status.PASS, eval_id=eval_id, class_name=f"ok {i}", split="valid")
        for i in range(n_pass)
    ]
    checks.append(make_check(Status.WARN, eval_id=eval_id, severity=Severity.WARNING, rule_index=1))
    return make_eval(checks, eval_id=eval_id, label=f"Eval {eval_id}")


def test_no_limit_gives_the_full_report():
    outcome = GateOutcome((many_failures(300, 300),))
    full = render_report(outcome, max_chars=None)
    assert SHORTENED not in full
    assert len(failure_rows(full)) == 301
    assert render_report(outcome, max_chars=len(full)) == full


def test_level_2_folds_passing_checks():
    outcome = GateOutcome((many_failures(30, 30), many_failures(2, 5, eval_id="e2")))
    full = render_report(outcome, max_chars=None)
    md = render_report(outcome, max_chars=len(full) - 1, full_report_hint="See the job summary.")
    assert_well_formed(md, len(full) - 1)
    assert "passing check</summary>" not in md
    assert "Per-class results" not in md
    assert md.count("<details>") == 1  # the failures of the first eval past the first few
    assert (
        "> **This report was shortened** to fit in "
        f"{len(full) - 1:,} characters: passing checks are not listed. See the job summary.\n"
    ) in md
    assert "30 passing checks not shown." in md
    assert "5 passing checks not shown." in md
    assert Status.PASS not in row_icons(md)
    assert len(failure_rows(md)) == 31 + 3  # every non-passing check is still listed


def test_level_3_caps_the_checks_listed_per_rule():
    outcome = GateOutcome((many_failures(60, 10), many_failures(3, 0, eval_id="e2")))
    full = render_report(outcome, max_chars=None)
    folded = render_report(outcome, max_chars=len(full) - 1)
    assert "passing checks are not listed." in folded
    limit = len(folded) - 1
    md = render_report(outcome, max_chars=limit)
    assert_well_formed(md, limit)
    match = re.search(r"only the worst (\d+) checks are listed for each rule", md)
    assert match
    cap = int(match.group(1))
    assert OPEN_ROWS < cap < 60
    more = re.findall(r"…and (\d+) more checks not shown: (\d+) failed\.", md)
    assert len(more) == 1  # only the rule with 60 failures is cut
    assert cap + int(more[0][0]) == 60
    first = md[: md.index("### ❌ Eval e2")]
    # the rule keeps its worst rows, the first few open and the rest folded; the warning too
    assert len(failure_rows(first)) == cap + 1
    assert first.count("<details>") == 1
    assert "| ⚠️ |" in first
    # the second eval's 4 non-passing checks fit under the cap
    assert len(failure_rows(md)) == cap + 1 + 4
    # and the cap is as large as fits: one more row would not fit
    assert len(md) > limit - len(failure_rows(md)[0]) - 1
    # fewer rows still: the open rows shrink too, the heading and summary line stay
    small = render_report(outcome, max_chars=1500)
    assert_well_formed(small, 1500)
    assert "#### ❌ mAP@50:95 ≥ 0.7 per class (test): 60 of 60 classes below" in small
    assert "- ❌ Eval e1 · **mAP@50:95 ≥ 0.7 per class** (test): 60 of 60 classes below" in small


def test_level_4_drops_evaluations_from_the_end():
    evals = tuple(many_failures(10, 5, eval_id=f"e{i:02}") for i in range(40))
    outcome = GateOutcome(evals)
    md = render_report(outcome, max_chars=3000, full_report_hint="Full report: job summary.")
    assert_well_formed(md, 3000)
    shown = re.findall(r"^### ❌ Eval (e\d\d)$", md, flags=re.MULTILINE)
    assert 1 <= len(shown) < 40
    assert shown == [f"e{i:02}" for i in range(len(shown))]
    dropped = 40 - len(shown)
    assert f"the last {dropped} evaluations are not shown" in md
    assert f"**{dropped} more evaluations not shown**: {dropped} failed." in md
    assert "Full report: job summary." in md
    assert md.startswith("## ❌ eval-gate: **Failed**\n\n640 checks on 40 evaluations:")


def test_last_resort_keeps_the_verdict():
    outcome = GateOutcome((many_failures(5, 5),))
    md = render_report(outcome, max_chars=200, title="t" * 5000, full_report_hint="h" * 5000)
    assert len(md) <= 200
    assert md.startswith("## ❌ **Failed**\n")
    assert "shortened" in md
    assert_well_formed(md, 200)


def test_max_chars_below_minimum_is_refused():
    with pytest.raises(ValueError, match="at least 200"):
        render_report(GateOutcome(()), max_chars=199)


@pytest.mark.parametrize("seed_eval_count", [1, 3, 12])
def test_every_limit_gives_a_well_formed_report(seed_eval_count):
    evals = tuple(many_failures(7 + 3 * i, 4 + i, eval_id=f"e{i}") for i in range(seed_eval_count))
    outcome = GateOutcome(evals)
    full = render_report(outcome, max_chars=None)
    for limit in range(200, len(full) + 200, max(1, len(full) // 60)):
        md = render_report(outcome, max_chars=limit, full_report_hint="See the job summary.")
        assert_well_formed(md, limit)
        if md != full:
            assert SHORTENED in md
        if limit >= len(full):
            assert md == full


def test_pathological_inputs_still_fit():
    huge = "x|<@y>`" * 2000
    long_hint = "The full report is somewhere else. " * 300  # trusted Markdown from the caller
    evals = tuple(
        make_eval(
            [
                make_check(Status.FAIL, eval_id=f"e{i}", label=huge, class_name=huge, message=huge),
                make_check(Status.ERROR, eval_id=f"e{i}", metric=huge, split=huge, actual=None),
            ],
            eval_id=f"e{i}",
            label=huge,
            baseline_id=huge,
            url="https://example.com/" + huge,
        )
        for i in range(300)
    )
    outcome = GateOutcome(evals)
    for limit in (200, 201, 250, 500, 1000, 5000, 65_000):
        md = render_report(outcome, max_chars=limit, title=huge, full_report_hint=long_hint)
        assert_well_formed(md, limit)
        assert "@y" not in outside_code(md)
        assert "<@y>" not in outside_code(md)


def big_outcome(fail_every: int) -> GateOutcome:
    """2,000 classes x 3 splits x 4 thresholds, one check in `fail_every` failing."""
    checks = []
    n = 0
    rules = (
        ("map50", ThresholdKind.MIN, 0.5),
        ("map50_95", ThresholdKind.MIN, 0.3),
        ("map50_95", ThresholdKind.MAX_DROP, 0.02),
        ("map75", ThresholdKind.MIN, 0.4),
    )
    for metric, kind, threshold in rules:
        for split in ("test", "valid", "train"):
            for i in range(2000):
                n += 1
                failing = n % fail_every == 0
                checks.append(
                    make_check(
                        Status.FAIL if failing else Status.PASS,
                        metric=metric,
                        split=split,
                        class_name=f"class_{i} <{i % 7}>",
                        kind=kind,
                        threshold=threshold,
                        limit=0.78 if kind.is_regression else None,
                        actual=0.1 if failing else 0.9,
                        baseline=0.8 if kind.is_regression else None,
                        message="below the limit",
                    )
                )
    return GateOutcome((make_eval(checks),))


def test_two_thousand_classes_fit_and_keep_the_failures_that_fit():
    render_report(mixed_outcome())  # the template is compiled once per process
    outcome = big_outcome(fail_every=9)
    total_failing = outcome.count(Status.FAIL)
    md = render_report(outcome)  # its time is bench/render_report.py's, not a test's
    assert_well_formed(md, DEFAULT_MAX_CHARS)
    shown = len(failure_rows(md))
    more = re.findall(r"…and ([\d,]+) more checks not shown: ([\d,]+) failed\.", md)
    assert len(more) == 12  # every rule (4 rules x 3 splits) keeps its worst rows
    assert shown + sum(int(n.replace(",", "")) for n, _ in more) == total_failing
    assert shown > 400
    # the budget is used, not wasted: to within a row for each of the 12 rules
    assert len(md) > DEFAULT_MAX_CHARS - 12 * len(failure_rows(md)[-1])


def test_two_thousand_classes_with_few_failures_lists_them_all():
    outcome = big_outcome(fail_every=300)
    md = render_report(outcome)
    assert_well_formed(md, DEFAULT_MAX_CHARS)
    assert len(failure_rows(md)) == outcome.count(Status.FAIL) == 80
    assert "passing checks are not listed." in md
    assert "23,920 passing checks not shown." in md


# --- the story: a summary line per failing rule, worst first -----------------------------------

CONFIG = Location("eval-gate.yml", 12, 5)


def floor_and_drop(n_classes: int = 40) -> GateOutcome:
    """A split-level floor, a per-class floor and a per-class regression rule, with a baseline:
    class i of n has 0.30 + 0.6 i/n against a baseline of 0.90 - 0.3 i/n (low i is worst)."""
    checks = [
        make_check(
            Status.FAIL,
            metric="map50_95",
            actual=0.683,
            baseline=0.701,
            rule="map50_95 >= 0.7 [test]",
            location=Location("eval-gate.yml", 12, 5),
        )
    ]
    for i in range(n_classes):
        actual = round(0.30 + 0.6 * i / n_classes, 4)
        base = round(0.90 - 0.3 * i / n_classes, 4)
        name = f"part-{i:03d}"
        checks.append(
            make_check(
                Status.FAIL if actual < 0.5 else Status.PASS,
                metric="map50",
                class_name=name,
                threshold=0.5,
                actual=actual,
                baseline=base,
                rule_index=1,
                rule="map50 per class >= 0.5 [test]",
                location=Location("eval-gate.yml", 15, 5),
            )
        )
        limit = round(base - 0.05, 4)
        checks.append(
            make_check(
                Status.FAIL if actual < limit else Status.PASS,
                metric="map50",
                class_name=name,
                kind=ThresholdKind.MAX_DROP,
                threshold=0.05,
                limit=limit,
                actual=actual,
                baseline=base,
                rule_index=2,
                rule="map50 per class drop <= 0.05 [test]",
                location=Location("eval-gate.yml", 19, 5),
            )
        )
    return GateOutcome((make_eval(checks, baseline_id="base-1"),))


def story_lines(md: str) -> list[str]:
    """The summary lines under the verdict (the first list of the report)."""
    lines = md.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("- "))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("- "))
    return lines[start:end]


def test_a_summary_line_per_failing_rule_with_its_worst_checks_and_where_it_is_written():
    md = render_report(floor_and_drop())
    assert story_lines(md) == [
        "- ❌ **mAP@50:95 ≥ 0.7** (test) `eval-gate.yml:12`: 0.6830 (0.0170 short)",
        (
            "- ❌ **mAP@50 ≥ 0.5 per class** (test) `eval-gate.yml:15`: 14 of 40 classes below "
            "(none below in the baseline) — worst: part-000 (0.3000), part-001 (0.3150), "
            "part-002 (0.3300), …"
        ),
        (
            "- ❌ **mAP@50 drop ≤ 0.05 per class** (test) `eval-gate.yml:19`: 25 of 40 classes "
            f"dropped more than allowed — worst: part-000 ({MINUS}0.6000), "
            f"part-001 ({MINUS}0.5775), part-002 ({MINUS}0.5550), …"
        ),
    ]
    # right under the verdict and its counts
    assert md.split("\n")[4] == story_lines(md)[0]


def test_where_a_rule_is_written(tmp_path, monkeypatch):
    def line(location, rule_index=0):
        check = make_check(Status.FAIL, location=location, rule_index=rule_index)
        return story_lines(render_report(GateOutcome((make_eval([check]),))))[0]

    # the file as the face named it (relative to the checkout when inside it: the face's
    # choice, gate.local.files.shown_path); the report reads no working directory
    monkeypatch.chdir(tmp_path)
    assert "(test) `.github/eval-gate.yml:7`:" in line(Location(".github/eval-gate.yml", 7, 5))
    inside = Location(str(tmp_path / ".github" / "eval-gate.yml"), 7, 5)
    assert f"(test) `{tmp_path}/.github/eval-gate.yml:7`:" in line(inside)
    assert "(test) `/elsewhere/c.yml:3`:" in line(Location("/elsewhere/c.yml", 3, 1))
    # a config sent as a mapping (the service) has no lines: the rule's index
    assert "(test) `rules[2]`:" in line(Location("<request>"), rule_index=2)
    assert "`" not in line(None)


def test_summary_lines_of_regressions_say_the_drop():
    pct = make_check(
        Status.FAIL,
        metric="miou",
        kind=ThresholdKind.MAX_DROP_PCT,
        threshold=3,
        limit=0.776,
        actual=0.72,
        baseline=0.8,
        rule="miou drop <= 3% [test]",
    )
    md = render_report(GateOutcome((make_eval([pct], task_type=TaskType.SEGMENTATION),)))
    assert story_lines(md) == [f"- ❌ **mIoU drop ≤ 3%** (test): {MINUS}10.0% (0.8000 → 0.7200)"]
    assert "#### ❌ mIoU drop ≤ 3% (test):" in md


def test_summary_lines_count_checks_without_a_value_apart():
    checks = [
        make_check(Status.FAIL, class_name="gone", actual=None, message="missing value: gone"),
        make_check(Status.ERROR, class_name="nan", actual=None, message="value is 'NaN'"),
        make_check(Status.FAIL, class_name="low", actual=0.5),
        make_check(Status.PASS, class_name="ok", actual=0.9),
    ]
    md = render_report(GateOutcome((make_eval(checks),)))
    assert story_lines(md) == [
        (
            "- ❌ **mAP@50:95 ≥ 0.7 per class** (test): 1 of 4 classes below, 1 malformed, "
            "1 with no value — low (0.5000)"
        )
    ]


def test_summary_lines_say_how_many_misses_the_baseline_had_already():
    def check(name, actual, base, **kw):
        return make_check(
            Status.FAIL, class_name=name, actual=actual, baseline=base, threshold=0.5, **kw
        )

    floor = [check("a", 0.4, 0.45), check("b", 0.45, 0.6), check("c", 0.3, None)]
    passing = make_check(class_name="d", threshold=0.5)
    md = render_report(GateOutcome((make_eval([*floor, passing]),)))
    assert story_lines(md)[0].startswith(
        "- ❌ **mAP@50:95 ≥ 0.5 per class** (test): 3 of 4 classes below "
        "(1 already below in the baseline) — c (0.3000), a (0.4000), b (0.4500)"
    )
    ceiling = [
        check(name, actual, base, kind=ThresholdKind.MAX)
        for name, actual, base in (("a", 0.6, 0.4), ("b", 0.7, 0.45))
    ]
    md = render_report(GateOutcome((make_eval(ceiling),)))
    assert "2 of 2 classes above (none above in the baseline)" in story_lines(md)[0]


def test_summary_lines_of_rules_on_several_splits_name_the_split():
    checks = [
        make_check(Status.FAIL, split=split, class_name=name, actual=actual, rule="r [*]")
        for split, name, actual in (
            ("test", "a", 0.5),
            ("valid", "a", 0.4),
            ("valid", "b", 0.6),
            ("test", "b", 0.65),
        )
    ]
    md = render_report(GateOutcome((make_eval(checks),)))
    assert story_lines(md) == [
        (
            "- ❌ **mAP@50:95 ≥ 0.7 per class** (test, valid): 4 of 4 checks below — worst: "
            "a (valid, 0.4000), a (test, 0.5000), b (valid, 0.6000), …"
        )
    ]
    assert tables(md)[0][0] == "|  | Class | Split | Actual | Missed by |"


def test_rows_are_worst_first_no_value_first_then_by_how_far_they_miss():
    checks = [
        make_check(Status.FAIL, class_name="a", actual=0.65),
        make_check(Status.FAIL, class_name="b", actual=0.30),
        make_check(Status.FAIL, class_name="gone", actual=None, message="missing value"),
        make_check(Status.FAIL, class_name="c", actual=0.69),
        make_check(Status.ERROR, class_name="nan", actual=None, message="value is 'NaN'"),
        make_check(Status.FAIL, class_name="d", actual=0.50),
    ]
    md = render_report(GateOutcome((make_eval(checks),)))
    (table,) = tables(md)
    assert [row.split(" | ")[1] for row in table[2:]] == ["nan", "gone", "b", "d", "a", "c"]


def test_worst_first_across_the_fold_and_split_level_rules_first():
    outcome = floor_and_drop(300)
    md = render_report(outcome, max_chars=None)
    headings = re.findall(r"^#### (.*)$", md, flags=re.MULTILINE)
    assert [h.split(" (")[0] for h in headings] == [
        "❌ mAP@50:95 ≥ 0.7",
        "❌ mAP@50 ≥ 0.5 per class",
        "❌ mAP@50 drop ≤ 0.05 per class",
    ]
    _, floor_open, floor_folded, drop_open, drop_folded, _ = tables(md)
    for opened, folded in ((floor_open, floor_folded), (drop_open, drop_folded)):
        assert len(opened) == 2 + OPEN_ROWS
        missed = [float(row.split(" | ")[-1].strip(" |")) for row in opened[2:] + folded[2:]]
        assert missed == sorted(missed, reverse=True)
    for index in (1, 2):
        failing = sum(1 for c in outcome.checks if c.rule_index == index and c.failing)
        assert 50 < failing < 250
        folded = f"<details><summary>{failing - OPEN_ROWS} more classes, worst first</summary>"
        assert folded in md


def test_a_rule_with_a_few_failures_shows_them_all_open():
    checks = [make_check(Status.FAIL, class_name=f"c{i}", actual=0.5) for i in range(OPEN_ROWS + 2)]
    md = render_report(GateOutcome((make_eval(checks),)))
    assert "<details>" not in md
    assert len(failure_rows(md)) == OPEN_ROWS + 2


def test_every_row_has_the_baseline_and_delta_when_the_eval_has_a_baseline():
    md = render_report(floor_and_drop(), max_chars=None)
    found = tables(md)
    assert len(found) == 6  # floor; per-class floor open + folded; drop open + folded; passing
    for table in found:
        header = [cell.strip() for cell in table[0].strip("|").split("|")]
        base, delta = header.index("Baseline"), header.index("Δ")
        for row in table[2:]:
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            assert re.fullmatch(r"0\.\d{4}", cells[base]), row
            assert re.fullmatch(rf"[+{MINUS}±]0\.\d{{4}}", cells[delta]), row
    # a floor's row shows the baseline too, not only the regression's
    assert f"| ❌ | part-000 | 0.3000 | 0.9000 | {MINUS}0.6000 | 0.2000 |" in md


def test_a_line_counts_the_classes_that_improved_and_got_worse():
    checks = [
        make_check(Status.PASS, class_name="up", actual=0.9, baseline=0.8),
        make_check(Status.PASS, class_name="down", actual=0.8, baseline=0.9),
        make_check(Status.PASS, class_name="down2", actual=0.75, baseline=0.9),
        make_check(Status.PASS, class_name="same", actual=0.8, baseline=0.80001),
        # the same class under another rule on the same metric is counted once
        make_check(Status.PASS, class_name="up", actual=0.9, baseline=0.8, threshold=0.5),
        # one count per metric, on the test split when there is one
        make_check(Status.PASS, split="valid", class_name="x", actual=0.9, baseline=0.95),
        make_check(Status.PASS, metric="map75", split="valid", class_name="x", actual=0.9),
        make_check(Status.PASS, metric="map75", split="valid", class_name="y", actual=0.9),
        make_check(Status.PASS, metric="map50", class_name="z", actual=0.9, baseline=0.8),
    ]
    checks[-3] = replace(checks[-3], baseline=0.95)  # x got worse on mAP@75
    checks[-2] = replace(checks[-2], baseline=0.88)  # y improved
    md = render_report(GateOutcome((make_eval(checks, baseline_id="b"),)))
    assert (
        "\nPer class against the baseline: mAP@50:95 on test: 2 of 4 classes got worse, "
        f"1 improved, 1 unchanged (median Δ {MINUS}0.0500); mAP@75 on valid: 1 of 2 classes "
        f"got worse, 1 improved (median Δ {MINUS}0.0150); 1 more metric not summarised.\n"
    ) in md
    assert "Per class against the baseline" not in render_report(mixed_outcome())


def test_several_evaluations_label_their_summary_lines_failing_first():
    md = render_report(mixed_outcome())
    assert story_lines(md) == [
        "- 🚫 Eval one · **mAP@50 ≥ 0.7** (test): value is 'NaN'",
        "- ❌ Eval one · **mAP@50:95 (small) ≥ 0.7** (test): 0.6000 (0.1000 short)",
        (
            "- ❌ Eval one · **mAP@50:95 ≥ 0.7 per class** (test): 1 of 2 classes below — "
            "person (0.5000)"
        ),
        f"- ⚠️ Eval one · **mAP@50:95 drop ≤ 0.02** (test): {MINUS}0.0500 (0.8000 → 0.7500)",
    ]


def test_no_summary_lines_when_nothing_failed_or_warned():
    outcome = GateOutcome((make_eval([make_check(), make_check(Status.SKIP, actual=None)]),))
    md = render_report(outcome)
    assert "\n- " not in md
    assert "1 check skipped (no data)" in md


def test_summary_lines_are_capped_and_the_rest_counted():
    evals = tuple(
        make_eval(
            [
                make_check(Status.FAIL, eval_id=f"e{i}", actual=0.5),
                make_check(Status.WARN, eval_id=f"e{i}", severity=Severity.WARNING, rule_index=1),
            ],
            eval_id=f"e{i}",
            label=f"Eval {i}",
        )
        for i in range(10)
    )
    md = render_report(GateOutcome(evals))
    lines = story_lines(md)
    assert len(lines) == 13
    assert all(line.startswith("- ❌") for line in lines[:10])
    assert lines[-1] == "- …and 8 more rules with warnings."
    # at a small limit, as many summary lines as fit (whole lines) and no evaluation section
    small = render_report(GateOutcome(evals), max_chars=900)
    assert_well_formed(small, 900)
    assert "###" not in small
    assert "no evaluation details are shown" in small
    shown = story_lines(small)
    assert 1 <= len(shown) - 1 < 10
    assert shown[-1].startswith(f"- …and {11 - len(shown)} more failing rules and 10 more rules")


def test_hostile_class_names_cannot_inject_anything_in_the_summary_lines():
    hostile = [*NASTY_CLASSES, "[x](javascript:alert(1))", "![i](http://x/i.png)", "~~s~~"]
    checks = [
        make_check(Status.FAIL, class_name=name, actual=0.1 + i / 1000, location=CONFIG)
        for i, name in enumerate(hostile)
    ]
    md = render_report(GateOutcome((make_eval(checks, label="@org/team"),)))
    for worst in range(0, len(hostile), 3):  # each name, once among the 3 worst
        batch = checks[worst : worst + 3]
        line = story_lines(render_report(GateOutcome((make_eval(batch),))))[0]
        text = line.removeprefix("- ❌ **mAP@50:95 ≥ 0.7 per class** (test) `eval-gate.yml:12`: ")
        text = re.sub(r"&#?\w+;", "", text)
        for char in "*_[]()`|<>!~#":
            allowed = 2 if char in "()" else 0  # the numbers' own parentheses
            assert unescaped(text.replace("_(blank)_", ""), char) <= allowed * len(batch), line
        assert "@team" not in text
        assert "<script>" not in text
    assert "&#64;&#8203;team" in md
    assert_well_formed(md)


GFM_EXTENSIONS = ("-e", "table", "-e", "strikethrough", "-e", "autolink", "-e", "tagfilter")


@pytest.mark.skipif(shutil.which("cmark-gfm") is None, reason="needs cmark-gfm")
def test_summary_lines_render_as_plain_list_items_with_githubs_renderer():
    hostile = [
        *NASTY_CLASSES,
        "[x](javascript:alert(1))",
        "![i](http://x/i.png)",
        "<img src=x>",
        "https://evil.example #12",
    ]
    evals = tuple(
        make_eval(
            [make_check(Status.FAIL, eval_id=name, class_name=name, actual=0.1, location=CONFIG)],
            eval_id=name,
            label=name,
        )
        for name in hostile
    )
    md = render_report(GateOutcome(evals))
    story = "\n".join(story_lines(md)) + "\n"
    out = subprocess.run(
        [
            "cmark-gfm",
            "--unsafe",
            *["-e", "table", "-e", "strikethrough", "-e", "autolink", "-e", "tagfilter"],
        ],
        input=story,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", out))
    assert tags <= {"ul", "li", "strong", "code", "em"}, tags
    assert out.count("<li>") == 13  # MAX_STORY (12) lines and a count of the rest


# --- the first screen, at any number of classes --------------------------------------------------

LARGE = REPO / "examples" / "large"
FIRST_SCREEN = 10  # lines of Markdown: the verdict, the counts and every failing rule


@functools.cache
def large_example(classes: int) -> GateOutcome:
    """examples/large/: the parts detector (config and generator), at any number of classes."""
    spec = importlib.util.spec_from_file_location("large_generate", LARGE / "generate.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    candidate, baseline = generator.generate(classes)
    config = load_config((LARGE / "eval-gate.yml").read_text(), "examples/large/eval-gate.yml")
    (ev,) = config.evals
    return evaluate(
        config,
        [
            EvalInput(
                spec=ev,
                results=parse_map_results(candidate, ev.id),
                baseline=parse_map_results(baseline, generator.BASELINE),
                baseline_id=generator.BASELINE,
                url=f"https://app.roboflow.com/acme-parts/model-evals/{ev.id}",
            )
        ],
    )


def test_the_committed_300_class_example_is_what_the_generator_writes():
    for eval_id, document in zip(("partdet-v8", "partdet-v7"), _generate(300), strict=True):
        saved = json.loads((LARGE / "results" / f"{eval_id}.json").read_text(encoding="utf-8"))
        assert saved == document


def _generate(classes: int) -> tuple[dict, dict]:
    spec = importlib.util.spec_from_file_location("large_generate", LARGE / "generate.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    return generator.generate(classes)


def test_the_300_class_example_is_the_scenario_of_the_issue():
    outcome = large_example(300)
    checks = list(outcome.checks)
    assert len(checks) == 601
    assert sum(c.failing for c in checks) == 194


@pytest.mark.parametrize("classes", [300, 2000])
@pytest.mark.parametrize("max_chars", [DEFAULT_MAX_CHARS, CHECK_RUN_MAX_CHARS, None])
def test_the_first_screen_holds_the_verdict_and_every_failing_rule(classes, max_chars):
    outcome = large_example(classes)
    md = render_report(outcome, max_chars=max_chars)
    assert_well_formed(md, max_chars)
    first = md.split("\n")[:FIRST_SCREEN]
    assert first[0] == "## ❌ eval-gate: **Failed**"
    rules = {c.rule_index for c in outcome.checks if c.failing}
    assert len(rules) == 3
    for index in rules:
        failing = [c for c in outcome.checks if c.rule_index == index and c.failing]
        line = next(x for x in first if f"eval-gate.yml:{failing[0].location.line}`" in x)
        assert line.startswith("- ❌ **mAP@50")
        per_class = [c for c in failing if c.class_name is not None]
        if per_class:
            every = sum(1 for c in outcome.checks if c.rule_index == index)
            assert f": {len(per_class):,} of {every:,} classes " in line
            worst = max(per_class, key=lambda c: c.limit - c.actual)
            assert f"worst: {md_text(worst.class_name)} (" in line
    # the worst rows of each failing rule come right after (the first table under each)
    for heading in re.findall(r"^#### .*$", md, flags=re.MULTILINE):
        block = md[md.index(heading) :].split("\n")
        assert block[2].startswith("|  |")  # its table, header first
        assert block[4].startswith("| ❌ |")


def test_the_2000_class_comment_is_folded_and_summarised_not_cut():
    outcome = large_example(2000)
    md = render_report(outcome)
    assert_well_formed(md, DEFAULT_MAX_CHARS)
    assert "**This report was shortened** to fit in 65,000 characters" in md
    assert len(story_lines(md)) == 3
    assert md.count("<details>") == 2  # the two per-class rules' folded rows
    more = re.findall(r"…and ([\d,]+) more checks not shown: ([\d,]+) failed\.", md)
    shown = len(failure_rows(md))
    assert shown + sum(int(n.replace(",", "")) for n, _ in more) == outcome.count(Status.FAIL)


def test_the_job_summary_limit_counts_bytes():
    outcome = large_example(300)
    full = render_report(outcome, max_chars=None)
    assert len(full.encode()) > len(full)  # emoji, minus signs, Δ: bytes exceed characters
    assert render_report(outcome, max_chars=None, max_bytes=SUMMARY_MAX_BYTES) == full
    limit = len(full)  # as many bytes as the full report has characters: it must shorten
    md = render_report(outcome, max_chars=None, max_bytes=limit)
    assert len(md.encode()) <= limit
    assert_well_formed(md)
    assert f"to fit in {limit:,} bytes: passing checks are not listed" in md
    both = render_report(outcome, max_chars=20_000, max_bytes=20_000)
    assert len(both.encode()) <= 20_000
    assert "to fit in 20,000 characters and 20,000 bytes" in both
    assert len(story_lines(both)) == 3
    with pytest.raises(ValueError, match="max_bytes must be at least 200"):
        render_report(outcome, max_bytes=100)


def test_the_2000_class_summary_fits_a_megabyte():
    outcome = large_example(2000)
    render_report(mixed_outcome())
    md = render_report(outcome, max_chars=None, max_bytes=SUMMARY_MAX_BYTES)
    assert len(md.encode()) <= SUMMARY_MAX_BYTES  # its time is bench/large_report.py's
    assert_well_formed(md)


# --- templates and import cost -----------------------------------------------------------------


def test_templates_found_in_the_checkout():
    assert find_template_dir(Path(gate.__file__).parent) == REPO / "templates"


def test_installed_templates_win(tmp_path):
    package = tmp_path / "site" / "gate"
    (package / "templates").mkdir(parents=True)
    (package / "templates" / "report.md.j2").write_text("x")
    (tmp_path / "site" / "templates").mkdir()
    (tmp_path / "site" / "templates" / "report.md.j2").write_text("y")
    assert find_template_dir(package) == package / "templates"


def test_missing_templates_are_a_clear_error(tmp_path):
    package = tmp_path / "gate"
    package.mkdir()
    with pytest.raises(TemplatesNotFoundError, match="report templates are missing") as info:
        find_template_dir(package)
    assert str(package / "templates") in str(info.value)


def test_importing_the_report_does_not_import_jinja2():
    code = "import sys, gate.report.render; print('jinja2' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_note_column_only_when_a_failure_has_no_numbers():
    numeric = make_check(Status.FAIL, actual=0.6, limit=0.7, message="map50_95 = 0.6 < min 0.7")
    md = render_report(GateOutcome((make_eval([numeric]),)))
    assert "| Note |" not in md
    assert "min 0.7" not in md  # the numbers are in their own columns
    missing = make_check(Status.FAIL, actual=None, limit=None, message="missing value: no split")
    md = render_report(GateOutcome((make_eval([numeric, missing]),)))
    assert "| Note |" in md
    assert "missing value: no split" in md
