"""The sticky pull-request comment: find ours by its hidden marker, then update or create it.

A comment is ours only if the first line of its body is exactly our marker
(`<!-- eval-gate:<gate-id> -->`), so a human quoting it (`> <!-- ... -->`), mentioning it
mid-text, or another gate's marker never matches, AND its author is us. Who we are is
decided once per upsert (`our_login`): the login `GET /user` answers for the token (a
personal access token), or `github-actions[bot]` when the token may not read it (the job's
GITHUB_TOKEN). Anyone else's comment, a bot's too (`renovate[bot]` copying our marker), is
never ours: it is left untouched, and GitHub would refuse the edit anyway (403). When GitHub
will not say who we are (an error other than 401/403), no comment is ours and a new one is
posted: a duplicate at worst, never a lost verdict. A GitHub App's installation token may
not read `GET /user` either, and is not `github-actions[bot]`: its caller passes the App's
login, `<app-slug>[bot]` (`bot_login`, from `GET /app`: `gate.github.app.GitHubApp.
comment_author`, or `GitHubConnection(author=...)` on the publish path), so its own comment is
found and updated; without it, its comments would never be taken for ours (a new one each
run).

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
from gate.github.api import (
    COMMENT_MAX_CHARS,
    Comment,
    GitHubError,
    GitHubForbidden,
    GitHubNotFound,
)
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
    "our_login",
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


def _same_login(a: str | None, b: str | None) -> bool:
    """GitHub logins are case-insensitive."""
    return a is not None and b is not None and a.casefold() == b.casefold()


def find_own_comment(comments: Iterable[Comment], marker: str, login: str | None) -> Comment | None:
    """Our comment among `comments` (oldest first), or None: the oldest whose first line
    equals `marker` and whose author is `login` (None: we do not know who we are, so none
    is ours). Anyone else's comment with our marker, a bot's too, is never ours."""
    for comment in comments:
        if _first_line(comment.body) == marker and _same_login(comment.user_login, login):
            return comment
    return None


async def our_login(client: GitHubClient) -> str | None:
    """Whose comments are ours: the token's login from `GET /user`; `github-actions[bot]` when
    the token may not read it (401/403: the job's GITHUB_TOKEN); None when GitHub did not
    answer (then no comment is taken for ours)."""
    try:
        login = await client.authenticated_login()
    except GitHubError as exc:
        structlog.get_logger("gate.github.comment").warning(
            "github.comment_author_unknown",
            reason=one_line(str(exc)),
            note="no earlier comment is taken for ours: a new one is posted",
        )
        return None
    return login if login is not None else ACTIONS_BOT


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
    off: nothing. `bot_login`: the token's login if known (a GitHub App's `<slug>[bot]`:
    the App's installation token cannot ask); else `our_login` asks GitHub.
    Only a comment by that login is edited; if it is deleted before the edit lands (404), a
    new one is created as if there had been none. Raises ValueError only for an unknown
    `mode` (a programming error).
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
            try:
                updated = await client.update_comment(repo, own.id, full_body)
            except GitHubNotFound:
                log.info("github.comment_gone", comment_id=own.id, note="deleted meanwhile")
            else:
                log.debug("github.comment", action="updated", url=updated.html_url)
                url = updated.html_url or own.html_url
                return CommentResult("updated", url=url, comment_id=own.id)
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
        login = await our_login(client)
    if login is None:
        return None  # we cannot tell ours from anyone else's: post a new one
    mark = marker(gate_id)
    async with contextlib.aclosing(client.comments(repo, number)) as comments:
        async for comment in comments:
            if _first_line(comment.body) == mark and _same_login(comment.user_login, login):
                return comment  # the oldest of ours: later pages cannot beat it
    return None
