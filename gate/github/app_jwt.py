"""The App's JSON Web Token: RS256 with PyJWT, issued 60 s in the past, ten minutes long.

GitHub takes a JWT whose `iat` is at most a little in the past and whose `exp` is at most 10
minutes after `iat`; `iss` is the App's id. `app_jwt` signs one from a given time (the clock
is the caller's, so tests and the benchmark can move it); `JwtSigner` keeps the last one
until a minute before it expires, so a busy service signs about one every eight minutes
rather than one a request. A JWT is a credential: it is never logged, and every client that
sends one has it among the secrets it scrubs from errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gate.github.app_key import AppAuth

__all__ = ["JWT_BACKDATE", "JWT_LIFETIME", "JWT_RENEW_BEFORE", "AppJwt", "JwtSigner", "app_jwt"]

JWT_BACKDATE = 60  # seconds: `iat` this far in the past, for clocks that drift
JWT_LIFETIME = 600  # seconds from `iat` to `exp`: GitHub's most (so 9 minutes from now)
JWT_RENEW_BEFORE = 60  # seconds: a JWT this close to `exp` is not sent; a new one is signed


@dataclass(frozen=True, slots=True)
class AppJwt:
    """A signed JWT and its `exp` (epoch seconds). Never shown: not in `repr`."""

    token: str = field(repr=False)
    expires_at: int


def app_jwt(auth: AppAuth, *, now: float) -> AppJwt:
    """A JWT for `auth`'s App at time `now` (epoch seconds): RS256, `iat` = now - 60,
    `exp` = `iat` + 600, `iss` = the App's id (as a string, as JWT's `iss` is)."""
    import jwt  # noqa: PLC0415 - PyJWT (and cryptography) only for a service that is an App

    issued = int(now) - JWT_BACKDATE
    expires = issued + JWT_LIFETIME
    claims = {"iat": issued, "exp": expires, "iss": str(auth.app_id)}
    return AppJwt(jwt.encode(claims, auth.key, algorithm="RS256"), expires)


class JwtSigner:
    """The App's current JWT: the last one signed, or a new one once it is within a minute
    of its expiry (so no request carries a JWT that may expire on the way)."""

    __slots__ = ("_auth", "_clock", "_current", "signed")

    def __init__(self, auth: AppAuth, clock: Callable[[], float]) -> None:
        self._auth = auth
        self._clock = clock
        self._current: AppJwt | None = None
        self.signed = 0  # how many JWTs this signer made

    def __repr__(self) -> str:
        return f"JwtSigner(app_id={self._auth.app_id}, signed={self.signed})"

    def current(self) -> AppJwt:
        now = self._clock()
        jwt = self._current
        if jwt is None or now >= jwt.expires_at - JWT_RENEW_BEFORE:
            jwt = self._current = app_jwt(self._auth, now=now)
            self.signed += 1
        return jwt
