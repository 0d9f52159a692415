"""The report's tables of checks: which columns a table has, each cell's text, and a table's
exact length (what shortening measures before it renders anything).

Two kinds of table: a failing rule's (the rule is in the heading above it, so its rows say
how far each check missed) and the folded tables of passing and skipped checks (every rule
mixed, so each row says which metric and threshold it checked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final

from gate.core.outcome import Check
from gate.report.ranking import gap, numeric
from gate.report.text import (
    MAX_CLASS,
    MAX_MESSAGE,
    STATUS_ICONS,
    class_cell,
    interval,
    metric_cell,
    num,
    signed,
    threshold_cell,
    untrusted,
)
from gate.report.view import Column, Table

__all__ = [
    "Cell",
    "ColumnOf",
    "passing_columns",
    "prefix_chars",
    "row_chars",
    "rule_columns",
    "table",
]

Cell = Callable[[Check], str]
ColumnOf = tuple[Column, Cell]  # a column and how each row's cell in it is written


def _note(check: Check) -> str:
    # The numbers speak for themselves; a note only says why there are none.
    return "" if numeric(check) else untrusted(check.message, MAX_MESSAGE)


def _support(check: Check) -> str:
    return "—" if check.support is None else f"{check.support:,}"


def _delta(mark: str) -> ColumnOf:
    """Δ, with `mark` after it (a baseline measured on another dataset version says so), and
    its confidence interval when the rule asked for one."""
    column = Column("Δ", "--:")
    if not mark:
        return column, lambda c: signed(c.delta) + interval(c)
    return column, lambda c: signed(c.delta) + (mark if c.delta is not None else "") + interval(c)


_STATUS: Final[ColumnOf] = (Column("", ":-:"), lambda c: STATUS_ICONS[c.status])
_CLASS: Final[ColumnOf] = (Column("Class", "---"), lambda c: class_cell(c.class_name))
_METRIC: Final[ColumnOf] = (Column("Metric", "---"), metric_cell)
_SPLIT: Final[ColumnOf] = (Column("Split", "---"), lambda c: untrusted(c.split, MAX_CLASS))
_SUPPORT: Final[ColumnOf] = (Column("Support", "--:"), _support)
_ACTUAL: Final[ColumnOf] = (Column("Actual", "--:"), lambda c: num(c.actual))
_THRESHOLD: Final[ColumnOf] = (Column("Threshold", "---"), threshold_cell)
_BASELINE: Final[ColumnOf] = (Column("Baseline", "--:"), lambda c: num(c.baseline))
_MISSED_BY: Final[ColumnOf] = (Column("Missed by", "--:"), lambda c: num(gap(c)))
_NOTE: Final[ColumnOf] = (Column("Note", "---"), _note)


def passing_columns(
    *,
    with_class: bool,
    class_first: bool,
    with_baseline: bool,
    with_message: bool,
    delta_mark: str = "",
    with_support: bool = False,
) -> tuple[ColumnOf, ...]:
    """The columns of the passing-check tables (every rule mixed, so each row says which)."""
    cols = [_STATUS]
    if with_class and class_first:
        cols.append(_CLASS)
    cols += (_METRIC, _SPLIT)
    if with_class and not class_first:
        cols.append(_CLASS)
    if with_support:
        cols.append(_SUPPORT)
    cols += (_ACTUAL, _THRESHOLD)
    if with_baseline:
        cols += (_BASELINE, _delta(delta_mark))
    if with_message:
        cols.append(_NOTE)
    return tuple(cols)


def rule_columns(
    *,
    with_class: bool,
    with_split: bool,
    with_baseline: bool,
    with_message: bool,
    delta_mark: str = "",
    with_support: bool = False,
) -> tuple[ColumnOf, ...]:
    """The columns of one rule's table: the rule itself is in the heading above it."""
    cols = [_STATUS]
    if with_class:
        cols.append(_CLASS)
    if with_split:
        cols.append(_SPLIT)
    if with_support:
        cols.append(_SUPPORT)
    cols.append(_ACTUAL)
    if with_baseline:
        cols += (_BASELINE, _delta(delta_mark))
    cols.append(_MISSED_BY)
    if with_message:
        cols.append(_NOTE)
    return tuple(cols)


def table(cols: Sequence[ColumnOf], checks: Sequence[Check]) -> Table:
    cells = tuple(fn for _, fn in cols)
    return Table(
        columns=tuple(col for col, _ in cols),
        rows=tuple(tuple(fn(check) for fn in cells) for check in checks),
    )


def row_chars(row: tuple[str, ...]) -> int:
    """The exact length of `| a | b |\\n`, as the table template writes a row."""
    return sum(map(len, row)) + 3 * len(row) + 2


def prefix_chars(rows: Iterable[tuple[str, ...]]) -> tuple[int, ...]:
    """prefix[n]: the length of the first n rows."""
    prefix = [0]
    for row in rows:
        prefix.append(prefix[-1] + row_chars(row))
    return tuple(prefix)
