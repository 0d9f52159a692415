"""The history pages' routes: wiring only (the views, the chart, the report's HTML and the
sessions are built elsewhere in this package).

    GET  /ui/                 the gates, newest first, filtered, paged by the store's cursor
    GET  /ui/gates/{id}       a gate: its facts, the trend chart, its report
    GET  /ui/login            the login form;  POST /ui/login  (form field `token`)
    POST /ui/logout           ends the session
    GET  /ui/static/ui.css    the stylesheet

`ui_middleware` owns everything under `/ui`: an anonymous request for any page but the login
and the stylesheet is answered 303 to the login (nothing of the page is served); an error is an
HTML page, never the API's JSON; and every response carries the pages' security headers (a
strict Content-Security-Policy: no script at all, styles from this server only).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from gate.server.auth import is_ui_path
from gate.server.settings import ServerSettings
from gate.server.state import STORE, WORK
from gate.server.ui.chart import CHART_GATES, chart_view
from gate.server.ui.pages import markup, render, stylesheet
from gate.server.ui.report_html import report_html
from gate.server.ui.session import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    LoginThrottle,
    Session,
    Sessions,
)
from gate.server.ui.views import gate_view, list_view, parse_filters, safe_next
from gate.server.work import StopFlag
from gate.store.errors import BadCursor, StoreUnavailable
from gate.store.ids import GATE_ID
from gate.store.values import GateQuery

if TYPE_CHECKING:
    from gate.store import Store

__all__ = ["PAGE_SIZE", "SECURITY_HEADERS", "UI", "UiState", "routes", "setup_ui", "ui_middleware"]

PAGE_SIZE = 50
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PUBLIC_PATHS = frozenset({"/ui/login", "/ui/static/ui.css"})
_SESSION_KEY = web.RequestKey("eval_gate.ui_session", Session)
_LOG = "gate.server.ui"


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class UiState:
    """What the pages of one app share: the settings, the sessions (None without auth), the
    login throttle and the clocks (wall time for "waiting 3 h"; monotonic for the throttle)."""

    settings: ServerSettings
    sessions: Sessions | None
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    now_ms: Callable[[], int] = _wall_clock_ms
    monotonic: Callable[[], float] = time.monotonic


UI = web.AppKey("eval_gate.ui", UiState)


def setup_ui(app: web.Application, settings: ServerSettings) -> None:
    """Add the pages to `app` (its middlewares must include `ui_middleware`)."""
    sessions = Sessions(settings.tokens, settings.ui_secret) if settings.auth_enabled else None
    app[UI] = UiState(settings, sessions)
    app.add_routes(routes)


# --- helpers ----------------------------------------------------------------------------------


def _html(text: str, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=headers)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _logout_csrf(request: web.Request) -> str | None:
    sessions = request.app[UI].sessions
    session = request.get(_SESSION_KEY)
    if sessions is None or session is None:
        return None
    return sessions.form_token("logout", session.sid)


def _page(request: web.Request, template: str, **context: Any) -> str:
    return render(template, logout_csrf=_logout_csrf(request), **context)


def _error_page(request: web.Request, status: int, heading: str, message: str) -> web.Response:
    body = _page(request, "error.html.j2", title=heading, heading=heading, message=message)
    return _html(body, status=status)


def _is_https(request: web.Request, *, trust_proxy: bool) -> bool:
    if request.secure:
        return True
    if not trust_proxy:
        return False
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"


def client_address(request: web.Request, *, trust_proxy: bool) -> str:
    """Whom a failed login is counted against: the peer, or (behind a trusted proxy) the
    address the proxy appended last to X-Forwarded-For."""
    if trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last and len(last) <= 64:
            return last
    return request.remote or "unknown"


def _set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/ui",
        httponly=True,
        samesite="Strict",
        secure=_is_https(request, trust_proxy=request.app[UI].settings.ui_trust_proxy),
    )


def _clear_cookie(request: web.Request, response: web.StreamResponse, name: str) -> None:
    response.del_cookie(
        name,
        path="/ui",
        httponly=True,
        samesite="Strict",
        secure=_is_https(request, trust_proxy=request.app[UI].settings.ui_trust_proxy),
    )


class _NoStore(Exception):
    """This service has no database, so no history to show."""


def _store(request: web.Request) -> Store:
    store = request.app.get(STORE)
    if store is None:
        raise _NoStore
    return store


# --- the middleware ---------------------------------------------------------------------------


def _to_login(request: web.Request) -> web.Response:
    target = request.path_qs if request.method == "GET" else "/ui/"
    target = safe_next(target)
    return _see_other(
        "/ui/login" if target == "/ui/" else f"/ui/login?next={quote(target, safe='')}"
    )


@web.middleware
async def ui_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authentication, HTML errors and security headers for everything under /ui."""
    if not is_ui_path(request.path):
        return await handler(request)
    ui = request.app[UI]
    response: web.StreamResponse
    try:
        session = None
        if ui.sessions is not None and request.path not in PUBLIC_PATHS:
            session = ui.sessions.session(request.cookies.get(SESSION_COOKIE))
        if ui.sessions is not None and request.path not in PUBLIC_PATHS and session is None:
            response = _to_login(request)
        else:
            if session is not None:
                request[_SESSION_KEY] = session
            response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _http_error(request, exc)
    except _NoStore:
        response = _error_page(
            request,
            503,
            "No history here",
            "This service keeps no durable gates: set EVAL_GATE_DATABASE_URL to see them here.",
        )
    except StoreUnavailable as error:
        response = _error_page(request, 503, "The history is unavailable", error.reason)
    except Exception as exc:  # noqa: BLE001 - a bug is a plain page, never a traceback
        structlog.get_logger(_LOG).error(
            "ui.internal_error", error=type(exc).__name__, exc_info=exc
        )
        response = _error_page(
            request, 500, "Something went wrong", "This is a bug in eval-gate; please report it."
        )
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    if exc.status == 404:
        response = _error_page(request, 404, "Not found", f"There is no page {request.path}.")
    elif exc.status == 405:
        response = _error_page(
            request, 405, "Not allowed", f"{request.method} is not how this page is used."
        )
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
    else:
        response = _error_page(request, exc.status, exc.reason, exc.reason)
    return response


