"""`MockTransport(handler)`: a transport for tests, no socket (after httpx's).

The handler gets each `Request` and returns a `RawResponse` (or a coroutine of one); it may
raise `TransportFailure` (connection refused, body cut short) or never return (a hang, cut
by the client's timeout). Bodies are capped as a streaming transport would cap them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from gate.http.transport import RawResponse, Request, cap_body

__all__ = ["MockTransport"]

Handler = Callable[[Request], RawResponse | Awaitable[RawResponse]]


class MockTransport:
    """Answers every request with `handler(request)`; `requests` lists what was sent."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[Request] = []

    async def send(self, request: Request) -> RawResponse:
        self.requests.append(request)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, RawResponse), f"the handler returned {answer!r}"
        return cap_body(request, answer)
