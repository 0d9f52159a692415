"""Posting a gate's result to GitHub from the service: the sticky comment and the commit
status, as the Action does (`gate.github.publish`), within what is left of the request's
deadline (a few seconds at least). Best effort: a failure is a warning, never a change to the
answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

import structlog
from aiohttp import web

from gate.core.outcome import GateOutcome
from gate.github.publish import Gated, Target, report_gate
from gate.report.markdown import md_url
from gate.server.body import GateCall, GitHubPart
from gate.server.request import request_secrets
from gate.server.state import RUNS, SETTINGS, UPSTREAM, WORK
from gate.server.work import StopFlag, WorkStopped

__all__ = ["MIN_PUBLISH_SECONDS", "post_result"]


MIN_PUBLISH_SECONDS: Final = 5.0  # posting to GitHub gets at least this, however long the gate took


async def _publish(
    request: web.Request,
    call: GateCall,
    github: GitHubPart,
    outcome: GateOutcome,
    flag: StopFlag,
) -> str | None:
    """Post the comment and status; the comment's URL. Never raises: GitHub is best effort."""
    settings, upstream = request.app[SETTINGS], request.app[UPSTREAM]
    log = structlog.get_logger("gate.server.publish")
    title = call.title if call.title != "eval-gate" else f"eval-gate · {github.gate_id}"
    hint = github.target_url and (
        f"The full report is at [the job that ran the gate]({md_url(github.target_url)})."
    )
    target = Target(
        repository=github.repository,
        pr_number=github.pull_number,
        sha=github.sha,
        gate_id=github.gate_id,
        comment=github.comment,
        commit_status=github.commit_status,
        status_context=github.status_context,
        fail_on=call.fail_on,
        target_url=github.target_url,
        lookup_pr_by_sha=github.pull_number is None and github.sha is not None,
    )

    async def on_work_thread(render: Callable[[], str]) -> str:
        return await request.app[WORK].run(flag, "render_comment", render)

    try:
        result = await report_gate(
            upstream.session,
            token=github.token,
            api_url=settings.github_api_url,
            target=target,
            gated=Gated(outcome, None),
            title=title,
            full_report_hint=hint or None,
            secrets=request_secrets() + settings.secrets,
            render=on_work_thread,
        )
    except WorkStopped:
        raise
    except Exception as error:  # noqa: BLE001 - GitHub is best effort: never change the answer
        log.warning("server.github_failed", error=type(error).__name__)
        return None
    return result.url if result is not None else None


async def post_result(
    request: web.Request, call: GateCall, github: GitHubPart, outcome: GateOutcome, left: float
) -> str | None:
    """`_publish` within what is left of the deadline (at least a few seconds); never raises."""
    runs = request.app[RUNS]
    within = max(MIN_PUBLISH_SECONDS, left)
    flag = StopFlag(time.monotonic() + within)
    try:
        async with asyncio.timeout(within) as scope:
            with runs.tracked(scope):
                return await _publish(request, call, github, outcome, flag)
    except (TimeoutError, WorkStopped):
        structlog.get_logger("gate.server.publish").warning(
            "server.github_timeout", hint="the request deadline ended while posting to GitHub"
        )
        return None
