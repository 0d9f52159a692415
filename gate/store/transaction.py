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

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from gate.store.errors import IdempotencyConflict
from gate.store.ids import new_gate_id
from gate.store.paging import encode_cursor, list_statement
from gate.store.settle import settle
from gate.store.tables import (
    deliveries,
    gate_watches,
    gates,
    pull_heads,
    redeliveries,
    replaced_heads,
    watches,
)
from gate.store.values import (
    ACTIVE,
    FINISHED,
    GateQuery,
    GateRow,
    Inserted,
    NewGate,
    Page,
    WatchRow,
    WatchSpec,
    canonical_json,
)

__all__ = ["UPDATABLE", "Transaction", "gate_values"]

_JSON_COLUMNS = frozenset({"request", "waiting_for", "headline", "result"})
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


def _gate(row: Row[Any]) -> GateRow:
    values = dict(row._mapping)
    for name in _JSON_COLUMNS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return GateRow(**values)


def _watch(row: Row[Any]) -> WatchRow:
    return WatchRow(**row._mapping)


def _encoded(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: canonical_json(value) if name in _JSON_COLUMNS and value is not None else value
        for name, value in changes.items()
    }


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


class Transaction:
    """The store's queries over one open transaction; made by `Store.transaction()`."""

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
            return Inserted(_gate(inserted), created=True)
        existing = (
            await self._execute(select(gates).where(gates.c.idempotency_key == new.idempotency_key))
        ).first()
        if existing is None:  # the other insert rolled back between our two statements
            return await self.insert_gate(new)
        gate = _gate(existing)
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
        return None if row is None else _gate(row)

    async def list_gates(self, query: GateQuery) -> Page:
        """One page of history, newest first (`BadCursor` for a cursor not given out here)."""
        rows = [_gate(r) for r in (await self._execute(list_statement(query))).all()]
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
        claimed = [_gate(r) for r in (await self._execute(statement)).all()]
        return sorted(claimed, key=lambda g: (g.next_run_at or 0, g.id))

    def _held(self, table: Any, owner: str, now: int) -> Any:
        return and_(table.c.lease_owner == owner, table.c.lease_until > now)

    async def update_gate(
        self, gate_id: str, owner: str, now: int, *, release: bool = False, **changes: Any
    ) -> bool:
        """Change the gate `owner` holds; `release` also ends its lease. False (and nothing
        changed) when `owner` no longer holds it: the lease expired or another took it over."""
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise TypeError(f"update_gate cannot change {', '.join(sorted(unknown))}")
        values = _encoded(changes)
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

    async def count_gates(self) -> int:
        """How many gates are stored (for metrics and tests)."""
        return int((await self._execute(select(func.count()).select_from(gates))).scalar_one())

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
        return [_watch(r) for r in (await self._execute(statement)).all()]

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
        claimed = [_watch(r) for r in (await self._execute(statement)).all()]
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

    # --- webhook deliveries (issue 19) --------------------------------------------------------

    async def record_delivery(self, guid: str, event: str, action: str | None, now: int) -> bool:
        """Remember a webhook delivery; False when it was recorded before (a redelivery).
        Concurrent deliveries of one guid: the primary key decides, exactly one gets True (on
        PostgreSQL the others wait for its transaction; rolled back, one of them wins)."""
        statement = (
            self._insert(deliveries)
            .values(guid=guid, event=event, action=action, received_at=now)
            .on_conflict_do_nothing(index_elements=[deliveries.c.guid])
            .returning(deliveries.c.guid)
        )
        return (await self._execute(statement)).first() is not None

    async def delivered(self, guids: Iterable[str]) -> set[str]:
        """Which of `guids` were recorded (the reconciler skips those)."""
        wanted = list(dict.fromkeys(guids))
        if not wanted:
            return set()
        statement = select(deliveries.c.guid).where(deliveries.c.guid.in_(wanted))
        return set((await self._execute(statement)).scalars().all())

    async def ask_redelivery(
        self, guid: str, delivery_id: int, now: int, *, again_after: int | None = None
    ) -> bool:
        """Claim asking GitHub to redeliver `guid`; False when it was asked before (by this
        replica or another), unless `again_after` ms have passed since (its redelivery failed
        too). Concurrent claimers: exactly one gets True."""
        insert = self._insert(redeliveries).values(guid=guid, delivery_id=delivery_id, asked_at=now)
        if again_after is None:
            statement = insert.on_conflict_do_nothing(index_elements=[redeliveries.c.guid])
        else:
            statement = insert.on_conflict_do_update(
                index_elements=[redeliveries.c.guid],
                set_={"delivery_id": delivery_id, "asked_at": now},
                where=redeliveries.c.asked_at <= now - again_after,
            )
        returned = await self._execute(statement.returning(redeliveries.c.guid))
        return returned.first() is not None

    async def asked_since(self, guids: Iterable[str], since: int) -> set[str]:
        """Which of `guids` were asked to be redelivered at `since` or later."""
        wanted = list(dict.fromkeys(guids))
        if not wanted:
            return set()
        statement = select(redeliveries.c.guid).where(
            redeliveries.c.guid.in_(wanted), redeliveries.c.asked_at >= since
        )
        return set((await self._execute(statement)).scalars().all())

    async def forget_redelivery(self, guid: str) -> None:
        """Drop the claim on `guid` (asking GitHub failed: the next run asks again)."""
        await self._execute(delete(redeliveries).where(redeliveries.c.guid == guid))

    def _active_of_pull(self, repository: str, number: int) -> Any:
        """Unfinished gates of pull request `number` of `repository` (any case): few rows,
        found by the status index."""
        return and_(
            gates.c.status.in_(ACTIVE),
            gates.c.pull_number == number,
            func.lower(gates.c.repository) == repository.lower(),
        )

    async def _end(self, condition: Any, now: int, **values: Any) -> list[str]:
        """End the unfinished gates matching `condition` as `values` say: finished now, their
        leases taken from any worker (whose next fenced update then fails), due now so that a
        worker publishes the ending. The ids ended."""
        statement = (
            update(gates)
            .where(gates.c.status.in_(ACTIVE), condition)
            .values(
                updated_at=now,
                finished_at=now,
                next_run_at=now,
                version=gates.c.version + 1,
                lease_owner=None,
                lease_until=None,
                waiting_for=None,
                attempts=0,
                **values,
            )
            .returning(gates.c.id)
        )
        return sorted((await self._execute(statement)).scalars().all())

    async def gates_of_commit(self, repository: str, sha: str, limit: int) -> list[GateRow]:
        """Up to `limit` gates of commit `sha` in `repository` (any case), oldest first (a
        check suite's "Re-run all checks")."""
        statement = (
            select(gates)
            .where(
                gates.c.sha == sha.lower(),
                func.lower(gates.c.repository) == repository.lower(),
            )
            .order_by(gates.c.created_at, gates.c.id)
            .limit(limit)
        )
        return [_gate(r) for r in (await self._execute(statement)).all()]

    async def _hold_pull(self, repository: str, number: int) -> None:
        """PostgreSQL: hold pull request `number`'s advisory lock until the transaction ends,
        so that a push's webhook and a gate's submit for that pull request check each other's
        writes one after the other (either sees the other's commit: a gate is never left
        waiting on a replaced head). SQLite runs one writer at a time anyway."""
        if self._dialect != "postgresql":
            return
        digest = hashlib.sha256(f"{repository.lower()}#{number}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await self._execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def note_pull_head(
        self, repository: str, number: int, *, before: str | None, after: str, at: int, now: int
    ) -> str:
        """Record a pull request's `synchronize` (its head moved from `before` to `after`,
        at `at` by the pull request's `updated_at`): `before` is a replaced head for good,
        and `after` the head unless a later one was recorded already (deliveries come in
        any order). The head as known now."""
        await self._hold_pull(repository, number)
        key = repository.lower()
        if before is not None and before != after:
            replaced = self._insert(replaced_heads).values(
                repository=key, pull_number=number, sha=before, replaced_by=after, recorded_at=now
            )
            await self._execute(
                replaced.on_conflict_do_update(
                    index_elements=[
                        replaced_heads.c.repository,
                        replaced_heads.c.pull_number,
                        replaced_heads.c.sha,
                    ],
                    set_={"replaced_by": after, "recorded_at": now},
                )
            )
        head = self._insert(pull_heads).values(
            repository=key, pull_number=number, head_sha=after, head_at=at, updated_at=now
        )
        await self._execute(
            head.on_conflict_do_update(
                index_elements=[pull_heads.c.repository, pull_heads.c.pull_number],
                set_={
                    "head_sha": head.excluded.head_sha,
                    "head_at": head.excluded.head_at,
                    "updated_at": now,
                },
                where=pull_heads.c.head_at <= head.excluded.head_at,
            )
        )
        current = await self._execute(
            select(pull_heads.c.head_sha).where(
                pull_heads.c.repository == key, pull_heads.c.pull_number == number
            )
        )
        return str(current.scalar_one())

    async def supersede_replaced(
        self, repository: str, number: int, now: int, *, head: str | None = None
    ) -> list[str]:
        """Supersede the unfinished gates of the pull request whose commit a push replaced
        (not its head now: a force-push may have made an old commit the head again); each
        `superseded_by` the head (`head`: as `note_pull_head` just said; else read). The ids
        superseded."""
        key = repository.lower()
        if head is None:
            head = (
                await self._execute(
                    select(pull_heads.c.head_sha).where(
                        pull_heads.c.repository == key, pull_heads.c.pull_number == number
                    )
                )
            ).scalar_one_or_none()
        if head is None:
            return []
        replaced = select(replaced_heads.c.sha).where(
            replaced_heads.c.repository == key, replaced_heads.c.pull_number == number
        )
        condition = and_(
            self._active_of_pull(repository, number),
            func.lower(gates.c.sha).in_(replaced.scalar_subquery()),
            func.lower(gates.c.sha) != head,
        )
        return await self._end(condition, now, status="superseded", superseded_by=head)

    async def supersede_if_replaced(self, gate: GateRow, now: int) -> bool:
        """Supersede the new `gate` at once when a push replaced its commit before it was
        submitted (the `synchronize` came first); whether it was."""
        if gate.repository is None or gate.pull_number is None or gate.sha is None:
            return False
        await self._hold_pull(gate.repository, gate.pull_number)
        ended = await self.supersede_replaced(gate.repository, gate.pull_number, now)
        return gate.id in ended

    async def cancel_pull(self, repository: str, number: int, now: int, error: str) -> list[str]:
        """Cancel the unfinished gates of a closed pull request (`error` says why)."""
        condition = self._active_of_pull(repository, number)
        return await self._end(condition, now, status="cancelled", error=error)

    async def end_gates_of(
        self,
        repositories: Iterable[str],
        installation_id: int | None,
        now: int,
        *,
        error: str,
        exit_code: int,
    ) -> list[str]:
        """End in `error` the unfinished gates of `repositories` (any case) or of installation
        `installation_id` (the App lost them)."""
        keys = sorted({r.lower() for r in repositories})
        matches: list[Any] = []
        if keys:
            matches.append(func.lower(gates.c.repository).in_(keys))
        if installation_id is not None:
            matches.append(gates.c.installation_id == installation_id)
        if not matches:
            return []
        return await self._end(or_(*matches), now, status="error", error=error, exit_code=exit_code)

    async def _purge_webhook_memory(self, before: int, limit: int) -> None:
        """What the webhooks remember, older than `before`, at most `limit` rows a table."""
        for table, column in (
            (pull_heads, pull_heads.c.updated_at),
            (replaced_heads, replaced_heads.c.recorded_at),
            (redeliveries, redeliveries.c.asked_at),
        ):
            keys = list(table.primary_key.columns)
            old = select(*keys).where(column < before).limit(limit)
            await self._execute(delete(table).where(tuple_(*keys).in_(old)))
