"""Durable gates in the service process: the store opened and migrated at start, the worker
started beside the HTTP server, both stopped with it.

At start the database is opened and migrated (replicas starting together on one PostgreSQL
migrate once: the store takes an advisory lock), then checked (reachable, at this eval-gate's
revision, writable). A database that cannot be used does not stop the server: it says why in
one log line (`server.durable_gates_unavailable`), `/readyz` stays 200, `POST /v1/gate` works
as before, and every `/v1/gates` route answers 503 naming the problem (`Durable.worker`).

The worker gets the process's resources: its fetches go through the one HTTP session, the
results cache and the single-flight every `POST /v1/gate` shares (so a durable gate and a
synchronous one on the same evaluation share one fetch), its CPU work through the work pool,
its GitHub requests through the same session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from gate.api.errors import ApiError
from gate.core.errors import GateError
from gate.fetch import ResultsSource
from gate.github.credentials import GitHubCredentials, github_credentials
from gate.http.client import default_transport
from gate.roboflow.client import RoboflowClient
from gate.server.cache import SharedResults, tenant_of
from gate.server.metrics import ServerMetrics, TimedSource
from gate.server.settings import ServerSettings
from gate.server.state import Upstream
from gate.server.work import WorkPool
from gate.store import Store, StoreUnavailable, open_store
from gate.worker import (
    CallbackRefused,
    CallbackSettings,
    RoboflowKeys,
    Worker,
    WorkerSettings,
    deliver_callback,
)
from gate.worker.context import CallbackOutcome, CallbackSender
from gate.worker.reconcile import ReconcileSettings

__all__ = [
    "DURABLE",
    "Durable",
    "callback_check",
    "callback_sender",
    "start_durable",
    "worker_settings",
]

OFF = (
    "durable gates are off on this server: it has no database; its operator sets "
    "EVAL_GATE_DATABASE_URL"
)


@dataclass(slots=True)
class Durable:
    """Durable gates on this server: the store and its worker, or why there are none."""

    store: Store | None = None
    running: Worker | None = None
    problem: str | None = OFF

    @property
    def worker(self) -> Worker:
        """The worker; the 503 naming the problem when durable gates are unavailable."""
        if self.running is None:
            raise ApiError(503, "database_unavailable", self.problem or OFF)
        return self.running


DURABLE = web.AppKey("eval_gate.durable", Durable)


def worker_settings(
    settings: ServerSettings, github: GitHubCredentials | None = None
) -> WorkerSettings:
    """The worker's settings, from the service's (`github`: its GitHub credentials, made on the
    process's session: `github_credentials`)."""
    return WorkerSettings(
        lease_ms=round(settings.lease_seconds * 1000),
        poll_interval_ms=round(settings.poll_interval * 1000),
        retention_ms=settings.retention_days * 86_400_000,
        concurrency=settings.max_concurrent_gates,
        engine_deadline=settings.request_deadline,
        look_timeout=settings.request_deadline,
        workspace=settings.workspace,
        github_api_url=settings.github_api_url,
        base_url=settings.public_url or "",
        limits=settings.limits,
        keys=RoboflowKeys(default=settings.roboflow_api_key, by_workspace=settings.roboflow_keys),
        github=github,
        # As an App with a webhook, failed deliveries are asked again (gate.worker.reconcile).
        reconcile=(
            ReconcileSettings()
            if settings.github_app is not None and settings.github_webhook_secret
            else None
        ),
    )


def callback_check(settings: ServerSettings) -> Callable[[str], str]:
    """The check of a submitted callback URL: the URL to call (normalised), or ValueError
    saying why this server will not call it (EVAL_GATE_CALLBACK_ALLOW)."""

    def check(url: str) -> str:
        found = settings.callback_allow.check(url)
        if not isinstance(found, CallbackRefused):
            return found.url
        raise ValueError(found.reason)

    return check


def callback_sender(settings: ServerSettings, session: Any) -> CallbackSender | None:
    """One signed attempt at a callback, through `session` (None without a secret: no
    callback URL is allowed then, and none is ever sent unsigned)."""
    if not settings.callback_secret:
        return None
    bound = CallbackSettings(secret=settings.callback_secret, allow=settings.callback_allow)
    transport = default_transport(session)

    async def send(
        url: str, body: bytes, *, delivery: str, attempt: int, first_at: int
    ) -> CallbackOutcome:
        return await deliver_callback(
            url,
            body,
            delivery=delivery,
            attempt=attempt,
            first_at=first_at,
            settings=bound,
            transport=transport,
        )

    return send


async def start_durable(
    settings: ServerSettings, upstream: Upstream, work: WorkPool, metrics: ServerMetrics
) -> Durable:
    """Open, migrate and check the database, then start the worker; or say (one log line)
    why durable gates are unavailable."""
    log = structlog.get_logger("gate.server.durable")
    if settings.database is None:
        return Durable()
    store: Store | None = None
    try:
        store = open_store(settings.database)
        revision = await store.upgrade()
        await store.check()
    except (StoreUnavailable, GateError) as error:
        reason = error.reason if isinstance(error, StoreUnavailable) else str(error)
        log.warning("server.durable_gates_unavailable", reason=reason)
        if store is not None:
            await store.close()
        return Durable(problem=f"durable gates are unavailable: {reason}")

    def sources(workspace: str, key: str) -> ResultsSource:
        client = RoboflowClient(
            upstream.session,
            api_key=key,
            workspace=workspace,
            api_url=settings.api_url,
            timeout=settings.upstream_timeout,
        )
        return SharedResults(
            TimedSource(client, metrics.upstream_seconds, upstream.clock),
            upstream.cache,
            upstream.flights,
            tenant=tenant_of(key),
            api_url=settings.api_url,
            workspace=workspace,
            on_hit=metrics.cache_hits.inc,
            on_miss=metrics.cache_misses.inc,
        )

    github = github_credentials(
        app=settings.github_app,
        token=settings.github_token,
        transport=upstream.session,
        api_url=settings.github_api_url,
    )
    worker = Worker(
        store,
        worker_settings(settings, github),
        sources=sources,
        github_transport=upstream.session,
        offload=work.run,
        callbacks=callback_sender(settings, upstream.session),
        secrets=settings.secrets,
    )
    await worker.start()
    log.info("server.durable_gates", database=store.shown_url, revision=revision)
    return Durable(store, worker, None)


async def stop_durable(durable: Durable, grace: float) -> None:
    """Stop the worker (the steps in flight get `grace` seconds; leases released)."""
    if durable.running is not None:
        await durable.running.stop(grace)
        durable.running = None
        durable.problem = "the server is shutting down: send the request to another replica"


async def close_durable(durable: Durable) -> None:
    if durable.store is not None:
        await durable.store.close()
        durable.store = None
