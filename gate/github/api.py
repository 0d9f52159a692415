"""The GitHub REST API calls a gate makes, as pure functions (sans-I/O).

Everything here maps values to values: request paths from a repository and numbers,
a response's (status, headers, body) to decoded data or to one typed exception whose
message is a single line (what was attempted, the HTTP status, GitHub's message, how to
fix it), and JSON to small frozen values. `gate.http` owns sockets, timeouts, retries,
rate-limit waits and following `Link` headers; this module must not import aiohttp.

GitHub errors are deliberately not `GateError`s: a failed comment or status must never
change the gate's verdict or exit code; the action decides what to do with them.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from gate.core.redact import redact_line
from gate.http.body import UnusableBody, error_body, json_body
from gate.http.errors import HttpError
from gate.http.text import header, one_line, parse_retry_after

__all__ = [
    "ANNOTATIONS_PER_REQUEST",
    "API_VERSION",
    "CHECK_RUN_CONCLUSIONS",
    "CHECK_RUN_TEXT_MAX",
    "COMMENT_MAX_CHARS",
    "DEFAULT_API_URL",
    "MEDIA_TYPE",
    "NOT_FOUND_HINT",
    "PLAIN_NOT_FOUND",
    "STATUS_DESCRIPTION_MAX",
    "STATUS_STATES",
    "CheckAnnotation",
    "CheckRunRef",
    "Comment",
    "GitHubBadResponse",
    "GitHubError",
    "GitHubForbidden",
    "GitHubNotFound",
    "GitHubRateLimited",
    "GitHubServerError",
    "GitHubTransportError",
    "GitHubUnauthorized",
    "GitHubUnprocessable",
    "annotation_batches",
    "check_run_path",
    "check_runs_path",
    "comment_path",
    "comments_path",
    "commit_check_runs_path",
    "commit_pulls_path",
    "contents_path",
    "git_commit_path",
    "parse_check_run_id",
    "parse_check_runs",
    "parse_comment",
    "parse_comments",
    "parse_file_content",
    "parse_login",
    "parse_pull_base_sha",
    "parse_pull_numbers",
    "parse_response",
    "pull_path",
    "rate_limit_wait",
    "split_repo",
    "status_description",
    "statuses_path",
]

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
USER_PATH = "/user"
COMMENT_MAX_CHARS = 65536  # GitHub's limit on an issue comment body (characters)
STATUS_DESCRIPTION_MAX = 140  # GitHub's limit on a commit status description (characters)
STATUS_STATES: tuple[str, ...] = ("error", "failure", "pending", "success")
CHECK_RUN_TEXT_MAX = 65535  # GitHub's limit on a check run's output.summary and output.text
CHECK_RUN_TITLE_MAX = 255  # output.title has no documented limit; an annotation's title has this
ANNOTATIONS_PER_REQUEST = 50  # the Checks API takes at most 50 annotations a request
ANNOTATION_MESSAGE_MAX = 4096  # characters (GitHub allows 64 KB; a check's message is one line)
ANNOTATION_LEVELS: tuple[str, ...] = ("notice", "warning", "failure")
CHECK_RUN_CONCLUSIONS: tuple[str, ...] = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "timed_out",
)
MAX_BODY_BYTES = 64 * 1024 * 1024  # 100 comments of 65,536 characters, JSON-escaped, fit
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: "otherwise, wait for at least one minute"
RESET_MARGIN = 1.0  # x-ratelimit-reset is a whole second: wait until *after* it

NOT_ACCESSIBLE = "resource not accessible by integration"
PLAIN_NOT_FOUND = "Not Found"  # GitHub's 404 message when it says no more than that
NOT_FOUND_HINT = (
    "not found; check the repository and pull request number, and that the token can see the "
    "repository"
)
_SECONDARY_MARKERS = ("secondary rate limit", "abuse detection")
_DETAIL_MAX = 300
_REPO_PART = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_SHA = re.compile(r"[0-9A-Fa-f]{4,64}")


# --------------------------------------------------------------------------- errors


class GitHubError(HttpError):
    """A GitHub request did not succeed. `str()` (and `message`) is one line, token-free."""


class GitHubUnauthorized(GitHubError):
    """401: the token is missing, wrong or expired."""


class GitHubForbidden(GitHubError):
    """403 that is not a rate limit: the token may not do this (fork PR, missing permission)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 403,
        not_accessible: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after, retryable=False)
        self.not_accessible = not_accessible


