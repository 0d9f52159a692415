"""aiohttp transport for the GitHub REST API calls a gate makes.

Owns the socket side only: URLs, headers, per-request timeouts, bounded retries on
transport errors and 5xx, bounded waits on rate limits, pagination through `Link`
headers (same origin only), and a cap on body size. Decoding and error mapping live in
the sans-I/O `gate.github.api`. The token travels only in the Authorization header and
is scrubbed from every message this module builds or passes on.

A request that may create something (POST a comment) is not retried after it may have
reached GitHub (timeout, dropped connection): a retry could post the comment twice.
It is retried when it certainly did not (connection refused), on 5xx and on rate limits.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
import structlog
from yarl import URL

from gate import __version__
from gate.core.redact import redact
from gate.github.api import (
    API_VERSION,
    DEFAULT_API_URL,
    MAX_BODY_BYTES,
    MEDIA_TYPE,
    STATUS_STATES,
    USER_PATH,
    Comment,
    GitHubBadResponse,
    GitHubError,
    GitHubForbidden,
    GitHubRateLimited,
    GitHubTransportError,
    GitHubUnauthorized,
    comment_path,
    comments_path,
    commit_pulls_path,
    next_page_url,
    parse_comment,
    parse_comments,
    parse_login,
    parse_pull_numbers,
    parse_response,
    statuses_path,
)
from gate.http.body import check_base_url, describe_transport_error, read_capped
from gate.http.retry import RetryPolicy
from gate.roboflow.api import human_size, one_line

__all__ = ["GitHubClient"]

PER_PAGE = 100
DEFAULT_MAX_PAGES = 100  # 10,000 comments: far beyond any real pull request
DEFAULT_MAX_RATE_WAITS = 3
_DEFAULT_RETRY = RetryPolicy()
_ERROR_BODY_LIMIT = 64 * 1024

_E = TypeVar("_E", bound=GitHubError)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _validate_api_url(api_url: str) -> URL:
    checked = check_base_url(api_url)
    if isinstance(checked, URL):
        return checked
    raise GitHubError(f"GitHub API URL: {checked}; check GITHUB_API_URL (e.g. {DEFAULT_API_URL})")


class GitHubClient:
    """Talks to GitHub's REST API with a token, timeouts, retries and rate-limit waits."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        token: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 20.0,
        retry: RetryPolicy = _DEFAULT_RETRY,
        max_rate_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        max_rate_waits: int = DEFAULT_MAX_RATE_WAITS,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_body: int = MAX_BODY_BYTES,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """Raises GitHubError for an empty or malformed token or API URL (never echoing them)."""
        clean = token.strip() if isinstance(token, str) else ""
        if not clean:
            raise GitHubError("the GitHub token is empty; pass github-token (default: the job's)")
        if not clean.isascii() or not clean.isprintable() or any(ch.isspace() for ch in clean):
            raise GitHubError(
                "the GitHub token contains spaces or non-ASCII characters; pass it exactly"
            )
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if not max_rate_wait >= 0 or max_rate_waits < 0 or max_pages < 1 or max_body < 1:
            raise ValueError("max_rate_wait, max_rate_waits, max_pages and max_body must be >= 0/1")
        url = _validate_api_url(api_url)
        self._session = session
        self._secrets: tuple[str, ...] = tuple({clean, token})
        self._headers = {
            "Authorization": f"Bearer {clean}",
            "Accept": MEDIA_TYPE,
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"eval-gate/{__version__}",
        }
        self._base = f"{url.scheme}://{url.raw_authority}{url.raw_path.rstrip('/')}"
        self._origin = url.origin()
        self._host = url.raw_authority
        self._timeout = float(timeout)
        self._retry = retry
        self._max_rate_wait = float(max_rate_wait)
        self._max_rate_waits = max_rate_waits
        self._max_pages = max_pages
        self._max_body = max_body
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self._log = structlog.get_logger("gate.github.client")

    def __repr__(self) -> str:
        return (
            f"GitHubClient(api_url={self._base!r}, timeout={self._timeout:g}, "
            f"attempts={self._retry.attempts}, max_rate_wait={self._max_rate_wait:g})"
        )

    # ------------------------------------------------------------------ endpoints

    async def authenticated_login(self) -> str | None:
        """The token's login (GET /user), or None when GitHub will not say (401/403).

        The job's GITHUB_TOKEN (an installation token) cannot read /user: None is normal.
        """
        try:
            data, _ = await self._request("GET", self._url(USER_PATH), what="reading /user")
        except (GitHubUnauthorized, GitHubForbidden):
            return None
        return parse_login(data)

    async def comments(self, repo: str, number: int) -> AsyncGenerator[Comment, None]:
        """Every comment of issue/PR `number`, oldest first, page by page (per_page=100)."""
        what = f"listing comments of {one_line(repo)}#{number}"
        url: URL | None = self._url(comments_path(repo, number), per_page=str(PER_PAGE))
        seen: set[str] = set()
        page = 0
        while url is not None:
            page += 1
            if page > self._max_pages:
                raise self._scrub(
                    GitHubBadResponse(
                        f"{what}: more than {self._max_pages} pages of comments; giving up"
                    )
                )
            seen.add(str(url))
            data, headers = await self._request("GET", url, what=f"{what} (page {page})")
            try:
                batch = parse_comments(data, what=f"{what} (page {page})")
            except GitHubError as exc:
                raise self._scrub(exc) from None
            for comment in batch:
                yield comment
            url = self._next_url(headers, what=what, seen=seen)

    async def create_comment(self, repo: str, number: int, body: str) -> Comment:
        """Post a new comment on issue/PR `number`."""
        what = f"creating a comment on {one_line(repo)}#{number}"
        url = self._url(comments_path(repo, number))
        data, _ = await self._request(
            "POST", url, what=what, payload={"body": body}, idempotent=False
        )
        return self._parse_one(data, what)

    async def update_comment(self, repo: str, comment_id: int, body: str) -> Comment:
        """Replace the body of comment `comment_id`."""
        what = f"updating comment {comment_id} in {one_line(repo)}"
        url = self._url(comment_path(repo, comment_id))
        data, _ = await self._request("PATCH", url, what=what, payload={"body": body})
        return self._parse_one(data, what)

    async def create_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        description: str,
        context: str,
        target_url: str | None,
    ) -> None:
        """Set commit status `context` on `sha`. Keeping `description` <= 140 is the caller's job.

        Raises ValueError for a `state` GitHub does not know (a programming error).
        """
        if state not in STATUS_STATES:
            raise ValueError(f"state must be one of {', '.join(STATUS_STATES)}, got {state!r}")
        what = f"setting commit status {one_line(context)!r} on {one_line(sha)[:12]}"
        payload: dict[str, Any] = {"state": state, "description": description, "context": context}
        if target_url is not None:
            payload["target_url"] = target_url
        await self._request("POST", self._url(statuses_path(repo, sha)), what=what, payload=payload)

    async def pulls_for_commit(self, repo: str, sha: str) -> list[int]:
        """Numbers of the open pull requests whose head contains `sha` (first 100)."""
        what = f"listing pull requests for commit {one_line(sha)[:12]}"
        url = self._url(commit_pulls_path(repo, sha), per_page=str(PER_PAGE))
        data, _ = await self._request("GET", url, what=what)
        try:
            return parse_pull_numbers(data, what=what)
        except GitHubError as exc:
            raise self._scrub(exc) from None

    # ------------------------------------------------------------------ machinery

    def _url(self, path: str, **query: str) -> URL:
        url = URL(self._base + path, encoded=True)
        return url.with_query(query) if query else url

    def _parse_one(self, data: Any, what: str) -> Comment:
        try:
            return parse_comment(data, what=what)
        except GitHubError as exc:
            raise self._scrub(exc) from None

    def _next_url(self, headers: Mapping[str, str], *, what: str, seen: set[str]) -> URL | None:
        target = next_page_url(headers.get("Link"))
        if target is None:
            return None
        try:
            url = URL(target, encoded=True)
        except (TypeError, ValueError):
            url = None
        if url is None or not url.is_absolute() or url.origin() != self._origin:
            # Never send the token to another host (or over a downgraded scheme).
            raise self._scrub(
                GitHubBadResponse(
                    f"{what}: the next-page link points outside {self._host}; "
                    "not following it (check GITHUB_API_URL)"
                )
            )
        if str(url) in seen:
            raise self._scrub(
                GitHubBadResponse(f"{what}: the next-page link repeats a page; stopping")
            )
        return url

    def _scrub(self, exc: _E) -> _E:
        """Make sure the token (even if a server echoed it) is not in the message."""
        exc.args = (redact(str(exc), self._secrets),)
        return exc

    async def _request(
        self,
        method: str,
        url: URL,
        *,
        what: str,
        payload: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> tuple[Any, Mapping[str, str]]:
        data = None if payload is None else json.dumps(payload).encode()
        attempt = 0
        rate_waits = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(method, url, data, what=what, idempotent=idempotent)
            except GitHubRateLimited as exc:
                self._scrub(exc)
                wait = exc.retry_after if exc.retry_after is not None else 60.0
                rate_waits += 1
                if wait > self._max_rate_wait:
                    limit = self._max_rate_wait
                    exc.args = (f"{exc}; that is more than the {limit:g} s this step waits",)
                    raise
                if rate_waits > self._max_rate_waits:
                    exc.args = (f"{exc}; still limited after {self._max_rate_waits} waits",)
                    raise
                attempt -= 1  # a rate-limit wait does not use up a retry
                self._log.warning(
                    "github.rate_limited", what=what, wait=round(wait, 3), reason=str(exc)
                )
                await self._sleep(wait)
            except GitHubError as exc:
                self._scrub(exc)
                if not exc.retryable or attempt >= self._retry.attempts:
                    raise
                delay = self._retry.delay(attempt, retry_after=exc.retry_after, rand=self._rand)
                self._log.warning(
                    "github.retry",
                    what=what,
                    attempt=attempt,
                    delay=round(delay, 3),
                    reason=str(exc),
                )
                await self._sleep(delay)

    async def _attempt(
        self, method: str, url: URL, data: bytes | None, *, what: str, idempotent: bool
    ) -> tuple[Any, Mapping[str, str]]:
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._session.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    allow_redirects=False,
                    raise_for_status=False,
                    timeout=aiohttp.ClientTimeout(total=self._timeout),
                ) as resp,
            ):
                status = resp.status
                resp_headers = resp.headers
                success = 200 <= status < 300
                declared = resp.content_length
                if success and declared is not None and declared > self._max_body:
                    raise self._too_large(what, status)
                limit = self._max_body if success else _ERROR_BODY_LIMIT
                body, over = await read_capped(resp, limit)
                if over and success:
                    raise self._too_large(what, status)
        except GitHubError:
            raise
        except TimeoutError:
            raise self._not_sent_or_unsafe(
                f"{what}: no complete response from {self._host} within {self._timeout:g} s "
                "(timeout)",
                idempotent=idempotent,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise self._transport_error(exc, what, idempotent=idempotent) from None
        try:
            result = parse_response(
                status, resp_headers, body, what=what, now=self._clock(), max_body=self._max_body
            )
        except GitHubError as exc:
            raise self._scrub(exc) from None
        return result, resp_headers

    def _not_sent_or_unsafe(
        self, message: str, *, idempotent: bool, retryable: bool = True
    ) -> GitHubTransportError:
        if not idempotent and retryable:
            message += "; not retried, since GitHub may have applied it"
            retryable = False
        else:
            message += "; check the network and GITHUB_API_URL"
        return self._scrub(GitHubTransportError(message, retryable=retryable))

    def _too_large(self, what: str, status: int) -> GitHubBadResponse:
        return GitHubBadResponse(
            f"{what}: HTTP {status} response larger than {human_size(self._max_body)}; refusing it",
            status=status,
        )

    def _transport_error(
        self, exc: BaseException, what: str, *, idempotent: bool
    ) -> GitHubTransportError:
        """A message built from the error's kind, never from its text (which carries URLs)."""
        failure = describe_transport_error(exc)
        return self._not_sent_or_unsafe(
            f"{what}: {failure.reason} talking to {self._host} ({type(exc).__name__})",
            idempotent=idempotent or failure.never_sent,
            retryable=failure.retryable,
        )
