"""The report built once and rendered to each size it is needed at (gate.report.render:
`build_report` then `render`), as the Action does for its files, summary, comment and check
run."""

from __future__ import annotations

import io

import pytest
import structlog

from gate.core.outcome import GateOutcome, Status
from gate.report import sections
from gate.report.render import (
    CHECK_RUN_MAX_CHARS,
    DEFAULT_MAX_CHARS,
    ReportModel,
    build_report,
    render,
    render_report,
)
from tests.cli_helpers import EXAMPLES
from tests.report.test_report import make_check, make_eval, mixed_outcome


def two_evals(classes: int = 150) -> GateOutcome:
    """Two evaluations, every other class failing: enough to reach each level of shortening."""

    def checks(eval_id: str) -> list:
        return [
            make_check(
                Status.FAIL if i % 2 else Status.PASS,
                eval_id=eval_id,
                label=f"Eval {eval_id}",
                class_name=f"class_{i}",
                actual=0.5 + i / 1000,
            )
            for i in range(classes)
        ]

    return GateOutcome(tuple(make_eval(checks(e), eval_id=e, label=f"Eval {e}") for e in "ab"))


SIZES = [
    {"max_chars": None},
    {"max_chars": DEFAULT_MAX_CHARS},
    {"max_chars": CHECK_RUN_MAX_CHARS},
    {"max_chars": 8000},
    {"max_chars": 3000},
    {"max_chars": None, "max_bytes": 20_000},
    {"max_chars": 1500, "max_bytes": 1200},
    {"max_chars": 700},
    {"max_chars": 200},
]


@pytest.mark.parametrize("size", SIZES, ids=repr)
def test_one_model_renders_each_size_as_the_one_call_render_report_does(size):
    outcome = two_evals()
    model = build_report(outcome, title="det · v2")
    for hint in (None, "The full report is in `r.md`.", "Elsewhere."):
        assert render(model, full_report_hint=hint, **size) == render_report(
            outcome, title="det · v2", full_report_hint=hint, **size
        )


def test_a_model_is_not_changed_by_rendering_it_with_another_hint():
    model = build_report(two_evals())
    first = render(model, max_chars=2000, full_report_hint="First place.")
    render(model, max_chars=2000, full_report_hint="Second place.")
    assert render(model, max_chars=2000, full_report_hint="First place.") == first
    assert "First place." in first


def test_the_limits_are_checked_before_rendering_a_model():
    model: ReportModel = build_report(mixed_outcome())
    with pytest.raises(ValueError, match="max_chars must be at least 200"):
        render(model, max_chars=199)
    with pytest.raises(ValueError, match="max_bytes must be at least 200"):
        render(model, max_chars=None, max_bytes=100)


def test_the_cli_builds_the_report_once_for_the_file_and_the_terminal(tmp_path, monkeypatch):
    from gate.cli.main import run  # noqa: PLC0415

    builds = []
    real = ReportModel.build
    monkeypatch.setattr(ReportModel, "build", lambda *a, **k: builds.append(1) or real(*a, **k))
    config, results = EXAMPLES / "eval-gate.yml", EXAMPLES / "results"
    argv = ["check", "--config", str(config), "--results", str(results), "--report", "r.md"]
    out, err = io.StringIO(), io.StringIO()
    code = run(argv, environ={}, cwd=tmp_path, out=out, err=err)
    structlog.reset_defaults()
    assert code == 1, err.getvalue()  # the example fails on purpose
    assert builds == [1]
    assert "Failed" in out.getvalue()
    assert "Failed" in (tmp_path / "r.md").read_text()


def test_rendering_a_built_model_builds_no_section_again(monkeypatch):
    outcome = two_evals()
    model = build_report(outcome)
    built = []
    real = sections.EvalSection.build.__func__

    def counting(cls, ev, **kwargs):
        built.append(ev.eval_id)
        return real(cls, ev, **kwargs)

    monkeypatch.setattr(sections.EvalSection, "build", classmethod(counting))
    for size in SIZES:
        render(model, **size)
    assert built == []  # every size is sliced from what was built
    render_report(outcome)
    assert built == ["a", "b"]  # the one-call wrapper builds each section once