class GitHubNotFound(GitHubError):
    """404: no such repository, issue or comment (or the token cannot see it).

    `plain`: GitHub's message is its bare `Not Found` (for the contents API: no such file at a
    ref that exists, or a repository the token cannot see), not a more specific one such as
    `No commit found for the ref …` (the ref itself is unknown)."""

    def __init__(self, message: str, *, status: int | None = 404, plain: bool = False) -> None:
        super().__init__(message, status=status)
        self.plain = plain


class GitHubUnprocessable(GitHubError):
    """422: GitHub validated the request and refused it (e.g. a comment body too long)."""


class GitHubRateLimited(GitHubError):
    """429, or 403 with x-ratelimit-remaining: 0 or a secondary-rate-limit message.

    `retry_after` is always set: Retry-After, else x-ratelimit-reset minus now, else 60 s.
    """

    retryable = True
    rate_limit = True


class GitHubServerError(GitHubError):
    """5xx: GitHub failed; worth retrying."""

    retryable = True


class GitHubBadResponse(GitHubError):
    """A response we cannot use: not JSON, truncated, the wrong shape, a redirect, a bad link."""


class GitHubTransportError(GitHubError):
    """No HTTP response at all: connection refused/reset, DNS, timeout, body cut short."""

    retryable = True


# --------------------------------------------------------------------------- paths


def split_repo(repo: str) -> tuple[str, str]:
    """`"owner/name"` as (owner, name); raises GitHubError when it is not of that form."""
    parts = repo.strip().split("/")
    if (
        len(parts) != 2
        or not all(_REPO_PART.fullmatch(part) for part in parts)
        or any(part in (".", "..") for part in parts)
    ):
        raise GitHubError(
            f"repository {one_line(repo, limit=120)!r} is not of the form owner/name; "
            "check GITHUB_REPOSITORY"
        )
    return parts[0], parts[1]


def _repo_prefix(repo: str) -> str:
    owner, name = split_repo(repo)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GitHubError(f"{what} {value!r} is not a positive integer")
    return value


def _sha(sha: str) -> str:
    if not _SHA.fullmatch(sha.strip()):
        raise GitHubError(
            f"commit {one_line(sha, limit=80)!r} is not a hexadecimal SHA; check GITHUB_SHA"
        )
    return sha.strip().lower()


def comments_path(repo: str, number: int) -> str:
    """`/repos/{owner}/{repo}/issues/{number}/comments` (list and create)."""
    return f"{_repo_prefix(repo)}/issues/{_positive(number, 'pull request number')}/comments"


def comment_path(repo: str, comment_id: int) -> str:
    """`/repos/{owner}/{repo}/issues/comments/{comment_id}` (get, update, delete)."""
    return f"{_repo_prefix(repo)}/issues/comments/{_positive(comment_id, 'comment id')}"


def statuses_path(repo: str, sha: str) -> str:
    """`/repos/{owner}/{repo}/statuses/{sha}` (create a commit status)."""
    return f"{_repo_prefix(repo)}/statuses/{_sha(sha)}"


def commit_pulls_path(repo: str, sha: str) -> str:
    """`/repos/{owner}/{repo}/commits/{sha}/pulls` (pull requests containing a commit)."""
    return f"{_repo_prefix(repo)}/commits/{_sha(sha)}/pulls"


def pull_path(repo: str, number: int) -> str:
    """`/repos/{owner}/{repo}/pulls/{number}` (get a pull request)."""
    return f"{_repo_prefix(repo)}/pulls/{_positive(number, 'pull request number')}"


