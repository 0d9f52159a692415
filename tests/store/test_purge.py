"""Retention: finished gates older than the cut-off are purged, a bounded number per run, with
their links and the watches no gate needs any more."""

from __future__ import annotations

from gate.store import WatchSpec
from tests.store.helpers import insert

LEASE = 30_000
DAY = 86_400_000


async def finish(store, clock, ids, status="done"):
    async with store.transaction() as tx:
        await tx.claim_gates("w", clock.now, LEASE, len(ids) + 10)
        for gate_id in ids:
            assert await tx.update_gate(
                gate_id,
                "w",
                clock.now,
                release=True,
                status=status,
                finished_at=clock.now,
                next_run_at=None,
            )


async def test_purge_deletes_only_old_finished_gates_a_bounded_number_per_run(store, clock):
    old = await insert(store, 5)
    async with store.transaction() as tx:
        for gate_id in old:
            await tx.watch(gate_id, [WatchSpec("ws", "id", "shared")])
    await finish(store, clock, old)
    clock.advance(91 * DAY)
    recent = await insert(store, 2)
    await finish(store, clock, recent[:1], status="cancelled")
    (active,) = await insert(store)
    async with store.transaction() as tx:
        await tx.watch(active, [WatchSpec("ws", "id", "kept")])
    cutoff = clock.now - 90 * DAY
    async with store.transaction() as tx:
        assert await tx.purge(cutoff, limit=3) == 3
        assert await tx.count_gates() == 5
        assert await tx.purge(cutoff, limit=3) == 2
        assert await tx.purge(cutoff, limit=3) == 0
        assert await tx.count_gates() == 3
        for gate_id in old:
            assert await tx.gate(gate_id) is None
        assert [w.ref for w in await tx.watches_of(active)] == ["kept"]


async def test_purge_removes_watches_no_gate_links_to(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.watch(gate_id, [WatchSpec("ws", "id", "e1")])
    await finish(store, clock, [gate_id])
    clock.advance(DAY)
    async with store.transaction() as tx:
        assert await tx.purge(clock.now, limit=10) == 1
        # the orphaned watch is gone: nothing polls it any more
        (fresh,) = await insert_in(tx)
        await tx.watch(fresh, [WatchSpec("ws", "id", "e1")])
        (watch,) = await tx.watches_of(fresh)
    assert (watch.status, watch.checked_at) == ("unknown", None)


async def insert_in(tx):
    from tests.store.helpers import new_gate  # noqa: PLC0415

    return [(await tx.insert_gate(new_gate())).gate.id]


async def test_purge_forgets_old_webhook_deliveries(store, clock):
    async with store.transaction() as tx:
        await tx.record_delivery("old", "check_run", "rerequested", clock.now)
    clock.advance(DAY)
    async with store.transaction() as tx:
        await tx.record_delivery("new", "check_run", "rerequested", clock.now)
        await tx.purge(clock.now - 1, limit=10)
        assert await tx.record_delivery("old", "check_run", "rerequested", clock.now)
        assert not await tx.record_delivery("new", "check_run", "rerequested", clock.now)
