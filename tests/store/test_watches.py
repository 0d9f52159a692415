"""Polling is per evaluation: gates waiting on one evaluation share one watch, and recording
its new state wakes exactly the gates still waiting on it."""

from __future__ import annotations

import asyncio

import pytest

from gate.store import WatchSpec
from tests.store.helpers import insert

LEASE = 30_000
E1 = WatchSpec("ws", "id", "e1")
MODEL = WatchSpec("ws", "model", "detector/3")


def test_a_watch_key_is_fixed_width_and_tells_its_parts_apart():
    assert len(E1.key) == 64
    assert WatchSpec("ws", "model", "e1").key != E1.key
    # NUL separates the key's parts: a part holding one would let two watches share a key
    with pytest.raises(ValueError, match="printable"):
        WatchSpec("a", "id", "b\0id\0c")
    with pytest.raises(ValueError, match="by one of"):
        WatchSpec("ws", "eval", "e1")  # type: ignore[arg-type]


async def test_gates_waiting_on_one_evaluation_share_one_watch(store, clock):
    ids = await insert(store, 10)
    async with store.transaction() as tx:
        for gate_id in ids:
            assert await tx.watch(gate_id, [E1, MODEL]) == [E1.key, MODEL.key]
        await tx.watch(ids[0], [E1])  # linking twice is a no-op
        watches = await tx.claim_watches("poller", clock.now, LEASE, 100)
        of_first = await tx.watches_of(ids[0])
    assert sorted(w.key for w in watches) == sorted([E1.key, MODEL.key])
    assert {(w.by, w.ref, w.status) for w in of_first} == {
        ("id", "e1", "unknown"),
        ("model", "detector/3", "unknown"),
    }


async def test_recording_a_changed_watch_wakes_only_its_waiting_gates(store, clock):
    waiting, finished, elsewhere = await insert(store, 3)
    async with store.transaction() as tx:
        await tx.watch(waiting, [E1])
        await tx.watch(finished, [E1])
        await tx.watch(elsewhere, [MODEL])
        # every gate stepped once: nothing to do until woken
        await tx.claim_gates("w", clock.now, LEASE, 10)
        for gate_id in (waiting, elsewhere):
            await tx.update_gate(
                gate_id, "w", clock.now, release=True, status="waiting", next_run_at=None
            )
        await tx.update_gate(
            finished, "w", clock.now, release=True, status="done", next_run_at=None
        )
    clock.advance(5_000)
    async with store.transaction() as tx:
        claimed = await tx.claim_watches("p", clock.now, LEASE, 10)
        assert {w.key for w in claimed} == {E1.key, MODEL.key}  # each has a waiting gate
        woken = await tx.record_watch(
            E1.key,
            "p",
            clock.now,
            status="running",
            eval_id="e1",
            detail=None,
            next_poll_at=clock.now + 5_000,
        )
        due = await tx.claim_gates("w", clock.now, LEASE, 10)
    assert woken == 1
    assert [g.id for g in due] == [waiting]
    async with store.read() as tx:
        (recorded,) = await tx.watches_of(waiting)
    assert (recorded.status, recorded.eval_id, recorded.checked_at) == ("running", "e1", clock.now)
    assert (recorded.next_poll_at, recorded.lease_owner) == (clock.now + 5_000, None)


async def test_recording_an_unchanged_watch_wakes_nobody(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.watch(gate_id, [E1])
        await tx.claim_gates("w", clock.now, LEASE, 10)
        await tx.update_gate(
            gate_id, "w", clock.now, release=True, status="waiting", next_run_at=None
        )
    for step in range(2):
        clock.advance(5_000)
        async with store.transaction() as tx:
            assert len(await tx.claim_watches("p", clock.now, LEASE, 10)) == 1
            woken = await tx.record_watch(
                E1.key,
                "p",
                clock.now,
                status="running",
                eval_id=None,
                detail=f"poll {step}",
                next_poll_at=clock.now,
            )
        assert woken == (1 if step == 0 else 0)


async def test_record_watch_by_a_stale_poller_records_nothing(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.watch(gate_id, [E1])
        await tx.claim_watches("slow", clock.now, LEASE, 10)
    clock.advance(LEASE)
    async with store.transaction() as tx:
        assert len(await tx.claim_watches("fresh", clock.now, LEASE, 10)) == 1
        assert (
            await tx.record_watch(
                E1.key,
                "slow",
                clock.now,
                status="done",
                eval_id="e1",
                detail=None,
                next_poll_at=clock.now,
            )
            is None
        )
        (watch,) = await tx.watches_of(gate_id)
    assert (watch.status, watch.lease_owner) == ("unknown", "fresh")


async def test_only_watches_a_gate_still_waits_on_are_claimed_when_due(store, clock):
    active, done = await insert(store, 2)
    async with store.transaction() as tx:
        await tx.watch(active, [E1])
        await tx.watch(done, [MODEL])
        await tx.claim_gates("w", clock.now, LEASE, 10)
        await tx.update_gate(done, "w", clock.now, release=True, status="done")
        (claimed,) = await tx.claim_watches("p", clock.now, LEASE, 10)
        assert claimed.key == E1.key
        await tx.record_watch(
            E1.key,
            "p",
            clock.now,
            status="running",
            eval_id=None,
            detail=None,
            next_poll_at=clock.now + 5_000,
        )
        assert await tx.claim_watches("p", clock.now + 4_999, LEASE, 10) == []
        assert len(await tx.claim_watches("p", clock.now + 5_000, LEASE, 10)) == 1


async def test_two_pollers_never_get_the_same_watch(store, clock):
    (gate_id,) = await insert(store)
    specs = [WatchSpec("ws", "id", f"e{i}") for i in range(30)]
    async with store.transaction() as tx:
        await tx.watch(gate_id, specs)

    async def poller(owner):
        got = []
        while True:
            async with store.transaction() as tx:
                batch = await tx.claim_watches(owner, clock.now, LEASE, 3)
            if not batch:
                return got
            got.extend(w.key for w in batch)
            await asyncio.sleep(0)

    a, b = await asyncio.gather(poller("a"), poller("b"))
    assert sorted(a + b) == sorted(s.key for s in specs)
