"""What a durable gate does on GitHub, each effect idempotent and keyed by the gate.

- The check run: one per gate, whatever happens to the process that made it. Its id is stored
  the moment GitHub answers (`remember`, a fenced update); a gate without one first looks for a
  check run of its commit with its name whose `external_id` is the gate's id (made by a process
  that died before storing the id) and adopts it, else creates it `queued`. Then it is PATCHed
  to the gate's state (gate.worker.texts): sent twice, a PATCH changes nothing.
- The commit status (when asked): `pending` while waiting, the verdict's when finished; the
  latest per context wins on GitHub, so a repeat changes nothing.
- The sticky comment (when asked, once finished): found by its marker and updated in place,
  else created (gate.github.comment); with `comment: new`, the comment this gate created
  (its stored id) is edited rather than another one posted. A cancelled (or superseded) gate
  replaces an earlier comment and adds none, as a cancelled Action run does.

Every GitHub failure is data (`Published`): a transient one (the network, a 5xx, a rate
limit) asks the caller to try again later; a permanent one (403, 404, 422) is logged and the
effect given up. Nothing here changes a verdict.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from gate.api.body import GitHubPart
from gate.core.redact import redact, redact_line
from gate.github.api import GitHubError, GitHubNotFound
from gate.github.comment import comment_budget, upsert_comment, with_marker
from gate.worker.texts import (
    StepView,
    check_run_name,
    check_run_text,
    commit_status_text,
    rerun_text,
)

if TYPE_CHECKING:
    from gate.github.client import GitHubClient

__all__ = ["Published", "Remember", "comment_text", "publish"]

_log = structlog.get_logger("gate.worker.effects")
SHORTENED = "\n\n_The report is shortened to fit a comment: the full report is at {url}._\n"

Remember = Callable[..., Awaitable[None]]
"""Stores ids GitHub gave (`check_run_id=`, `comment_id=`) at once, fenced by the lease (it
raises when the lease is lost: nothing more may be done for the gate)."""


class PublishedGate(StepView, Protocol):
    """What publishing reads of a gate (`gate.store.GateRow` is one): what its texts read, and
    where its effects went."""

    @property
    def id(self) -> str: ...
    @property
    def finished(self) -> bool: ...
    @property
    def sha(self) -> str | None: ...
    @property
    def check_run_id(self) -> int | None: ...
    @property
    def comment_id(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Published:
    """What publishing came to: `retry` when a transient failure left an effect undone (try
    again later; a token GitHub refused, 401, is one: `refused`); `reasons` one line each for
    what failed."""

    retry: bool = False
    reasons: tuple[str, ...] = ()
    refused: bool = False  # GitHub answered 401 to the token: the credentials must renew it


def _transient(error: GitHubError) -> bool:
    """Worth trying again: the network, a 5xx, a rate limit, or a token refused (401: an App's
    installation token is renewed and the next try has a fresh one)."""
    return bool(error.retryable) or error.status in (None, 401, 429)


def comment_text(report: str, gate_name: str, report_url: str | None) -> str:
    """The comment's Markdown: the stored report, shortened at a line to fit one comment
    (with a note pointing at the full report) when it is longer."""
    budget = comment_budget(gate_name)
    if len(report) <= budget:
        return report
    note = SHORTENED.format(url=report_url or "the gate's report URL")
    cut = report[: max(0, budget - len(note))]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return cut + note


class _Publisher:
    def __init__(
        self,
        gate: PublishedGate,
        part: GitHubPart,
        client: GitHubClient,
        *,
        remember: Remember,
        details_url: str | None,
        report_url: str | None,
        passing: bool,
        author: str | None,
        secrets: tuple[str, ...],
    ) -> None:
        self.gate = gate
        self.author = author
        self.refused = False
        self.part = part
        self.client = client
        self.remember = remember
        self.details_url = details_url
        self.report_url = report_url
        self.passing = passing
        self.secrets = secrets
        self.retry = False
        self.reasons: list[str] = []
        self.name = check_run_name(part.gate_id, part.status_context)

    def failed(self, what: str, error: GitHubError) -> None:
        transient = _transient(error)
        self.refused |= error.status == 401
        self.retry |= transient
        reason = redact_line(f"{what}: {error}", self.secrets, limit=300)
        self.reasons.append(reason)
        _log.warning(
            "worker.github_failed", gate_id=self.gate.id, reason=reason, transient=transient
        )

    async def check_run(self, *, create_only: bool = False, phase: str | None = None) -> None:
        sha = self.gate.sha
        if not self.part.check_run or sha is None:
            return
        run_id = self.gate.check_run_id
        if run_id is None:
            run_id = await self._adopt_or_create(sha)
            if run_id is None:
                return
            await self.remember(check_run_id=run_id)
        if create_only:
            return
        text = check_run_text(self.gate) if phase is None else rerun_text(phase)
        output = {"title": text.title, "summary": redact(text.summary, self.secrets)}
        try:
            await self.client.update_check_run(
                self.part.repository,
                run_id,
                output=output,
                conclusion=text.conclusion,
                status=None if text.conclusion is not None else text.status,
            )
        except GitHubError as error:
            self.failed("updating the check run", error)

    async def _adopt_or_create(self, sha: str) -> int | None:
        repository, gate_id = self.part.repository, self.gate.id
        try:
            runs = await self.client.check_runs_named(repository, sha, name=self.name)
        except GitHubError as error:
            self.failed("looking for the gate's check run", error)
            return None
        ours = [run.id for run in runs if run.external_id == gate_id]
        if ours:
            _log.info("worker.check_run_adopted", gate_id=gate_id, check_run_id=min(ours))
            return min(ours)  # the first made, should a lost answer have made two
        queued = check_run_text(_Queued(self.gate))
        try:
            run_id = await self.client.create_check_run(
                repository,
                name=self.name,
                head_sha=sha,
                external_id=gate_id,
                details_url=self.details_url,
                title=queued.title,
                summary=queued.summary,
                status="queued",
            )
        except GitHubError as error:
            self.failed("creating the check run", error)
            return None
        _log.info("worker.check_run_created", gate_id=gate_id, check_run_id=run_id)
        return run_id

    async def commit_status(self) -> None:
        sha = self.gate.sha
        if not self.part.commit_status or sha is None:
            return
        state, description = commit_status_text(self.gate, self.secrets)
        try:
            await self.client.create_status(
                self.part.repository,
                sha,
                state=state,
                description=description,
                context=self.name,
                target_url=self.part.target_url or self.details_url,
            )
        except GitHubError as error:
            self.failed("setting the commit status", error)

    async def comment(self) -> None:
        part, gate = self.part, self.gate
        if part.comment == "off" or not gate.finished:
            return
        if part.pull_number is None and gate.sha is None:
            return
        body = redact(
            comment_text(gate.report or gate.error or "", part.gate_id, self.report_url),
            self.secrets,
        )
        number = part.pull_number
        if number is None:
            assert gate.sha is not None
            try:
                found = await self.client.pulls_for_commit(part.repository, gate.sha)
            except GitHubError as error:
                self.failed("finding the pull request of the commit", error)
                return
            if not found:
                _log.info("worker.no_pull_request", gate_id=gate.id)
                return
            number = found[0]
        if part.comment == "new" and gate.comment_id is not None and gate.status == "done":
            try:
                await self.client.update_comment(
                    part.repository, gate.comment_id, with_marker(body, part.gate_id)
                )
            except GitHubNotFound:
                pass  # deleted meanwhile: post it again below
            except GitHubError as error:
                self.failed("updating the comment", error)
                return
            else:
                return
        mode, passing = part.comment, self.passing
        if gate.status in ("cancelled", "superseded"):
            # As a cancelled Action run: an earlier comment is replaced, none is added.
            mode, passing = "on-failure", True
        result = await upsert_comment(
            self.client,
            repo=part.repository,
            number=number,
            body=body,
            gate_id=part.gate_id,
            mode=mode,
            passing=passing,
            bot_login=self.author,
        )
        if result.action == "failed":
            status = result.status
            transient = status is None or status >= 500 or status in (401, 429)
            self.refused |= status == 401
            self.retry |= transient
            reason = redact_line(f"posting the comment: {result.reason}", self.secrets, limit=300)
            self.reasons.append(reason)
            _log.warning(
                "worker.github_failed", gate_id=gate.id, reason=reason, transient=transient
            )
        elif result.comment_id is not None and result.comment_id != gate.comment_id:
            await self.remember(comment_id=result.comment_id)


@dataclass(frozen=True, slots=True)
class _Queued:
    """A gate as it was before its first look (the check run is created showing this)."""

    gate: PublishedGate

    status = "queued"

    @property
    def waiting_for(self) -> Any:
        return None

    @property
    def deadline_at(self) -> int:
        return self.gate.deadline_at

    @property
    def result(self) -> Any:
        return None

    @property
    def report(self) -> str | None:
        return None

    @property
    def error(self) -> str | None:
        return None

    @property
    def superseded_by(self) -> str | None:
        return None


async def publish(
    gate: PublishedGate,
    part: GitHubPart,
    client: GitHubClient,
    *,
    remember: Remember,
    details_url: str | None = None,
    report_url: str | None = None,
    passing: bool = True,
    author: str | None = None,
    secrets: tuple[str, ...] = (),
    create_only: bool = False,
    phase: str | None = None,
) -> Published:
    """Bring the gate's check run, commit status and (once finished) comment to its state;
    `create_only`: only make sure its check run exists (at its first step, `queued`);
    `phase` (`queued`, `in_progress`): only show its check run so (a re-run starting)."""
    publisher = _Publisher(
        gate,
        part,
        client,
        remember=remember,
        details_url=details_url,
        report_url=report_url,
        passing=passing,
        author=author,
        secrets=secrets,
    )
    await publisher.check_run(create_only=create_only, phase=phase)
    if not create_only and phase is None:
        await publisher.commit_status()
        await publisher.comment()
    return Published(publisher.retry, tuple(publisher.reasons), publisher.refused)
