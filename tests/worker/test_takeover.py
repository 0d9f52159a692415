"""Nothing is lost or done twice when a worker dies, stalls or stops: leases expire and are
taken over, a stale worker is fenced out, a check run made by a dead worker is adopted, a long
step keeps its lease by heartbeat, and SIGTERM's stop releases what it holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gate.api.body import parse_durable_call
from gate.github.connection import GitHubConnection
from gate.store import open_store
from gate.store.store import system_clock
from gate.worker import RoboflowKeys, Worker, WorkerSettings
from gate.worker.texts import check_run_name
from tests.roboflow_standin import Scripted
from tests.worker.conftest import GH_TOKEN, KEY, LEASE_MS, POLL_MS, REPO, SHA, durable_body


async def engine_started(world) -> None:
    """Until a gate's engine asks Roboflow for results (its step is in flight)."""
    for _ in range(500):
        if world.roboflow.count("map-results"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no step reached the engine")


async def test_a_check_run_made_by_a_worker_that_died_is_adopted_not_made_again(world):
    world.roboflow.add_eval("e1")
    dead, alive = world.worker("dead"), world.worker("alive")
    gate_id = await world.submit(dead, durable_body("e1"))
    (claimed,) = await dead.claim_round(1)
    # The dead worker created the check run; GitHub answered, then it died before storing it.
    async with GitHubConnection(token=GH_TOKEN, api_url=world.github_url) as github:
        made = await github.client().create_check_run(
            REPO,
            name=check_run_name("default"),
            head_sha=SHA,
            external_id=gate_id,
            title="Queued",
            summary="…",
            status="queued",
        )
    world.clock.advance(LEASE_MS)  # its lease expires
    await alive.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.check_run_id) == ("done", made)
    (run,) = world.runs(gate_id)
    assert run.conclusion == "success"
    assert claimed.id == gate_id


async def test_a_stale_worker_changes_nothing_once_its_gate_was_taken_over(world):
    world.roboflow.add_eval("e1")
    stale, fresh = world.worker("stale"), world.worker("fresh")
    gate_id = await world.submit(stale, durable_body("e1"))
    (claimed,) = await stale.claim_round(1)
    world.clock.advance(LEASE_MS + 1)
    await fresh.run_until_idle()
    finished = await world.gate(gate_id)
    requests = len(world.github.requests)
    await stale.step(claimed)  # it wakes up and steps the row it claimed long ago
    assert await world.gate(gate_id) == finished
    assert len(world.github.requests) == requests
    assert len(world.runs(gate_id)) == 1
    assert len(world.github.comments_on(REPO, 7)) == 1


async def test_a_transient_roboflow_failure_is_retried_with_backoff_before_the_deadline(world):
    world.roboflow.add_eval("e1")
    world.roboflow.script("map-results", [Scripted(503)] * 10)  # more than the client's retries
    worker = world.worker()
    gate_id = await world.submit(worker, durable_body("e1", github=False))
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.attempts) == ("queued", 1)
    assert gate.next_run_at == world.clock.now + 2 * POLL_MS
    world.roboflow.clear_scripts()
    world.clock.advance(2 * POLL_MS)
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.verdict) == ("done", "pass")


async def test_a_newer_evaluation_of_a_model_found_by_the_engine_sends_the_gate_back_to_wait(
    world,
):
    world.roboflow.add_eval("e1", model_id="m", created_at="2026-01-01T00:00:00Z")
    worker = world.worker()
    first = await world.submit(worker, durable_body({"model": "m"}, github=False))
    await worker.run_until_idle()
    assert (await world.gate(first)).result["evals"][0]["id"] == "e1"
    # A newer evaluation of the model starts; the watch still says done (e1).
    world.roboflow.add_eval("e2", model_id="m", status="running", created_at="2026-02-01T00:00:00Z")
    second = await world.submit(worker, durable_body({"model": "m"}, github=False))
    await worker.run_until_idle()
    gate = await world.gate(second)
    assert gate.status == "waiting"
    assert gate.waiting_for == ["the newest evaluation of model m (eval e2, running)"]
    world.roboflow.set_status("e2", "done")
    world.clock.advance(POLL_MS)
    await worker.run_until_idle()
    gate = await world.gate(second)
    assert gate.status == "done"
    assert gate.result["evals"][0]["id"] == "e2"


