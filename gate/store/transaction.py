"""The queries of durable gates, run inside one database transaction (`Store.transaction()`).

Leases: a worker claims due rows (`next_run_at <= now`, lease free or expired) by writing its
id and `lease_until` on them; on PostgreSQL the claim's SELECT is `FOR UPDATE SKIP LOCKED`, so
concurrent claimers on several replicas never take the same row and never wait on each other;
on SQLite the store runs one write transaction at a time (`BEGIN IMMEDIATE`). Every change a
worker makes is fenced: it applies only while the worker still holds the lease, so a worker
whose lease expired (and whose gate another took over) changes nothing.

Polling is per evaluation: a `watches` row per (workspace, by, ref), linked to the gates that
wait on it; recording a watch's new state wakes those gates (their `next_run_at` becomes now).
"""

from __future__ import annotations

from sqlalchemy import delete, exists, select

from gate.store.gate_queries import UPDATABLE, GateQueries, gate_values
from gate.store.tables import deliveries, gate_watches, gates, watches
from gate.store.values import FINISHED
from gate.store.watch_queries import WatchQueries
from gate.store.webhook_queries import WebhookQueries

__all__ = ["UPDATABLE", "Transaction", "gate_values"]


class Transaction(GateQueries, WatchQueries, WebhookQueries):
    """The store's queries over one open transaction; made by `Store.transaction()`. Each part
    lives in a module of its own (gate_queries, watch_queries, webhook_queries); purging, which
    spans them, lives here."""

    async def purge(self, finished_before: int, limit: int) -> int:
        """Delete at most `limit` gates finished before `finished_before` (their links go with
        them), then at most `limit` watches no gate links to any more, and webhook deliveries
        older than that. The number of gates deleted."""
        old = (
            select(gates.c.id)
            .where(
                gates.c.finished_at.is_not(None),
                gates.c.finished_at < finished_before,
                gates.c.status.in_(FINISHED),
            )
            .order_by(gates.c.finished_at)
            .limit(limit)
        )
        if self._dialect == "postgresql":
            old = old.with_for_update(skip_locked=True)
        purged = await self._execute(delete(gates).where(gates.c.id.in_(old.scalar_subquery())))
        orphans = (
            select(watches.c.key)
            .where(~exists().where(gate_watches.c.watch_key == watches.c.key))
            .limit(limit)
        )
        await self._execute(delete(watches).where(watches.c.key.in_(orphans.scalar_subquery())))
        stale = (
            select(deliveries.c.guid).where(deliveries.c.received_at < finished_before).limit(limit)
        )
        await self._execute(
            delete(deliveries).where(deliveries.c.guid.in_(stale.scalar_subquery()))
        )
        await self._purge_webhook_memory(finished_before, limit)
        return int(purged.rowcount)
