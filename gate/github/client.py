"""The GitHub REST endpoints a gate uses, over `gate.http`'s client.

Only the endpoints live here: paths, the token, GitHub's headers, and parsing with
`gate.github.api`. Timeouts, retries (never of a POST that may have landed: a retry could
post the comment twice), waits on rate limits, paging through `Link` headers (same origin
only), the body cap and scrubbing the token out of every message are
`gate.http.HttpClient`'s; the socket is a `gate.http` transport (aiohttp's, built from a
session, unless a transport is given).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from gate import __version__
from gate.github.api import (
    API_VERSION,
    CHECK_RUN_CONCLUSIONS,
    DEFAULT_API_URL,
    MAX_BODY_BYTES,
    MEDIA_TYPE,
    NOT_FOUND_HINT,
    STATUS_STATES,
    USER_PATH,
    CheckRunRef,
    Comment,
    GitHubBadResponse,
    GitHubError,
    GitHubForbidden,
    GitHubNotFound,
    GitHubTransportError,
    GitHubUnauthorized,
    check_run_path,
    check_runs_path,
    comment_path,
    comments_path,
    commit_check_runs_path,
    commit_pulls_path,
    contents_path,
    git_commit_path,
    parse_check_run_id,
    parse_check_runs,
    parse_comment,
    parse_comments,
    parse_file_content,
    parse_login,
    parse_pull_base_sha,
    parse_pull_numbers,
    parse_response,
    pull_path,
    statuses_path,
)
from gate.github.app_api import (
    APP_HINTS,
    APP_PATH,
    HOOK_DELIVERIES_PATH,
    AppIdentity,
    AppNotInstalled,
    HookDelivery,
    InstallationGone,
    InstallationToken,
    installation_token_path,
    parse_app_identity,
    parse_hook_deliveries,
    parse_installation_id,
    parse_installation_token,
    redelivery_path,
    repo_installation_path,
)
from gate.http.client import Errors, Hints, HttpClient, default_transport
from gate.http.retry import RateLimits, RetryPolicy
from gate.http.text import BaseUrl, check_base_url, credential_problem, one_line
from gate.http.transport import RawResponse, Transport

if TYPE_CHECKING:
    from gate.http.aiohttp_transport import ClientSession

__all__ = ["GitHubClient"]

PER_PAGE = 100
# The permission a 403 on a read asks for (the default hint names the comment's and status's).
CONTENTS_READ = "contents: read"
PULLS_READ = "pull-requests: read"
DEFAULT_MAX_PAGES = 100  # 10,000 comments: far beyond any real pull request
DEFAULT_MAX_RATE_WAITS = 3
_DEFAULT_RETRY = RetryPolicy()
_ERRORS = Errors(
    transport=GitHubTransportError, bad_response=GitHubBadResponse, deadline=GitHubError
)
_HINTS = Hints(service="GitHub", api_url="GITHUB_API_URL")


def _unknown_commit(repo: str, sha: str) -> str:
    return (
        f"GitHub does not know commit {one_line(sha, limit=40)[:12]} in "
        f"{one_line(repo, limit=120)} (or the token cannot see the repository), so whether it "
        "has the file is unknown"
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _validate_api_url(api_url: str) -> BaseUrl:
    checked = check_base_url(api_url)
    if isinstance(checked, BaseUrl):
        return checked
    raise GitHubError(f"GitHub API URL: {checked}; check GITHUB_API_URL (e.g. {DEFAULT_API_URL})")


class GitHubClient:
    """Talks to GitHub's REST API with a token, timeouts, retries and rate-limit waits.

    `transport` is a `gate.http.Transport`, or an `aiohttp.ClientSession` to send on.
    """

    def __init__(
        self,
        transport: Transport | ClientSession,
        *,
        token: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 20.0,
        retry: RetryPolicy = _DEFAULT_RETRY,
        max_rate_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rand: Callable[[], float] | None = None,
        max_rate_waits: int = DEFAULT_MAX_RATE_WAITS,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_body: int = MAX_BODY_BYTES,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """Raises GitHubError for an empty or malformed token or API URL (never echoing them)."""
        clean = token.strip() if isinstance(token, str) else ""
        problem = credential_problem(clean)
        if problem is not None:
            fix = "pass it exactly" if clean else "pass github-token (default: the job's)"
            raise GitHubError(f"the GitHub token {problem}; {fix}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if not max_rate_wait >= 0 or max_rate_waits < 0 or max_pages < 1 or max_body < 1:
            raise ValueError("max_rate_wait, max_rate_waits, max_pages and max_body must be >= 0/1")
        base = _validate_api_url(api_url)
        self._clock = clock
        self._http = HttpClient(
            default_transport(transport),
            base=base,
            headers={
                "Authorization": f"Bearer {clean}",
                "Accept": MEDIA_TYPE,
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"eval-gate/{__version__}",
            },
            secrets=(clean, token),
            errors=_ERRORS,
            hints=_HINTS,
            name="github",
            timeout=timeout,
            retry=retry,
            rate_limits=RateLimits(max_wait=float(max_rate_wait), max_waits=max_rate_waits),
            max_body=max_body,
            max_pages=max_pages,
            sleep=sleep,
            rand=rand,
        )

    def __repr__(self) -> str:
        http = self._http
        limits = http.rate_limits
        max_wait = limits.max_wait if limits is not None else 0.0
        return (
            f"GitHubClient(api_url={http.base.base!r}, timeout={http.timeout:g}, "
            f"attempts={http.retry.attempts}, max_rate_wait={max_wait:g})"
        )

    # ------------------------------------------------------------------ endpoints

    async def authenticated_login(self) -> str | None:
        """The token's login (GET /user), or None when GitHub will not say (401/403).

        The job's GITHUB_TOKEN (an installation token) cannot read /user: None is normal.
        """
        try:
            data = await self._request("GET", USER_PATH, what="reading /user")
        except (GitHubUnauthorized, GitHubForbidden):
            return None
        return parse_login(data)

    async def comments(self, repo: str, number: int) -> AsyncGenerator[Comment, None]:
        """Every comment of issue/PR `number`, oldest first, page by page (per_page=100)."""
        what = f"listing comments of {one_line(repo)}#{number}"
        url = self._http.url(comments_path(repo, number), f"per_page={PER_PAGE}")

        def parse(raw: RawResponse, page: str) -> list[Comment]:
            return parse_comments(self._decode(raw, page), what=page)

        async for batch in self._http.pages(url, what=what, parse=parse, noun="comments"):
            for comment in batch:
                yield comment

    async def create_comment(self, repo: str, number: int, body: str) -> Comment:
        """Post a new comment on issue/PR `number`."""
        what = f"creating a comment on {one_line(repo)}#{number}"
        data = await self._request(
            "POST", comments_path(repo, number), what=what, payload={"body": body}
        )
        return self._parse_one(data, what)

    async def update_comment(self, repo: str, comment_id: int, body: str) -> Comment:
        """Replace the body of comment `comment_id`."""
        what = f"updating comment {comment_id} in {one_line(repo)}"
        data = await self._request(
            "PATCH", comment_path(repo, comment_id), what=what, payload={"body": body}
        )
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
        # Sent twice, a status changes nothing (the latest per context wins): safe to retry.
        await self._request(
            "POST", statuses_path(repo, sha), what=what, payload=payload, idempotent=True
        )

    async def create_check_run(
        self,
        repo: str,
        *,
        name: str,
        head_sha: str,
        external_id: str,
        details_url: str | None = None,
        title: str,
        summary: str,
        status: str = "in_progress",
    ) -> int:
        """Create a check run on `head_sha`, `in_progress` (or `queued`: a durable gate's
        before its first look; needs `checks: write`); its id.

        Not retried once it may have reached GitHub (a second one would stay in progress).
        """
        if status not in ("queued", "in_progress"):
            raise ValueError(f"a check run is created queued or in_progress, not {status!r}")
        what = f"creating check run {one_line(name)!r} on {one_line(head_sha)[:12]}"
        payload: dict[str, Any] = {
            "name": name,
            "head_sha": head_sha,
            "external_id": external_id,
            "status": status,
            "output": {"title": title, "summary": summary},
        }
        if status == "in_progress":
            payload["started_at"] = self._clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        if details_url is not None:
            payload["details_url"] = details_url
        data = await self._request("POST", check_runs_path(repo), what=what, payload=payload)
        try:
            return parse_check_run_id(data, what=what)
        except GitHubError as exc:
            raise self._http.scrub(exc) from None

    async def check_runs_in_progress(self, repo: str, sha: str, *, name: str) -> list[CheckRunRef]:
        """The check runs named `name` on `sha` still in progress (the newest 100)."""
        return await self.check_runs_named(repo, sha, name=name, status="in_progress")

    async def check_runs_named(
        self, repo: str, sha: str, *, name: str, status: str | None = None
    ) -> list[CheckRunRef]:
        """The check runs named `name` on `sha` (the newest 100), in `status` if given."""
        what = f"listing check runs of {one_line(sha)[:12]}"
        params: dict[str, str | int] = {"check_name": name, "filter": "all", "per_page": PER_PAGE}
        if status is not None:
            params["status"] = status
        query = urlencode(params)
        url = self._http.url(commit_check_runs_path(repo, sha), query)
        return await self._http.request(
            "GET",
            url,
            what=what,
            parse=lambda raw: parse_check_runs(self._decode(raw, what), what=what),
        )

    async def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        output: dict[str, Any],
        conclusion: str | None = None,
        status: str | None = None,
    ) -> None:
        """PATCH check run `check_run_id`: its `output` (title, summary, maybe annotations,
        which GitHub appends to those already there) and, with `conclusion`, complete it (or
        set `status`: `queued`, `in_progress`, as a durable gate moves).

        Retried like a GET when it carries no annotations (sent twice, it changes nothing);
        with annotations it is not resent once it may have landed (they would appear twice).
        Raises ValueError for a `conclusion` not in CHECK_RUN_CONCLUSIONS (a programming error).
        """
        if conclusion is not None and conclusion not in CHECK_RUN_CONCLUSIONS:
            raise ValueError(f"conclusion must be one of {', '.join(CHECK_RUN_CONCLUSIONS)}")
        what = f"updating check run {check_run_id} in {one_line(repo)}"
        payload: dict[str, Any] = {"output": output}
        if status is not None:
            if status not in ("queued", "in_progress"):
                raise ValueError(f"status must be queued or in_progress, got {status!r}")
            payload["status"] = status
            if status == "in_progress":
                payload["started_at"] = self._clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        if conclusion is not None:
            payload["status"] = "completed"
            payload["conclusion"] = conclusion
            payload["completed_at"] = self._clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        await self._request(
            "PATCH",
            check_run_path(repo, check_run_id),
            what=what,
            payload=payload,
            idempotent=not output.get("annotations"),
        )

    async def pulls_for_commit(self, repo: str, sha: str) -> list[int]:
        """Numbers of the open pull requests whose head contains `sha` (first 100)."""
        what = f"listing pull requests for commit {one_line(sha)[:12]}"
        url = self._http.url(commit_pulls_path(repo, sha), f"per_page={PER_PAGE}")
        return await self._http.request(
            "GET",
            url,
            what=what,
            parse=lambda raw: parse_pull_numbers(self._decode(raw, what, PULLS_READ), what=what),
        )

    async def pull_base_sha(self, repo: str, number: int) -> str:
        """The base commit (`base.sha`) of pull request `number` (GET .../pulls/{number})."""
        what = f"reading pull request {one_line(repo)}#{number}"
        data = await self._request("GET", pull_path(repo, number), what=what, permission=PULLS_READ)
        try:
            return parse_pull_base_sha(data, what=what)
        except GitHubError as exc:
            raise self._http.scrub(exc) from None

    async def file_at(self, repo: str, path: str, ref: str, *, max_bytes: int) -> bytes | None:
        """The bytes of file `path` at commit `ref` (the contents API), or None when commit
        `ref` is known to have no such file: GitHub answers its plain 404 `Not Found` and the
        commit itself answers 200. A plain 404 alone may also be a repository the token cannot
        see, and a 404 naming the ref (`No commit found for the ref …`) is a commit GitHub does
        not know: either raises GitHubNotFound, as any other failure raises the typed
        GitHubError: a 403 (a token without `contents: read`), a folder, a file over
        `max_bytes`."""
        what = f"reading {one_line(path, limit=120)} at {one_line(ref, limit=40)[:12]}"
        url = self._http.url(contents_path(repo, path), urlencode({"ref": ref}))
        try:
            data = await self._http.request(
                "GET", url, what=what, parse=lambda raw: self._decode(raw, what, CONTENTS_READ)
            )
        except GitHubNotFound as error:
            if not error.plain:
                raise GitHubNotFound(
                    error.message.removesuffix(NOT_FOUND_HINT) + _unknown_commit(repo, ref)
                ) from None
            await self._confirm_commit(repo, ref, what)
            return None
        try:
            return parse_file_content(data, what=what, max_bytes=max_bytes)
        except GitHubError as exc:
            raise self._http.scrub(exc) from None

    # ------------------------------------------------------------------ the App's (JWT)

    async def app_identity(self) -> AppIdentity:
        """Who the App is (`GET /app`): its id and slug. This client's token is the App's JWT."""
        what = "reading the App (GET /app)"
        data = await self._request("GET", APP_PATH, what=what, hints=APP_HINTS)
        try:
            return parse_app_identity(data, what=what)
        except GitHubError as exc:
            raise self._http.scrub(exc) from None

    async def repo_installation(self, repo: str) -> int:
        """The id of the App's installation on `repo` (`GET /repos/{owner}/{repo}/installation`,
        with the App's JWT); AppNotInstalled on a 404."""
        what = f"finding the GitHub App's installation on {one_line(repo, limit=120)}"
        try:
            data = await self._request(
                "GET", repo_installation_path(repo), what=what, hints=APP_HINTS
            )
        except GitHubNotFound:
            raise AppNotInstalled(repo) from None
        try:
            return parse_installation_id(data, what=what)
        except GitHubError as exc:
            raise self._http.scrub(exc) from None

    async def create_installation_token(self, installation_id: int) -> InstallationToken:
        """A new installation access token (`POST /app/installations/{id}/access_tokens`, with
        the App's JWT): every repository and permission the installation grants. Retried like
        a GET: a second token minted changes nothing. InstallationGone on a 404."""
        what = f"creating an access token for installation {installation_id}"
        try:
            data = await self._request(
                "POST",
                installation_token_path(installation_id),
                what=what,
                hints=APP_HINTS,
                idempotent=True,
            )
        except GitHubNotFound:
            raise InstallationGone(installation_id) from None
        try:
            return parse_installation_token(data, installation_id=installation_id, what=what)
        except GitHubError as exc:
            raise self._http.scrub(exc) from None

    async def hook_deliveries(
        self, *, per_page: int = PER_PAGE
    ) -> AsyncGenerator[list[HookDelivery], None]:
        """The App webhook's recent deliveries, newest first, a page at a time
        (`GET /app/hook/deliveries`, with the App's JWT; the caller stops when it has seen
        enough)."""
        what = "listing the App's webhook deliveries"
        url = self._http.url(HOOK_DELIVERIES_PATH, f"per_page={per_page}")

        def parse(raw: RawResponse, page: str) -> list[HookDelivery]:
            return parse_hook_deliveries(self._decode(raw, page, hints=APP_HINTS), what=page)

        async for batch in self._http.pages(url, what=what, parse=parse, noun="deliveries"):
            yield batch

    async def redeliver(self, delivery_id: int) -> None:
        """Ask GitHub to deliver webhook delivery `delivery_id` again
        (`POST /app/hook/deliveries/{id}/attempts`, with the App's JWT; 202). Not retried: a
        second attempt would be a second delivery (harmless, recorded once, but noise)."""
        what = f"asking GitHub to redeliver webhook delivery {delivery_id}"
        await self._request("POST", redelivery_path(delivery_id), what=what, hints=APP_HINTS)

    async def _confirm_commit(self, repo: str, sha: str, what: str) -> None:
        """Return when commit `sha` exists in `repo` (`GET .../git/commits/{sha}` answers 200);
        GitHubNotFound saying so when it does not, any other GitHubError as it is."""
        commit = one_line(sha, limit=40)[:12]
        try:
            await self._request(
                "GET", git_commit_path(repo, sha), what=f"looking up commit {commit}"
            )
        except GitHubNotFound:
            raise GitHubNotFound(
                f"{one_line(what)}: HTTP 404, and commit {commit} is not found either: "
                + _unknown_commit(repo, sha)
            ) from None

    # ------------------------------------------------------------------ machinery

    def _decode(
        self,
        raw: RawResponse,
        what: str,
        permission: str | None = None,
        hints: Mapping[int, str] | None = None,
    ) -> Any:
        return parse_response(
            raw.status,
            raw.headers,
            raw.body,
            what=what,
            now=self._clock(),
            max_body=self._http.max_body,
            secrets=self._http.secrets,
            permission=permission,
            hints=hints,
        )

    def _parse_one(self, data: Any, what: str) -> Comment:
        try:
            return parse_comment(data, what=what)
        except GitHubError as exc:
            raise self._http.scrub(exc) from None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        payload: dict[str, Any] | None = None,
        idempotent: bool | None = None,
        permission: str | None = None,
        hints: Mapping[int, str] | None = None,
    ) -> Any:
        return await self._http.request(
            method,
            self._http.url(path),
            what=what,
            parse=lambda raw: self._decode(raw, what, permission, hints),
            body=None if payload is None else json.dumps(payload).encode(),
            content_type=None if payload is None else "application/json",
            idempotent=idempotent,
        )
