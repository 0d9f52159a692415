"""What the worker runs with: its settings, and the adapters the service hands it.

The worker imports no face: the service builds these from its own settings and resources
(the shared HTTP session, results cache and single-flight behind `sources`; its CPU threads
behind `offload`) and tests build them from stand-ins and a fake clock.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from gate.api.bounds import Limits
from gate.api.stopping import StopFlag
from gate.fetch import ResultsSource
from gate.github.credentials import GitHubCredentials
from gate.worker.credentials import RoboflowKeys
from gate.worker.reconcile import ReconcileSettings

__all__ = [
    "CallbackOutcome",
    "CallbackSender",
    "Offload",
    "Sources",
    "WorkerSettings",
    "inline",
    "worker_id",
]

T = TypeVar("T")

Sources = Callable[[str, str], ResultsSource]
"""(workspace, Roboflow key) -> where that workspace's evaluations come from."""

Offload = Callable[..., Awaitable[Any]]
"""`offload(flag, what, fn, *args)` runs CPU work `fn(*args)` (the service: on its threads)."""


async def inline(flag: StopFlag, what: str, fn: Callable[..., T], *args: Any) -> T:
    """The `Offload` of tests and tools: the work runs here, on the event loop."""
    del what
    flag.check()
    return fn(*args)


class CallbackOutcome(Protocol):
    """What one callback attempt came to (gate.worker.callback's `CallbackAttempt`)."""

    @property
    def state(self) -> str: ...  # pending, delivered, failed
    @property
    def attempts(self) -> int: ...
    @property
    def next_at(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...


class CallbackSender(Protocol):
    """One signed attempt at POSTing `body` to `url` (the callback unit's `deliver_callback`
    with the server's secret, allow-list and transport bound)."""

    async def __call__(
        self, url: str, body: bytes, *, delivery: str, attempt: int, first_at: int
    ) -> CallbackOutcome: ...


def worker_id() -> str:
    """This process's lease owner id: host, pid and a random part (at most 64 characters)."""
    host = socket.gethostname()[:32] or "host"
    return f"{host}:{os.getpid()}:{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How the worker runs (the service's settings say most of it)."""

    lease_ms: int = 30_000  # EVAL_GATE_LEASE_SECONDS
    poll_interval_ms: int = 5_000  # EVAL_GATE_POLL_INTERVAL
    retention_ms: int = 90 * 86_400_000  # EVAL_GATE_RETENTION_DAYS
    batch: int = 50  # watches polled, or gates claimed, a round at most
    concurrency: int = 16  # gates stepped at once by this process
    idle: float = 1.0  # seconds between rounds that found nothing to do
    purge_every_ms: int = 600_000
    purge_limit: int = 1_000  # gates purged a run at most
    engine_deadline: float = 120.0  # seconds one gate's fetching and deciding may take
    fetch_concurrency: int = 8  # requests in flight for one gate
    look_timeout: float = 60.0  # seconds one look at a watched evaluation may take
    settled_recheck_ms: int = 86_400_000  # a settled watch is looked at again after this
    effect_backoff_cap_ms: int = 300_000  # the longest wait before GitHub is tried again
    max_effect_attempts: int = 12  # then a gate's GitHub effects are given up
    workspace: str | None = None  # ROBOFLOW_WORKSPACE
    github_api_url: str = "https://api.github.com"
    base_url: str = ""  # EVAL_GATE_PUBLIC_URL ("": URLs relative to the server)
    limits: Limits = field(default_factory=Limits)
    keys: RoboflowKeys = field(default_factory=RoboflowKeys)
    github: GitHubCredentials | None = None  # the server's; None: durable gates post nothing
    # the webhook reconciler's bounds (an App with a webhook secret); None: it does not run
    reconcile: ReconcileSettings | None = None

    def __post_init__(self) -> None:
        if self.lease_ms < 1_000 or self.poll_interval_ms < 1_000:
            raise ValueError("the lease and the poll interval are at least a second")
        if self.batch < 1 or self.concurrency < 1 or self.purge_limit < 1:
            raise ValueError("batch, concurrency and purge_limit are at least 1")
