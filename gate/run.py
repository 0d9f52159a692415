"""`eval-gate check` end to end: read files, fetch, gate, write outputs, pick the exit code.

The adapters (files, the Roboflow client over one aiohttp session) are set up here; the
gate itself is `gate.engine.run_gate`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from gate.checks import GateOutcome
from gate.config import load_config
from gate.engine import GateRequest, exit_code_for, run_gate
from gate.errors import ExitCode, UsageError
from gate.fetch import FetchOptions, SavedResults
from gate.markdown import md_text
from gate.outputs import to_json, to_junit
from gate.report import render_report, warm_up
from gate.rules import GateConfig
from gate.settings import CheckSettings, ResultsFile

if TYPE_CHECKING:
    import aiohttp

    from gate.roboflow_api import EvalInfo
    from gate.roboflow_client import RoboflowClient


def read_config(path: Path) -> GateConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"config file {path} not found: create it (see the README) or point to it "
            "with --config (the `config` input in the Action)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc.__class__.__name__}") from None
    return load_config(text, str(path))


def read_results(files: Sequence[ResultsFile]) -> dict[str, Any]:
    """Saved map-results documents by eval id."""
    documents: dict[str, Any] = {}
    for item in files:
        if item.eval_id in documents:
            raise UsageError(
                f"two results files for eval {item.eval_id} ({item.path}); write ID=PATH to tell "
                "them apart"
            )
        try:
            text = item.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"results file {item.path} not found; check --results") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read results file {item.path}: {exc}") from None
        try:
            documents[item.eval_id] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{item.path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
                "save the map-results response as it was returned"
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

        from gate.roboflow_client import RoboflowClient  # noqa: PLC0415 - same reason

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
        from gate.errors import ResultsUnavailable  # noqa: PLC0415 - rare path

        raise ResultsUnavailable(
            f"overall deadline of {settings.effective_deadline:g} s reached; raise --deadline"
        ) from None
    finally:
        await api.close()


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_outputs(settings: CheckSettings, outcome: GateOutcome, out: TextIO) -> str | None:
    """The report on `out` (unless quiet) and the requested files; the full report if written."""
    full = None
    if settings.report_path is not None:
        full = render_report(outcome, max_chars=None, title=settings.title)
        _write(settings.report_path, full)
    if settings.json_path is not None:
        _write(settings.json_path, to_json(outcome))
    if settings.junit_path is not None:
        _write(settings.junit_path, to_junit(outcome))
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
    log = structlog.get_logger("gate.run")
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
