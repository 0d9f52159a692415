"""What the report's templates see: frozen values, every string in them already escaped and
every number already formatted, so the templates in `templates/` only lay them out.

A `ReportView` holds the headline, the story (one line per rule that did not pass) and one
`EvalView` per evaluation; an `EvalView` holds a `RuleView` per rule that did not pass and the
folded tables of the rest. `gate.report.model` builds them; `gate.report.templates` lays
them out.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "EvalView", "ReportView", "RuleView", "Table"]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    delimiter: str  # the Markdown delimiter cell: `---`, `--:` or `:-:`


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]  # one cell per column, already escaped


@dataclass(frozen=True, slots=True)
class RuleView:
    """The checks of one rule (one threshold of it) that did not pass, worst first."""

    icon: str
    title: str  # "mAP@50 ≥ 0.5 per class (test): 72 of 300 classes below"
    open: Table | None  # the worst rows
    folded: Table | None  # the rest, in <details>
    folded_summary: str
    more: str | None  # "…and K more checks not shown: …" (shortened)


@dataclass(frozen=True, slots=True)
class EvalView:
    icon: str
    label: str
    url: str | None  # safe inside `(...)`
    task: str
    baseline: str | None  # a code span
    counts: str
    changes: str | None  # how many classes improved and got worse against the baseline
    empty: str | None  # said when the evaluation has no check at all
    rules: tuple[RuleView, ...]  # rules with checks that did not pass
    skipped: Table | None  # checks of rules that only skipped (no data)
    skipped_summary: str
    passing: Table | None  # passing split-level checks
    passing_summary: str
    per_class: Table | None  # passing per-class checks
    per_class_summary: str
    not_shown: str | None  # "P passing checks not shown."
    trend: str | None = None  # the trend chart and its folded table (gate.report.trend)


@dataclass(frozen=True, slots=True)
class ReportView:
    title: str
    icon: str
    verdict: str
    counts: str
    story: tuple[str, ...]  # one line per rule that failed or warned
    story_more: str | None  # "…and K more rules …"
    note: str | None  # why and how the report was shortened, and where the full one is
    evals: tuple[EvalView, ...]
    evals_not_shown: str | None
    legend: str | None
