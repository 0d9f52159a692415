"""Who may see the history pages: a login with a bearer token, a signed session cookie, the
forms' CSRF tokens, and a bound on failed logins.

- The token is typed once into the login form and checked like a bearer header (constant
  time, against every configured token). It is never stored: the cookie holds a random session
  id and a keyed fingerprint of which token logged in (HMAC-SHA256 under the signing key, not a
  part of the token), so removing a token from the server's list ends its sessions too.
- The cookie is signed and timed by itsdangerous (`URLSafeTimedSerializer`: HMAC-SHA256 over
  the payload and its timestamp; it expires after `SESSION_SECONDS`).
  The key is `EVAL_GATE_UI_SECRET`, else derived from the bearer tokens (HMAC-SHA256 of them
  all, sorted): replicas with the same tokens accept each other's cookies, and changing the
  tokens logs everyone out.
- CSRF: the cookies are `SameSite=Strict`, and each POST form carries a signed token bound to
  something the attacker's page cannot read: the logout form to the session id, the login form
  to a random nonce set in its own HttpOnly cookie when the form was shown.
- `LoginThrottle`: at most `MAX_FAILURES` failed logins per client address in `WINDOW_SECONDS`,
  then 429 with Retry-After (checked before the token is looked at); at most `MAX_CLIENTS`
  addresses are remembered (the oldest forgotten first), so the bound costs bounded memory.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from gate.server.auth import token_digest, token_matches

__all__ = [
    "LOGIN_COOKIE",
    "MAX_CLIENTS",
    "MAX_FAILURES",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "WINDOW_SECONDS",
    "LoginThrottle",
    "Session",
    "Sessions",
    "signing_key",
]

SESSION_COOKIE = "eval_gate_session"
LOGIN_COOKIE = "eval_gate_login"
SESSION_SECONDS = 12 * 3600
LOGIN_FORM_SECONDS = 3600
MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60
MAX_CLIENTS = 10_000
MAX_COOKIE_CHARS = 512
_SESSION_SALT = "eval-gate.ui.session"
_FORM_SALT = "eval-gate.ui.form"


def signing_key(tokens: Sequence[str], secret: str | None) -> bytes:
    """The cookie-signing key: `secret` (EVAL_GATE_UI_SECRET), else one derived from `tokens`."""
    if secret:
        return secret.encode("utf-8")
    material = "\n".join(sorted(tokens)).encode("utf-8", errors="surrogatepass")
    return hmac.new(b"eval-gate ui session key v1", material, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: its random id (the logout form is bound to it)."""

    sid: str


class Sessions:
    """Logging in, reading the session cookie, and the forms' CSRF tokens (see the module)."""

    def __init__(
        self,
        tokens: Sequence[str],
        secret: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_age: int = SESSION_SECONDS,
    ) -> None:
        if not tokens:
            raise ValueError("the history pages' login needs at least one bearer token")
        key = signing_key(tokens, secret)
        clocked = _clocked_signer(clock)
        sha256 = {"digest_method": hashlib.sha256}
        self._session = URLSafeTimedSerializer(
            key, salt=_SESSION_SALT, signer=clocked, signer_kwargs=sha256
        )
        self._forms = URLSafeTimedSerializer(
            key, salt=_FORM_SALT, signer=clocked, signer_kwargs=sha256
        )
        self._key = key
        self._digests = tuple(token_digest(t) for t in tokens)
        self._token_ids = frozenset(self._token_id(t) for t in tokens)
        self.max_age = max_age

    def _token_id(self, token: str) -> str:
        """Which token logged in, as a keyed fingerprint (never the token, nor a part of it)."""
        data = token.encode("utf-8", errors="surrogatepass")
        return hmac.new(self._key, b"token-id\0" + data, hashlib.sha256).hexdigest()[:32]

    def login(self, token: str) -> str | None:
        """A new session cookie's value when `token` is one of the server's, else None."""
        if not token or len(token) > 4096 or not token_matches(token, self._digests):
            return None
        sid = secrets.token_urlsafe(16)
        return self._session.dumps({"s": sid, "k": self._token_id(token)})

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie holds: signed by us, not expired, its token still configured."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS:
            return None
        try:
            payload = self._session.loads(cookie, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired, and a payload that is not JSON
            return None
        if not isinstance(payload, dict):
            return None
        sid, token_id = payload.get("s"), payload.get("k")
        if not isinstance(sid, str) or token_id not in self._token_ids:
            return None
        return Session(sid)

    def form_token(self, purpose: str, bound_to: str) -> str:
        """A CSRF token for the form `purpose` (`login`, `logout`), bound to `bound_to`."""
        return self._forms.dumps([purpose, bound_to])

    def form_ok(self, value: str | None, purpose: str, bound_to: str | None) -> bool:
        """Whether a posted CSRF token is ours, for `purpose` and `bound_to`, and recent."""
        if not value or not bound_to or len(value) > MAX_COOKIE_CHARS:
            return False
        try:
            payload = self._forms.loads(value, max_age=LOGIN_FORM_SECONDS)
        except BadSignature:
            return False
        return bool(payload == [purpose, bound_to])


def _clocked_signer(clock: Callable[[], float]) -> type[TimestampSigner]:
    """itsdangerous's TimestampSigner on `clock` (tests move time; the default is time.time)."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return ClockedSigner


class LoginThrottle:
    """Failed logins per client address in a sliding window (see the module docstring)."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self._failures: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )

    def _recent(self, client: str, now: float) -> collections.deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def retry_after(self, client: str, now: float) -> float | None:
        """Seconds until `client` may try again, or None when it may now."""
        failures = self._recent(client, now)
        if failures is None or len(failures) < self.max_failures:
            return None
        return max(1.0, failures[0] + self.window - now)

    def failed(self, client: str, now: float) -> None:
        failures = self._recent(client, now)
        if failures is None:
            failures = collections.deque(maxlen=self.max_failures)
            self._failures[client] = failures
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(client)
        failures.append(now)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    def __len__(self) -> int:
        return len(self._failures)
