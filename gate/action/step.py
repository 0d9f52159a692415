"""The Action's step end to end (`action`): the check run started, the config chosen (the base
branch's rules on a pull request), the engine run as `eval-gate check` runs it, the report built
once and written to the workspace, then the job summary, annotations, comment, commit status,
the check run completed, the step's outputs and the exit code. Failing to comment never changes
the verdict.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from gate.action import check_run
from gate.action.annotations import (
    annotate_checks,
    annotate_error,
    annotate_rule_changes,
    config_path,
    in_repository,
    line_of,
)
from gate.action.base_config import ConfigChoice, choose_config, config_notes
from gate.action.context import GateRun
from gate.action.inputs import WORDS
from gate.action.publish import comment_and_status, summary
from gate.action.runner import Outputs
from gate.core.decision import decide
from gate.core.errors import GateError
from gate.core.redact import redact
from gate.engine import BaseEvals
from gate.github.publish import Gated
from gate.local.files import write_file
from gate.local.sources import LocalGate, RoboflowAccess, gate_local
from gate.report.render import build_report, render
from gate.roboflow.api import DEFAULT_API_URL

if TYPE_CHECKING:
    from gate.action.context import ActionContext
    from gate.action.inputs import ActionSettings
    from gate.core.model import GateConfig

__all__ = ["FETCH_SLACK", "action", "local_gate_for", "run_gate"]

FETCH_SLACK = 120.0  # seconds of fetching allowed beyond the `wait` input


def local_gate_for(
    settings: ActionSettings,
    workspace: Path,
    config: GateConfig | None = None,
    base: BaseEvals | None = None,
) -> LocalGate:
    """The engine's arguments for an Action run: the config in the workspace (or `config`,
    already read: the base branch's rules), all from Roboflow, waiting up to the `wait` input
    (and two minutes more for the fetching); `base`: the base branch's evals, for
    `baseline: base` (none read: the reason it says)."""
    return LocalGate(
        config_path=workspace / settings.config,
        config=config,
        roboflow=RoboflowAccess(
            api_key=settings.api_key,
            api_url=(settings.api_url or DEFAULT_API_URL).rstrip("/"),
            deadline=settings.wait + FETCH_SLACK,
        ),
        eval_ids=settings.eval_ids,
        baseline=settings.baseline,
        models=settings.models,
        versions=settings.versions,
        workspace=settings.workspace,
        wait=settings.wait,
        deadline_hint="raise the wait input",
        base=base if base is not None else BaseEvals(),
    )


async def run_gate(ctx: ActionContext) -> GateRun:
    """Choose the config (the base's rules on a pull request), run the engine, build the report
    once and write the report files; an error that stops the gate is the result, its paths
    relative to the repository."""
    from gate.report.formats import to_json  # noqa: PLC0415 - used once

    settings, workspace, secrets = ctx.settings, ctx.workspace, ctx.secrets
    notes = ""
    choice: ConfigChoice | None = None
    try:
        choice = await choose_config(settings, ctx.event, workspace, github=ctx.github)
        notes = config_notes(choice)
        outcome = await gate_local(local_gate_for(settings, workspace, choice.config, choice.base))
        report = build_report(outcome, title=ctx.title, fail_on=settings.fail_on)
        full = redact(render(report, max_chars=None), secrets) + notes
        # Into a workspace the Action does not trust: no link under it is followed.
        write_file(workspace / ctx.report_md, full, confine_to=workspace)
        decision = decide(outcome.verdict, settings.fail_on)
        write_file(
            workspace / ctx.report_json,
            redact(to_json(outcome, decision), secrets),
            confine_to=workspace,
        )
    except GateError as error:
        worded = in_repository(error.worded(WORDS), workspace)
        return GateRun(Gated(None, worded), notes=notes, choice=choice)
    return GateRun(Gated(outcome, None), report=report, full=full, notes=notes, choice=choice)


async def action(ctx: ActionContext) -> int:
    """The whole step: check run started, gate, report, summary, annotations, comment, status,
    check run completed, outputs. Returns the exit code."""
    log = structlog.get_logger("gate.action.step")
    settings, io = ctx.settings, ctx.io
    if settings.service_url is not None:  # the service gates (and reports), not this step
        from gate.action.service import service_step  # noqa: PLC0415 - only with service-url

        return await service_step(ctx)
    if settings.check_run:  # sent first, beside the gate: a pull request waiting shows it
        ctx.check_run.creating = asyncio.ensure_future(check_run.start(ctx))
    ran = await run_gate(ctx)
    await ctx.check_run.created()
    gated = ran.gated
    if gated.outcome is not None:
        annotate_checks(io, gated.outcome, config_path(settings, ran.choice), line_of(ran.choice))
        annotate_rule_changes(io, ran.choice)
    else:
        assert gated.error is not None
        annotate_error(io, gated.error, ctx.secrets)
    io.append_summary(summary(ctx, ran), full_report_path=ctx.report_md)
    result = await comment_and_status(ctx, ran)
    await check_run.complete(ctx, ran)
    outcome = gated.outcome
    decision = gated.decision(settings.fail_on)
    io.set_outputs(
        Outputs(
            verdict=gated.verdict,
            passed=decision.passed,
            failed_checks=sum(1 for c in outcome.checks if c.failing) if outcome else 0,
            report_path=ctx.report_md if outcome else "",
            json_path=ctx.report_json if outcome else "",
            comment_url=(result.url or "") if result is not None else "",
        ).as_dict()
    )
    if gated.error is not None:
        return int(decision.exit_code)  # the error's
    assert outcome is not None
    code = decision.exit_code
    log.info("action.verdict", verdict=outcome.verdict.value, exit_code=int(code))
    return int(code)
