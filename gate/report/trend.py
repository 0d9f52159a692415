"""One evaluation's trend as Markdown: a Mermaid `xychart-beta` chart of the headline metric
(GitHub renders Mermaid in comments) and the same numbers in a folded table beneath it, for
readers and renderers without Mermaid.

Eval ids, model ids and the dataset version come from the API: in the chart (Mermaid reads
quotes, brackets, `%%` comments, backticks, `<`, newlines) only a safe charset of them is kept,
clipped short; in the table they are escaped like every other API text in the report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from gate.core.trend import Trend, TrendPoint, TrendRole
from gate.report.markdown import md_code, md_text

__all__ = ["MAX_CHARTS", "chart_label", "mermaid_chart", "trend_block"]

MAX_CHARTS = 4  # charts a report shows; later evals get the table only
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_LABEL = 10  # characters of an eval id on the x axis
_VERSION = 32  # characters of the dataset version in the chart's title
_CELL = 64  # characters of an id in the table
_PAD = 0.02  # room above and below the values on the y axis
_STEP = 0.05  # the y axis starts and ends on a multiple of this


def chart_label(text: str, limit: int = _LABEL) -> str:
    """`text` in the chart: letters, digits, `_`, `.` and `-` only, at most `limit` of them
    (never empty)."""
    return _UNSAFE.sub("", text)[:limit] or "eval"


def _labels(points: Sequence[TrendPoint]) -> list[str]:
    """One x-axis label per point: `candidate`, `baseline`, else the start of the eval id;
    made distinct (`abc`, `abc-2`) since the axis is categorical."""
    seen: dict[str, int] = {}
    labels = []
    for p in points:
        base = p.role.value if p.role is not TrendRole.EARLIER else chart_label(p.eval_id)
        seen[base] = seen.get(base, 0) + 1
        labels.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return labels


def _axis(values: Sequence[float]) -> tuple[float, float]:
    """A tight y range on multiples of 0.05 within [0, 1], at least 0.1 wide."""
    low = max(0.0, math.floor((min(values) - _PAD) / _STEP) * _STEP)
    high = min(1.0, math.ceil((max(values) + _PAD) / _STEP) * _STEP)
    if high - low < 2 * _STEP:
        low, high = max(0.0, high - 2 * _STEP), min(1.0, low + 2 * _STEP)
    return round(low, 2), round(high, 2)


def mermaid_chart(trend: Trend) -> str:
    """The `xychart-beta` text (no fence): x = the evals in creation order, y = the metric."""
    values = [p.value for p in trend.points]
    low, high = _axis(values)
    labels = ", ".join(f'"{label}"' for label in _labels(trend.points))
    numbers = ", ".join(f"{v:.4f}" for v in values)
    title = f"{trend.label} on test, dataset version {chart_label(trend.version_id, _VERSION)}"
    return "\n".join(
        [
            "xychart-beta",
            f'    title "{chart_label_text(title)}"',
            f"    x-axis [{labels}]",
            f'    y-axis "{chart_label_text(trend.label)}" {low:g} --> {high:g}',
            f"    bar [{numbers}]",
            f"    line [{numbers}]",
        ]
    )


def chart_label_text(text: str) -> str:
    """Our own text for a quoted Mermaid string (a title): letters, digits, spaces and
    `@ : , . _ -` only."""
    return re.sub(r"[^A-Za-z0-9 @:,._\-]", "", text)


def _date(created: str | None) -> str:
    if created is None:
        return "—"
    return md_text(created[:16].replace("T", " "))


def _table(trend: Trend, labels: Sequence[str]) -> list[str]:
    rows = [
        f"| On the chart | Eval | Model | Created | {md_text(trend.label)} |",
        "|---|---|---|---|--:|",
    ]
    for label, p in zip(labels, trend.points, strict=True):
        shown = f"**{label}**" if p.role is TrendRole.CANDIDATE else md_text(label)
        model = md_text(p.model_id[:_CELL]) if p.model_id else "—"
        rows.append(
            f"| {shown} | {md_text(p.eval_id[:_CELL])} | {model} | {_date(p.created_at)} "
            f"| {p.value:.4f} |"
        )
    return rows


def trend_block(trend: Trend | None, *, chart: bool = True) -> str | None:
    """The trend as Markdown (starting and ending on a whole line), or None when there is
    nothing to show. `chart` False: the table only (the report already shows enough charts)."""
    if trend is None or (not trend.points and not trend.left_out):
        return None
    version = md_text(trend.version_id[:_CELL])
    label = md_text(trend.label)
    lines: list[str] = []
    others = sum(1 for p in trend.points if p.role is not TrendRole.CANDIDATE)
    if len(trend.points) >= 2 and chart:
        lines += ["```mermaid", mermaid_chart(trend), "```", ""]
    elif len(trend.points) >= 2:
        lines += [f"Trend chart left out: a report shows at most {MAX_CHARTS}.", ""]
    elif others == 0:
        lines += [f"No earlier done evaluation on dataset version {version} to chart.", ""]
    summary = (
        f"{label} on test over dataset version {version}: "
        f"{'the candidate and ' if trend.candidate else ''}"
        f"{others} other evaluation{'' if others == 1 else 's'}"
    )
    lines += [f"<details><summary>{summary}</summary>", ""]
    if trend.points:
        lines += [*_table(trend, _labels(trend.points)), ""]
    if trend.left_out:
        shown = ", ".join(md_code(e[:_CELL]) for e in trend.left_out[:10])
        more = f" and {len(trend.left_out) - 10} more" if len(trend.left_out) > 10 else ""
        lines += [f"Left out (no usable {label} on test): {shown}{more}.", ""]
    lines.append("</details>")
    return "\n".join(lines)
