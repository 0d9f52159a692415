"""`POST /v1/gate`: the gate as an HTTP call, on the same engine as the CLI and the Action.

The body is validated in full (every problem listed in one 400), the config with the same
validator as the YAML file. The gate runs `gate.engine.run_gate` over the process-wide
results cache and single-flight (`gate.results_cache`) in front of a `RoboflowClient` on the
one shared HTTP session, within the request deadline. The answer is the `--json` document
plus the Markdown report and the exit code the CLI would give, whatever the verdict. With a
`github` part the sticky comment and commit status are posted as the Action does
(`gate.publish`); GitHub failures are logged as warnings and never change the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import aiohttp
import structlog
from aiohttp import web

from gate.action_settings import COMMENT_MODES, MAX_STATUS_CONTEXT
from gate.checks import GateOutcome
from gate.config import config_from_data, load_config
from gate.engine import GateRequest, exit_code_for, run_gate
from gate.errors import ConfigError, ResultsUnavailable, UsageError
from gate.fetch import FetchOptions
from gate.gate_id import GATE_ID_PATTERN, GATE_ID_RULE
from gate.markdown import md_url
from gate.outputs import json_document
from gate.publish import Gated, Target, publish
from gate.redact import redact
from gate.report import DEFAULT_MAX_CHARS, render_report
from gate.results_cache import ResultsCache, SharedResults, SingleFlight, tenant_of
from gate.roboflow_client import RoboflowClient
from gate.rules import AUTO, GateConfig
from gate.server_metrics import METRICS, TimedSource
from gate.server_request import ApiError, add_request_secrets, request_secrets
from gate.server_settings import ServerSettings
from gate.settings import FAIL_ON

__all__ = [
    "API_KEY_HEADER",
    "REQUEST_FIELDS",
    "RUNS",
    "SETTINGS",
    "UPSTREAM",
    "GateCall",
    "GateRuns",
    "GitHubPart",
    "Upstream",
    "parse_call",
    "routes",
]

API_KEY_HEADER: Final = "X-Roboflow-Api-Key"
REQUEST_FIELDS: Final = (
    "config",
    "evals",
    "baseline",
    "workspace",
    "wait",
    "fail_on",
    "max_chars",
    "title",
    "github",
)
GITHUB_FIELDS: Final = (
    "repository",
    "pull_number",
    "sha",
    "token",
    "gate_id",
    "comment",
    "commit_status",
    "status_context",
    "target_url",
)
MIN_MAX_CHARS: Final = 1000
MAX_MAX_CHARS: Final = 1_000_000
MAX_EVALS: Final = 100
MAX_ID: Final = 200
MAX_TITLE: Final = 200
MIN_PUBLISH_SECONDS: Final = 5.0  # posting to GitHub gets at least this, however long the gate took
FETCH_CONCURRENCY: Final = 8  # per request; the shared connector bounds all requests together
YAML_SOURCE: Final = "<request config>"
DATA_SOURCE: Final = "config"

_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_URL = re.compile(r"https?://[^\s]{1,2000}")
_FULL_REPORT_HINT = "Ask again with a larger `max_chars` for the full report."


_T = TypeVar("_T")
_Reader = Callable[[str, Any], "_T | None"]

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


# --------------------------------------------------------------------------- the request body


@dataclass(frozen=True, slots=True)
class GitHubPart:
    """Where to post the result on GitHub (the request's `github` object), validated."""

    repository: str
    token: str = field(repr=False)
    pull_number: int | None = None
    sha: str | None = None
    gate_id: str = "default"
    comment: str = "update"
    commit_status: bool = False
    status_context: str = ""
    target_url: str | None = None


@dataclass(frozen=True, slots=True)
class GateCall:
    """A validated `POST /v1/gate` body."""

    config: GateConfig
    eval_ids: tuple[str, ...] = ()
    baseline: str | None = None
    workspace: str | None = None
    wait: float = 0.0
    fail_on: str = "error"
    max_chars: int = DEFAULT_MAX_CHARS
    title: str = "eval-gate"
    github: GitHubPart | None = None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


class _Body:
    """Reads the fields of the request body, collecting every problem (and echoing no secret)."""

    def __init__(self) -> None:
        self.problems: list[dict[str, Any]] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append({"field": where, "message": f"{where}: {message}"})

    def known(self, data: dict[str, Any], allowed: tuple[str, ...], prefix: str = "") -> None:
        for key in data:
            if key not in allowed:
                self.add(
                    f"{prefix}{key}",
                    f"unknown field; valid fields are {', '.join(prefix + a for a in allowed)}",
                )

    def read(self, data: dict[str, Any], where: str, reader: _Reader[_T], default: _T) -> _T:
        """`data[key]` read by `reader` (`where` is `prefix.key`); `default` if null or bad."""
        value = data.get(where.rsplit(".", 1)[-1])
        if value is None:
            return default
        found = reader(where, value)
        return default if found is None else found

    def ident(self, where: str, value: Any) -> str | None:
        """An id: a non-empty one-line string without spaces."""
        if not isinstance(value, str):
            self.add(where, f"must be a string, got {_kind(value)}")
            return None
        text = value.strip()
        if not text or len(text) > MAX_ID or any(c.isspace() or not c.isprintable() for c in text):
            self.add(
                where,
                f"must be 1 to {MAX_ID} printable characters without spaces, got {_shown(value)}",
            )
            return None
        return text

    def evals(self, where: str, value: Any) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.add(where, f"must be a list of evaluation ids, got {_kind(value)}")
            return None
        if len(value) > MAX_EVALS:
            self.add(where, f"lists {len(value)} evaluations; at most {MAX_EVALS} a request")
            return None
        found = (self.ident(f"{where}[{i}]", item) for i, item in enumerate(value))
        return tuple(dict.fromkeys(i for i in found if i is not None))

    def seconds(self, where: str, value: Any, high: float) -> float | None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.add(where, f"must be a number of seconds, got {_kind(value)}")
            return None
        if not 0 <= value <= high:
            self.add(
                where,
                f"must be between 0 and {high:g} seconds (the server's request deadline), "
                f"got {value:g}",
            )
            return None
        return float(value)

    def choice(self, allowed: tuple[str, ...]) -> _Reader[str]:
        def reader(where: str, value: Any) -> str | None:
            if not isinstance(value, str) or value not in allowed:
                got = _shown(value) if isinstance(value, str) else _kind(value)
                self.add(where, f"must be one of {', '.join(allowed)}, got {got}")
                return None
            return value

        return reader

    def integer(self, low: int, high: int) -> _Reader[int]:
        def reader(where: str, value: Any) -> int | None:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                self.add(where, f"must be a whole number, got {_kind(value)}")
                return None
            if not low <= value <= high:
                self.add(where, f"must be between {low:,} and {high:,}, got {value:,}")
                return None
            return value

        return reader

    def line(self, limit: int) -> _Reader[str]:
        def reader(where: str, value: Any) -> str | None:
            if not isinstance(value, str):
                self.add(where, f"must be a string, got {_kind(value)}")
                return None
            text = value.strip()
            if not text or len(text) > limit or any(not c.isprintable() for c in text):
                self.add(where, f"must be one line of 1 to {limit} printable characters")
                return None
            return text

        return reader

    def pattern(self, regex: re.Pattern[str], hint: str) -> _Reader[str]:
        def reader(where: str, value: Any) -> str | None:
            if not isinstance(value, str) or not regex.fullmatch(value):
                self.add(where, hint)
                return None
            return value

        return reader

    def boolean(self, where: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, got {_kind(value)}")
            return None
        return value


def _config(body: _Body, value: Any) -> tuple[GateConfig | None, ConfigError | None]:
    if isinstance(value, str):
        try:
            return load_config(value, YAML_SOURCE), None
        except ConfigError as error:
            return None, error
    if isinstance(value, dict):
        try:
            return config_from_data(value, DATA_SOURCE), None
        except ConfigError as error:
            return None, error
    body.add("config", f"must be an object or YAML text, got {_kind(value)}")
    return None, None


def _github(body: _Body, value: Any) -> GitHubPart | None:
    if not isinstance(value, dict):
        body.add("github", f"must be an object, got {_kind(value)}")
        return None
    before = len(body.problems)
    body.known(value, GITHUB_FIELDS, "github.")
    if value.get("repository") is None:
        body.add("github.repository", "is required: the repository as owner/name")
    repository = body.read(
        value, "github.repository", body.pattern(_REPOSITORY, "must be owner/name"), ""
    )
    token = value.get("token")
    if not isinstance(token, str) or not token.strip():
        # Never describe the value: it is meant to be a secret.
        body.add("github.token", "is required: a GitHub token that may comment and set statuses")
        token = ""
    pull_number = body.read(value, "github.pull_number", body.integer(1, 2**31 - 1), None)
    sha = body.read(
        value,
        "github.sha",
        body.pattern(_SHA, "must be a full commit SHA (40 hexadecimal characters)"),
        None,
    )
    gate_id = body.read(
        value,
        "github.gate_id",
        body.pattern(
            GATE_ID_PATTERN,
            f"must be {GATE_ID_RULE}",
        ),
        "default",
    )
    comment = body.read(value, "github.comment", body.choice(COMMENT_MODES), "update")
    has_sha = value.get("sha") is not None
    commit_status = body.read(value, "github.commit_status", body.boolean, has_sha)
    if commit_status and not has_sha:
        body.add("github.commit_status", "needs github.sha, the commit to set the status on")
    if comment != "off" and value.get("pull_number") is None and not has_sha:
        body.add(
            "github.pull_number",
            "is required to comment (or give github.sha to find the pull request by its head)",
        )
    status_context = body.read(value, "github.status_context", body.line(MAX_STATUS_CONTEXT), "")
    target_url = body.read(
        value, "github.target_url", body.pattern(_URL, "must be an http(s) URL"), None
    )
    if len(body.problems) != before:
        return None
    return GitHubPart(
        repository=repository,
        token=token.strip(),
        pull_number=pull_number,
        sha=sha.lower() if sha else None,
        gate_id=gate_id,
        comment=comment,
        commit_status=commit_status,
        status_context=status_context,
        target_url=target_url,
    )


def _config_problems(error: ConfigError) -> list[dict[str, Any]]:
    return [
        {"field": "config", "message": p.message, "line": p.line, "column": p.column}
        for p in error.problems
    ]


def _invalid(problems: list[dict[str, Any]]) -> ApiError:
    count = len(problems)
    head = problems[0]["message"] if problems else "invalid request"
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    return ApiError(400, "invalid_request", head + more, extra={"problems": problems})


def parse_call(data: Any, *, max_wait: float) -> GateCall:
    """Validate a decoded request body; ApiError 400 listing every problem otherwise."""
    if not isinstance(data, dict):
        raise ApiError(
            400, "invalid_request", f"the request body must be a JSON object, got {_kind(data)}"
        )
    body = _Body()
    body.known(data, REQUEST_FIELDS)
    if "config" not in data:
        body.add("config", "is required: the gate's config, as an object or as YAML text")
    no_evals: tuple[str, ...] = ()
    eval_ids = body.read(data, "evals", body.evals, no_evals)
    baseline = body.read(data, "baseline", body.ident, None)
    workspace = body.read(data, "workspace", body.ident, None)
    wait = body.read(data, "wait", lambda where, v: body.seconds(where, v, max_wait), 0.0)
    fail_on = body.read(data, "fail_on", body.choice(FAIL_ON), "error")
    max_chars = body.read(
        data, "max_chars", body.integer(MIN_MAX_CHARS, MAX_MAX_CHARS), DEFAULT_MAX_CHARS
    )
    title = body.read(data, "title", body.line(MAX_TITLE), "eval-gate")
    github = _github(body, data["github"]) if data.get("github") is not None else None
    config, config_error = _config(body, data["config"]) if "config" in data else (None, None)
    if config_error is not None and not body.problems:
        raise ApiError(
            400,
            "invalid_config",
            str(config_error),
            extra={"problems": _config_problems(config_error)},
        )
    if config is not None and not eval_ids and not config.evals:
        body.add("evals", "no evaluation to gate: list eval ids in evals, or evals: in the config")
    if body.problems or config is None:
        raise _invalid(
            body.problems + (_config_problems(config_error) if config_error is not None else [])
        )
    return GateCall(
        config=config,
        eval_ids=eval_ids,
        baseline=baseline,
        workspace=workspace,
        wait=wait,
        fail_on=fail_on,
        max_chars=max_chars,
        title=title,
        github=github,
    )


# --------------------------------------------------------------------------- the handler


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


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the request body is not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_json",
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}",
        ) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the request body is nested too deeply") from None


