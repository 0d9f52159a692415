"""The report built once (`build_report`) and rendered to any size from it (`render`)."""

from __future__ import annotations

import dataclasses

import pytest

from gate.core.outcome import GateOutcome
from gate.report import sections
from gate.report.render import (
    CHECK_RUN_MAX_CHARS,
    DEFAULT_MAX_CHARS,
    SUMMARY_MAX_BYTES,
    build_report,
    render,
    render_report,
)
from tests.report.test_report import many_failures, mixed_outcome

SIZES = [
    {"max_chars": None},
    {"max_chars": DEFAULT_MAX_CHARS},
    {"max_chars": CHECK_RUN_MAX_CHARS},
    {"max_chars": None, "max_bytes": SUMMARY_MAX_BYTES},
    {"max_chars": 20_000, "max_bytes": 15_000},
    {"max_chars": 5_000},
    {"max_chars": 1_500},
    {"max_chars": 600},
    {"max_chars": 200},
    {"max_chars": None, "max_bytes": 300},
]


def shortened_outcome() -> GateOutcome:
    """Large enough that every size above renders a different level of shortening."""
    return GateOutcome(tuple(many_failures(40, 30, eval_id=f"e{i}") for i in range(6)))


@pytest.mark.parametrize("make", [mixed_outcome, shortened_outcome])
@pytest.mark.parametrize("hint", [None, "The full report is in `eval-gate/report.md`."])
def test_one_built_report_renders_every_size_as_render_report_does(make, hint):
    outcome = make()
    report = build_report(outcome, title="my gate")
    for size in SIZES:
        expected = render_report(outcome, title="my gate", full_report_hint=hint, **size)
        assert render(report, full_report_hint=hint, **size) == expected, size


def test_rendering_a_built_report_builds_nothing_again(monkeypatch):
    outcome = shortened_outcome()
    report = build_report(outcome)
    built = []
    original = sections.EvalSection.build.__func__

    def counting(cls, ev, **kwargs):
        built.append(ev.eval_id)
        return original(cls, ev, **kwargs)

    monkeypatch.setattr(sections.EvalSection, "build", classmethod(counting))
    renders = [render(report, **size) for size in SIZES]
    assert built == []
    # The full report fits the four largest sizes; each smaller one is shortened its own way.
    assert len(set(renders)) == len(SIZES) - 3
    render_report(outcome)
    assert len(built) == len(outcome.evals)  # the one-call wrapper builds once


def test_a_built_report_is_a_frozen_value_rendering_does_not_change():
    report = build_report(mixed_outcome())
    before = render(report, max_chars=None)
    render(report, max_chars=600, full_report_hint="Elsewhere.")
    assert render(report, max_chars=None) == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.story = ()


@pytest.mark.parametrize("limit", [{"max_chars": 199}, {"max_chars": None, "max_bytes": 199}])
def test_render_refuses_a_limit_below_the_minimum(limit):
    report = build_report(GateOutcome(()))
    with pytest.raises(ValueError, match="at least 200"):
        render(report, **limit)
