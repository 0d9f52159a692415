"""`POST /v1/gate`: the gate as an HTTP call, on the same engine as the CLI and the Action.

The body must be `application/json` (else 415) and strict JSON (`gate.core.strict_json`: no
duplicate keys, bounded numbers and nesting, else 400 `invalid_json`). It is validated in
full (the first `MAX_PROBLEMS` problems listed in one 400, the rest counted), the config
with the same validator as the YAML file. What the request expands into is bounded before
the work is done (`gate.server.bounds`): the checks are counted from the config before
anything is fetched, then exactly from the results before anything is evaluated; more than
the server's `max_checks` is a 400 `too_many_checks` (YAML aliases cannot bypass it: the
count is of the validated config, and `load_config` bounds what aliases make it walk).

The evaluations are fetched as `gate.engine.run_gate` fetches them, over the process-wide
results cache and single-flight (`gate.server.cache`) in front of a `RoboflowClient` on the
one shared HTTP session; everything else (parsing, validating, counting, evaluating,
rendering, encoding) runs on the `WorkPool`'s threads, never on the event loop, and stops
when the request deadline passes (`gate.server.work`). The answer is the `--json` document
plus the Markdown report and the exit code the CLI would give, whatever the verdict. With a
`github` part the sticky comment and commit status are posted as the Action does
(`gate.github.publish`); GitHub failures are logged as warnings and never change the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import structlog
from aiohttp import web

from gate.core import strict_json
from gate.core.decision import decide
from gate.core.errors import ConfigError, ResultsUnavailable, UsageError
from gate.core.model import AUTO, CHAMPION, EvalBy
from gate.core.outcome import GateOutcome
from gate.core.redact import redact
from gate.engine import GateInputs, decide_gate, gather_inputs
from gate.fetch import FetchOptions
from gate.github.publish import Gated, Target, report_gate
from gate.report.formats import json_document
from gate.report.markdown import md_url
from gate.report.render import render_report
from gate.roboflow.client import RoboflowClient
from gate.server.body import (
    MAX_EVALS,
    REQUEST_FIELDS,
    WORDS,
    GateCall,
    GitHubPart,
    config_error,
    parse_call,
    too_many_checks,
)
from gate.server.bounds import count_checks, count_resampling, watched
from gate.server.cache import ResultsCache, SharedResults, SingleFlight, tenant_of
from gate.server.metrics import METRICS, TimedSource
from gate.server.request import (
    ApiError,
    ClientDisconnected,
    add_request_secrets,
    request_secrets,
)
from gate.server.request_schema import shown
from gate.server.settings import ServerSettings
from gate.server.work import StopFlag, WorkPool, WorkStopped, encode_document

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
MIN_PUBLISH_SECONDS: Final = 5.0  # posting to GitHub gets at least this, however long the gate took
FETCH_CONCURRENCY: Final = 8  # per request; the shared connector bounds all requests together
JSON_MEDIA_TYPE: Final = "application/json"

_FULL_REPORT_HINT = "Ask again with a larger `max_chars` for the full report."

# --------------------------------------------------------------------------- per-app state


class GateRuns:
    """The gates running now: a bound on their number, draining, and cutting them short.

    Used from the event loop only. `try_enter` never waits: a full server answers 429.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._scopes: set[asyncio.Timeout] = set()

    def try_enter(self) -> bool:
        if self.count >= self.limit:
            return False
        self.count += 1
        self._idle.clear()
        return True

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self._idle.set()

    @contextlib.contextmanager
    def tracked(self, scope: asyncio.Timeout) -> Iterator[None]:
        """While inside, `cut_short` ends `scope` (the request's deadline) at once."""
        self._scopes.add(scope)
        try:
            yield
        finally:
            self._scopes.discard(scope)

    async def wait_idle(self, within: float) -> bool:
        """Whether every gate finished within `within` seconds."""
        try:
            async with asyncio.timeout(max(0.0, within)):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def cut_short(self) -> int:
        """End every running gate's deadline now (the grace period is over); how many."""
        loop = asyncio.get_running_loop()
        for scope in list(self._scopes):
            if not scope.expired():
                scope.reschedule(loop.time())
        return len(self._scopes)


@dataclass(frozen=True, slots=True)
class Upstream:
    """What every request shares: the one HTTP session, the results cache, the single-flight."""

    session: aiohttp.ClientSession
    cache: ResultsCache
    flights: SingleFlight
    clock: Callable[[], float]  # for durations (metrics)
    answers: ResultsCache = field(default_factory=lambda: ResultsCache(0))  # see _answer_key


