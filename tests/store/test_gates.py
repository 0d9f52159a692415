"""Inserting, reading, updating and cancelling gates: the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from gate.store import IdempotencyConflict, NewGate
from gate.store.ids import GATE_ID, new_gate_id
from tests.store.helpers import insert, new_gate

LEASE = 30_000


async def test_an_inserted_gate_is_queued_due_now_and_reads_back_as_written(store, clock):
    async with store.transaction() as tx:
        inserted = await tx.insert_gate(
            new_gate(
                repository="octo/cat",
                pull_number=7,
                sha="a" * 40,
                gate_name="detector",
                installation_id=42,
                max_wait_ms=60_000,
            )
        )
    assert inserted.created
    async with store.read() as tx:
        gate = await tx.gate(inserted.gate.id)
    assert gate == inserted.gate
    assert GATE_ID.fullmatch(gate.id)
    assert (gate.status, gate.created_at, gate.updated_at) == ("queued", clock.now, clock.now)
    assert (gate.next_run_at, gate.deadline_at) == (clock.now, clock.now + 60_000)
    assert gate.request == {"evals": ["e1"], "config": {"version": 1, "rules": ["map50 >= 0.5"]}}
    assert (gate.repository, gate.pull_number, gate.sha) == ("octo/cat", 7, "a" * 40)
    assert (gate.gate_name, gate.installation_id) == ("detector", 42)
    assert (gate.lease_owner, gate.version, gate.published_version, gate.runs) == (None, 0, 0, 1)
    assert not gate.finished


async def test_an_unknown_gate_is_none(store):
    async with store.read() as tx:
        assert await tx.gate("gt_" + "0" * 26) is None


async def test_the_same_idempotency_key_and_request_return_the_first_gate(store, clock):
    async with store.transaction() as tx:
        first = await tx.insert_gate(new_gate(idempotency_key="retry-1"))
    clock.advance(5_000)
    async with store.transaction() as tx:
        again = await tx.insert_gate(new_gate(idempotency_key="retry-1"))
        count = await tx.count_gates()
    assert first.created and not again.created
    assert again.gate == first.gate
    assert count == 1


async def test_the_same_idempotency_key_with_another_request_is_a_conflict(store):
    async with store.transaction() as tx:
        first = await tx.insert_gate(new_gate(idempotency_key="retry-1"))
    with pytest.raises(IdempotencyConflict, match=first.gate.id) as caught:
        async with store.transaction() as tx:
            await tx.insert_gate(new_gate(idempotency_key="retry-1", request={"evals": ["e2"]}))
    assert caught.value.gate_id == first.gate.id
    async with store.read() as tx:
        assert await tx.count_gates() == 1


async def test_twenty_concurrent_inserts_with_one_key_make_one_gate(store):
    async def submit():
        async with store.transaction() as tx:
            return await tx.insert_gate(new_gate(idempotency_key="storm"))

    results = await asyncio.gather(*(submit() for _ in range(20)))
    assert len({r.gate.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    async with store.read() as tx:
        assert await tx.count_gates() == 1


async def test_gates_without_a_key_are_never_merged(store):
    ids = await insert(store, 3)
    assert len(set(ids)) == 3


async def test_a_callback_gets_one_delivery_id_at_insert_pending(store):
    async with store.transaction() as tx:
        gate = (await tx.insert_gate(new_gate(callback_url="https://ci.example/hook"))).gate
        plain = (await tx.insert_gate(new_gate())).gate
    assert gate.callback_state == "pending"
    assert len(gate.callback_delivery or "") == 36
    assert (plain.callback_url, plain.callback_delivery, plain.callback_state) == (None, None, None)


@pytest.mark.parametrize(
    ("request_body", "found"),
    [
        ({"github": {"repository": "o/r", "token": "ghs_x"}}, "github.token"),
        ({"roboflow_api_key": "k"}, "roboflow_api_key"),
        ({"evals": [{"id": "e", "Authorization": "Bearer x"}]}, "evals[0].Authorization"),
        ({"callback": {"secret": "s"}}, "callback.secret"),
    ],
)
def test_a_request_holding_a_secret_is_refused_before_any_sql(request_body, found):
    with pytest.raises(ValueError, match="must hold no secret") as caught:
        NewGate(request=request_body, max_wait_ms=1)
    assert found in str(caught.value)
    # a secret's key with no value is not a secret
    NewGate(request={"github": {"repository": "o/r", "token": None}}, max_wait_ms=1)


def test_a_callback_url_with_credentials_is_refused():
    with pytest.raises(ValueError, match="credentials"):
        NewGate(request={}, max_wait_ms=1, callback_url="https://user:pw@ci.example/hook")


def test_gate_ids_sort_by_their_creation_time():
    ids = [new_gate_id(ms) for ms in (1, 2, 1_000, 1_800_000_000_000, 1_800_000_000_001)]
    assert ids == sorted(ids)
    assert all(GATE_ID.fullmatch(i) for i in ids)
    assert len({new_gate_id(5) for _ in range(100)}) == 100


async def test_cancel_takes_the_lease_finishes_the_gate_and_makes_it_due_for_its_effects(
    store, clock
):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        (claimed,) = await tx.claim_gates("w1", clock.now, LEASE, 10)
    clock.advance(1_000)
    async with store.transaction() as tx:
        cancelled = await tx.cancel_gate(gate_id, clock.now)
    assert cancelled is not None
    assert (cancelled.status, cancelled.finished_at, cancelled.next_run_at) == (
        "cancelled",
        clock.now,
        clock.now,
    )
    assert cancelled.version == claimed.version + 1
    assert (cancelled.lease_owner, cancelled.lease_until) == (None, None)
    async with store.transaction() as tx:
        # the worker that held it is fenced out: its update changes nothing
        assert not await tx.update_gate(gate_id, "w1", clock.now, status="done")
        # and any worker may claim it to publish the cancellation
        assert [g.id for g in await tx.claim_gates("w2", clock.now, LEASE, 10)] == [gate_id]


async def test_cancelling_a_finished_gate_changes_nothing_and_an_unknown_one_is_none(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.claim_gates("w1", clock.now, LEASE, 10)
        assert await tx.update_gate(
            gate_id, "w1", clock.now, release=True, status="done", finished_at=clock.now
        )
        before = await tx.gate(gate_id)
        clock.advance(1_000)
        after = await tx.cancel_gate(gate_id, clock.now)
        assert await tx.cancel_gate("gt_" + "0" * 26, clock.now) is None
    assert after == before
    assert after is not None and after.status == "done"


async def test_a_worker_update_writes_json_documents_and_reads_them_back(store, clock):
    (gate_id,) = await insert(store)
    result = {"verdict": "pass", "exit_code": 0, "checks": [{"metric": "map50", "value": 0.7}]}
    async with store.transaction() as tx:
        await tx.claim_gates("w1", clock.now, LEASE, 10)
        assert await tx.update_gate(
            gate_id,
            "w1",
            clock.now + 5,
            status="done",
            verdict="pass",
            exit_code=0,
            result=result,
            waiting_for=["e1"],
            headline={"metric": "map50", "value": 0.7, "baseline": None, "delta": None},
            report="## Passed",
            check_run_id=2**40,
            version=1,
        )
        gate = await tx.gate(gate_id)
    assert gate is not None
    assert (gate.result, gate.waiting_for, gate.report) == (result, ["e1"], "## Passed")
    assert gate.headline["baseline"] is None
    assert (gate.check_run_id, gate.version, gate.updated_at) == (2**40, 1, clock.now + 5)


async def test_update_refuses_what_a_worker_must_not_change(store, clock):
    (gate_id,) = await insert(store)
    async with store.transaction() as tx:
        await tx.claim_gates("w1", clock.now, LEASE, 10)
        for column in ("request", "id", "created_at", "lease_owner", "idempotency_key"):
            with pytest.raises(TypeError, match=column):
                await tx.update_gate(gate_id, "w1", clock.now, **{column: "x"})


async def test_a_webhook_delivery_is_recorded_once(store, clock):
    async with store.transaction() as tx:
        assert await tx.record_delivery("guid-1", "check_run", "rerequested", clock.now)
        assert not await tx.record_delivery("guid-1", "check_run", "rerequested", clock.now)
        assert await tx.record_delivery("guid-2", "ping", None, clock.now)
