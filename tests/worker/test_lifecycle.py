"""A durable gate's life, stepped round by round on a fake clock: it waits for its running
evaluation, decides when it is done, and says each state on GitHub (check run, commit status,
comment) exactly once per gate."""

from __future__ import annotations

import sqlite3

from tests.worker.conftest import GH_TOKEN, KEY, POLL_MS, REPO, SHA, durable_body


async def test_a_gate_waits_for_its_running_evaluation_then_passes_and_says_so_on_github(world):
    world.roboflow.add_eval("e1", status="running")
    worker = world.worker()
    gate_id = await world.submit(worker, durable_body("e1"))
    await worker.run_until_idle()

    gate = await world.gate(gate_id)
    assert gate.status == "waiting"
    assert gate.waiting_for == ["evaluation e1 (running)"]
    (run,) = world.runs(gate_id)
    assert (run.status, run.conclusion, run.name) == ("in_progress", None, "eval-gate/default")
    assert "evaluation e1 (running)" in run.summary
    assert run.details_url == f"https://gate.example/v1/gates/{gate_id}"
    assert [s.state for s in world.github.statuses_for(REPO, SHA)] == ["pending"]
    assert world.github.comments_on(REPO, 7) == []  # the comment waits for the verdict

    world.roboflow.set_status("e1", "done")
    world.clock.advance(POLL_MS)
    await worker.run_until_idle()

    gate = await world.gate(gate_id)
    assert (gate.status, gate.verdict, gate.exit_code) == ("done", "pass", 0)
    assert gate.result["verdict"] == "pass" and gate.result["exit_code"] == 0
    assert gate.report.startswith("## ")
    assert gate.headline["eval"] == "e1"
    assert gate.published_version == gate.version and gate.next_run_at is None
    assert gate.lease_owner is None
    (run,) = world.runs(gate_id)
    assert run.states == [
        ("queued", None),
        ("in_progress", None),
        ("completed", "success"),
    ]
    assert run.title.startswith("Passed: all ")
    assert run.id == gate.check_run_id
    assert [s.state for s in world.github.statuses_for(REPO, SHA)] == ["pending", "success"]
    (comment,) = world.github.comments_on(REPO, 7)
    assert comment.body.startswith("<!-- eval-gate:default -->")
    assert comment.id == gate.comment_id


async def test_an_evaluation_done_at_submit_is_gated_at_the_first_step(world):
    world.roboflow.add_eval("e1")
    worker = world.worker()
    gate_id = await world.submit(worker, durable_body("e1"))
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.verdict) == ("done", "pass")
    (run,) = world.runs(gate_id)
    assert run.states == [("queued", None), ("completed", "success")]


async def test_a_failing_gate_completes_its_check_run_as_a_failure_with_exit_code_1(world):
    world.roboflow.add_eval("e1")
    worker = world.worker()
    body = durable_body("e1", config="version: 1\nworkspace: ws\nrules:\n  - map50 >= 0.99\n")
    gate_id = await world.submit(worker, body)
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.verdict, gate.exit_code) == ("done", "fail", 1)
    (run,) = world.runs(gate_id)
    assert run.conclusion == "failure"
    assert [s.state for s in world.github.statuses_for(REPO, SHA)][-1] == "failure"


async def test_polling_is_per_evaluation_however_many_gates_wait_on_it(world):
    world.roboflow.add_eval("e1", status="running")
    worker = world.worker()
    ids = [await world.submit(worker, durable_body("e1", github=False)) for _ in range(20)]
    await worker.run_until_idle()
    assert world.roboflow.count("info", "e1") == 1  # one look, for 20 gates
    for _ in range(3):  # three more poll intervals, still running
        world.clock.advance(POLL_MS)
        await worker.run_until_idle()
    assert world.roboflow.count("info", "e1") == 4
    assert world.roboflow.count("map-results") == 0  # nobody ran the engine meanwhile
    world.roboflow.set_status("e1", "done")
    world.clock.advance(POLL_MS)
    await worker.run_until_idle()
    # the look that saw it done, and no more: the 20 gates it woke use what it saw
    assert world.roboflow.count("info", "e1") == 5
    for gate_id in ids:
        assert (await world.gate(gate_id)).verdict == "pass"
    # every gate's engine shares one fetch of the done evaluation's results per round
    assert world.roboflow.count("map-results", "e1") <= 20


async def test_gates_woken_by_a_model_watch_use_the_list_its_look_saw(world):
    world.roboflow.add_eval("e1", model_id="m", status="running")
    worker = world.worker()
    ids = [await world.submit(worker, durable_body({"model": "m"}, github=False)) for _ in range(5)]
    await worker.run_until_idle()
    assert world.roboflow.count("list") == 1  # one look, for 5 gates
    world.roboflow.set_status("e1", "done")
    world.clock.advance(POLL_MS)
    await worker.run_until_idle()
    assert world.roboflow.count("list") == 2  # the look that saw it done; the gates ask nothing
    assert world.roboflow.count("info") == 0
    for gate_id in ids:
        gate = await world.gate(gate_id)
        assert (gate.verdict, gate.result["evals"][0]["id"]) == ("pass", "e1")
    # a gate submitted after that look asks for itself (a newer evaluation may have started)
    later = await world.submit(worker, durable_body({"model": "m"}, github=False))
    await worker.run_until_idle()
    assert world.roboflow.count("list") == 3  # the watch is settled: no look; the gate asks once
    assert (await world.gate(later)).verdict == "pass"


