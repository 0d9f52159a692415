"""The report as Markdown that fits a size: a PR comment, a check run's summary, a job summary.

Build the report once and render it to each size it goes to; `render_report` does both in one
call:

    report = build_report(outcome, title="eval-gate")
    comment = render(report, max_chars=DEFAULT_MAX_CHARS, full_report_hint=hint)
    summary = render(report, max_chars=None, max_bytes=SUMMARY_MAX_BYTES)

To fit a size limit (`max_chars` characters and/or `max_bytes` bytes of UTF-8) the report is
rendered at the first level that fits, each built from whole blocks only — it is folded and
summarised, never cut:

1. full: every check;
2. folded: passing checks are counted, not listed;
3. summarised: at most N checks listed per failing rule, worst first (N as large as fits);
4. truncated: whole evaluation sections dropped from the end (the summary lines of every
   failing rule stay);
5. the verdict and as many summary lines as fit;

and, as a last resort, the verdict and counts alone.
"""

from __future__ import annotations

from collections.abc import Callable

from gate.core.model import FailOn
from gate.core.outcome import GateOutcome
from gate.report.model import ReportModel, Shortened, build_report
from gate.report.templates import lay_out, warm_up

__all__ = [
    "CHECK_RUN_MAX_CHARS",
    "DEFAULT_FULL_REPORT_HINT",
    "DEFAULT_MAX_CHARS",
    "MIN_MAX_CHARS",
    "SUMMARY_MAX_BYTES",
    "ReportModel",
    "build_report",
    "render",
    "render_report",
    "warm_up",
]

# Size limits of the places the report goes.
DEFAULT_MAX_CHARS = 65_000  # a PR comment (GitHub allows 65,536 characters; room for a marker)
CHECK_RUN_MAX_CHARS = 65_535  # a check run's output summary
SUMMARY_MAX_BYTES = 1024 * 1024  # a job summary (GITHUB_STEP_SUMMARY), in bytes of UTF-8
MIN_MAX_CHARS = 200  # below this even the verdict and a note may not fit
DEFAULT_FULL_REPORT_HINT = "See the CI job that ran eval-gate for the full report."


def render_report(
    outcome: GateOutcome,
    *,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    max_bytes: int | None = None,
    title: str = "eval-gate",
    full_report_hint: str | None = None,
    fail_on: str = FailOn.ERROR,
) -> str:
    """The Markdown report of `outcome`, within the size limits given (None: no limit):
    `render(build_report(outcome, title=title), ...)`."""
    _check_limits(max_chars, max_bytes)
    return render(
        build_report(outcome, title=title, fail_on=fail_on),
        max_chars=max_chars,
        max_bytes=max_bytes,
        full_report_hint=full_report_hint,
    )


def render(
    report: ReportModel,
    *,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    max_bytes: int | None = None,
    full_report_hint: str | None = None,
) -> str:
    """The Markdown of a built report, within the size limits given (None: no limit).

    `max_chars` counts characters (a PR comment: `DEFAULT_MAX_CHARS`; a check run's summary:
    `CHECK_RUN_MAX_CHARS`), `max_bytes` bytes of UTF-8 (a job summary: `SUMMARY_MAX_BYTES`
    less what the file already holds); the report fits both. `full_report_hint` is a Markdown
    sentence saying where the full report is, put in the note of a shortened report (e.g.
    "The full report is in the job summary."); it is trusted.
    """
    _check_limits(max_chars, max_bytes)
    if max_chars is None and max_bytes is None:
        return lay_out(report.head)
    # Characters are never more than bytes: one bound prunes renderings that cannot fit.
    bound = min(x for x in (max_chars, max_bytes) if x is not None)
    shortened = Shortened(
        limit=_limit_text(max_chars, max_bytes),
        hint=" ".join((full_report_hint or DEFAULT_FULL_REPORT_HINT).split()),
    )

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
        out = lay_out(report.view(shortened, fold=fold, cap=cap, shown=shown, lines=lines))
        return out if fits(out) else None

    # 1. full, 2. passing checks folded
    for fold in (False, True):
        out = attempt(fold=fold)
        if out is not None:
            return out
    # 3. at most `cap` checks listed per rule
    largest = max((s.largest_rule for s in report.sections), default=0)
    found = _largest(1, largest - 1, lambda cap: attempt(fold=True, cap=cap))
    if found is not None:
        return found[1]
    # 4. the first `shown` evaluations only, each with as many checks per rule as fit
    n_evals = len(report.sections)
    found = _largest(0, n_evals - 1, lambda n: attempt(fold=True, cap=1, shown=n))
    if found is not None:
        shown, out = found
        if shown == 0:
            return out
        largest = max((s.largest_rule for s in report.sections[:shown]), default=0)
        more = _largest(2, largest, lambda cap: attempt(fold=True, cap=cap, shown=shown))
        return more[1] if more is not None else out
    # 5. the verdict and the first summary lines
    found = _largest(
        1, len(report.head.story) - 1, lambda n: attempt(fold=True, cap=1, shown=0, lines=n)
    )
    if found is not None:
        return found[1]
    return _minimal(report, shortened, fits)


def _check_limits(max_chars: int | None, max_bytes: int | None) -> None:
    for name, value in (("max_chars", max_chars), ("max_bytes", max_bytes)):
        if value is not None and value < MIN_MAX_CHARS:
            raise ValueError(f"{name} must be at least {MIN_MAX_CHARS}, not {value}")


def _limit_text(max_chars: int | None, max_bytes: int | None) -> str:
    if max_chars is not None and max_bytes is not None:
        return f"{max_chars:,} characters and {max_bytes:,} bytes"
    if max_bytes is not None:
        return f"{max_bytes:,} bytes"
    return f"{max_chars:,} characters"


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


def _minimal(report: ReportModel, shortened: Shortened, fits: Callable[[str], bool]) -> str:
    """The last resort: verdict, counts and a note, as many as fit (always the verdict)."""
    head = report.head
    titled = f"## {head.icon} {head.title}: **{head.verdict}**\n"
    bare = f"## {head.icon} **{head.verdict}**\n"
    counts = f"\n{head.counts}\n"
    note = f"\n> {shortened.note(['no evaluation details are shown'])}\n"
    short = f"\n> **This report was shortened**: nothing more fits in {shortened.limit}.\n"
    for candidate in (
        titled + counts + note,
        bare + counts + note,
        bare + counts + short,
        bare + short,
    ):
        if fits(candidate):
            return candidate
    return bare