def _answer_key(api_key: str, raw: bytes) -> tuple[str, str, str]:
    """Whole answers are remembered by (key, body): the same request about finished
    evaluations always gets the same answer, so a repeat costs a lookup, not a gate."""
    return ("answer", tenant_of(api_key), hashlib.sha256(raw).hexdigest())


def _memoizable(call: GateCall) -> bool:
    """Answers that depend on nothing but the body and the (immutable) results of done evals:
    not those that post to GitHub (a side effect to repeat) nor `baseline: auto` (a newer
    evaluation may become the baseline)."""
    autos = [call.baseline] + [spec.baseline for spec in call.config.evals]
    return call.github is None and AUTO not in autos


def _api_key(request: web.Request, settings: ServerSettings) -> str:
    if API_KEY_HEADER in request.headers:
        key = request.headers[API_KEY_HEADER].strip()
        if not key:
            raise ApiError(
                400, "missing_api_key", f"the {API_KEY_HEADER} header is empty; send the key"
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


async def _run(request: web.Request, call: GateCall, api_key: str, workspace: str) -> GateOutcome:
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
    gate_request = GateRequest(
        config=call.config,
        eval_ids=call.eval_ids,
        baseline=call.baseline,
        workspace=workspace,
    )
    options = FetchOptions(
        concurrency=FETCH_CONCURRENCY, wait=call.wait, poll_interval=settings.poll_interval
    )
    return await run_gate(gate_request, source, options)


async def _publish(
    request: web.Request, call: GateCall, github: GitHubPart, outcome: GateOutcome
) -> str | None:
    """Post the comment and status; the comment's URL. Never raises: GitHub is best effort."""
    from gate.comment import comment_budget  # noqa: PLC0415 - only requests that publish

    settings, upstream = request.app[SETTINGS], request.app[UPSTREAM]
    log = structlog.get_logger("gate.server_gate")
    title = call.title if call.title != "eval-gate" else f"eval-gate · {github.gate_id}"
    body = await asyncio.to_thread(
        render_report,
        outcome,
        max_chars=min(DEFAULT_MAX_CHARS, comment_budget(github.gate_id)),
        title=title,
        full_report_hint=github.target_url
        and f"The full report is at [the job that ran the gate]({md_url(github.target_url)}).",
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
    try:
        result = await publish(
            upstream.session,
            token=github.token,
            api_url=settings.github_api_url,
            target=target,
            gated=Gated(outcome, None),
            body=body,
        )
    except Exception as error:  # noqa: BLE001 - GitHub is best effort: never change the answer
        log.warning("server.github_failed", error=type(error).__name__)
        return None
    return result.url if result is not None else None


def _deadline_error(settings: ServerSettings, runs: GateRuns) -> ApiError:
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
        f"the request deadline of {settings.request_deadline:g} s was reached before every "
        "result arrived; ask again later, or with a smaller wait",
        extra={"eval_id": None},
    )


async def _gated(
    request: web.Request, call: GateCall, api_key: str, workspace: str
) -> tuple[GateOutcome, str]:
    """The outcome and its report, within the request deadline; ApiError when there is none."""
    settings, runs, metrics = request.app[SETTINGS], request.app[RUNS], request.app[METRICS]
    try:
        async with asyncio.timeout(settings.request_deadline) as scope:
            with runs.tracked(scope):
                outcome = await _run(request, call, api_key, workspace)
                # In a thread: a report of thousands of checks must not stall other requests.
                report = await asyncio.to_thread(
                    render_report,
                    outcome,
                    max_chars=call.max_chars,
                    title=call.title,
                    full_report_hint=_FULL_REPORT_HINT,
                )
    except TimeoutError:
        metrics.verdicts.labels(verdict="error").inc()
        raise _deadline_error(settings, runs) from None
    except ResultsUnavailable as error:
        metrics.verdicts.labels(verdict="error").inc()
        structlog.get_logger("gate.server_gate").info(
            "gate.unavailable", reason=str(error), eval_id=error.eval_id
        )
        raise ApiError(
            422, "results_unavailable", str(error), extra={"eval_id": error.eval_id}
        ) from None
    except UsageError as error:
        raise ApiError(400, "invalid_request", str(error)) from None
    return outcome, report


async def _posted(
    request: web.Request, call: GateCall, github: GitHubPart, outcome: GateOutcome, left: float
) -> str | None:
    """`_publish` within what is left of the deadline (at least a few seconds); never raises."""
    runs = request.app[RUNS]
    try:
        async with asyncio.timeout(max(MIN_PUBLISH_SECONDS, left)) as scope:
            with runs.tracked(scope):
                return await _publish(request, call, github, outcome)
    except TimeoutError:
        structlog.get_logger("gate.server_gate").warning(
            "server.github_timeout", hint="the request deadline ended while posting to GitHub"
        )
        return None


async def _gate(request: web.Request, raw: bytes, api_key: str) -> web.Response:
    settings, metrics = request.app[SETTINGS], request.app[METRICS]
    data = _parse_json(raw)
    if isinstance(data, dict) and isinstance(data.get("github"), dict):
        token = data["github"].get("token")
        add_request_secrets(token if isinstance(token, str) else None)
    call = parse_call(data, max_wait=settings.request_deadline)
    workspace = _workspace(call, settings)
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome, report = await _gated(request, call, api_key, workspace)
    code = exit_code_for(outcome.verdict, call.fail_on)
    metrics.verdicts.labels(verdict=outcome.verdict.value).inc()
    structlog.get_logger("gate.server_gate").info(
        "gate.verdict",
        verdict=outcome.verdict.value,
        checks=sum(1 for _ in outcome.checks),
        exit_code=int(code),
        seconds=round(loop.time() - started, 3),
    )
    document = json_document(outcome)
    document["report"] = report
    document["exit_code"] = int(code)
    if call.github is not None:
        left = settings.request_deadline - (loop.time() - started)
        document["comment_url"] = await _posted(request, call, call.github, outcome, left)
    text = redact(json.dumps(document, allow_nan=False), request_secrets() + settings.secrets)
    if _memoizable(call):
        request.app[UPSTREAM].answers.put(
            _answer_key(api_key, raw), _Answer(text, outcome.verdict.value, int(code)), len(text)
        )
    return web.Response(text=text, content_type="application/json")


@dataclass(frozen=True, slots=True)
class _Answer:
    text: str
    verdict: str
    exit_code: int


def _remembered(request: web.Request, raw: bytes, api_key: str) -> web.Response | None:
    answer = request.app[UPSTREAM].answers.get(_answer_key(api_key, raw))
    if not isinstance(answer, _Answer):
        return None
    request.app[METRICS].verdicts.labels(verdict=answer.verdict).inc()
    structlog.get_logger("gate.server_gate").info(
        "gate.verdict", verdict=answer.verdict, exit_code=answer.exit_code, remembered=True
    )
    return web.Response(text=answer.text, content_type="application/json")


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
    raw = await _read_body(request, settings.max_body)
    api_key = _api_key(request, settings)
    add_request_secrets(api_key)
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
