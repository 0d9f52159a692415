"""`POST /v1/gate`: the handler that runs a gate as an HTTP call, on the engine the CLI uses.

It takes the request (a JSON body, else 415; within the size limit, else 413; the Roboflow
key from the header or the server), answers a repeated request about done evaluations from
the remembered answers, and runs the gate within the request deadline: the body parsed and
the verdict decided on the `WorkPool`'s threads (`gate.server.answer`), the evaluations
gathered on the event loop through the process-wide cache and single-flight
(`gate.server.cache`), the comment and status posted when asked (`gate.server.publish`).
What the request expands into is bounded before the work is done (`gate.server.bounds`).
The answer is the `--json` document plus the Markdown report and the exit code the CLI would
give, whatever the verdict; an error is one `ApiError` line (`gate.server.request`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Final

import aiohttp
import structlog
from aiohttp import web

from gate.core.errors import ResultsUnavailable, UsageError
from gate.core.model import AUTO, CHAMPION, EvalBy
from gate.core.redact import redact
from gate.engine import GateInputs, gather_inputs
from gate.fetch import FetchOptions
from gate.roboflow.client import RoboflowClient
from gate.server.answer import Answer, decide_answer, parse_request
from gate.server.body import (
    MAX_EVALS,
    REQUEST_FIELDS,
    WORDS,
    GateCall,
    GitHubPart,
    parse_call,
)
from gate.server.cache import SharedResults, tenant_of
from gate.server.metrics import METRICS, TimedSource
from gate.server.publish import post_result
from gate.server.request import (
    ApiError,
    ClientDisconnected,
    add_request_secrets,
    request_secrets,
)
from gate.server.request_schema import shown
from gate.server.settings import ServerSettings
from gate.server.state import RUNS, SETTINGS, UPSTREAM, WORK, GateRuns, Upstream
from gate.server.work import StopFlag, WorkStopped

__all__ = [
    "API_KEY_HEADER",
    "MAX_API_KEY",
    "MAX_EVALS",
    "REQUEST_FIELDS",
    "RUNS",
    "SETTINGS",
    "UPSTREAM",
    "WORK",
    "GateCall",
    "GateRuns",
    "GitHubPart",
    "Upstream",
    "parse_call",
    "routes",
]

API_KEY_HEADER: Final = "X-Roboflow-Api-Key"
MAX_API_KEY: Final = 512
FETCH_CONCURRENCY: Final = 8  # per request; the shared connector bounds all requests together
JSON_MEDIA_TYPE: Final = "application/json"


# --------------------------------------------------------------------------- the handler


def _require_json(request: web.Request) -> None:
    """415 unless the body is declared `application/json` (UTF-8, the only charset JSON has)."""
    charset = (request.charset or "utf-8").lower()
    if request.content_type == JSON_MEDIA_TYPE and charset in ("utf-8", "utf8"):
        return
    sent = request.headers.get("Content-Type")
    got = f"Content-Type {shown(sent)}" if sent else "no Content-Type"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"POST /v1/gate takes a JSON body: send the header Content-Type: {JSON_MEDIA_TYPE} "
        f"(charset utf-8, if any), got {got}",
    )


async def _read_body(request: web.Request, max_body: int) -> bytes:
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


def _answer_key(api_key: str, raw: bytes) -> tuple[str, str, str]:
    """Whole answers are remembered by (key, body): the same request about finished
    evaluations always gets the same answer, so a repeat costs a lookup, not a gate."""
    return ("answer", tenant_of(api_key), hashlib.sha256(raw).hexdigest())


def _memoizable(call: GateCall) -> bool:
    """Answers that depend on nothing but the body and the (immutable) results of done evals:
    not those that post to GitHub (a side effect to repeat) nor `baseline: auto` (a newer
    evaluation may become the baseline), nor evals named by model or version (a newer
    evaluation may appear)."""
    autos = [call.baseline] + [spec.baseline for spec in (*call.config.evals, *call.targets)]
    by_id = all(spec.by is EvalBy.ID for spec in call.targets)
    chosen = AUTO in autos or CHAMPION in autos
    return call.github is None and not chosen and by_id


def _api_key(request: web.Request, settings: ServerSettings) -> str:
    sent = request.headers.getall(API_KEY_HEADER, [])
    if len(sent) > 1:
        add_request_secrets(*sent)
        raise ApiError(
            400,
            "invalid_api_key",
            f"the {API_KEY_HEADER} header is sent {len(sent)} times; send it once",
        )
    if sent:
        key = sent[0].strip()
        add_request_secrets(key)
        if not key:
            raise ApiError(
                400,
                "missing_api_key",
                f"the {API_KEY_HEADER} header is empty: send the Roboflow API key in it"
                + (", or leave it out to use this server's" if settings.roboflow_api_key else ""),
            )
        if len(key) > MAX_API_KEY or not (key.isascii() and key.isprintable()) or " " in key:
            # Never describe the value: it is meant to be a secret.
            raise ApiError(
                400,
                "invalid_api_key",
                f"the {API_KEY_HEADER} header must be the Roboflow API key exactly: 1 to "
                f"{MAX_API_KEY} printable ASCII characters without spaces; paste the key as "
                "Roboflow shows it",
            )
        return key
    if settings.roboflow_api_key:
        return settings.roboflow_api_key
    raise ApiError(
        400,
        "missing_api_key",
        f"no Roboflow API key: send it in the {API_KEY_HEADER} header "
        "(this server has no ROBOFLOW_API_KEY of its own)",
    )


def _workspace(call: GateCall, settings: ServerSettings) -> str:
    workspace = call.workspace or call.config.workspace or settings.workspace
    if not workspace:
        raise ApiError(
            400,
            "invalid_request",
            "no workspace: add workspace to the request body or workspace: to the config",
        )
    return workspace


async def _fetch(
    request: web.Request, call: GateCall, api_key: str, workspace: str, deadline: float | None
) -> GateInputs:
    """Everything the gate needs, as `run_gate` fetches it (on the event loop: this is
    waiting, not computing), by `deadline` (the request's, loop time): the engine's
    gathering half (`gather_inputs`); its deciding half runs on the WorkPool."""
    app = request.app
    settings, upstream, metrics = app[SETTINGS], app[UPSTREAM], app[METRICS]
    loop = asyncio.get_running_loop()
    client = RoboflowClient(
        upstream.session,
        api_key=api_key,
        workspace=workspace,
        api_url=settings.api_url,
        timeout=settings.upstream_timeout,
        deadline=loop.time() + settings.request_deadline,
    )
    source = SharedResults(
        TimedSource(client, metrics.upstream_seconds, upstream.clock),
        upstream.cache,
        upstream.flights,
        tenant=tenant_of(api_key),
        api_url=settings.api_url,
        workspace=workspace,
        on_hit=metrics.cache_hits.inc,
        on_miss=metrics.cache_misses.inc,
    )
    options = FetchOptions(
        concurrency=FETCH_CONCURRENCY,
        wait=call.wait,
        poll_interval=settings.poll_interval,
        deadline=deadline,
    )
    return await gather_inputs(call.gate_request(workspace), source, options, clock=loop.time)


def _deadline_error(settings: ServerSettings, runs: GateRuns, doing: str) -> ApiError:
    if runs.draining:
        return ApiError(
            503,
            "shutting_down",
            "the server is shutting down and its grace period ended before this gate finished; "
            "send the request again",
            headers={"Retry-After": "1"},
        )
    return ApiError(
        422,
        "results_unavailable",
        f"the request deadline of {settings.request_deadline:g} s was reached while {doing}; "
        "ask again later, with a smaller wait, or with fewer evaluations or rules",
        extra={"eval_id": None},
    )


async def _gated(request: web.Request, raw: bytes, api_key: str) -> tuple[GateCall, Answer]:
    """Parse, fetch and evaluate within the request deadline; ApiError when there is no
    verdict. CPU work runs on the WorkPool, and stops when the deadline passes."""
    settings, runs, metrics = request.app[SETTINGS], request.app[RUNS], request.app[METRICS]
    work = request.app[WORK]
    flag = StopFlag(time.monotonic() + settings.request_deadline)
    doing = "reading the request"
    try:
        async with asyncio.timeout(settings.request_deadline) as scope:
            with runs.tracked(scope):
                parsed = await work.run(flag, "parse", parse_request, raw, settings, flag)
                add_request_secrets(*parsed.secrets)
                if parsed.error is not None:
                    raise parsed.error
                assert parsed.call is not None
                call = parsed.call
                workspace = _workspace(call, settings)
                doing = "fetching results"
                gathered = await _fetch(request, call, api_key, workspace, scope.when())
                doing = "evaluating"
                secrets = request_secrets() + settings.secrets
                evaluated = await work.run(
                    flag, "evaluate", decide_answer, call, gathered, settings, secrets, flag
                )
    except (TimeoutError, WorkStopped):
        metrics.verdicts.labels(verdict="error").inc()
        raise _deadline_error(settings, runs, doing) from None
    except ResultsUnavailable as error:
        metrics.verdicts.labels(verdict="error").inc()
        reason = str(error.worded(WORDS))
        structlog.get_logger("gate.server.gate").info(
            "gate.unavailable", reason=reason, eval_id=error.eval_id
        )
        raise ApiError(
            422, "results_unavailable", reason, extra={"eval_id": error.eval_id}
        ) from None
    except UsageError as error:
        raise ApiError(400, "invalid_request", str(error.worded(WORDS))) from None
    return call, evaluated


async def _gate(request: web.Request, raw: bytes, api_key: str) -> web.Response:
    settings, metrics = request.app[SETTINGS], request.app[METRICS]
    loop = asyncio.get_running_loop()
    started = loop.time()
    call, evaluated = await _gated(request, raw, api_key)
    metrics.verdicts.labels(verdict=evaluated.verdict).inc()
    structlog.get_logger("gate.server.gate").info(
        "gate.verdict",
        verdict=evaluated.verdict,
        checks=evaluated.checks,
        exit_code=evaluated.exit_code,
        seconds=round(loop.time() - started, 3),
    )
    body = evaluated.body
    if call.github is not None:
        left = settings.request_deadline - (loop.time() - started)
        url = await post_result(request, call, call.github, evaluated.outcome, left)
        said = redact(json.dumps(url), request_secrets() + settings.secrets)
        body = body[:-1] + f', "comment_url": {said}}}'.encode("ascii")  # the last key
    # Not an answer whose trend left a rival out: it may only have been late (the trend's
    # budget), and a remembered answer would keep the gap.
    complete = all(ev.trend is None or not ev.trend.left_out for ev in evaluated.outcome.evals)
    if _memoizable(call) and complete:
        answer = _Answer(body, evaluated.verdict, evaluated.exit_code)
        request.app[UPSTREAM].answers.put(_answer_key(api_key, raw), answer, len(body))
    return web.Response(body=body, content_type=JSON_MEDIA_TYPE)


@dataclass(frozen=True, slots=True)
class _Answer:
    body: bytes
    verdict: str
    exit_code: int


def _remembered(request: web.Request, raw: bytes, api_key: str) -> web.Response | None:
    answer = request.app[UPSTREAM].answers.get(_answer_key(api_key, raw))
    if not isinstance(answer, _Answer):
        return None
    request.app[METRICS].verdicts.labels(verdict=answer.verdict).inc()
    structlog.get_logger("gate.server.gate").info(
        "gate.verdict", verdict=answer.verdict, exit_code=answer.exit_code, remembered=True
    )
    return web.Response(body=answer.body, content_type=JSON_MEDIA_TYPE)


routes = web.RouteTableDef()


@routes.post("/v1/gate")
async def post_gate(request: web.Request) -> web.Response:
    """Gate evaluations against a config; 429 at once when the server runs its most gates."""
    runs = request.app[RUNS]
    if runs.draining:
        raise ApiError(
            503,
            "draining",
            "the server is shutting down and takes no new gates; send the request again",
            headers={"Retry-After": "1", "Connection": "close"},
        )
    settings = request.app[SETTINGS]
    _require_json(request)
    raw = await _read_body(request, settings.max_body)
    api_key = _api_key(request, settings)
    remembered = _remembered(request, raw, api_key)
    if remembered is not None:
        return remembered  # no gate runs: it takes no slot
    if not runs.try_enter():
        raise ApiError(
            429,
            "too_many_gates",
            f"this server is running its most gates at once ({runs.limit}); retry shortly",
            headers={"Retry-After": "1"},
        )
    try:
        return await _gate(request, raw, api_key)
    finally:
        runs.leave()
