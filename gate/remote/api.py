"""The durable gates' service (`eval-gate serve`: `POST /v1/gates`, `GET /v1/gates/{id}`) as a
client speaks it, as pure functions (sans-I/O): the submit body from a face's settings, the
gate's path, and a response's (status, headers, body) to a typed value or one typed error whose
message is a single line (what was asked, the HTTP status, the server's code and message, how
to fix it). What a gate's status means for an exit code (`exit_code_of`) and how it is shown
(`status_line`) are here too. Sockets, timeouts and retries are `gate.http`'s.

Every error is a `GateError` (its exit code) and an `HttpError` (whether a retry may help):

    ServiceError                 exit 3: no usable answer from the service
    ├── ServiceUnreachable       no (complete) answer: refused, reset, timeout
    ├── ServiceBadResponse       an answer that is not the documented one (size, JSON, shape)
    ├── ServiceDeadline          the overall deadline passed
    ├── ServiceAuthRefused       401 / 403: the bearer token (EVAL_GATE_TOKEN)
    ├── ServiceRejected          exit 2: 400, 409, 413, 415 (the request is wrong; not retried)
    └── GateNotFound             exit 2: 404 (no such gate here)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from gate.core.errors import ExitCode, GateError
from gate.core.redact import redact_line
from gate.http.body import UnusableBody, error_body, json_body, json_type
from gate.http.errors import HttpError
from gate.http.text import header, one_line, parse_retry_after
from gate.remote import TOKEN_VARIABLE

__all__ = [
    "CLI_WORDS",
    "FINISHED",
    "GATES_PATH",
    "GATE_ID",
    "MAX_RESPONSE_BYTES",
    "PENDING",
    "TOKEN_VARIABLE",
    "GateNotFound",
    "GateState",
    "GitHubCoordinates",
    "ServiceAuthRefused",
    "ServiceBadResponse",
    "ServiceDeadline",
    "ServiceError",
    "ServiceRejected",
    "ServiceUnreachable",
    "Submitted",
    "Words",
    "check_gate_id",
    "exit_code_of",
    "gate_path",
    "parse_gate",
    "parse_submitted",
    "status_line",
    "submit_body",
]

GATES_PATH: Final = "/v1/gates"
MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024  # a gate's document: a report of at most 1 MB, ...
GATE_ID: Final = re.compile(r"gt_[0-7][0-9A-HJKMNP-TV-Z]{25}")
PENDING: Final = frozenset({"queued", "waiting"})
FINISHED: Final = frozenset({"done", "error", "timed_out", "cancelled", "superseded"})
_EXIT_BY_STATUS: Final = {
    "queued": ExitCode.PENDING,
    "waiting": ExitCode.PENDING,
    "timed_out": ExitCode.TIMED_OUT,
    "cancelled": ExitCode.CANCELLED,
    "superseded": ExitCode.CANCELLED,
    "error": ExitCode.GATE_ERROR,
}
_MAX_WAITING_LINES: Final = 20
_LINE_MAX: Final = 300


# --------------------------------------------------------------------------- errors


class ServiceError(GateError, HttpError):
    """The service did not give a usable answer (exit 3). `str()` is one line."""

    exit_code = ExitCode.UNAVAILABLE


class ServiceUnreachable(ServiceError):
    """No (complete) answer: connection refused or reset, a timeout."""

    retryable = True


class ServiceBadResponse(ServiceError):
    """An answer that is not the service's: too large, not JSON, not the documented shape."""


class ServiceDeadline(ServiceError):
    """The overall deadline passed before a usable answer."""


class ServiceAuthRefused(ServiceError):
    """401 or 403: the service refused the bearer token."""


class ServiceRejected(ServiceError):
    """400, 409, 413, 415: the service refused the request itself; the same one would be
    refused again (exit 2, like a bad command line)."""

    exit_code = ExitCode.USAGE


