"""A finished gate's callback: one signed POST of its document, and what came of it, as data.

What a receiver gets (docs/service/callbacks.md says it for them):

    POST <the callback URL, as normalised by the allow-list>
    Content-Type: application/json
    User-Agent: eval-gate/<version>
    X-Eval-Gate-Delivery: <uuid>                the same on every attempt: repeats are dropped by it
    X-Eval-Gate-Signature-256: sha256=<hex>     HMAC-SHA256 of the exact body bytes, keyed with
                                                EVAL_GATE_CALLBACK_SECRET

`deliver_callback` makes one attempt. It checks the URL against the allow-list again (the
settings may have changed since the gate was submitted) and refuses to send unsigned; then it
POSTs once through a `gate.http` Transport (aiohttp's follows no redirect) under a per-try
timeout, reading at most `RESPONSE_CAP` bytes of the answer (only for a line of the reason). A
2xx is delivered. Anything else is retried on `callback_schedule`'s backoff until 24 h after
the first attempt: a 3xx (never followed), every 4xx and 5xx, no answer, a timeout (the POST may
have landed: the delivery id lets the receiver drop the repeat). A URL the allow-list refuses now,
or a server without a secret, fails at once and sends nothing.

The outcome (`CallbackAttempt`) maps onto the store's columns: `state` -> `callback_state`
(pending, delivered, failed), `attempts` -> `callback_attempts`, `next_at` -> `callback_next_at`.

Secrets: reasons and log lines are built from statuses, the URL's origin (never its path or
query: those may be a receiver's token) and the receiver's text with the secret masked (no 8
characters of it in a row), and the whole reason is masked once more before it leaves.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog

from gate import __version__
from gate.core.redact import redact, redact_line
from gate.http.errors import TransportFailure
from gate.http.text import header, looks_like_html, parse_retry_after
from gate.http.transport import RawResponse, Request, Transport
from gate.sleeping import resolve_rand
from gate.worker.callback_allow import AllowList, CallbackRefused, CallbackUrl
from gate.worker.callback_schedule import DEFAULT_SCHEDULE, CallbackSchedule

__all__ = [
    "DEFAULT_TIMEOUT",
    "DELIVERY_HEADER",
    "RESPONSE_CAP",
    "SECRET_SETTING",
    "SIGNATURE_HEADER",
    "CallbackAttempt",
    "CallbackSettings",
    "CallbackState",
    "callback_body",
    "callback_headers",
    "deliver_callback",
    "signature",
]

SIGNATURE_HEADER = "X-Eval-Gate-Signature-256"
DELIVERY_HEADER = "X-Eval-Gate-Delivery"
SECRET_SETTING = "EVAL_GATE_CALLBACK_SECRET"  # noqa: S105 - the setting's name, not a secret
DEFAULT_TIMEOUT = 10.0  # seconds a receiver has to answer one attempt
RESPONSE_CAP = 16 * 1024  # bytes of a receiver's answer read (for one line of the reason)
DETAIL_MAX = 120  # characters of a receiver's text in a reason

CallbackState = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True, slots=True)
class CallbackSettings:
    """What the service's settings say about callbacks (the worker builds it once)."""

    secret: str | None = field(default=None, repr=False)  # [EVAL_GATE_CALLBACK_SECRET]
    allow: AllowList = field(default_factory=AllowList)  # [EVAL_GATE_CALLBACK_ALLOW]
    timeout: float = DEFAULT_TIMEOUT
    schedule: CallbackSchedule = DEFAULT_SCHEDULE

    def __post_init__(self) -> None:
        if not 0 < self.timeout < math.inf:
            raise ValueError(f"CallbackSettings.timeout must be > 0 and finite, got {self.timeout}")


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    """What one attempt came to.

    `state`: delivered (a 2xx), pending (try again at `next_at`), or failed (given up, or
    never to be sent: `reason` says which). `attempts`: POSTs made so far, this one included
    (a refused URL sends none). `status`: the receiver's HTTP status, if it answered.
    `reason`: one line, secret-free, when not delivered.
    """

    state: CallbackState
    attempts: int
    next_at: int | None = None  # milliseconds since the epoch, when pending
    status: int | None = None
    reason: str | None = None

    @property
    def retry(self) -> bool:
        """Whether another attempt is due (at `next_at`)."""
        return self.state == "pending"


