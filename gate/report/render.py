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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gate.core.errors import GateError
from gate.core.outcome import EvalOutcome, GateOutcome, Status, Verdict
from gate.report.markdown import md_text
from gate.report.sections import EvalSection
from gate.report.text import MAX_LABEL as _MAX_LABEL
from gate.report.text import STATUS_ICONS as _STATUS_ICONS
from gate.report.text import VERDICT_WORDS as _VERDICT_WORDS
from gate.report.text import Tally as _Tally
from gate.report.text import clip as _clip
from gate.report.text import plural as _plural
from gate.report.text import untrusted as _untrusted
from gate.report.trend import MAX_CHARTS
from gate.report.view import ReportView

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

MAX_STORY = 12  # summary lines under the verdict; beyond that they are counted


_LEGEND = "✅ passed · ❌ failed · 🚫 malformed data · ⚠️ warning · ⏭️ skipped (no data)"
_LEGEND_RARE = _LEGEND.replace("(no data)", "(no data, or too few instances)")


class TemplatesNotFoundError(GateError):
    """The report templates are not where an installed or checked-out eval-gate keeps them."""


# --- number and text formatting ---------------------------------------------------------------


# --- how far a check misses -------------------------------------------------------------------


# --- building the view ------------------------------------------------------------------------


def _verdict_counts(verdicts: Sequence[Verdict]) -> str:
    """`2 failed, 1 passed with warnings`: how many evaluations got each verdict."""
    words = {Verdict.FAIL: "failed", Verdict.WARN: "passed with warnings", Verdict.PASS: "passed"}
    return ", ".join(
        f"{n:,} {words[v]}" for v in words if (n := sum(1 for x in verdicts if x is v))
    )


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _story(evals: Sequence[EvalOutcome], parts: Sequence[EvalSection]) -> tuple[str, ...]:
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
    parts: tuple[EvalSection, ...]
    verdicts: tuple[Verdict, ...]
    hint: str

    @classmethod
    def build(cls, outcome: GateOutcome, *, title: str, hint: str) -> _Report:
        charted = [i for i, ev in enumerate(outcome.evals) if ev.trend is not None]
        parts = tuple(
            EvalSection.build(ev, chart=i in charted[:MAX_CHARTS])
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