SETTINGS = web.AppKey("eval_gate.settings", ServerSettings)
RUNS = web.AppKey("eval_gate.runs", GateRuns)
UPSTREAM = web.AppKey("eval_gate.upstream", Upstream)
WORK = web.AppKey("eval_gate.work", WorkPool)


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What the worker thread made of a body: a call or the error to answer, and the secrets
    the body brought (the thread's context is a copy: the handler must add them itself)."""

    call: GateCall | None = None
    error: ApiError | None = None
    secrets: tuple[str, ...] = ()


def _body_secrets(data: Any) -> tuple[str, ...]:
    github = data.get("github") if isinstance(data, dict) else None
    token = github.get("token") if isinstance(github, dict) else None
    return (token,) if isinstance(token, str) and token else ()


def _parse_request(raw: bytes, settings: ServerSettings, flag: StopFlag) -> _Parsed:
    """The body as a GateCall (on a worker thread: parsing and validating are CPU work)."""
    try:
        data = strict_json.loads(raw)
    except strict_json.JSONDocumentError as error:
        message = (
            f"the request body is not valid JSON: {error.reason.removeprefix('not valid JSON: ')}"
        )
        return _Parsed(error=ApiError(400, "invalid_json", message + "; send one JSON object"))
    secrets = _body_secrets(data)
    flag.check()
    try:
        call = parse_call(data, max_wait=settings.request_deadline, max_checks=settings.max_checks)
    except ApiError as error:
        return _Parsed(error=error, secrets=secrets)
    return _Parsed(call=call, secrets=secrets)


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


def _too_much_resampling(count: int, limit: int) -> ApiError:
    return ApiError(
        400,
        "too_much_resampling",
        f"this request's confidence intervals resample {count:,} images in all (paired "
        f"images x 10,000 resamples per interval); this server resamples at most {limit:,} "
        "a request: gate fewer evaluations a request, put confidence on fewer metrics or "
        "splits, or raise EVAL_GATE_MAX_RESAMPLED",
        extra={"resampled": count, "max_resampled": limit},
    )


@dataclass(frozen=True, slots=True)
class _Evaluated:
    outcome: GateOutcome
    verdict: str
    exit_code: int
    checks: int
    body: bytes  # the answer's JSON (ASCII: json.dumps escapes the rest), secrets masked


def _evaluate(
    call: GateCall,
    gathered: GateInputs,
    settings: ServerSettings,
    secrets: tuple[str, ...],
    flag: StopFlag,
) -> _Evaluated:
    """Count, decide, render and encode (on a worker thread), stopping when `flag` says."""
    count = count_checks(gathered.config, gathered.evals)
    max_checks = settings.max_checks
    if count > max_checks:
        raise too_many_checks(count, max_checks, f"{count:,} checks (counted from the results)")
    resampled = count_resampling(gathered.config, gathered.evals)
    if resampled > settings.max_resampled:
        raise _too_much_resampling(resampled, settings.max_resampled)
    flag.check()
    watching = dataclasses.replace(gathered, evals=tuple(watched(gathered.evals, flag)))
    try:
        outcome = decide_gate(watching, tick=flag.check)
    except ConfigError as error:
        raise config_error(error) from None
    flag.check()
    report = render_report(
        outcome, max_chars=call.max_chars, title=call.title, full_report_hint=_FULL_REPORT_HINT
    )
    flag.check()
    decision = decide(outcome.verdict, call.fail_on)
    code = int(decision.exit_code)
    document = json_document(outcome, decision)
    document["report"] = report
    document["exit_code"] = code
    body = redact(encode_document(document, flag), secrets).encode("ascii")
    return _Evaluated(outcome, outcome.verdict.value, code, count, body)


async def _publish(
    request: web.Request,
    call: GateCall,
    github: GitHubPart,
    outcome: GateOutcome,
    flag: StopFlag,
) -> str | None:
    """Post the comment and status; the comment's URL. Never raises: GitHub is best effort."""
    settings, upstream = request.app[SETTINGS], request.app[UPSTREAM]
    log = structlog.get_logger("gate.server.gate")
    title = call.title if call.title != "eval-gate" else f"eval-gate · {github.gate_id}"
    hint = github.target_url and (
        f"The full report is at [the job that ran the gate]({md_url(github.target_url)})."
    )
    target = Target(
        repository=github.repository,
        pr_number=github.pull_number,
        sha=github.sha,
        gate_id=github.gate_id,
        comment=github.comment,
        commit_status=github.commit_status,
        status_context=github.status_context,
        fail_on=call.fail_on,
        target_url=github.target_url,
        lookup_pr_by_sha=github.pull_number is None and github.sha is not None,
    )

    async def on_work_thread(render: Callable[[], str]) -> str:
        return await request.app[WORK].run(flag, "render_comment", render)

    try:
        result = await report_gate(
            upstream.session,
            token=github.token,
            api_url=settings.github_api_url,
            target=target,
            gated=Gated(outcome, None),
            title=title,
            full_report_hint=hint or None,
            secrets=request_secrets() + settings.secrets,
            render=on_work_thread,
        )
    except WorkStopped:
        raise
    except Exception as error:  # noqa: BLE001 - GitHub is best effort: never change the answer
        log.warning("server.github_failed", error=type(error).__name__)
        return None
    return result.url if result is not None else None


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


async def _posted(
    request: web.Request, call: GateCall, github: GitHubPart, outcome: GateOutcome, left: float
) -> str | None:
    """`_publish` within what is left of the deadline (at least a few seconds); never raises."""
    runs = request.app[RUNS]
    within = max(MIN_PUBLISH_SECONDS, left)
    flag = StopFlag(time.monotonic() + within)
    try:
        async with asyncio.timeout(within) as scope:
            with runs.tracked(scope):
                return await _publish(request, call, github, outcome, flag)
    except (TimeoutError, WorkStopped):
        structlog.get_logger("gate.server.gate").warning(
            "server.github_timeout", hint="the request deadline ended while posting to GitHub"
        )
        return None


async def _gated(request: web.Request, raw: bytes, api_key: str) -> tuple[GateCall, _Evaluated]:
    """Parse, fetch and evaluate within the request deadline; ApiError when there is no
    verdict. CPU work runs on the WorkPool, and stops when the deadline passes."""
    settings, runs, metrics = request.app[SETTINGS], request.app[RUNS], request.app[METRICS]
    work = request.app[WORK]
    flag = StopFlag(time.monotonic() + settings.request_deadline)
    doing = "reading the request"
    try:
        async with asyncio.timeout(settings.request_deadline) as scope:
            with runs.tracked(scope):
                parsed = await work.run(flag, "parse", _parse_request, raw, settings, flag)
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
                    flag, "evaluate", _evaluate, call, gathered, settings, secrets, flag
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
        url = await _posted(request, call, call.github, evaluated.outcome, left)
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