class GateNotFound(ServiceError):
    """404: no such gate on this service (mistyped, or purged after its retention)."""

    exit_code = ExitCode.USAGE


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class GitHubCoordinates:
    """Where a durable gate reports on GitHub (the server's credentials post): the repository,
    the pull request and the commit, and the reporting settings (None: the server's default)."""

    repository: str
    pull_number: int | None = None
    sha: str | None = None
    gate_id: str | None = None
    comment: str | None = None
    commit_status: bool | None = None
    status_context: str | None = None
    check_run: bool | None = None
    target_url: str | None = None

    def document(self) -> dict[str, Any]:
        """The request's `github` object (fields left to the server's defaults omitted)."""
        return {
            name: value
            for name in (
                "repository",
                "pull_number",
                "sha",
                "gate_id",
                "comment",
                "commit_status",
                "status_context",
                "check_run",
                "target_url",
            )
            if (value := getattr(self, name)) is not None
        }


def submit_body(
    *,
    config: str | Mapping[str, Any],
    eval_ids: Sequence[str] = (),
    models: Sequence[str] = (),
    versions: Sequence[str] = (),
    baseline: str | None = None,
    workspace: str | None = None,
    fail_on: str | None = None,
    title: str | None = None,
    max_wait: float | None = None,
    callback_url: str | None = None,
    github: GitHubCoordinates | None = None,
) -> dict[str, Any]:
    """`POST /v1/gates`'s body (`DurableGateRequest`): the config (YAML text or an object), the
    evaluations named besides the config's (`--eval`, `--model`, `--version`), and the rest;
    what is not given is left out, so the server's defaults apply."""
    evals: list[Any] = [*eval_ids]
    evals += [{"model": model} for model in models]
    evals += [{"version": version} for version in versions]
    body: dict[str, Any] = {"config": config if isinstance(config, str) else dict(config)}
    optional: dict[str, Any] = {
        "evals": evals or None,
        "baseline": baseline,
        "workspace": workspace,
        "fail_on": fail_on,
        "title": title,
        "max_wait": max_wait,
        "callback": {"url": callback_url} if callback_url else None,
        "github": github.document() if github is not None else None,
    }
    body.update((name, value) for name, value in optional.items() if value is not None)
    return body


def check_gate_id(text: str) -> str | None:
    """What is wrong with a gate id given by a user (None: it is one); never echoes more than
    a short piece of it."""
    if GATE_ID.fullmatch(text):
        return None
    return (
        f"{one_line(text, limit=40)!r} is not a gate id (gt_ followed by 26 characters, as "
        "`eval-gate submit` prints it)"
    )


def gate_path(gate_id: str) -> str:
    """The gate's path on the service (the id percent-encoded, though a valid one needs none)."""
    return f"{GATES_PATH}/{quote(gate_id, safe='')}"


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Submitted:
    """`POST /v1/gates`'s answer: the gate's id, status and URL; `created` False when an
    Idempotency-Key returned a gate submitted before (200 rather than 202)."""

    id: str
    status: str
    url: str
    created: bool = True

    def document(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "url": self.url, "created": self.created}


@dataclass(frozen=True, slots=True)
class GateState:
    """What a client reads of `GET /v1/gates/{id}`: the status, and once done the verdict, the
    exit code the gate decided (by its `fail_on`) and the report; `document` the whole answer."""

    id: str
    status: str
    url: str
    verdict: str | None = None
    exit_code: int | None = None
    report: str | None = None
    error: str | None = None
    waiting_for: tuple[str, ...] = ()
    deadline_at: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True, slots=True)
class Words:
    """How a face names the service's URL and token in its messages."""

    url: str = "--server"
    token: str = TOKEN_VARIABLE


CLI_WORDS: Final = Words()


def _problem(what: str, problem: str, words: Words) -> ServiceBadResponse:
    return ServiceBadResponse(
        f"{what}: {problem}; check {words.url} (the URL of an eval-gate service)",
        retryable=False,
    )


