"""The gate's outcome as a Markdown report, shortened to fit a size limit (a GitHub comment).

The report is a tree of frozen view values built here, from the outcome, with every untrusted
string already escaped (`gate.markdown`) and every number already formatted; the jinja2
templates in `templates/` only lay those strings out. To fit `max_chars` the report is rendered
at the first level that fits, each built from whole blocks only:

1. full: every check;
2. folded: passing checks are counted, not listed;
3. summarised: at most N non-passing checks per evaluation (N as large as fits);
4. truncated: whole evaluation sections dropped from the end;

and, as a last resort, the verdict and counts alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gate.checks import Check, EvalOutcome, GateOutcome, Status, Verdict
from gate.errors import GateError
from gate.markdown import md_code, md_text, md_url, public_url
from gate.metrics import METRICS, TaskType
from gate.rules import ThresholdKind

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

DEFAULT_MAX_CHARS = 65_000
MIN_MAX_CHARS = 200  # below this even the verdict and a note may not fit
DEFAULT_FULL_REPORT_HINT = "See the CI job that ran eval-gate for the full report."
TEMPLATE_NAME = "report.md.j2"

# Untrusted strings are cut (before escaping) to keep one row from eating the whole budget.
_MAX_LABEL = 200
_MAX_CLASS = 100
_MAX_MESSAGE = 160

_VERDICT_WORDS: dict[Verdict, tuple[str, str]] = {
    Verdict.PASS: ("✅", "Passed"),
    Verdict.WARN: ("⚠️", "Passed with warnings"),
    Verdict.FAIL: ("❌", "Failed"),
}
_STATUS_ICONS: dict[Status, str] = {
    Status.PASS: "✅",
    Status.FAIL: "❌",
    Status.ERROR: "🚫",
    Status.WARN: "⚠️",
    Status.SKIP: "⏭️",
}
_LEGEND = "✅ passed · ❌ failed · 🚫 malformed data · ⚠️ warning · ⏭️ skipped (no data)"
# Non-passing checks are listed in this order: what fails the gate first.
_STATUS_ORDER: dict[Status, int] = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.SKIP: 3}
_TASK_NAMES: dict[TaskType, str] = {
    TaskType.DETECTION: "object detection",
    TaskType.SEGMENTATION: "semantic segmentation",
}


class TemplatesNotFoundError(GateError):
    """The report templates are not where an installed or checked-out eval-gate keeps them."""


# --- the view: what the templates see ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    delimiter: str  # the Markdown delimiter cell: `---`, `--:` or `:-:`


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]  # one cell per column, already escaped


@dataclass(frozen=True, slots=True)
class EvalView:
    icon: str
    label: str
    url: str | None  # safe inside `(...)`
    task: str
    baseline: str | None  # a code span
    counts: str
    empty: str | None  # said when the evaluation has no check at all
    failures: Table | None  # non-passing checks (maybe capped)
    failures_more: str | None  # "…and K more checks not shown (…)."
    passing: Table | None  # passing split-level checks
    passing_summary: str
    per_class: Table | None  # passing per-class checks
    per_class_summary: str
    not_shown: str | None  # "P passing checks not shown."


@dataclass(frozen=True, slots=True)
class ReportView:
    title: str
    icon: str
    verdict: str
    counts: str
    note: str | None  # why and how the report was shortened, and where the full one is
    evals: tuple[EvalView, ...]
    evals_not_shown: str | None
    legend: str | None


# --- number and text formatting ---------------------------------------------------------------

_MINUS = "\u2212"  # U+2212, a real minus sign: as wide as the plus sign of a positive delta


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else _MINUS + "∞")
    return f"{value:.4f}".replace("-", _MINUS)


def _signed(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return _num(value)
    magnitude = f"{abs(value):.4f}"
    if magnitude == "0.0000":
        return "±0.0000"
    return ("+" if value > 0 else _MINUS) + magnitude


def _g(value: float) -> str:
    return f"{value:g}".replace("-", _MINUS)


def _threshold(check: Check) -> str:
    kind = check.kind
    if kind is ThresholdKind.MIN:
        return f"≥ {_num(check.threshold)}"
    if kind is ThresholdKind.MAX:
        return f"≤ {_num(check.threshold)}"
    text = f"drop ≤ {_g(check.threshold)}" + ("%" if kind is ThresholdKind.MAX_DROP_PCT else "")
    if check.limit is not None:
        text += f" (≥ {_num(check.limit)})"
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _untrusted(text: str, limit: int) -> str:
    return md_text(_clip(text, limit))


def _metric(check: Check) -> str:
    spec = METRICS.get(check.metric)
    text = md_text(spec.label if spec else _clip(check.metric, _MAX_CLASS))
    if check.object_size:
        text += f" ({_untrusted(check.object_size, _MAX_CLASS)})"
    return text


def _class_cell(name: str | None) -> str:
    if name is None:
        return ""
    if not name.strip():
        return "_(blank)_"
    return _untrusted(name, _MAX_CLASS)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"


@dataclass(frozen=True, slots=True)
class _Tally:
    passed: int = 0
    failed: int = 0  # fail + error
    malformed: int = 0  # error
    warned: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, statuses: Iterable[Status]) -> _Tally:
        counts = dict.fromkeys(Status, 0)
        for status in statuses:
            counts[status] += 1
        return cls(
            passed=counts[Status.PASS],
            failed=counts[Status.FAIL] + counts[Status.ERROR],
            malformed=counts[Status.ERROR],
            warned=counts[Status.WARN],
            skipped=counts[Status.SKIP],
        )

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.warned + self.skipped

    def _failed(self) -> str:
        text = f"{self.failed:,} failed"
        if self.malformed:
            text += f" ({self.malformed:,} with malformed data)"
        return text

    def full(self) -> str:
        """Every count, zeros included: `3 failed, 1 warning, 7 passed, 0 skipped`."""
        return ", ".join(
            (
                self._failed(),
                _plural(self.warned, "warning"),
                f"{self.passed:,} passed",
                f"{self.skipped:,} skipped",
            )
        )

    def nonzero(self, *, passed: bool = True) -> str:
        """Only the counts that are not zero: `3 failed, 20 passed`."""
        parts = []
        if self.failed:
            parts.append(self._failed())
        if self.warned:
            parts.append(_plural(self.warned, "warning"))
        if self.passed and passed:
            parts.append(f"{self.passed:,} passed")
        if self.skipped:
            parts.append(f"{self.skipped:,} skipped")
        return ", ".join(parts)


# --- building the view ------------------------------------------------------------------------

_STATUS_COLUMN = Column("", ":-:")
_Cell = Callable[[Check], str]


def _columns(
    *, with_class: bool, class_first: bool, with_baseline: bool, with_message: bool
) -> tuple[tuple[Column, _Cell], ...]:
    cols: list[tuple[Column, _Cell]] = [(_STATUS_COLUMN, lambda c: _STATUS_ICONS[c.status])]
    class_col: tuple[Column, _Cell] = (Column("Class", "---"), lambda c: _class_cell(c.class_name))
    if with_class and class_first:
        cols.append(class_col)
    cols.append((Column("Metric", "---"), _metric))
    cols.append((Column("Split", "---"), lambda c: _untrusted(c.split, _MAX_CLASS)))
    if with_class and not class_first:
        cols.append(class_col)
    cols.append((Column("Actual", "--:"), lambda c: _num(c.actual)))
    cols.append((Column("Threshold", "---"), _threshold))
    if with_baseline:
        cols.append((Column("Baseline", "--:"), lambda c: _num(c.baseline)))
        cols.append((Column("Δ", "--:"), lambda c: _signed(c.delta)))
    if with_message:
        # The numbers speak for themselves; a note only says why there are none.
        cols.append((Column("Note", "---"), _note))
    return tuple(cols)


def _note(check: Check) -> str:
    return "" if _numeric(check) else _untrusted(check.message, _MAX_MESSAGE)


def _numeric(check: Check) -> bool:
    """Whether the row's Actual/Threshold/Baseline cells tell the whole story."""
    return check.actual is not None and check.limit is not None