# --- the pages --------------------------------------------------------------------------------

routes = web.RouteTableDef()


@routes.get("/ui")
async def get_ui(request: web.Request) -> web.Response:
    del request
    return _see_other("/ui/")


@routes.get("/ui/")
async def get_list(request: web.Request) -> web.Response:
    """The gates, newest first: one indexed query a page (the store's keyset cursor)."""
    ui = request.app[UI]
    filters = parse_filters(request.query)
    rows: tuple[Any, ...] = ()
    next_cursor = None
    if not filters.problems:
        query = GateQuery(
            repository=filters.repository or None,
            pull_number=filters.pull_number,
            status=filters.status or None,
            verdict=filters.verdict or None,
            limit=PAGE_SIZE,
            cursor=filters.cursor,
        )
        try:
            async with _store(request).read() as tx:
                page = await tx.list_gates(query)
            rows, next_cursor = tuple(page.rows), page.next_cursor
        except BadCursor:
            problem = "page: this page link is not valid; start again from the newest"
            filters = replace(filters, cursor=None, problems=(problem,))
    view = list_view(
        rows,
        filters,
        next_cursor,
        now_ms=ui.now_ms(),
        github_web_url=ui.settings.github_web_url,
    )
    body = _page(request, "list.html.j2", title="Gates", view=view)
    return _html(body, status=400 if filters.problems else 200)


