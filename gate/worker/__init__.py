"""The durable gates' worker: it claims due gates, waits for their evaluations, runs the engine
and applies the effects (check run, commit status, comment, callback).

It knows the store, the engine and the adapters, and no face (.importlinter keeps it so): the
service starts it and its routes call it. Names load on first use (PEP 562), so reading the
service's settings (which parse `EVAL_GATE_CALLBACK_ALLOW` with `AllowList`) loads no more than
the module that owns the name.

- `callback_allow`: which callback URLs may be called (`EVAL_GATE_CALLBACK_ALLOW`), pure;
- `callback_schedule`: when a failed callback is tried again, pure;
- `callback`: one signed attempt at delivering a callback, its outcome as data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
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
    "CallbackRefused",
    "CallbackSchedule",
    "CallbackSettings",
    "CallbackState",
    "CallbackUrl",
    "callback_body",
    "callback_headers",
    "check_callback_url",
    "deliver_callback",
    "next_attempt_at",
    "parse_callback_url",
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
