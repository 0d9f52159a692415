"""One GitHub connection for a whole run: one HTTP session and one `GitHubClient`, made on first
use and closed once, for everything the run asks GitHub (the base branch's config, the check
run, the comment, the commit status).

`client()` is the one client. A token or API URL the client refuses raises its `GitHubError`
each time the client is asked for, so each caller reports it as it would a failed request;
callers check `token` first, to say that there is none. With no transport given, an aiohttp
session of the connection's own is opened at the first request (an Action run that never
reaches GitHub opens none) and closed by `aclose`; a transport or session given is the
caller's to close. `author` is who the token comments as, when the caller knows it (a GitHub
App's installation token: `<app-slug>[bot]`, which `GET /user` will not tell); None: the
sticky comment asks GitHub (`gate.github.comment.our_login`).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from gate.github.api import DEFAULT_API_URL, GitHubError

if TYPE_CHECKING:
    from gate.github.client import GitHubClient
    from gate.http.aiohttp_transport import ClientSession, SessionOnDemand
    from gate.http.transport import Transport

__all__ = ["GitHubConnection"]


class GitHubConnection:
    """GitHub as one run sees it: the token, the API URL, one session and one client."""

    __slots__ = (
        "_client",
        "_error",
        "_own",
        "_timeout",
        "_token",
        "_transport",
        "api_url",
        "author",
    )

    def __init__(
        self,
        *,
        token: str | None,
        api_url: str = DEFAULT_API_URL,
        transport: Transport | ClientSession | None = None,
        timeout: float = 20.0,
        author: str | None = None,
    ) -> None:
        self._token = token
        self.author = author
        self.api_url = api_url.rstrip("/")
        self._transport = transport
        self._own: SessionOnDemand | None = None
        self._timeout = timeout
        self._client: GitHubClient | None = None
        self._error: GitHubError | None = None

    def __repr__(self) -> str:  # never the token
        return f"GitHubConnection(api_url={self.api_url!r}, token={'set' if self._token else None})"

    @property
    def token(self) -> str | None:
        """The token ("" or None: there is none, and nothing can be asked)."""
        return self._token

    @property
    def sessions_opened(self) -> int:
        """HTTP sessions this connection opened itself: 0 or 1."""
        return self._own.opened if self._own is not None else 0

    def client(self) -> GitHubClient:
        """The run's one client, made the first time; raises the `GitHubError` of a token or
        API URL it refuses (never echoing them), the first time and every time after."""
        if self._client is not None:
            return self._client
        if self._error is None:
            from gate.github.client import GitHubClient  # noqa: PLC0415 - only when asked

            try:
                self._client = GitHubClient(
                    self._transport if self._transport is not None else self._session(),
                    token=self._token or "",
                    api_url=self.api_url,
                    timeout=self._timeout,
                )
            except GitHubError as error:
                self._error = error
            else:
                return self._client
        assert self._error is not None
        raise self._error

    def _session(self) -> SessionOnDemand:
        from gate.http.aiohttp_transport import SessionOnDemand  # noqa: PLC0415 - aiohttp on demand

        self._own = SessionOnDemand()
        return self._own

    async def aclose(self) -> None:
        """Close the session this connection opened (a caller's transport stays open)."""
        if self._own is not None:
            await self._own.aclose()

    async def __aenter__(self) -> GitHubConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
