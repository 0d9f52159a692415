"""The store's errors, all one line and all `GateError`s (so a face words them as it does any).

StoreError                      the base
├── StoreUnavailable            the database cannot be used: unreachable, not writable,
│                               not migrated (exit 3, a 503 on the service)
├── IdempotencyConflict         an Idempotency-Key already used for another request (a 409)
└── BadCursor                   a list cursor this store did not give out (a 400)
"""

from __future__ import annotations

from gate.core.errors import ExitCode, GateError

__all__ = ["BadCursor", "IdempotencyConflict", "StoreError", "StoreUnavailable"]


class StoreError(GateError):
    """Base of the store's errors."""


class StoreUnavailable(StoreError):
    """The database cannot be used; `reason` says why and what to do, without any password."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class IdempotencyConflict(StoreError):
    """The idempotency key is taken by a gate submitted with another request."""

    exit_code = ExitCode.USAGE

    def __init__(self, gate_id: str) -> None:
        self.gate_id = gate_id
        super().__init__(
            f"this Idempotency-Key was used for gate {gate_id} with another request; "
            "send the same request to get that gate, or a new key for a new gate"
        )


class BadCursor(StoreError):
    """A cursor that is not one the store gave out (malformed, tampered with, too long)."""

    exit_code = ExitCode.USAGE

    def __init__(self) -> None:
        super().__init__("cursor is not valid: pass the next_cursor of a previous page unchanged")
