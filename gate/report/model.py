"""The report model: what the report says about one outcome, built once (`build_report`),
and its view at each level of shortening.

The report tells its story first, whatever the number of classes: the verdict, then one line
per rule that failed or warned (with where it is written in the config, how many checks it
missed and the worst of them), then one section per evaluation (`gate.report.sections`) with,
for each such rule, its checks worst first (the first few open, the rest folded in
`<details>`), and the passing checks folded at the end. When the evaluation has a baseline
every row shows the baseline's value and the change, and a line counts the classes that
improved and got worse.

Building is the costly part: every untrusted string is escaped and every number formatted
once, into frozen values. A view (`ReportModel.view`) only slices what was built into a
`ReportView` for the templates (in full, or folded, summarised and truncated as
`gate.report.render` asks, with a note saying what was left out and where the full report
is), so one model is rendered to every size a caller needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gate.core.model import FailOn
from gate.core.outcome import EvalOutcome, GateOutcome, Status, Verdict
from gate.report.sections import EvalSection, eval_label
from gate.report.text import (
    MAX_LABEL,
    STATUS_ICONS,
    VERDICT_WORDS,
    WARNINGS_FAIL_WORDS,
    Tally,
    plural,
    untrusted,
)
from gate.report.trend import MAX_CHARTS
from gate.report.view import ReportView

__all__ = ["MAX_STORY", "ReportModel", "Shortened", "build_report"]

MAX_STORY = 12  # summary lines under the verdict; beyond that they are counted

_LEGEND = "✅ passed · ❌ failed · 🚫 malformed data · ⚠️ warning · ⏭️ skipped (no data)"
_LEGEND_RARE = _LEGEND.replace("(no data)", "(no data, or too few instances)")


@dataclass(frozen=True, slots=True)
class Shortened:
    """What the note of a shortened report says besides what was left out: the limit it was
    shortened to fit (`65,000 characters`) and where the full report is (trusted Markdown)."""

    limit: str
    hint: str

    def note(self, what: Sequence[str]) -> str:
        return (
            f"**This report was shortened** to fit in {self.limit}: {'; '.join(what)}. {self.hint}"
        )


@dataclass(frozen=True, slots=True)
class ReportModel:
    """The whole report, built once (`build_report`), and its view at each level of shortening:
    `gate.report.render` fits it to any size, as often as asked, without building it again."""

    head: ReportView  # every eval section in full, no note
    story: tuple[str, ...]  # every summary line
    sections: tuple[EvalSection, ...]
    verdicts: tuple[Verdict, ...]

    @classmethod
    def build(cls, outcome: GateOutcome, *, title: str, fail_on: str = FailOn.ERROR) -> ReportModel:
        """The report of `outcome`, built once (see `build_report`)."""
        charted = [i for i, ev in enumerate(outcome.evals) if ev.trend is not None]
        sections = tuple(
            EvalSection.build(ev, chart=i in charted[:MAX_CHARTS])
            for i, ev in enumerate(outcome.evals)
        )
        icon, word = VERDICT_WORDS[outcome.verdict]
        if outcome.verdict is Verdict.WARN and FailOn(fail_on) is FailOn.WARNING:
            icon, word = WARNINGS_FAIL_WORDS  # the heading says what the status and exit code say
        tally = Tally.of(c.status for c in outcome.checks)
        counts = (
            f"{plural(tally.total, 'check')} on {plural(len(outcome.evals), 'evaluation')}: "
            f"{tally.full()}."
        )
        story = _story(outcome.evals, sections)
        head = ReportView(
            title=untrusted(title, MAX_LABEL),
            icon=icon,
            verdict=word,
            counts=counts,
            story=story[:MAX_STORY],
            story_more=_story_more(story[MAX_STORY:]),
            note=None,
            evals=tuple(s.full for s in sections),
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
            sections=sections,
            verdicts=tuple(ev.verdict for ev in outcome.evals),
        )

    def view(
        self,
        shortened: Shortened,
        *,
        fold: bool,
        cap: int | None = None,
        shown: int | None = None,
        lines: int | None = None,
    ) -> ReportView:
        """The report with passing checks folded away (`fold`), at most `cap` checks listed per
        rule, the first `shown` evaluations and the first `lines` summary lines."""
        if not fold:
            return self.head
        what = ["passing checks are not listed"]
        if cap is not None:
            listed = "check is" if cap == 1 else f"{cap:,} checks are"
            what.append(f"only the worst {listed} listed for each rule")
            if any(s.full.trend for s in self.sections):
                what.append("trend charts are not shown")
        sections = self.sections if shown is None else self.sections[:shown]
        evals_not_shown = None
        if shown is not None and shown < len(self.sections):
            dropped = len(self.sections) - shown
            if shown == 0:
                what = ["no evaluation details are shown"]
            else:
                what.append(f"the last {plural(dropped, 'evaluation')} are not shown")
            evals_not_shown = (
                f"**{plural(dropped, 'more evaluation')} not shown**: "
                f"{_verdict_counts(self.verdicts[shown:])}."
            )
        story, story_more = self.head.story, self.head.story_more
        if lines is not None and lines < len(story):
            what.append(f"only the first {plural(lines, 'rule')} that did not pass are summarised")
            story, story_more = story[:lines], _story_more(self.story[lines:])
        return replace(
            self.head,
            story=story,
            story_more=story_more,
            note=shortened.note(what),
            evals=tuple(s.view(fold=True, cap=cap) for s in sections),
            evals_not_shown=evals_not_shown,
        )

    def min_chars(self, *, fold: bool, cap: int | None, shown: int | None) -> int:
        """A lower bound of the view's length: its table rows alone."""
        sections = self.sections if shown is None else self.sections[:shown]
        return sum(s.min_chars(fold=fold, cap=cap) for s in sections)


def build_report(
    outcome: GateOutcome, *, title: str = "eval-gate", fail_on: str = FailOn.ERROR
) -> ReportModel:
    """The report of `outcome`, built once: render it to each size it is needed at
    (`gate.report.render.render`). Under `fail_on` `warning` a gate that only warned is headed
    as failed, as its exit code, commit status and check run say."""
    return ReportModel.build(outcome, title=title, fail_on=fail_on)


def _story(evals: Sequence[EvalOutcome], sections: Sequence[EvalSection]) -> tuple[str, ...]:
    """One line per rule that failed or warned: failing ones first, evaluations in order."""
    labelled = len(evals) > 1
    lines: list[tuple[int, str]] = []
    for ev, section in zip(evals, sections, strict=True):
        label = eval_label(ev)
        for rule in section.rules:
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
    failing = sum(1 for line in hidden if not line.startswith(STATUS_ICONS[Status.WARN]))
    warning = len(hidden) - failing
    parts = []
    if failing:
        parts.append(plural(failing, "more failing rule"))
    if warning:
        parts.append(plural(warning, "more rule", "more rules") + " with warnings")
    return "…and " + " and ".join(parts) + "."


def _verdict_counts(verdicts: Sequence[Verdict]) -> str:
    """`2 failed, 1 passed with warnings`: how many evaluations got each verdict."""
    words = {Verdict.FAIL: "failed", Verdict.WARN: "passed with warnings", Verdict.PASS: "passed"}
    return ", ".join(
        f"{n:,} {words[v]}" for v in words if (n := sum(1 for x in verdicts if x is v))
    )