def _has_baseline(checks: Sequence[Check]) -> bool:
    return any(c.baseline is not None or c.kind.is_regression for c in checks)


def _table(checks: Sequence[Check], **options: bool) -> Table:
    cols = _columns(with_baseline=_has_baseline(checks), **options)
    cells = tuple(fn for _, fn in cols)
    return Table(
        columns=tuple(col for col, _ in cols),
        rows=tuple(tuple(fn(check) for fn in cells) for check in checks),
    )


def _row_chars(row: tuple[str, ...]) -> int:
    """The exact length of `| a | b |\\n`, as the table template writes a row."""
    return sum(map(len, row)) + 3 * len(row) + 2


@dataclass(frozen=True, slots=True)
class _EvalParts:
    """Everything about one evaluation's section, built once; views at each level slice it."""

    full: EvalView  # every check listed
    failing: tuple[Status, ...]  # statuses of `full.failures` rows, in order
    failing_chars: tuple[int, ...]  # failing_chars[n]: length of the first n failure rows
    passing_chars: int  # length of every passing row, both tables
    passing_count: int

    @classmethod
    def build(cls, ev: EvalOutcome) -> _EvalParts:
        failing = sorted(
            (c for c in ev.checks if c.status is not Status.PASS),
            key=lambda c: _STATUS_ORDER[c.status],
        )
        passing = [c for c in ev.checks if c.status is Status.PASS and c.class_name is None]
        per_class = sorted(
            (c for c in ev.checks if c.status is Status.PASS and c.class_name is not None),
            key=lambda c: (c.class_name or "").casefold(),
        )
        failures = (
            _table(
                failing,
                with_class=any(c.class_name is not None for c in failing),
                class_first=False,
                with_message=not all(_numeric(c) for c in failing),
            )
            if failing
            else None
        )
        passing_table = (
            _table(passing, with_class=False, class_first=False, with_message=False)
            if passing
            else None
        )
        class_table = (
            _table(per_class, with_class=True, class_first=True, with_message=False)
            if per_class
            else None
        )
        n_classes = len({c.class_name for c in per_class})
        verdict_icon, _ = _VERDICT_WORDS[ev.verdict]
        url = public_url(ev.url)
        full = EvalView(
            icon=verdict_icon,
            label=_untrusted(ev.label, _MAX_LABEL) or md_text(_clip(ev.eval_id, _MAX_LABEL)),
            url=md_url(url) if url else None,
            task=_TASK_NAMES.get(ev.task_type, md_text(str(ev.task_type))),
            baseline=md_code(_clip(ev.baseline_id, _MAX_LABEL)) if ev.baseline_id else None,
            counts=_Tally.of(c.status for c in ev.checks).nonzero(),
            empty=None if ev.checks else "No checks ran on this evaluation.",
            failures=failures,
            failures_more=None,
            passing=passing_table,
            passing_summary=_plural(len(passing), "passing check"),
            per_class=class_table,
            per_class_summary=(
                f"Per-class results: {_plural(len(per_class), 'passing check')}"
                f" on {_plural(n_classes, 'class', 'classes')}"
            ),
            not_shown=None,
        )
        prefix = [0]
        for row in failures.rows if failures else ():
            prefix.append(prefix[-1] + _row_chars(row))
        passing_chars = sum(
            _row_chars(row) for t in (passing_table, class_table) if t for row in t.rows
        )
        return cls(
            full=full,
            failing=tuple(c.status for c in failing),
            failing_chars=tuple(prefix),
            passing_chars=passing_chars,
            passing_count=len(passing) + len(per_class),
        )

    @property
    def failing_count(self) -> int:
        return len(self.failing)

    def view(self, *, fold: bool, cap: int | None = None) -> EvalView:
        """The section with passing checks folded away and at most `cap` failure rows."""
        if not fold:
            return self.full
        not_shown = (
            f"{_plural(self.passing_count, 'passing check')} not shown."
            if self.passing_count
            else None
        )
        view = replace(self.full, passing=None, per_class=None, not_shown=not_shown)
        if cap is None or cap >= self.failing_count or self.full.failures is None:
            return view
        hidden = _Tally.of(self.failing[cap:])
        return replace(
            view,
            failures=replace(self.full.failures, rows=self.full.failures.rows[:cap]),
            failures_more=(
                f"…and {_plural(self.failing_count - cap, 'more check')}"
                f" not shown: {hidden.nonzero()}."
            ),
        )

    def min_chars(self, *, fold: bool, cap: int | None = None) -> int:
        """A lower bound of the section's length: its table rows alone."""
        shown = self.failing_count if cap is None else min(cap, self.failing_count)
        return self.failing_chars[shown] + (0 if fold else self.passing_chars)