def contents_path(repo: str, path: str) -> str:
    """`/repos/{owner}/{repo}/contents/{path}` (a file's content); each segment of `path` is
    percent-encoded, the slashes between them kept. Raises GitHubError for a path that is
    empty, absolute, or has `.`, `..` or empty segments (GitHub would resolve or refuse it)."""
    segments = path.strip().split("/")
    if (
        not path.strip()
        or any(seg in ("", ".", "..") for seg in segments)
        or any(ord(c) < 0x20 for c in path)
    ):
        raise GitHubError(
            f"file path {one_line(path, limit=120)!r} is not a plain path relative to the "
            "repository root; check the config input"
        )
    return f"{_repo_prefix(repo)}/contents/" + "/".join(quote(seg, safe="") for seg in segments)


def git_commit_path(repo: str, sha: str) -> str:
    """`/repos/{owner}/{repo}/git/commits/{commit_sha}` (a commit object: does it exist?)."""
    return f"{_repo_prefix(repo)}/git/commits/{_sha(sha)}"


def check_runs_path(repo: str) -> str:
    """`/repos/{owner}/{repo}/check-runs` (create a check run)."""
    return f"{_repo_prefix(repo)}/check-runs"


def check_run_path(repo: str, check_run_id: int) -> str:
    """`/repos/{owner}/{repo}/check-runs/{check_run_id}` (get, update a check run)."""
    return f"{_repo_prefix(repo)}/check-runs/{_positive(check_run_id, 'check run id')}"


def commit_check_runs_path(repo: str, sha: str) -> str:
    """`/repos/{owner}/{repo}/commits/{sha}/check-runs` (the check runs of a commit)."""
    return f"{_repo_prefix(repo)}/commits/{_sha(sha)}/check-runs"


def status_description(text: str) -> str:
    """`text` as one line of at most 140 characters (GitHub's limit), cut with an ellipsis."""
    return one_line(text, limit=STATUS_DESCRIPTION_MAX)


# --------------------------------------------------------------------------- headers


def rate_limit_wait(headers: Mapping[str, str], now: datetime) -> float:
    """Seconds GitHub asks us to wait after a rate-limit answer (per GitHub's docs).

    Retry-After if present; else, when x-ratelimit-remaining is 0, until just after
    x-ratelimit-reset (UTC epoch seconds); else one minute.
    """
    retry_after = parse_retry_after(header(headers, "Retry-After"), now)
    if retry_after is not None:
        return retry_after
    remaining = (header(headers, "x-ratelimit-remaining") or "").strip()
    reset = (header(headers, "x-ratelimit-reset") or "").strip()
    if remaining == "0" and re.fullmatch(r"\d+(\.\d+)?", reset):
        at = float(reset)
        if math.isfinite(at):
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
            return max(at - now.timestamp(), 0.0) + RESET_MARGIN
    return SECONDARY_LIMIT_WAIT


# --------------------------------------------------------------------------- responses


def _error_message(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str] = ()
) -> tuple[str | None, str]:
    """GitHub's `message` (raw: only looked into, never shown) and a sanitised detail (message
    + validation errors, `secrets` masked, then cut short)."""
    data, kind = error_body(headers, body, limit=_DETAIL_MAX, secrets=secrets)
    if kind is not None:
        return None, kind
    if not isinstance(data, dict):
        return None, "JSON body without a message"
    message = data.get("message")
    message = message if isinstance(message, str) and message.strip() else None
    parts = [message] if message else []
    errors = data.get("errors")
    if isinstance(errors, list):
        for item in errors[:5]:
            if isinstance(item, dict):
                text = item.get("message")
                if not isinstance(text, str) or not text.strip():
                    fields = [
                        str(item.get(k)) for k in ("resource", "field", "code") if item.get(k)
                    ]
                    text = " ".join(fields)
                if text:
                    parts.append(text)
            elif isinstance(item, str) and item.strip():
                parts.append(item)
    if not parts:
        return message, "JSON body without a message"
    return message, redact_line(": ".join(parts), secrets, limit=_DETAIL_MAX)


