"""The Action with `service-url`: the gate is submitted to an eval-gate service as a durable gate
(`POST /v1/gates`) instead of run in this step.

The config is chosen as for a gate run here (`choose_config`: on a pull request, the rules and
every other setting that decides the verdict from the base commit's config), then sent as the
checkout's text, or as the merged document when the base's rules apply
(`gated_document`). The repository, the pull request and the head commit come from the event;
the service creates a check run on that commit at once (its `external_id` the gate's id),
posts the sticky comment and the commit status as the inputs ask, with its own credentials,
and completes the check run with the verdict.

Without `service-wait` the step ends at once: exit 0, the outputs `service-gate-id` and
`service-gate-url` (`verdict` is `pending`), and a job summary saying where the verdict will
appear. With `service-wait: true` it waits up to `wait` seconds for the verdict and ends as a
gate run here does: report files, summary, outputs, exit code; or with the code of how the
gate ended (`ExitCode`: 4 still waiting, 5 timed out, 6 cancelled, 7 error).

The submission's `Idempotency-Key` is derived from the job's run (id, attempt, job), the gate's
name and the body: the client's retries return the gate the first try made, while a re-run of
the job (a new attempt) submits a new gate.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import structlog

from gate.action.annotations import (
    annotate_documented_checks,
    annotate_error,
    config_path,
    in_repository,
)
from gate.action.base_config import ConfigChoice, choose_config, rule_line
from gate.action.inputs import WORDS
from gate.action.runner import Outputs
from gate.config.from_base import gated_document
from gate.core.errors import GateError, UsageError
from gate.core.model import BASE
from gate.core.redact import redact
from gate.local.files import MAX_CONFIG_BYTES, read_capped_file, write_file
from gate.remote.api import (
    GateState,
    GitHubCoordinates,
    Submitted,
    exit_code_of,
    status_line,
    submit_body,
)
from gate.remote.client import ServiceClient
from gate.report.markdown import md_code, md_text
from gate.report.no_verdict import error_report

if TYPE_CHECKING:
    from gate.action.context import ActionContext

__all__ = ["PENDING_VERDICT", "WAIT_INTERVAL", "idempotency_key", "service_body", "service_step"]

PENDING_VERDICT: Final = "pending"  # the verdict output of a gate submitted and not waited for
WAIT_INTERVAL: Final = 10.0  # seconds between two looks at the gate, with service-wait
SLACK: Final = 120.0  # seconds of requests (and their retries) beyond the wait
REQUEST_TIMEOUT: Final = 30.0
_VERDICT_BY_STATUS: Final = {
    "timed_out": "error",
    "error": "error",
    "cancelled": "cancelled",
    "superseded": "cancelled",
}


def _yaml_data(text: str) -> Any:
    """A config's text (already validated by the loader, so its size is bounded) as data."""
    import yaml  # noqa: PLC0415 - only for a pull request gated with the base's rules

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def _uses_base(config: str | Mapping[str, Any]) -> bool:
    """Whether an evals item of the config to send asks for `baseline: base`."""
    data = _yaml_data(config) if isinstance(config, str) else config
    evals = data.get("evals") if isinstance(data, Mapping) else None
    return any(isinstance(item, Mapping) and item.get("baseline") == BASE for item in evals or ())


def service_config(choice: ConfigChoice, checkout_text: str) -> str | dict[str, Any]:
    """The config to send: the checkout's text, or (the base's rules apply) the checkout's
    document with every setting that decides the verdict from the base's."""
    if choice.source != "base" or choice.base_data is None:
        return checkout_text
    base = _yaml_data(choice.base_data.decode("utf-8"))
    return gated_document(base, _yaml_data(checkout_text))


