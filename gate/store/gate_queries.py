"""A transaction's queries on gates: insert (idempotent), read, list, claim with a lease,
fenced update, renew and release leases, cancel, re-run, count."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update

from gate.store.errors import IdempotencyConflict
from gate.store.ids import new_gate_id
from gate.store.paging import encode_cursor, list_statement
from gate.store.queries import Queries, encoded, gate_row
from gate.store.tables import gates, watches
from gate.store.values import ACTIVE, FINISHED, GateQuery, GateRow, Inserted, NewGate, Page

__all__ = ["UPDATABLE", "GateQueries", "gate_values"]

UPDATABLE = frozenset(
    {
        "status",
        "next_run_at",
        "attempts",
        "version",
        "published_version",
        "check_run_id",
        "comment_id",
        "waiting_for",
        "verdict",
        "exit_code",
        "headline",
        "result",
        "report",
        "error",
        "callback_state",
        "callback_attempts",
        "callback_next_at",
        "finished_at",
        "runs",
        "superseded_by",
        "installation_id",
    }
)
"""What a worker may change on a gate it holds (never its request, id, times or lease)."""


def gate_values(new: NewGate, now: int) -> dict[str, Any]:
    """The row `insert_gate` writes for `new` at `now`: queued, due now, a new id (benches
    and tests insert these in bulk)."""
    return {
        "id": new_gate_id(now),
        "created_at": now,
        "updated_at": now,
        "status": "queued",
        "idempotency_key": new.idempotency_key,
        "request_hash": new.request_hash(),
        "request": new.request_json(),
        "repository": new.repository,
        "pull_number": new.pull_number,
        "sha": new.sha,
        "gate_name": new.gate_name,
        "installation_id": new.installation_id,
        "deadline_at": now + new.max_wait_ms,
        "next_run_at": now,
        "lease_owner": None,
        "lease_until": None,
        "attempts": 0,
        "version": 0,
        "published_version": 0,
        "check_run_id": None,
        "comment_id": None,
        "waiting_for": None,
        "verdict": None,
        "exit_code": None,
        "headline": None,
        "result": None,
        "report": None,
        "error": None,
        "callback_url": new.callback_url,
        "callback_delivery": str(uuid.uuid4()) if new.callback_url else None,
        "callback_state": "pending" if new.callback_url else None,
        "callback_attempts": 0,
        "callback_next_at": None,
        "finished_at": None,
        "runs": 1,
        "superseded_by": None,
    }


class GateQueries(Queries):
    """The gates' part of `Transaction`."""

    # --- gates --------------------------------------------------------------------------------

    async def insert_gate(self, new: NewGate) -> Inserted:
        """Insert a gate, queued and due now; with an idempotency key already used, the gate
        that key made when the request is the same, else `IdempotencyConflict`. Safe under
        concurrent inserts with one key: the unique key decides, the others read the winner."""
        now = self._clock()
        values = gate_values(new, now)
        statement = self._insert(gates).values(**values)
        if new.idempotency_key is not None:
            statement = statement.on_conflict_do_nothing(index_elements=[gates.c.idempotency_key])
        inserted = (await self._execute(statement.returning(gates))).first()
        if inserted is not None:
            return Inserted(gate_row(inserted), created=True)
        existing = (
            await self._execute(select(gates).where(gates.c.idempotency_key == new.idempotency_key))
        ).first()
        if existing is None:  # the other insert rolled back between our two statements
            return await self.insert_gate(new)
        gate = gate_row(existing)
        if gate.request_hash != values["request_hash"]:
            raise IdempotencyConflict(gate.id)
        return Inserted(gate, created=False)

    async def gate(self, gate_id: str, *, for_update: bool = False) -> GateRow | None:
        """The gate `gate_id`, or None. `for_update` locks the row (PostgreSQL) until the
        transaction ends."""
        statement = select(gates).where(gates.c.id == gate_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self._execute(statement)).first()
        return None if row is None else gate_row(row)

    async def list_gates(self, query: GateQuery) -> Page:
        """One page of history, newest first (`BadCursor` for a cursor not given out here)."""
        rows = [gate_row(r) for r in (await self._execute(list_statement(query))).all()]
        if len(rows) <= query.limit:
            return Page(tuple(rows), None)
        last = rows[query.limit - 1]
        return Page(tuple(rows[: query.limit]), encode_cursor(last.created_at, last.id))

    async def claim_gates(self, owner: str, now: int, lease_ms: int, limit: int) -> list[GateRow]:
        """Up to `limit` due gates (`next_run_at <= now`, lease free or expired), leased to
        `owner` until `now + lease_ms`, the most overdue first. Concurrent claimers never get
        the same gate."""
        due = (
            select(gates.c.id)
            .where(
                gates.c.next_run_at.is_not(None),
                gates.c.next_run_at <= now,
                or_(gates.c.lease_until.is_(None), gates.c.lease_until <= now),
            )
            .order_by(gates.c.next_run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(gates)
            .where(gates.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + lease_ms)
            .returning(gates)
        )
        claimed = [gate_row(r) for r in (await self._execute(statement)).all()]
        return sorted(claimed, key=lambda g: (g.next_run_at or 0, g.id))

    async def update_gate(
        self, gate_id: str, owner: str, now: int, *, release: bool = False, **changes: Any
    ) -> bool:
        """Change the gate `owner` holds; `release` also ends its lease. False (and nothing
        changed) when `owner` no longer holds it: the lease expired or another took it over."""
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise TypeError(f"update_gate cannot change {', '.join(sorted(unknown))}")
        values = encoded(changes)
        values["updated_at"] = now
        if release:
            values.update(lease_owner=None, lease_until=None)
        statement = (
            update(gates)
            .where(gates.c.id == gate_id, self._held(gates, owner, now))
            .values(**values)
        )
        result = await self._execute(statement)
        return bool(result.rowcount)

    async def renew(self, owner: str, ids: Iterable[str], until: int, *, now: int) -> set[str]:
        """Extend `owner`'s leases on `ids` to `until`; the ids it still held (and now holds)."""
        return await self._renew(gates, gates.c.id, (owner, ids), until=until, now=now)

    async def renew_watches(
        self, owner: str, keys: Iterable[str], until: int, *, now: int
    ) -> set[str]:
        """Extend `owner`'s leases on the watches `keys` to `until` (a look that takes long);
        the keys it still held (and now holds)."""
        return await self._renew(watches, watches.c.key, (owner, keys), until=until, now=now)

    async def _renew(
        self, table: Any, key: Any, held: tuple[str, Iterable[str]], *, until: int, now: int
    ) -> set[str]:
        """The rows of `table` among `held`'s keys that its owner still leases, leased to
        `until`."""
        owner, keys = held
        wanted = list(keys)
        if not wanted:
            return set()
        statement = (
            update(table)
            .where(key.in_(wanted), self._held(table, owner, now))
            .values(lease_until=until)
            .returning(key)
        )
        return set((await self._execute(statement)).scalars().all())

    async def release(self, owner: str, ids: Iterable[str] | None = None) -> int:
        """End `owner`'s leases: on `ids`, or (None) on every gate and watch it holds (at
        SIGTERM), so another process takes them over at once. The number of gates released."""
        condition = gates.c.lease_owner == owner
        if ids is not None:
            condition = and_(condition, gates.c.id.in_(list(ids)))
        result = await self._execute(
            update(gates).where(condition).values(lease_owner=None, lease_until=None)
        )
        if ids is None:
            await self._execute(
                update(watches)
                .where(watches.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
        return int(result.rowcount)

    async def cancel_gate(self, gate_id: str, now: int) -> GateRow | None:
        """Cancel the gate unless it is finished: `cancelled`, finished now, its lease taken
        from any worker (whose next fenced update then fails), due now so that a worker
        publishes the cancellation. The gate as it is after (unchanged if it was finished);
        None if there is no such gate."""
        statement = (
            update(gates)
            .where(gates.c.id == gate_id, gates.c.status.in_(ACTIVE))
            .values(
                status="cancelled",
                updated_at=now,
                finished_at=now,
                next_run_at=now,
                version=gates.c.version + 1,
                lease_owner=None,
                lease_until=None,
                waiting_for=None,
            )
        )
        await self._execute(statement)
        return await self.gate(gate_id)

    async def rerun_gate(self, gate_id: str, now: int, max_wait_ms: int) -> GateRow | None:
        """Run a finished gate again (issue 19: a check run's "Re-run"): the same request, a
        fresh look at its evaluations. It is queued and due now with a new deadline, its
        verdict and result cleared, `runs` counted up; it keeps its check run and comment ids
        (the same check run is updated again, the same comment edited) and gets a new callback
        delivery id (it will call back with another document). The gate as it is after
        (unchanged while it is not finished); None if there is no such gate."""
        statement = (
            update(gates)
            .where(gates.c.id == gate_id, gates.c.status.in_(FINISHED))
            .values(
                status="queued",
                updated_at=now,
                deadline_at=now + max_wait_ms,
                next_run_at=now,
                lease_owner=None,
                lease_until=None,
                attempts=0,
                version=gates.c.version + 1,
                waiting_for=None,
                verdict=None,
                exit_code=None,
                headline=None,
                result=None,
                report=None,
                error=None,
                finished_at=None,
                runs=gates.c.runs + 1,
                superseded_by=None,
                callback_delivery=case(
                    (gates.c.callback_url.is_(None), None), else_=str(uuid.uuid4())
                ),
                callback_state=case((gates.c.callback_url.is_(None), None), else_="pending"),
                callback_attempts=0,
                callback_next_at=None,
            )
        )
        await self._execute(statement)
        return await self.gate(gate_id)

    async def count_gates(self) -> int:
        """How many gates are stored (for metrics and tests)."""
        return int((await self._execute(select(func.count()).select_from(gates))).scalar_one())
