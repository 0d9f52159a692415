"""`HttpClient`: everything the API clients share, over any `Transport` (after gidgethub).

Per request: the overall deadline, a per-try timeout around `transport.send`, the body cap,
bounded retries with backoff that honours the server's Retry-After (`RetryPolicy.delay`),
waits on rate limits from their own budget (`RateLimits`), and secrets scrubbed from every
error it raises or passes on. A request that may create something (POST) is not retried
once it may have reached the server (timeout, dropped connection): only when it certainly
did not (connection refused), or on an HTTP answer the API calls retryable. `pages` follows
`Link: rel="next"` on the same origin only. Big answers are parsed off the event loop.

The API's own errors (`Errors`) are used for what only the transport can see: no answer,
an answer over the cap, a deadline, a bad next-page link. Messages name the host, never
the URL (it may carry a query an API echoes) and never a header.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from gate.core.redact import redact
from gate.http.errors import HttpError, TransportFailure
from gate.http.retry import RateLimits, RetryPolicy, Sleep
from gate.http.text import BaseUrl, header, human_size, next_page_url, origin_of
from gate.http.transport import RawResponse, Request, Transport
from gate.sleeping import resolve_rand, resolve_sleep

__all__ = [
    "DECODE_ON_LOOP_MAX",
    "ERROR_BODY_LIMIT",
    "IDEMPOTENT_METHODS",
    "Errors",
    "Hints",
    "HttpClient",
    "Wait",
    "default_transport",
]

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

ERROR_BODY_LIMIT = 64 * 1024  # an error page is read only this far, for its message
DECODE_ON_LOOP_MAX = 256 * 1024  # bytes; larger answers are parsed on a worker thread
_DEFAULT_RETRY = RetryPolicy()
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class Wait:
    """A wait before the next try; a rate-limit wait uses up no retry."""

    seconds: float
    rate_limit: bool = False


@dataclass(frozen=True, slots=True)
class Errors:
    """The API's exception classes for what the HTTP layer finds itself (each is called
    as `cls(message, status=..., retryable=...)`)."""

    transport: type[HttpError]
    bad_response: type[HttpError]
    deadline: type[HttpError]


@dataclass(frozen=True, slots=True)
class Hints:
    """How an API's messages tell the reader what to do."""

    service: str  # "Roboflow", "GitHub"
    api_url: str  # the setting to check: "the API URL", "GITHUB_API_URL"
    timeout: str | None = None  # how to allow longer tries: "raise --timeout"
    deadline: str = "raise the deadline"  # how to allow more time in all

    @property
    def network(self) -> str:
        return f"check the network and {self.api_url}"


