"""The sticky pull-request comment: find ours by its hidden marker, then update or create it.

A comment is ours only if the first line of its body is exactly our marker
(`<!-- eval-gate:<gate-id> -->`), so a human quoting it (`> <!-- ... -->`), mentioning it
mid-text, or another gate's marker never matches. Among our comments we prefer the
token's own account, then GitHub Actions' bot, then any bot, and never edit a human's
comment (unless the token is that human's: a personal access token).

`upsert_comment` never raises a GitHubError: a comment that cannot be posted must not
change the gate's verdict; it comes back as CommentResult(action="failed", reason=...).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from gate.core.gate_id import gate_id_problem
from gate.github.api import COMMENT_MAX_CHARS, Comment, GitHubError, GitHubForbidden
from gate.http.text import one_line

if TYPE_CHECKING:
    from gate.github.client import GitHubClient

__all__ = [
    "ACTIONS_BOT",
    "MODES",
    "CommentResult",
    "comment_budget",
    "find_own_comment",
    "marker",
    "upsert_comment",
    "with_marker",
]

ACTIONS_BOT = "github-actions[bot]"
MODES: tuple[str, ...] = ("update", "new", "on-failure", "off")


def marker(gate_id: str) -> str:
    """The hidden first line that marks a gate's comment: `<!-- eval-gate:{gate_id} -->`.

    The id is used verbatim (see `gate.core.gate_id`): two distinct ids never share a comment.
    """
    problem = gate_id_problem(gate_id)
    if problem is not None:
        raise ValueError(f"gate id {problem}")
    return f"<!-- eval-gate:{gate_id} -->"


def with_marker(body: str, gate_id: str) -> str:
    """`body` with the gate's marker as its first line (not added twice)."""
    mark = marker(gate_id)
    if _first_line(body) == mark:
        return body
    return f"{mark}\n{body}"


def comment_budget(gate_id: str) -> int:
    """Characters left for the report in a comment: GitHub's limit minus the marker line."""
    return COMMENT_MAX_CHARS - len(marker(gate_id)) - 1


def _first_line(body: str) -> str:
    return body.split("\n", 1)[0].rstrip()


def _rank(comment: Comment, bot_login: str | None) -> int | None:
    """0 = the token's own account, 1 = github-actions[bot], 2 = another bot; None = not ours."""
    if bot_login is not None and comment.user_login == bot_login:
        return 0
    if comment.user_login == ACTIONS_BOT:
        return 1
    if comment.user_type == "Bot":
        return 2
    return None


def find_own_comment(
    comments: Iterable[Comment], marker: str, bot_login: str | None
) -> Comment | None:
    """Our comment among `comments` (oldest first), or None.

    Only comments whose first line equals `marker` count; among them the best-ranked
    author wins (the token's login, then github-actions[bot], then any bot), the oldest
    on a tie. A human's comment is never ours unless `bot_login` is that human.
    """
    best: Comment | None = None
    best_rank = 99
    for comment in comments:
        if _first_line(comment.body) != marker:
            continue
        rank = _rank(comment, bot_login)
        if rank is not None and rank < best_rank:
            best, best_rank = comment, rank
    return best


@dataclass(frozen=True, slots=True)
class CommentResult:
    """What became of the report comment.

    action: "created" | "updated" | "skipped" | "failed". url: the comment's html_url.
    reason: one line for skipped/failed. status/not_accessible: the HTTP status of a
    failure and whether it was 403 "Resource not accessible by integration" (fork PRs,
    missing `pull-requests: write`), so the caller can say how to fix it.
    """

    action: str
    url: str | None = None
    reason: str | None = None
    comment_id: int | None = None
    status: int | None = None
    not_accessible: bool = False


async def upsert_comment(
    client: GitHubClient,
    *,
    repo: str,
    number: int,
    body: str,
    gate_id: str,
    mode: str,
    passing: bool,
    bot_login: str | None = None,
) -> CommentResult:
    """Post or update the gate's report comment on PR `number` according to `mode`.

    update: edit ours in place, else create. new: always create. on-failure: create only
    when not passing, but update ours whatever the verdict (never leave a stale one).
    off: nothing. `bot_login`: the token's login if known; else it is asked of GitHub
    (GET /user, which the job's GITHUB_TOKEN may not read: then bots are preferred).
    Raises ValueError only for an unknown `mode` (a programming error).
    """
    if mode not in MODES:
        raise ValueError(f"comment mode must be one of {', '.join(MODES)}, got {mode!r}")
    log = structlog.get_logger("gate.github.comment")
    if mode == "off":
        return CommentResult("skipped", reason="the comment input is off")
    full_body = with_marker(body, gate_id)
    try:
        if mode == "new":
            created = await client.create_comment(repo, number, full_body)
            log.debug("github.comment", action="created", url=created.html_url)
            return CommentResult("created", url=created.html_url, comment_id=created.id)
        own = await _find_existing(
            client, repo=repo, number=number, gate_id=gate_id, login=bot_login
        )
        if own is not None:
            updated = await client.update_comment(repo, own.id, full_body)
            log.debug("github.comment", action="updated", url=updated.html_url)
            return CommentResult("updated", url=updated.html_url or own.html_url, comment_id=own.id)
        if mode == "on-failure" and passing:
            return CommentResult(
                "skipped",
                reason="the gate passed and comment is on-failure, with no earlier comment",
            )
        created = await client.create_comment(repo, number, full_body)
        log.debug("github.comment", action="created", url=created.html_url)
        return CommentResult("created", url=created.html_url, comment_id=created.id)
    except GitHubError as exc:
        return CommentResult(
            "failed",
            reason=one_line(str(exc)),
            status=exc.status,
            not_accessible=isinstance(exc, GitHubForbidden) and exc.not_accessible,
        )


async def _find_existing(
    client: GitHubClient, *, repo: str, number: int, gate_id: str, login: str | None
) -> Comment | None:
    if login is None:
        try:
            login = await client.authenticated_login()
        except GitHubError:
            login = None  # prefer bots; listing comments will surface a real problem
    mark = marker(gate_id)
    best_possible = 0 if login is not None else 1
    candidates: list[Comment] = []
    async with contextlib.aclosing(client.comments(repo, number)) as comments:
        async for comment in comments:
            if _first_line(comment.body) != mark:
                continue
            candidates.append(comment)
            if _rank(comment, login) == best_possible:
                break  # the oldest top-ranked comment: later pages cannot beat it
    return find_own_comment(candidates, mark, login)
