"""The run's check run (input `check-run`), from start to end: created `in_progress` when the
step starts, beside the gate (`start`), and completed once (`finish`) by whichever ending comes:
the verdict with the report and an annotation per failing or warning check (`complete`), the
error that stopped the gate, `cancelled`, or `failure` when the run crashed. A check run that
cannot be created (a 403 without `checks: write`) falls back to the commit status. Nothing here
raises a GitHub failure or changes a verdict.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gate.action.annotations import config_path, line_of
from gate.core.redact import redact, redact_line
from gate.github.api import CHECK_RUN_TITLE_MAX
from gate.github.checks import (
    check_annotations,
    check_run_conclusion,
    check_run_title,
    complete_check_run,
    left_out_note,
    start_check_run,
)
from gate.report.no_verdict import error_lines, error_report
from gate.report.render import CHECK_RUN_MAX_CHARS, MIN_MAX_CHARS, render
from gate.report.shorten import full_report_hint

if TYPE_CHECKING:
    from gate.action.context import ActionContext, GateRun
    from gate.github.api import CheckAnnotation

__all__ = ["complete", "finish", "start"]


async def start(ctx: ActionContext) -> None:
    """Create the check run, in progress; on a failure (a 403 without `checks: write`), say so
    once and fall back to the commit status."""
    settings, event, state = ctx.settings, ctx.event, ctx.check_run
    started = await start_check_run(
        ctx.github,
        repository=event.repository,
        sha=event.sha,
        name=settings.status_context,
        external_id=settings.gate_id,
        details_url=event.run_url,
    )
    state.check_run_id = started.check_run_id
    if started.check_run_id is None and started.reason:
        state.fallback = bool(settings.github_token and event.repository and event.sha)
        fallback = "; setting the commit status instead" if state.fallback else ""
        ctx.io.annotate(
            "warning",
            redact(f"no check run: {started.reason}{fallback}", ctx.secrets),
            title="eval-gate",
        )


async def finish(
    ctx: ActionContext,
    *,
    conclusion: str,
    title: str,
    summary: str,
    annotations: tuple[CheckAnnotation, ...] = (),
) -> None:
    """Complete the check run (if one is open), secrets masked in its text."""
    state = ctx.check_run
    if not state.open or not ctx.settings.github_token or not ctx.event.repository:
        return
    assert state.check_run_id is not None
    secrets = ctx.secrets
    state.completed = await complete_check_run(
        ctx.github,
        repository=ctx.event.repository,
        check_run_id=state.check_run_id,
        conclusion=conclusion,
        title=redact_line(title, secrets, limit=CHECK_RUN_TITLE_MAX),
        summary=redact(summary, secrets),
        annotations=annotations,
    )


async def complete(ctx: ActionContext, ran: GateRun) -> None:
    """The verdict as title, the report (within 65,535 characters) as summary, and one
    annotation per failing or warning check on its rule's line; or the error that stopped the
    gate."""
    if not ctx.check_run.open:
        return
    settings, gated, notes = ctx.settings, ran.gated, ran.notes
    if gated.outcome is None:
        assert gated.error is not None
        first = error_lines(gated.error)[0]
        await finish(
            ctx,
            conclusion=check_run_conclusion(None, settings.fail_on),
            title=f"Could not run: {first}",
            summary=error_report(gated.error, ctx.title, ctx.secrets) + notes,
        )
        return
    outcome, report = gated.outcome, ran.report
    assert report is not None
    annotations, left_out = check_annotations(
        outcome, path=config_path(settings, ran.choice), line_of=line_of(ran.choice)
    )
    note = left_out_note(left_out)
    secrets = ctx.secrets
    annotations = tuple(
        replace(a, message=redact(a.message, secrets), title=redact(a.title or "", secrets))
        for a in annotations
    )
    budget = CHECK_RUN_MAX_CHARS - len(notes) - len(note)
    shown = render(
        report,
        max_chars=max(budget, MIN_MAX_CHARS),
        full_report_hint=full_report_hint(ctx.run_link),
    )
    await finish(
        ctx,
        conclusion=check_run_conclusion(outcome.verdict, settings.fail_on),
        title=check_run_title(outcome, settings.fail_on),
        summary=shown + notes + note,
        annotations=annotations,
    )
