"""Durable gates across process deaths, with real `python -m gate serve` processes killed with
SIGKILL: nothing is lost, nothing is done twice.

(1) SQLite: 50 gates wait on 5 running evaluations; the server is killed; the evaluations
    finish; a new server on the same file finishes all 50 with the right verdicts, one check
    run each.
(2) PostgreSQL: two servers share 100 gates; one is killed while they wait; all 100 finish
    exactly once: one check run and one comment each, each completed once.
(4) An Idempotency-Key across a retry: the client's first submit got a 202 and the server died;
    the retry, to a new server, gets the same gate (200), another body a 409.

Short poll interval and lease (1 s, 2 s) keep each test to a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gate.store import open_store
from tests.github_standin import GitHubStandIn
from tests.roboflow_standin import RoboflowStandIn, detection_results
from tests.server.test_server_process import Served, serve
from tests.store.conftest import need_postgres

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

KEY = "rf_PROCESS_secret_key_0123456789"
GH_TOKEN = "ghs_PROCESS_secret_token_0123456789"
TOKEN = "bearer-PROCESS-token-abcdefghijklmnop"
REPO = "octo-org/octo-repo"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
CONFIG = "version: 1\nworkspace: ws\nrules:\n  - map50 >= 0.5\n"
EVALS = {"e0": 0.9, "e1": 0.3, "e2": 0.8, "e3": 0.2, "e4": 0.7}  # map50 of each: pass or fail
VERDICT = {e: "pass" if v >= 0.5 else "fail" for e, v in EVALS.items()}
CONCLUSION = {"pass": "success", "fail": "failure"}


class Stage:
    """The stand-ins, served in this process, and the environment of every `serve`."""

    def __init__(self, roboflow: RoboflowStandIn, github: GitHubStandIn, env: dict[str, str]):
        self.roboflow = roboflow
        self.github = github
        self.env = env

    def runs_of(self, gate_id: str) -> list[Any]:
        return [r for r in self.github.check_runs.values() if r.external_id == gate_id]

    def finish_evaluations(self) -> None:
        for eval_id in EVALS:
            self.roboflow.set_status(eval_id, "done")


@pytest.fixture
async def stage(aiohttp_server) -> Stage:
    roboflow = RoboflowStandIn(api_key=KEY, workspace="ws")
    for eval_id, map50 in EVALS.items():
        roboflow.add_eval(
            eval_id, status="running", map_results=detection_results({"car": map50}, map50=map50)
        )
    github = GitHubStandIn(token=GH_TOKEN)
    github.add_pull(REPO, 7, head_sha=SHA)
    rf = await aiohttp_server(roboflow.app())
    gh = await aiohttp_server(github.app())
    env = {
        "EVAL_GATE_TOKENS": TOKEN,
        "ROBOFLOW_API_KEY": KEY,
        "ROBOFLOW_API_URL": str(rf.make_url("")).rstrip("/"),
        "EVAL_GATE_GITHUB_API_URL": str(gh.make_url("")).rstrip("/"),
        "EVAL_GATE_GITHUB_TOKEN": GH_TOKEN,
        "EVAL_GATE_POLL_INTERVAL": "1",
        "EVAL_GATE_LEASE_SECONDS": "2",
        "EVAL_GATE_GRACE": "2",
    }
    return Stage(roboflow, github, env)


def gate_body(number: int, *, comment: str = "off") -> dict[str, Any]:
    """Gate number `number`: on evaluation e(number % 5), its own check run (and comment)."""
    return {
        "config": CONFIG,
        "evals": [f"e{number % 5}"],
        "github": {
            "repository": REPO,
            "pull_number": 7,
            "sha": SHA,
            "gate_id": f"g{number}",
            "comment": comment,
            "commit_status": False,
        },
    }


@contextlib.asynccontextmanager
async def client(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(served.url, headers=headers) as session:
        yield session


async def submit(session: aiohttp.ClientSession, body: dict[str, Any], **headers: str) -> Any:
    async with session.post("/v1/gates", json=body, headers=headers) as resp:
        document = await resp.json()
        assert resp.status in (200, 202), document
        return resp.status, document


async def statuses(session: aiohttp.ClientSession, ids: list[str]) -> dict[str, dict[str, Any]]:
    found = {}
    for gate_id in ids:
        async with session.get(f"/v1/gates/{gate_id}") as resp:
            assert resp.status == 200
            found[gate_id] = await resp.json()
    return found


async def until(condition: Any, within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while not await condition():
        assert loop.time() < give_up, f"not in {within:g} s: {what}"
        await asyncio.sleep(0.1)


async def kill(served: Served) -> None:
    served.proc.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(served.proc.wait(), 10) == -signal.SIGKILL


def assert_no_secret(*served: Served) -> None:
    logs = "".join(line for one in served for line in one.stderr)
    for secret in (KEY, GH_TOKEN, TOKEN):
        assert secret not in logs


def assert_done_once(stage: Stage, documents: dict[str, dict[str, Any]], numbers: dict[str, int]):
    for gate_id, document in documents.items():
        expected = VERDICT[f"e{numbers[gate_id] % 5}"]
        assert (document["status"], document["verdict"]) == ("done", expected), document
        (run,) = stage.runs_of(gate_id)  # exactly one check run
        assert run.conclusion == CONCLUSION[expected]
        # Completed with the one conclusion: a takeover in the middle of publishing (a lease
        # that ran out on a loaded machine) may send the same PATCH again, which is idempotent;
        # what must never happen is a second check run or another conclusion.
        completed = [s for s in run.states if s[0] == "completed"]
        assert completed and set(completed) == {("completed", run.conclusion)}
        assert run.id == document["github"]["check_run_id"]


async def test_sqlite_fifty_gates_survive_a_sigkill_and_finish_on_the_next_server(
    stage, tmp_path: Path
):
    env = {**stage.env, "EVAL_GATE_DATABASE_URL": f"sqlite:///{tmp_path}/gates.db"}
    numbers: dict[str, int] = {}
    async with serve(**env) as first, client(first) as session:
        answers = await asyncio.gather(*(submit(session, gate_body(n)) for n in range(50)))
        numbers = {document["id"]: n for n, (_, document) in enumerate(answers)}
        ids = list(numbers)

        async def all_waiting() -> bool:
            found = await statuses(session, ids)
            return all(d["status"] == "waiting" for d in found.values()) and all(
                [r.status for r in stage.runs_of(i)] == ["in_progress"] for i in ids
            )

        await until(all_waiting, 30, "50 gates waiting, each check run in progress")
        await kill(first)
    stage.finish_evaluations()
    async with serve(**env) as second, client(second) as session:

        async def all_finished() -> bool:
            found = await statuses(session, ids)
            return all(d["status"] not in ("queued", "waiting") for d in found.values())

        await until(all_finished, 30, "50 gates finished after the restart")
        documents = await statuses(session, ids)
    assert_done_once(stage, documents, numbers)
    assert len(stage.github.check_runs) == 50
    assert stage.github.violations == []
    assert_no_secret(first, second)


async def test_postgresql_two_servers_share_a_hundred_gates_and_one_dies(stage, postgres):
    database = need_postgres(postgres).create_database()
    env = {**stage.env, "EVAL_GATE_DATABASE_URL": database}
    async with (
        serve(**env) as doomed,
        serve(**env) as survivor,
        client(doomed) as to_doomed,
        client(survivor) as to_survivor,
    ):
        answers = await asyncio.gather(
            *(
                submit(to_doomed if n % 2 else to_survivor, gate_body(n, comment="update"))
                for n in range(100)
            )
        )
        numbers = {document["id"]: n for n, (_, document) in enumerate(answers)}
        ids = list(numbers)

        async def all_waiting() -> bool:
            found = await statuses(to_survivor, ids)
            return all(d["status"] == "waiting" for d in found.values())

        await until(all_waiting, 40, "100 gates waiting")
        await kill(doomed)
        stage.finish_evaluations()

        async def all_finished() -> bool:
            found = await statuses(to_survivor, ids)
            return all(d["status"] not in ("queued", "waiting") for d in found.values())

        await until(all_finished, 60, "100 gates finished by the survivor")
        documents = await statuses(to_survivor, ids)
        # Both servers worked: each stepped some gates before one was killed.
        events = doomed.events()
    assert any(e["event"] == "worker.check_run_created" for e in events)
    assert_done_once(stage, documents, numbers)
    comments = stage.github.comments_on(REPO, 7)
    markers = sorted(c.body.split("\n", 1)[0] for c in comments)
    assert markers == sorted(f"<!-- eval-gate:g{n} -->" for n in range(100))  # one each
    assert stage.github.violations == []
    assert_no_secret(doomed, survivor)


async def test_an_idempotency_key_gives_the_same_gate_to_a_retry_after_the_server_died(
    stage, tmp_path: Path
):
    env = {**stage.env, "EVAL_GATE_DATABASE_URL": f"sqlite:///{tmp_path}/gates.db"}
    key = {"Idempotency-Key": "ci-run-1234-attempt"}
    async with serve(**env) as first, client(first) as session:
        status, made = await submit(session, gate_body(1), **key)
        assert status == 202
        await kill(first)  # the client never saw the answer, say, and retries
    stage.finish_evaluations()
    async with serve(**env) as second, client(second) as session:
        status, again = await submit(session, gate_body(1), **key)
        assert (status, again["id"]) == (200, made["id"])
        async with session.post("/v1/gates", json=gate_body(2), headers=key) as resp:
            assert resp.status == 409
            assert made["id"] in (await resp.json())["message"]

        async def finished() -> bool:
            return (await statuses(session, [made["id"]]))[made["id"]]["status"] == "done"

        await until(finished, 30, "the gate finished")
    assert len(stage.runs_of(made["id"])) == 1
    assert len(stage.github.check_runs) == 1


async def test_sigterm_stops_claiming_releases_every_lease_and_exits_0(stage, tmp_path: Path):
    database = tmp_path / "gates.db"
    env = {**stage.env, "EVAL_GATE_DATABASE_URL": f"sqlite:///{database}"}
    async with serve(**env) as served, client(served) as session:
        answers = await asyncio.gather(*(submit(session, gate_body(n)) for n in range(5)))
        ids = [document["id"] for _, document in answers]

        async def all_waiting() -> bool:
            found = await statuses(session, ids)
            return all(d["status"] == "waiting" for d in found.values())

        await until(all_waiting, 20, "5 gates waiting")
        served.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(served.proc.wait(), 15) == 0
    names = [e["event"] for e in served.events()]
    assert names.index("worker.stopping") < names.index("worker.stopped")
    assert names.index("worker.stopped") < names.index("server.stopped")
    store = open_store(f"sqlite:///{database}")
    try:
        async with store.read() as tx:
            gates = [await tx.gate(i) for i in ids]
            watches = [w for i in ids for w in await tx.watches_of(i)]
    finally:
        await store.close()
    assert {(g.status, g.lease_owner) for g in gates} == {("waiting", None)}
    assert {w.lease_owner for w in watches} == {None}
    assert_no_secret(served)
