"""What all of a transaction's queries share: the connection, each statement run to its end
(gate.store.settle), the backend's INSERT, the lease fence, and rows read as values."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Row, and_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from gate.store.settle import settle
from gate.store.values import GateRow, WatchRow, canonical_json

__all__ = ["JSON_COLUMNS", "Queries", "encoded", "gate_row", "watch_row"]

JSON_COLUMNS = frozenset({"request", "waiting_for", "headline", "result"})
"""The gate columns stored as JSON text."""


def gate_row(row: Row[Any]) -> GateRow:
    values = dict(row._mapping)
    for name in JSON_COLUMNS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return GateRow(**values)


def watch_row(row: Row[Any]) -> WatchRow:
    return WatchRow(**row._mapping)


def encoded(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: canonical_json(value) if name in JSON_COLUMNS and value is not None else value
        for name, value in changes.items()
    }


class Queries:
    """The base of a transaction's queries (`gate.store.transaction.Transaction`)."""

    def __init__(self, connection: AsyncConnection, clock: Callable[[], int]) -> None:
        self._conn = connection
        self._clock = clock
        self._dialect = connection.dialect.name

    async def _execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        """One statement, run to its end even if this task is cancelled (gate.store.settle)."""
        return await settle(self._conn.execute(statement, parameters))

    def _insert(self, table: Any) -> Any:
        """INSERT with ON CONFLICT for this backend (both spell it the same way)."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _held(self, table: Any, owner: str, now: int) -> Any:
        return and_(table.c.lease_owner == owner, table.c.lease_until > now)
