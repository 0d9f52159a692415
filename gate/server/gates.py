"""The durable gates' routes: wiring and wording only (the worker and the store do the work).

    POST   /v1/gates                  submit (202 + Location; Idempotency-Key: 200 / 409)
    GET    /v1/gates                  history, newest first, paged by an opaque cursor
    GET    /v1/gates/{gate_id}        a gate (the document its callback POSTs)
    DELETE /v1/gates/{gate_id}        cancel a gate that is not finished
    GET    /v1/gates/{gate_id}/report its Markdown report, once finished

A submission is validated now, as `POST /v1/gate`'s body is (on the work pool's threads), plus
what only a durable gate needs: a workspace this server has a Roboflow key for, GitHub
credentials when `github` is asked, a callback URL the server calls. Durable gates run with
the server's credentials: an `X-Roboflow-Api-Key` header is refused (and so is a
`github.token`, by the body's rules). Every route answers 503 naming the problem when durable
gates are unavailable (no usable database), while `POST /v1/gate` goes on working.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Final

from aiohttp import web

from gate.api.answer import decode_body
from gate.api.body import CheckCallback, DurableCall, parse_durable_call, refuse_callbacks
from gate.api.errors import ApiError
from gate.api.gates import gate_document, submitted_document, summary_document
from gate.api.request_schema import shown
from gate.api.stopping import StopFlag
from gate.server.durable import DURABLE, Durable, callback_check
from gate.server.request import JSON_MEDIA_TYPE, read_body, require_json
from gate.server.settings import ServerSettings
from gate.server.state import RUNS, SETTINGS, WORK
from gate.store import STATUSES, BadCursor, GateQuery, IdempotencyConflict
from gate.store.ids import GATE_ID

__all__ = ["CHECK_CALLBACK", "IDEMPOTENCY_HEADER", "routes", "setup_gates"]

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
API_KEY_HEADER: Final = "X-Roboflow-Api-Key"
MAX_IDEMPOTENCY_KEY: Final = 255
CHECK_CALLBACK: web.AppKey[CheckCallback] = web.AppKey("eval_gate.check_callback")
"""Which callback URLs this server calls (the callback unit's allow-list; none by default)."""

_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_VERDICTS = ("pass", "warn", "fail")
MARKDOWN = "text/markdown"

routes = web.RouteTableDef()


def setup_gates(app: web.Application, settings: ServerSettings) -> None:
    """The durable gates' routes on `app`, off (503) until startup opens the database."""
    app[DURABLE] = Durable()
    app[CHECK_CALLBACK] = callback_check(settings)
    app.add_routes(routes)


def _base_url(request: web.Request) -> str:
    """Where clients reach this server: EVAL_GATE_PUBLIC_URL, else the request's own."""
    public = request.app[SETTINGS].public_url
    return public or f"{request.scheme}://{request.host}"


def _json(status: int, document: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(document, allow_nan=False),
        content_type=JSON_MEDIA_TYPE,
        headers=headers,
    )


def _draining(request: web.Request) -> None:
    if request.app[RUNS].draining:
        raise ApiError(
            503,
            "draining",
            "the server is shutting down and takes no new gates; send the request again",
            headers={"Retry-After": "1", "Connection": "close"},
        )


def _idempotency_key(request: web.Request) -> str | None:
    sent = request.headers.getall(IDEMPOTENCY_HEADER, [])
    if not sent:
        return None
    key = sent[0]
    if (
        len(sent) > 1
        or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY
        or not (key.isascii() and key.isprintable())
    ):
        raise ApiError(
            400,
            "invalid_request",
            f"the {IDEMPOTENCY_HEADER} header must be sent once, 1 to {MAX_IDEMPOTENCY_KEY} "
            "printable ASCII characters (a UUID is a good key)",
        )
    return key


def _parse(raw: bytes, max_checks: int, check: CheckCallback, flag: StopFlag) -> Any:
    """The body as a durable call and the request to store (on a worker thread)."""
    data = decode_body(raw)
    flag.check()
    return parse_durable_call(data, max_checks=max_checks, check_callback=check), data


@routes.post("/v1/gates")
async def post_gates(request: web.Request) -> web.Response:
    """Submit a durable gate (see the module's docstring)."""
    _draining(request)
    worker = request.app[DURABLE].worker
    settings = request.app[SETTINGS]
    if request.headers.getall(API_KEY_HEADER, []):
        raise ApiError(
            400,
            "api_key_refused",
            f"durable gates do not take the {API_KEY_HEADER} header: they run long after this "
            "request, with this server's Roboflow keys (ROBOFLOW_API_KEY, "
            "EVAL_GATE_ROBOFLOW_KEYS_FILE); leave the header out",
        )
    require_json(request)
    key = _idempotency_key(request)
    raw = await read_body(request, settings.max_body)
    flag = StopFlag(time.monotonic() + settings.request_deadline)
    check = request.app.get(CHECK_CALLBACK) or refuse_callbacks
    parsed = await request.app[WORK].run(
        flag, "parse", _parse, raw, settings.max_checks, check, flag
    )
    durable: DurableCall = parsed[0]
    try:
        inserted = await worker.submit(durable, parsed[1], idempotency_key=key)
    except IdempotencyConflict as conflict:
        raise ApiError(409, "idempotency_conflict", str(conflict)) from None
    document = submitted_document(inserted.gate, _base_url(request))
    return _json(202 if inserted.created else 200, document, {"Location": document["url"]})


def _query_value(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise ApiError(400, "invalid_request", f"{name}: give it once, got {len(values)}")
    return values[0] if values else None


def _integer(name: str, raw: str | None, low: int, high: int) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 12 or not low <= int(raw) <= high:
        raise ApiError(
            400,
            "invalid_request",
            f"{name}: must be a whole number from {low} to {high:,}, got {shown(raw)}",
        )
    return int(raw)


def _matching(name: str, raw: str | None, pattern: re.Pattern[str], what: str) -> str | None:
    if raw is not None and not pattern.fullmatch(raw):
        raise ApiError(400, "invalid_request", f"{name}: must be {what}, got {shown(raw)}")
    return raw


def _one_of(name: str, raw: str | None, allowed: tuple[str, ...]) -> str | None:
    if raw is not None and raw not in allowed:
        raise ApiError(
            400, "invalid_request", f"{name}: must be one of {', '.join(allowed)}, got {shown(raw)}"
        )
    return raw


def _gate_query(request: web.Request) -> GateQuery:
    def get(name: str) -> str | None:
        return _query_value(request, name)

    sha = _matching("sha", get("sha"), _SHA, "a full commit SHA (40 hexadecimal characters)")
    cursor = get("cursor")
    if cursor is not None and not cursor:
        raise ApiError(400, "invalid_cursor", "cursor: pass the next_cursor of a page unchanged")
    return GateQuery(
        repository=_matching("repository", get("repository"), _REPOSITORY, "owner/name"),
        pull_number=_integer("pull_number", get("pull_number"), 1, 2_147_483_647),
        sha=sha.lower() if sha else None,
        status=_one_of("status", get("status"), STATUSES),
        verdict=_one_of("verdict", get("verdict"), _VERDICTS),
        limit=_integer("limit", get("limit"), 1, 200) or 50,
        cursor=cursor,
    )


@routes.get("/v1/gates")
async def get_gates(request: web.Request) -> web.Response:
    """The history of durable gates, newest first, one page at a time."""
    durable = request.app[DURABLE]
    worker = durable.worker
    query = _gate_query(request)
    try:
        async with worker.store.read() as tx:
            page = await tx.list_gates(query)
    except BadCursor as bad:
        raise ApiError(400, "invalid_cursor", str(bad)) from None
    base = _base_url(request)
    return _json(
        200,
        {
            "gates": [summary_document(gate, base) for gate in page.rows],
            "next_cursor": page.next_cursor,
        },
    )


def _gate_id(request: web.Request) -> str:
    gate_id = request.match_info["gate_id"]
    if not GATE_ID.fullmatch(gate_id):
        raise _not_found(gate_id)
    return gate_id


def _not_found(gate_id: str) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"no gate {shown(gate_id)}: it never existed here, or it was purged after its retention",
    )


@routes.get("/v1/gates/{gate_id}")
async def get_gate(request: web.Request) -> web.Response:
    """A durable gate's document."""
    worker = request.app[DURABLE].worker
    gate_id = _gate_id(request)
    async with worker.store.read() as tx:
        gate = await tx.gate(gate_id)
    if gate is None:
        raise _not_found(gate_id)
    return _json(200, gate_document(gate, _base_url(request)))


@routes.delete("/v1/gates/{gate_id}")
async def delete_gate(request: web.Request) -> web.Response:
    """Cancel a durable gate that is not finished."""
    worker = request.app[DURABLE].worker
    gate_id = _gate_id(request)
    gate = await worker.cancel(gate_id)
    if gate is None:
        raise _not_found(gate_id)
    if gate.status != "cancelled":
        raise ApiError(
            409,
            "already_finished",
            f"gate {gate_id} is already finished ({gate.status}): there is nothing to cancel",
        )
    return _json(200, gate_document(gate, _base_url(request)))


@routes.get("/v1/gates/{gate_id}/report")
async def get_gate_report(request: web.Request) -> web.Response:
    """A finished durable gate's Markdown report."""
    worker = request.app[DURABLE].worker
    gate_id = _gate_id(request)
    async with worker.store.read() as tx:
        gate = await tx.gate(gate_id)
    if gate is None:
        raise _not_found(gate_id)
    if not gate.finished or gate.report is None:
        raise ApiError(
            409,
            "not_finished",
            f"gate {gate_id} is {gate.status}: its report is written when it finishes; GET the "
            "gate for what it waits for",
        )
    return web.Response(text=gate.report, content_type=MARKDOWN, charset="utf-8")
