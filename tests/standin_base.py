"""What the loopback stand-ins for Roboflow and GitHub share: hanging requests that end when
the client leaves or the server shuts down, and the body of a scripted fault."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

HANG_MAX_SECONDS = 300.0  # a hung handler gives up after this, or when the client leaves


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


def fault_body(body: bytes | str | dict[str, Any] | list[Any]) -> tuple[bytes, str]:
    """A scripted body as bytes and its content type: JSON for data, HTML for a page."""
    if isinstance(body, dict | list):
        return json.dumps(body).encode(), "application/json"
    raw = body.encode() if isinstance(body, str) else body
    return raw, "text/html" if raw.lstrip().startswith(b"<") else "application/json"
