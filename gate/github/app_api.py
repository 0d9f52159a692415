"""The GitHub App's REST calls, as pure functions (sans-I/O), beside `gate.github.api`.

Paths, the answers of `GET /app`, `GET /repos/{owner}/{repo}/installation` and `POST
/app/installations/{id}/access_tokens` parsed into small frozen values, the typed errors an
App meets (not installed on a repository, its JWT refused) and the hints that say how to fix
them. No message ever holds a JWT or an installation token: the parsers never quote the
values they read (a token is a secret, an `expires_at` is said to be unusable, not shown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from gate.github.api import GitHubBadResponse, GitHubError, GitHubNotFound, split_repo
from gate.http.text import one_line

__all__ = [
    "APP_HINTS",
    "APP_PATH",
    "HOOK_DELIVERIES_PATH",
    "AppIdentity",
    "AppNotInstalled",
    "HookDelivery",
    "InstallationGone",
    "InstallationToken",
    "app_bot_login",
    "installation_token_path",
    "parse_app_identity",
    "parse_hook_deliveries",
    "parse_installation_id",
    "parse_installation_token",
    "redelivery_path",
    "repo_installation_path",
]

APP_PATH = "/app"
HOOK_DELIVERIES_PATH = "/app/hook/deliveries"
# What a refused App request asks to check: the JWT's parts are the App's id, its key and the
# clock (iat and exp); an installation token refused (403) is a suspended installation or
# permissions the App was not granted.
APP_HINTS: Mapping[int, str] = {
    401: (
        "GitHub refused the App's JWT; check EVAL_GATE_GITHUB_APP_ID (the App's id, on its "
        "settings page), that EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE is a current private key of "
        "that App, and this machine's clock"
    ),
    403: (
        "GitHub refused the App; the installation may be suspended, or the App lacks a "
        "permission: check the App's installation (the account's Settings, GitHub Apps)"
    ),
}
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


class AppNotInstalled(GitHubNotFound):
    """The App is not installed on the repository (404 on its installation), or its
    installation was deleted: nothing the service can post there until someone installs it."""

    def __init__(self, repository: str) -> None:
        shown = one_line(repository, limit=120)
        super().__init__(
            f"the GitHub App is not installed on {shown}; install it there (the App's page on "
            f"GitHub, Install App, then the account, then Repository access: add {shown}), or "
            "serve with EVAL_GATE_GITHUB_TOKEN instead",
        )
        self.repository = repository


class InstallationGone(GitHubNotFound):
    """404 on minting a token: the installation no longer exists (the App was uninstalled
    since its id was looked up). Looking the repository's installation up again tells."""

    def __init__(self, installation_id: int) -> None:
        super().__init__(
            f"installation {installation_id} of the GitHub App no longer exists (HTTP 404); "
            "the App was uninstalled or the repository removed from it",
        )
        self.installation_id = installation_id


@dataclass(frozen=True, slots=True)
class AppIdentity:
    """Who the App is: its id, its slug (`eval-gate`) and name, from `GET /app`."""

    id: int
    slug: str
    name: str

    @property
    def bot_login(self) -> str:
        """The login of the App's comments and statuses: `<slug>[bot]`."""
        return app_bot_login(self.slug)


@dataclass(frozen=True, slots=True)
class InstallationToken:
    """An installation access token and when it expires (UTC). Never shown: not in `repr`."""

    token: str = field(repr=False)
    expires_at: datetime
    installation_id: int


def app_bot_login(slug: str) -> str:
    """The login an App's installation token acts as: `<slug>[bot]` (`eval-gate[bot]`)."""
    if not _SLUG.fullmatch(slug):
        raise ValueError("an App's slug is letters, digits, '-' and '_'")
    return f"{slug}[bot]"


def repo_installation_path(repo: str) -> str:
    """`/repos/{owner}/{repo}/installation` (the App's installation on a repository; JWT)."""
    owner, name = split_repo(repo)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}/installation"


def installation_token_path(installation_id: int) -> str:
    """`/app/installations/{installation_id}/access_tokens` (mint a token; JWT)."""
    return f"/app/installations/{_positive_id(installation_id, 'installation id')}/access_tokens"