def signature(body: bytes, secret: str) -> str:
    """The `X-Eval-Gate-Signature-256` value: `sha256=` and the hex HMAC-SHA256 of `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _delivery_id(delivery: str) -> str:
    """The delivery id in its canonical form; ValueError when it is not a UUID (it goes into
    a header: nothing else may)."""
    try:
        return str(uuid.UUID(delivery))
    except (TypeError, ValueError, AttributeError):
        raise ValueError("a callback's delivery id must be a UUID") from None


def callback_headers(body: bytes, *, secret: str, delivery: str) -> dict[str, str]:
    """The headers of a callback POST of `body`."""
    return {
        "Content-Type": "application/json",
        "User-Agent": f"eval-gate/{__version__}",
        DELIVERY_HEADER: _delivery_id(delivery),
        SIGNATURE_HEADER: signature(body, secret),
    }


def callback_body(document: Any) -> bytes:
    """A gate's document as the body of its callback: compact JSON, ASCII (what is signed is
    these exact bytes)."""
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode("ascii")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None
    reason: str | None  # None: a 2xx
    retry_after: float | None = None


def _detail(response: RawResponse, secret: str) -> str:
    """A line of the receiver's text for the reason (masked, then shortened), or ""."""
    if not response.body.strip():
        return ""
    if looks_like_html(response.headers, response.body):
        return " (an HTML page)"
    text = redact_line(response.body.decode("utf-8", errors="replace"), [secret], limit=DETAIL_MAX)
    return f": {text}" if text else ""


def _read(response: RawResponse, target: CallbackUrl, secret: str, now: int) -> _Answer:
    status = response.status
    if 200 <= status < 300:
        return _Answer(status, None)
    when = datetime.fromtimestamp(now / 1000, tz=UTC)
    retry_after = parse_retry_after(header(response.headers, "Retry-After"), when)
    if 300 <= status < 400:
        reason = (
            f"{target.origin} answered HTTP {status}, a redirect; callbacks never follow "
            "redirects: point the callback at the final URL"
        )
    else:
        reason = f"{target.origin} answered HTTP {status}{_detail(response, secret)}"
    return _Answer(status, reason, retry_after)


async def _post(
    transport: Transport,
    target: CallbackUrl,
    body: bytes,
    headers: dict[str, str],
    settings: CallbackSettings,
) -> RawResponse | str:
    """The receiver's answer, or why there is none."""
    request = Request(
        "POST", target.url, headers, body, settings.timeout, RESPONSE_CAP, RESPONSE_CAP
    )
    try:
        async with asyncio.timeout(settings.timeout):
            return await transport.send(request)
    except TimeoutError:
        return f"no complete answer from {target.origin} within {settings.timeout:g} s (timeout)"
    except TransportFailure as failure:
        return f"{failure.reason} talking to {target.origin} ({failure.kind})"


async def deliver_callback(
    url: str,
    body: bytes,
    *,
    delivery: str,
    attempt: int,
    first_at: int,
    settings: CallbackSettings,
    transport: Transport,
    clock: Callable[[], int] | None = None,
    rand: Callable[[], float] | None = None,
) -> CallbackAttempt:
    """Attempt `attempt` (1-based) at POSTing `body` to `url`; `first_at` is when the first
    attempt was (or is) made, in milliseconds since the epoch (the 24 h window counts from it).

    `delivery` is the gate's delivery id (a UUID, the same on every attempt). `clock` gives
    now in milliseconds (default: the system's), `rand` the backoff's jitter in [0, 1)
    (default: random, fixed under `gate.sleeping.sleepless()`). Never raises for anything the
    receiver or the network does; ValueError for a delivery id that is not a UUID.
    """
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    delivery_id = _delivery_id(delivery)
    now = clock or _now_ms
    log = structlog.get_logger("gate.worker.callback").bind(delivery=delivery_id)
    checked = settings.allow.check(url)
    if isinstance(checked, CallbackRefused):
        log.error("callback.refused", attempt=attempt, reason=checked.reason)
        return CallbackAttempt("failed", attempt - 1, reason=checked.reason)
    secret = settings.secret
    if not secret:
        reason = f"{SECRET_SETTING} is not set: callbacks are never sent unsigned"
        log.error("callback.refused", attempt=attempt, origin=checked.origin, reason=reason)
        return CallbackAttempt("failed", attempt - 1, reason=reason)
    headers = callback_headers(body, secret=secret, delivery=delivery_id)
    sent = await _post(transport, checked, body, headers, settings)
    ended = now()
    answer = _Answer(None, sent) if isinstance(sent, str) else _read(sent, checked, secret, ended)
    if answer.reason is None:
        log.info("callback.delivered", attempt=attempt, origin=checked.origin, status=answer.status)
        return CallbackAttempt("delivered", attempt, status=answer.status)
    reason = redact(answer.reason, [secret])
    next_at = settings.schedule.next_at(
        attempt,
        first_at=first_at,
        now=ended,
        retry_after=answer.retry_after,
        rand=resolve_rand(rand)(),
    )
    if next_at is None:
        hours = settings.schedule.window / 3600
        reason = (
            f"{reason}; gave up: no 2xx within {hours:g} h of the first attempt "
            f"({attempt} attempt{'s' if attempt != 1 else ''})"
        )
        log.error("callback.failed", attempt=attempt, origin=checked.origin, reason=reason)
        return CallbackAttempt("failed", attempt, status=answer.status, reason=reason)
    log.warning(
        "callback.retry",
        attempt=attempt,
        origin=checked.origin,
        reason=reason,
        next_at=next_at,
        wait=round((next_at - ended) / 1000, 3),
    )
    return CallbackAttempt("pending", attempt, next_at, answer.status, reason)