def _is_secondary(message: str | None) -> bool:
    lowered = (message or "").lower()
    return any(marker in lowered for marker in _SECONDARY_MARKERS)


def parse_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str,
    now: datetime | None = None,
    max_body: int = MAX_BODY_BYTES,
    secrets: Sequence[str] = (),
    permission: str | None = None,
    hints: Mapping[int, str] | None = None,
) -> Any:
    """Decode a 2xx JSON body (None for an empty one), or raise the typed error.

    `what` names the request for messages ("creating a comment on octo/repo#12"); `now`
    (default: the current UTC time) dates Retry-After and x-ratelimit-reset. Messages
    never include headers or the request's URL; `secrets` (the token) are masked in
    GitHub's text before it is cut short. `permission` ("contents: read"): what a 403 that
    is not a rate limit asks to grant, for a request whose permission is not the comment's
    and status's (the default hint). `hints` (status -> hint) replaces the hint of a 401 or a
    403 that is not a rate limit, for requests that do not carry the workflow's token (the
    GitHub App's, `gate.github.app_api.APP_HINTS`).
    """
    what = one_line(what)
    hints = hints or {}
    if 200 <= status < 300:
        return _decode_success(status, headers, body, what=what, max_body=max_body, secrets=secrets)
    raw_message, detail = _error_message(headers, body, secrets)
    prefix = f"{what}: HTTP {status} ({detail})"
    remaining = (header(headers, "x-ratelimit-remaining") or "").strip()
    if status == 429 or (status == 403 and (remaining == "0" or _is_secondary(raw_message))):
        wait = rate_limit_wait(headers, now or datetime.now(UTC))
        kind = "secondary rate limit" if _is_secondary(raw_message) else "rate limit"
        raise GitHubRateLimited(
            f"{prefix}: GitHub {kind} hit; it asks to wait {wait:.0f} s",
            status=status,
            retry_after=wait,
        )
    if status == 401:
        hint = hints.get(401) or (
            "GitHub refused the token; check the github-token input (default: ${{ github.token }})"
        )
        raise GitHubUnauthorized(f"{prefix}: {hint}", status=status)
    if status == 403:
        not_accessible = NOT_ACCESSIBLE in (raw_message or "").lower()
        if 403 in hints:
            hint = hints[403]
        elif permission is not None:
            hint = f"grant the token `{permission}` in the workflow's permissions"
        elif not_accessible:
            hint = (
                "the token may not write here; grant it `pull-requests: write` (and "
                "`statuses: write` for commit statuses) in the workflow's permissions, or, for "
                "pull requests from forks, use the two-workflow workflow_run pattern"
            )
        else:
            hint = "GitHub refused the request; check the token's permissions"
        raise GitHubForbidden(f"{prefix}: {hint}", status=status, not_accessible=not_accessible)
    if status == 404:
        raise GitHubNotFound(
            f"{prefix}: {NOT_FOUND_HINT}",
            status=status,
            plain=raw_message == PLAIN_NOT_FOUND,
        )
    if status == 422:
        raise GitHubUnprocessable(f"{prefix}: GitHub rejected the content", status=status)
    if 500 <= status < 600:
        retry_after = parse_retry_after(header(headers, "Retry-After"), now or datetime.now(UTC))
        raise GitHubServerError(
            f"{prefix}: GitHub had a server error; retry later",
            status=status,
            retry_after=retry_after,
        )
    if 300 <= status < 400:
        raise GitHubBadResponse(
            f"{what}: unexpected HTTP {status} redirect; check the GitHub API URL "
            "(GITHUB_API_URL) and the repository name",
            status=status,
        )
    raise GitHubError(f"{prefix}: GitHub rejected the request", status=status)