def _decode(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str,
    secrets: Sequence[str],
    words: Words,
) -> Any:
    try:
        return json_body(
            status,
            headers,
            body,
            max_body=MAX_RESPONSE_BYTES,
            allow_nan=False,
            fix=f"check {words.url} (the URL of an eval-gate service)",
            secrets=secrets,
        )
    except UnusableBody as exc:
        raise ServiceBadResponse(f"{what}: {exc}", retryable=exc.retryable) from None


def _text_field(data: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"its {name!r} is {json_type(value)}, expected text")
    return value


def _object(data: Any, what: str, words: Words) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise _problem(what, f"expected a JSON object, got {json_type(data)}", words)
    return data


def _fail_for_status(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str,
    secrets: Sequence[str],
    now: datetime,
    words: Words,
) -> None:
    """Raise the typed error for a non-2xx answer (nothing for a 2xx one)."""
    if 200 <= status < 300:
        return
    data, kind = error_body(headers, body, secrets=secrets)
    code, message = "", ""
    if isinstance(data, dict):
        code = redact_line(str(data.get("error") or ""), secrets, limit=60)
        message = redact_line(str(data.get("message") or ""), secrets, limit=_LINE_MAX)
    said = f" {code}" if code else ""
    said += f": {message}" if message else (f" ({kind})" if kind else "")
    head = f"{what}: HTTP {status}{said}"
    retry_after = parse_retry_after(header(headers, "Retry-After"), now)
    if status in (401, 403):
        raise ServiceAuthRefused(
            f"{head}; set {words.token} to one of the service's bearer tokens", status=status
        )
    if status == 404:
        if code == "not_found":
            raise GateNotFound(f"{head}; check the gate id", status=status)
        raise ServiceBadResponse(
            f"{head}; check {words.url}: it should be the service's base URL (without /v1/...)",
            status=status,
        )
    if status == 429:
        error = ServiceUnreachable(
            f"{head}; the service is busy: try again later", status=status, retryable=True
        )
        error.retry_after = retry_after
        error.rate_limit = True
        raise error
    if status in (400, 409, 413, 415, 422):
        raise ServiceRejected(f"{head}; fix the request and submit it again", status=status)
    retryable = status >= 500 or status == 408
    raise ServiceUnreachable(
        f"{head}; the service could not answer: try again later, or ask its operator",
        status=status,
        retry_after=retry_after,
        retryable=retryable,
    )


def parse_submitted(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    what: str = "submitting the gate",
    secrets: Sequence[str] = (),
    now: datetime | None = None,
    words: Words = CLI_WORDS,
) -> Submitted:
    """`POST /v1/gates`'s answer (202 created, 200 the same gate again) or its typed error."""
    _fail_for_status(
        status, headers, body, what=what, secrets=secrets, now=now or datetime.now(UTC), words=words
    )
    if status not in (200, 202):
        raise _problem(what, f"HTTP {status}, expected 202 (or 200)", words)
    data = _object(
        _decode(status, headers, body, what=what, secrets=secrets, words=words), what, words
    )
    try:
        gate_id = _text_field(data, "id")
        gate_status = _text_field(data, "status")
        url = _text_field(data, "url")
    except ValueError as exc:
        raise _problem(what, str(exc), words) from None
    assert gate_id is not None
    assert gate_status is not None
    assert url is not None
    if not GATE_ID.fullmatch(gate_id):
        raise _problem(what, f"the gate id {one_line(gate_id, limit=40)!r} is not one", words)
    if gate_status not in PENDING | FINISHED:
        raise _problem(what, f"unknown status {one_line(gate_status, limit=40)!r}", words)
    if not url.startswith(("http://", "https://")) or len(url) > 2048:
        raise _problem(what, "the gate's url is not an http(s) URL", words)
    return Submitted(gate_id, gate_status, url, created=status == 202)


def _lines(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"its 'waiting_for' is {json_type(value)}, expected a list of text")
    return tuple(value[:_MAX_WAITING_LINES])