async def test_finished_gates_are_purged_after_the_retention_a_bounded_number_a_run(world):
    world.roboflow.add_eval("e1")
    worker = world.worker(retention_ms=86_400_000, purge_limit=2)
    ids = [await world.submit(worker, durable_body("e1", github=False)) for _ in range(3)]
    await worker.run_until_idle()
    assert await worker.purge_round(force=True) == 0  # not old enough
    world.clock.advance(86_400_001)
    assert await worker.purge_round(force=True) == 2
    assert await worker.purge_round(force=True) == 1
    assert [await world.gate(i) for i in ids] == [None, None, None]


async def test_stop_lets_a_step_in_flight_finish_within_the_grace_and_releases_the_rest(world):
    world.roboflow.add_eval("e1")
    world.roboflow.add_eval("e2", status="running")
    world.roboflow.latency = 0.3
    worker = world.worker(idle=0.05)
    await worker.start()
    slow = await world.submit(worker, durable_body("e1", github=False))
    waiting = await world.submit(worker, durable_body("e2", github=False))
    await engine_started(world)
    await worker.stop(grace=10.0)
    gate = await world.gate(slow)
    assert (gate.status, gate.lease_owner) == ("done", None)
    assert (await world.gate(waiting)).lease_owner is None
    async with world.store.read() as tx:
        held = [w for w in await tx.watches_of(waiting) if w.lease_owner is not None]
    assert held == []


async def test_stop_cuts_a_step_short_after_the_grace_and_another_worker_takes_it_at_once(world):
    world.roboflow.add_eval("e1")
    world.roboflow.latency = 2.0
    worker = world.worker(idle=0.05)
    await worker.start()
    gate_id = await world.submit(worker, durable_body("e1", github=False))
    await engine_started(world)
    await worker.stop(grace=0.1)
    gate = await world.gate(gate_id)
    assert (gate.finished, gate.lease_owner) == (False, None)  # released, not left to expire
    world.roboflow.latency = 0.0
    await world.worker("next").run_until_idle()  # no need to wait for the lease
    assert (await world.gate(gate_id)).status == "done"


async def test_a_step_longer_than_the_lease_keeps_its_gate_by_heartbeat(tmp_path: Path, world):
    """On the real clock: a one-second lease, a step of about three seconds."""
    store = open_store(f"sqlite:///{tmp_path}/real.db", clock=system_clock)
    await store.upgrade()
    world.roboflow.add_eval("e1")
    world.roboflow.latency = 1.0  # each of the engine's requests (info, map-results...)
    settings = WorkerSettings(
        lease_ms=1_000, poll_interval_ms=1_000, idle=0.05, keys=RoboflowKeys(default=KEY)
    )
    one = Worker(store, settings, sources=world.sources, owner="one")
    two = Worker(store, settings, sources=world.sources, owner="two")
    try:
        await one.start()
        body = durable_body("e1", github=False)
        gate_id = (await one.submit(parse_durable_call(body), body)).gate.id
        for _ in range(200):
            if one.in_flight:
                break
            await asyncio.sleep(0.01)
        await two.start()  # would take the gate over if one's lease lapsed
        for _ in range(100):
            async with store.read() as tx:
                gate = await tx.gate(gate_id)
            if gate is not None and gate.finished:
                break
            await asyncio.sleep(0.1)
        assert gate is not None and gate.status == "done"
        assert world.roboflow.count("map-results", "e1") == 1  # stepped once, by one
    finally:
        await two.stop(0.0)
        await one.stop(0.0)
        await store.close()
