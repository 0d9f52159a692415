"""`eval-gate check` end to end: read files, fetch, gate, write outputs, pick the exit code.

The adapters (files, the Roboflow client over one aiohttp session) are set up here; the
gate itself is `gate.engine.run_gate`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from gate.cli.settings import CheckSettings, ResultsFile
from gate.config.loader import load_config
from gate.core import strict_json
from gate.core.errors import ConfigError, ExitCode, Problem, UsageError
from gate.core.model import GateConfig
from gate.core.outcome import GateOutcome
from gate.core.strict_json import JSONDocumentError, decode_utf8
from gate.engine import GateRequest, exit_code_for, run_gate
from gate.fetch import FetchOptions, SavedResults
from gate.report.formats import to_json, to_junit
from gate.report.markdown import md_text
from gate.report.render import render_report, warm_up
from gate.roboflow.api import MAX_BODY_BYTES, human_size

if TYPE_CHECKING:
    import aiohttp

    from gate.roboflow.api import EvalInfo
    from gate.roboflow.client import RoboflowClient


MAX_CONFIG_BYTES = 1024 * 1024
"""A config is a few KiB; more is the wrong file (or an attack on the validator)."""

MAX_RESULTS_BYTES = MAX_BODY_BYTES
"""The same cap as an answer from Roboflow: a saved map-results file is such an answer."""

MAX_RESULTS_TOTAL_BYTES = 256 * 1024 * 1024
"""All --results files together: each is parsed and kept in memory for the whole run."""


def read_capped_file(path: Path, *, limit: int, what: str, flag: str, hint: str) -> bytes:
    """At most `limit` bytes of the file at `path`; UsageError (one line) if it holds more,
    is missing, is a directory or cannot be read. `what` names the file ("config file"),
    `flag` the option that named it, `hint` how to fix a missing or unreadable one.

    Reads `limit + 1` bytes at most, whatever the file is: a regular file, /dev/stdin, a pipe
    or a FIFO (which waits for its writer, as `cat` would), or /dev/zero.
    """
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} not found; {hint}") from None
    except IsADirectoryError:
        raise UsageError(f"{what} {path} is a directory, not a file; check {flag}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"cannot read {what} {path} ({reason}); {hint}") from None
    if len(data) > limit:
        raise UsageError(
            f"{what} {path} is larger than {human_size(limit)}, the limit for a {what}; "
            f"check that {flag} names the right file"
        )
    return data


def read_config(path: Path) -> GateConfig:
    """The config at `path`, read (at most MAX_CONFIG_BYTES), decoded and validated."""
    data = read_capped_file(
        path,
        limit=MAX_CONFIG_BYTES,
        what="config file",
        flag="--config (the `config` input in the Action)",
        hint="create it (see the README) or point to it with --config (the `config` input in "
        "the Action)",
    )
    try:
        text = decode_utf8(data)
    except JSONDocumentError as exc:
        problem = Problem(
            f"{exc.problem}; save the config as UTF-8", str(path), exc.line, exc.column
        )
        raise ConfigError([problem]) from None
    return load_config(text, str(path))


def read_results(files: Sequence[ResultsFile]) -> dict[str, Any]:
    """Saved map-results documents by eval id (strict JSON; NaN kept, for the reader to mark
    malformed value by value)."""
    documents: dict[str, Any] = {}
    total = 0
    for item in files:
        if item.eval_id in documents:
            raise UsageError(
                f"two results files for eval {item.eval_id} ({item.path}); write ID=PATH to tell "
                "them apart"
            )
        data = read_capped_file(
            item.path,
            limit=MAX_RESULTS_BYTES,
            what="results file",
            flag="--results",
            hint="check --results",
        )
        total += len(data)
        if total > MAX_RESULTS_TOTAL_BYTES:
            raise UsageError(
                f"the results files add up to more than {human_size(MAX_RESULTS_TOTAL_BYTES)} "
                f"(at {item.path}); gate fewer evaluations at a time"
            )
        try:
            documents[item.eval_id] = strict_json.loads(data, allow_nan=True)
        except JSONDocumentError as exc:
            where = f"{item.path}:{exc.line}:{exc.column}" if exc.line else str(item.path)
            raise UsageError(
                f"{where}: {exc.problem}; save the map-results response as it was returned"
            ) from None
    return documents


class LazyRoboflow:
    """The Roboflow API, connected on first use only: an offline run never imports aiohttp."""

    def __init__(self, settings: CheckSettings, workspace: str | None) -> None:
        self._settings = settings
        self._workspace = workspace
        self._session: aiohttp.ClientSession | None = None
        self._client: RoboflowClient | None = None

    def _connect(self) -> RoboflowClient:
        if self._client is not None:
            return self._client
        settings = self._settings
        if not settings.api_key:
            raise UsageError(
                "ROBOFLOW_API_KEY is not set: export it (a key with model-eval:read), "
                "or pass saved results with --results"
            )
        if not self._workspace:
            raise UsageError(
                "no workspace: pass --workspace, set ROBOFLOW_WORKSPACE, or add workspace: "
                "to the config"
            )
        import aiohttp  # noqa: PLC0415 - deferred: offline runs must not pay for it

        from gate.roboflow.client import RoboflowClient  # noqa: PLC0415 - same reason

        loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.concurrency),
        )
        self._client = RoboflowClient(
            self._session,
            api_key=settings.api_key,
            workspace=self._workspace,
            api_url=settings.api_url,
            timeout=settings.timeout,
            deadline=loop.time() + settings.effective_deadline,
        )
        return self._client

    async def map_results(self, eval_id: str) -> Any:
        return await self._connect().map_results(eval_id)

    async def eval_info(self, eval_id: str) -> EvalInfo:
        return await self._connect().eval_info(eval_id)

    async def list_evals(
        self, *, project: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[EvalInfo]:
        return await self._connect().list_evals(project=project, status=status, limit=limit)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass(frozen=True, slots=True)
class CheckResult:
    outcome: GateOutcome
    exit_code: ExitCode


async def gate_from_settings(settings: CheckSettings) -> GateOutcome:
    """Load the config and saved results, fetch the rest, and gate."""
    config = read_config(settings.config_path)
    documents = read_results(settings.results)
    workspace = settings.workspace or config.workspace
    api = LazyRoboflow(settings, workspace)
    source = SavedResults(documents, fallback=api if settings.api_key or not documents else None)
    request = GateRequest(
        config=config,
        eval_ids=settings.eval_ids,
        baseline=settings.baseline,
        workspace=workspace,
        saved_ids=tuple(documents),
    )
    options = FetchOptions(
        concurrency=settings.concurrency, wait=settings.wait, poll_interval=settings.poll_interval
    )
    try:
        async with asyncio.timeout(settings.effective_deadline):
            return await run_gate(request, source, options)
    except TimeoutError:
        from gate.core.errors import ResultsUnavailable  # noqa: PLC0415 - rare path

        raise ResultsUnavailable(
            f"overall deadline of {settings.effective_deadline:g} s reached; raise --deadline"
        ) from None
    finally:
        await api.close()


def _refuse_links(path: Path, root: Path) -> None:
    """UsageError unless `path` lies under `root` with no symbolic link on the way."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        raise UsageError(f"cannot write {path}: it is outside {root}") from None
    current = root
    for part in relative.parts:
        current /= part
        if part == ".." or current.is_symlink():
            raise UsageError(
                f"cannot write {path}: {current.relative_to(root)} is a symbolic link (or "
                "leads out); the gate never follows links where it writes its reports, "
                "remove it"
            )


