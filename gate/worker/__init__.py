"""The durable gates' worker: it claims due gates, waits for their evaluations (one look per
evaluation per poll interval, however many gates wait on it), runs the engine and applies the
effects (check run, commit status, comment, callback), idempotently and under leases.

It knows the store, the engine, the service API's language (gate.api) and the adapters, and no
face (.importlinter keeps it so): the service starts it and its routes call it. Names load on
first use (PEP 562).

- `runner`: the `Worker` (its loops, leases, heartbeat, purge, stop) and its entry points;
- `stepper`: one step of one gate, the state machine;
- `watching`: one look at a watched evaluation, and what a gate waits for in words;
- `effects`, `texts`: the check run, commit status and comment, and what they say;
- `credentials`: the server's Roboflow keys and GitHub credentials;
- `context`: the worker's settings and the adapters the service hands it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Worker": "gate.worker.runner",
    "WorkerSettings": "gate.worker.context",
    "CallbackOutcome": "gate.worker.context",
    "CallbackSender": "gate.worker.context",
    "Offload": "gate.worker.context",
    "Sources": "gate.worker.context",
    "GitHubCredentials": "gate.worker.credentials",
    "NoGitHubCredentials": "gate.worker.credentials",
    "RoboflowKeys": "gate.worker.credentials",
    "StaticToken": "gate.worker.credentials",
    "parse_keys_file": "gate.worker.credentials",
}

__all__ = [
    "CallbackOutcome",
    "CallbackSender",
    "GitHubCredentials",
    "NoGitHubCredentials",
    "Offload",
    "RoboflowKeys",
    "Sources",
    "StaticToken",
    "Worker",
    "WorkerSettings",
    "parse_keys_file",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)

if TYPE_CHECKING:
    from gate.worker.context import (
        CallbackOutcome,
        CallbackSender,
        Offload,
        Sources,
        WorkerSettings,
    )
    from gate.worker.credentials import (
        GitHubCredentials,
        NoGitHubCredentials,
        RoboflowKeys,
        StaticToken,
        parse_keys_file,
    )
    from gate.worker.runner import Worker
