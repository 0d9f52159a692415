"""A transaction's queries for the GitHub App's webhooks: deliveries recorded (once each),
redeliveries asked, pull requests' heads noted, and the gates they supersede or cancel."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, tuple_, update

from gate.store.queries import Queries, gate_row
from gate.store.tables import deliveries, gates, pull_heads, redeliveries, replaced_heads
from gate.store.values import ACTIVE, GateRow

__all__ = ["WebhookQueries"]


class WebhookQueries(Queries):
    """The webhooks' part of `Transaction`."""

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
        return [gate_row(r) for r in (await self._execute(statement)).all()]

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