def _verdict_counts(verdicts: Sequence[Verdict]) -> str:
    """`2 failed, 1 passed with warnings`: how many evaluations got each verdict."""
    words = {Verdict.FAIL: "failed", Verdict.WARN: "passed with warnings", Verdict.PASS: "passed"}
    return ", ".join(
        f"{n:,} {words[v]}" for v in words if (n := sum(1 for x in verdicts if x is v))
    )


def _single_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class _Report:
    """The whole report, built once, and the view at each level of shortening."""

    head: ReportView  # every eval section in full, no note
    parts: tuple[_EvalParts, ...]
    verdicts: tuple[Verdict, ...]
    hint: str

    @classmethod
    def build(cls, outcome: GateOutcome, *, title: str, hint: str) -> _Report:
        parts = tuple(_EvalParts.build(ev) for ev in outcome.evals)
        icon, word = _VERDICT_WORDS[outcome.verdict]
        tally = _Tally.of(c.status for c in outcome.checks)
        counts = (
            f"{_plural(tally.total, 'check')} on {_plural(len(outcome.evals), 'evaluation')}: "
            f"{tally.full()}."
        )
        head = ReportView(
            title=_untrusted(title, _MAX_LABEL),
            icon=icon,
            verdict=word,
            counts=counts,
            note=None,
            evals=tuple(p.full for p in parts),
            evals_not_shown=None,
            legend=_LEGEND if tally.total else None,
        )
        return cls(
            head=head,
            parts=parts,
            verdicts=tuple(ev.verdict for ev in outcome.evals),
            hint=_single_line(hint),
        )

    def _note(self, max_chars: int, what: Sequence[str]) -> str:
        return (
            f"**This report was shortened** to fit in {max_chars:,} characters: "
            f"{'; '.join(what)}. {self.hint}"
        )

    def view(self, max_chars: int, *, fold: bool, cap: int | None, shown: int | None) -> ReportView:
        if not fold:
            return self.head
        what = ["passing checks are not listed"]
        if cap is not None:
            listed = (
                "check that did not pass is"
                if cap == 1
                else f"{cap:,} checks that did not pass are"
            )
            what.append(f"only the first {listed} listed for each evaluation")
        parts = self.parts if shown is None else self.parts[:shown]
        evals_not_shown = None
        if shown is not None and shown < len(self.parts):
            dropped = len(self.parts) - shown
            what.append(f"the last {_plural(dropped, 'evaluation')} are not shown")
            evals_not_shown = (
                f"**{_plural(dropped, 'more evaluation')} not shown**: "
                f"{_verdict_counts(self.verdicts[shown:])}."
            )
        return replace(
            self.head,
            note=self._note(max_chars, what),
            evals=tuple(p.view(fold=True, cap=cap) for p in parts),
            evals_not_shown=evals_not_shown,
        )

    def min_chars(self, *, fold: bool, cap: int | None, shown: int | None) -> int:
        parts = self.parts if shown is None else self.parts[:shown]
        return sum(p.min_chars(fold=fold, cap=cap) for p in parts)

    def minimal(self, max_chars: int) -> str:
        """The last resort: verdict, counts and a note, as many as fit (always the verdict)."""
        head = self.head
        titled = f"## {head.icon} {head.title}: **{head.verdict}**\n"
        bare = f"## {head.icon} **{head.verdict}**\n"
        counts = f"\n{head.counts}\n"
        note = f"\n> {self._note(max_chars, ['no evaluation details are shown'])}\n"
        short = (
            f"\n> **This report was shortened**: nothing more fits in {max_chars:,} characters.\n"
        )
        for candidate in (
            titled + counts + note,
            bare + counts + note,
            bare + counts + short,
            bare + short,
        ):
            if len(candidate) <= max_chars:
                return candidate
        return bare


