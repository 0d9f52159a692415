"""A "Re-run" across a process death, with real `python -m gate serve` processes: the server
is SIGKILLed right after it accepted a `check_run` `rerequested` delivery (202), while the
re-run's first GitHub request hangs; a new server on the same database re-runs the gate, and
exactly once: one check run, completed twice in all (the first run, the re-run), one delivery
recorded, and GitHub's redelivery of the same id (200) changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from gate.store import open_store
from gate.store.tables import deliveries
from tests.durable.test_durable_process import (
    Stage,
    assert_no_secret,
    client,
    gate_body,
    kill,
    stage,  # noqa: F401 - the stand-ins and the servers' environment
    statuses,
    submit,
    until,
)
from tests.github_standin import hang
from tests.server.test_server_process import serve
from tests.webhook_payloads import check_run_rerequested, delivery

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SECRET = "whsec-PROCESS-webhook-0123456789abcdef"
REPO = "octo-org/octo-repo"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


async def post_delivery(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/v1/github/webhook", data=body, headers=headers) as resp,
    ):
        return resp.status


async def test_a_rerun_accepted_then_sigkilled_happens_once_on_the_next_server(
    stage: Stage,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
):
    database = tmp_path / "gates.db"
    env = {
        **stage.env,
        "EVAL_GATE_DATABASE_URL": f"sqlite:///{database}",
        "EVAL_GATE_GITHUB_WEBHOOK_SECRET": SECRET,
    }
    stage.roboflow.set_status("e0", "done")
    async with serve(**env) as first, client(first) as session:
        _, made = await submit(session, gate_body(0))
        gate_id = made["id"]

        async def published() -> bool:
            runs = stage.runs_of(gate_id)
            return bool(runs) and runs[0].conclusion == "success"

        await until(published, 30, "the gate passed on its check run")
        (run,) = stage.runs_of(gate_id)
        stage.github.fail("checks/update", hang())  # the re-run's first PATCH never ends
        payload = check_run_rerequested(
            REPO, check_run_id=run.id, external_id=gate_id, head_sha=SHA
        )
        body, headers = delivery("check_run", payload, SECRET, guid="rerun-across-a-kill")
        assert await post_delivery(first.url, body, headers) == 202

        async def rerun_started() -> bool:
            return (
                any(
                    r.operation == "checks/update"
                    for r in stage.github.requests_for(method="PATCH")
                )
                and stage.github.pending_faults() == 0
            )

        await until(rerun_started, 30, "the re-run's first PATCH reached GitHub")
        await kill(first)
    stage.github.clear_faults()
    async with serve(**env) as second, client(second) as session:
        assert await post_delivery(second.url, body, headers) == 200  # GitHub redelivers

        async def rerun_done() -> bool:
            return run.states.count(("completed", "success")) == 2

        await until(rerun_done, 30, "the re-run completed the same check run")
        assert (await statuses(session, [gate_id]))[gate_id]["status"] == "done"
    assert stage.runs_of(gate_id) == [run]  # no second check run
    assert run.states.count(("completed", "success")) == 2  # the first run and one re-run
    store = open_store(f"sqlite:///{database}")
    try:
        async with store.read() as tx:
            gate = await tx.gate(gate_id)
        async with store.engine.connect() as conn:
            recorded = (await conn.execute(select(func.count()).select_from(deliveries))).scalar()
    finally:
        await store.close()
    assert gate is not None
    assert (gate.runs, gate.status, gate.verdict) == (2, "done", "pass")
    assert recorded == 1
    assert_no_secret(first, second)
    logs = "".join(first.stderr) + "".join(second.stderr)
    assert SECRET not in logs
    assert SECRET[8:24] not in logs
    hooks = [e for e in first.events() + second.events() if e.get("event") == "github.webhook"]
    assert [(e["delivery"], e["outcome"]) for e in hooks] == [
        ("rerun-across-a-kill", "rerun"),
        ("rerun-across-a-kill", "redelivery"),
    ]
