"""Where the service's GitHub credentials come from: one interface, two providers.

`GitHubCredentials` is what the durable worker (and the webhooks) ask for a repository's
token: `await credentials.token_for("owner/name")`. Two providers:

- `StaticToken`: one token for every repository (`EVAL_GATE_GITHUB_TOKEN`, a personal access
  token or a fine-grained one); who it comments as is asked of GitHub (`GET /user`).
- `gate.github.app.GitHubApp`: the service as a GitHub App; each repository's installation
  token, cached and refreshed; it comments as `<app-slug>[bot]`.

`github_credentials` picks one from the settings: the App when it is configured (its tokens
never expire with a job), else the token, else None. The App's module (PyJWT, cryptography)
is imported only then.

A token comes back as a plain `str`: the caller builds its `GitHubConnection` (or
`GitHubClient`) with it for the effects of one step, passing `author=await
credentials.comment_author(repository)` so the sticky comment finds its own. When GitHub
answers 401 to a token, the caller says so (`token_refused`) and asks again once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from gate.github.api import DEFAULT_API_URL, GitHubError
from gate.http.text import credential_problem

if TYPE_CHECKING:
    from gate.github.app_key import AppAuth
    from gate.http.aiohttp_transport import ClientSession
    from gate.http.transport import Transport

__all__ = ["GitHubCredentials", "StaticToken", "github_credentials"]


@runtime_checkable
class GitHubCredentials(Protocol):
    """Gives the GitHub token to act on a repository with, and says who that token is."""

    async def token_for(self, repository: str) -> str:
        """A token that may act on `repository` ("owner/name") now; raises GitHubError
        (one line, no secret) when there is none (e.g. the App is not installed there)."""
        ...

    async def comment_author(self, repository: str) -> str | None:
        """The login the token comments as (`eval-gate[bot]`), or None: ask GitHub
        (`gate.github.comment.our_login`)."""
        ...

    def token_refused(self, repository: str, token: str) -> None:
        """GitHub answered 401 to `token` for `repository`: forget it, so the next
        `token_for` brings a fresh one (a no-op for a token that cannot be renewed)."""
        ...


class StaticToken:
    """The same token for every repository (`EVAL_GATE_GITHUB_TOKEN`)."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        """Raises GitHubError (never echoing it) for an empty or malformed token."""
        clean = token.strip() if isinstance(token, str) else ""
        problem = credential_problem(clean)
        if problem is not None:
            raise GitHubError(f"EVAL_GATE_GITHUB_TOKEN {problem}; set it to the token exactly")
        self._token = clean

    def __repr__(self) -> str:  # never the token
        return "StaticToken(token=***)"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The token, for redaction."""
        return (self._token,)

    async def token_for(self, repository: str) -> str:
        del repository
        return self._token

    async def comment_author(self, repository: str) -> str | None:
        del repository
        return None  # GitHub says: GET /user answers a personal access token's login

    def token_refused(self, repository: str, token: str) -> None:
        del repository, token  # nothing to renew: the 401 stands


def github_credentials(
    *,
    app: AppAuth | None,
    token: str | None,
    transport: Transport | ClientSession,
    api_url: str = DEFAULT_API_URL,
    timeout: float = 20.0,
) -> GitHubCredentials | None:
    """The service's credentials: the App when `app` is configured (`EVAL_GATE_GITHUB_APP_ID`
    and `_PRIVATE_KEY_FILE`), else the static `token` (`EVAL_GATE_GITHUB_TOKEN`), else None.
    `transport` (a `gate.http` Transport or an aiohttp session) carries the App's requests."""
    if app is not None:
        from gate.github.app import GitHubApp  # noqa: PLC0415 - PyJWT, cryptography on demand

        return GitHubApp(app, transport, api_url=api_url, timeout=timeout)
    if token:
        return StaticToken(token)
    return None
