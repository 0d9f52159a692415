"""The `eval-gate serve` application: middlewares, routers, and the process-wide resources.

`create_app(settings)` builds an aiohttp `Application`; nothing starts until it is run
(`aiohttp.web.run_app` from the CLI, or the aiohttp test server). Middlewares, outermost
first: request id (accepted or generated, bound to every log line, echoed as `X-Request-Id`,
one `http.request` access line), metrics, errors (every error a JSON body, never a
traceback, never a secret; a client that hung up mid-request is logged as
`server.client_disconnected` and counted as 499, not as a server error), bearer auth.
Routers: health (`/healthz`, `/readyz`), metrics (`/metrics`), gate (`POST /v1/gate`), gates
(`/v1/gates`: durable gates, gate.server.gates), the GitHub App's webhook
(`/v1/github/webhook`, gate.server.webhook), the history pages (`/ui/...`, with their own
login, HTML errors and security headers: gate/server/ui; they read the durable gates' `store`,
when there is one).

Lifecycle: on startup the ONE shared `aiohttp.ClientSession` (its connector bounds upstream
connections across all requests), the results cache and the `WorkPool` (the threads that run
requests' CPU work, so the event loop never does) are created; on shutdown readiness
flips to draining and in-flight gates get up to `grace` seconds to finish (then their
deadlines are cut short); on cleanup the shared fetches are cancelled, the session closed and
the work pool shut down. Durable gates (gate.server.durable): at startup the database is opened
and migrated and the worker started (or one log line says why not, and `/v1/gates` answers 503);
at shutdown the worker stops claiming, its steps in flight get the same grace, and its leases
are released.
With `drain_on_signal`, SIGTERM first drains while still listening (so `/readyz` answers
503 and load balancers move away), then stops the server the way aiohttp stops on a signal.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

import aiohttp
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gate.api.errors import ApiError
from gate.server.auth import bearer_auth
from gate.server.cache import ResultsCache, SingleFlight
from gate.server.durable import DURABLE, close_durable, start_durable, stop_durable
from gate.server.gate import routes as gate_routes
from gate.server.gates import setup_gates
from gate.server.metrics import CLIENT_CLOSED_REQUEST, METRICS, ServerMetrics, metrics_middleware
from gate.server.metrics import routes as metrics_routes
from gate.server.request import (
    ClientDisconnected,
    error_document,
    redact_request_secrets,
    request_secrets,
    reset_request_secrets,
    restore_request_secrets,
)
from gate.server.settings import ServerSettings
from gate.server.state import RUNS, SETTINGS, STORE, UPSTREAM, WORK, GateRuns, Upstream
from gate.server.ui import setup_ui, ui_middleware
from gate.server.webhook import routes as webhook_routes
from gate.server.work import WorkPool

if TYPE_CHECKING:
    from gate.store import Store

__all__ = [
    "REQUEST_ID_HEADER",
    "configure_server_logging",
    "create_app",
    "request_id_of",
]

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_REQUEST_ID_KEY = web.RequestKey("eval_gate.request_id", str)
_DRAIN_KEY = web.AppKey("eval_gate.drain_deadline", list[float])

_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}

SessionFactory = Callable[[ServerSettings], aiohttp.ClientSession]


def request_id_of(request: web.Request) -> str:
    return request.get(_REQUEST_ID_KEY) or ""


# --------------------------------------------------------------------------- logging


def configure_server_logging(
    stream: TextIO, *, fmt: str = "json", level: str = "info", secrets: Sequence[str] = ()
) -> None:
    """The CLI's logging, plus the request context (request id) and per-request redaction."""
    from gate.logs import configure_logging  # noqa: PLC0415 - the server's entry point only

    configure_logging(stream, fmt=fmt, secrets=secrets, level=level)
    processors = list(structlog.get_config()["processors"])
    renderer = processors.pop()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *processors,
            redact_request_secrets,
            renderer,
        ]
    )


# --------------------------------------------------------------------------- middlewares


