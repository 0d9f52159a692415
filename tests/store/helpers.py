"""Small builders for the store's tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gate.store import NewGate, Store
from gate.store.tables import gates
from gate.store.transaction import gate_values


def new_gate(**overrides: Any) -> NewGate:
    fields: dict[str, Any] = {
        "request": {"evals": ["e1"], "config": {"version": 1, "rules": ["map50 >= 0.5"]}},
        "max_wait_ms": 3_600_000,
    }
    fields.update(overrides)
    return NewGate(**fields)


async def insert(store: Store, count: int = 1, **overrides: Any) -> list[str]:
    """`count` gates inserted through the store, one transaction; their ids."""
    ids = []
    async with store.transaction() as tx:
        for _ in range(count):
            ids.append((await tx.insert_gate(new_gate(**overrides))).gate.id)
    return ids


async def bulk_insert(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    """Rows of `gate_values` written at once (for history and plan tests)."""
    async with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            await conn.execute(gates.insert(), rows[start : start + 1000])


def row(now: int, **columns: Any) -> dict[str, Any]:
    """A gate row created at `now` with `columns` changed (repository, status, verdict...)."""
    values = gate_values(new_gate(), now)
    values.update(columns)
    return values
