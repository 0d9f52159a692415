"""A gate's check run on the pull request's head commit (the Checks API).

A check run shows in the pull request's checks list, where a reviewer looks first. Its life:
`start_check_run` creates it `in_progress` when the step starts (a pull request waiting on a
running evaluation shows it); `complete_check_run` completes it with a conclusion, the verdict
as title and the report as summary, then appends one annotation per failing (or warning)
check on the line of the config that holds its rule, at most `ANNOTATIONS_PER_REQUEST` a
request, at most `MAX_CHECK_ANNOTATIONS` in all.

Pure helpers decide what is sent: `check_run_conclusion` and `check_run_title` read the one
decision of the verdict under `fail-on` (gate.core.decision: `success` for a pass, `neutral`
for a warning the gate lets through, `failure` otherwise, as the commit status), and
`check_annotations`. Every GitHub failure is logged and returned as data, never raised: a check
run never changes a verdict. Creating one is refused with 403 when the token lacks
`checks: write` (a pull request from a fork): `CheckRunStart.forbidden` says so, for the caller
to fall back to a commit status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from gate.core.decision import Tally, decide
from gate.core.model import FailOn
from gate.core.outcome import Check, GateOutcome, Status, Verdict
from gate.github.api import (
    CHECK_RUN_TEXT_MAX,
    CHECK_RUN_TITLE_MAX,
    CheckAnnotation,
    GitHubError,
    GitHubForbidden,
    GitHubTransportError,
    annotation_batches,
)
from gate.http.text import one_line

if TYPE_CHECKING:
    from gate.github.client import GitHubClient
    from gate.github.connection import GitHubConnection

__all__ = [
    "MAX_CHECK_ANNOTATIONS",
    "CheckRunStart",
    "check_annotations",
    "check_run_conclusion",
    "check_run_title",
    "complete_check_run",
    "start_check_run",
]

MAX_CHECK_ANNOTATIONS = 1000  # in all: 20 requests of 50; the summary counts the rest
IN_PROGRESS_TITLE = "Gating…"
IN_PROGRESS_SUMMARY = (
    "eval-gate is running: fetching the evaluations (waiting for any still running) and "
    "checking them against the config's rules. The verdict replaces this when it is done."
)
FORBIDDEN_FIX = (
    "grant the token `checks: write` in the workflow's permissions (a pull request from a "
    "fork gets a read-only token: use the two-workflow workflow_run pattern)"
)

_log = structlog.get_logger("gate.github.checks")


# --- what is sent (pure) ---------------------------------------------------------------------


def check_run_conclusion(verdict: Verdict | None, fail_on: str) -> str:
    """The conclusion for a verdict (None: the gate could not run) under `fail_on`, as the
    decision says: `success` for a pass, `neutral` for a warning the gate lets through,
    `failure` when the gate did not pass (under `fail-on: never` too, as the commit status)."""
    return decide(verdict, fail_on).conclusion.value


def check_run_title(outcome: GateOutcome, fail_on: str = FailOn.ERROR) -> str:
    """The verdict line: `Failed: 2 of 9 checks failed`, `Passed with 1 warning (9 checks)`,
    `Failed on 1 warning under fail-on: warning (9 checks)`."""
    text = decide(outcome.verdict, fail_on).title(Tally.of(outcome.checks))
    return one_line(text, limit=CHECK_RUN_TITLE_MAX)


def _scope(check: Check) -> str:
    where = f"{check.eval_label} [{check.split}]"
    if check.class_name is not None:
        where += f" class {check.class_name}"
    return where


def check_annotations(
    outcome: GateOutcome,
    *,
    path: str,
    line_of: Callable[[Check], int | None],
    limit: int = MAX_CHECK_ANNOTATIONS,
) -> tuple[tuple[CheckAnnotation, ...], int]:
    """One annotation per failing (`failure`) and warning (`warning`) check, failures first, on
    the line `line_of(check)` of `path` (the config, relative to the repository root; line 1
    when the rule has no line there); at most `limit`, and how many were left out."""
    wanted = [c for c in outcome.checks if c.failing]
    wanted += [c for c in outcome.checks if c.status is Status.WARN]
    out: list[CheckAnnotation] = []
    for check in wanted[:limit]:
        line = line_of(check) or 1
        out.append(
            CheckAnnotation(
                path=path,
                start_line=line,
                end_line=line,
                level="failure" if check.failing else "warning",
                message=f"{_scope(check)}: {check.message}",
                title=f"eval-gate: {check.rule}",
            )
        )
    return tuple(out), max(len(wanted) - limit, 0)


def left_out_note(count: int) -> str:
    """The summary's note about annotations over the bound ("" for none)."""
    if count <= 0:
        return ""
    plural = "s" if count != 1 else ""
    return (
        f"\n\n_{count:,} more annotation{plural} left out (at most "
        f"{MAX_CHECK_ANNOTATIONS:,} a run): the report above lists every check._\n"
    )


