"""The durable gates' worker: it claims due gates, waits for their evaluations (one look per
evaluation per poll interval, however many gates wait on it), runs the engine and applies the
effects (check run, commit status, comment, callback), idempotently and under leases.

It knows the store, the engine, the service API's language (gate.api) and the adapters, and no
face (.importlinter keeps it so): the service starts it and its routes call it. Names load on
first use (PEP 562), so reading the service's settings (which parse `EVAL_GATE_CALLBACK_ALLOW`
with `AllowList`) loads no more than the module that owns the name.

- `runner`: the `Worker` (its loops, leases, heartbeat, purge, stop) and its entry points;
- `stepper`: one step of one gate, the state machine;
- `watching`: one look at a watched evaluation, and what a gate waits for in words;
- `seen`: what the looks saw of done evaluations, for the gates they wake (no second ask);
- `effects`, `texts`: the check run, commit status and comment, and what they say;
- `credentials`: the server's Roboflow keys (its GitHub credentials: gate.github.credentials);
- `context`: the worker's settings and the adapters the service hands it;
- `callback_allow`: which callback URLs may be called (`EVAL_GATE_CALLBACK_ALLOW`), pure;
- `callback_schedule`: when a failed callback is tried again, pure;
- `callback`: one signed attempt at delivering a callback, its outcome as data.
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
    "RoboflowKeys": "gate.worker.credentials",
    "parse_keys_file": "gate.worker.credentials",
    "DEFAULT_TIMEOUT": "gate.worker.callback",
    "DELIVERY_HEADER": "gate.worker.callback",
    "RESPONSE_CAP": "gate.worker.callback",
    "SECRET_SETTING": "gate.worker.callback",
    "SIGNATURE_HEADER": "gate.worker.callback",
    "CallbackAttempt": "gate.worker.callback",
    "CallbackSettings": "gate.worker.callback",
    "CallbackState": "gate.worker.callback",
    "callback_body": "gate.worker.callback",
    "callback_headers": "gate.worker.callback",
    "deliver_callback": "gate.worker.callback",
    "signature": "gate.worker.callback",
    "ALLOW_SETTING": "gate.worker.callback_allow",
    "MAX_URL_LENGTH": "gate.worker.callback_allow",
    "AllowList": "gate.worker.callback_allow",
    "CallbackRefused": "gate.worker.callback_allow",
    "CallbackUrl": "gate.worker.callback_allow",
    "check_callback_url": "gate.worker.callback_allow",
    "parse_callback_url": "gate.worker.callback_allow",
    "DEFAULT_SCHEDULE": "gate.worker.callback_schedule",
    "CallbackSchedule": "gate.worker.callback_schedule",
    "next_attempt_at": "gate.worker.callback_schedule",
}

__all__ = [
    "ALLOW_SETTING",
    "DEFAULT_SCHEDULE",
    "DEFAULT_TIMEOUT",
    "DELIVERY_HEADER",
    "MAX_URL_LENGTH",
    "RESPONSE_CAP",
    "SECRET_SETTING",
    "SIGNATURE_HEADER",
    "AllowList",
    "CallbackAttempt",
    "CallbackOutcome",
    "CallbackRefused",
    "CallbackSchedule",
    "CallbackSender",
    "CallbackSettings",
    "CallbackState",
    "CallbackUrl",
    "Offload",
    "RoboflowKeys",
    "Sources",
    "Worker",
    "WorkerSettings",
    "callback_body",
    "callback_headers",
    "check_callback_url",
    "deliver_callback",
    "next_attempt_at",
    "parse_callback_url",
    "parse_keys_file",
    "signature",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)

if TYPE_CHECKING:
    from gate.worker.callback import (
        DEFAULT_TIMEOUT,
        DELIVERY_HEADER,
        RESPONSE_CAP,
        SECRET_SETTING,
        SIGNATURE_HEADER,
        CallbackAttempt,
        CallbackSettings,
        CallbackState,
        callback_body,
        callback_headers,
        deliver_callback,
        signature,
    )
    from gate.worker.callback_allow import (
        ALLOW_SETTING,
        MAX_URL_LENGTH,
        AllowList,
        CallbackRefused,
        CallbackUrl,
        check_callback_url,
        parse_callback_url,
    )
    from gate.worker.callback_schedule import DEFAULT_SCHEDULE, CallbackSchedule, next_attempt_at
    from gate.worker.context import (
        CallbackOutcome,
        CallbackSender,
        Offload,
        Sources,
        WorkerSettings,
    )
    from gate.worker.credentials import (
        RoboflowKeys,
        parse_keys_file,
    )
    from gate.worker.runner import Worker
