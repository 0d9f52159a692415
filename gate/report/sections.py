"""One evaluation's section of the report, built once: its heading (label, link, task, what
is known of the candidate, the baseline and how it was chosen), its counts, how many classes
improved and got worse against the baseline, its trend, a `RuleSection` per rule that failed
or warned, and the folded tables of skipped and passing checks.

The section is shortened by its views: `view(fold=True)` counts the passing and skipped checks
instead of listing them, `view(fold=True, cap=n)` also lists at most n checks per rule.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gate.core.metrics import TaskType
from gate.core.model import DIFFERENT_VERSION, ThresholdKind
from gate.core.outcome import Check, EvalOutcome, Status
from gate.report.markdown import md_code, md_text, md_url, public_url
from gate.report.ranking import per_class
from gate.report.rules import RuleSection
from gate.report.tables import passing_columns, row_chars, table
from gate.report.text import (
    MAX_CLASS,
    MAX_LABEL,
    MAX_MESSAGE,
    VERDICT_WORDS,
    Tally,
    clip,
    metric_text,
    plural,
    signed,
    untrusted,
)
from gate.report.trend import trend_block
from gate.report.view import EvalView, Table

__all__ = ["EvalSection", "eval_label"]

_TASK_NAMES: dict[TaskType, str] = {
    TaskType.DETECTION: "object detection",
    TaskType.SEGMENTATION: "semantic segmentation",
}
_SAME = 0.00005  # a change that rounds to ±0.0000 is no change
_MAX_CHANGES = 2  # metrics whose per-class changes are counted

_RuleKey = tuple[int, str, str, str | None, ThresholdKind, float]


def eval_label(ev: EvalOutcome) -> str:
    """The evaluation as the report names it: its label, or its id."""
    return untrusted(ev.label, MAX_LABEL) or md_text(clip(ev.eval_id, MAX_LABEL))


@dataclass(frozen=True, slots=True)
class EvalSection:
    """Everything about one evaluation's section, built once; views at each level slice it."""

    full: EvalView  # every check listed
    rules: tuple[RuleSection, ...]  # rules that failed or warned, in report order
    folded_chars: int  # length of every row folded away at level 2 (passing, skipped)
    passing_count: int
    skipped_count: int  # checks of rules that only skipped

    @classmethod
    def build(cls, ev: EvalOutcome, *, chart: bool = True) -> EvalSection:
        with_baseline = ev.baseline_id is not None or any(
            c.baseline is not None or c.kind.is_regression for c in ev.checks
        )
        different = ev.provenance is not None and ev.provenance.different_version
        delta_mark = f" ⚠️ {DIFFERENT_VERSION}" if different else ""
        every: dict[_RuleKey, list[Check]] = {}
        bad: dict[_RuleKey, list[Check]] = {}
        for check in ev.checks:
            key = _rule_key(check)
            every.setdefault(key, []).append(check)
            if check.status is not Status.PASS:
                bad.setdefault(key, []).append(check)
        # Rules that only skipped (no data) have nothing to act on: they are folded together.
        skipped = [
            c for checks in bad.values() if all(c.status is Status.SKIP for c in checks)
            for c in checks
        ]  # fmt: skip
        built = [
            (
                RuleSection.build(
                    checks, every[key], with_baseline=with_baseline, delta_mark=delta_mark
                ),
                key,
                checks,
            )
            for key, checks in bad.items()
            if any(c.status is not Status.SKIP for c in checks)
        ]
        # Failing rules first, then warnings; split-level rules before per-class ones; then
        # as written in the config.
        built.sort(key=lambda b: (b[0].rank, any(per_class(c) for c in b[2]), b[1][0]))
        rules = tuple(section for section, _, _ in built)
        passing = [c for c in ev.checks if c.status is Status.PASS and c.class_name is None]
        by_class = sorted(
            (c for c in ev.checks if c.status is Status.PASS and c.class_name is not None),
            key=lambda c: (c.class_name or "").casefold(),
        )

        def folded(
            checks: Sequence[Check], *, with_class: bool, skip: bool = False
        ) -> Table | None:
            if not checks:
                return None
            cols = passing_columns(
                with_class=with_class,
                class_first=with_class and not skip,
                with_baseline=with_baseline and not skip,
                with_message=skip,
                delta_mark=delta_mark,
                with_support=any(c.support is not None for c in checks),
            )
            return table(cols, checks)

        skipped_table = folded(skipped, with_class=any(per_class(c) for c in skipped), skip=True)
        passing_table = folded(passing, with_class=False)
        class_table = folded(by_class, with_class=True)
        n_classes = len({c.class_name for c in by_class})
        verdict_icon, _ = VERDICT_WORDS[ev.verdict]
        url = public_url(ev.url)
        full = EvalView(
            icon=verdict_icon,
            label=eval_label(ev),
            url=md_url(url) if url else None,
            task=_TASK_NAMES.get(ev.task_type, md_text(str(ev.task_type))) + _candidate_line(ev),
            baseline=_baseline_line(ev),
            counts=Tally.of(c.status for c in ev.checks).nonzero(),
            changes=_marked(_changes(ev.checks), delta_mark) if with_baseline else None,
            empty=None if ev.checks else "No checks ran on this evaluation.",
            rules=tuple(r.view() for r in rules),
            skipped=skipped_table,
            skipped_summary=f"{plural(len(skipped), 'check')} skipped ({_why_skipped(skipped)})",
            passing=passing_table,
            passing_summary=plural(len(passing), "passing check"),
            per_class=class_table,
            per_class_summary=(
                f"Per-class results: {plural(len(by_class), 'passing check')}"
                f" on {plural(n_classes, 'class', 'classes')}"
            ),
            not_shown=None,
            trend=trend_block(ev.trend, chart=chart),
        )
        folded_chars = sum(
            row_chars(row)
            for t in (skipped_table, passing_table, class_table)
            if t
            for row in t.rows
        )
        return cls(
            full=full,
            rules=rules,
            folded_chars=folded_chars,
            passing_count=len(passing) + len(by_class),
            skipped_count=len(skipped),
        )

    @property
    def largest_rule(self) -> int:
        return max((r.count for r in self.rules), default=0)

    def _not_shown(self) -> str | None:
        parts = []
        if self.passing_count:
            parts.append(plural(self.passing_count, "passing check"))
        if self.skipped_count:
            parts.append(plural(self.skipped_count, "skipped check"))
        return f"{' and '.join(parts)} not shown." if parts else None

    def view(self, *, fold: bool, cap: int | None = None) -> EvalView:
        """The section with passing checks folded away and at most `cap` rows per rule."""
        if not fold:
            return self.full
        view = replace(
            self.full, skipped=None, passing=None, per_class=None, not_shown=self._not_shown()
        )
        if cap is not None:
            view = replace(view, trend=None)  # the trend goes before any failing check does
        if cap is None or cap >= self.largest_rule:
            return view
        return replace(view, rules=tuple(r.view(cap) for r in self.rules))

    def min_chars(self, *, fold: bool, cap: int | None = None) -> int:
        """A lower bound of the section's length: its table rows alone."""
        rows = sum(r.min_chars(cap) for r in self.rules)
        return rows + (0 if fold else self.folded_chars)


