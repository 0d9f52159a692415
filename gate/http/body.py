"""What both HTTP clients (Roboflow, GitHub) share: reading a capped body, naming a transport
failure without echoing its text (which carries URLs), and checking a base URL."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import aiohttp
from yarl import URL

from gate.roboflow.api import one_line

_CHUNK = 64 * 1024


async def read_capped(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the body, and whether there was more."""
    buffer = bytearray()
    while len(buffer) <= limit:
        chunk = await resp.content.read(min(_CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer), False
        buffer += chunk
    return bytes(buffer[:limit]), True


@dataclass(frozen=True, slots=True)
class TransportFailure:
    reason: str  # a short phrase built from the error's kind, never from its text
    retryable: bool
    never_sent: bool  # the request cannot have reached the server (safe to retry a POST)


def describe_transport_error(exc: BaseException) -> TransportFailure:
    """Classify an aiohttp/OS error without quoting it."""
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TransportFailure("the response body was cut short", retryable=True, never_sent=False)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return TransportFailure(
            "the server closed the connection", retryable=True, never_sent=False
        )
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        # A bad certificate does not heal by retrying.
        return TransportFailure(
            "TLS handshake or certificate check failed", retryable=False, never_sent=False
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        strerror = exc.os_error.strerror if exc.os_error is not None else None
        reason = (
            f"cannot connect ({one_line(strerror, limit=80)})" if strerror else "cannot connect"
        )
        return TransportFailure(reason, retryable=True, never_sent=True)
    if isinstance(exc, aiohttp.InvalidURL):
        return TransportFailure("invalid URL", retryable=False, never_sent=True)
    if isinstance(exc, aiohttp.ClientResponseError):
        return TransportFailure(
            f"malformed HTTP response (status {exc.status})", retryable=True, never_sent=False
        )
    if isinstance(exc, OSError) and exc.strerror:
        return TransportFailure(one_line(exc.strerror, limit=80), retryable=True, never_sent=False)
    return TransportFailure("connection error", retryable=True, never_sent=False)


def check_base_url(api_url: str) -> URL | str:
    """The parsed base URL, or a sentence saying what is wrong with it (never echoing
    credentials, a query or a fragment, which may hold secrets)."""
    try:
        url = URL(api_url.strip())
    except (TypeError, ValueError):
        return f"{one_line(api_url, limit=80)!r} is not a URL"
    if url.scheme not in ("http", "https") or not url.host:
        return f"{one_line(api_url, limit=80)!r} must be an http(s) URL with a host"
    if url.user is not None or url.password is not None or url.raw_query_string or url.fragment:
        return "the URL must not contain credentials, a query or a fragment"
    return url
