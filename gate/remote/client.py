"""The durable gates' service over `gate.http`'s client: submit a gate, read it, wait for it.

Only the endpoints and the wait live here: paths and parsing are `gate.remote.api`'s; timeouts,
the overall deadline, retries, the body cap and scrubbing the token out of every message are
`gate.http.HttpClient`'s; the socket is a `gate.http` transport. A submission carries an
`Idempotency-Key`, so it is retried like a GET: the service answers a retry with the gate the
first try made.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from gate import __version__
from gate.core.errors import UsageError
from gate.http.client import Errors, Hints, HttpClient
from gate.http.retry import RetryPolicy
from gate.http.text import BaseUrl, check_base_url, credential_problem
from gate.http.transport import RawResponse, Transport
from gate.remote import MAX_IDEMPOTENCY_KEY, MIN_INTERVAL, TOKEN_VARIABLE
from gate.remote.api import (
    GATES_PATH,
    MAX_RESPONSE_BYTES,
    GateState,
    ServiceBadResponse,
    ServiceDeadline,
    ServiceUnreachable,
    Submitted,
    Words,
    gate_path,
    parse_gate,
    parse_submitted,
)
from gate.sleeping import Sleep, poll_clock, resolve_sleep

__all__ = ["MAX_IDEMPOTENCY_KEY", "MIN_INTERVAL", "ServiceClient", "check_server_url"]

_ERRORS = Errors(
    transport=ServiceUnreachable, bad_response=ServiceBadResponse, deadline=ServiceDeadline
)


def check_server_url(url: str, *, where: str) -> BaseUrl:
    """The service's checked base URL, or a UsageError naming `where` it was given."""
    checked = check_base_url(url)
    if isinstance(checked, BaseUrl):
        return checked
    raise UsageError(
        f"{where}: {checked}; give the service's base URL, e.g. https://gates.example.com "
        f"(and its token in {TOKEN_VARIABLE}, never in the URL)"
    )


class ServiceClient:
    """Talks to one eval-gate service: `submit`, `gate`, `wait`.

    `transport` is a `gate.http.Transport` (the faces pass an aiohttp one, tests may pass a
    `MockTransport`); `token` the bearer token (None: sent without one, for a service that
    runs without authentication); `where` how the face names the URL in its messages.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        server_url: str,
        token: str | None,
        where: str = "--server",
        token_name: str = TOKEN_VARIABLE,
        timeout: float = 30.0,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
        max_body: int = MAX_RESPONSE_BYTES,
        sleep: Sleep | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self.base = check_server_url(server_url, where=where)
        self._transport = transport
        headers = {
            "User-Agent": f"eval-gate/{__version__}",
            "Accept": "application/json",
        }
        if token is not None:
            problem = credential_problem(token)
            if problem is not None:
                raise UsageError(f"{token_name} {problem}; paste the token exactly")
            headers["Authorization"] = f"Bearer {token}"
        self._headers = headers
        self._words = Words(url=where, token=token_name)
        self._secrets = (token,) if token else ()
        self._sleep = sleep
        self._kwargs: dict[str, Any] = {
            "errors": _ERRORS,
            "hints": Hints(
                service="the eval-gate service",
                api_url=where,
                timeout=None,
                deadline="try again later",
            ),
            "name": "service",
            "timeout": timeout,
            "retry": retry or RetryPolicy(),
            "deadline": deadline,
            "max_body": max_body,
            "sleep": sleep,
            "rand": rand,
        }
        self._http = self._client({})

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def _client(self, extra: Mapping[str, str]) -> HttpClient:
        return HttpClient(
            self._transport,
            base=self.base,
            headers={**self._headers, **extra},
            secrets=self._secrets,
            **self._kwargs,
        )

    async def submit(self, body: Mapping[str, Any], *, idempotency_key: str) -> Submitted:
        """`POST /v1/gates` with `body`; the submitted gate (the same one again when the key
        was used before with the same body)."""
        encoded = json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
        http = self._client({"Idempotency-Key": idempotency_key})
        now = datetime.now(UTC)

        def parse(raw: RawResponse) -> Submitted:
            return parse_submitted(
                raw.status, raw.headers, raw.body, secrets=self._secrets, now=now, words=self._words
            )

        return await http.request(
            "POST",
            http.url(GATES_PATH),
            what="submitting the gate",
            parse=parse,
            body=encoded,
            content_type="application/json",
            idempotent=True,  # the Idempotency-Key makes a retry return the same gate
        )

    async def gate(self, gate_id: str) -> GateState:
        """`GET /v1/gates/{id}`: the gate as it is now."""

        def parse(raw: RawResponse) -> GateState:
            return parse_gate(
                raw.status,
                raw.headers,
                raw.body,
                gate_id=gate_id,
                secrets=self._secrets,
                now=datetime.now(UTC),
                words=self._words,
            )

        return await self._http.request(
            "GET", self._http.url(gate_path(gate_id)), what=f"reading gate {gate_id}", parse=parse
        )

    async def wait(
        self,
        gate_id: str,
        *,
        wait: float,
        interval: float,
        on_look: Callable[[GateState], None] | None = None,
    ) -> tuple[GateState, float]:
        """The gate once finished, or as it is when `wait` seconds have passed (looking every
        `interval` seconds, at least `MIN_INTERVAL`); and the seconds waited."""
        if not (math.isfinite(wait) and wait >= 0 and math.isfinite(interval)):
            raise UsageError("the wait and the interval must be finite numbers of seconds")
        interval = max(interval, MIN_INTERVAL)
        clock = poll_clock(asyncio.get_running_loop().time)
        sleep = resolve_sleep(self._sleep)
        start = clock()
        while True:
            state = await self.gate(gate_id)
            if on_look is not None:
                on_look(state)
            waited = clock() - start
            if state.finished or waited >= wait:
                return state, waited
            await sleep(min(interval, max(wait - waited, 0.0)))
