"""The Markdown report (gate.report): content, escaping, and shortening to a size limit."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gate
from gate.checks import Check, EvalOutcome, GateOutcome, Status
from gate.metrics import TaskType
from gate.report import (
    DEFAULT_MAX_CHARS,
    TemplatesNotFoundError,
    find_template_dir,
    render_report,
)
from gate.rules import Severity, ThresholdKind

REPO = Path(__file__).resolve().parent.parent
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
        limit=threshold if limit is None and not kind.is_regression else limit,
        actual=actual,
        baseline=baseline,
        status=status,
        severity=severity,
        message=message or f"{status} message",
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
            make_check(Status.PASS, class_name="car", actual=0.9),
            make_check(Status.FAIL, class_name="person", actual=0.5, message="below 0.7"),
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


def test_failures_first_then_passing_then_per_class():
    md = render_report(mixed_outcome())
    section = md[md.index("### ❌") : md.index("### ✅ Seg")]
    found = tables(section)
    failures, passing, per_class = found
    assert failures[0] == (
        "|  | Metric | Split | Class | Actual | Threshold | Baseline | Δ | Note |"
    )
    # fail, error, warn, then skip; in config order within a status. The note only says why a
    # row has no numbers: where the numbers are there, they tell the story.
    assert [ICONS[r[2:].split(" |")[0]] for r in failures[2:]] == [
        Status.FAIL,
        Status.FAIL,
        Status.ERROR,
        Status.WARN,
        Status.SKIP,
    ]
    assert failures[2] == ("| ❌ | mAP@50:95 (small) | test |  | 0.6000 | ≥ 0.7000 | — | — |  |")
    assert failures[3].startswith("| ❌ | mAP@50:95 | test | person | 0.5000 |")
    assert failures[4] == "| 🚫 | mAP@50 | test |  | — | ≥ 0.7000 | — | — | value is 'NaN' |"
    assert failures[5] == (
        f"| ⚠️ | mAP@50:95 | test |  | 0.7500 | drop ≤ 0.02 (≥ 0.7800) | 0.8000 | {MINUS}0.0500 |  |"
    )
    # split-level passing checks, folded
    assert "<details><summary>1 passing check</summary>\n\n" + "\n".join(passing) in section
    assert passing[2] == "| ✅ | mAP@50:95 | test | 0.8100 | ≥ 0.7000 |"
    # per-class passing checks, folded on their own, class first
    assert (
        "<details><summary>Per-class results: 1 passing check on 1 class</summary>\n\n"
        + "\n".join(per_class)
    ) in section
    assert per_class[2] == "| ✅ | car | mAP@50:95 | test | 0.9000 | ≥ 0.7000 |"
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
    assert md.count("<details>") == 1
    assert "@team" not in md
    assert "&#64;&#8203;team" in md
    assert "SECRET123" not in md
    assert "\x1b" not in md
    assert "\x00" not in md
    assert "### ❌ &lt;b&gt;&#64;&#8203;team&lt;/b&gt; \\| \\[x\\]\\(y\\)\n" in md
    assert "vs baseline `` `id` ``" in md
    failures, per_class = tables(md)
    assert len(failures) == 2 + len(NASTY_CLASSES)
    assert len(per_class) == 2 + len(NASTY_CLASSES)


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
    checks.append(make_check(Status.WARN, eval_id=eval_id, severity=Severity.WARNING))
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
    assert "<details>" not in md
    assert (
        "> **This report was shortened** to fit in "
        f"{len(full) - 1:,} characters: passing checks are not listed. See the job summary.\n"
    ) in md
    assert "30 passing checks not shown." in md
    assert "5 passing checks not shown." in md
    assert Status.PASS not in row_icons(md)
    assert len(failure_rows(md)) == 31 + 3  # every non-passing check is still listed


def test_level_3_caps_failures_per_eval():
    outcome = GateOutcome((many_failures(60, 10), many_failures(3, 0, eval_id="e2")))
    full = render_report(outcome, max_chars=None)
    folded = render_report(outcome, max_chars=len(full) - 1)
    assert "<details>" not in folded
    limit = len(folded) - 1
    md = render_report(outcome, max_chars=limit)
    assert_well_formed(md, limit)
    match = re.search(r"only the first (\d+) checks that did not pass are listed", md)
    assert match
    cap = int(match.group(1))
    assert 4 <= cap < 61
    more = re.search(r"…and (\d+) more checks not shown: (\d+) failed, 1 warning\.", md)
    assert more
    first = md[: md.index("### ✅ Eval e2") if "### ✅" in md else md.index("### ❌ Eval e2")]
    assert len(failure_rows(first)) == cap
    assert cap + int(more.group(1)) == 61
    # the failures kept are the first ones, failing before warning
    assert "| class 0 |" in md
    assert "| ⚠️ |" not in first
    # the second eval's 4 non-passing checks fit under the cap
    assert len(failure_rows(md)) == cap + 4
    # and the cap is as large as fits: one more row would not fit
    assert len(md) > limit - len(failure_rows(md)[0]) - 1


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
    start = time.perf_counter()
    md = render_report(outcome)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert_well_formed(md, DEFAULT_MAX_CHARS)
    shown = len(failure_rows(md))
    more = re.search(r"…and ([\d,]+) more checks not shown: ([\d,]+) failed\.", md)
    assert more
    assert shown + int(more.group(1).replace(",", "")) == total_failing
    assert shown > 400
    assert len(md) > DEFAULT_MAX_CHARS - 200  # the budget is used, not wasted


def test_two_thousand_classes_with_few_failures_lists_them_all():
    outcome = big_outcome(fail_every=300)
    md = render_report(outcome)
    assert_well_formed(md, DEFAULT_MAX_CHARS)
    assert len(failure_rows(md)) == outcome.count(Status.FAIL) == 80
    assert "passing checks are not listed." in md
    assert "23,920 passing checks not shown." in md


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
    assert str(tmp_path / "templates") in str(info.value)


def test_importing_the_report_does_not_import_jinja2():
    code = "import sys, gate.report; print('jinja2' in sys.modules)"
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