def _summary(text: str) -> str:
    """Within GitHub's 65,535 characters (the report is folded to fit before; this only guards
    text that was not, such as an error's)."""
    return text if len(text) <= CHECK_RUN_TEXT_MAX else text[: CHECK_RUN_TEXT_MAX - 1] + "…"


# --- the requests ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckRunStart:
    """What creating the check run gave: its id, or why there is none."""

    check_run_id: int | None
    forbidden: bool = False  # 403: the token may not create check runs (fall back to a status)
    reason: str | None = None  # one line, token-free, when there is no id


async def start_check_run(
    github: GitHubConnection,
    *,
    repository: str | None,
    sha: str | None,
    name: str,
    external_id: str,
    details_url: str | None,
) -> CheckRunStart:
    """Create the check run, `in_progress`, on `sha`. Never raises.

    When the request may have reached GitHub without an answer (a timeout, a dropped
    connection: not resent, a second one would stay in progress for ever), the commit's check
    runs in progress with this name and `external_id` are looked up, and the newest is taken.
    Each request may take the connection's timeout.
    """
    if not github.token:
        return CheckRunStart(None, reason="no github-token to create a check run with")
    if not repository or not sha:
        return CheckRunStart(None, reason="the event names no commit to put a check run on")
    try:
        client = github.client()
        run_id = await client.create_check_run(
            repository,
            name=name,
            head_sha=sha,
            external_id=external_id,
            details_url=details_url,
            title=IN_PROGRESS_TITLE,
            summary=IN_PROGRESS_SUMMARY,
        )
    except GitHubForbidden as error:
        reason = f"GitHub refused to create the check run (HTTP 403); {FORBIDDEN_FIX}"
        _log.warning("checks.create_forbidden", reason=reason, detail=str(error))
        return CheckRunStart(None, forbidden=True, reason=reason)
    except GitHubTransportError as error:
        found = await _landed(client, repository, sha, name=name, external_id=external_id)
        if found is None:
            _log.warning("checks.create_failed", reason=str(error))
            return CheckRunStart(None, reason=str(error))
        run_id = found
    except GitHubError as error:
        _log.warning("checks.create_failed", reason=str(error))
        return CheckRunStart(None, reason=str(error))
    _log.info("checks.created", check_run_id=run_id, name=name)
    return CheckRunStart(run_id)


async def _landed(
    github: GitHubClient, repository: str, sha: str, *, name: str, external_id: str
) -> int | None:
    """The newest check run in progress named `name` with `external_id` on `sha`, if any."""
    try:
        runs = await github.check_runs_in_progress(repository, sha, name=name)
    except GitHubError as error:
        _log.warning("checks.lookup_failed", reason=str(error))
        return None
    ours = [r.id for r in runs if r.name == name and r.external_id == external_id]
    return max(ours, default=None)


async def complete_check_run(
    github: GitHubConnection,
    *,
    repository: str,
    check_run_id: int,
    conclusion: str,
    title: str,
    summary: str,
    annotations: tuple[CheckAnnotation, ...] = (),
) -> bool:
    """Complete the check run, then append `annotations` 50 a request. Whether it was completed
    (a failed batch of annotations is only logged). Never raises."""
    output = {"title": one_line(title, limit=CHECK_RUN_TITLE_MAX), "summary": _summary(summary)}
    try:
        client = github.client()
        await client.update_check_run(
            repository, check_run_id, output=output, conclusion=conclusion
        )
    except GitHubError as error:
        _log.warning("checks.complete_failed", reason=str(error), check_run_id=check_run_id)
        return False
    _log.info("checks.completed", check_run_id=check_run_id, conclusion=conclusion)
    batches = annotation_batches(annotations)
    for index, batch in enumerate(batches):
        try:
            await client.update_check_run(
                repository, check_run_id, output={**output, "annotations": batch}
            )
        except GitHubError as error:
            _log.warning(
                "checks.annotations_failed",
                reason=str(error),
                sent=sum(len(b) for b in batches[:index]),
                left=sum(len(b) for b in batches[index:]),
            )
            break
    return True