# --- templates --------------------------------------------------------------------------------


def template_dirs(package_dir: Path) -> tuple[Path, Path]:
    """Where templates are looked for: in the installed package, then next to it (a checkout)."""
    return (package_dir / "templates", package_dir.parent / "templates")


def find_template_dir(package_dir: Path) -> Path:
    """The first of `template_dirs(package_dir)` holding the report template."""
    candidates = template_dirs(package_dir)
    for candidate in candidates:
        if (candidate / TEMPLATE_NAME).is_file():
            return candidate
    looked = " and ".join(str(c) for c in candidates)
    raise TemplatesNotFoundError(
        f"eval-gate's report templates are missing (looked in {looked}); reinstall eval-gate"
    )


@functools.cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined  # noqa: PLC0415 - deferred: import cost
    from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415 - deferred: import cost

    return SandboxedEnvironment(
        loader=FileSystemLoader(find_template_dir(Path(__file__).parent)),
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


def render_report(
    outcome: GateOutcome,
    *,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    title: str = "eval-gate",
    full_report_hint: str | None = None,
) -> str:
    """The Markdown report of `outcome`, at most `max_chars` characters long (None: no limit).

    `full_report_hint` is a Markdown sentence saying where the full report is, put in the note
    of a shortened report (e.g. "The full report is in the job summary."); it is trusted.
    """
    if max_chars is not None and max_chars < MIN_MAX_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_MAX_CHARS}, not {max_chars}")
    report = _Report.build(outcome, title=title, hint=full_report_hint or DEFAULT_FULL_REPORT_HINT)
    if max_chars is None:
        return _render(report.head)
    limit = max_chars

    def attempt(*, fold: bool, cap: int | None = None, shown: int | None = None) -> str | None:
        if report.min_chars(fold=fold, cap=cap, shown=shown) > limit:
            return None  # cannot fit: skip rendering it
        out = _render(report.view(limit, fold=fold, cap=cap, shown=shown))
        return out if len(out) <= limit else None

    # 1. full, 2. passing checks folded
    for fold in (False, True):
        out = attempt(fold=fold)
        if out is not None:
            return out
    # 3. at most `cap` non-passing checks per evaluation
    most_failing = max((p.failing_count for p in report.parts), default=0)
    found = _largest(1, most_failing - 1, lambda cap: attempt(fold=True, cap=cap))
    if found is not None:
        return found[1]
    # 4. the first `shown` evaluations only, each with as many failures as fit
    n_evals = len(report.parts)
    found = _largest(0, n_evals - 1, lambda n: attempt(fold=True, cap=1, shown=n))
    if found is None:
        return report.minimal(limit)
    shown, out = found
    most_failing = max((p.failing_count for p in report.parts[:shown]), default=0)
    more = _largest(2, most_failing, lambda cap: attempt(fold=True, cap=cap, shown=shown))
    return more[1] if more is not None else out
