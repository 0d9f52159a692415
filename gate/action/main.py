"""The GitHub Action's process (`python -m gate.action`): `main()` only wires the real process
(environment, working directory, stdout, stderr) into `run()`, the Action with its I/O passed
in, which tests call in-process.

`run()` masks the secrets first, reads the inputs and the event into one `ActionContext`, runs
the step (`gate.action.step`) under the stop signals (`gate.action.cancel`) in an event loop of
its own, turns any error into one line and its exit code, and hands what the run wrote in the
workspace back to the workspace's owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TextIO

from gate.action.cancel import Cancelled, StopSignals, cancelled_exit_code, supervised
from gate.action.context import ActionContext
from gate.action.event import read_event
from gate.action.inputs import read_action_settings
from gate.action.runner import ActionsIO
from gate.action.step import action
from gate.core.errors import ExitCode, GateError, internal_error_message
from gate.core.gate_id import report_folder
from gate.core.redact import redact
from gate.github.connection import GitHubConnection

__all__ = ["main", "run"]


def run(*, environ: Mapping[str, str], cwd: Path, out: TextIO, err: TextIO) -> int:
    """The Action with its process I/O passed in: the runner's environment (`INPUT_*`,
    `GITHUB_*`), the working directory (the workspace when `GITHUB_WORKSPACE` is not set),
    stdout (workflow commands) and stderr (the log). Returns the exit code. In the main thread
    it handles SIGTERM and SIGINT while it runs (the handlers before are restored after)."""
    stop = StopSignals()
    stop.install()
    io = ActionsIO(environ, out, cwd=cwd)
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
    environ: Mapping[str, str], io: ActionsIO, err: TextIO, stop: StopSignals, written: list[str]
) -> int:
    from gate.logs import configure_logging, error_line  # noqa: PLC0415

    raw_key = environ.get("INPUT_API-KEY", "").strip()
    raw_token = environ.get("INPUT_GITHUB-TOKEN", "").strip()
    raw_service_token = environ.get("INPUT_SERVICE-TOKEN", "").strip()
    secrets = tuple(s for s in (raw_key, raw_token, raw_service_token) if s)
    for secret in secrets:  # first, before anything can print them
        io.add_mask(secret)
    configure_logging(err, fmt="console", secrets=secrets)
    try:
        settings = read_action_settings(environ)
        for warning in settings.warnings:
            io.annotate("warning", redact(warning, secrets), title="eval-gate")
        folder = report_folder(settings.gate_id)
        written.extend((f"{folder}/report.md", f"{folder}/report.json"))
        github = GitHubConnection(token=settings.github_token, api_url=_github_api_url(environ))
        ctx = ActionContext(settings, read_event(environ), io, github)
        return _run_loop(supervised(ctx, stop, action), stop)
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


def _github_api_url(environ: Mapping[str, str]) -> str:
    return environ.get("GITHUB_API_URL", "").strip() or "https://api.github.com"


def _run_loop(main: Coroutine[Any, Any, int], stop: StopSignals) -> int:
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


def _exit(code: int) -> int:
    """`code`, or, for a cancelled run with a thread still busy (a DNS lookup), the process
    ended now: everything is written, and waiting for the thread at interpreter exit would
    make the cancelled job linger."""
    if code > 128 and threading.active_count() > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def main() -> int:
    """Container entrypoint: wires the real process into `run`."""
    return _exit(run(environ=os.environ, cwd=Path.cwd(), out=sys.stdout, err=sys.stderr))


if __name__ == "__main__":
    raise SystemExit(main())