def service_body(ctx: ActionContext, choice: ConfigChoice, checkout_text: str) -> dict[str, Any]:
    """`POST /v1/gates`' body for this run (see the module's docstring)."""
    settings, event = ctx.settings, ctx.event
    config = service_config(choice, checkout_text)
    if settings.baseline == BASE or _uses_base(config):
        raise UsageError(
            "baseline: base is not available with service-url: the service never reads the "
            "base branch's config for a baseline; name an eval id, auto or champion instead"
        )
    github = None
    if event.repository is not None:
        github = GitHubCoordinates(
            repository=event.repository,
            pull_number=event.pr_number,
            sha=event.sha,
            gate_id=settings.gate_id,
            comment=str(settings.comment),
            commit_status=settings.commit_status,
            status_context=settings.status_context,
            check_run=event.sha is not None,
            target_url=event.run_url,
        )
    return submit_body(
        config=config,
        eval_ids=settings.eval_ids,
        models=settings.models,
        versions=settings.versions,
        baseline=settings.baseline,
        workspace=settings.workspace,
        fail_on=str(settings.fail_on),
        title=ctx.title,
        github=github,
    )


def idempotency_key(run_key: str | None, gate_id: str, body: Mapping[str, Any]) -> str:
    """The submission's key: the same for the same job run, gate and body (so a retry is the
    same gate), another for a re-run; outside a workflow run, a new one each time."""
    if run_key is None:
        return f"eval-gate-action-{uuid.uuid4()}"
    encoded = json.dumps([run_key, gate_id, body], sort_keys=True, separators=(",", ":"))
    return "eval-gate-action-" + hashlib.sha256(encoded.encode()).hexdigest()[:40]


def _where_text(ctx: ActionContext) -> str:
    """Where the verdict will appear (Markdown; untrusted names escaped)."""
    settings, event = ctx.settings, ctx.event
    if event.repository is None or event.sha is None:
        return (
            "This run names no commit, so it appears on the service only: follow it with "
            "`eval-gate status`."
        )
    places = [
        f"the check run **{md_text(settings.status_context)}** on commit {md_code(event.sha[:12])}"
    ]
    if event.pr_number is not None and str(settings.comment) != "off":
        places.append(f"the pull request's comment (#{event.pr_number})")
    if settings.commit_status:
        places.append("the commit status")
    listed = places[0] if len(places) == 1 else ", ".join(places[:-1]) + " and " + places[-1]
    return f"The service will post its verdict in {listed}."


def submitted_summary(ctx: ActionContext, submitted: Submitted) -> str:
    """The job summary of a gate submitted and left to the service."""
    server = ctx.settings.service_url or ""
    return (
        f"## ⏳ {md_text(ctx.title)}: submitted to the eval-gate service\n\n"
        f"The gate runs on the service as {md_code(submitted.id)} "
        f"(status: {md_text(submitted.status)}). {_where_text(ctx)}\n\n"
        f"Follow it from a shell, with the service's token in `EVAL_GATE_TOKEN`:\n\n"
        f"```\neval-gate status --server {server} {submitted.id} --wait 3600\n```\n"
    )


def _failed_checks(result: Any) -> int:
    counts = result.get("counts") if isinstance(result, dict) else None
    if not isinstance(counts, dict):
        return 0
    return sum(n for key in ("fail", "error") if isinstance(n := counts.get(key), int) and n >= 0)


