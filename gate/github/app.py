"""The service as a GitHub App: installation tokens per repository, cached and refreshed once.

`GitHubApp` is a `gate.github.credentials.GitHubCredentials`: `await app.token_for("o/r")`
gives a token that may act on that repository now. Behind it:

1. the App's JWT (`gate.github.app_jwt`: RS256 with PyJWT, `iat` 60 s back, `exp` 10 minutes
   after `iat`), reused until a minute before it expires;
2. the repository's installation (`GET /repos/{owner}/{repo}/installation`), remembered per
   repository in a bounded LRU map (`max_repositories`); a 404 is `AppNotInstalled`, which
   says how to install the App;
3. the installation's token (`POST /app/installations/{id}/access_tokens`), remembered per
   installation until five minutes before its `expires_at` (`refresh_before`), in a bounded
   LRU map (`max_installations`). However many callers need a token at once, one request
   mints it (`SingleFlight`); so do lookups of one repository.

A token minted for an installation that no longer exists (404: uninstalled since it was looked
up) makes the repository be looked up once more. Invalidation, for the webhooks: `drop_token`
(one installation's token), `forget_installation` (its token and every repository known to be
in it: `installation` `deleted`), `forget_repositories` (`installation_repositories`
`removed`), and `token_refused` (GitHub answered 401 to a token). An answer asked for before an
invalidation is handed to the callers who were waiting for it but never remembered.

`identity()` (`GET /app`) says who the App is; `comment_author` is its `<slug>[bot]`, the login
of its comments, which an installation token cannot learn from `GET /user`.

Secrets: the private key stays a `cryptography` object (no `repr`); a JWT is in the secrets
its client scrubs from every error; a token is never logged (log lines say the installation
and the expiry). Use one GitHubApp from one event loop.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from gate.github.api import DEFAULT_API_URL, GitHubBadResponse, GitHubError, split_repo
from gate.github.app_api import (
    AppIdentity,
    AppNotInstalled,
    HookDelivery,
    InstallationGone,
    InstallationToken,
)
from gate.github.app_jwt import JwtSigner
from gate.github.client import GitHubClient
from gate.github.single_flight import SingleFlight
from gate.http.client import default_transport
from gate.http.retry import RetryPolicy
from gate.http.text import check_base_url

if TYPE_CHECKING:
    from gate.github.app_key import AppAuth
    from gate.http.aiohttp_transport import ClientSession
    from gate.http.transport import Transport

__all__ = [
    "DEFAULT_MAX_INSTALLATIONS",
    "DEFAULT_MAX_REPOSITORIES",
    "MAX_TOKEN_REUSE",
    "TOKEN_REFRESH_BEFORE",
    "GitHubApp",
]

TOKEN_REFRESH_BEFORE = 300.0  # seconds: a token is renewed this long before its expires_at
MAX_TOKEN_REUSE = 3600.0  # seconds: never kept longer than GitHub's hour, whatever it says
DEFAULT_MAX_REPOSITORIES = 10_000  # repository -> installation entries kept (LRU)
DEFAULT_MAX_INSTALLATIONS = 1_000  # installation -> token entries kept (LRU)
_DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class _Cached:
    token: InstallationToken
    fresh_until: float  # epoch seconds: after this, a new token is minted


def _repo_key(repository: str) -> str:
    owner, name = split_repo(repository)
    return f"{owner}/{name}".lower()  # GitHub's names are case-insensitive


class GitHubApp:
    """Installation tokens for the repositories a GitHub App is installed on."""

    def __init__(
        self,
        auth: AppAuth,
        transport: Transport | ClientSession,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 20.0,
        retry: RetryPolicy = _DEFAULT_RETRY,
        clock: Callable[[], float] = time.time,
        refresh_before: float = TOKEN_REFRESH_BEFORE,
        max_repositories: int = DEFAULT_MAX_REPOSITORIES,
        max_installations: int = DEFAULT_MAX_INSTALLATIONS,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        """Raises GitHubError for an API URL that cannot be one (never echoing credentials)."""
        checked = check_base_url(api_url)
        if isinstance(checked, str):
            raise GitHubError(f"GitHub API URL: {checked}; check EVAL_GATE_GITHUB_API_URL")
        if not 0 <= refresh_before < MAX_TOKEN_REUSE:
            raise ValueError(f"refresh_before must be 0 to {MAX_TOKEN_REUSE:g} seconds")
        if max_repositories < 1 or max_installations < 1:
            raise ValueError("max_repositories and max_installations must be >= 1")
        self.app_id = auth.app_id
        self._api_url = checked.base
        self._transport = default_transport(transport)
        self._timeout = timeout
        self._retry = retry
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._refresh_before = refresh_before
        self._max_repositories = max_repositories
        self._max_installations = max_installations
        self._signer = JwtSigner(auth, clock)
        self._client: tuple[str, GitHubClient] | None = None  # (the JWT it sends, the client)
        self._installations: OrderedDict[str, int] = OrderedDict()  # repo key -> installation
        self._tokens: OrderedDict[int, _Cached] = OrderedDict()  # installation -> its token
        self._identity: AppIdentity | None = None
        self._epoch = 0  # bumped by every invalidation: older answers are not remembered
        self._lookups: SingleFlight[str, int] = SingleFlight()
        self._mints: SingleFlight[int, InstallationToken] = SingleFlight()
        self._whoami: SingleFlight[str, AppIdentity] = SingleFlight()
        self._log = structlog.get_logger("gate.github.app")

    def __repr__(self) -> str:  # never the key, a JWT or a token
        return (
            f"GitHubApp(app_id={self.app_id}, api_url={self._api_url!r}, "
            f"repositories={len(self._installations)}, tokens={len(self._tokens)})"
        )

    # ------------------------------------------------------------------ counters

    @property
    def jwts_signed(self) -> int:
        """JWTs signed so far (about one every eight minutes of use)."""
        return self._signer.signed

    @property
    def lookups_started(self) -> int:
        """Installation lookups sent (one per repository, until it is forgotten or evicted)."""
        return self._lookups.started

    @property
    def mints_started(self) -> int:
        """Token requests sent (one per installation an hour, less five minutes)."""
        return self._mints.started

    # ------------------------------------------------------------------ the interface

    async def token_for(self, repository: str) -> str:
        """An installation token that may act on `repository` ("owner/name") now.

        Raises AppNotInstalled when the App is not installed there, and the GitHubError of
        any request that failed (one line, without the JWT or a token)."""
        installation = await self.installation_id(repository)
        try:
            return (await self._token(installation)).token
        except InstallationGone:
            pass  # uninstalled since it was looked up (and forgotten): where is it now?
        installation = await self.installation_id(repository)
        try:
            return (await self._token(installation)).token
        except InstallationGone:
            raise AppNotInstalled(repository) from None

    async def comment_author(self, repository: str) -> str | None:
        """The login of the App's comments: `<slug>[bot]` (from `GET /app`, asked once)."""
        del repository  # one App, one login, whichever repository
        return (await self.identity()).bot_login

    def token_refused(self, repository: str, token: str) -> None:
        """GitHub answered 401 to `token`: forget it, so the next `token_for` mints anew."""
        del repository
        for installation, cached in list(self._tokens.items()):
            if cached.token.token == token:
                self.drop_token(installation)

    # ------------------------------------------------------------------ the App's calls

    async def identity(self) -> AppIdentity:
        """Who the App is (`GET /app` with its JWT, asked once): its id, slug and name."""
        if self._identity is not None:
            return self._identity
        return await self._whoami.run("app", self._fetch_identity)

    async def installation_id(self, repository: str) -> int:
        """The App's installation on `repository` (remembered); AppNotInstalled on a 404."""
        key = _repo_key(repository)
        known = self._installations.get(key)
        if known is not None:
            self._installations.move_to_end(key)
            return known
        return await self._lookups.run(key, lambda: self._look_up(key, repository))

    async def hook_deliveries(self, *, per_page: int = 100) -> AsyncIterator[list[HookDelivery]]:
        """The App webhook's recent deliveries, newest first, a page at a time (JWT)."""
        async for page in self._jwt_client().hook_deliveries(per_page=per_page):
            yield page

    async def redeliver(self, delivery_id: int) -> None:
        """Ask GitHub to deliver webhook delivery `delivery_id` again (JWT)."""
        await self._jwt_client().redeliver(delivery_id)

    # ------------------------------------------------------------------ invalidation

    def drop_token(self, installation_id: int) -> None:
        """Forget installation `installation_id`'s token: the next caller mints a new one."""
        self._invalidate()
        self._tokens.pop(installation_id, None)

    def forget_installation(self, installation_id: int) -> None:
        """Forget installation `installation_id`: its token and every repository mapped to
        it (the App was uninstalled there: `installation` `deleted`)."""
        self._invalidate()
        self._tokens.pop(installation_id, None)
        for key in [k for k, v in self._installations.items() if v == installation_id]:
            del self._installations[key]

    def forget_repositories(self, installation_id: int, repositories: Iterable[str]) -> None:
        """Repositories removed from installation `installation_id`
        (`installation_repositories` `removed`): forget where they were and the token that
        reached them; the next call for one of them looks it up again."""
        self._invalidate()
        self._tokens.pop(installation_id, None)
        for repository in repositories:
            try:
                self._installations.pop(_repo_key(repository), None)
            except GitHubError:
                continue  # not a repository name: nothing was remembered under it

    def _invalidate(self) -> None:
        self._epoch += 1
        self._lookups.detach()
        self._mints.detach()

    # ------------------------------------------------------------------ machinery

    def _jwt_client(self) -> GitHubClient:
        """A client that sends the App's current JWT (a new one when the JWT is renewed)."""
        jwt = self._signer.current()
        if self._client is None or self._client[0] != jwt.token:
            client = GitHubClient(
                self._transport,
                token=jwt.token,
                api_url=self._api_url,
                timeout=self._timeout,
                retry=self._retry,
                sleep=self._sleep,
                rand=self._rand,
                clock=lambda: datetime.fromtimestamp(self._clock(), UTC),
            )
            self._client = (jwt.token, client)
        return self._client[1]

    async def _fetch_identity(self) -> AppIdentity:
        identity = await self._jwt_client().app_identity()
        self._identity = identity
        self._log.info("github.app.identity", app_id=identity.id, login=identity.bot_login)
        return identity

    async def _look_up(self, key: str, repository: str) -> int:
        epoch = self._epoch
        installation = await self._jwt_client().repo_installation(repository)
        if epoch == self._epoch:
            self._installations[key] = installation
            self._installations.move_to_end(key)
            while len(self._installations) > self._max_repositories:
                self._installations.popitem(last=False)
        self._log.info("github.app.installation", repository=key, installation_id=installation)
        return installation

    async def _token(self, installation: int) -> InstallationToken:
        cached = self._tokens.get(installation)
        if cached is not None and self._clock() < cached.fresh_until:
            self._tokens.move_to_end(installation)
            return cached.token
        return await self._mints.run(installation, lambda: self._mint(installation))

    async def _mint(self, installation: int) -> InstallationToken:
        epoch = self._epoch
        try:
            token = await self._jwt_client().create_installation_token(installation)
        except InstallationGone:
            # Forgotten here, once for every caller of this flight, before they look again.
            self.forget_installation(installation)
            raise
        now = self._clock()
        left = token.expires_at.timestamp() - now
        if left <= 0:
            raise GitHubBadResponse(
                f"GitHub issued a token for installation {installation} that expired "
                f"{-left:.0f} s before this machine's time; check the clock (NTP)"
            )
        fresh_for = min(left - self._refresh_before, MAX_TOKEN_REUSE)
        if fresh_for <= 0:  # a clock ahead of GitHub's, or a short token: use half of it
            fresh_for = left / 2
            self._log.warning(
                "github.app.token_short",
                installation_id=installation,
                seconds_left=round(left),
                note="the token expires sooner than expected; check this machine's clock",
            )
        if epoch == self._epoch:
            self._tokens[installation] = _Cached(token, now + fresh_for)
            self._tokens.move_to_end(installation)
            while len(self._tokens) > self._max_installations:
                self._tokens.popitem(last=False)
        self._log.info(
            "github.app.token",
            installation_id=installation,
            expires_at=token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            renewed_in=round(fresh_for),
        )
        return token
