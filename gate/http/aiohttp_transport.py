"""The one place aiohttp is used by the HTTP clients: `AiohttpTransport(session)`, and
`SessionOnDemand`, which opens a session of its own at the first request."""

from __future__ import annotations

import ssl

import aiohttp
from aiohttp import ClientSession
from yarl import URL

from gate.http.errors import TransportFailure
from gate.http.text import one_line
from gate.http.transport import RawResponse, Request

__all__ = ["AiohttpTransport", "ClientSession", "SessionOnDemand", "describe"]

_CHUNK = 64 * 1024


class AiohttpTransport:
    """Sends requests on an `aiohttp.ClientSession`: no redirects, capped streaming reads."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session

    async def send(self, request: Request) -> RawResponse:
        try:
            async with self.session.request(
                request.method,
                URL(request.url, encoded=True),
                data=request.body,
                headers=dict(request.headers),
                allow_redirects=False,
                raise_for_status=False,
                timeout=aiohttp.ClientTimeout(total=request.timeout),
            ) as resp:
                success = 200 <= resp.status < 300
                limit = request.max_body if success else request.max_error_body
                declared = resp.content_length
                if success and declared is not None and declared > limit:
                    return RawResponse(resp.status, resp.headers, b"", overflow=True)
                buffer = bytearray()
                while len(buffer) <= limit:
                    chunk = await resp.content.read(min(_CHUNK, limit + 1 - len(buffer)))
                    if not chunk:
                        return RawResponse(resp.status, resp.headers, bytes(buffer))
                    buffer += chunk
                return RawResponse(resp.status, resp.headers, bytes(buffer[:limit]), overflow=True)
        except TimeoutError:
            raise  # the client names timeouts (TimeoutError is an OSError: keep this first)
        except (aiohttp.ClientError, OSError) as exc:
            raise describe(exc) from None


class SessionOnDemand:
    """An `AiohttpTransport` on a session of its own, opened at the first request (inside the
    running event loop; none when nothing is sent) and closed by `aclose`, after which nothing
    more is sent. `opened` counts the sessions it opened: one at most."""

    def __init__(self) -> None:
        self._transport: AiohttpTransport | None = None
        self._closed = False
        self.opened = 0

    async def send(self, request: Request) -> RawResponse:
        if self._closed:
            raise TransportFailure("the session is closed", retryable=False, never_sent=True)
        if self._transport is None:
            self._transport = AiohttpTransport(ClientSession())
            self.opened += 1
        return await self._transport.send(request)

    async def aclose(self) -> None:
        """Close the session, if one was opened."""
        self._closed = True
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.session.close()


def describe(exc: BaseException) -> TransportFailure:
    """Classify an aiohttp/OS error without quoting it."""
    kind = type(exc).__name__
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TransportFailure("the response body was cut short", kind=kind)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return TransportFailure("the server closed the connection", kind=kind)
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        # A bad certificate does not heal by retrying.
        return TransportFailure(
            "TLS handshake or certificate check failed", kind=kind, retryable=False
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        strerror = exc.os_error.strerror if exc.os_error is not None else None
        reason = (
            f"cannot connect ({one_line(strerror, limit=80)})" if strerror else "cannot connect"
        )
        return TransportFailure(reason, kind=kind, never_sent=True)
    if isinstance(exc, aiohttp.InvalidURL):
        return TransportFailure("invalid URL", kind=kind, retryable=False, never_sent=True)
    if isinstance(exc, aiohttp.ClientResponseError):
        return TransportFailure(f"malformed HTTP response (status {exc.status})", kind=kind)
    if isinstance(exc, OSError) and exc.strerror:
        return TransportFailure(one_line(exc.strerror, limit=80), kind=kind)
    return TransportFailure("connection error", kind=kind)
