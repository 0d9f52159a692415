"""The gate's outcome as a Markdown report, shortened to fit a size limit (a GitHub comment).

The report tells its story first, whatever the number of classes: the verdict, then one line
per rule that failed or warned (with where it is written in the config, how many checks it
missed and the worst of them), then one section per evaluation with, for each such rule, its
checks worst first (the first few open, the rest folded in `<details>`), and the passing
checks folded at the end. When the evaluation has a baseline every row shows the baseline's
value and the change, and a line counts the classes that improved and got worse.

The report is a tree of frozen view values built here, from the outcome, with every untrusted
string already escaped (`gate.report.markdown`) and every number already formatted; the jinja2
templates in `templates/` only lay those strings out. To fit a size limit (`max_chars`
characters and/or `max_bytes` bytes of UTF-8) the report is rendered at the first level that
fits, each built from whole blocks only — it is folded and summarised, never cut:

1. full: every check;
2. folded: passing checks are counted, not listed;
3. summarised: at most N checks listed per failing rule, worst first (N as large as fits);
4. truncated: whole evaluation sections dropped from the end (the summary lines of every
   failing rule stay);
5. the verdict and as many summary lines as fit;

and, as a last resort, the verdict and counts alone.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gate.core.errors import GateError
from gate.core.metrics import METRICS, TaskType
from gate.core.model import DIFFERENT_VERSION, ThresholdKind
from gate.core.outcome import Check, EvalOutcome, GateOutcome, Status, Verdict
from gate.report.markdown import md_code, md_text, md_url, public_url
from gate.report.ranking import RANK as _RANK
from gate.report.ranking import gap as _gap
from gate.report.ranking import numeric as _numeric
from gate.report.ranking import per_class as _per_class
from gate.report.ranking import worst_first as _worst_first
from gate.report.tables import passing_columns as _columns
from gate.report.tables import prefix_chars as _prefix_chars
from gate.report.tables import row_chars as _row_chars
from gate.report.tables import rule_columns as _rule_columns
from gate.report.tables import table as _table
from gate.report.text import MAX_CLASS as _MAX_CLASS
from gate.report.text import MAX_LABEL as _MAX_LABEL
from gate.report.text import MAX_MESSAGE as _MAX_MESSAGE
from gate.report.text import STATUS_ICONS as _STATUS_ICONS
from gate.report.text import VERDICT_WORDS as _VERDICT_WORDS
from gate.report.text import Tally as _Tally
from gate.report.text import change as _change
from gate.report.text import class_cell as _class_cell
from gate.report.text import clip as _clip
from gate.report.text import interval as _interval
from gate.report.text import metric_cell as _metric
from gate.report.text import num as _num
from gate.report.text import plural as _plural
from gate.report.text import signed as _signed
from gate.report.text import threshold_rule as _threshold_rule
from gate.report.text import untrusted as _untrusted
from gate.report.trend import MAX_CHARTS, trend_block
from gate.report.view import Column, EvalView, ReportView, RuleView, Table

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

# Size limits of the places the report goes.
DEFAULT_MAX_CHARS = 65_000  # a PR comment (GitHub allows 65,536 characters; room for a marker)
CHECK_RUN_MAX_CHARS = 65_535  # a check run's output summary
SUMMARY_MAX_BYTES = 1024 * 1024  # a job summary (GITHUB_STEP_SUMMARY), in bytes of UTF-8
MIN_MAX_CHARS = 200  # below this even the verdict and a note may not fit
DEFAULT_FULL_REPORT_HINT = "See the CI job that ran eval-gate for the full report."
TEMPLATE_NAME = "report.md.j2"

OPEN_ROWS = 5  # checks of a failing rule shown open; the rest are folded in <details>
WORST_NAMED = 3  # worst checks named in a rule's summary line
MAX_STORY = 12  # summary lines under the verdict; beyond that they are counted


_LEGEND = "✅ passed · ❌ failed · 🚫 malformed data · ⚠️ warning · ⏭️ skipped (no data)"
_LEGEND_RARE = _LEGEND.replace("(no data)", "(no data, or too few instances)")
_TASK_NAMES: dict[TaskType, str] = {
    TaskType.DETECTION: "object detection",
    TaskType.SEGMENTATION: "semantic segmentation",
}
_SAME = 0.00005  # a change that rounds to ±0.0000 is no change
_MAX_CHANGES = 2  # metrics whose per-class changes are counted
_TOL = 1e-9  # as gate.core.evaluate compares


class TemplatesNotFoundError(GateError):
    """The report templates are not where an installed or checked-out eval-gate keeps them."""


# --- number and text formatting ---------------------------------------------------------------


# --- how far a check misses -------------------------------------------------------------------


# --- building the view ------------------------------------------------------------------------


def _candidate_line(ev: EvalOutcome) -> str:
    """` · eval X · model M · dataset version V · created T`: what is known of the candidate
    beyond its id, or why that is unknown (its results come from a saved file)."""
    p = ev.provenance
    if p is None:
        return ""
    if p.model_id is None and p.version_id is None and p.created_at is None:
        if p.unknown is None:
            return ""
        why = md_text(_clip(p.unknown, _MAX_MESSAGE))
        eval_id = md_code(_clip(ev.eval_id, _MAX_LABEL))
        return f" · eval {eval_id} · model, dataset version: unknown ({why})"
    parts = [f"eval {md_code(_clip(ev.eval_id, _MAX_LABEL))}"]
    if p.model_id is not None:
        parts.append(f"model {md_code(_clip(p.model_id, _MAX_LABEL))}")
    if p.version_id is not None:
        parts.append(f"dataset version {md_code(_clip(p.version_id, _MAX_LABEL))}")
    if p.created_at is not None:
        parts.append(f"created {md_text(_clip(p.created_at, _MAX_LABEL))}")
    return " · " + " · ".join(parts)


def _baseline_line(ev: EvalOutcome) -> str | None:
    """The baseline's id, how it was chosen and whether it was measured on the same test set."""
    if not ev.baseline_id:
        return None
    out = md_code(_clip(ev.baseline_id, _MAX_LABEL))
    p = ev.provenance
    if p is None:
        return out
    notes = []
    if p.baseline_chosen and p.baseline_chosen != "given":
        notes.append(md_text(_clip(p.baseline_chosen, _MAX_MESSAGE)))
    if p.baseline_same_version is True:
        notes.append("same dataset version")
    elif p.baseline_same_version is False:
        notes.append(f"⚠️ **{DIFFERENT_VERSION}**")
    return out + (f" ({'; '.join(notes)})" if notes else "")


