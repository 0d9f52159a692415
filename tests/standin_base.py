"""What the loopback stand-ins for Roboflow and GitHub share: hanging requests that end when
the client leaves or the server shuts down, and the body of a scripted fault (which may echo
the credential the request carried, as careless servers do: write `ECHO` where it goes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

HANG_MAX_SECONDS = 300.0  # a hung handler gives up after this, or when the client leaves
ECHO = "{credential}"  # in a scripted body: replaced by the key or token the request sent


class Hangs:
    """Mixin: `await self._hang(request)` holds a request open; `_on_shutdown` lets go."""

    _release: asyncio.Event | None = None

    async def _on_shutdown(self, app: web.Application) -> None:
        del app
        if self._release is not None:
            self._release.set()

    async def _hang(self, request: web.Request) -> None:
        if self._release is None:
            self._release = asyncio.Event()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + HANG_MAX_SECONDS
        while loop.time() < give_up and not self._release.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), timeout=0.02)


def credential_of(request: web.Request) -> str:
    """The key or token a request carried: `Authorization: Bearer|token X`, or `?api_key=X`."""
    _, _, credential = request.headers.get("Authorization", "").partition(" ")
    return credential.strip() or request.query.get("api_key", "")


def echoed(body: Any, credential: str) -> Any:
    """`body` (text, bytes or JSON data) with each `ECHO` replaced by `credential`."""
    if isinstance(body, str):
        return body.replace(ECHO, credential)
    if isinstance(body, bytes):
        return body.replace(ECHO.encode(), credential.encode())
    if isinstance(body, dict):
        return {echoed(k, credential): echoed(v, credential) for k, v in body.items()}
    if isinstance(body, list):
        return [echoed(v, credential) for v in body]
    return body


def fault_body(
    body: bytes | str | dict[str, Any] | list[Any], *, echo: str = ""
) -> tuple[bytes, str]:
    """A scripted body as bytes and its content type: JSON for data, HTML for a page; each
    `ECHO` in it replaced by `echo` (the credential the request carried)."""
    body = echoed(body, echo)
    if isinstance(body, dict | list):
        return json.dumps(body).encode(), "application/json"
    raw = body.encode() if isinstance(body, str) else body
    return raw, "text/html" if raw.lstrip().startswith(b"<") else "application/json"