def _request_id_middleware(clock: Callable[[], float]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request[_REQUEST_ID_KEY] = request_id
        secrets_token = reset_request_secrets()
        started = clock()
        status = 500
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                try:
                    response = await handler(request)
                    status = response.status
                except asyncio.CancelledError:
                    status = CLIENT_CLOSED_REQUEST  # aiohttp cancels a handler whose client left
                    raise
                finally:
                    structlog.get_logger("gate.server").info(
                        "http.request",
                        method=request.method,
                        path=request.path,
                        status=status,
                        ms=round((clock() - started) * 1000, 1),
                    )
        finally:
            restore_request_secrets(secrets_token)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    return middleware


def _error_response(request: web.Request, error: ApiError) -> web.Response:
    secrets = request_secrets() + request.app[SETTINGS].secrets
    document = error_document(error, request_id_of(request), secrets)
    return web.Response(
        status=error.status,
        text=json.dumps(document),
        content_type="application/json",
        headers=error.headers,
    )


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> ApiError:
    status = exc.status
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    if status == 404:
        message = f"no route {request.path}: see schema/openapi.yaml for the API"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.path}"
    elif status == 413:
        limit = request.app[SETTINGS].max_body
        message = f"the request body is larger than {limit:,} bytes, this server's limit"
    else:
        message = exc.reason
    return ApiError(status, _ERROR_CODES.get(status, f"http_{status}"), message, headers=headers)


def _log_disconnect(request: web.Request, content_length: int | None) -> None:
    structlog.get_logger("gate.server").info(
        "server.client_disconnected",
        method=request.method,
        path=request.path,
        content_length=content_length,
    )


@web.middleware
async def _errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return _error_response(request, error)
    except ClientDisconnected as gone:
        # Not a server error: nobody is left to answer. Counted (metrics, access log) as 499.
        _log_disconnect(request, gone.received)
        return web.Response(status=CLIENT_CLOSED_REQUEST)
    except asyncio.CancelledError:
        # With handler_cancellation (aiohttp's test server), a client that hangs up cancels
        # its handler instead of failing its read: the same event, and never swallowed.
        _log_disconnect(request, request.content_length)
        raise
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_response(request, _from_http_exception(request, exc))
    except Exception as exc:  # noqa: BLE001 - a bug answers one JSON line, never a traceback
        structlog.get_logger("gate.server").error(
            "server.internal_error", error=type(exc).__name__, exc_info=exc
        )
        return _error_response(
            request,
            ApiError(
                500,
                "internal",
                "internal error; this is a bug in eval-gate, please report it with the "
                f"request id {request_id_of(request)}",
            ),
        )


# --------------------------------------------------------------------------- health


health_routes = web.RouteTableDef()


@health_routes.get("/healthz")
async def get_healthz(request: web.Request) -> web.Response:
    """The process is alive and its event loop answers."""
    del request
    return web.json_response({"status": "ok"})


@health_routes.get("/readyz")
async def get_readyz(request: web.Request) -> web.Response:
    """Ready to take gates: started and not draining (503 while shutting down)."""
    runs = request.app[RUNS]
    if runs.draining or UPSTREAM not in request.app:
        raise ApiError(503, "draining", "the server is shutting down and takes no new gates")
    return web.json_response({"status": "ready", "gates_in_flight": runs.count})


# --------------------------------------------------------------------------- lifecycle


def _default_session(settings: ServerSettings) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.upstream_concurrency),
    )


def _drain_deadline(app: web.Application) -> float:
    """When in-flight gates must be done: `grace` after draining began (begun now if not yet)."""
    marks = app[_DRAIN_KEY]
    if not marks:
        marks.append(asyncio.get_running_loop().time() + app[SETTINGS].grace)
    return marks[0]


def _start_draining(app: web.Application) -> float:
    runs = app[RUNS]
    deadline = _drain_deadline(app)
    if not runs.draining:
        runs.draining = True
        structlog.get_logger("gate.server").info(
            "server.draining", gates_in_flight=runs.count, grace=app[SETTINGS].grace
        )
    return deadline


