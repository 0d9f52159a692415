"""What every request to `eval-gate serve` carries: its id, its secrets, the error that ends it.

`ApiError` (gate.api.errors) is raised by handlers and middlewares and rendered by the server's
error middleware as `{"error": code, "message": ..., "request_id": ...}`. Per-request secrets (a
Roboflow key sent in a header, a GitHub token in the body) live in a context variable, never
in the log context, so `redact_request_secrets` can mask them on every log line of the
request, including lines from tasks it started.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiohttp import web

from gate.api.errors import ApiError
from gate.api.request_schema import shown
from gate.core.redact import EventDict, redact, redacting_processor

__all__ = [
    "JSON_MEDIA_TYPE",
    "ClientDisconnected",
    "add_request_secrets",
    "error_document",
    "read_body",
    "redact_request_secrets",
    "request_secrets",
    "require_json",
    "reset_request_secrets",
    "restore_request_secrets",
]

JSON_MEDIA_TYPE = "application/json"

_SECRETS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "eval_gate_request_secrets", default=()
)


class ClientDisconnected(Exception):
    """The client hung up before its request was read in full: nobody is left to answer.

    Not a server error: the server logs `server.client_disconnected` and counts the request
    under the status 499 (nginx's "client closed request"), never as a 5xx.
    """

    def __init__(self, received: int | None = None) -> None:
        super().__init__("the client disconnected before its request was read in full")
        self.received = received


def _redact_json(value: Any, secrets: Iterable[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _redact_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v, secrets) for v in value]
    return value


def error_document(error: ApiError, request_id: str, secrets: Iterable[str]) -> dict[str, Any]:
    """The JSON body of an error answer, with every secret masked."""
    secrets = tuple(secrets)
    document: dict[str, Any] = {
        "error": error.code,
        "message": redact(error.message, secrets),
        "request_id": request_id,
    }
    for key, value in error.extra.items():
        document.setdefault(key, _redact_json(value, secrets))
    return document


def add_request_secrets(*secrets: str | None) -> None:
    """Remember secrets the current request brought, to keep them out of logs and answers."""
    found = tuple(s for s in secrets if s)
    if found:
        _SECRETS.set((*_SECRETS.get(), *found))


def request_secrets() -> tuple[str, ...]:
    """The current request's secrets (empty outside a request)."""
    return _SECRETS.get()


def reset_request_secrets() -> contextvars.Token[tuple[str, ...]]:
    """Start a request with no secrets; hand the token to `restore_request_secrets` at its end."""
    return _SECRETS.set(())


def restore_request_secrets(token: contextvars.Token[tuple[str, ...]]) -> None:
    _SECRETS.reset(token)


def redact_request_secrets(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor masking the current request's secrets in every value."""
    secrets = _SECRETS.get()
    if not secrets:
        return event_dict
    return redacting_processor(list(secrets))(logger, method_name, event_dict)


def require_json(request: web.Request) -> None:
    """415 unless the body is declared `application/json` (UTF-8, the only charset JSON has)."""
    charset = (request.charset or "utf-8").lower()
    if request.content_type == JSON_MEDIA_TYPE and charset in ("utf-8", "utf8"):
        return
    sent = request.headers.get("Content-Type")
    got = f"Content-Type {shown(sent)}" if sent else "no Content-Type"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"{request.method} {request.path} takes a JSON body: send the header Content-Type: "
        f"{JSON_MEDIA_TYPE} "
        f"(charset utf-8, if any), got {got}",
    )


async def read_body(request: web.Request, max_body: int) -> bytes:
    """The body, within `max_body` bytes (413); a client that hangs up is `ClientDisconnected`."""
    too_large = ApiError(
        413,
        "body_too_large",
        f"the request body is larger than {max_body:,} bytes, this server's limit; "
        "send a smaller config",
    )
    if request.content_length is not None and request.content_length > max_body:
        raise too_large
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except (ConnectionError, aiohttp.ClientPayloadError):
        raise ClientDisconnected(request.content_length) from None
