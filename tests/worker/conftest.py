"""The durable worker in this process: a real store (SQLite file, fake clock), the Roboflow and
GitHub stand-ins on loopback ports, and a `Worker` stepped round by round (`run_until_idle`),
so every test says exactly which time it is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gate.api.body import parse_durable_call
from gate.github.app import GitHubApp
from gate.github.app_key import AppAuth
from gate.github.credentials import StaticToken
from gate.http.retry import RetryPolicy
from gate.roboflow.client import RoboflowClient
from gate.store import Store, open_store
from gate.worker import RoboflowKeys, Worker, WorkerSettings
from tests.github_app_standin import FakeClock as AppClock
from tests.github_app_standin import StandInApp
from tests.github_standin import GitHubStandIn
from tests.roboflow_standin import RoboflowStandIn
from tests.store.conftest import FakeClock

KEY = "rf_WORKER_secret_key_0123456789"
GH_TOKEN = "ghs_WORKER_secret_token_0123456789"
REPO = "octo-org/octo-repo"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
CONFIG = "version: 1\nworkspace: ws\nrules:\n  - map50 >= 0.5\n"
LEASE_MS = 30_000
POLL_MS = 5_000


def durable_body(*evals: Any, github: dict[str, Any] | bool = True, **more: Any) -> dict[str, Any]:
    """A `POST /v1/gates` body gating `evals`, reporting on PR 7 at SHA (`github=False`: no
    GitHub; a dict: that `github` part)."""
    body: dict[str, Any] = {"config": CONFIG, "evals": list(evals)}
    if github is True:
        body["github"] = {"repository": REPO, "pull_number": 7, "sha": SHA}
    elif github:
        body["github"] = github
    body.update(more)
    return {k: v for k, v in body.items() if v is not None}


@dataclass
class World:
    """Everything a worker test touches."""

    store: Store
    clock: FakeClock
    roboflow: RoboflowStandIn
    github: GitHubStandIn
    session: aiohttp.ClientSession
    roboflow_url: str
    github_url: str
    made: list[Worker]

    def worker(self, owner: str = "worker-a", **settings: Any) -> Worker:
        fields: dict[str, Any] = {
            "lease_ms": LEASE_MS,
            "poll_interval_ms": POLL_MS,
            "github_api_url": self.github_url,
            "base_url": "https://gate.example",
            "keys": RoboflowKeys(default=KEY),
            "github": StaticToken(GH_TOKEN),
        }
        fields.update(settings)
        worker = Worker(
            self.store,
            WorkerSettings(**fields),
            sources=self.sources,
            github_transport=self.session,
            clock=self.clock,
            owner=owner,
        )
        self.made.append(worker)
        return worker

    def sources(self, workspace: str, key: str) -> RoboflowClient:
        return RoboflowClient(
            self.session, api_key=key, workspace=workspace, api_url=self.roboflow_url, timeout=5
        )

    async def submit(self, worker: Worker, body: dict[str, Any], key: str | None = None) -> str:
        durable = parse_durable_call(body, check_callback=lambda url: url)
        inserted = await worker.submit(durable, body, idempotency_key=key)
        return inserted.gate.id

    async def gate(self, gate_id: str) -> Any:
        async with self.store.read() as tx:
            return await tx.gate(gate_id)

    def runs(self, gate_id: str) -> list[Any]:
        return [r for r in self.github.check_runs.values() if r.external_id == gate_id]


@pytest.fixture
async def world(aiohttp_server: Callable[..., Any], tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock()
    roboflow = RoboflowStandIn(api_key=KEY, workspace="ws")
    github = GitHubStandIn(token=GH_TOKEN)
    github.add_pull(REPO, 7, head_sha=SHA)
    rf_server = await aiohttp_server(roboflow.app())
    gh_server = await aiohttp_server(github.app())
    store = open_store(f"sqlite:///{tmp_path}/gates.db", clock=clock)
    await store.upgrade()
    async with aiohttp.ClientSession() as session:
        world = World(
            store,
            clock,
            roboflow,
            github,
            session,
            str(rf_server.make_url("")).rstrip("/"),
            str(gh_server.make_url("")).rstrip("/"),
            [],
        )
        try:
            yield world
        finally:
            await store.close()
    assert github.violations == []


# --- the GitHub App's worker tests (test_reconcile, test_webhook_caches): the App stand-in that
# checks JWTs (each module's `github_app` fixture installs what it needs), on a fake clock in
# seconds, served by tests/conftest.py's `server`.

APP_ID = 4242


@pytest.fixture
def clock() -> AppClock:
    return AppClock()


@pytest.fixture
def standin(github_app: StandInApp) -> Iterator[GitHubStandIn]:
    fake = GitHubStandIn(github_app=github_app)
    yield fake
    assert fake.violations == []


@pytest.fixture
def app(
    server: Any, session: aiohttp.ClientSession, app_private_key: Any, clock: AppClock
) -> GitHubApp:
    return GitHubApp(
        AppAuth(APP_ID, app_private_key),
        session,
        api_url=f"http://{server.host}:{server.port}",
        clock=clock,
        retry=RetryPolicy(attempts=1),
    )
