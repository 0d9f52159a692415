"""The chart on a gate's page: a repository's headline metric over its last gates, as numbers
an SVG template draws (templates/ui/_chart.svg.j2).

Pure: stored gates in, coordinates and labels out. Drawn on the server by a small jinja2
template rather than a charting library: a line, its points and two axes need a few lines of
arithmetic, the SVG then carries no script and no inline style (the pages' Content-Security-
Policy allows neither), and the service takes no dependency for it.

The text alternative is part of the view: a title, a description that says the trend in words,
and a row per point for a table that screen readers read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gate.server.ui.views import VERDICTS, headline_view
from gate.store.ids import GATE_ID
from gate.store.values import GateRow

__all__ = ["CHART_GATES", "ChartPoint", "ChartView", "chart_view", "nice_ticks"]

CHART_GATES = 30
WIDTH, HEIGHT = 880, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 20, 44
MAX_X_LABELS = 6


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One gate on the chart: where it is drawn and what it says."""

    x: float
    y: float
    value: float
    value_text: str
    date_text: str
    verdict: str  # pass, warn, fail, or "none" (a CSS class)
    gate_id: str
    href: str
    current: bool

    @property
    def label(self) -> str:
        mark = " (this gate)" if self.current else ""
        return f"{self.date_text}: {self.value_text}, {self.verdict}{mark}"


@dataclass(frozen=True, slots=True)
class ChartView:
    """The chart's geometry (SVG user units) and its text alternative."""

    metric: str
    repository: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    points: tuple[ChartPoint, ...]
    y_ticks: tuple[tuple[float, str], ...]  # (y, label)
    x_labels: tuple[tuple[float, str, str], ...]  # (x, label, text-anchor)
    title: str
    description: str

    @property
    def line(self) -> str:
        """The polyline's `points` attribute."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def current(self) -> ChartPoint | None:
        return next((p for p in self.points if p.current), None)


def nice_ticks(low: float, high: float, count: int = 4) -> tuple[list[float], int]:
    """About `count` round tick values covering [low, high], and the decimals they need."""
    span = high - low
    if span <= 0 or not math.isfinite(span):
        span = abs(high) or 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    tick = first
    while tick <= high + step * 1e-9:
        ticks.append(round(tick, 12))
        tick += step
    if len(ticks) < 2:
        ticks.append(round(first + step, 12))
    decimals = max(0, -math.floor(math.log10(step)) + (1 if step / magnitude == 2.5 else 0))
    return ticks, decimals


def _value_text(value: float) -> str:
    return (f"{value:.3f}" if abs(value) < 1000 else f"{value:,.1f}").replace("-", "\u2212")


def _series(gates: Sequence[GateRow], current: GateRow) -> tuple[str, list[tuple[GateRow, float]]]:
    """The metric to draw and the gates that have a value of it, oldest first."""
    ordered = sorted(
        {g.id: g for g in (*gates, current)}.values(), key=lambda g: (g.created_at, g.id)
    )
    headlines = [(g, headline_view(g.headline)) for g in ordered]
    own = headline_view(current.headline)
    metric = own.metric if own is not None else None
    if metric is None:
        metric = next((h.metric for _, h in reversed(headlines) if h is not None), "")
    drawn = [
        (gate, float(gate.headline["value"]))
        for gate, headline in headlines
        if headline is not None and headline.metric == metric
    ]
    return metric, drawn


def _x_labels(points: Sequence[ChartPoint], times: Sequence[int]) -> list[tuple[float, str, str]]:
    """At most about MAX_X_LABELS dates under the axis, the first and the last always; the
    ends' labels run inwards, so that none is cut at the chart's edge."""
    count = len(points)
    every = max(1, math.ceil(count / MAX_X_LABELS))
    shown = list(range(0, count, every))
    if count > 1 and shown[-1] != count - 1:
        if count - 1 - shown[-1] < every / 2:
            shown.pop()
        shown.append(count - 1)
    date_format = "%b %d" if times[-1] - times[0] > 3 * 86_400_000 else "%b %d %H:%M"
    labels: list[tuple[float, str, str]] = []
    for i in shown:
        label = datetime.fromtimestamp(times[i] / 1000, tz=UTC).strftime(date_format)
        anchor = "middle"
        if count > 1 and i == 0:
            anchor = "start"
        elif count > 1 and i == count - 1:
            anchor = "end"
        if not labels or labels[-1][1] != label:
            labels.append((points[i].x, label, anchor))
    return labels


def _description(points: Sequence[ChartPoint], metric: str, repository: str) -> str:
    first, last = points[0], points[-1]
    values = [p.value for p in points]
    text = (
        f"{len(points)} gate{'s' if len(points) != 1 else ''} of {repository} from "
        f"{first.date_text} to {last.date_text}: {metric} went from {first.value_text} to "
        f"{last.value_text} (lowest {_value_text(min(values))}, highest "
        f"{_value_text(max(values))})."
    )
    own = next((p for p in points if p.current), None)
    if own is None:
        return text + " This gate has no value for it yet."
    return text + f" This gate: {own.value_text}."


def chart_view(gates: Sequence[GateRow], current: GateRow) -> ChartView | None:
    """The chart of `current`'s repository over `gates` (any order; those with the same
    headline metric as `current`, else as the newest gate that has one). None when no gate
    has a value to draw."""
    metric, drawn = _series(gates, current)
    if not drawn:
        return None
    values = [v for _, v in drawn]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 if high - low >= 1e-9 else abs(high) * 0.05 or 0.05
    ticks, decimals = nice_ticks(low - pad, high + pad)
    low, high = min(low - pad, ticks[0]), max(high + pad, ticks[-1])
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    def x_of(index: int) -> float:
        if len(drawn) == 1:
            return LEFT + plot_w / 2
        return LEFT + index * plot_w / (len(drawn) - 1)

    points = tuple(
        ChartPoint(
            x=x_of(index),
            y=y_of(value),
            value=value,
            value_text=_value_text(value),
            date_text=datetime.fromtimestamp(gate.created_at / 1000, tz=UTC).strftime(
                "%Y-%m-%d %H:%M"
            ),
            verdict=gate.verdict if gate.verdict in VERDICTS else "none",
            gate_id=gate.id,
            href=f"/ui/gates/{gate.id}" if GATE_ID.fullmatch(gate.id) else "/ui/",
            current=gate.id == current.id,
        )
        for index, (gate, value) in enumerate(drawn)
    )
    y_ticks = tuple(
        (y_of(t), f"{t:.{decimals}f}".replace("-", "\u2212")) for t in ticks if low <= t <= high
    )
    repository = current.repository or "this repository"
    return ChartView(
        metric=metric,
        repository=repository,
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=HEIGHT - BOTTOM,
        points=points,
        y_ticks=y_ticks,
        x_labels=tuple(_x_labels(points, [g.created_at for g, _ in drawn])),
        title=f"{metric} over the last {len(points)} gates of {repository}",
        description=_description(points, metric, repository),
    )
