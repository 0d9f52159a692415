"""One rule that failed or warned on one evaluation: its summary line under the verdict, its
heading, and its checks worst first (the first few open, the rest folded), built once and
sliced to any number of rows when the report is shortened.

A rule here is one threshold of a rule in the config (`map50` with `min` and `max_drop` is two).
Its summary line says what it checks and where it is written (`file:line`), how many of its
checks missed it and how, and the worst of them by name and number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gate.core.model import TOLERANCE, ThresholdKind
from gate.core.outcome import Check, Status
from gate.report.markdown import md_code
from gate.report.ranking import RANK, gap, numeric, per_class, worst_first
from gate.report.tables import prefix_chars, rule_columns, table
from gate.report.text import (
    MAX_CLASS,
    MAX_LABEL,
    MAX_MESSAGE,
    STATUS_ICONS,
    Tally,
    change,
    class_cell,
    clip,
    interval,
    metric_cell,
    num,
    plural,
    threshold_rule,
    untrusted,
)
from gate.report.view import Column, RuleView, Table

__all__ = ["OPEN_ROWS", "WORST_NAMED", "RuleSection"]

OPEN_ROWS = 5  # checks of a failing rule shown open; the rest are folded in <details>
WORST_NAMED = 3  # worst checks named in a rule's summary line

_VERBS: dict[ThresholdKind, str] = {
    ThresholdKind.MIN: "below",
    ThresholdKind.MAX: "above",
    ThresholdKind.MAX_DROP: "dropped more than allowed",
    ThresholdKind.MAX_DROP_PCT: "dropped more than allowed",
}


@dataclass(frozen=True, slots=True)
class RuleSection:
    """One rule threshold that failed or warned on one evaluation, built once."""

    rank: int  # 0 failing, 1 warning
    icon: str
    title: str  # the section heading
    story: str  # the summary line under the verdict (without the eval's label)
    rows: tuple[tuple[str, ...], ...]  # every check that did not pass, worst first
    columns: tuple[Column, ...]
    statuses: tuple[Status, ...]
    row_chars: tuple[int, ...]  # prefix sums
    unit: tuple[str, str]  # ("class", "classes"), ("split", "splits") or ("check", "checks")

    @classmethod
    def build(
        cls,
        bad: Sequence[Check],
        every: Sequence[Check],
        *,
        with_baseline: bool,
        delta_mark: str = "",
    ) -> RuleSection:
        """`bad`: the rule's checks that did not pass; `every`: all of its checks."""
        bad = sorted(bad, key=worst_first)
        first = bad[0]
        rank = RANK[first.status]
        statuses = tuple(c.status for c in bad)
        if rank == 0:  # failed: malformed data only, or thresholds missed
            icon = STATUS_ICONS[Status.FAIL if Status.FAIL in statuses else Status.ERROR]
        else:
            icon = STATUS_ICONS[first.status]
        splits = list(dict.fromkeys(c.split for c in every))
        by_class = any(c.class_name is not None for c in every)
        if by_class and len(splits) == 1 and all(per_class(c) for c in every):
            unit = ("class", "classes")
        elif not by_class:
            unit = ("split", "splits")
        else:
            unit = ("check", "checks")
        rule = f"{metric_cell(first)} {threshold_rule(first)}" + (" per class" if by_class else "")
        scope = _splits_text(splits)
        what = _what(bad, len(every), unit, kind=first.kind)
        # With a single check its number is already said.
        worst = (
            "" if len(every) == 1 else _worst(bad, by_class=by_class, many_splits=len(splits) > 1)
        )
        location = _location(first)
        # The rule, where it is written (early in the line, so it is not broken across lines),
        # how many checks missed it, and the worst of them.
        story = f"{icon} **{rule}** ({scope})" + (f" {location}" if location else "")
        story += f": {what}" + (f" — {worst}" if worst else "")
        if delta_mark and any(c.delta is not None for c in bad):
            story += delta_mark  # the line gives drops against a baseline on another test set
        cols = rule_columns(
            with_class=by_class,
            with_split=len(splits) > 1,
            with_baseline=with_baseline,
            with_message=not all(numeric(c) for c in bad),
            delta_mark=delta_mark,
            with_support=any(c.support is not None for c in bad),
        )
        built = table(cols, bad)
        return cls(
            rank=rank,
            icon=icon,
            title=f"{rule} ({scope}): {what}",
            story=story,
            rows=built.rows,
            columns=built.columns,
            statuses=statuses,
            row_chars=prefix_chars(built.rows),
            unit=unit,
        )

    @property
    def count(self) -> int:
        return len(self.rows)

    def open_count(self) -> int:
        """Rows shown open: all of them when folding would hide only one or two."""
        return self.count if self.count <= OPEN_ROWS + 2 else OPEN_ROWS

    def view(self, cap: int | None = None) -> RuleView:
        shown = self.count if cap is None else min(cap, self.count)
        opened = min(self.open_count(), shown)
        folded = shown - opened
        more = None
        if shown < self.count:
            hidden = Tally.of(self.statuses[shown:])
            more = f"…and {plural(self.count - shown, 'more check')} not shown: {hidden.nonzero()}."
        return RuleView(
            icon=self.icon,
            title=self.title,
            open=Table(self.columns, self.rows[:opened]) if opened else None,
            folded=Table(self.columns, self.rows[opened:shown]) if folded else None,
            folded_summary=f"{folded:,} more {self.unit[0 if folded == 1 else 1]}, worst first",
            more=more,
        )

    def min_chars(self, cap: int | None) -> int:
        shown = self.count if cap is None else min(cap, self.count)
        return self.row_chars[shown]


