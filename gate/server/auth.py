"""Bearer-token authentication for `eval-gate serve`: every route but the health probes, the
GitHub App's webhook (signed by GitHub instead) and the history pages (`/ui/...`, which log a
browser in with the same tokens: gate/server/ui).

Tokens are compared in constant time (as SHA-256 digests, so not even their length leaks),
against every configured token without stopping at the first match. A missing or malformed
`Authorization` header is 401 with a `WWW-Authenticate: Bearer` challenge; a token that is
not one of ours is 403. Neither the token sent nor any configured one is ever echoed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gate.api.errors import ApiError

__all__ = [
    "EXEMPT_PATHS",
    "UI_PREFIX",
    "bearer_auth",
    "is_ui_path",
    "token_digest",
    "token_matches",
]

# Probes carry no credentials; GitHub's webhook deliveries are signed instead (the route
# checks the signature: gate.server.webhook).
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/v1/github/webhook"})
UI_PREFIX = "/ui"
REALM = 'Bearer realm="eval-gate"'


def is_ui_path(path: str) -> bool:
    """Whether `path` is one of the history pages' (which authenticate browsers themselves)."""
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).digest()


def token_matches(candidate: str, digests: Sequence[bytes]) -> bool:
    """Whether `candidate` is one of the tokens whose digests are given (constant time)."""
    probe = token_digest(candidate)
    found = False
    for digest in digests:  # no early exit: the time taken does not say which one matched
        found |= hmac.compare_digest(probe, digest)
    return found


def bearer_auth(tokens: Sequence[str]) -> Middleware:
    """The middleware admitting requests that carry one of `tokens` as a Bearer token."""
    if not tokens:
        raise ValueError("bearer_auth needs at least one token")
    digests = tuple(token_digest(t) for t in tokens)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in EXEMPT_PATHS or is_ui_path(request.path):
            return await handler(request)
        header = request.headers.get("Authorization")
        if header is None:
            raise ApiError(
                401,
                "unauthorized",
                "authentication required: send the header Authorization: Bearer <token>",
                headers={"WWW-Authenticate": REALM},
            )
        scheme, _, credentials = header.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials or " " in credentials:
            raise ApiError(
                401,
                "unauthorized",
                "malformed Authorization header: expected Authorization: Bearer <token>",
                headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'},
            )
        if not token_matches(credentials, digests):
            raise ApiError(403, "forbidden", "the bearer token is not accepted by this server")
        return await handler(request)

    return middleware
