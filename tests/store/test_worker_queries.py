"""The queries the durable worker adds: a watch polled sooner (`poll_soon`) and a finished gate
run again (`rerun_gate`, the seam of a check run's "Re-run")."""

from __future__ import annotations

import asyncio

from gate.store import WatchSpec
from tests.store.helpers import insert, new_gate

LEASE = 30_000
E1 = WatchSpec("ws", "id", "e1")
E2 = WatchSpec("ws", "id", "e2")


async def test_poll_soon_moves_a_watch_due_later_and_never_one_due_sooner(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.watch(gate_id, [E1, E2])
        for watch in await tx.claim_watches("p", clock.now, LEASE, 10):
            due = clock.now + (3_600_000 if watch.key == E1.key else 1_000)
            await tx.record_watch(
                watch.key,
                "p",
                clock.now,
                status="done",
                eval_id=None,
                detail=None,
                next_poll_at=due,
            )
    async with store.transaction() as tx:
        assert await tx.poll_soon([E1.key, E2.key], clock.now + 5_000) == 1
        assert await tx.poll_soon([], clock.now) == 0
        watches = {w.key: w for w in await tx.watches_of(gate_id)}
    assert watches[E1.key].next_poll_at == clock.now + 5_000
    assert watches[E2.key].next_poll_at == clock.now + 1_000


async def test_a_rerun_queues_a_finished_gate_again_keeping_its_github_ids(store, clock):
    async with store.transaction() as tx:
        gate = (await tx.insert_gate(new_gate(callback_url="https://hooks.example/h"))).gate
        await tx.claim_gates("w", clock.now, LEASE, 1)
        await tx.update_gate(
            gate.id,
            "w",
            clock.now,
            release=True,
            status="done",
            verdict="fail",
            exit_code=1,
            result={"verdict": "fail"},
            report="# report",
            finished_at=clock.now,
            check_run_id=7,
            comment_id=9,
            next_run_at=None,
            version=3,
            published_version=3,
            callback_state="delivered",
            callback_attempts=2,
        )
    clock.advance(60_000)
    async with store.transaction() as tx:
        again = await tx.rerun_gate(gate.id, clock.now, 600_000)
        assert await tx.rerun_gate("gt_01ARZ3NDEKTSV4RRFFQ69G5FAV", clock.now, 1) is None
    assert again is not None
    assert (again.status, again.next_run_at, again.deadline_at) == (
        "queued",
        clock.now,
        clock.now + 600_000,
    )
    assert (again.verdict, again.result, again.report, again.finished_at) == (None,) * 4
    assert (again.check_run_id, again.comment_id, again.runs) == (7, 9, 2)
    assert again.version == 4 and again.published_version == 3  # the queued state to publish
    assert again.callback_state == "pending" and again.callback_attempts == 0
    assert again.callback_delivery != gate.callback_delivery  # another document, another id


async def test_a_gate_still_active_is_not_rerun(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        same = await tx.rerun_gate(gate_id, clock.now + 1, 1_000)
    assert same is not None
    assert (same.status, same.runs, same.version) == ("queued", 1, 0)


async def test_a_look_that_takes_long_keeps_its_watch_by_renewal(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.watch(gate_id, [E1])
        await tx.claim_watches("p", clock.now, LEASE, 10)
    clock.advance(LEASE - 1)
    async with store.transaction() as tx:
        assert await tx.renew_watches("p", [E1.key, E2.key], clock.now + LEASE, now=clock.now) == {
            E1.key
        }
        assert await tx.renew_watches("other", [E1.key], clock.now + LEASE, now=clock.now) == set()
        assert await tx.claim_watches("q", clock.now + LEASE - 1, LEASE, 10) == []
    clock.advance(LEASE - 1)  # past the first lease, within the renewed one
    async with store.transaction() as tx:
        recorded = await tx.record_watch(
            E1.key,
            "p",
            clock.now,
            status="running",
            eval_id=None,
            detail=None,
            next_poll_at=clock.now + 5_000,
        )
    assert recorded is not None  # still held: recorded (None: the lease was lost)


async def test_a_change_recorded_while_a_gate_is_put_to_sleep_still_wakes_it(store, clock):
    """The step reads the watches (held) and puts its gate to sleep in one transaction; a poll
    recording a change meanwhile waits for it, then wakes the gate: no change is lost."""
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.watch(gate_id, [E1])
        await tx.claim_gates("w", clock.now, LEASE, 1)
        await tx.claim_watches("p", clock.now, LEASE, 1)

    async def record() -> int | None:
        async with store.transaction() as tx:
            return await tx.record_watch(
                E1.key,
                "p",
                clock.now,
                status="done",
                eval_id="e1",
                detail=None,
                next_poll_at=clock.now + 5_000,
            )

    async with store.transaction() as tx:
        (seen,) = await tx.watches_of(gate_id, lock=True)
        assert seen.status == "unknown"
        recording = asyncio.create_task(record())
        await asyncio.sleep(0.3)
        assert not recording.done()  # it waits for the sleep to be committed
        await tx.update_gate(
            gate_id, "w", clock.now, status="waiting", next_run_at=clock.now + 3_600_000
        )
    assert await recording == 1
    async with store.read() as tx:
        gate = await tx.gate(gate_id)
    assert gate.next_run_at == clock.now  # woken