def _rule_key(check: Check) -> _RuleKey:
    """The rule threshold a check belongs to: each one is a line of the story."""
    return (
        check.rule_index,
        check.rule,
        check.metric,
        check.object_size,
        check.kind,
        check.threshold,
    )


def _candidate_line(ev: EvalOutcome) -> str:
    """` · eval X · model M · dataset version V · created T`: what is known of the candidate
    beyond its id, or why that is unknown (its results come from a saved file)."""
    p = ev.provenance
    if p is None:
        return ""
    if p.model_id is None and p.version_id is None and p.created_at is None:
        if p.unknown is None:
            return ""
        why = md_text(clip(p.unknown, MAX_MESSAGE))
        eval_id = md_code(clip(ev.eval_id, MAX_LABEL))
        return f" · eval {eval_id} · model, dataset version: unknown ({why})"
    parts = [f"eval {md_code(clip(ev.eval_id, MAX_LABEL))}"]
    if p.model_id is not None:
        parts.append(f"model {md_code(clip(p.model_id, MAX_LABEL))}")
    if p.version_id is not None:
        parts.append(f"dataset version {md_code(clip(p.version_id, MAX_LABEL))}")
    if p.created_at is not None:
        parts.append(f"created {md_text(clip(p.created_at, MAX_LABEL))}")
    return " · " + " · ".join(parts)


def _baseline_line(ev: EvalOutcome) -> str | None:
    """The baseline's id, how it was chosen and whether it was measured on the same test set."""
    if not ev.baseline_id:
        return None
    out = md_code(clip(ev.baseline_id, MAX_LABEL))
    p = ev.provenance
    if p is None:
        return out
    notes = []
    if p.baseline_chosen and p.baseline_chosen != "given":
        notes.append(md_text(clip(p.baseline_chosen, MAX_MESSAGE)))
    if p.baseline_same_version is True:
        notes.append("same dataset version")
    elif p.baseline_same_version is False:
        notes.append(f"⚠️ **{DIFFERENT_VERSION}**")
    return out + (f" ({'; '.join(notes)})" if notes else "")


def _why_skipped(skipped: Sequence[Check]) -> str:
    """Why the folded checks were skipped: no data, too few instances of their class, or both."""
    rare = sum(1 for c in skipped if c.rare)
    if not rare:
        return "no data"
    return "too few instances" if rare == len(skipped) else "no data, or too few instances"


def _marked(text: str | None, mark: str) -> str | None:
    return text + mark if text and mark else text


def _changes(checks: Sequence[Check]) -> str | None:
    """How many classes improved and got worse against the baseline, per metric and split."""
    groups: dict[tuple[str, str | None, str], dict[str, float]] = {}
    for check in checks:
        name, actual, baseline = check.class_name, check.actual, check.baseline
        if name is None or name == "*" or actual is None or baseline is None:
            continue
        delta = actual - baseline
        if not math.isfinite(delta):
            continue
        key = (check.metric, check.object_size, check.split)
        found = groups.get(key)
        if found is None:
            groups[key] = found = {}
        found[name] = delta
    # One count per metric, on the test split when there is one.
    chosen: dict[tuple[str, str | None], tuple[str, dict[str, float]]] = {}
    for (metric, size, split), deltas in groups.items():
        if (metric, size) not in chosen or split == "test":
            chosen[metric, size] = (split, deltas)
    parts = []
    for (metric, size), (split, deltas) in list(chosen.items())[:_MAX_CHANGES]:
        values = list(deltas.values())
        worse = sum(1 for d in values if d <= -_SAME)
        better = sum(1 for d in values if d >= _SAME)
        same = len(values) - worse - better
        text = (
            f"{metric_text(metric, size)} on {untrusted(split, MAX_CLASS)}: {worse:,} of "
            f"{plural(len(values), 'class', 'classes')} got worse, {better:,} improved"
        )
        if same:
            text += f", {same:,} unchanged"
        text += f" (median Δ {signed(statistics.median(values))})"
        parts.append(text)
    if not parts:
        return None
    more = len(chosen) - len(parts)
    if more:
        parts.append(f"{plural(more, 'more metric')} not summarised")
    return "Per class against the baseline: " + "; ".join(parts) + "."
