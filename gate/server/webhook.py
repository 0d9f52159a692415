"""The GitHub App's webhooks: `POST /v1/github/webhook` (wiring and wording; the worker's
gate.worker.hooks does the work).

In order, each step before the next:

1. off (404) without `EVAL_GATE_GITHUB_WEBHOOK_SECRET`;
2. the body read within `MAX_WEBHOOK_BODY` bytes (413; a declared length over it is refused
   before reading);
3. `X-Hub-Signature-256` checked: the HMAC-SHA256 of the raw body with the secret, compared
   in constant time; missing or wrong is 401 and nothing else happens. Nothing of the body is
   parsed before. A body over `INLINE_BYTES` is checked and parsed on the work pool's threads,
   so the event loop never hashes or parses megabytes;
4. the event (`X-GitHub-Event`) and delivery id (`X-GitHub-Delivery`) must be usable (400);
5. an event or action the service does nothing for, or a check of another App: 204, nothing
   recorded;
6. else the delivery is recorded with the changes it causes in one transaction
   (`Worker.webhook`): 202; a redelivery (its id recorded before) changes nothing: 200.

Every delivery is one log line (`github.webhook`: event, action, delivery id, outcome, how many
gates it changed), never the secret, a signature or the payload.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

import structlog
from aiohttp import web

from gate.api.errors import ApiError
from gate.api.stopping import StopFlag
from gate.github.webhook import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Ignored,
    Malformed,
    WebhookEvent,
    parse_event,
    valid_delivery_id,
    valid_event_name,
    verify_signature,
)
from gate.server.durable import DURABLE
from gate.server.request import JSON_MEDIA_TYPE, ClientDisconnected
from gate.server.state import SETTINGS, WORK
from gate.store import StoreUnavailable
from gate.worker.hooks import relevant

__all__ = ["INLINE_BYTES", "MAX_WEBHOOK_BODY", "WEBHOOK_PATH", "routes"]

WEBHOOK_PATH: Final = "/v1/github/webhook"
MAX_WEBHOOK_BODY: Final = 2 * 1024 * 1024  # bytes; GitHub's largest are installation events
INLINE_BYTES: Final = 64 * 1024  # bodies up to this are checked and parsed on the event loop
_CHUNK = 64 * 1024

routes = web.RouteTableDef()
_log = structlog.get_logger("gate.server.webhook")


class _BadSignature(Exception):
    pass


class _BadJson(Exception):
    pass


async def _read_bounded(request: web.Request) -> bytes:
    too_large = ApiError(
        413,
        "body_too_large",
        f"the webhook's body is larger than {MAX_WEBHOOK_BODY:,} bytes, this server's limit",
    )
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > MAX_WEBHOOK_BODY:
                raise too_large
    except (ConnectionError, web.HTTPException) as error:
        if isinstance(error, web.HTTPException) and error.status == 413:
            raise too_large from None
        raise ClientDisconnected(request.content_length) from None
    return bytes(body)


def _checked(secret: str, body: bytes, signature: str | None, flag: StopFlag | None) -> Any:
    """The payload, decoded once the signature is right (`_BadSignature`, `_BadJson`)."""
    if not verify_signature(secret, body, signature):
        raise _BadSignature
    if flag is not None:
        flag.check()
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise _BadJson from None


def _note(outcome: str, delivery: str | None, event: str | None, **more: Any) -> None:
    """The delivery's one log line before it is known to be usable (headers shown only when
    well-formed: they are the sender's text)."""
    _log.warning(
        "github.webhook",
        outcome=outcome,
        delivery=delivery if valid_delivery_id(delivery) else None,
        event_name=event if valid_event_name(event) else None,
        **more,
    )


def _refused(reason: str, delivery: str | None, event: str | None) -> ApiError:
    _note("refused", delivery, event, reason=reason)
    return ApiError(
        401,
        "bad_signature",
        f"the {SIGNATURE_HEADER} header is missing or is not the signature of this body with "
        "this server's webhook secret (EVAL_GATE_GITHUB_WEBHOOK_SECRET must be the App's "
        "webhook secret)",
    )


def _logged(event_name: str, action: str | None, delivery: str, outcome: str, **more: Any) -> None:
    _log.info(
        "github.webhook",
        event_name=event_name,
        action=action,
        delivery=delivery,
        outcome=outcome,
        **more,
    )


def _app_id(request: web.Request) -> int | None:
    app = request.app[SETTINGS].github_app
    return app.app_id if app is not None else None


@routes.post(WEBHOOK_PATH)
async def post_webhook(request: web.Request) -> web.StreamResponse:
    """One delivery of the GitHub App's webhook (see the module's docstring)."""
    settings = request.app[SETTINGS]
    secret = settings.github_webhook_secret
    if not secret:
        raise ApiError(
            404,
            "not_found",
            "webhooks are off on this server: its operator sets "
            "EVAL_GATE_GITHUB_WEBHOOK_SECRET (the GitHub App's webhook secret)",
        )
    delivery = request.headers.get(DELIVERY_HEADER)
    name = request.headers.get(EVENT_HEADER)
    try:
        body = await _read_bounded(request)
    except ApiError:
        _note("too_large", delivery, name, content_length=request.content_length)
        raise
    signature = request.headers.get(SIGNATURE_HEADER)
    try:
        if len(body) <= INLINE_BYTES:
            payload = _checked(secret, body, signature, None)
        else:
            flag = StopFlag(time.monotonic() + settings.request_deadline)
            payload = await request.app[WORK].run(
                flag, "webhook", _checked, secret, body, signature, flag
            )
    except _BadSignature:
        raise _refused("bad or missing signature", delivery, name) from None
    except _BadJson:
        _note("malformed", delivery, name, reason="not JSON")
        raise ApiError(400, "invalid_json", "the webhook's body is not JSON") from None
    if not valid_event_name(name) or not valid_delivery_id(delivery):
        _note("malformed", delivery, name, reason="no usable event or delivery header")
        raise ApiError(
            400,
            "invalid_request",
            f"a webhook delivery has the headers {EVENT_HEADER} (an event name) and "
            f"{DELIVERY_HEADER} (a GUID)",
        )
    assert name is not None
    assert delivery is not None
    action = payload.get("action") if isinstance(payload, dict) else None
    action = action if isinstance(action, str) and valid_event_name(action) else None
    event: WebhookEvent = relevant(parse_event(name, payload), _app_id(request))
    if isinstance(event, Ignored):
        _logged(name, action, delivery, "ignored", reason=event.reason)
        return web.Response(status=204)
    if isinstance(event, Malformed):
        _logged(name, action, delivery, "malformed", reason=event.reason)
        raise ApiError(400, "invalid_request", event.reason)
    durable = request.app[DURABLE]
    if durable.running is None:
        _logged(name, action, delivery, "unavailable")
    worker = durable.worker  # the 503 naming the problem, when durable gates are off
    try:
        outcome = await worker.webhook(delivery, name, action, event)
    except StoreUnavailable as error:
        _logged(name, action, delivery, "unavailable")
        raise ApiError(503, "database_unavailable", error.reason) from None
    status = 202 if outcome.recorded else 200
    _logged(
        name,
        action,
        delivery,
        outcome.what if outcome.recorded else "redelivery",
        gates=len(outcome.gates),
    )
    document = {
        "delivery": delivery,
        "status": "accepted" if outcome.recorded else "redelivery",
        "effect": outcome.what if outcome.recorded else "none",
        "gates": list(outcome.gates),
    }
    return web.Response(status=status, text=json.dumps(document), content_type=JSON_MEDIA_TYPE)