class HttpClient:
    """Sends requests to one API base URL through a transport, with the shared policies."""

    def __init__(
        self,
        transport: Transport,
        *,
        base: BaseUrl,
        headers: Mapping[str, str],
        secrets: Sequence[str],
        errors: Errors,
        hints: Hints,
        name: str,
        timeout: float = 30.0,
        retry: RetryPolicy = _DEFAULT_RETRY,
        rate_limits: RateLimits | None = None,
        deadline: float | None = None,
        max_body: int = 32 * 1024 * 1024,
        max_pages: int = 100,
        sleep: Sleep | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self.transport = transport
        self.base = base
        self.timeout = float(timeout)
        self.retry = retry
        self.rate_limits = rate_limits
        self.deadline = deadline
        self.max_body = max_body
        self.max_pages = max_pages
        self._headers = dict(headers)
        self.secrets = tuple(secret for secret in secrets if secret)
        self._errors = errors
        self._hints = hints
        self._name = name
        self._sleep = sleep
        self._rand = rand
        self._log = structlog.get_logger(f"gate.{name}.client")
        self.deadline_span: float | None = None
        if deadline is not None:
            try:
                self.deadline_span = deadline - asyncio.get_running_loop().time()
            except RuntimeError:  # built outside a running loop: the message omits the span
                self.deadline_span = None

    # ------------------------------------------------------------------ public

    def url(self, path: str, query: str = "") -> str:
        """The absolute URL of an API path (already percent-encoded)."""
        return self.base.url(path, query)

    def scrub(self, exc: E) -> E:
        """Make sure no secret, whole or in part (even one a server echoed), is in the error's
        message. The API's parser masks them in the server's text before shortening it (it is
        handed `secrets`); this is the last line of defence for everything else."""
        exc.args = tuple(
            redact(arg, self.secrets) if isinstance(arg, str) else arg for arg in exc.args
        )
        return exc

    async def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        parse: Callable[[RawResponse], T],
        body: bytes | None = None,
        content_type: str | None = None,
        idempotent: bool | None = None,
    ) -> T:
        """`parse(response)` of the first usable answer; the API's typed error otherwise.

        `parse` maps a response to data or raises the API's `HttpError`; whether that error
        is retried is its `retryable` (and `rate_limit`) flag. `idempotent` (default: by
        the method; POST and PATCH are not) says whether a request that may have reached
        the server may be sent again.
        """
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS
        loop = asyncio.get_running_loop()
        headers = dict(self._headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        attempt = rate_waits = 0
        last: HttpError | None = None
        while True:
            attempt += 1
            budget = self.timeout
            if self.deadline is not None:
                left = self.deadline - loop.time()
                if left <= 0:
                    raise self.scrub(self._deadline_error(what, last)) from last
                budget = min(budget, left)
            request = Request(method, url, headers, body, budget, self.max_body, ERROR_BODY_LIMIT)
            try:
                return await self._attempt(request, what=what, idempotent=idempotent, parse=parse)
            except HttpError as exc:
                wait = self.backoff(self.scrub(exc), attempt=attempt, rate_waits=rate_waits)
                if wait is None:
                    raise
                if self.deadline is not None and loop.time() + wait.seconds >= self.deadline:
                    raise  # no time left to wait: the error as it is, not a deadline error
                last = exc
            if wait.rate_limit:
                rate_waits += 1
                attempt -= 1  # a rate-limit wait does not use up a retry
                self._log.warning(
                    f"{self._name}.rate_limited",
                    what=what,
                    wait=round(wait.seconds, 3),
                    reason=str(last),
                )
            else:
                self._log.warning(
                    f"{self._name}.retry",
                    what=what,
                    attempt=attempt,
                    delay=round(wait.seconds, 3),
                    reason=str(last),
                )
            await resolve_sleep(self._sleep)(wait.seconds)

    def backoff(self, exc: HttpError, *, attempt: int, rate_waits: int) -> Wait | None:
        """The backoff hook: how long to wait after `exc` on try `attempt`, or None to give
        up (then `exc`'s message may say why). A rate limit waits what the server asked
        (Retry-After, x-ratelimit-reset: the API read it into `retry_after`) from the
        `RateLimits` budget; any other retryable error backs off by the `RetryPolicy`,
        never for less than its Retry-After."""
        limits = self.rate_limits
        if exc.rate_limit and limits is not None:
            seconds = exc.retry_after if exc.retry_after is not None else 60.0
            if seconds > limits.max_wait:
                exc.args = (f"{exc}; that is more than the {limits.max_wait:g} s this step waits",)
                return None
            if rate_waits >= limits.max_waits:
                exc.args = (f"{exc}; still limited after {limits.max_waits} waits",)
                return None
            return Wait(seconds, rate_limit=True)
        if not exc.retryable or attempt >= self.retry.attempts:
            return None
        rand = resolve_rand(self._rand)
        return Wait(self.retry.delay(attempt, retry_after=exc.retry_after, rand=rand))

    async def pages(
        self,
        url: str,
        *,
        what: str,
        parse: Callable[[RawResponse, str], T],
        noun: str = "results",
    ) -> AsyncIterator[T]:
        """`parse(response, what)` of each page, following `Link: rel="next"` (same origin,
        no repeats, at most `max_pages`); each page is one `request` with its retries."""
        seen: set[str] = set()
        page = 0
        next_url: str | None = url
        while next_url is not None:
            page += 1
            if page > self.max_pages:
                raise self._bad(f"{what}: more than {self.max_pages} pages of {noun}; giving up")
            seen.add(next_url)
            page_what = f"{what} (page {page})"

            def with_headers(
                raw: RawResponse, what: str = page_what
            ) -> tuple[T, Mapping[str, str]]:
                return parse(raw, what), raw.headers

            data, headers = await self.request("GET", next_url, what=page_what, parse=with_headers)
            yield data
            next_url = self._next_url(headers, what=what, seen=seen)

    # ------------------------------------------------------------------ machinery

    def _bad(self, message: str, *, status: int | None = None) -> HttpError:
        return self.scrub(self._errors.bad_response(message, status=status, retryable=False))

    def _next_url(self, headers: Mapping[str, str], *, what: str, seen: set[str]) -> str | None:
        target = next_page_url(header(headers, "Link"))
        if target is None:
            return None
        origin = origin_of(target)
        if origin is None or origin != self.base.origin:
            # Never send the token to another host (or over a downgraded scheme).
            raise self._bad(
                f"{what}: the next-page link points outside {self.base.host}; not following it "
                f"(check {self._hints.api_url})"
            )
        if target in seen:
            raise self._bad(f"{what}: the next-page link repeats a page; stopping")
        return target

    def _deadline_error(self, what: str, last: HttpError | None) -> HttpError:
        span = f" of {round(self.deadline_span, 2):g} s" if self.deadline_span is not None else ""
        cause = ""
        if last is not None:
            cause = f" (last error: {str(last).removeprefix(what + ': ')})"
        return self._errors.deadline(
            f"{what}: overall deadline{span} reached before a usable response{cause}; "
            f"{self._hints.deadline}"
        )

    async def _attempt(
        self,
        request: Request,
        *,
        what: str,
        idempotent: bool,
        parse: Callable[[RawResponse], T],
    ) -> T:
        host = self.base.host
        try:
            async with asyncio.timeout(request.timeout):
                raw = await self.transport.send(request)
        except TimeoutError:
            cut = request.timeout < self.timeout  # the deadline, not the timeout, cut it short
            raise self._transport_error(
                f"{what}: no complete response from {host} within {request.timeout:.3g} s "
                "(timeout)",
                retryable=True,
                may_have_landed=not idempotent,
                hint=self._timeout_hint(cut=cut),
            ) from None
        except TransportFailure as failure:
            raise self._transport_error(
                f"{what}: {failure.reason} talking to {host} ({failure.kind})",
                retryable=failure.retryable,
                may_have_landed=not (idempotent or failure.never_sent),
                hint=self._hints.network,
            ) from None
        if raw.overflow and 200 <= raw.status < 300:
            raise self._bad(
                f"{what}: HTTP {raw.status} response larger than {human_size(self.max_body)}; "
                "refusing it",
                status=raw.status,
            )
        try:
            if len(raw.body) <= DECODE_ON_LOOP_MAX:
                return parse(raw)
            # A big answer takes about 0.1 s a MB to decode: not on the event loop, where a
            # server answers /healthz and other clients meanwhile.
            return await asyncio.to_thread(parse, raw)
        except HttpError as exc:
            raise self.scrub(exc) from None

    def _timeout_hint(self, *, cut: bool) -> str:
        if cut:
            return f"check the network or {self._hints.deadline}"
        if self._hints.timeout:
            return f"check the network or {self._hints.timeout}"
        return self._hints.network

    def _transport_error(
        self, message: str, *, retryable: bool, may_have_landed: bool, hint: str
    ) -> HttpError:
        if may_have_landed and retryable:
            message += f"; not retried, since {self._hints.service} may have applied it"
            retryable = False
        else:
            message += f"; {hint}"
        return self.scrub(self._errors.transport(message, retryable=retryable))


def default_transport(session_or_transport: Any) -> Transport:
    """`session_or_transport` if it is a Transport, else an aiohttp session wrapped in one
    (aiohttp is imported only then)."""
    if isinstance(session_or_transport, Transport):
        return session_or_transport
    from gate.http.aiohttp_transport import AiohttpTransport  # noqa: PLC0415 - aiohttp on demand

    return AiohttpTransport(session_or_transport)
