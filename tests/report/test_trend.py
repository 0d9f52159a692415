"""The trend chart (gate.report.trend): a Mermaid xychart-beta of the headline metric and the
same numbers in a folded table; valid chart text, hostile ids kept out of Mermaid, at most
MAX_CHARTS charts a report, the first block dropped when the report is shortened, and (when
mmdc is installed) the chart rendered by Mermaid's own CLI."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from gate.core.outcome import GateOutcome, Status
from gate.core.trend import Trend, TrendPoint, TrendRole, trend_of
from gate.report.formats import json_document
from gate.report.render import render_report
from gate.report.trend import MAX_CHARTS, chart_label, mermaid_chart, trend_block
from tests.paths import REPO
from tests.report.test_report import assert_well_formed, make_check, make_eval, outside_code

MMDC_HINT = (
    "mmdc not found: npm install --prefix /tmp/mmdc @mermaid-js/mermaid-cli and set "
    "EVAL_GATE_MMDC=/tmp/mmdc/node_modules/.bin/mmdc (Debian's chromium at /usr/bin/chromium)"
)


def point(
    eval_id: str, value: float, role: TrendRole = TrendRole.EARLIER, day: int = 1
) -> TrendPoint:
    return TrendPoint(eval_id, f"model-{eval_id}", f"2026-01-{day:02d}T00:00:00+00:00", value, role)


def sample(earlier: int = 4, *, left_out: tuple[str, ...] = ()) -> Trend:
    points = [point(f"ev{i}abcdefghij", 0.5 + i / 100, day=i + 1) for i in range(earlier)]
    points.append(point("base0123456789", 0.6, TrendRole.BASELINE, day=earlier + 1))
    points.append(point("cand0123456789", 0.64, TrendRole.CANDIDATE, day=earlier + 2))
    return trend_of("map50_95", "mAP@50:95", "v2", points, left_out)


# --- the chart's text, checked by a small grammar ----------------------------------------------

_QUOTED = r'"[A-Za-z0-9_.\-]+"'
_NUMBER = r"(?:0|1)\.\d{4}"
_GRAMMAR = (
    r"xychart-beta\n"
    r'    title "[A-Za-z0-9 @:,._\-]+"\n'
    rf"    x-axis \[(?P<labels>{_QUOTED}(?:, {_QUOTED})*)\]\n"
    r'    y-axis "[A-Za-z0-9 @:,._\-]+" (?P<low>[0-9.]+) --> (?P<high>[0-9.]+)\n'
    rf"    bar \[(?P<bar>{_NUMBER}(?:, {_NUMBER})*)\]\n"
    rf"    line \[(?P<line>{_NUMBER}(?:, {_NUMBER})*)\]"
)


def parse_chart(text: str) -> tuple[list[str], float, float, list[float]]:
    """The chart's labels, y range and values; fails unless the text is exactly the grammar."""
    found = re.fullmatch(_GRAMMAR, text)
    assert found is not None, text
    labels = re.findall(r'"([^"]*)"', found["labels"])
    bar = [float(v) for v in found["bar"].split(", ")]
    line = [float(v) for v in found["line"].split(", ")]
    assert bar == line and len(bar) == len(labels)
    assert len(set(labels)) == len(labels), "categories must be distinct"
    return labels, float(found["low"]), float(found["high"]), bar


def chart_in(markdown: str) -> str:
    found = re.search(r"^```mermaid\n(.*?)\n```$", markdown, re.MULTILINE | re.DOTALL)
    assert found is not None, markdown
    return found.group(1)


def test_the_chart_is_a_valid_xychart_of_every_point_in_creation_order():
    trend = sample()
    labels, low, high, values = parse_chart(mermaid_chart(trend))
    assert labels == [
        "ev0abcdefg",
        "ev1abcdefg",
        "ev2abcdefg",
        "ev3abcdefg",
        "baseline",
        "candidate",
    ]
    assert values == [0.5, 0.51, 0.52, 0.53, 0.6, 0.64]
    assert 0 <= low < min(values) and max(values) < high <= 1  # a tight range, not 0..1
    assert (low, high) == (0.45, 0.7)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([0.0, 0.01], (0.0, 0.1)), ([0.99, 1.0], (0.9, 1.0)), ([0.5, 0.5], (0.45, 0.55))],
)
def test_the_y_axis_stays_within_0_and_1_and_is_never_flat(values, expected):
    points = [point(f"e{i}", v, day=i + 1) for i, v in enumerate(values)]
    _, low, high, _ = parse_chart(mermaid_chart(trend_of("miou", "mIoU", "v", points)))
    assert (low, high) == expected


HOSTILE = [
    'a"] ; bar [1',  # closes the label list
    "x\ny-axis 0 --> 9",  # a new statement
    "%%{init: {'theme': 'dark'}}%%",  # a directive
    "`cmd` <script>alert(1)</script>",
    "@team #12 https://evil.example/x",
    "",
]


def test_hostile_ids_never_reach_the_chart_and_are_escaped_in_the_table():
    points = [point(h, 0.5 + i / 50, day=i + 1) for i, h in enumerate(HOSTILE)]
    points.append(TrendPoint("c|and", "m`odel", None, 0.7, TrendRole.CANDIDATE))
    trend = trend_of("map50_95", "mAP@50:95", 'v"2\n]%%', points, ("x<y>", "@team"))
    block = trend_block(trend)
    assert block is not None
    chart = chart_in(block)
    labels, *_ = parse_chart(chart)  # still exactly the grammar
    assert labels[-1] == "candidate"  # last, though Roboflow did not say when it was created
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]{1,12}", label) for label in labels)
    assert "%%" not in chart and "<" not in chart and "`" not in chart
    assert 'version v2"' in chart  # the version's safe characters only
    table = block.split("```", 2)[2]
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in table  # escaped like all API text
    assert "&#64;&#8203;team" in table  # no one is pinged
    for line in table.split("\n"):
        shown = outside_code(line)
        assert "<script" not in shown and "@team" not in shown, line
    outcome = GateOutcome((replace(make_eval([make_check()]), trend=trend),))
    md = render_report(outcome)
    assert_well_formed(md)


