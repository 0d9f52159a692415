"""Claiming due gates with leases: concurrent claimers never share a gate, an expired lease is
taken over, a stale owner's update changes nothing (fencing)."""

from __future__ import annotations

import asyncio

from gate.store import open_store
from tests.store.helpers import insert

LEASE = 30_000


async def test_only_due_gates_are_claimed_most_overdue_first(store, clock):
    first, second = await insert(store, 2)
    clock.advance(10)
    later = (await insert(store))[0]
    async with store.transaction() as tx:
        # `later` is due in a minute; `second` has nothing to do
        await tx.claim_gates("setup", clock.now, 1, 10)
        assert await tx.update_gate(
            later, "setup", clock.now, release=True, next_run_at=clock.now + 60_000
        )
        assert await tx.update_gate(second, "setup", clock.now, release=True, next_run_at=None)
        assert await tx.update_gate(
            first, "setup", clock.now, release=True, next_run_at=clock.now - 5
        )
    async with store.transaction() as tx:
        claimed = await tx.claim_gates("w1", clock.now, LEASE, 10)
    assert [g.id for g in claimed] == [first]
    assert (claimed[0].lease_owner, claimed[0].lease_until) == ("w1", clock.now + LEASE)
    async with store.transaction() as tx:
        assert await tx.update_gate(first, "w1", clock.now, release=True, next_run_at=None)
    clock.advance(60_000)
    async with store.transaction() as tx:
        assert [g.id for g in await tx.claim_gates("w1", clock.now, LEASE, 10)] == [later]


async def test_a_claim_takes_at_most_its_limit(store, clock):
    await insert(store, 5)
    async with store.transaction() as tx:
        assert len(await tx.claim_gates("w1", clock.now, LEASE, 3)) == 3
        assert len(await tx.claim_gates("w2", clock.now, LEASE, 3)) == 2
        assert await tx.claim_gates("w3", clock.now, LEASE, 3) == []


async def test_two_claimers_never_get_the_same_gate(store, clock):
    ids = set(await insert(store, 60))

    async def claimer(owner):
        got = []
        while True:
            async with store.transaction() as tx:
                batch = await tx.claim_gates(owner, clock.now, LEASE, 4)
            if not batch:
                return got
            got.extend(g.id for g in batch)
            await asyncio.sleep(0)

    a, b, c = await asyncio.gather(claimer("a"), claimer("b"), claimer("c"))
    assert len(a) + len(b) + len(c) == 60
    assert set(a) | set(b) | set(c) == ids
    assert a and b  # both really claimed (not one draining the lot before the other began)


async def test_two_sqlite_stores_on_one_file_never_claim_the_same_gate(tmp_path, clock):
    """Two processes on one SQLite file (documented as one process, but never corrupt):
    BEGIN IMMEDIATE makes the second writer wait, not both claim."""
    url = f"sqlite:///{tmp_path}/shared.db"
    one, two = open_store(url, clock=clock), open_store(url, clock=clock)
    try:
        await one.upgrade()
        ids = set(await insert(one, 40))

        async def claimer(store, owner):
            got = []
            for _ in range(40):
                async with store.transaction() as tx:
                    got.extend(g.id for g in await tx.claim_gates(owner, clock.now, LEASE, 3))
                await asyncio.sleep(0)
            return got

        a, b = await asyncio.gather(claimer(one, "a"), claimer(two, "b"))
        assert sorted(a + b) == sorted(ids)
    finally:
        await one.close()
        await two.close()


async def test_an_expired_lease_is_taken_over(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        assert len(await tx.claim_gates("dead", clock.now, LEASE, 10)) == 1
    clock.advance(LEASE - 1)
    async with store.transaction() as tx:
        assert await tx.claim_gates("w2", clock.now, LEASE, 10) == []  # still held
    clock.advance(1)
    async with store.transaction() as tx:
        (taken,) = await tx.claim_gates("w2", clock.now, LEASE, 10)
    assert (taken.id, taken.lease_owner) == (gate_id, "w2")


async def test_a_fenced_update_by_a_stale_owner_changes_nothing(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.claim_gates("slow", clock.now, LEASE, 10)
    clock.advance(LEASE)
    async with store.transaction() as tx:
        await tx.claim_gates("fresh", clock.now, LEASE, 10)
        before = await tx.gate(gate_id)
        assert not await tx.update_gate(gate_id, "slow", clock.now, status="done", verdict="pass")
        assert await tx.gate(gate_id) == before
        assert await tx.update_gate(gate_id, "fresh", clock.now, status="waiting")


async def test_an_update_after_the_lease_ran_out_changes_nothing_even_untaken(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.claim_gates("w1", clock.now, LEASE, 10)
        assert not await tx.update_gate(gate_id, "w1", clock.now + LEASE, status="done")


async def test_an_update_with_release_frees_the_gate_for_the_next_claim(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.claim_gates("w1", clock.now, LEASE, 10)
        assert await tx.update_gate(gate_id, "w1", clock.now, release=True, status="waiting")
        (again,) = await tx.claim_gates("w2", clock.now, LEASE, 10)
    assert (again.id, again.lease_owner, again.status) == (gate_id, "w2", "waiting")


async def test_renew_extends_only_the_leases_still_held(store, clock):
    mine, lost = await insert(store, 2)
    async with store.transaction() as tx:
        await tx.claim_gates("w1", clock.now, LEASE, 10)
        assert await tx.release("w1", [lost]) == 1
        await tx.claim_gates("w2", clock.now, LEASE, 10)
        renewed = await tx.renew("w1", [mine, lost], clock.now + 2 * LEASE, now=clock.now)
        assert renewed == {mine}
        assert (await tx.gate(mine)).lease_until == clock.now + 2 * LEASE
        assert (await tx.gate(lost)).lease_owner == "w2"
        assert await tx.renew("w1", [], clock.now + LEASE, now=clock.now) == set()


async def test_release_at_shutdown_frees_every_gate_and_watch_of_the_owner(store, clock):
    from gate.store import WatchSpec  # noqa: PLC0415

    ids = await insert(store, 3)
    async with store.transaction() as tx:
        await tx.watch(ids[0], [WatchSpec("ws", "id", "e1")])
        await tx.claim_gates("w1", clock.now, LEASE, 2)
        await tx.claim_gates("other", clock.now, LEASE, 10)
        await tx.claim_watches("w1", clock.now, LEASE, 10)
    async with store.transaction() as tx:
        assert await tx.release("w1") == 2
        # at once claimable by another process, without waiting for the leases to expire
        assert len(await tx.claim_gates("w2", clock.now, LEASE, 10)) == 2
        assert len(await tx.claim_watches("w2", clock.now, LEASE, 10)) == 1
        assert (await tx.gate(ids[2])).lease_owner == "other"
