"""Where a local run's results come from: saved files first, the Roboflow API for the rest.

`gate_local` is the use case the command line and the Action share: read the config and the
saved results (capped, `gate.local.files`), connect to Roboflow only if something is left to
fetch (`LazyRoboflow`: an offline run never imports aiohttp), and run the engine within an
overall deadline. Each face builds its own `LocalGate` from its own settings.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gate.core.errors import NoWorkspace, ResultsUnavailable, UsageError
from gate.core.model import GateConfig
from gate.core.outcome import GateOutcome
from gate.engine import BaseEvals, GateRequest, run_gate
from gate.fetch import FetchOptions
from gate.local.files import ResultsFile, read_config, read_results
from gate.roboflow.api import DEFAULT_API_URL
from gate.saved_results import SavedResults

if TYPE_CHECKING:
    import aiohttp

    from gate.core.eval_info import EvalInfo, EvalQuery
    from gate.roboflow.client import RoboflowClient

__all__ = [
    "LazyRoboflow",
    "LocalGate",
    "RoboflowAccess",
    "cleartext_key_warning",
    "gate_local",
]


@dataclass(frozen=True, slots=True)
class RoboflowAccess:
    """How to reach the Roboflow API. The key is kept out of `repr`."""

    api_key: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    concurrency: int = 8  # connections
    timeout: float = 30.0  # seconds per request
    deadline: float = 720.0  # seconds for all fetching, from the first request


@dataclass(frozen=True, slots=True)
class LocalGate:
    """One local run: the config file, what to gate and where the results come from."""

    config_path: Path
    roboflow: RoboflowAccess
    config_shown: str | None = None  # how messages and the report name the config file
    config: GateConfig | None = None  # already read (the Action's, with the base's rules)
    eval_ids: tuple[str, ...] = ()
    baseline: str | None = None
    models: tuple[str, ...] = ()  # gate the newest eval of each model
    versions: tuple[str, ...] = ()  # gate the newest eval on each dataset version
    results: tuple[ResultsFile, ...] = ()
    workspace: str | None = None  # None: the config's
    wait: float = 600.0
    poll_interval: float = 10.0
    deadline_hint: str = "raise --deadline"  # how to give the run more time, for the error
    base: BaseEvals | None = None  # baseline: base (the Action's); None: a config error


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cleartext_key_warning(api_url: str, *, where: str) -> str | None:
    """A one-line warning when the API key would travel unencrypted to another machine:
    `api_url` is http:// and its host is not loopback. `where` names the setting."""
    try:
        parts = urlsplit(api_url.strip())
        host = parts.hostname
    except ValueError:
        return None  # not a URL at all: the client refuses it with its own message
    if parts.scheme.lower() != "http" or not host or _is_loopback(host):
        return None
    return (
        f"{where} is http://{host}: the Roboflow API key will be sent unencrypted; use https:// "
        "(plain http is only safe to a loopback address such as 127.0.0.1)"
    )


class LazyRoboflow:
    """The Roboflow API, connected on first use only: an offline run never imports aiohttp."""

    def __init__(self, access: RoboflowAccess, workspace: str | None) -> None:
        self._access = access
        self._workspace = workspace
        self._session: aiohttp.ClientSession | None = None
        self._client: RoboflowClient | None = None

    def _connect(self) -> RoboflowClient:
        if self._client is not None:
            return self._client
        access = self._access
        if not access.api_key:
            raise UsageError(
                "ROBOFLOW_API_KEY is not set: export it (a key with model-eval:read), "
                "or pass saved results with --results"
            )
        if not self._workspace:
            raise NoWorkspace
        import aiohttp  # noqa: PLC0415 - deferred: offline runs must not pay for it

        from gate.roboflow.client import RoboflowClient  # noqa: PLC0415 - same reason

        loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=access.concurrency),
        )
        self._client = RoboflowClient(
            self._session,
            api_key=access.api_key,
            workspace=self._workspace,
            api_url=access.api_url,
            timeout=access.timeout,
            deadline=loop.time() + access.deadline,
        )
        return self._client

    async def map_results(self, eval_id: str) -> Any:
        return await self._connect().map_results(eval_id)

    async def eval_info(self, eval_id: str) -> EvalInfo:
        return await self._connect().eval_info(eval_id)

    def has_info(self, eval_id: str) -> bool:  # noqa: ARG002 - the port's signature
        """The API says what every eval is (its model, dataset version, creation time)."""
        return True

    async def confusion_matrix(self, eval_id: str, split: str) -> Any:
        return await self._connect().confusion_matrix(eval_id, split)

    async def performance_by_class(self, eval_id: str, split: str) -> Any:
        return await self._connect().performance_by_class(eval_id, split)

    async def image_predictions(self, eval_id: str, split: str, offset: int, limit: int) -> Any:
        return await self._connect().image_predictions(eval_id, split, offset, limit)

    async def list_evals(self, query: EvalQuery) -> list[EvalInfo]:
        return await self._connect().list_evals(query)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def gate_local(job: LocalGate) -> GateOutcome:
    """Load the config and saved results, fetch the rest, and gate."""
    config = job.config
    if config is None:
        config = read_config(job.config_path, shown=job.config_shown)
    documents = read_results(job.results)
    workspace = job.workspace or config.workspace
    access = job.roboflow
    api = LazyRoboflow(access, workspace)
    source = SavedResults(documents, fallback=api if access.api_key or not documents else None)
    request = GateRequest(
        config=config,
        eval_ids=job.eval_ids,
        baseline=job.baseline,
        models=job.models,
        versions=job.versions,
        workspace=workspace,
        saved_ids=tuple(documents),
        base=job.base,
    )
    loop = asyncio.get_running_loop()
    options = FetchOptions(
        concurrency=access.concurrency,
        wait=job.wait,
        poll_interval=job.poll_interval,
        deadline=loop.time() + access.deadline,
    )
    try:
        async with asyncio.timeout(access.deadline):
            return await run_gate(request, source, options)
    except TimeoutError:
        raise ResultsUnavailable(
            f"overall deadline of {access.deadline:g} s reached; {job.deadline_hint}"
        ) from None
    finally:
        await api.close()