def _location(check: Check) -> str | None:
    """Where the rule is written, a code span: `file:line`, or `rules[i]` for a config that was
    not YAML text (a mapping sent to the service); None when unknown."""
    loc = check.location
    if loc is None:
        return None
    if loc.line is None:
        return md_code(f"rules[{check.rule_index}]")
    return md_code(f"{clip(loc.source, MAX_LABEL)}:{loc.line}")


def _splits_text(splits: Sequence[str]) -> str:
    shown = ", ".join(untrusted(s, MAX_CLASS) for s in splits[:3])
    return shown + (", …" if len(splits) > 3 else "")


def _what(bad: Sequence[Check], total: int, unit: tuple[str, str], *, kind: ThresholdKind) -> str:
    """How many checks of the rule missed, and how: `72 of 300 classes below`."""
    if total == 1:
        check = bad[0]
        name = f"{class_cell(check.class_name)} " if per_class(check) else ""
        if not numeric(check):
            return name + untrusted(check.message, MAX_MESSAGE)
        if kind.is_regression:
            moved = f"{change(check)} ({num(check.baseline)} → {num(check.actual)})"
            return name + moved + interval(check)
        past = gap(check)
        if check.status is Status.PASS or past is None or past <= 0:
            return name + num(check.actual)
        side = "over" if kind is ThresholdKind.MAX else "short"
        return f"{name}{num(check.actual)} ({num(past)} {side})"
    missed = sum(1 for c in bad if numeric(c) and c.status is not Status.SKIP)
    malformed = sum(1 for c in bad if c.status is Status.ERROR)
    rare = sum(1 for c in bad if c.status is Status.SKIP and c.rare)
    skipped = sum(1 for c in bad if c.status is Status.SKIP) - rare
    missing = len(bad) - missed - malformed - skipped - rare
    counted = [
        (n, phrase)
        for n, phrase in (
            (missed, _VERBS[kind]),
            (malformed, "malformed"),
            (missing, "with no value"),
            (skipped, "skipped (no data)"),
            (rare, "skipped (too few instances)"),
        )
        if n
    ]
    (first, phrase), rest = counted[0], counted[1:]
    head = f"{first:,} of {total:,} {unit[1]} {phrase}"
    if missed and not kind.is_regression:
        head += _already(bad, kind)
    return ", ".join([head, *(f"{n:,} {phrase}" for n, phrase in rest)])


def _already(bad: Sequence[Check], kind: ThresholdKind) -> str:
    """Of the checks past a floor or ceiling, how many the baseline was past too: whether the
    change under review made them fail."""
    known = [
        c for c in bad if numeric(c) and c.status is not Status.SKIP and c.baseline is not None
    ]
    if not known:
        return ""
    if kind is ThresholdKind.MAX:
        before = sum(
            1 for c in known if c.baseline is not None and c.baseline > c.threshold + TOLERANCE
        )
    else:
        before = sum(
            1 for c in known if c.baseline is not None and c.baseline < c.threshold - TOLERANCE
        )
    where = _VERBS[kind]
    return (
        f" ({before:,} already {where} in the baseline)"
        if before
        else f" (none {where} in the baseline)"
    )


def _worst(bad: Sequence[Check], *, by_class: bool, many_splits: bool) -> str:
    """The worst checks by name and number: `worst: part-062 (0.4100), part-070 (0.4140), …`."""
    known = [c for c in bad if numeric(c) and c.status is not Status.SKIP]
    named = []
    for check in known[:WORST_NAMED]:
        if by_class and per_class(check):
            name = class_cell(check.class_name)
            if many_splits:
                name += f" ({untrusted(check.split, MAX_CLASS)}, {change(check)})"
            else:
                name += f" ({change(check)})"
        else:
            name = f"{untrusted(check.split, MAX_CLASS)} ({change(check)})"
        named.append(name)
    if not named:
        return ""
    text = ", ".join(named)
    if len(known) > WORST_NAMED:
        return f"worst: {text}, …"
    return text
