"""Posting a gate's result to GitHub: the sticky comment and the commit status.

The one path from an outcome to GitHub, for the Action and the HTTP service alike: each face
describes where to report (`Target`), renders the comment with `comment_body` (the report
shortened to one comment, or the error that stopped the gate) and posts it with `publish`,
which also sets the status (`status_state`), over the run's `GitHubConnection`; the service
does both in one call, `report_gate`. Every GitHub failure is logged as a warning and returned
as data; nothing here changes a verdict or raises. `publish_cancelled` is the one thing a
cancelled Action run still does: replace its stale comment with a "cancelled" note.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import structlog

from gate.core.decision import Decision, Tally, decide
from gate.core.errors import GateError
from gate.core.gate_id import status_context
from gate.core.model import CommentMode, FailOn
from gate.core.outcome import GateOutcome
from gate.core.redact import redact, redact_line
from gate.github.connection import GitHubConnection
from gate.report.no_verdict import error_report
from gate.report.render import DEFAULT_MAX_CHARS, MIN_MAX_CHARS, build_report, render

if TYPE_CHECKING:
    import aiohttp

    from gate.github.client import GitHubClient
    from gate.github.comment import CommentResult
    from gate.report.render import ReportModel

STATUS_DESCRIPTION_MAX = 140


@dataclass(frozen=True, slots=True)
class Gated:
    """What the gate produced: an outcome, or the error that stopped it."""

    outcome: GateOutcome | None
    error: GateError | None

    @property
    def verdict(self) -> str:
        return "error" if self.outcome is None else self.outcome.verdict.value

    def decision(self, fail_on: str) -> Decision:
        """What the verdict means under `fail_on` for every output (gate.core.decision); a gate
        that could not run exits with its error's code."""
        if self.outcome is None:
            assert self.error is not None
            return decide(None, fail_on, error_code=self.error.exit_code)
        return decide(self.outcome.verdict, fail_on)

    def passed(self, fail_on: str) -> bool:
        """Whether the gate passed under `fail_on` (`never` judges as `error` does)."""
        return self.decision(fail_on).passed


@dataclass(frozen=True, slots=True)
class Target:
    """Where on GitHub a gate reports, and how."""

    repository: str | None  # owner/name
    pr_number: int | None
    sha: str | None  # the commit for the status: a PR's head, never its merge commit
    gate_id: str
    comment: str = CommentMode.UPDATE  # a CommentMode
    commit_status: bool = False
    status_context: str = ""  # "" = eval-gate/<gate_id>
    fail_on: str = FailOn.ERROR  # a FailOn: whether the gate passed, for `on-failure`
    target_url: str | None = None  # the status's link
    lookup_pr_by_sha: bool = False  # no PR number: find the PR by its head commit
    note: str | None = None  # why there is no PR, for the log

    @property
    def wants_comment(self) -> bool:
        return self.comment != CommentMode.OFF and self.repository is not None

    @property
    def wants_anything(self) -> bool:
        """Whether a comment or a status is asked for (else GitHub is not contacted at all)."""
        return self.wants_comment or self.commit_status


def comment_body(
    gated: Gated,
    *,
    gate_id: str,
    title: str,
    full_report_hint: str | None,
    secrets: tuple[str, ...] = (),
    notes: str = "",
    report: ReportModel | None = None,
    fail_on: str = FailOn.ERROR,
) -> str:
    """The comment's Markdown: the report shortened to fit one comment with its marker, or the
    error that stopped the gate; then `notes` (trusted Markdown, e.g. where the rules came
    from), room left for them. `report`: the outcome's report if already built (the Action
    builds it once for every place it goes)."""
    if gated.outcome is None:
        assert gated.error is not None
        return error_report(gated.error, title, secrets) + notes
    from gate.github.comment import comment_budget  # noqa: PLC0415 - only when commenting

    model = (
        report if report is not None else build_report(gated.outcome, title=title, fail_on=fail_on)
    )
    budget = min(DEFAULT_MAX_CHARS, comment_budget(gate_id)) - len(notes)
    shown = render(model, max_chars=max(budget, MIN_MAX_CHARS), full_report_hint=full_report_hint)
    return shown + notes


Render = Callable[[Callable[[], str]], Awaitable[str]]
"""Runs the rendering of a comment (the service hands it to its work threads)."""


async def _inline(render: Callable[[], str]) -> str:
    return render()


async def report_gate(
    session: aiohttp.ClientSession,
    *,
    token: str | None,
    api_url: str,
    target: Target,
    gated: Gated,
    title: str,
    full_report_hint: str | None,
    secrets: tuple[str, ...] = (),
    render: Render = _inline,
    author: str | None = None,
) -> CommentResult | None:
    """Comment and commit status for a gate's result, as `target` asks: the one path the Action
    and the service share. The comment is rendered only when one is wanted. `author`: who the
    token comments as, when known (a GitHub App's `<slug>[bot]`; see `GitHubConnection`)."""
    if not target.wants_anything:
        return None

    def body() -> str:
        return comment_body(
            gated,
            gate_id=target.gate_id,
            title=title,
            full_report_hint=full_report_hint,
            secrets=secrets,
            fail_on=target.fail_on,
        )

    text = await render(body) if target.wants_comment else ""
    github = GitHubConnection(token=token, api_url=api_url, transport=session, author=author)
    return await publish(github, target=target, gated=gated, body=text, secrets=secrets)