def _write(path: Path, text: str, confine_to: Path | None = None) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`.

    The rename replaces a symbolic link at `path` rather than writing through it; with
    `confine_to`, a link anywhere between that folder and `path` is refused.
    """
    if confine_to is not None:
        _refuse_links(path, confine_to)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if confine_to is not None:
            _refuse_links(path, confine_to)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(temporary, flags, 0o644), "w", encoding="utf-8") as file:
            file.write(text)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_outputs(settings: CheckSettings, outcome: GateOutcome, out: TextIO) -> str | None:
    """The report on `out` (unless quiet) and the requested files; the full report if written."""
    full = None
    if settings.report_path is not None:
        full = render_report(outcome, max_chars=None, title=settings.title)
        _write(settings.report_path, full, settings.confine_outputs_to)
    if settings.json_path is not None:
        _write(settings.json_path, to_json(outcome), settings.confine_outputs_to)
    if settings.junit_path is not None:
        _write(settings.junit_path, to_junit(outcome), settings.confine_outputs_to)
    if not settings.quiet:
        hint = (
            f"The full report is in {md_text(settings.report_path.name)}."
            if settings.report_path
            else "Run with --report PATH for the full report."
        )
        out.write(
            render_report(
                outcome, max_chars=settings.max_chars, title=settings.title, full_report_hint=hint
            )
        )
        out.flush()
    return full


async def check(settings: CheckSettings, out: TextIO) -> CheckResult:
    """The whole `eval-gate check` command, minus argument parsing and error printing."""
    log = structlog.get_logger("gate.cli.run")
    # Compile the report templates in a thread while the network is waited on.
    warming = asyncio.get_running_loop().run_in_executor(None, warm_up)
    try:
        outcome = await gate_from_settings(settings)
    finally:
        await warming
    write_outputs(settings, outcome, out)
    code = exit_code_for(outcome.verdict, settings.fail_on)
    log.info(
        "gate.verdict",
        verdict=outcome.verdict.value,
        checks=sum(1 for _ in outcome.checks),
        exit_code=int(code),
    )
    return CheckResult(outcome, code)
