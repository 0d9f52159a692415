"""The trend chart's geometry and its text alternative (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from gate.server.ui.chart import CHART_GATES, chart_view, nice_ticks
from gate.store.transaction import gate_values
from gate.store.values import GateRow, NewGate
from tests.server.ui.helpers import HOUR, T0


def gate(index: int, value, *, metric="map50", verdict="pass") -> GateRow:
    values = gate_values(NewGate(request={}, max_wait_ms=HOUR, repository="o/r"), T0 + index * HOUR)
    values["request"] = {}
    row = GateRow(**values)
    headline = None if value is None else {"metric": metric, "value": value, "baseline": None}
    return dataclasses.replace(row, headline=headline, verdict=verdict, status="done")


def test_the_chart_draws_the_gates_oldest_first_and_marks_this_one():
    gates = [gate(i, 0.80 + i / 100) for i in range(5)]
    current = gates[2]
    chart = chart_view(gates[::-1], current)
    assert [p.value for p in chart.points] == pytest.approx([0.80, 0.81, 0.82, 0.83, 0.84])
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and xs[0] == chart.plot_left and xs[-1] == chart.plot_right
    ys = [p.y for p in chart.points]
    assert ys == sorted(ys, reverse=True)  # higher values are drawn higher (smaller y)
    assert all(chart.plot_top <= y <= chart.plot_bottom for y in ys)
    assert [p.current for p in chart.points] == [False, False, True, False, False]
    assert chart.current.value_text == "0.820"
    assert chart.line.count(",") == 5


def test_the_chart_says_itself_in_words():
    gates = [gate(0, 0.8), gate(1, 0.7, verdict="fail")]
    chart = chart_view(gates, gates[1])
    assert chart.title == "map50 over the last 2 gates of o/r"
    assert chart.description == (
        "2 gates of o/r from 2027-01-15 08:00 to 2027-01-15 09:00: map50 went from 0.800 to "
        "0.700 (lowest 0.700, highest 0.800). This gate: 0.700."
    )
    assert [p.label for p in chart.points] == [
        "2027-01-15 08:00: 0.800, pass",
        "2027-01-15 09:00: 0.700, fail (this gate)",
    ]


def test_the_axis_has_round_ticks_that_cover_every_value():
    gates = [gate(i, v) for i, v in enumerate((0.861, 0.893, 0.864))]
    chart = chart_view(gates, gates[-1])
    labels = [label for _, label in chart.y_ticks]
    assert labels == ["0.85", "0.86", "0.87", "0.88", "0.89"]
    assert chart.x_labels[0][2] == "start" and chart.x_labels[-1][2] == "end"


def test_only_the_current_gate_s_metric_is_drawn():
    gates = [gate(0, 0.5, metric="recall"), gate(1, 0.8), gate(2, 0.9)]
    chart = chart_view(gates, gates[2])
    assert chart.metric == "map50"
    assert len(chart.points) == 2


def test_a_gate_without_a_value_is_charted_by_its_repository_s_newest_metric():
    gates = [gate(0, 0.8), gate(1, 0.9)]
    waiting = gate(2, None)
    chart = chart_view(gates, waiting)
    assert chart.metric == "map50" and len(chart.points) == 2
    assert chart.current is None
    assert chart.description.endswith("This gate has no value for it yet.")


def test_no_value_at_all_is_no_chart():
    assert chart_view([], gate(0, None)) is None


def test_one_value_or_equal_values_still_make_a_chart():
    alone = chart_view([], gate(0, 0.5))
    assert alone.points[0].x == (alone.plot_left + alone.plot_right) / 2
    flat = chart_view([gate(0, 0.5), gate(1, 0.5)], gate(2, 0.5))
    assert len({p.y for p in flat.points}) == 1
    assert flat.plot_top < flat.points[0].y < flat.plot_bottom


def test_labels_under_the_axis_are_bounded():
    gates = [gate(i, 0.5 + i / 1000) for i in range(CHART_GATES)]
    chart = chart_view(gates, gates[-1])
    assert 2 <= len(chart.x_labels) <= 7


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0.85, 0.9, [0.84, 0.86, 0.88, 0.9]),
        (0, 1, [0, 0.25, 0.5, 0.75, 1.0]),
        (-3, 12, [-5, 0, 5, 10]),
        (250, 250, [200, 300]),
    ],
)
def test_nice_ticks_are_round(low, high, ticks):
    got, _ = nice_ticks(low, high)
    assert got == pytest.approx(ticks)