def status_state(
    gated: Gated, fail_on: str = FailOn.ERROR, secrets: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Commit status state and a one-line description of at most 140 characters, as the
    decision for the verdict under `fail_on` says (a warning under `fail-on: warning` is a
    `failure`); an error's text has `secrets` masked before it is cut."""
    decision = gated.decision(fail_on)
    if gated.outcome is None:
        description = f"eval-gate could not run: {gated.error}"
    else:
        description = decision.description(Tally.of(gated.outcome.checks))
    return decision.status.value, redact_line(description, secrets, limit=STATUS_DESCRIPTION_MAX)


async def _find_pr(github: GitHubClient, target: Target) -> int | None:
    if target.pr_number is not None:
        return target.pr_number
    if not target.lookup_pr_by_sha or not target.repository or not target.sha:
        return None
    from gate.github.api import GitHubError  # noqa: PLC0415

    try:
        numbers = await github.pulls_for_commit(target.repository, target.sha)
    except GitHubError as error:
        structlog.get_logger("gate.github.publish").warning(
            "publish.pr_lookup_failed", reason=str(error)
        )
        return None
    return numbers[0] if numbers else None


async def _comment(
    github: GitHubClient, target: Target, body: str, *, passing: bool, author: str | None
) -> CommentResult | None:
    from gate.github.comment import upsert_comment  # noqa: PLC0415

    log = structlog.get_logger("gate.github.publish")
    assert target.repository is not None
    pr = await _find_pr(github, target)
    if pr is None:
        log.info("publish.no_pull_request", note=target.note or "no pull request to comment on")
        return None
    result = await upsert_comment(
        github,
        repo=target.repository,
        number=pr,
        body=body,
        gate_id=target.gate_id,
        mode=target.comment,
        passing=passing,
        bot_login=author,
    )
    if result.action == "failed":
        log.warning(
            "publish.comment_failed",
            reason=result.reason or "unknown error",
            not_accessible=result.not_accessible,
        )
    else:
        log.info("publish.comment", action=result.action, url=result.url)
    return result


async def _status(
    github: GitHubClient, target: Target, gated: Gated, secrets: tuple[str, ...]
) -> None:
    from gate.github.api import GitHubError  # noqa: PLC0415

    log = structlog.get_logger("gate.github.publish")
    if not target.repository or not target.sha:
        log.warning("publish.no_commit", note="no commit to set a status on")
        return
    state, description = status_state(gated, target.fail_on, secrets)
    try:
        await github.create_status(
            target.repository,
            target.sha,
            state=state,
            description=description,
            context=target.status_context or status_context(target.gate_id),
            target_url=target.target_url,
        )
    except GitHubError as error:
        log.warning(
            "publish.status_failed",
            reason=str(error),
            fix="grant `statuses: write` to the token (the workflow's permissions block)",
        )


async def publish(
    github: GitHubConnection,
    *,
    target: Target,
    gated: Gated,
    body: str,
    secrets: tuple[str, ...] = (),
) -> CommentResult | None:
    """Comment and commit status as `target` asks; the comment's result, if one was tried.
    `secrets` are masked in the comment and the status (the token is always among them)."""
    log = structlog.get_logger("gate.github.publish")
    wants_comment = target.wants_comment
    if not target.wants_anything:
        return None
    token = github.token
    if not token:
        log.warning("publish.no_token", hint="give a GitHub token to comment or set a status")
        return None
    from gate.github.api import GitHubError  # noqa: PLC0415

    result: CommentResult | None = None
    secrets = (*secrets, token)
    try:
        client = github.client()
        if wants_comment:
            body = redact(body, secrets)
            passing = gated.passed(target.fail_on)
            result = await _comment(client, target, body, passing=passing, author=github.author)
        if target.commit_status:
            await _status(client, target, gated, secrets)
    except GitHubError as error:
        log.warning("publish.github_failed", reason=str(error))
    return result


async def publish_cancelled(
    github: GitHubConnection, *, target: Target, body: str
) -> CommentResult | None:
    """Replace the gate's sticky comment with `body`, the note of a cancelled run.

    Only a comment already there is edited (comment `update` or `on-failure`): a cancelled
    run adds no comment, and in `new` mode each run's comment stays as it was. No commit
    status is set: a status belongs to one commit and a cancelled run has nothing to say
    about it. The caller bounds the time this takes.
    """
    sticky = (CommentMode.UPDATE, CommentMode.ON_FAILURE)
    if target.comment not in sticky or target.repository is None or not github.token:
        return None
    from gate.github.api import GitHubError  # noqa: PLC0415

    # `on-failure` when passing is exactly "update ours if it exists, create nothing".
    only_update = replace(target, comment=CommentMode.ON_FAILURE, commit_status=False)
    try:
        return await _comment(
            github.client(), only_update, body, passing=True, author=github.author
        )
    except GitHubError as error:
        structlog.get_logger("gate.github.publish").warning(
            "publish.github_failed", reason=str(error)
        )
        return None