def _finished_fields(data: Mapping[str, Any], gate_status: str) -> tuple[Any, ...]:
    """(verdict, exit_code, report) of a gate's document, checked: a `done` gate must carry a
    verdict and an exit code of 0 or 1, or it is no verdict at all (fail closed)."""
    verdict, exit_code = data.get("verdict"), data.get("exit_code")
    result = data.get("result")
    report = result.get("report") if isinstance(result, dict) else None
    if report is not None and not isinstance(report, str):
        raise ValueError(f"its result's report is {json_type(report)}, expected text")
    if gate_status != "done":
        return verdict if isinstance(verdict, str) else None, None, report
    if verdict not in ("pass", "warn", "fail"):
        raise ValueError("it is done without a verdict of pass, warn or fail")
    if isinstance(exit_code, bool) or exit_code not in (0, 1):
        raise ValueError("it is done without an exit code of 0 or 1")
    if not isinstance(result, dict) or result.get("verdict") != verdict:
        raise ValueError("its result does not carry its verdict")
    return verdict, exit_code, report


def _identity(data: Mapping[str, Any], gate_id: str) -> tuple[str, str]:
    """The gate's status and URL, once the document is shown to be the gate's."""
    if _text_field(data, "id") != gate_id:
        raise ValueError("it names another gate")
    gate_status = _text_field(data, "status") or ""
    url = _text_field(data, "url") or ""
    if gate_status not in PENDING | FINISHED:
        raise ValueError(f"unknown status {one_line(gate_status, limit=40)!r}")
    return gate_status, url


def parse_gate(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    gate_id: str,
    secrets: Sequence[str] = (),
    now: datetime | None = None,
    words: Words = CLI_WORDS,
) -> GateState:
    """`GET /v1/gates/{id}`'s answer or its typed error."""
    what = f"reading gate {gate_id}"
    _fail_for_status(
        status, headers, body, what=what, secrets=secrets, now=now or datetime.now(UTC), words=words
    )
    data = _object(
        _decode(status, headers, body, what=what, secrets=secrets, words=words), what, words
    )
    try:
        gate_status, url = _identity(data, gate_id)
        verdict, exit_code, report = _finished_fields(data, gate_status)
        error = data.get("error")
        deadline = data.get("deadline_at")
        return GateState(
            gate_id,
            gate_status,
            url,
            verdict=verdict,
            exit_code=exit_code,
            report=report,
            error=redact_line(error, secrets, limit=_LINE_MAX) if isinstance(error, str) else None,
            waiting_for=_lines(data.get("waiting_for")),
            deadline_at=deadline if isinstance(deadline, str) else None,
            document=data,
        )
    except ValueError as exc:
        raise _problem(what, str(exc), words) from None


# --------------------------------------------------------------------------- meaning


def exit_code_of(state: GateState) -> int:
    """The exit code for a gate's state: a done gate's own (0 or 1, by its fail_on), else the
    code of its status (see `ExitCode`)."""
    if state.status == "done":
        assert state.exit_code is not None  # parse_gate refuses a done gate without one
        return state.exit_code
    return int(_EXIT_BY_STATUS[state.status])


def status_line(state: GateState, *, waited: float | None = None) -> str:
    """One line saying where the gate is: its status, and its verdict, error or what it waits
    for (untrusted text: made one line and shortened)."""
    head = f"gate {state.id}: {state.status}"
    if state.status == "done":
        return f"{head} ({state.verdict}, exit code {state.exit_code})"
    if state.status in PENDING:
        what = "; ".join(one_line(line, limit=120) for line in state.waiting_for[:3])
        more = len(state.waiting_for) - 3
        if more > 0:
            what += f"; and {more} more"
        line = head
        if what:
            line += f" for {what}" if state.status == "waiting" else f", waiting for {what}"
        if waited is not None:
            line += f"; still not finished after waiting {waited:.0f} s"
        if state.deadline_at:
            line += f" (it times out at {one_line(state.deadline_at, limit=40)})"
        return line
    if state.error:
        return f"{head}: {one_line(state.error, limit=_LINE_MAX)}"
    return head