@routes.get("/ui/gates/{id}")
async def get_gate(request: web.Request) -> web.Response:
    """A gate's page: its facts, the trend of its repository's headline metric, its report."""
    from gate.store.paging import encode_cursor  # noqa: PLC0415 - the store's cursor

    ui = request.app[UI]
    gate_id = request.match_info["id"]
    if not GATE_ID.fullmatch(gate_id):
        return _error_page(request, 404, "No such gate", "That is not a gate id.")
    async with _store(request).read() as tx:
        gate = await tx.gate(gate_id)
        if gate is None:
            return _error_page(request, 404, "No such gate", "There is no gate with that id.")
        before: tuple[Any, ...] = ()
        if gate.repository is not None:
            earlier = GateQuery(
                repository=gate.repository,
                limit=CHART_GATES - 1,
                cursor=encode_cursor(gate.created_at, gate.id),
            )
            before = tuple((await tx.list_gates(earlier)).rows)
    view = gate_view(gate, now_ms=ui.now_ms(), github_web_url=ui.settings.github_web_url)
    chart = chart_view(before, gate)
    html, cut = None, False
    if gate.report:
        work = request.app.get(WORK)
        if work is not None:
            html, cut = await work.run(StopFlag(), "ui.report", report_html, gate.report)
        else:
            html, cut = report_html(gate.report)
    body = _page(
        request,
        "gate.html.j2",
        title=f"{gate.repository or 'gate'} {gate.id}",
        gate=view,
        chart=chart,
        report_html=markup(html) if html is not None else None,
        report_cut=cut,
    )
    return _html(body)


@routes.get("/ui/static/ui.css")
async def get_stylesheet(request: web.Request) -> web.Response:
    del request
    return web.Response(
        body=stylesheet(),
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# --- login and logout -------------------------------------------------------------------------


def _login_form(
    request: web.Request, *, next_page: str, message: str | None = None, status: int = 200
) -> web.Response:
    """The login form, with a fresh CSRF token bound to a fresh nonce cookie."""
    sessions = request.app[UI].sessions
    assert sessions is not None
    nonce = secrets.token_urlsafe(16)
    body = render(
        "login.html.j2",
        title="Log in",
        logout_csrf=None,
        csrf=sessions.form_token("login", nonce),
        next=next_page,
        message=message,
    )
    response = _html(body, status=status)
    _set_cookie(request, response, LOGIN_COOKIE, nonce, 3600)
    return response


@routes.get("/ui/login")
async def get_login(request: web.Request) -> web.Response:
    sessions = request.app[UI].sessions
    next_page = safe_next(request.query.get("next"))
    if sessions is None or sessions.session(request.cookies.get(SESSION_COOKIE)) is not None:
        return _see_other(next_page)
    return _login_form(request, next_page=next_page)


@routes.post("/ui/login")
async def post_login(request: web.Request) -> web.Response:
    ui = request.app[UI]
    sessions = ui.sessions
    if sessions is None:
        return _see_other("/ui/")
    form = await request.post()
    next_page = safe_next(_field(form, "next"))
    client = client_address(request, trust_proxy=ui.settings.ui_trust_proxy)
    log = structlog.get_logger(_LOG)
    wait = ui.throttle.retry_after(client, ui.monotonic())
    if wait is not None:
        log.warning("ui.login_throttled", client=client)
        minutes = max(1, round(wait / 60))
        response = _login_form(
            request,
            next_page=next_page,
            message=f"Too many failed logins from your address: try again in {minutes} min.",
            status=429,
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    if not sessions.form_ok(_field(form, "csrf"), "login", request.cookies.get(LOGIN_COOKIE)):
        return _login_form(
            request,
            next_page=next_page,
            message="This login form has expired or was not sent from this site; try again.",
            status=400,
        )
    cookie = sessions.login(_field(form, "token").strip())
    if cookie is None:
        ui.throttle.failed(client, ui.monotonic())
        log.info("ui.login_failed", client=client)
        return _login_form(
            request,
            next_page=next_page,
            message="This token is not one this service accepts.",
            status=401,
        )
    ui.throttle.succeeded(client)
    log.info("ui.login", client=client)
    response = _see_other(next_page)
    _set_cookie(request, response, SESSION_COOKIE, cookie, sessions.max_age)
    _clear_cookie(request, response, LOGIN_COOKIE)
    return response


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@routes.post("/ui/logout")
async def post_logout(request: web.Request) -> web.Response:
    sessions = request.app[UI].sessions
    session = request.get(_SESSION_KEY)
    if sessions is None or session is None:
        return _see_other("/ui/")
    form = await request.post()
    if not sessions.form_ok(_field(form, "csrf"), "logout", session.sid):
        return _error_page(
            request, 400, "Not logged out", "This form has expired; reload the page and try again."
        )
    structlog.get_logger(_LOG).info("ui.logout")
    response = _see_other("/ui/login")
    _clear_cookie(request, response, SESSION_COOKIE)
    return response