def _positive_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GitHubError(f"{what} is not a positive integer")
    return value


def _bad(what: str, problem: str) -> GitHubBadResponse:
    return GitHubBadResponse(f"{one_line(what)}: {problem}")


def parse_app_identity(data: Any, *, what: str = "reading the App (GET /app)") -> AppIdentity:
    """The App's id, slug and name from a `GET /app` answer."""
    if not isinstance(data, Mapping):
        raise _bad(what, "expected an App object")
    app_id, slug, name = data.get("id"), data.get("slug"), data.get("name")
    if isinstance(app_id, bool) or not isinstance(app_id, int) or app_id < 1:
        raise _bad(what, "the App has no positive integer id")
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        raise _bad(what, "the App has no usable slug")
    return AppIdentity(app_id, slug, name if isinstance(name, str) else slug)


def parse_installation_id(data: Any, *, what: str) -> int:
    """The `id` of an installation object (`GET /repos/{owner}/{repo}/installation`)."""
    value = data.get("id") if isinstance(data, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(what, "the installation has no positive integer id")
    return value


def parse_installation_token(data: Any, *, installation_id: int, what: str) -> InstallationToken:
    """The `token` and `expires_at` of an access-token answer (201). A naive `expires_at` is
    taken as UTC (GitHub writes `Z`). Messages never quote either value."""
    if not isinstance(data, Mapping):
        raise _bad(what, "expected an access token object")
    token = data.get("token")
    if not isinstance(token, str) or not token or not (token.isascii() and token.isprintable()):
        raise _bad(what, "the answer has no usable token")
    if any(ch.isspace() for ch in token):
        raise _bad(what, "the answer has no usable token")
    raw = data.get("expires_at")
    expires: datetime | None = None
    if isinstance(raw, str) and len(raw) <= 64:
        try:
            expires = datetime.fromisoformat(raw.strip())
        except ValueError:
            expires = None
    if expires is None:
        raise _bad(what, "the token's expires_at is not an ISO 8601 time")
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return InstallationToken(token, expires.astimezone(UTC), installation_id)


@dataclass(frozen=True, slots=True)
class HookDelivery:
    """One delivery of the App's webhook as GitHub lists it (`GET /app/hook/deliveries`):
    `status_code` is the service's answer (0: none, a timeout)."""

    id: int
    guid: str
    delivered_at: datetime
    status_code: int
    event: str
    action: str | None
    redelivery: bool

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300


def redelivery_path(delivery_id: int) -> str:
    """`/app/hook/deliveries/{delivery_id}/attempts` (redeliver; JWT)."""
    return f"{HOOK_DELIVERIES_PATH}/{_positive_id(delivery_id, 'delivery id')}/attempts"


def _delivery(item: Any) -> HookDelivery | None:
    if not isinstance(item, Mapping):
        return None
    delivery_id, guid, code = item.get("id"), item.get("guid"), item.get("status_code")
    event, action, raw = item.get("event"), item.get("action"), item.get("delivered_at")
    if isinstance(delivery_id, bool) or not isinstance(delivery_id, int) or delivery_id < 1:
        return None
    if not isinstance(guid, str) or not re.fullmatch(r"[A-Za-z0-9-]{1,64}", guid):
        return None
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    if not isinstance(event, str) or not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        delivered = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if delivered.tzinfo is None:
        delivered = delivered.replace(tzinfo=UTC)
    return HookDelivery(
        delivery_id,
        guid,
        delivered.astimezone(UTC),
        code,
        event[:64],
        action[:64] if isinstance(action, str) else None,
        item.get("redelivery") is True,
    )


def parse_hook_deliveries(data: Any, *, what: str) -> list[HookDelivery]:
    """A page of `GET /app/hook/deliveries`: its deliveries (an item GitHub wrote otherwise
    than documented is skipped, never quoted)."""
    if not isinstance(data, list):
        raise _bad(what, "expected a list of deliveries")
    return [d for d in (_delivery(item) for item in data) if d is not None]
