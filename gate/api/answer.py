"""A gate's answer, computed on a `WorkPool` thread (CPU work never runs on the event loop).

`parse_request` turns the raw body into a `GateCall` (strict JSON, then `gate.api.body`),
or the 400 to answer; `decide_document` counts the checks and the resampling against the
server's bounds (`Limits`), decides the verdict (the engine's `decide_gate`), renders the
report and builds the answer document (the `--json` document, the report, the exit code);
`decide_answer` encodes it, the secrets masked. They stop when the caller's `StopFlag` says.
The durable gates' worker calls `decide_document` and keeps the document.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gate.api.body import GateCall, config_error, parse_call, too_many_checks
from gate.api.bounds import Limits, count_checks, count_resampling, watched
from gate.api.errors import ApiError
from gate.api.stopping import StopFlag, encode_document
from gate.core import strict_json
from gate.core.decision import decide
from gate.core.errors import ConfigError
from gate.core.outcome import GateOutcome
from gate.core.redact import redact
from gate.engine import GateInputs, decide_gate
from gate.report.formats import json_document
from gate.report.render import render_report

__all__ = ["Answer", "Decided", "Parsed", "decide_answer", "decide_document", "parse_request"]


_FULL_REPORT_HINT = "Ask again with a larger `max_chars` for the full report."


@dataclass(frozen=True, slots=True)
class Parsed:
    """What the worker thread made of a body: a call or the error to answer, and the secrets
    the body brought (the thread's context is a copy: the handler must add them itself)."""

    call: GateCall | None = None
    error: ApiError | None = None
    secrets: tuple[str, ...] = ()


def _body_secrets(data: Any) -> tuple[str, ...]:
    github = data.get("github") if isinstance(data, dict) else None
    token = github.get("token") if isinstance(github, dict) else None
    return (token,) if isinstance(token, str) and token else ()


def decode_body(raw: bytes) -> Any:
    """The body as strict JSON, or the 400 `invalid_json` saying why not."""
    try:
        return strict_json.loads(raw)
    except strict_json.JSONDocumentError as error:
        message = (
            f"the request body is not valid JSON: {error.reason.removeprefix('not valid JSON: ')}"
        )
        raise ApiError(400, "invalid_json", message + "; send one JSON object") from None


def parse_request(raw: bytes, limits: Limits, flag: StopFlag) -> Parsed:
    """The body as a GateCall (on a worker thread: parsing and validating are CPU work)."""
    try:
        data = decode_body(raw)
    except ApiError as error:
        return Parsed(error=error)
    secrets = _body_secrets(data)
    flag.check()
    try:
        call = parse_call(data, max_wait=limits.max_wait, max_checks=limits.max_checks)
    except ApiError as error:
        return Parsed(error=error, secrets=secrets)
    return Parsed(call=call, secrets=secrets)


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
class Decided:
    """The verdict of one gate and its answer document (not yet encoded)."""

    outcome: GateOutcome
    verdict: str
    exit_code: int
    checks: int
    report: str  # the Markdown report (also the document's `report`)
    document: dict[str, Any]  # what POST /v1/gate answers: the --json document, report, exit_code


@dataclass(frozen=True, slots=True)
class Answer:
    """The verdict of one gate and the answer's body, ready to send."""

    outcome: GateOutcome
    verdict: str
    exit_code: int
    checks: int
    body: bytes  # the answer's JSON (ASCII: json.dumps escapes the rest), secrets masked


def decide_document(
    call: GateCall, gathered: GateInputs, limits: Limits, flag: StopFlag
) -> Decided:
    """Count, decide and render (on a worker thread), stopping when `flag` says."""
    count = count_checks(gathered.config, gathered.evals)
    max_checks = limits.max_checks
    if count > max_checks:
        raise too_many_checks(count, max_checks, f"{count:,} checks (counted from the results)")
    resampled = count_resampling(gathered.config, gathered.evals)
    if resampled > limits.max_resampled:
        raise _too_much_resampling(resampled, limits.max_resampled)
    flag.check()
    watching = dataclasses.replace(gathered, evals=tuple(watched(gathered.evals, flag)))
    try:
        outcome = decide_gate(watching, tick=flag.check)
    except ConfigError as error:
        raise config_error(error) from None
    flag.check()
    report = render_report(
        outcome,
        max_chars=call.max_chars,
        title=call.title,
        full_report_hint=_FULL_REPORT_HINT,
        fail_on=call.fail_on,
    )
    flag.check()
    decision = decide(outcome.verdict, call.fail_on)
    code = int(decision.exit_code)
    document = json_document(outcome, decision)
    document["report"] = report
    document["exit_code"] = code
    return Decided(outcome, outcome.verdict.value, code, count, report, document)


def decide_answer(
    call: GateCall,
    gathered: GateInputs,
    limits: Limits,
    secrets: tuple[str, ...],
    flag: StopFlag,
) -> Answer:
    """`decide_document`, then the document encoded with `secrets` masked."""
    decided = decide_document(call, gathered, limits, flag)
    body = redact(encode_document(decided.document, flag), secrets).encode("ascii")
    return Answer(decided.outcome, decided.verdict, decided.exit_code, decided.checks, body)