def _finished(
    ctx: ActionContext,
    choice: ConfigChoice,
    submitted: Submitted,
    ran: tuple[GateState, float],
) -> int:
    """The step's ending once the wait is over: a done gate's report, annotations, outputs and
    exit code as a gate run here; else its status, said in one line."""
    state, waited = ran
    io, secrets = ctx.io, ctx.secrets
    gate_id, gate_url = submitted.id, submitted.url
    line = redact(status_line(state, waited=None if state.finished else waited), secrets)
    if state.status == "done":
        result = dict(state.document.get("result") or {})
        report = redact(state.report or "", secrets)
        write_file(ctx.workspace / ctx.report_md, report, confine_to=ctx.workspace)
        document = {k: v for k, v in result.items() if k != "report"}
        write_file(
            ctx.workspace / ctx.report_json,
            redact(json.dumps(document, indent=2, allow_nan=False) + "\n", secrets),
            confine_to=ctx.workspace,
        )
        io.append_summary(report, full_report_path=ctx.report_md)
        annotate_documented_checks(
            io,
            result.get("checks"),
            config_path(ctx.settings, choice),
            functools.partial(rule_line, choice),
            secrets,
        )
        code = exit_code_of(state)
        outputs = Outputs(
            verdict=state.verdict or "error",
            passed=code == 0,
            failed_checks=_failed_checks(result),
            report_path=ctx.report_md,
            json_path=ctx.report_json,
            service_gate_id=gate_id,
            service_gate_url=gate_url,
        )
        io.set_outputs(outputs.as_dict())
        return code
    io.annotate("error", line, title="eval-gate")
    text = f"## 🚫 {md_text(ctx.title)}: {md_text(state.status)}\n\n{md_text(line)}\n"
    if state.status in ("queued", "waiting"):
        text += f"\n{_where_text(ctx)}\n"
    elif state.report:
        text += "\n" + redact(state.report, secrets)
    io.append_summary(text)
    verdict = _VERDICT_BY_STATUS.get(state.status, PENDING_VERDICT)
    outputs = Outputs(verdict, passed=False, service_gate_id=gate_id, service_gate_url=gate_url)
    io.set_outputs(outputs.as_dict())
    return exit_code_of(state)


def _error_ending(ctx: ActionContext, error: GateError, submitted: Submitted | None) -> int:
    worded = in_repository(error.worded(WORDS), ctx.workspace)
    annotate_error(ctx.io, worded, ctx.secrets)
    ctx.io.append_summary(error_report(worded, ctx.title, ctx.secrets))
    outputs = Outputs(verdict="error", passed=False)
    if submitted is not None:
        outputs = replace(outputs, service_gate_id=submitted.id, service_gate_url=submitted.url)
    ctx.io.set_outputs(outputs.as_dict())
    return int(worded.exit_code)


async def service_step(ctx: ActionContext) -> int:
    """The whole step with `service-url` (see the module's docstring); the exit code."""
    from gate.http.aiohttp_transport import SessionOnDemand  # noqa: PLC0415 - aiohttp on demand

    log = structlog.get_logger("gate.action.service")
    settings = ctx.settings
    assert settings.service_url is not None
    transport = SessionOnDemand()
    submitted: Submitted | None = None
    try:
        choice = await choose_config(settings, ctx.event, ctx.workspace, github=ctx.github)
        checkout_text = read_capped_file(
            ctx.workspace / settings.config,
            limit=MAX_CONFIG_BYTES,
            what="config file",
            flag="the config input",
            hint="check the config input",
        ).decode("utf-8")
        body = service_body(ctx, choice, checkout_text)
        wait = settings.wait if settings.service_wait else 0.0
        client = ServiceClient(
            transport,
            server_url=settings.service_url,
            token=settings.service_token,
            where="input service-url",
            token_name="input service-token",  # noqa: S106 - the input's name, not a token
            timeout=REQUEST_TIMEOUT,
            deadline=asyncio.get_running_loop().time() + wait + SLACK,
        )
        key = idempotency_key(ctx.event.run_key, settings.gate_id, body)
        submitted = await client.submit(body, idempotency_key=key)
        log.info("action.submitted", gate_id=submitted.id, status=submitted.status)
        if not settings.service_wait:
            ctx.io.append_summary(submitted_summary(ctx, submitted))
            ctx.io.set_outputs(
                Outputs(
                    verdict=PENDING_VERDICT,
                    passed=False,
                    service_gate_id=submitted.id,
                    service_gate_url=submitted.url,
                ).as_dict()
            )
            return 0
        state, waited = await client.wait(submitted.id, wait=wait, interval=WAIT_INTERVAL)
    except GateError as error:
        return _error_ending(ctx, error, submitted)
    finally:
        await transport.aclose()
    return _finished(ctx, choice, submitted, (state, waited))