def _source_text(source: str) -> str:
    """The config file as a reader knows it: relative to the working directory (the checkout)
    when it is inside it, as given otherwise."""
    path = Path(source)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except (ValueError, OSError):
            pass
    return source


def _location(check: Check) -> str | None:
    """Where the rule is written, a code span: `file:line`, or `rules[i]` for a config that was
    not YAML text (a mapping sent to the service); None when unknown."""
    loc = check.location
    if loc is None:
        return None
    if loc.line is None:
        return md_code(f"rules[{check.rule_index}]")
    return md_code(f"{_clip(_source_text(loc.source), _MAX_LABEL)}:{loc.line}")


def _splits_text(splits: Sequence[str]) -> str:
    shown = ", ".join(_untrusted(s, _MAX_CLASS) for s in splits[:3])
    return shown + (", …" if len(splits) > 3 else "")


_VERBS: dict[ThresholdKind, str] = {
    ThresholdKind.MIN: "below",
    ThresholdKind.MAX: "above",
    ThresholdKind.MAX_DROP: "dropped more than allowed",
    ThresholdKind.MAX_DROP_PCT: "dropped more than allowed",
}


@dataclass(frozen=True, slots=True)
class _RuleParts:
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
    ) -> _RuleParts:
        """`bad`: the rule's checks that did not pass; `every`: all of its checks."""
        bad = sorted(bad, key=_worst_first)
        first = bad[0]
        rank = _RANK[first.status]
        statuses = tuple(c.status for c in bad)
        if rank == 0:  # failed: malformed data only, or thresholds missed
            icon = _STATUS_ICONS[Status.FAIL if Status.FAIL in statuses else Status.ERROR]
        else:
            icon = _STATUS_ICONS[first.status]
        splits = list(dict.fromkeys(c.split for c in every))
        per_class = any(c.class_name is not None for c in every)
        if per_class and len(splits) == 1 and all(_per_class(c) for c in every):
            unit = ("class", "classes")
        elif not per_class:
            unit = ("split", "splits")
        else:
            unit = ("check", "checks")
        rule = f"{_metric(first)} {_threshold_rule(first)}" + (" per class" if per_class else "")
        scope = _splits_text(splits)
        what = _what(bad, len(every), unit, kind=first.kind)
        # With a single check its number is already said.
        worst = (
            "" if len(every) == 1 else _worst(bad, per_class=per_class, many_splits=len(splits) > 1)
        )
        location = _location(first)
        # The rule, where it is written (early in the line, so it is not broken across lines),
        # how many checks missed it, and the worst of them.
        story = f"{icon} **{rule}** ({scope})" + (f" {location}" if location else "")
        story += f": {what}" + (f" — {worst}" if worst else "")
        if delta_mark and any(c.delta is not None for c in bad):
            story += delta_mark  # the line gives drops against a baseline on another test set
        cols = _rule_columns(
            with_class=per_class,
            with_split=len(splits) > 1,
            with_baseline=with_baseline,
            with_message=not all(_numeric(c) for c in bad),
            delta_mark=delta_mark,
            with_support=any(c.support is not None for c in bad),
        )
        table = _table(cols, bad)
        return cls(
            rank=rank,
            icon=icon,
            title=f"{rule} ({scope}): {what}",
            story=story,
            rows=table.rows,
            columns=table.columns,
            statuses=statuses,
            row_chars=_prefix_chars(table.rows),
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
            hidden = _Tally.of(self.statuses[shown:])
            more = (
                f"…and {_plural(self.count - shown, 'more check')} not shown: {hidden.nonzero()}."
            )
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


def _what(bad: Sequence[Check], total: int, unit: tuple[str, str], *, kind: ThresholdKind) -> str:
    """How many checks of the rule missed, and how: `72 of 300 classes below`."""
    if total == 1:
        check = bad[0]
        name = f"{_class_cell(check.class_name)} " if _per_class(check) else ""
        if not _numeric(check):
            return name + _untrusted(check.message, _MAX_MESSAGE)
        if kind.is_regression:
            change = f"{_change(check)} ({_num(check.baseline)} → {_num(check.actual)})"
            return name + change + _interval(check)
        gap = _gap(check)
        if check.status is Status.PASS or gap is None or gap <= 0:
            return name + _num(check.actual)
        side = "over" if kind is ThresholdKind.MAX else "short"
        return f"{name}{_num(check.actual)} ({_num(gap)} {side})"
    missed = sum(1 for c in bad if _numeric(c) and c.status is not Status.SKIP)
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


def _why_skipped(skipped: Sequence[Check]) -> str:
    """Why the folded checks were skipped: no data, too few instances of their class, or both."""
    rare = sum(1 for c in skipped if c.rare)
    if not rare:
        return "no data"
    return "too few instances" if rare == len(skipped) else "no data, or too few instances"


def _already(bad: Sequence[Check], kind: ThresholdKind) -> str:
    """Of the checks past a floor or ceiling, how many the baseline was past too: whether the
    change under review made them fail."""
    known = [
        c for c in bad if _numeric(c) and c.status is not Status.SKIP and c.baseline is not None
    ]
    if not known:
        return ""
    if kind is ThresholdKind.MAX:
        before = sum(1 for c in known if c.baseline is not None and c.baseline > c.threshold + _TOL)
    else:
        before = sum(1 for c in known if c.baseline is not None and c.baseline < c.threshold - _TOL)
    where = _VERBS[kind]
    return (
        f" ({before:,} already {where} in the baseline)"
        if before
        else f" (none {where} in the baseline)"
    )


def _worst(bad: Sequence[Check], *, per_class: bool, many_splits: bool) -> str:
    """The worst checks by name and number: `worst: part-062 (0.4100), part-070 (0.4140), …`."""
    numeric = [c for c in bad if _numeric(c) and c.status is not Status.SKIP]
    named = []
    for check in numeric[:WORST_NAMED]:
        if per_class and _per_class(check):
            name = _class_cell(check.class_name)
            if many_splits:
                name += f" ({_untrusted(check.split, _MAX_CLASS)}, {_change(check)})"
            else:
                name += f" ({_change(check)})"
        else:
            name = f"{_untrusted(check.split, _MAX_CLASS)} ({_change(check)})"
        named.append(name)
    if not named:
        return ""
    text = ", ".join(named)
    if len(numeric) > WORST_NAMED:
        return f"worst: {text}, …"
    return text


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
        spec = METRICS.get(metric)
        label = md_text(spec.label if spec else _clip(metric, _MAX_CLASS))
        if size:
            label += f" ({_untrusted(size, _MAX_CLASS)})"
        text = (
            f"{label} on {_untrusted(split, _MAX_CLASS)}: {worse:,} of "
            f"{_plural(len(values), 'class', 'classes')} got worse, {better:,} improved"
        )
        if same:
            text += f", {same:,} unchanged"
        text += f" (median Δ {_signed(statistics.median(values))})"
        parts.append(text)
    if not parts:
        return None
    more = len(chosen) - len(parts)
    if more:
        parts.append(f"{_plural(more, 'more metric')} not summarised")
    return "Per class against the baseline: " + "; ".join(parts) + "."


_RuleKey = tuple[int, str, str, str | None, ThresholdKind, float]


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


@dataclass(frozen=True, slots=True)
class _EvalParts:
    """Everything about one evaluation's section, built once; views at each level slice it."""

    full: EvalView  # every check listed
    rules: tuple[_RuleParts, ...]  # rules that failed or warned, in report order
    folded_chars: int  # length of every row folded away at level 2 (passing, skipped)
    passing_count: int
    skipped_count: int  # checks of rules that only skipped

    @classmethod
    def build(cls, ev: EvalOutcome, *, chart: bool = True) -> _EvalParts:
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
                _RuleParts.build(
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
        built.sort(key=lambda b: (b[0].rank, any(_per_class(c) for c in b[2]), b[1][0]))
        rules = tuple(parts for parts, _, _ in built)
        passing = [c for c in ev.checks if c.status is Status.PASS and c.class_name is None]
        per_class = sorted(
            (c for c in ev.checks if c.status is Status.PASS and c.class_name is not None),
            key=lambda c: (c.class_name or "").casefold(),
        )

        def table(checks: Sequence[Check], *, per_class: bool, skip: bool = False) -> Table | None:
            if not checks:
                return None
            cols = _columns(
                with_class=per_class,
                class_first=per_class and not skip,
                with_baseline=with_baseline and not skip,
                with_message=skip,
                delta_mark=delta_mark,
                with_support=any(c.support is not None for c in checks),
            )
            return _table(cols, checks)

        skipped_table = table(skipped, per_class=any(_per_class(c) for c in skipped), skip=True)
        passing_table = table(passing, per_class=False)
        class_table = table(per_class, per_class=True)
        n_classes = len({c.class_name for c in per_class})
        verdict_icon, _ = _VERDICT_WORDS[ev.verdict]
        url = public_url(ev.url)
        full = EvalView(
            icon=verdict_icon,
            label=_untrusted(ev.label, _MAX_LABEL) or md_text(_clip(ev.eval_id, _MAX_LABEL)),
            url=md_url(url) if url else None,
            task=_TASK_NAMES.get(ev.task_type, md_text(str(ev.task_type))) + _candidate_line(ev),
            baseline=_baseline_line(ev),
            counts=_Tally.of(c.status for c in ev.checks).nonzero(),
            changes=_marked(_changes(ev.checks), delta_mark) if with_baseline else None,
            empty=None if ev.checks else "No checks ran on this evaluation.",
            rules=tuple(r.view() for r in rules),
            skipped=skipped_table,
            skipped_summary=f"{_plural(len(skipped), 'check')} skipped ({_why_skipped(skipped)})",
            passing=passing_table,
            passing_summary=_plural(len(passing), "passing check"),
            per_class=class_table,
            per_class_summary=(
                f"Per-class results: {_plural(len(per_class), 'passing check')}"
                f" on {_plural(n_classes, 'class', 'classes')}"
            ),
            not_shown=None,
            trend=trend_block(ev.trend, chart=chart),
        )
        folded_chars = sum(
            _row_chars(row)
            for t in (skipped_table, passing_table, class_table)
            if t
            for row in t.rows
        )
        return cls(
            full=full,
            rules=rules,
            folded_chars=folded_chars,
            passing_count=len(passing) + len(per_class),
            skipped_count=len(skipped),
        )

    @property
    def largest_rule(self) -> int:
        return max((r.count for r in self.rules), default=0)

    def _not_shown(self) -> str | None:
        parts = []
        if self.passing_count:
            parts.append(_plural(self.passing_count, "passing check"))
        if self.skipped_count:
            parts.append(_plural(self.skipped_count, "skipped check"))
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


def _verdict_counts(verdicts: Sequence[Verdict]) -> str:
    """`2 failed, 1 passed with warnings`: how many evaluations got each verdict."""
    words = {Verdict.FAIL: "failed", Verdict.WARN: "passed with warnings", Verdict.PASS: "passed"}
    return ", ".join(
        f"{n:,} {words[v]}" for v in words if (n := sum(1 for x in verdicts if x is v))
    )


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _story(evals: Sequence[EvalOutcome], parts: Sequence[_EvalParts]) -> tuple[str, ...]:
    """One line per rule that failed or warned: failing ones first, evaluations in order."""
    labelled = len(evals) > 1
    lines: list[tuple[int, str]] = []
    for ev, part in zip(evals, parts, strict=True):
        label = _untrusted(ev.label, _MAX_LABEL) or md_text(_clip(ev.eval_id, _MAX_LABEL))
        for rule in part.rules:
            story = rule.story
            if labelled:
                icon, _, rest = story.partition(" ")
                story = f"{icon} {label} · {rest}"
            lines.append((rule.rank, story))
    lines.sort(key=lambda line: line[0])  # stable: evaluations and rules keep their order
    return tuple(text for _, text in lines)


def _story_more(hidden: Sequence[str]) -> str | None:
    if not hidden:
        return None
    failing = sum(1 for line in hidden if not line.startswith(_STATUS_ICONS[Status.WARN]))
    warning = len(hidden) - failing
    parts = []
    if failing:
        parts.append(_plural(failing, "more failing rule"))
    if warning:
        parts.append(_plural(warning, "more rule", "more rules") + " with warnings")
    return "…and " + " and ".join(parts) + "."


@dataclass(frozen=True, slots=True)
class _Report:
    """The whole report, built once, and the view at each level of shortening."""

    head: ReportView  # every eval section in full, no note
    story: tuple[str, ...]  # every summary line
    parts: tuple[_EvalParts, ...]
    verdicts: tuple[Verdict, ...]
    hint: str

    @classmethod
    def build(cls, outcome: GateOutcome, *, title: str, hint: str) -> _Report:
        charted = [i for i, ev in enumerate(outcome.evals) if ev.trend is not None]
        parts = tuple(
            _EvalParts.build(ev, chart=i in charted[:MAX_CHARTS])
            for i, ev in enumerate(outcome.evals)
        )
        icon, word = _VERDICT_WORDS[outcome.verdict]
        tally = _Tally.of(c.status for c in outcome.checks)
        counts = (
            f"{_plural(tally.total, 'check')} on {_plural(len(outcome.evals), 'evaluation')}: "
            f"{tally.full()}."
        )
        story = _story(outcome.evals, parts)
        head = ReportView(
            title=_untrusted(title, _MAX_LABEL),
            icon=icon,
            verdict=word,
            counts=counts,
            story=story[:MAX_STORY],
            story_more=_story_more(story[MAX_STORY:]),
            note=None,
            evals=tuple(p.full for p in parts),
            evals_not_shown=None,
            legend=(
                (_LEGEND_RARE if any(c.rare for c in outcome.checks) else _LEGEND)
                if tally.total
                else None
            ),
        )
        return cls(
            head=head,
            story=story,
            parts=parts,
            verdicts=tuple(ev.verdict for ev in outcome.evals),
            hint=_single_line(hint),
        )

    def _note(self, limit: str, what: Sequence[str]) -> str:
        return f"**This report was shortened** to fit in {limit}: {'; '.join(what)}. {self.hint}"

    def view(
        self,
        limit: str,
        *,
        fold: bool,
        cap: int | None = None,
        shown: int | None = None,
        lines: int | None = None,
    ) -> ReportView:
        if not fold:
            return self.head
        what = ["passing checks are not listed"]
        if cap is not None:
            listed = "check is" if cap == 1 else f"{cap:,} checks are"
            what.append(f"only the worst {listed} listed for each rule")
            if any(p.full.trend for p in self.parts):
                what.append("trend charts are not shown")
        parts = self.parts if shown is None else self.parts[:shown]
        evals_not_shown = None
        if shown is not None and shown < len(self.parts):
            dropped = len(self.parts) - shown
            if shown == 0:
                what = ["no evaluation details are shown"]
            else:
                what.append(f"the last {_plural(dropped, 'evaluation')} are not shown")
            evals_not_shown = (
                f"**{_plural(dropped, 'more evaluation')} not shown**: "
                f"{_verdict_counts(self.verdicts[shown:])}."
            )
        story, story_more = self.head.story, self.head.story_more
        if lines is not None and lines < len(story):
            what.append(f"only the first {_plural(lines, 'rule')} that did not pass are summarised")
            story, story_more = story[:lines], _story_more(self.story[lines:])
        return replace(
            self.head,
            story=story,
            story_more=story_more,
            note=self._note(limit, what),
            evals=tuple(p.view(fold=True, cap=cap) for p in parts),
            evals_not_shown=evals_not_shown,
        )

    def min_chars(self, *, fold: bool, cap: int | None, shown: int | None) -> int:
        parts = self.parts if shown is None else self.parts[:shown]
        return sum(p.min_chars(fold=fold, cap=cap) for p in parts)

    def minimal(self, limit: str, fits: Callable[[str], bool]) -> str:
        """The last resort: verdict, counts and a note, as many as fit (always the verdict)."""
        head = self.head
        titled = f"## {head.icon} {head.title}: **{head.verdict}**\n"
        bare = f"## {head.icon} **{head.verdict}**\n"
        counts = f"\n{head.counts}\n"
        note = f"\n> {self._note(limit, ['no evaluation details are shown'])}\n"
        short = f"\n> **This report was shortened**: nothing more fits in {limit}.\n"
        for candidate in (
            titled + counts + note,
            bare + counts + note,
            bare + counts + short,
            bare + short,
        ):
            if fits(candidate):
                return candidate
        return bare


# --- templates --------------------------------------------------------------------------------


def package_dir() -> Path:
    """The installed `gate` package's folder; its data folders (`templates/`, `schema/`) are
    found in it the one way, `importlib.resources.files("gate") / name`. In a checkout (and an
    editable install) `gate/templates` and `gate/schema` are committed links to the top-level
    `templates/` and `schema/`; a wheel (hatch follows the links) holds them as files."""
    from importlib.resources import files  # noqa: PLC0415 - only when rendering

    return Path(str(files("gate")))


def find_template_dir(package: Path) -> Path:
    """`package/templates`, holding the report template (the real folder, links resolved)."""
    candidate = package / "templates"
    if (candidate / TEMPLATE_NAME).is_file():
        return candidate.resolve()
    raise TemplatesNotFoundError(
        f"eval-gate's report templates are missing (looked in {candidate}); reinstall eval-gate"
    )


@functools.cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined  # noqa: PLC0415 - deferred: import cost
    from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415 - deferred: import cost

    return SandboxedEnvironment(
        loader=FileSystemLoader(find_template_dir(package_dir())),
        autoescape=False,  # Markdown, not HTML: the view is escaped when it is built
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@functools.cache
def _template() -> Template:
    return _environment().get_template(TEMPLATE_NAME)


def warm_up() -> None:
    """Import jinja2 and compile the templates now (e.g. in a thread while the network waits)."""
    _template()


def _render(view: ReportView) -> str:
    return _template().render(report=view)


# --- shortening -------------------------------------------------------------------------------


def _largest(low: int, high: int, fits: Callable[[int], str | None]) -> tuple[int, str] | None:
    """The largest n in [low, high] whose rendering fits (assumed monotone), and that rendering."""
    best: tuple[int, str] | None = None
    while low <= high:
        mid = (low + high) // 2
        out = fits(mid)
        if out is None:
            high = mid - 1
        else:
            best = (mid, out)
            low = mid + 1
    return best


def _limit_text(max_chars: int | None, max_bytes: int | None) -> str:
    if max_chars is not None and max_bytes is not None:
        return f"{max_chars:,} characters and {max_bytes:,} bytes"
    if max_bytes is not None:
        return f"{max_bytes:,} bytes"
    return f"{max_chars:,} characters"


def render_report(
    outcome: GateOutcome,
    *,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    max_bytes: int | None = None,
    title: str = "eval-gate",
    full_report_hint: str | None = None,
) -> str:
    """The Markdown report of `outcome`, within the size limits given (None: no limit).

    `max_chars` counts characters (a PR comment: `DEFAULT_MAX_CHARS`; a check run's summary:
    `CHECK_RUN_MAX_CHARS`), `max_bytes` bytes of UTF-8 (a job summary: `SUMMARY_MAX_BYTES`
    less what the file already holds); the report fits both. `full_report_hint` is a Markdown
    sentence saying where the full report is, put in the note of a shortened report (e.g.
    "The full report is in the job summary."); it is trusted.
    """
    for name, value in (("max_chars", max_chars), ("max_bytes", max_bytes)):
        if value is not None and value < MIN_MAX_CHARS:
            raise ValueError(f"{name} must be at least {MIN_MAX_CHARS}, not {value}")
    report = _Report.build(outcome, title=title, hint=full_report_hint or DEFAULT_FULL_REPORT_HINT)
    if max_chars is None and max_bytes is None:
        return _render(report.head)
    # Characters are never more than bytes: one bound prunes renderings that cannot fit.
    bound = min(x for x in (max_chars, max_bytes) if x is not None)
    limit = _limit_text(max_chars, max_bytes)

    def fits(text: str) -> bool:
        if max_chars is not None and len(text) > max_chars:
            return False
        # Each character is at most 4 bytes: only measure when it might matter.
        return max_bytes is None or len(text) * 4 <= max_bytes or len(text.encode()) <= max_bytes

    def attempt(
        *, fold: bool, cap: int | None = None, shown: int | None = None, lines: int | None = None
    ) -> str | None:
        if report.min_chars(fold=fold, cap=cap, shown=shown) > bound:
            return None  # cannot fit: skip rendering it
        out = _render(report.view(limit, fold=fold, cap=cap, shown=shown, lines=lines))
        return out if fits(out) else None

    # 1. full, 2. passing checks folded
    for fold in (False, True):
        out = attempt(fold=fold)
        if out is not None:
            return out
    # 3. at most `cap` checks listed per rule
    largest = max((p.largest_rule for p in report.parts), default=0)
    found = _largest(1, largest - 1, lambda cap: attempt(fold=True, cap=cap))
    if found is not None:
        return found[1]
    # 4. the first `shown` evaluations only, each with as many checks per rule as fit
    n_evals = len(report.parts)
    found = _largest(0, n_evals - 1, lambda n: attempt(fold=True, cap=1, shown=n))
    if found is not None:
        shown, out = found
        if shown == 0:
            return out
        largest = max((p.largest_rule for p in report.parts[:shown]), default=0)
        more = _largest(2, largest, lambda cap: attempt(fold=True, cap=cap, shown=shown))
        return more[1] if more is not None else out
    # 5. the verdict and the first summary lines
    found = _largest(
        1, len(report.head.story) - 1, lambda n: attempt(fold=True, cap=1, shown=0, lines=n)
    )
    if found is not None:
        return found[1]
    return report.minimal(limit, fits)