def _decode_success(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str,
    max_body: int,
    secrets: Sequence[str],
) -> Any:
    try:
        return json_body(
            status,
            headers,
            body,
            max_body=max_body,
            allow_nan=False,
            empty_ok=True,
            fix="check the GitHub API URL",
            secrets=secrets,
        )
    except UnusableBody as exc:
        raise GitHubBadResponse(f"{what}: {exc}", status=status, retryable=exc.retryable) from None


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Comment:
    """One issue (pull request) comment, reduced to what finding our own needs."""

    id: int
    body: str
    user_login: str | None
    user_type: str | None  # "User" | "Bot" | "Organization" | None (deleted account)
    html_url: str | None


def _bad(what: str, problem: str) -> GitHubBadResponse:
    return GitHubBadResponse(f"{one_line(what)}: {problem}")


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def parse_comment(data: Any, *, what: str = "comment") -> Comment:
    """One comment object; raises GitHubBadResponse (naming the problem) if unusable."""
    if not isinstance(data, Mapping):
        raise _bad(what, "expected a comment object")
    comment_id = data.get("id")
    if isinstance(comment_id, bool) or not isinstance(comment_id, int) or comment_id < 1:
        raise _bad(what, "comment has no positive integer id")
    body = data.get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise _bad(what, f"comment {comment_id} has a non-string body")
    user = data.get("user")
    login = user_type = None
    if isinstance(user, Mapping):
        login = _optional_str(user, "login")
        user_type = _optional_str(user, "type")
    elif user is not None:
        raise _bad(what, f"comment {comment_id} has a malformed user")
    return Comment(
        id=comment_id,
        body=body,
        user_login=login,
        user_type=user_type,
        html_url=_optional_str(data, "html_url"),
    )


def parse_comments(data: Any, *, what: str = "comments") -> list[Comment]:
    """A page of comments (a JSON list); fails closed on any unusable entry."""
    if not isinstance(data, list):
        raise _bad(what, "expected a JSON list of comments")
    return [parse_comment(item, what=f"{what}, entry #{index}") for index, item in enumerate(data)]


def parse_login(data: Any) -> str | None:
    """The `login` of a GET /user answer, or None if it has none."""
    if isinstance(data, Mapping):
        login = data.get("login")
        if isinstance(login, str) and login.strip():
            return login.strip()
    return None


def parse_pull_numbers(data: Any, *, what: str = "pull requests", state: str = "open") -> list[int]:
    """Numbers of the pull requests in `data` (a JSON list) whose state is `state`."""
    if not isinstance(data, list):
        raise _bad(what, "expected a JSON list of pull requests")
    numbers: list[int] = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise _bad(what, f"entry #{index} is not an object")
        number = item.get("number")
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise _bad(what, f"entry #{index} has no positive integer number")
        if item.get("state") == state and number not in numbers:
            numbers.append(number)
    return numbers


def parse_pull_base_sha(data: Any, *, what: str = "pull request") -> str:
    """The base commit (`base.sha`) of a pull request object, lower case."""
    sha: Any = None
    if isinstance(data, Mapping):
        base = data.get("base")
        if isinstance(base, Mapping):
            sha = base.get("sha")
    if not isinstance(sha, str) or not _SHA.fullmatch(sha.strip()):
        raise _bad(what, "the pull request has no base.sha")
    return sha.strip().lower()


