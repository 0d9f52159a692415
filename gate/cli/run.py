"""`eval-gate check` end to end: read files, fetch, gate, write outputs, pick the exit code.

The shared pieces are elsewhere: reading and writing local files in `gate.local.files`, the
saved-results-then-Roboflow source and the run itself in `gate.local.sources`, the engine in
`gate.engine`. This module turns the command's settings into those calls.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import TextIO

import structlog

from gate.cli.settings import CheckSettings
from gate.core.decision import Decision, decide
from gate.core.errors import ExitCode
from gate.core.outcome import GateOutcome
from gate.core.redact import redact
from gate.local.files import write_file
from gate.local.sources import LocalGate, RoboflowAccess, gate_local
from gate.report.formats import to_json, to_junit
from gate.report.markdown import md_text
from gate.report.render import ReportModel, build_report, render, warm_up
from gate.report.shorten import full_report_hint


@dataclass(frozen=True, slots=True)
class CheckResult:
    outcome: GateOutcome
    exit_code: ExitCode


def local_gate_for(settings: CheckSettings) -> LocalGate:
    """The engine's arguments for `eval-gate check`'s settings."""
    return LocalGate(
        config_path=settings.config_path,
        config_shown=settings.config_shown,
        roboflow=RoboflowAccess(
            api_key=settings.api_key,
            api_url=settings.api_url,
            concurrency=settings.concurrency,
            timeout=settings.timeout,
            deadline=settings.effective_deadline,
        ),
        eval_ids=settings.eval_ids,
        baseline=settings.baseline,
        models=settings.models,
        versions=settings.versions,
        results=settings.results,
        workspace=settings.workspace,
        wait=settings.wait,
        poll_interval=settings.poll_interval,
        deadline_hint="raise --deadline",
    )


def write_outputs(
    settings: CheckSettings, outcome: GateOutcome, out: TextIO, decision: Decision | None = None
) -> None:
    """The report on `out` (unless quiet) and the requested files, the key masked in each
    (the JSON with `decision`, the verdict under `--fail-on`)."""
    secrets = settings.secrets

    @functools.cache
    def report() -> ReportModel:  # built once, for the file and the terminal
        return build_report(outcome, title=settings.title, fail_on=settings.fail_on)

    if settings.report_path is not None:
        full = render(report(), max_chars=None)
        write_file(settings.report_path, redact(full, secrets))
    if settings.json_path is not None:
        write_file(settings.json_path, redact(to_json(outcome, decision), secrets))
    if settings.junit_path is not None:
        write_file(settings.junit_path, redact(to_junit(outcome), secrets))
    if not settings.quiet:
        hint = (
            full_report_hint(md_text(settings.report_path.name))
            if settings.report_path
            else "Run with --report PATH for the full report."
        )
        shown = render(report(), max_chars=settings.max_chars, full_report_hint=hint)
        out.write(redact(shown, secrets))
        out.flush()


async def check(settings: CheckSettings, out: TextIO) -> CheckResult:
    """The whole `eval-gate check` command, minus argument parsing and error printing."""
    log = structlog.get_logger("gate.cli.run")
    # Compile the report templates in a thread while the network is waited on.
    warming = asyncio.get_running_loop().run_in_executor(None, warm_up)
    try:
        outcome = await gate_local(local_gate_for(settings))
    finally:
        await warming
    decision = decide(outcome.verdict, settings.fail_on)
    write_outputs(settings, outcome, out, decision)
    code = decision.exit_code
    log.info(
        "gate.verdict",
        verdict=outcome.verdict.value,
        checks=sum(1 for _ in outcome.checks),
        exit_code=int(code),
    )
    return CheckResult(outcome, code)
