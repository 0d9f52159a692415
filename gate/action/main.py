"""The GitHub Action entrypoint (`python -m gate.action.main`): the gate plus the runner's side.

`main()` only wires the process (environment, stdout, stderr) into `action()`, which runs the
same engine as `eval-gate check` and then comments, writes the summary and outputs, sets a
commit status and picks the exit code. Failing to comment never changes the verdict.

Around it, `run()` handles what the container's process has to: SIGTERM and SIGINT (Python is
PID 1 there, where a signal without a handler is ignored) end the run within `CANCEL_GRACE`
seconds, the sticky comment saying it was cancelled, with exit code 128 + the signal; and what
the run wrote in the workspace is handed back to the workspace's owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from gate.action.base_config import (
    ConfigChoice,
    change_notices,
    choose_config,
    config_notes,
    rule_line,
)
from gate.action.event import EventContext, read_event
from gate.action.inputs import ActionSettings, read_action_settings
from gate.action.runner import ActionsIO, Outputs
from gate.core.decision import decide
from gate.core.errors import ConfigError, ExitCode, GateError, Problem, internal_error_message
from gate.core.gate_id import report_folder
from gate.core.model import CommentMode, GateConfig
from gate.core.outcome import GateOutcome, Status
from gate.core.redact import redact, redact_line
from gate.engine import BaseEvals
from gate.github.connection import GitHubConnection
from gate.github.publish import Gated, Target, publish, publish_cancelled
from gate.local.files import write_file
from gate.local.sources import LocalGate, RoboflowAccess, gate_local
from gate.report.markdown import md_code, md_text
from gate.report.no_verdict import cancelled_report, error_lines, error_report
from gate.report.render import (
    CHECK_RUN_MAX_CHARS,
    DEFAULT_MAX_CHARS,
    MIN_MAX_CHARS,
    render_report,
)
from gate.report.shorten import full_report_hint
from gate.roboflow.api import DEFAULT_API_URL

if TYPE_CHECKING:
    from gate.core.outcome import Check
    from gate.github.api import CheckAnnotation
    from gate.github.comment import CommentResult

SUMMARY_MIN_ROOM = 200  # bytes; below this a folded report has no room to say anything

MAX_ANNOTATIONS = 10  # GitHub shows at most 10 of each level per step
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds a cancelled run spends saying so on the pull request. The runner sends SIGINT, then
# SIGTERM 7.5 s later, then kills; `docker stop` waits 10 s.
CANCEL_GRACE = 5.0
CANCELLED = "cancelled"  # the verdict output of a cancelled run
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


def title_for(settings: ActionSettings) -> str:
    return f"eval-gate · {settings.gate_id}"


@dataclass(frozen=True, slots=True)
class _Ran:
    """What `_run_gate` produced: the outcome (or error), the full report, and what the
    report ends with about where the rules came from (Markdown, "" for nothing)."""

    gated: Gated
    full: str | None = None
    notes: str = ""
    choice: ConfigChoice | None = None


async def _run_gate(
    settings: ActionSettings, event: EventContext, workspace: Path, github: GitHubConnection
) -> _Ran:
    """Choose the config (the base's rules on a pull request), run the engine and write the
    report files."""
    from gate.report.formats import to_json  # noqa: PLC0415 - used once

    folder = workspace / report_folder(settings.gate_id)
    secrets = _secrets(settings)
    notes = ""
    choice: ConfigChoice | None = None
    try:
        choice = await choose_config(settings, event, workspace, github=github)
        notes = config_notes(choice)
        outcome = await gate_local(local_gate_for(settings, workspace, choice.config, choice.base))
        full = redact(render_report(outcome, max_chars=None, title=title_for(settings)), secrets)
        full += notes
        # Into a workspace the Action does not trust: no link under it is followed.
        write_file(folder / "report.md", full, confine_to=workspace)
        decision = decide(outcome.verdict, settings.fail_on)
        write_file(
            folder / "report.json",
            redact(to_json(outcome, decision), secrets),
            confine_to=workspace,
        )
    except GateError as error:
        return _Ran(Gated(None, _in_repository(error, workspace)), None, notes, choice)
    return _Ran(Gated(outcome, None), full, notes, choice)


def _relative(text: str, workspace: Path) -> str:
    """`text` without the workspace's absolute path: `/github/workspace/.github/x.yml:3:5`
    reads `.github/x.yml:3:5` (the runner's paths mean nothing on the pull request)."""
    prefix = workspace.as_posix().rstrip("/") + "/"
    return text.replace(prefix, "") if prefix != "/" else text


def _in_repository(error: GateError, workspace: Path) -> GateError:
    """`error` with paths relative to the repository root (the workspace), as every message,
    annotation, comment and check run shows them."""
    if type(error) is ConfigError:
        problems = [replace(p, source=_relative(p.source, workspace)) for p in error.problems]
        return ConfigError(problems, total=error.total)
    if error.args and isinstance(error.args[0], str):
        error.args = (_relative(error.args[0], workspace), *error.args[1:])
    return error


def _in_checkout(problem: Problem) -> bool:
    """Whether a problem is located in a file of the checkout (relative to its root)."""
    source = problem.source
    outside = source.startswith("<") or Path(source).is_absolute()  # `<base>:...`, `/elsewhere`
    return problem.line is not None and not outside


def _annotate_error(io: ActionsIO, error: GateError, secrets: tuple[str, ...]) -> None:
    """An `::error` per line of the error; a config problem in a file of the repository sits
    on its file and line, as a failing check does (the base branch's problems, `<base>:...`,
    are in no file of the checkout)."""
    log = structlog.get_logger("gate.action.main")
    problems = error.problems if isinstance(error, ConfigError) else ()
    for index, line in enumerate(error_lines(error)):
        problem = problems[index] if index < len(problems) else None
        where = problem if problem is not None and _in_checkout(problem) else None
        io.annotate(
            "error",
            redact(line, secrets),
            title="eval-gate",
            file=where.source if where is not None else None,
            line=where.line if where is not None else None,
            col=where.column if where is not None else None,
        )
        log.error("gate.error", message=line)


def _annotate_rule_changes(io: ActionsIO, choice: ConfigChoice | None) -> None:
    """A notice per rule and verdict setting the pull request changes, on its line of the
    config (the diff shows it); the base's still judge this run."""
    if choice is None or not choice.from_pull_request or not choice.changed:
        return
    changes = change_notices(choice)
    shown = changes if len(changes) <= MAX_ANNOTATIONS else changes[: MAX_ANNOTATIONS - 1]
    for notice in shown:
        io.annotate(
            "notice",
            notice.message,
            title=notice.title,
            file=choice.path if notice.line is not None else None,
            line=notice.line,
        )
    if len(changes) > len(shown):
        io.annotate(
            "notice",
            f"{len(changes) - len(shown)} more rule changes: see the job summary",
            title="eval-gate",
        )


def _config_path(settings: ActionSettings, choice: ConfigChoice | None) -> str:
    """The config file relative to the repository root (the workspace), `/`-separated."""
    path = choice.path if choice is not None and choice.path else settings.config
    return Path(path).as_posix().removeprefix("./")


def _line_of(choice: ConfigChoice | None) -> Callable[[Check], int | None]:
    """Where a check's rule is written in the checkout's config (the base's rules: where the
    pull request's file has the same rule)."""

    def line(check: Check) -> int | None:
        if choice is not None:
            return rule_line(choice, check.rule_index)
        return check.location.line if check.location is not None else None

    return line


def _annotate(
    io: ActionsIO, outcome: GateOutcome, path: str, line_of: Callable[[Check], int | None]
) -> None:
    errors = [c for c in outcome.checks if c.failing]
    warnings = [c for c in outcome.checks if c.status is Status.WARN]
    for level, checks in (("error", errors), ("warning", warnings)):
        shown = checks if len(checks) <= MAX_ANNOTATIONS else checks[: MAX_ANNOTATIONS - 1]
        for check in shown:
            where = f"{check.eval_label} [{check.split}]"
            if check.class_name is not None:
                where += f" class {check.class_name}"
            line = line_of(check)
            io.annotate(
                level,
                check.message,
                title=f"eval-gate: {where}",
                file=path if line is not None else None,
                line=line,
            )
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
    github: GitHubConnection,
    notes: str = "",
) -> CommentResult | None:
    target = target_for(settings, event)
    if not target.wants_anything:
        return None
    run_link = f"[this run's job summary]({event.run_url})" if event.run_url else "the job summary"
    hint = full_report_hint(run_link)
    # The report shortened to leave room for the notes (if any) at its end.
    body = _comment_with_notes(settings, gated, hint, notes) if target.wants_comment else ""
    return await publish(github, target=target, gated=gated, body=body, secrets=_secrets(settings))


def _comment_with_notes(settings: ActionSettings, gated: Gated, hint: str, notes: str) -> str:
    """The comment: the report (or the error) and, at its end, where the rules came from."""
    from gate.github.comment import comment_budget  # noqa: PLC0415 - only when commenting

    if gated.outcome is None:
        assert gated.error is not None
        return error_report(gated.error, title_for(settings), _secrets(settings)) + notes
    budget = min(DEFAULT_MAX_CHARS, comment_budget(settings.gate_id)) - len(notes)
    report = render_report(
        gated.outcome,
        max_chars=max(budget, MIN_MAX_CHARS),
        title=title_for(settings),
        full_report_hint=hint,
    )
    return report + notes


def _secrets(settings: ActionSettings) -> tuple[str, ...]:
    return tuple(s for s in (settings.api_key, settings.github_token) if s)


def _github_api_url(environ: Mapping[str, str]) -> str:
    return environ.get("GITHUB_API_URL", "").strip() or "https://api.github.com"


# --- the check run ----------------------------------------------------------------------------


class CheckRunState:
    """The run's check run, shared by the run and its cancelled and crashed endings (mutable:
    it is created when the step starts and completed once, by whichever ending comes)."""

    __slots__ = ("check_run_id", "completed", "creating", "fallback")

    def __init__(self) -> None:
        self.check_run_id: int | None = None
        self.fallback = False  # creating it failed: set the commit status instead
        self.completed = False
        self.creating: asyncio.Future[None] | None = None  # the create request, while the gate runs

    @property
    def open(self) -> bool:
        """Created and not completed yet."""
        return self.check_run_id is not None and not self.completed

    @property
    def wanted(self) -> bool:
        """Being created, or open: an ending has to complete it."""
        return self.open or (self.creating is not None and not self.completed)

    async def created(self) -> None:
        """Wait for the create request (never cancelling it: a cancelled run still needs its
        id to complete it `cancelled`)."""
        if self.creating is not None:
            await asyncio.shield(self.creating)


async def _start_check_run(
    settings: ActionSettings,
    event: EventContext,
    io: ActionsIO,
    github: GitHubConnection,
    state: CheckRunState,
) -> None:
    """Create the check run, in progress; on a failure (a 403 without `checks: write`), say so
    once and fall back to the commit status."""
    from gate.github.checks import start_check_run  # noqa: PLC0415

    started = await start_check_run(
        github,
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
        io.annotate(
            "warning",
            redact(f"no check run: {started.reason}{fallback}", _secrets(settings)),
            title="eval-gate",
        )


async def _finish_check_run(
    settings: ActionSettings,
    event: EventContext,
    github: GitHubConnection,
    state: CheckRunState,
    *,
    conclusion: str,
    title: str,
    summary: str,
    annotations: tuple[CheckAnnotation, ...] = (),
) -> None:
    """Complete the check run (if one is open); never raises a GitHub failure."""
    if not state.open or not settings.github_token or not event.repository:
        return
    assert state.check_run_id is not None
    from gate.github.api import CHECK_RUN_TITLE_MAX  # noqa: PLC0415
    from gate.github.checks import complete_check_run  # noqa: PLC0415

    secrets = _secrets(settings)
    state.completed = await complete_check_run(
        github,
        repository=event.repository,
        check_run_id=state.check_run_id,
        conclusion=conclusion,
        title=redact_line(title, secrets, limit=CHECK_RUN_TITLE_MAX),
        summary=redact(summary, secrets),
        annotations=annotations,
    )


async def _complete_check_run(
    settings: ActionSettings,
    event: EventContext,
    github: GitHubConnection,
    state: CheckRunState,
    ran: _Ran,
) -> None:
    """The verdict as title, the report (within 65,535 characters) as summary, and one
    annotation per failing or warning check on its rule's line."""
    from gate.github.checks import (  # noqa: PLC0415 - only when asked
        check_annotations,
        check_run_conclusion,
        check_run_title,
        left_out_note,
    )

    if not state.open:
        return
    gated, notes = ran.gated, ran.notes
    title = title_for(settings)
    if gated.outcome is None:
        assert gated.error is not None
        first = error_lines(gated.error)[0]
        await _finish_check_run(
            settings,
            event,
            github,
            state,
            conclusion=check_run_conclusion(None, settings.fail_on),
            title=f"Could not run: {first}",
            summary=error_report(gated.error, title, _secrets(settings)) + notes,
        )
        return
    outcome = gated.outcome
    annotations, left_out = check_annotations(
        outcome, path=_config_path(settings, ran.choice), line_of=_line_of(ran.choice)
    )
    note = left_out_note(left_out)
    secrets = _secrets(settings)
    annotations = tuple(
        replace(a, message=redact(a.message, secrets), title=redact(a.title or "", secrets))
        for a in annotations
    )
    run_link = f"[this run's job summary]({event.run_url})" if event.run_url else "the job summary"
    budget = CHECK_RUN_MAX_CHARS - len(notes) - len(note)
    report = render_report(
        outcome,
        max_chars=max(budget, MIN_MAX_CHARS),
        title=title,
        full_report_hint=full_report_hint(run_link),
    )
    await _finish_check_run(
        settings,
        event,
        github,
        state,
        conclusion=check_run_conclusion(outcome.verdict, settings.fail_on),
        title=check_run_title(outcome, settings.fail_on),
        summary=report + notes + note,
        annotations=annotations,
    )


async def action(
    settings: ActionSettings,
    event: EventContext,
    io: ActionsIO,
    github: GitHubConnection,
    check_run: CheckRunState | None = None,
) -> int:
    """The whole Action: check run started, gate, report, comment, status, check run
    completed, outputs. Returns the exit code."""
    log = structlog.get_logger("gate.action.main")
    secrets = _secrets(settings)
    state = check_run if check_run is not None else CheckRunState()
    if settings.check_run:  # sent first, beside the gate: a pull request waiting shows it
        state.creating = asyncio.ensure_future(_start_check_run(settings, event, io, github, state))
    ran = await _run_gate(settings, event, io.workspace, github)
    await state.created()
    gated, full, notes = ran.gated, ran.full, ran.notes
    title = title_for(settings)
    if gated.outcome is not None:
        folder = report_folder(settings.gate_id)
        room = io.summary_room()
        room = None if room is None else room - len(notes.encode("utf-8"))
        if room is not None and room >= SUMMARY_MIN_ROOM:
            summary = (
                render_report(
                    gated.outcome,
                    max_chars=None,
                    max_bytes=room,
                    title=title,
                    full_report_hint=full_report_hint(md_code(f"{folder}/report.md")),
                )
                + notes
            )
        else:  # no summary file, or too little room: append_summary cuts it with a note
            summary = full or render_report(gated.outcome, max_chars=None, title=title) + notes
        _annotate(io, gated.outcome, _config_path(settings, ran.choice), _line_of(ran.choice))
        _annotate_rule_changes(io, ran.choice)
    else:
        assert gated.error is not None
        summary = error_report(gated.error, title, secrets) + notes
        _annotate_error(io, gated.error, secrets)
    summary = redact(summary, secrets)  # before append_summary may cut it
    io.append_summary(summary, full_report_path=f"{report_folder(settings.gate_id)}/report.md")
    if state.fallback:  # no check run (a 403): the commit status shows the verdict instead
        settings = replace(settings, commit_status=True)
    result = await _publish(settings, event, gated, github, notes)
    await _complete_check_run(settings, event, github, state, ran)
    outcome = gated.outcome
    failed = sum(1 for c in outcome.checks if c.failing) if outcome is not None else 0
    decision = gated.decision(settings.fail_on)
    io.set_outputs(
        Outputs(
            verdict=gated.verdict,
            passed=decision.passed,
            failed_checks=failed,
            report_path=f"{report_folder(settings.gate_id)}/report.md" if outcome else "",
            json_path=f"{report_folder(settings.gate_id)}/report.json" if outcome else "",
            comment_url=(result.url or "") if result is not None else "",
        ).as_dict()
    )
    if gated.error is not None:
        return int(decision.exit_code)  # the error's
    assert outcome is not None
    code = decision.exit_code
    log.info("action.verdict", verdict=outcome.verdict.value, exit_code=int(code))
    return int(code)


# --- cancellation -----------------------------------------------------------------------------


class Cancelled(BaseException):
    """A stop signal outside the event loop (a BaseException: `except Exception` lets it by)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Stop:
    """SIGTERM and SIGINT for the whole run.

    The first signal cancels the run: while the event loop runs, the callback `attach` gave is
    called there; outside it, `Cancelled` is raised. Later signals call the callback again (to
    cut the clean-up short) or, outside the loop, are only counted.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        self._armed = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._callback: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread can handle signals; in-process callers keep theirs
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def attach(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self._loop, self._callback = loop, callback

    def detach(self) -> None:
        self._loop = self._callback = None

    def disarm(self) -> None:
        """From now on signals are only counted (the run is finishing anyway)."""
        self._armed = False
        self.detach()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        first = self.signum is None
        self.count += 1
        if first:
            self.signum = signum
        if not self._armed:
            return
        loop, callback = self._loop, self._callback
        if loop is not None and callback is not None:
            loop.call_soon_threadsafe(callback)
        elif first:
            raise Cancelled(signum)


def cancelled_exit_code(signum: int) -> int:
    """128 + the signal, as a shell reports it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum


async def _supervised(
    settings: ActionSettings,
    event: EventContext,
    io: ActionsIO,
    environ: Mapping[str, str],
    stop: _Stop,
) -> int:
    """`action()`, cancelled by the first stop signal, then `_report_cancelled()`; a check run
    it opened is never left in progress (completed `cancelled`, or `failure` on a crash)."""
    state = CheckRunState()
    github = GitHubConnection(token=settings.github_token, api_url=_github_api_url(environ))
    running: list[asyncio.Future[Any]] = [
        asyncio.ensure_future(action(settings, event, io, github, state))
    ]

    def on_signal() -> None:
        running[-1].cancel()  # the run, then (a second signal) the cancelled run's clean-up

    stop.attach(asyncio.get_running_loop(), on_signal)
    try:
        try:
            return int(await running[0])
        except asyncio.CancelledError:
            if stop.signum is None:
                raise
        except Exception as error:
            if state.wanted:  # a crash: the check run says so rather than spin forever
                await _crashed_check_run(
                    settings, event, github, state, error, workspace=io.workspace
                )
            raise
        return await _report_cancelled(
            settings=settings,
            event=event,
            io=io,
            github=github,
            stop=stop,
            running=running,
            check_run=state,
        )
    finally:
        stop.detach()
        await github.aclose()


async def _report_cancelled(
    *,
    settings: ActionSettings,
    event: EventContext,
    io: ActionsIO,
    github: GitHubConnection,
    stop: _Stop,
    running: list[asyncio.Future[Any]],
    check_run: CheckRunState | None = None,
) -> int:
    """Summary, comment and check run (within CANCEL_GRACE, unless a second signal) and
    outputs."""
    log = structlog.get_logger("gate.action.main")
    assert stop.signum is not None
    code = cancelled_exit_code(stop.signum)
    log.warning(
        "action.cancelled",
        signal=signal.Signals(stop.signum).name,
        exit_code=code,
        note=f"marking the pull request's comment as cancelled (at most {CANCEL_GRACE:g} s)",
    )
    body = cancelled_report(title_for(settings), sha=event.sha, run_url=event.run_url)
    io.append_summary(body)
    url = ""
    reason = "a second signal"
    if stop.count == 1:
        comment = asyncio.ensure_future(
            _publish_cancelled(settings, event, body, github, check_run)
        )
        running.append(comment)
        done, _ = await asyncio.wait({comment}, timeout=CANCEL_GRACE)
        if comment in done and not comment.cancelled() and comment.exception() is None:
            result = comment.result()
            url = (result.url or "") if result is not None else ""
            reason = ""
        else:
            comment.cancel()
            await asyncio.wait({comment}, timeout=0.5)
            failure = comment.exception() if comment.done() and not comment.cancelled() else None
            if failure is not None:
                reason = internal_error_message(failure, _secrets(settings))
            elif stop.count == 1:
                reason = f"no answer from GitHub within {CANCEL_GRACE:g} s"
    if reason:
        log.warning("action.cancelled_comment_not_updated", reason=reason)
    io.set_outputs(Outputs(verdict=CANCELLED, passed=False, comment_url=url).as_dict())
    return code


async def _publish_cancelled(
    settings: ActionSettings,
    event: EventContext,
    body: str,
    github: GitHubConnection,
    check_run: CheckRunState | None = None,
) -> CommentResult | None:
    """The comment and the check run of a cancelled run, side by side; the comment's result."""
    if check_run is None or not check_run.wanted:
        return await _comment_cancelled(settings, event, body, github)

    async def cancel_check_run() -> None:
        await check_run.created()
        await _finish_check_run(
            settings,
            event,
            github,
            check_run,
            conclusion="cancelled",
            title="Cancelled: the run stopped before the gate finished",
            summary=body,
        )

    comment, _ = await asyncio.gather(
        _comment_cancelled(settings, event, body, github), cancel_check_run()
    )
    return comment


async def _crashed_check_run(
    settings: ActionSettings,
    event: EventContext,
    github: GitHubConnection,
    state: CheckRunState,
    error: Exception,
    *,
    workspace: Path,
) -> None:
    """Complete the check run `failure` with the error's one line (at most CANCEL_GRACE s)."""
    secrets = _secrets(settings)
    message = str(error) if isinstance(error, GateError) else internal_error_message(error, secrets)
    line = redact_line(_relative(message, workspace), secrets)
    try:
        async with asyncio.timeout(CANCEL_GRACE):
            await state.created()
            await _finish_check_run(
                settings,
                event,
                github,
                state,
                conclusion="failure",
                title=f"Could not run: {line}",
                summary=f"## 🚫 {md_text(title_for(settings))}: **could not run**\n\n"
                f"{md_text(line)}\n",
            )
    except TimeoutError:
        structlog.get_logger("gate.action.main").warning(
            "action.check_run_not_completed", reason=f"no answer within {CANCEL_GRACE:g} s"
        )


async def _comment_cancelled(
    settings: ActionSettings, event: EventContext, body: str, github: GitHubConnection
) -> CommentResult | None:
    target = target_for(settings, event)
    if target.comment not in (CommentMode.UPDATE, CommentMode.ON_FAILURE):
        return None
    return await publish_cancelled(github, target=target, body=body)


# --- the process ------------------------------------------------------------------------------


def run(environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """The Action with its process I/O passed in."""
    stop = _Stop()
    stop.install()
    io = ActionsIO(environ, out)
    written: list[str] = []  # relative to the workspace, once the gate id is known
    try:
        return _run(environ, io, err, stop, written)
    except Cancelled as cancelled:  # a signal before or after the event loop: nothing to undo
        name = signal.Signals(cancelled.signum).name
        err.write(f"eval-gate: stopped by {name} before or after the gate's run\n")
        return cancelled_exit_code(cancelled.signum)
    finally:
        stop.disarm()
        io.hand_over(written)
        stop.restore()


def _run(
    environ: Mapping[str, str], io: ActionsIO, err: TextIO, stop: _Stop, written: list[str]
) -> int:
    from gate.logs import configure_logging, error_line  # noqa: PLC0415

    raw_key = environ.get("INPUT_API-KEY", "").strip()
    raw_token = environ.get("INPUT_GITHUB-TOKEN", "").strip()
    secrets = tuple(s for s in (raw_key, raw_token) if s)
    for secret in secrets:  # first, before anything can print them
        io.add_mask(secret)
    configure_logging(err, fmt="console", secrets=secrets)
    try:
        settings = read_action_settings(environ)
        for warning in settings.warnings:
            io.annotate("warning", redact(warning, secrets), title="eval-gate")
        folder = report_folder(settings.gate_id)
        written.extend((f"{folder}/report.md", f"{folder}/report.json"))
        event = read_event(environ)
        return _run_loop(_supervised(settings, event, io, environ, stop), stop)
    except GateError as error:
        message = redact(str(error), secrets)
        with contextlib.suppress(OSError):  # the log's pipe may be what failed
            io.annotate("error", message, title="eval-gate")
        err.write(error_line(message, fmt="console", secrets=secrets) + "\n")
        return int(error.exit_code)
    except Exception as error:  # noqa: BLE001 - a bug must still end in one clear line
        message = internal_error_message(error, secrets)
        with contextlib.suppress(OSError):  # the log's pipe may be what failed
            io.annotate("error", message, title="eval-gate")
        err.write(error_line(message, fmt="console", secrets=secrets) + "\n")
        return int(ExitCode.INTERNAL)


def _run_loop(main: Coroutine[Any, Any, int], stop: _Stop) -> int:
    """`asyncio.run(main)`, except that a cancelled run does not wait for the loop's executor
    threads on its way out: a DNS lookup in flight (aiohttp resolves names in a thread) would
    hold the exit up for as long as the lookup takes."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            remaining = asyncio.all_tasks(loop)
            for task in remaining:
                task.cancel()
            if remaining:
                loop.run_until_complete(asyncio.gather(*remaining, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            if stop.signum is None:
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()  # shuts the default executor down without waiting


def main() -> int:
    """Container entrypoint: wires the real process into `run`."""
    code = run(os.environ, sys.stdout, sys.stderr)
    if code > 128 and threading.active_count() > 1:
        # Cancelled, with a thread still busy (a DNS lookup): everything is written, and
        # waiting for it at interpreter exit would make the cancelled job linger.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
