"""What the App's webhooks keep in the store, on SQLite and PostgreSQL: deliveries recorded once
however many arrive at once, a pull request's head whatever order its pushes are told in,
gates on replaced heads superseded (and not the head, even an old commit force-pushed back),
a closed pull request's gates cancelled, an uninstalled App's gates ended, redeliveries asked
once, and all of it purged after the retention."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from gate.store import GateRow, Store
from tests.store.helpers import new_gate

REPO = "Octo-Org/Octo-Repo"  # as submitted; GitHub's payloads may spell it otherwise
A, B, C = "a" * 40, "b" * 40, "c" * 40


async def submit(store: Store, sha: str = A, *, pull: int = 7, repo: str = REPO) -> GateRow:
    async with store.transaction() as tx:
        return (await tx.insert_gate(new_gate(repository=repo, pull_number=pull, sha=sha))).gate


async def gate(store: Store, gate_id: str) -> GateRow:
    async with store.read() as tx:
        found = await tx.gate(gate_id)
    assert found is not None
    return found


async def sync(store: Store, before: str | None, after: str, at: int, *, pull: int = 7) -> str:
    """A synchronize recorded and applied as the webhook does; the head after it."""
    async with store.transaction() as tx:
        head = await tx.note_pull_head(
            "octo-org/octo-repo", pull, before=before, after=after, at=at, now=at
        )
        await tx.supersede_replaced("octo-org/octo-repo", pull, at)
    return head


async def test_a_delivery_is_recorded_once(store):
    async with store.transaction() as tx:
        assert await tx.record_delivery("d-1", "check_run", "rerequested", 1) is True
        assert await tx.record_delivery("d-1", "check_run", "rerequested", 2) is False
    async with store.read() as tx:
        assert await tx.delivered(["d-1", "d-2"]) == {"d-1"}


async def test_twenty_concurrent_deliveries_of_one_id_have_exactly_one_effect(store):
    done = await submit(store)
    async with store.transaction() as tx:
        await tx.cancel_gate(done.id, 1)  # finished: a re-run may start it again

    async def deliver() -> bool:
        async with store.transaction() as tx:
            if not await tx.record_delivery("storm", "check_run", "rerequested", 5):
                return False
            again = await tx.rerun_gate(done.id, 5, 60_000)
            assert again is not None
            return True

    results = await asyncio.gather(*(deliver() for _ in range(20)))
    assert sum(results) == 1
    assert (await gate(store, done.id)).runs == 2


async def test_a_rolled_back_delivery_is_not_recorded(store):
    class Boom(Exception):
        pass

    async def record_then_fail() -> None:
        async with store.transaction() as tx:
            await tx.record_delivery("d-9", "pull_request", "closed", 1)
            raise Boom

    with pytest.raises(Boom):
        await record_then_fail()
    async with store.read() as tx:
        assert await tx.delivered(["d-9"]) == set()


async def test_a_push_supersedes_the_gates_on_the_head_it_replaced_not_the_new_one(store):
    old, new, other_pull = (
        await submit(store, A),
        await submit(store, B),
        await submit(store, A, pull=8),
    )
    assert await sync(store, A, B, 1_000) == B
    superseded = await gate(store, old.id)
    assert (superseded.status, superseded.superseded_by) == ("superseded", B)
    assert superseded.finished_at == 1_000
    assert superseded.next_run_at == 1_000  # due: a worker publishes it
    assert superseded.version == old.version + 1
    assert (await gate(store, new.id)).status == "queued"
    assert (await gate(store, other_pull.id)).status == "queued"


async def test_a_synchronize_told_late_does_not_move_the_head_back(store):
    assert await sync(store, B, C, 2_000) == C
    assert await sync(store, A, B, 1_000) == C  # the older push, delivered after the newer
    gate_b = await submit(store, B)
    gate_a = await submit(store, A)
    gate_c = await submit(store, C)
    async with store.transaction() as tx:
        for g in (gate_a, gate_b, gate_c):
            await tx.supersede_if_replaced(g, 3_000)
    assert (await gate(store, gate_a.id)).status == "superseded"
    assert (await gate(store, gate_b.id)).superseded_by == C
    assert (await gate(store, gate_c.id)).status == "queued"


async def test_an_old_commit_force_pushed_back_as_the_head_is_not_superseded(store):
    await sync(store, A, B, 1_000)
    await sync(store, B, A, 2_000)  # force-pushed back to A
    back_on_a = await submit(store, A)
    async with store.transaction() as tx:
        assert await tx.supersede_if_replaced(back_on_a, 3_000) is False
    assert (await gate(store, back_on_a.id)).status == "queued"


async def test_a_gate_submitted_after_the_push_that_replaced_its_commit_is_superseded(store):
    await sync(store, A, B, 1_000)
    late = await submit(store, A)
    async with store.transaction() as tx:
        assert await tx.supersede_if_replaced(late, 1_500) is True
    ended = await gate(store, late.id)
    assert (ended.status, ended.superseded_by, ended.finished_at) == ("superseded", B, 1_500)


async def test_finished_gates_are_never_superseded_or_cancelled(store):
    done = await submit(store, A)
    async with store.transaction() as tx:
        await tx.cancel_gate(done.id, 1)
    await sync(store, A, B, 1_000)
    async with store.transaction() as tx:
        assert await tx.cancel_pull("octo-org/octo-repo", 7, 2_000, "closed") == []
    assert (await gate(store, done.id)).status == "cancelled"


async def test_closing_a_pull_request_cancels_its_unfinished_gates_saying_why(store):
    mine, other = await submit(store, A), await submit(store, A, pull=8)
    async with store.transaction() as tx:
        ended = await tx.cancel_pull("OCTO-ORG/octo-repo", 7, 5_000, "pull request #7 closed")
    assert ended == [mine.id]
    cancelled = await gate(store, mine.id)
    assert (cancelled.status, cancelled.error) == ("cancelled", "pull request #7 closed")
    assert (await gate(store, other.id)).status == "queued"


async def test_an_uninstalled_app_ends_the_gates_of_its_repositories_in_an_error(store):
    listed = await submit(store, A)
    elsewhere = await submit(store, A, repo="octo-org/elsewhere")
    in_installation = await submit(store, A, repo="octo-org/third")
    async with store.transaction() as tx:
        later = 10**13
        assert len(await tx.claim_gates("w", later, 30_000, 10)) == 3
        assert await tx.update_gate(in_installation.id, "w", later + 1, installation_id=77)
        ended = await tx.end_gates_of(
            ["octo-org/OCTO-REPO"], 77, 9_000, error="the App was uninstalled", exit_code=3
        )
    assert ended == sorted([listed.id, in_installation.id])
    errored = await gate(store, listed.id)
    assert (errored.status, errored.error, errored.exit_code) == (
        "error",
        "the App was uninstalled",
        3,
    )
    assert errored.lease_owner is None
    assert (await gate(store, in_installation.id)).lease_owner is None  # taken from the worker
    assert (await gate(store, elsewhere.id)).status == "queued"
    async with store.transaction() as tx:
        assert await tx.end_gates_of([], None, 1, error="x", exit_code=3) == []


async def test_a_check_suite_finds_the_gates_of_its_commit_in_any_case(store):
    first, second = await submit(store, A), await submit(store, A)
    await submit(store, B)
    async with store.read() as tx:
        found = await tx.gates_of_commit("OCTO-ORG/octo-repo", A.upper(), 10)
        assert sorted(g.id for g in found) == sorted([first.id, second.id])
        assert len(await tx.gates_of_commit("octo-org/octo-repo", A, 1)) == 1


async def test_a_redelivery_is_asked_for_once_until_it_may_be_asked_again(store):
    async with store.transaction() as tx:
        assert await tx.ask_redelivery("g-1", 11, 1) is True
        assert await tx.ask_redelivery("g-1", 12, 2) is False
        assert await tx.ask_redelivery("g-1", 12, 500, again_after=1_000) is False
        assert await tx.asked_since(["g-1", "g-2"], 1) == {"g-1"}
        assert await tx.ask_redelivery("g-1", 12, 1_001, again_after=1_000) is True
        assert await tx.asked_since(["g-1"], 2) == {"g-1"}
        await tx.forget_redelivery("g-1")
        assert await tx.asked_since(["g-1"], 0) == set()


async def test_concurrent_reconcilers_claim_a_redelivery_once(store):
    async def claim() -> bool:
        async with store.transaction() as tx:
            return await tx.ask_redelivery("g-9", 9, 5_000, again_after=1_000)

    assert sum(await asyncio.gather(*(claim() for _ in range(10)))) == 1


async def test_the_webhooks_memory_is_purged_after_the_retention(store, clock):
    await sync(store, A, B, clock.now)
    async with store.transaction() as tx:
        await tx.ask_redelivery("g-1", 11, clock.now)
        await tx.record_delivery("d-1", "pull_request", "synchronize", clock.now)
    clock.advance(10)
    async with store.transaction() as tx:
        await tx.purge(clock.now, 100)
    late = await submit(store, A)
    async with store.transaction() as tx:
        assert await tx.supersede_if_replaced(late, clock.now) is False  # forgotten
        assert await tx.ask_redelivery("g-1", 11, clock.now) is True
        assert await tx.delivered(["d-1"]) == set()


async def test_a_push_and_a_submit_at_once_never_leave_the_old_heads_gate_waiting(store, backend):
    """PostgreSQL: the push's transaction has recorded the replaced head but not committed when
    a gate for that head is submitted; the submit waits for the pull request's lock, then sees
    the push and supersedes its gate (without the lock, neither would see the other)."""
    if backend != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time")

    async def waiting_for_a_lock() -> bool:
        async with store.engine.connect() as conn:
            found = await conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
            return bool(found.scalar())

    async def submit_on_the_old_head() -> str:
        async with store.transaction() as tx:
            made = (await tx.insert_gate(new_gate(repository=REPO, pull_number=7, sha=A))).gate
            await tx.supersede_if_replaced(made, 1_500)
            return made.id

    async with store.transaction() as push:
        await push.note_pull_head("octo-org/octo-repo", 7, before=A, after=B, at=1_000, now=1_000)
        await push.supersede_replaced("octo-org/octo-repo", 7, 1_000)
        submitting = asyncio.create_task(submit_on_the_old_head())
        while True:  # until the submit waits for the lock (or, were there none, has ended)
            if submitting.done() or await waiting_for_a_lock():
                break
            await asyncio.sleep(0.01)
    superseded = await gate(store, await submitting)
    assert (superseded.status, superseded.superseded_by) == ("superseded", B)