async def _finish_in_flight(app: web.Application) -> None:
    runs = app[RUNS]
    deadline = _start_draining(app)
    left = deadline - asyncio.get_running_loop().time()
    # The durable worker stops claiming now; its steps in flight share the same grace.
    stopping = asyncio.ensure_future(stop_durable(app[DURABLE], left))
    idle = await runs.wait_idle(left)
    await stopping
    if not idle:
        cut = runs.cut_short()
        structlog.get_logger("gate.server").warning(
            "server.grace_expired", gates_cut_short=cut, grace=app[SETTINGS].grace
        )
        await runs.wait_idle(1.0)  # let them answer 503 before the connections close


def _raise_graceful_exit() -> None:
    raise web.GracefulExit  # how aiohttp's own signal handler ends run_app


def _install_sigterm_drain(app: web.Application) -> None:
    loop = asyncio.get_running_loop()
    draining: list[asyncio.Task[None]] = []

    async def drain_then_exit() -> None:
        await _finish_in_flight(app)
        loop.call_soon(_raise_graceful_exit)

    def on_sigterm() -> None:
        if not draining:  # a second SIGTERM changes nothing; SIGINT still stops at once
            draining.append(loop.create_task(drain_then_exit()))

    # Replaces run_app's handler (installed before startup), which stops listening at once.
    loop.add_signal_handler(signal.SIGTERM, on_sigterm)


def create_app(
    settings: ServerSettings,
    *,
    session_factory: SessionFactory | None = None,
    clock: Callable[[], float] | None = None,
    drain_on_signal: bool = False,
    store: Store | None = None,
) -> web.Application:
    """The service as an aiohttp application (see the module docstring)."""
    timer = clock or time.perf_counter
    metrics = ServerMetrics()
    middlewares: list[Middleware] = [
        _request_id_middleware(timer),
        metrics_middleware(metrics),
        _errors_middleware,
    ]
    if settings.auth_enabled:
        middlewares.append(bearer_auth(settings.tokens))
    middlewares.append(ui_middleware)
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body)
    runs = GateRuns(settings.max_concurrent_gates)
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[RUNS] = runs
    app[_DRAIN_KEY] = []
    metrics.gates_in_flight.set_function(lambda: runs.count)
    for table in (health_routes, metrics_routes, gate_routes, webhook_routes):
        app.add_routes(table)
    setup_gates(app, settings)
    if store is not None:
        app[STORE] = store
    setup_ui(app, settings)

    async def on_startup(app: web.Application) -> None:
        session = (session_factory or _default_session)(settings)
        cache = ResultsCache(settings.cache_bytes)
        # A quarter of the cache's budget again for whole answers (a few KiB each).
        answers = ResultsCache(settings.cache_bytes // 4)
        app[UPSTREAM] = Upstream(session, cache, SingleFlight(), timer, answers)
        app[WORK] = WorkPool(settings.work_threads)
        metrics.cache_bytes.set_function(lambda: cache.bytes)
        durable = app[DURABLE] = await start_durable(settings, app[UPSTREAM], app[WORK], metrics)
        if durable.store is not None and STORE not in app:
            app[STORE] = durable.store  # the history pages read the gates the worker keeps
        if drain_on_signal:
            _install_sigterm_drain(app)
        structlog.get_logger("gate.server").info(
            "server.started",
            auth="bearer" if settings.auth_enabled else "DISABLED",
            max_concurrent_gates=settings.max_concurrent_gates,
            upstream_concurrency=settings.upstream_concurrency,
            request_deadline=settings.request_deadline,
            cache_bytes=settings.cache_bytes,
            max_checks=settings.max_checks,
            work_threads=settings.work_threads,
        )

    async def on_shutdown(app: web.Application) -> None:
        await _finish_in_flight(app)

    async def on_cleanup(app: web.Application) -> None:
        await stop_durable(app[DURABLE], 0.0)  # already stopped, unless startup failed half-way
        await close_durable(app[DURABLE])
        upstream = app.get(UPSTREAM)
        if upstream is not None:
            await upstream.flights.close()
            await upstream.session.close()
        work = app.get(WORK)
        if work is not None:
            work.close()
        structlog.get_logger("gate.server").info("server.stopped")

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app