async def test_a_gate_that_waits_past_max_wait_times_out_and_says_so(world):
    world.roboflow.add_eval("e1", status="running")
    worker = world.worker()
    gate_id = await world.submit(worker, durable_body("e1", max_wait=60))
    await worker.run_until_idle()
    world.clock.advance(61_000)
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.exit_code, gate.verdict) == ("timed_out", 3, None)
    assert gate.error.startswith("timed out after waiting 60 s (max_wait) for: evaluation e1")
    assert "**timed out**" in gate.report
    (run,) = world.runs(gate_id)
    assert (run.status, run.conclusion) == ("completed", "timed_out")
    assert [s.state for s in world.github.statuses_for(REPO, SHA)][-1] == "error"
    (comment,) = world.github.comments_on(REPO, 7)
    assert "timed out" in comment.body


async def test_cancelling_a_waiting_gate_completes_its_check_run_cancelled(world):
    world.roboflow.add_eval("e1", status="running")
    worker = world.worker()
    gate_id = await world.submit(worker, durable_body("e1"))
    await worker.run_until_idle()
    cancelled = await worker.cancel(gate_id)
    assert cancelled.status == "cancelled"
    await worker.run_until_idle()
    (run,) = world.runs(gate_id)
    assert (run.status, run.conclusion) == ("completed", "cancelled")
    gate = await world.gate(gate_id)
    assert (gate.error, gate.exit_code) == ("cancelled before a verdict", 3)
    assert "**cancelled**" in gate.report and "no verdict" in run.summary
    assert world.github.comments_on(REPO, 7) == []  # none added, as a cancelled Action run
    assert (await worker.cancel(gate_id)).status == "cancelled"  # finished: unchanged
    assert await worker.cancel("gt_01ARZ3NDEKTSV4RRFFQ69G5FAV") is None


async def test_an_evaluation_that_does_not_exist_ends_the_gate_in_an_error(world):
    worker = world.worker()
    gate_id = await world.submit(worker, durable_body("nope"))
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.exit_code) == ("error", 3)
    assert "nope" in gate.error
    assert "could not run" in gate.report
    (run,) = world.runs(gate_id)
    assert run.conclusion == "failure" and run.title.startswith("Could not run: ")


async def test_no_secret_reaches_the_database(world, tmp_path):
    world.roboflow.add_eval("e1", status="running")
    world.roboflow.add_eval("e2")
    worker = world.worker()
    await world.submit(worker, durable_body("e1"))
    await world.submit(worker, durable_body("e2"))
    await world.submit(worker, durable_body("nope"))
    await worker.run_until_idle()
    with sqlite3.connect(tmp_path / "gates.db") as conn:
        rows = [
            str(row)
            for table in ("gates", "watches", "gate_watches")
            for row in conn.execute(f"SELECT * FROM {table}")
        ]
    dump = "\n".join(rows)
    assert "e1" in dump
    for secret in (KEY, GH_TOKEN):
        assert secret not in dump
        assert secret[4:16] not in dump


async def test_a_rerun_gates_again_and_updates_the_same_check_run_and_comment(world):
    world.roboflow.add_eval("e1")
    worker = world.worker()
    gate_id = await world.submit(worker, durable_body("e1"))
    await worker.run_until_idle()
    first = await world.gate(gate_id)
    assert await worker.rerun("gt_01ARZ3NDEKTSV4RRFFQ69G5FAV") is None
    again = await worker.rerun(gate_id)
    assert (again.status, again.runs) == ("queued", 2)
    world.roboflow.evals["e1"].map_results["splits"]["test"]["map50"] = 0.2  # a fresh look
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.verdict, gate.runs) == ("done", "fail", 2)
    assert (gate.check_run_id, gate.comment_id) == (first.check_run_id, first.comment_id)
    (run,) = world.runs(gate_id)
    assert [s for s in run.states if s[0] == "completed"] == [
        ("completed", "success"),
        ("completed", "failure"),
    ]
    (comment,) = world.github.comments_on(REPO, 7)
    assert "Failed" in comment.body or "fail" in comment.body.lower()


async def test_gates_stepped_minutes_after_the_look_that_woke_them_still_do_not_ask_again(world):
    # thousands of woken gates take minutes to step: the look's answer must last that long
    world.roboflow.add_eval("e1", status="running")
    worker = world.worker()
    ids = [await world.submit(worker, durable_body("e1", github=False)) for _ in range(3)]
    await worker.run_until_idle()
    world.roboflow.set_status("e1", "done")
    world.clock.advance(POLL_MS)
    assert await worker.poll_round() == 1  # the look that sees it done wakes the gates
    world.clock.advance(10 * 60_000)  # ten minutes later, the worker gets to them
    await worker.run_until_idle()
    assert world.roboflow.count("info", "e1") == 2  # the two looks; no gate asked
    for gate_id in ids:
        assert (await world.gate(gate_id)).verdict == "pass"
