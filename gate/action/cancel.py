"""How an Action run ends when it does not reach a verdict: stopped by a signal, or crashed.

SIGTERM and SIGINT (`StopSignals`; Python is PID 1 in the container, where a signal without a
handler is ignored) cancel the run: within `CANCEL_GRACE` seconds the job summary, the sticky
comment and the check run say it was cancelled, the outputs say `cancelled`, and the exit code
is 128 + the signal; a second signal cuts that short. A run that crashes completes its check run
`failure` rather than leave it in progress. `supervised` runs the step under both.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog

from gate.action import check_run
from gate.action.annotations import relative
from gate.action.publish import comment_cancelled
from gate.action.runner import Outputs
from gate.core.errors import GateError, internal_error_message
from gate.core.redact import redact_line
from gate.report.no_verdict import cancelled_report, crash_report

if TYPE_CHECKING:
    from types import FrameType

    from gate.action.context import ActionContext
    from gate.github.comment import CommentResult

__all__ = [
    "CANCELLED",
    "CANCEL_GRACE",
    "STOP_SIGNALS",
    "Cancelled",
    "StopSignals",
    "cancelled_exit_code",
    "supervised",
]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds a cancelled run spends saying so on the pull request. The runner sends SIGINT, then
# SIGTERM 7.5 s later, then kills; `docker stop` waits 10 s.
CANCEL_GRACE = 5.0
CANCELLED = "cancelled"  # the verdict output of a cancelled run


class Cancelled(BaseException):
    """A stop signal outside the event loop (a BaseException: `except Exception` lets it by)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopSignals:
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


async def supervised(
    ctx: ActionContext, stop: StopSignals, step: Callable[[ActionContext], Awaitable[int]]
) -> int:
    """`step(ctx)`, cancelled by the first stop signal, then the cancelled ending; a check run
    it opened is never left in progress (completed `cancelled`, or `failure` on a crash). The
    run's GitHub connection is closed at the end, whatever the ending."""
    running: list[asyncio.Future[Any]] = [asyncio.ensure_future(step(ctx))]

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
            if ctx.check_run.wanted:  # a crash: the check run says so rather than spin forever
                await _crashed(ctx, error)
            raise
        return await _report_cancelled(ctx, stop, running)
    finally:
        stop.detach()
        await ctx.github.aclose()


async def _report_cancelled(
    ctx: ActionContext, stop: StopSignals, running: list[asyncio.Future[Any]]
) -> int:
    """Summary, comment and check run (within CANCEL_GRACE, unless a second signal) and
    outputs."""
    log = structlog.get_logger("gate.action.cancel")
    assert stop.signum is not None
    code = cancelled_exit_code(stop.signum)
    log.warning(
        "action.cancelled",
        signal=signal.Signals(stop.signum).name,
        exit_code=code,
        note="the service's gate goes on without this step"
        if ctx.settings.service_url is not None
        else f"marking the pull request's comment as cancelled (at most {CANCEL_GRACE:g} s)",
    )
    body = cancelled_report(ctx.title, sha=ctx.event.sha, run_url=ctx.event.run_url)
    if ctx.settings.service_url is not None:
        # The gate is the service's: it goes on (and reports) without this step, whose
        # comment and check run it owns; only this step's summary and outputs say it stopped.
        ctx.io.append_summary(body)
        ctx.io.set_outputs(Outputs(verdict=CANCELLED, passed=False).as_dict())
        return code
    ctx.io.append_summary(body)
    url = ""
    reason = "a second signal"
    if stop.count == 1:
        comment = asyncio.ensure_future(_publish_cancelled(ctx, body))
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
                reason = internal_error_message(failure, ctx.secrets)
            elif stop.count == 1:
                reason = f"no answer from GitHub within {CANCEL_GRACE:g} s"
    if reason:
        log.warning("action.cancelled_comment_not_updated", reason=reason)
    ctx.io.set_outputs(Outputs(verdict=CANCELLED, passed=False, comment_url=url).as_dict())
    return code


async def _publish_cancelled(ctx: ActionContext, body: str) -> CommentResult | None:
    """The comment and the check run of a cancelled run, side by side; the comment's result."""
    if not ctx.check_run.wanted:
        return await comment_cancelled(ctx, body)

    async def cancel_check_run() -> None:
        await ctx.check_run.created()
        await check_run.finish(
            ctx,
            conclusion="cancelled",
            title="Cancelled: the run stopped before the gate finished",
            summary=body,
        )

    comment, _ = await asyncio.gather(comment_cancelled(ctx, body), cancel_check_run())
    return comment


async def _crashed(ctx: ActionContext, error: Exception) -> None:
    """Complete the check run `failure` with the error's one line (at most CANCEL_GRACE s)."""
    secrets = ctx.secrets
    message = str(error) if isinstance(error, GateError) else internal_error_message(error, secrets)
    line = redact_line(relative(message, ctx.workspace), secrets)
    try:
        async with asyncio.timeout(CANCEL_GRACE):
            await ctx.check_run.created()
            await check_run.finish(
                ctx,
                conclusion="failure",
                title=f"Could not run: {line}",
                summary=crash_report(ctx.title, line),
            )
    except TimeoutError:
        structlog.get_logger("gate.action.cancel").warning(
            "action.check_run_not_completed", reason=f"no answer within {CANCEL_GRACE:g} s"
        )
