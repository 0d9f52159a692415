"""A transaction's queries on watches: what a gate waits for (one row per workspace, by and
ref, linked to its gates), claimed for a look with a lease, recorded, and the gates woken."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import exists, or_, select, update

from gate.store.queries import Queries, watch_row
from gate.store.tables import gate_watches, gates, watches
from gate.store.values import ACTIVE, WatchRow, WatchSpec

__all__ = ["WatchQueries"]


class WatchQueries(Queries):
    """The watches' part of `Transaction`."""

    # --- watches ------------------------------------------------------------------------------

    async def watch(self, gate_id: str, specs: Sequence[WatchSpec]) -> list[str]:
        """Link the gate to what it waits for, creating the watches not yet known (due now);
        the watches' keys, in the order of `specs`."""
        now = self._clock()
        keys = [spec.key for spec in specs]
        for spec, key in zip(specs, keys, strict=True):
            await self._execute(
                self._insert(watches)
                .values(
                    key=key,
                    workspace=spec.workspace,
                    by=spec.by,
                    ref=spec.ref,
                    status="unknown",
                    eval_id=None,
                    detail=None,
                    checked_at=None,
                    next_poll_at=now,
                    lease_owner=None,
                    lease_until=None,
                )
                .on_conflict_do_nothing(index_elements=[watches.c.key])
            )
            await self._execute(
                self._insert(gate_watches)
                .values(gate_id=gate_id, watch_key=key)
                .on_conflict_do_nothing(
                    index_elements=[gate_watches.c.gate_id, gate_watches.c.watch_key]
                )
            )
        return keys

    async def watches_of(self, gate_id: str, *, lock: bool = False) -> list[WatchRow]:
        """What the gate waits for, with each watch's last known state. `lock` holds them
        (PostgreSQL: FOR SHARE; SQLite's writer is alone anyway) until the transaction ends, so
        `record_watch` (which takes them FOR UPDATE) waits for a gate put to sleep on what it
        read here, and then wakes it: no change is lost between the read and the sleep."""
        statement = (
            select(watches)
            .join(gate_watches, gate_watches.c.watch_key == watches.c.key)
            .where(gate_watches.c.gate_id == gate_id)
            .order_by(watches.c.key)
        )
        if lock and self._dialect == "postgresql":
            statement = statement.with_for_update(read=True, of=watches)
        return [watch_row(r) for r in (await self._execute(statement)).all()]

    async def claim_watches(
        self, owner: str, now: int, lease_ms: int, limit: int
    ) -> list[WatchRow]:
        """Up to `limit` watches due for a poll that a gate still waits on, leased to `owner`;
        concurrent claimers never get the same watch."""
        waited_on = exists().where(
            gate_watches.c.watch_key == watches.c.key,
            gates.c.id == gate_watches.c.gate_id,
            gates.c.status.in_(ACTIVE),
        )
        due = (
            select(watches.c.key)
            .where(
                watches.c.next_poll_at <= now,
                or_(watches.c.lease_until.is_(None), watches.c.lease_until <= now),
                waited_on,
            )
            .order_by(watches.c.next_poll_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(watches)
            .where(watches.c.key.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + lease_ms)
            .returning(watches)
        )
        claimed = [watch_row(r) for r in (await self._execute(statement)).all()]
        return sorted(claimed, key=lambda w: (w.next_poll_at, w.key))

    async def poll_soon(self, keys: Iterable[str], at: int) -> int:
        """Make the watches `keys` due for a poll by `at` at the latest (a gate found its
        evaluation not done after all, or was linked to a watch that settled long ago); the
        number of watches moved."""
        wanted = list(keys)
        if not wanted:
            return 0
        result = await self._execute(
            update(watches)
            .where(watches.c.key.in_(wanted), watches.c.next_poll_at > at)
            .values(next_poll_at=at)
        )
        return int(result.rowcount)

    async def record_watch(
        self,
        key: str,
        owner: str,
        now: int,
        *,
        status: str,
        eval_id: str | None,
        detail: str | None,
        next_poll_at: int,
    ) -> int | None:
        """Record a poll's answer and end `owner`'s lease on the watch. When the status or the
        evaluation it resolves to changed, the gates waiting on it become due now. The number
        of gates woken; None (nothing recorded) when `owner` no longer holds the watch."""
        before = (
            await self._execute(
                select(watches.c.status, watches.c.eval_id)
                .where(watches.c.key == key, self._held(watches, owner, now))
                .with_for_update()
            )
        ).first()
        if before is None:
            return None
        await self._execute(
            update(watches)
            .where(watches.c.key == key)
            .values(
                status=status,
                eval_id=eval_id,
                detail=detail,
                checked_at=now,
                next_poll_at=next_poll_at,
                lease_owner=None,
                lease_until=None,
            )
        )
        if (before.status, before.eval_id) == (status, eval_id):
            return 0
        waiting = select(gate_watches.c.gate_id).where(gate_watches.c.watch_key == key)
        woken = await self._execute(
            update(gates)
            .where(
                gates.c.id.in_(waiting.scalar_subquery()),
                gates.c.status.in_(ACTIVE),
                or_(gates.c.next_run_at.is_(None), gates.c.next_run_at > now),
            )
            .values(next_run_at=now)
        )
        return int(woken.rowcount)
