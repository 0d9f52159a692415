"""What goes into the store and what comes out: frozen dataclasses, no SQL.

Times are integers of milliseconds since the Unix epoch (UTC). JSON columns come out decoded
(`request`, `waiting_for`, `headline`, `result`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ACTIVE",
    "FINISHED",
    "MAX_LIMIT",
    "STATUSES",
    "GateQuery",
    "GateRow",
    "Inserted",
    "NewGate",
    "Page",
    "WatchRow",
    "WatchSpec",
    "canonical_json",
]

ACTIVE = ("queued", "waiting")
"""A gate in these states has work left: its first step, or evaluations to wait for."""
FINISHED = ("done", "error", "timed_out", "cancelled", "superseded")
STATUSES = ACTIVE + FINISHED

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
WatchBy = Literal["id", "model", "version"]
WATCH_BY = ("id", "model", "version")

# Keys a request must not hold: durable gates keep no secret, and the store refuses to be the
# place one leaks into (the HTTP layer refuses them first, with a better message).
_SECRET_KEY = re.compile(
    r"token|api[_-]?key|password|secret|authorization|credential", re.IGNORECASE
)
MAX_REQUEST_DEPTH = 64


def canonical_json(value: Any) -> str:
    """`value` as compact JSON with sorted keys: one text per value (for hashes and storage)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _secret_paths(value: Any, path: str = "", depth: int = 0) -> list[str]:
    if depth > MAX_REQUEST_DEPTH:
        raise ValueError(f"request nests deeper than {MAX_REQUEST_DEPTH}")
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)) and item not in (None, "", False):
                found.append(where)
            found.extend(_secret_paths(item, where, depth + 1))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found.extend(_secret_paths(item, f"{path}[{index}]", depth + 1))
    return found


def _has_userinfo(url: str) -> bool:
    _scheme, sep, rest = url.partition("://")
    return bool(sep) and "@" in rest.split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class NewGate:
    """A gate to insert: its validated request (no secret in it) and what is indexed of it."""

    request: Mapping[str, Any]
    max_wait_ms: int
    idempotency_key: str | None = None
    repository: str | None = None
    pull_number: int | None = None
    sha: str | None = None
    gate_name: str | None = None
    installation_id: int | None = None
    callback_url: str | None = None

    def __post_init__(self) -> None:
        secrets = _secret_paths(self.request)
        if secrets:
            raise ValueError(
                f"a durable gate's request must hold no secret, found {', '.join(secrets[:5])}"
            )
        if self.callback_url is not None and _has_userinfo(self.callback_url):
            raise ValueError("a callback URL must not hold credentials (user:password@)")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if self.idempotency_key is not None and not 0 < len(self.idempotency_key) <= 255:
            raise ValueError("an idempotency key has 1 to 255 characters")

    def request_json(self) -> str:
        return canonical_json(self.request)

    def request_hash(self) -> str:
        return hashlib.sha256(self.request_json().encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class GateRow:
    """One durable gate as stored (see gate/store/tables.py for what each column means)."""

    id: str
    created_at: int
    updated_at: int
    status: str
    idempotency_key: str | None
    request_hash: str
    request: Any
    repository: str | None
    pull_number: int | None
    sha: str | None
    gate_name: str | None
    installation_id: int | None
    deadline_at: int
    next_run_at: int | None
    lease_owner: str | None
    lease_until: int | None
    attempts: int
    version: int
    published_version: int
    check_run_id: int | None
    comment_id: int | None
    waiting_for: Any
    verdict: str | None
    exit_code: int | None
    headline: Any
    result: Any
    report: str | None
    error: str | None
    callback_url: str | None
    callback_delivery: str | None
    callback_state: str | None
    callback_attempts: int
    callback_next_at: int | None
    finished_at: int | None
    runs: int
    superseded_by: str | None

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE


@dataclass(frozen=True, slots=True)
class Inserted:
    """What `insert_gate` did: the gate, and whether this call created it (False: the same
    idempotency key and request were submitted before, and this is that gate)."""

    gate: GateRow
    created: bool


@dataclass(frozen=True, slots=True)
class WatchSpec:
    """One thing a gate waits for: an evaluation by id, or a model's or version's newest."""

    workspace: str
    by: WatchBy
    ref: str

    def __post_init__(self) -> None:
        if self.by not in WATCH_BY:
            raise ValueError(f"a watch is by one of {', '.join(WATCH_BY)}, got {self.by!r}")
        if not self.workspace or not self.ref:
            raise ValueError("a watch needs a workspace and a reference")
        if not (self.workspace.isprintable() and self.ref.isprintable()):
            # NUL separates the parts of the key: with one inside a part, two different
            # watches would share a key.
            raise ValueError("a watch's workspace and reference are printable text")

    @property
    def key(self) -> str:
        """The watch's key: sha256 of `workspace NUL by NUL ref` (fixed width, any text)."""
        text = f"{self.workspace}\0{self.by}\0{self.ref}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class WatchRow:
    """One watched evaluation: its last known state and when it is next looked at."""

    key: str
    workspace: str
    by: str
    ref: str
    status: str
    eval_id: str | None
    detail: str | None
    checked_at: int | None
    next_poll_at: int
    lease_owner: str | None
    lease_until: int | None


@dataclass(frozen=True, slots=True)
class GateQuery:
    """A page of gate history: newest first, optionally filtered; `cursor` is the previous
    page's `next_cursor`."""

    repository: str | None = None
    pull_number: int | None = None
    sha: str | None = None
    status: str | None = None
    verdict: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")


@dataclass(frozen=True, slots=True)
class Page:
    """A page of gates, newest first, and the cursor of the next page (None: the last)."""

    rows: Sequence[GateRow] = field(default_factory=tuple)
    next_cursor: str | None = None