def test_chart_labels_keep_a_safe_charset_only():
    assert chart_label('a"b]c\nd%%e`f<g') == "abcdefg"
    assert chart_label("") == "eval"
    assert chart_label("x" * 40) == "x" * 10


def test_the_block_folds_the_numbers_and_names_what_was_left_out():
    block = trend_block(sample(2, left_out=("gone1", "gone2")))
    assert block is not None
    assert block.startswith("```mermaid\nxychart-beta\n")
    details = block[block.index("<details>") :]
    assert details.startswith(
        "<details><summary>mAP@50:95 on test over dataset version v2: the candidate and 3 "
        "other evaluations</summary>"
    )
    candidate = (
        "| **candidate** | cand0123456789 | model-cand0123456789 | 2026-01-04 00:00 | 0.6400 |"
    )
    assert candidate in details
    assert "| baseline | base0123456789 |" in details
    assert "Left out (no usable mAP@50:95 on test): `gone1`, `gone2`." in details
    assert details.endswith("</details>")


def test_a_candidate_alone_has_no_chart_and_says_so():
    trend = trend_of("miou", "mIoU", "v9", [point("c", 0.7, TrendRole.CANDIDATE)])
    block = trend_block(trend)
    assert block is not None and "```mermaid" not in block
    assert block.startswith("No earlier done evaluation on dataset version v9 to chart.")
    assert trend_block(None) is None


def outcome_with_trends(count: int) -> GateOutcome:
    evals = [
        replace(
            make_eval([make_check(eval_id=f"e{i}", label=f"E{i}")], eval_id=f"e{i}", label=f"E{i}"),
            trend=sample(),
        )
        for i in range(count)
    ]
    return GateOutcome(tuple(evals))


def test_a_report_draws_at_most_max_charts_charts_and_says_so_for_the_rest():
    md = render_report(outcome_with_trends(MAX_CHARTS + 2), max_chars=None)
    assert_well_formed(md)
    assert md.count("```mermaid") == MAX_CHARTS
    assert md.count(f"Trend chart left out: a report shows at most {MAX_CHARTS}.") == 2
    assert md.count("<details><summary>mAP@50:95 on test over dataset version") == MAX_CHARTS + 2


def test_the_chart_comes_after_the_eval_headline_and_before_its_checks():
    outcome = outcome_with_trends(1)
    failing = replace(
        outcome.evals[0], checks=(make_check(Status.FAIL, actual=0.5, message="below 0.7"),)
    )
    md = render_report(GateOutcome((failing,)))
    assert md.index("### ") < md.index("```mermaid") < md.index("#### ")


def test_a_shortened_report_drops_the_charts_before_any_failing_check():
    failing = [
        make_check(Status.FAIL, class_name=f"class-{i:03d}", actual=0.5, message="below 0.7")
        for i in range(60)
    ]
    ev = replace(make_eval(failing), trend=sample(40))
    full = render_report(GateOutcome((ev,)), max_chars=None)
    assert "```mermaid" in full
    short = render_report(GateOutcome((ev,)), max_chars=len(full) - 2000)
    assert_well_formed(short, len(full) - 2000)
    assert "```mermaid" not in short and "trend charts are not shown" in short


def test_the_json_carries_the_trend_points():
    outcome = GateOutcome((replace(make_eval([make_check()]), trend=sample(1, left_out=("g",))),))
    trend = json_document(outcome)["evals"][0]["trend"]
    assert trend["metric"] == "map50_95" and trend["split"] == "test"
    assert trend["dataset_version"] == "v2" and trend["left_out"] == ["g"]
    assert [(p["eval"], p["role"], p["value"]) for p in trend["points"]] == [
        ("ev0abcdefghij", "earlier", 0.5),
        ("base0123456789", "baseline", 0.6),
        ("cand0123456789", "candidate", 0.64),
    ]


# --- rendered by Mermaid's own CLI (only where it is installed) -------------------------------


def mmdc() -> str | None:
    return os.environ.get("EVAL_GATE_MMDC") or shutil.which("mmdc")


@pytest.mark.skipif(mmdc() is None, reason=MMDC_HINT)
def test_mermaid_cli_renders_the_chart_to_a_png(tmp_path):
    from tools.render_mermaid import render  # noqa: PLC0415 - a script, only needed here

    chromium = os.environ.get("EVAL_GATE_CHROMIUM", "/usr/bin/chromium")
    hostile = [point(h, 0.5 + i / 50, day=i + 1) for i, h in enumerate(HOSTILE)]
    for name, trend in (
        ("sample", sample()),
        ("hostile", trend_of("miou", "mIoU", "]%%", hostile)),
    ):
        block = trend_block(trend)
        assert block is not None
        out = tmp_path / f"{name}.png"
        done = render(chart_in(block), out, mmdc=mmdc() or "mmdc", chromium=chromium)
        assert done.returncode == 0, done.stderr
        data = out.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000
    assert (REPO / "docs" / "trend-chart.png").is_file()  # the README's picture is committed


def test_the_readme_chart_matches_what_the_report_prints():
    """docs/trend-chart.mmd is the chart the README's picture was rendered from."""
    committed = Path(REPO / "docs" / "trend-chart.mmd").read_text(encoding="utf-8")
    parse_chart(committed.rstrip("\n"))
