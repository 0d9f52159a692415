"""The GitHub App side of the GitHub stand-in: JWTs checked for real, installation tokens
issued with an expiry and refused once expired, on a clock the test moves.

`StandInApp` is handed to `GitHubStandIn(github_app=...)`; the stand-in then serves `GET /app`,
`GET /repos/{owner}/{repo}/installation` and `POST /app/installations/{id}/access_tokens`
(those three only with a JWT, as GitHub), and takes the tokens it issued on every other
endpoint, for the repositories of their installation only (another repository: 404).

What GitHub checks of a JWT, checked here (GitHub's wording in the 401s):
- the signature, RS256, against the App's public key (PyJWT with `cryptography`);
- `iss` is the App's id (as a string or a number); `iat` and `exp` are numbers;
- `exp` at most 10 minutes after `iat`; `iat` not in the future; `exp` not past.
An installation token lives `token_lifetime` seconds (an hour) from its minting; used after
that it is a 401 "Bad credentials", counted in `expired_refused`.

    clock = FakeClock()
    app = StandInApp(public_key, app_id=4242, clock=clock)
    installation = app.install("octo-org/octo-repo")
    standin = GitHubStandIn(github_app=app)
    ... clock.advance(3600) ... app.minted, app.jwts, app.refused

The test key is made by `new_private_key()` (cryptography) in a fixture; no private key is
ever written to the repository.
"""

from __future__ import annotations

import functools
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWT_MAX_LIFETIME = 600  # GitHub: exp at most 10 minutes after iat
DEFAULT_TOKEN_LIFETIME = 3600.0  # GitHub: an installation token lasts an hour
JWT_OPERATIONS = frozenset(
    {
        "apps/get-authenticated",
        "apps/get-repo-installation",
        "apps/create-installation-access-token",
        "apps/list-webhook-deliveries",
        "apps/redeliver-webhook-delivery",
    }
)
NOT_DECODED = "A JSON web token could not be decoded"
EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
IAT_FUTURE = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was "
    "issued"
)
BAD_ISSUER = "'Issuer' claim ('iss') must be an Integer"


@functools.cache
def new_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key made now (one per process and size: 2,048 bits take a moment)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pem_of(key: Any, *, traditional: bool = True) -> bytes:
    """A private key as PEM, as GitHub downloads it (`BEGIN RSA PRIVATE KEY`) or PKCS#8."""
    layout = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if traditional
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(serialization.Encoding.PEM, layout, serialization.NoEncryption())


