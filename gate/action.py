"""The GitHub Action entrypoint (`python -m gate.action`): the gate plus the runner's side.

`main()` only wires the process (environment, stdout, stderr) into `action()`, which runs the
same engine as `eval-gate check` and then comments, writes the summary and outputs, sets a
commit status and picks the exit code. Failing to comment never changes the verdict.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import structlog

from gate.action_settings import ActionSettings, read_action_settings
from gate.actions_env import ActionsIO, EventContext, read_event
from gate.checks import GateOutcome, Status
from gate.comment import comment_budget
from gate.engine import exit_code_for
from gate.errors import ExitCode, GateError, internal_error_message
from gate.gate_id import report_folder
from gate.publish import Gated, Target, error_lines, error_report, publish
from gate.redact import redact
from gate.report import DEFAULT_MAX_CHARS, render_report
from gate.roboflow_api import DEFAULT_API_URL
from gate.settings import CheckSettings

if TYPE_CHECKING:
    from gate.comment import CommentResult

MAX_ANNOTATIONS = 10  # GitHub shows at most 10 of each level per step


def check_settings_for(settings: ActionSettings, workspace: Path) -> CheckSettings:
    """The `eval-gate check` settings an Action run amounts to."""
    out = workspace / report_folder(settings.gate_id)
    return CheckSettings(
        config_path=workspace / settings.config,
        eval_ids=settings.eval_ids,
        baseline=settings.baseline,
        workspace=settings.workspace,
        api_url=(settings.api_url or DEFAULT_API_URL).rstrip("/"),
        api_key=settings.api_key,
        wait=settings.wait,
        report_path=out / "report.md",
        json_path=out / "report.json",
        quiet=True,
        fail_on=settings.fail_on,
        title=f"eval-gate · {settings.gate_id}",
    )


async def _run_gate(check: CheckSettings) -> tuple[Gated, str | None]:
    """Run the engine; the outcome (or error) and the full report it wrote."""
    from gate.run import gate_from_settings, write_outputs  # noqa: PLC0415 - heavy, used once

    try:
        outcome = await gate_from_settings(check)
        full = write_outputs(check, outcome, sys.stdout)
    except GateError as error:
        return Gated(None, error), None
    return Gated(outcome, None), full


def _annotate(io: ActionsIO, outcome: GateOutcome) -> None:
    errors = [c for c in outcome.checks if c.failing]
    warnings = [c for c in outcome.checks if c.status is Status.WARN]
    for level, checks in (("error", errors), ("warning", warnings)):
        shown = checks if len(checks) <= MAX_ANNOTATIONS else checks[: MAX_ANNOTATIONS - 1]
        for check in shown:
            where = f"{check.eval_label} [{check.split}]"
            if check.class_name is not None:
                where += f" class {check.class_name}"
            io.annotate(level, check.message, title=f"eval-gate: {where}")
        if len(checks) > len(shown):
            io.annotate(
                level,
                f"{len(checks) - len(shown)} more {level}s: see the job summary",
                title="eval-gate",
            )


def target_for(settings: ActionSettings, event: EventContext) -> Target:
    return Target(
        repository=event.repository,
        pr_number=event.pr_number,
        sha=event.sha,
        gate_id=settings.gate_id,
        comment=settings.comment,
        commit_status=settings.commit_status,
        status_context=settings.status_context,
        fail_on=settings.fail_on,
        target_url=event.run_url,
        lookup_pr_by_sha=event.event_name == "workflow_run",
        note=event.note,
    )


async def _publish(
    settings: ActionSettings,
    event: EventContext,
    gated: Gated,
    body: str,
    environ: Mapping[str, str],
) -> CommentResult | None:
    target = target_for(settings, event)
    if target.comment == "off" and not target.commit_status:
        return None
    import aiohttp  # noqa: PLC0415 - only when posting

    api_url = environ.get("GITHUB_API_URL", "").strip() or "https://api.github.com"
    async with aiohttp.ClientSession() as session:
        return await publish(
            session,
            token=settings.github_token,
            api_url=api_url,
            target=target,
            gated=gated,
            body=body,
        )


async def action(
    settings: ActionSettings, event: EventContext, io: ActionsIO, environ: Mapping[str, str]
) -> int:
    """The whole Action: gate, report, comment, status, outputs. Returns the exit code."""
    log = structlog.get_logger("gate.action")
    secrets = tuple(s for s in (settings.api_key, settings.github_token) if s)
    check = check_settings_for(settings, io.workspace)
    gated, full = await _run_gate(check)
    title = check.title
    if gated.outcome is not None:
        summary = full or render_report(gated.outcome, max_chars=None, title=title)
        run_link = (
            f"[this run's job summary]({event.run_url})" if event.run_url else "the job summary"
        )
        comment_body = render_report(
            gated.outcome,
            max_chars=min(DEFAULT_MAX_CHARS, comment_budget(settings.gate_id)),
            title=title,
            full_report_hint=f"The full report is in {run_link}.",
        )
        _annotate(io, gated.outcome)
    else:
        assert gated.error is not None
        summary = comment_body = error_report(gated.error, title, secrets)
        for line in error_lines(gated.error):
            io.annotate("error", redact(line, secrets), title="eval-gate")
            log.error("gate.error", message=line)
    io.append_summary(summary, full_report_path=f"{report_folder(settings.gate_id)}/report.md")
    result = await _publish(settings, event, gated, comment_body, environ)
    outcome = gated.outcome
    failed = sum(1 for c in outcome.checks if c.failing) if outcome is not None else 0
    io.set_outputs(
        {
            "verdict": gated.verdict,
            "passed": "true" if gated.passed(settings.fail_on) else "false",
            "failed-checks": str(failed),
            "report-path": f"{report_folder(settings.gate_id)}/report.md" if outcome else "",
            "json-path": f"{report_folder(settings.gate_id)}/report.json" if outcome else "",
            "comment-url": (result.url or "") if result is not None else "",
        }
    )
    if gated.error is not None:
        return int(gated.error.exit_code)
    assert outcome is not None
    code = exit_code_for(outcome.verdict, settings.fail_on)
    log.info("action.verdict", verdict=outcome.verdict.value, exit_code=int(code))
    return int(code)


def run(environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """The Action with its process I/O passed in."""
    from gate.logs import configure_logging, error_line  # noqa: PLC0415

    io = ActionsIO(environ, out)
    raw_key = environ.get("INPUT_API-KEY", "").strip()
    raw_token = environ.get("INPUT_GITHUB-TOKEN", "").strip()
    secrets = tuple(s for s in (raw_key, raw_token) if s)
    for secret in secrets:  # first, before anything can print them
        io.add_mask(secret)
    configure_logging(err, fmt="console", secrets=secrets)
    try:
        settings = read_action_settings(environ)
        event = read_event(environ)
        return asyncio.run(action(settings, event, io, environ))
    except GateError as error:
        message = redact(str(error), secrets)
        io.annotate("error", message, title="eval-gate")
        err.write(error_line(message, fmt="console", secrets=secrets) + "\n")
        return int(error.exit_code)
    except Exception as error:  # noqa: BLE001 - a bug must still end in one clear line
        message = redact(internal_error_message(error), secrets)
        io.annotate("error", message, title="eval-gate")
        err.write(error_line(message, fmt="console", secrets=secrets) + "\n")
        return int(ExitCode.INTERNAL)


def main() -> int:
    """Container entrypoint: wires the real process into `run`."""
    return run(os.environ, sys.stdout, sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
