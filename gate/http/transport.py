"""The transport interface: one `send` from a request to status, headers and body.

A transport moves bytes and nothing else: no retries, no parsing, no secrets. It reads at
most `max_body` bytes of a 2xx body (`max_error_body` of any other) and says when there
was more; it raises `TransportFailure` when there is no complete answer. Timeouts are the
client's job (it wraps `send` in `asyncio.timeout`), so a transport may simply hang.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from gate.http.text import header

__all__ = ["RawResponse", "Request", "Transport", "cap_body"]


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as a transport sees it (`url` is absolute and already encoded)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout: float = 30.0
    max_body: int = 32 * 1024 * 1024
    max_error_body: int = 64 * 1024


@dataclass(frozen=True, slots=True)
class RawResponse:
    """What came back. `overflow`: the body was longer than the cap (for a 2xx answer the
    client refuses it; `body` then holds at most the cap, or nothing when the declared
    Content-Length was already too long)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # looked up case-insensitively
    body: bytes = b""
    overflow: bool = False


@runtime_checkable
class Transport(Protocol):
    """Anything that can send a `Request` and give back a `RawResponse`."""

    async def send(self, request: Request) -> RawResponse: ...


def cap_body(request: Request, response: RawResponse) -> RawResponse:
    """`response` as a streaming transport would have read it under the request's caps."""
    success = 200 <= response.status < 300
    limit = request.max_body if success else request.max_error_body
    declared = (header(response.headers, "Content-Length") or "").strip()
    if success and declared.isdigit() and int(declared) > limit:
        return RawResponse(response.status, response.headers, b"", overflow=True)
    if len(response.body) > limit:
        return RawResponse(response.status, response.headers, response.body[:limit], overflow=True)
    return response