class FakeClock:
    """Epoch seconds that move only when told: shared by the service's App and the stand-in."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(slots=True)
class IssuedToken:
    token: str
    installation_id: int
    expires_at: float  # epoch seconds


@dataclass
class StandInApp:
    """One GitHub App as GitHub knows it: its key, its installations, the tokens it got."""

    public_key: Any
    app_id: int = 4242
    slug: str = "eval-gate"
    name: str = "eval-gate"
    clock: Callable[[], float] = time.time
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    installations: dict[int, set[str]] = field(default_factory=dict)  # id -> repos (lower)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    jwts: list[dict[str, Any]] = field(default_factory=list)  # claims of each JWT accepted
    refused: list[str] = field(default_factory=list)  # why each JWT was refused
    expired_refused: int = 0  # installation tokens refused because they had expired
    minted: int = 0  # installation tokens issued
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # the webhook's, newest first
    redelivered: list[int] = field(default_factory=list)  # delivery ids asked to redeliver
    _ids: Any = field(default_factory=lambda: itertools.count(7_000_001))
    _delivery_ids: Any = field(default_factory=lambda: itertools.count(90_000_001))

    # ---------------------------------------------------------------- seeding

    def install(self, *repos: str, installation_id: int | None = None) -> int:
        """Install the App on `repos` (in a new installation, or add them to one)."""
        if installation_id is None:
            installation_id = next(self._ids)
        self.installations.setdefault(installation_id, set()).update(r.lower() for r in repos)
        return installation_id

    def uninstall(self, installation_id: int) -> None:
        """The installation is deleted: its repositories and its tokens go with it."""
        self.installations.pop(installation_id, None)
        for token in [t for t, i in self.tokens.items() if i.installation_id == installation_id]:
            del self.tokens[token]

    def remove(self, installation_id: int, *repos: str) -> None:
        """`installation_repositories` `removed`."""
        self.installations.get(installation_id, set()).difference_update(r.lower() for r in repos)

    def installation_of(self, repo: str) -> int | None:
        return next((i for i, repos in self.installations.items() if repo.lower() in repos), None)

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"

    def add_delivery(
        self,
        guid: str,
        event: str,
        *,
        action: str | None = None,
        status_code: int = 200,
        age: float = 60.0,
        redelivery: bool = False,
    ) -> int:
        """A delivery of the App's webhook, `age` seconds ago, answered `status_code` (0: no
        answer, as GitHub lists a timeout); its id."""
        delivery_id = next(self._delivery_ids)
        delivered = datetime.fromtimestamp(self.clock() - age, UTC)
        self.deliveries.append(
            {
                "id": delivery_id,
                "guid": guid,
                "delivered_at": delivered.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "redelivery": redelivery,
                "duration": 0.27,
                "status": "OK" if 200 <= status_code < 300 else "Invalid HTTP Response: 503",
                "status_code": status_code,
                "event": event,
                "action": action,
                "installation_id": None,
                "repository_id": None,
                "throttled_at": None,
            }
        )
        self.deliveries.sort(key=lambda d: (d["delivered_at"], d["id"]), reverse=True)
        return delivery_id

    # ---------------------------------------------------------------- checks

    def check_jwt(self, credential: str) -> str | None:
        """Why GitHub would refuse `credential` as this App's JWT, or None (then recorded)."""
        now = self.clock()
        try:
            header = jwt.get_unverified_header(credential)
            claims = jwt.decode(
                credential,
                self.public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,  # checked below on the stand-in's clock
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                    "require": ["iat", "exp", "iss"],
                },
            )
        except jwt.PyJWTError as error:
            return self._refuse(f"{NOT_DECODED} ({type(error).__name__})")
        if header.get("alg") != "RS256":
            return self._refuse(NOT_DECODED)
        iat, exp, iss = claims["iat"], claims["exp"], claims["iss"]
        if str(iss) != str(self.app_id):
            return self._refuse(BAD_ISSUER)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (iat, exp)):
            return self._refuse(NOT_DECODED)
        if exp - iat > JWT_MAX_LIFETIME:
            return self._refuse(EXP_TOO_FAR)
        if iat > now:
            return self._refuse(IAT_FUTURE)
        if exp <= now:
            return self._refuse(EXPIRED)
        self.jwts.append(claims)
        return None

    def _refuse(self, why: str) -> str:
        self.refused.append(why)
        return why

    def token(self, credential: str) -> IssuedToken | None:
        """The token issued as `credential`, or None."""
        return self.tokens.get(credential)

    def expired(self, issued: IssuedToken) -> bool:
        return self.clock() >= issued.expires_at

    # ---------------------------------------------------------------- answers

    def issue(self, installation_id: int) -> IssuedToken:
        issued = IssuedToken(
            f"ghs_{secrets.token_urlsafe(27)}", installation_id, self.clock() + self.token_lifetime
        )
        self.tokens[issued.token] = issued
        self.minted += 1
        return issued

    def app_json(self) -> dict[str, Any]:
        return {
            "id": self.app_id,
            "slug": self.slug,
            "node_id": f"A_{self.app_id}",
            "client_id": f"Iv1.{self.app_id:016x}",
            "owner": {"login": "octo-org", "id": 1, "type": "Organization"},
            "name": self.name,
            "description": "",
            "external_url": "https://example.com",
            "html_url": f"https://github.com/apps/{self.slug}",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "permissions": self.permissions(),
            "events": ["check_run", "check_suite", "pull_request"],
        }

    def installation_json(self, installation_id: int, repo: str) -> dict[str, Any]:
        owner = repo.split("/", maxsplit=1)[0]
        return {
            "id": installation_id,
            "account": {"login": owner, "id": 1, "type": "Organization"},
            "repository_selection": "selected",
            "access_tokens_url": f"/app/installations/{installation_id}/access_tokens",
            "app_id": self.app_id,
            "app_slug": self.slug,
            "target_id": 1,
            "target_type": "Organization",
            "permissions": self.permissions(),
            "events": ["check_run", "check_suite", "pull_request"],
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "single_file_name": None,
            "suspended_at": None,
        }

    def token_json(self, issued: IssuedToken) -> dict[str, Any]:
        expires = datetime.fromtimestamp(issued.expires_at, UTC)
        return {
            "token": issued.token,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": self.permissions(),
            "repository_selection": "selected",
        }

    @staticmethod
    def permissions() -> dict[str, str]:
        return {
            "checks": "write",
            "pull_requests": "write",
            "statuses": "write",
            "contents": "read",
            "metadata": "read",
        }
