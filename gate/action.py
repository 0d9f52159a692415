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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import structlog

from gate.action_settings import ActionSettings, read_action_settings
from gate.actions_env import ActionsIO, EventContext, read_event
from gate.checks import GateOutcome, Status, Verdict
from gate.comment import comment_budget
from gate.engine import exit_code_for
from gate.errors import ExitCode, GateError, internal_error_message
from gate.markdown import md_text
from gate.redact import redact
from gate.report import DEFAULT_MAX_CHARS, render_report
from gate.settings import CheckSettings

if TYPE_CHECKING:
    import aiohttp

    from gate.comment import CommentResult
    from gate.github_client import GitHubClient

MAX_ANNOTATIONS = 10  # GitHub shows at most 10 of each level per step
STATUS_DESCRIPTION_MAX = 140
OUTPUT_DIR = ".eval-gate"


@dataclass(frozen=True, slots=True)
class Gated:
    """What the gate produced: an outcome, or the error that stopped it."""

    outcome: GateOutcome | None
    error: GateError | None

    @property
    def verdict(self) -> str:
        return "error" if self.outcome is None else self.outcome.verdict.value


def check_settings_for(settings: ActionSettings, workspace: Path) -> CheckSettings:
    """The `eval-gate check` settings an Action run amounts to."""
    out = workspace / OUTPUT_DIR / settings.gate_id
    return CheckSettings(
        config_path=workspace / settings.config,
        eval_ids=settings.eval_ids,
        baseline=settings.baseline,
        workspace=settings.workspace,
        api_url=(settings.api_url or "https://api.roboflow.com").rstrip("/"),
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


def _error_report(error: GateError, title: str, secrets: tuple[str, ...]) -> str:
    lines = error.lines() if hasattr(error, "lines") else [str(error)]
    items = "\n".join(f"- {md_text(redact(line, secrets))}" for line in lines)
    kind = "configuration error" if error.exit_code == ExitCode.USAGE else "results unavailable"
    return (
        f"## 🚫 {md_text(title)}: **could not run** ({kind})\n\n{items}\n\n"
        "No verdict: the gate fails closed until this is fixed.\n"
    )


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


def _status_state(gated: Gated) -> tuple[str, str]:
    """Commit status state and description (<= 140 characters)."""
    if gated.outcome is None:
        assert gated.error is not None
        return "error", f"eval-gate could not run: {gated.error}"
    outcome = gated.outcome
    failed = sum(1 for c in outcome.checks if c.failing)
    warned = outcome.count(Status.WARN)
    total = sum(1 for _ in outcome.checks)
    if outcome.verdict is Verdict.FAIL:
        return "failure", f"{failed} of {total} checks failed"
    if outcome.verdict is Verdict.WARN:
        return (
            "success",
            f"passed with {warned} warning{'s' if warned != 1 else ''} ({total} checks)",
        )
    return "success", f"all {total} checks passed"


def _passed(gated: Gated, fail_on: str) -> bool:
    """Whether the gate passed under `fail-on` (`never` judges as `error` does)."""
    if gated.outcome is None:
        return False
    policy = "error" if fail_on == "never" else fail_on
    return exit_code_for(gated.outcome.verdict, policy) == ExitCode.OK


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class GitHubSide:
    """The GitHub client over its own session, created only when there is something to post."""

    def __init__(self, token: str, api_url: str) -> None:
        self._token = token
        self._api_url = api_url
        self._session: aiohttp.ClientSession | None = None

    def client(self) -> GitHubClient:
        import aiohttp  # noqa: PLC0415 - only when posting

        from gate.github_client import GitHubClient  # noqa: PLC0415

        if self._session is None:
            self._session = aiohttp.ClientSession()
        return GitHubClient(self._session, token=self._token, api_url=self._api_url)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def _find_pr(github: GitHubClient, event: EventContext) -> int | None:
    """The PR to comment on: the event's, or (workflow_run from a fork) the commit's open PR."""
    if event.pr_number is not None:
        return event.pr_number
    if event.event_name != "workflow_run" or not event.repository or not event.sha:
        return None
    from gate.github_api import GitHubError  # noqa: PLC0415

    try:
        numbers = await github.pulls_for_commit(event.repository, event.sha)
    except GitHubError as error:
        structlog.get_logger("gate.action").warning("action.pr_lookup_failed", reason=str(error))
        return None
    return numbers[0] if numbers else None


async def _post(
    settings: ActionSettings,
    event: EventContext,
    gated: Gated,
    comment_body: str,
    environ: Mapping[str, str],
) -> CommentResult | None:
    """Comment and commit status; every failure is a warning, never an exception."""
    log = structlog.get_logger("gate.action")
    token = settings.github_token
    wants_comment = settings.comment != "off"
    if not token:
        if wants_comment or settings.commit_status:
            log.warning("action.no_token", hint="set the github-token input")
        return None
    api_url = environ.get("GITHUB_API_URL", "").strip() or "https://api.github.com"
    side = GitHubSide(token, api_url.rstrip("/"))
    from gate.github_api import GitHubError  # noqa: PLC0415

    result: CommentResult | None = None
    try:
        github = side.client()
        if wants_comment and event.repository:
            result = await _comment(github, settings, event, gated, comment_body)
        if settings.commit_status:
            await _set_status(github, settings, event, gated)
    except GitHubError as error:
        log.warning("action.github_failed", reason=str(error))
    finally:
        await side.close()
    return result


async def _comment(
    github: GitHubClient, settings: ActionSettings, event: EventContext, gated: Gated, body: str
) -> CommentResult | None:
    from gate.comment import upsert_comment  # noqa: PLC0415

    log = structlog.get_logger("gate.action")
    assert event.repository is not None
    pr = await _find_pr(github, event)
    if pr is None:
        log.info(
            "action.no_pull_request",
            event_name=event.event_name,
            note=event.note or "no pull request to comment on",
        )
        return None
    result = await upsert_comment(
        github,
        repo=event.repository,
        number=pr,
        body=body,
        gate_id=settings.gate_id,
        mode=settings.comment,
        passing=_passed(gated, settings.fail_on),
    )
    if result.action == "failed":
        log.warning(
            "action.comment_failed",
            reason=result.reason or "unknown error",
            not_accessible=result.not_accessible,
        )
    else:
        log.info("action.comment", action=result.action, url=result.url)
    return result


async def _set_status(
    github: GitHubClient, settings: ActionSettings, event: EventContext, gated: Gated
) -> None:
    from gate.github_api import GitHubError  # noqa: PLC0415

    log = structlog.get_logger("gate.action")
    if not event.repository or not event.sha:
        log.warning("action.no_commit", note="no commit to set a status on")
        return
    state, description = _status_state(gated)
    try:
        await github.create_status(
            event.repository,
            event.sha,
            state=state,
            description=_clip(description, STATUS_DESCRIPTION_MAX),
            context=settings.status_context,
            target_url=event.run_url,
        )
    except GitHubError as error:
        log.warning(
            "action.status_failed",
            reason=str(error),
            fix="grant `statuses: write` in the workflow's permissions block",
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
        summary = comment_body = _error_report(gated.error, title, secrets)
        for line in gated.error.lines() if hasattr(gated.error, "lines") else [str(gated.error)]:
            io.annotate("error", redact(line, secrets), title="eval-gate")
            log.error("gate.error", message=line)
    io.append_summary(summary, full_report_path=f"{OUTPUT_DIR}/{settings.gate_id}/report.md")
    result = await _post(settings, event, gated, comment_body, environ)
    outcome = gated.outcome
    failed = sum(1 for c in outcome.checks if c.failing) if outcome is not None else 0
    io.set_outputs(
        {
            "verdict": gated.verdict,
            "passed": "true" if _passed(gated, settings.fail_on) else "false",
            "failed-checks": str(failed),
            "report-path": f"{OUTPUT_DIR}/{settings.gate_id}/report.md" if outcome else "",
            "json-path": f"{OUTPUT_DIR}/{settings.gate_id}/report.json" if outcome else "",
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
