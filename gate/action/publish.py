"""Where an Action run's result shows, besides the check run: the job summary (`summary`), the
sticky comment and the commit status (`comment_and_status`, through `gate.github.publish`, the
path the service takes too), and, for a cancelled run, its comment replaced (`comment_cancelled`).
Each is the report built once, rendered to the place's size, with the notes on where the rules
came from at its end; secrets are masked in all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate.core.model import CommentMode
from gate.core.redact import redact
from gate.github.publish import comment_body, publish, publish_cancelled
from gate.report.markdown import md_code
from gate.report.no_verdict import error_report
from gate.report.render import render
from gate.report.shorten import full_report_hint

if TYPE_CHECKING:
    from gate.action.context import ActionContext, GateRun
    from gate.github.comment import CommentResult

__all__ = ["SUMMARY_MIN_ROOM", "comment_and_status", "comment_cancelled", "summary"]

SUMMARY_MIN_ROOM = 200  # bytes; below this a folded report has no room to say anything


def summary(ctx: ActionContext, ran: GateRun) -> str:
    """The job summary: the report folded to the room the summary file has left (with the
    notes), or the error; secrets masked. With no summary file, or too little room, the full
    report: `ActionsIO.append_summary` cuts it with a note."""
    gated, notes = ran.gated, ran.notes
    if gated.outcome is None:
        assert gated.error is not None
        text = error_report(gated.error, ctx.title, ctx.secrets) + notes
    else:
        assert ran.report is not None
        assert ran.full is not None
        room = ctx.io.summary_room()
        room = None if room is None else room - len(notes.encode("utf-8"))
        if room is not None and room >= SUMMARY_MIN_ROOM:
            hint = full_report_hint(md_code(ctx.report_md))
            text = render(ran.report, max_chars=None, max_bytes=room, full_report_hint=hint)
            text += notes
        else:
            text = ran.full
    return redact(text, ctx.secrets)  # before append_summary may cut it


async def comment_and_status(ctx: ActionContext, ran: GateRun) -> CommentResult | None:
    """The sticky comment (the report shortened to leave room for the notes at its end) and the
    commit status, as the inputs ask; the comment's result."""
    target = ctx.target()
    if not target.wants_anything:
        return None
    body = ""
    if target.wants_comment:
        body = comment_body(
            ran.gated,
            gate_id=ctx.settings.gate_id,
            title=ctx.title,
            full_report_hint=full_report_hint(ctx.run_link),
            secrets=ctx.secrets,
            notes=ran.notes,
            report=ran.report,
        )
    return await publish(ctx.github, target=target, gated=ran.gated, body=body, secrets=ctx.secrets)


async def comment_cancelled(ctx: ActionContext, body: str) -> CommentResult | None:
    """A cancelled run's note in place of the sticky comment, if there is one to replace."""
    target = ctx.target()
    if target.comment not in (CommentMode.UPDATE, CommentMode.ON_FAILURE):
        return None
    return await publish_cancelled(ctx.github, target=target, body=body)
