"""A task cancelled in the middle of a transaction (a worker told to stop, a request past its
deadline) leaves the store whole: the transaction is rolled back or committed as a unit, the
connection goes back to the pool rather than being terminated, and the next writer starts at
once. Before gate.store.settle, SQLAlchemy invalidated the connection of a cancelled statement;
on SQLite its write lock outlived it and the next writer waited out the 10 s busy timeout."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import event

from tests.store.helpers import insert


async def test_cancelling_mid_transaction_never_terminates_a_connection_or_stalls_a_writer(
    store, clock
):
    await insert(store, 30)
    invalidated: list[object] = []
    pool = store.engine.sync_engine.pool
    event.listen(pool, "invalidate", lambda *args: invalidated.append(args))
    event.listen(pool, "soft_invalidate", lambda *args: invalidated.append(args))

    async def claiming() -> None:
        while True:
            async with store.transaction() as tx:
                await tx.claim_gates("doomed", clock(), 60_000, 3)
                await tx.renew("doomed", {"gt_none"}, clock() + 60_000, now=clock())

    slowest = 0.0
    for attempt in range(40):
        task = asyncio.create_task(claiming())
        await asyncio.sleep(0.0005 * (attempt % 9))
        task.cancel()
        if attempt % 2:  # told twice, as a stopping worker used to
            await asyncio.sleep(0)
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        started = time.monotonic()
        async with store.transaction() as tx:
            await tx.release("doomed")
        slowest = max(slowest, time.monotonic() - started)

    assert invalidated == []
    assert slowest < 2.0, f"a writer after a cancelled transaction waited {slowest:.1f} s"
    async with store.transaction() as tx:  # every gate claimable again: nothing half-done
        assert len(await tx.claim_gates("next", clock(), 60_000, 100)) == 30