def parse_file_content(data: Any, *, what: str, max_bytes: int) -> bytes:
    """The bytes of a contents-API answer for one file (`type: file`, base64 `content`).

    Raises GitHubBadResponse when the answer is not a file (a folder, a link, a submodule),
    when its `size` or its decoded content exceeds `max_bytes` (GitHub leaves `content` empty,
    `encoding: none`, for files over 1 MB: those are over any cap here too), or when the
    content is not base64.
    """
    if not isinstance(data, Mapping):
        shape = "a folder" if isinstance(data, list) else "not a file object"
        raise _bad(what, f"the path is {shape}, not a file")
    kind = data.get("type")
    if kind != "file":
        raise _bad(what, f"the path is a {one_line(str(kind), limit=20)}, not a file")
    size = data.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and size > max_bytes:
        raise _bad(what, f"the file is {size:,} bytes, over the limit of {max_bytes:,}")
    encoding = data.get("encoding")
    content = data.get("content")
    if encoding != "base64" or not isinstance(content, str):
        raise _bad(what, "the file's content is not given in base64")
    if len(content) > (max_bytes // 3 + 1) * 4 * 2 + 1024:  # base64 plus a newline per line
        raise _bad(what, f"the file is over the limit of {max_bytes:,} bytes")
    try:
        raw = base64.b64decode("".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _bad(what, "the file's content is not valid base64") from None
    if len(raw) > max_bytes:
        raise _bad(what, f"the file is {len(raw):,} bytes, over the limit of {max_bytes:,}")
    return raw


def parse_check_run_id(data: Any, *, what: str = "check run") -> int:
    """The `id` of a check-run object (the answer to creating or updating one)."""
    run_id = data.get("id") if isinstance(data, Mapping) else None
    if isinstance(run_id, bool) or not isinstance(run_id, int) or run_id < 1:
        raise _bad(what, "the check run has no positive integer id")
    return run_id


@dataclass(frozen=True, slots=True)
class CheckRunRef:
    """A check run of a commit, reduced to what finding our own needs."""

    id: int
    name: str
    status: str
    external_id: str | None


def parse_check_runs(data: Any, *, what: str = "check runs") -> list[CheckRunRef]:
    """The `check_runs` of a list answer (`{"total_count": n, "check_runs": [...]}`)."""
    runs = data.get("check_runs") if isinstance(data, Mapping) else None
    if not isinstance(runs, list):
        raise _bad(what, "expected an object with a check_runs list")
    out: list[CheckRunRef] = []
    for index, item in enumerate(runs):
        run_id = parse_check_run_id(item, what=f"{what}, entry #{index}")
        name, status = item.get("name"), item.get("status")
        if not isinstance(name, str) or not isinstance(status, str):
            raise _bad(what, f"entry #{index} has no name or status")
        out.append(CheckRunRef(run_id, name, status, _optional_str(item, "external_id")))
    return out


@dataclass(frozen=True, slots=True)
class CheckAnnotation:
    """One check-run annotation: a message on lines of a file of the repository."""

    path: str  # relative to the repository root, `/`-separated
    start_line: int
    end_line: int
    level: str  # one of ANNOTATION_LEVELS
    message: str
    title: str | None = None

    def __post_init__(self) -> None:
        if self.level not in ANNOTATION_LEVELS:
            raise ValueError(f"annotation level must be one of {ANNOTATION_LEVELS}")
        if self.start_line < 1 or self.end_line < self.start_line:
            raise ValueError("annotation lines must be 1-based, start_line <= end_line")

    def to_json(self) -> dict[str, Any]:
        """The annotation as the Checks API takes it (message and title bounded)."""
        data: dict[str, Any] = {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "annotation_level": self.level,
            "message": _bounded(self.message, ANNOTATION_MESSAGE_MAX),
        }
        if self.title:
            data["title"] = one_line(self.title, limit=CHECK_RUN_TITLE_MAX)
        return data


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def annotation_batches(
    annotations: tuple[CheckAnnotation, ...] | list[CheckAnnotation],
    size: int = ANNOTATIONS_PER_REQUEST,
) -> list[list[dict[str, Any]]]:
    """The annotations as JSON, in batches of at most `size` (one a request), in order."""
    if not 1 <= size <= ANNOTATIONS_PER_REQUEST:
        raise ValueError(f"size must be 1 to {ANNOTATIONS_PER_REQUEST}, not {size}")
    items = [a.to_json() for a in annotations]
    return [items[i : i + size] for i in range(0, len(items), size)]
