"""The GitHub App's webhooks, served by the real app (the service authenticating as the App
against the GitHub stand-in, which checks its JWTs, its worker running on the real clock):
deliveries signed for real, redeliveries, out-of-order pushes, concurrent deliveries of one id,
and no secret anywhere."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict
from sqlalchemy import func, select
from structlog.testing import capture_logs

from gate.github.app_key import AppAuth
from gate.github.webhook import SIGNATURE_HEADER, sign
from gate.server.app import create_app
from gate.server.settings import ServerSettings
from gate.server.webhook import MAX_WEBHOOK_BODY, WEBHOOK_PATH
from gate.store.settings import DatabaseSettings, parse_database_url
from gate.store.tables import deliveries
from tests.github_app_standin import StandInApp
from tests.github_standin import GitHubStandIn
from tests.roboflow_standin import RoboflowStandIn
from tests.server.test_gates_routes import call, get_gate, until_finished
from tests.server.test_server import KEY, SHA, TOKEN, Answer, check_documented
from tests.webhook_payloads import (
    APP_ID,
    check_run_rerequested,
    check_suite_rerequested,
    delivery,
    installation_deleted,
    pull_request,
    repositories_removed,
)

REPO = "octo-org/octo-repo"
SECRET = "whsec-SECRET-webhook-0123456789abcdef"
NEW = "f" * 40  # the head a push moves the pull request to
CONFIG = "version: 1\nworkspace: ws\nrules:\n  - map50 >= 0.5\n"


def gate_body(*evals: str, sha: str = SHA) -> dict[str, Any]:
    return {
        "config": CONFIG,
        "evals": list(evals),
        "github": {"repository": REPO, "pull_number": 7, "sha": sha},
    }


@pytest.fixture
def roboflow() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key=KEY, workspace="ws")
    standin.add_eval("e1")
    return standin


@pytest.fixture
def github_app(app_private_key) -> StandInApp:
    app = StandInApp(app_private_key.public_key(), app_id=APP_ID)
    app.install(REPO)
    return app


@pytest.fixture
def github(github_app) -> Any:
    standin = GitHubStandIn(github_app=github_app)
    standin.add_pull(REPO, 7, head_sha=SHA)
    standin.add_commit(REPO, NEW)
    yield standin
    assert standin.violations == []


@pytest.fixture
async def settings(aiohttp_server, roboflow, github, app_private_key, tmp_path: Path):
    rf = await aiohttp_server(roboflow.app())
    gh = await aiohttp_server(github.app())
    return ServerSettings(
        tokens=(TOKEN,),
        roboflow_api_key=KEY,
        api_url=str(rf.make_url("")).rstrip("/"),
        github_api_url=str(gh.make_url("")).rstrip("/"),
        github_app=AppAuth(APP_ID, app_private_key),
        github_webhook_secret=SECRET,
        request_deadline=10.0,
        grace=2.0,
        poll_interval=1.0,
        database=DatabaseSettings(url=parse_database_url(f"sqlite:///{tmp_path}/gates.db")),
    )


@pytest.fixture
async def client(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


async def deliver(
    client: Any, event: str, payload: Any, *, guid: str | None = None, **options: Any
) -> Answer:
    """One delivery, unauthenticated but signed (as GitHub sends it); checked against the
    description and for secrets."""
    body, headers = delivery(event, payload, options.pop("secret", SECRET), guid=guid, **options)
    async with client.post(WEBHOOK_PATH, data=body, headers=headers) as resp:
        answer = Answer(resp.status, CIMultiDict(resp.headers), await resp.text())
    check_documented("POST", WEBHOOK_PATH, answer)
    assert SECRET not in answer.text
    assert SECRET[8:24] not in answer.text
    return answer


async def recorded(client: Any) -> int:
    from gate.server.durable import DURABLE  # noqa: PLC0415 - the app's own store

    store = client.app[DURABLE].worker.store
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(deliveries))).scalar())


async def finished_gate(client: Any, *evals: str, sha: str = SHA) -> dict[str, Any]:
    submitted = await call(client, "POST", "/v1/gates", body=gate_body(*evals, sha=sha))
    assert submitted.status == 202
    return await until_finished(client, submitted.json["id"])


async def until_status(client: Any, gate_id: str, wanted: str, within: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        document = (await get_gate(client, gate_id)).json
        if document["status"] == wanted:
            return document
        assert asyncio.get_running_loop().time() < deadline, document
        await asyncio.sleep(0.05)


async def until_published(github: GitHubStandIn, gate_id: str, conclusion: str) -> Any:
    deadline = asyncio.get_running_loop().time() + 15.0
    while True:
        runs = [r for r in github.check_runs.values() if r.external_id == gate_id]
        if runs and runs[0].conclusion == conclusion:
            return runs
        assert asyncio.get_running_loop().time() < deadline, runs
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", sign("another-secret-0123456789", b"{}")],
)
async def test_a_delivery_without_the_right_signature_is_401_and_changes_nothing(client, signature):
    payload = pull_request("closed", REPO, 7, head=SHA)
    body, headers = delivery("pull_request", payload, SECRET)
    if signature is None:
        del headers[SIGNATURE_HEADER]
    else:
        headers[SIGNATURE_HEADER] = signature
    with capture_logs() as logs:
        async with client.post(WEBHOOK_PATH, data=body, headers=headers) as resp:
            answer = Answer(resp.status, CIMultiDict(resp.headers), await resp.text())
    check_documented("POST", WEBHOOK_PATH, answer)
    assert (answer.status, answer.json["error"]) == (401, "bad_signature")
    assert await recorded(client) == 0
    (line,) = [e for e in logs if e["event"] == "github.webhook"]
    assert line["outcome"] == "refused"
    assert SECRET not in repr(logs)


async def test_a_signature_of_other_bytes_is_refused_even_for_the_same_json(client):
    payload = pull_request("closed", REPO, 7, head=SHA)
    body, headers = delivery("pull_request", payload, SECRET)
    spaced = body.replace(b'": ', b'":  ', 1)  # the same JSON, other bytes
    async with client.post(WEBHOOK_PATH, data=spaced, headers=headers) as resp:
        assert resp.status == 401


async def test_without_a_webhook_secret_the_route_is_off(aiohttp_client, settings):
    off = await aiohttp_client(
        create_app(ServerSettings(**{**vars_of(settings), "github_webhook_secret": None}))
    )
    body, headers = delivery("ping", {"zen": "hi"}, SECRET)
    async with off.post(WEBHOOK_PATH, data=body, headers=headers) as resp:
        answer = Answer(resp.status, CIMultiDict(resp.headers), await resp.text())
    check_documented("POST", WEBHOOK_PATH, answer)
    assert answer.status == 404
    assert "EVAL_GATE_GITHUB_WEBHOOK_SECRET" in answer.json["message"]


def vars_of(settings: ServerSettings) -> dict[str, Any]:
    return {f: getattr(settings, f) for f in settings.__dataclass_fields__}


async def test_a_body_over_the_bound_is_413_before_it_is_read(client):
    headers = {"Content-Length": str(MAX_WEBHOOK_BODY + 1), SIGNATURE_HEADER: "sha256=00"}
    with capture_logs() as logs:
        async with client.post(
            WEBHOOK_PATH, data=b"x" * (MAX_WEBHOOK_BODY + 1), headers=headers
        ) as resp:
            assert resp.status == 413
    (line,) = [e for e in logs if e["event"] == "github.webhook"]
    assert (line["outcome"], line["content_length"]) == ("too_large", MAX_WEBHOOK_BODY + 1)


async def test_a_streamed_body_over_the_bound_is_413(client):
    async def chunks():
        for _ in range(MAX_WEBHOOK_BODY // 65536 + 2):
            yield b" " * 65536

    async with client.post(WEBHOOK_PATH, data=chunks(), headers={"X-GitHub-Event": "ping"}) as r:
        assert r.status == 413


async def test_a_signed_body_that_is_not_json_or_lacks_its_fields_is_400(client):
    body = b"not json"
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "d-1",
        SIGNATURE_HEADER: sign(SECRET, body),
    }
    async with client.post(WEBHOOK_PATH, data=body, headers=headers) as resp:
        assert resp.status == 400
    broken = pull_request("closed", REPO, 7, head=SHA)
    del broken["repository"]
    answer = await deliver(client, "pull_request", broken)
    assert answer.status == 400
    assert "repository.full_name" in answer.json["message"]
    assert await recorded(client) == 0


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("ping", {"zen": "Keep it logically awesome.", "hook_id": 1}),
        ("push", {"ref": "refs/heads/main"}),
        ("pull_request", pull_request("opened", REPO, 7, head=SHA)),
        ("installation", {"action": "created", "installation": {"id": 1}}),
        ("check_run", {**check_run_rerequested(REPO, check_run_id=1, external_id="x",
                                               head_sha=SHA), "action": "completed"}),
    ],
)  # fmt: skip
async def test_events_and_actions_the_service_does_nothing_for_are_204(client, event, payload):
    answer = await deliver(client, event, payload)
    assert (answer.status, answer.text) == (204, "")
    assert await recorded(client) == 0


# --------------------------------------------------------------------------- re-runs


async def stored(client: Any, gate_id: str) -> Any:
    """The gate's row (how many times it ran is not in its document)."""
    from gate.server.durable import DURABLE  # noqa: PLC0415 - the app's own store

    async with client.app[DURABLE].worker.store.read() as tx:
        return await tx.gate(gate_id)


async def until_runs(client: Any, gate_id: str, runs: int) -> Any:
    deadline = asyncio.get_running_loop().time() + 15.0
    while True:
        gate = await stored(client, gate_id)
        if gate.runs == runs and gate.finished:
            return gate
        assert asyncio.get_running_loop().time() < deadline, gate
        await asyncio.sleep(0.05)


async def test_rerun_on_our_check_run_gates_again_on_that_check_run_once(
    client, github, github_app
):
    first = await finished_gate(client, "e1")
    gate_id, run_id = first["id"], first["github"]["check_run_id"]
    assert first["verdict"] == "pass"
    (installation,) = github_app.installations  # remembered: `installation deleted` finds it
    assert (await stored(client, gate_id)).installation_id == installation
    payload = check_run_rerequested(REPO, check_run_id=run_id, external_id=gate_id, head_sha=SHA)
    with capture_logs() as logs:
        accepted = await deliver(client, "check_run", payload, guid="rerun-1")
    assert accepted.status == 202
    assert accepted.json == {
        "delivery": "rerun-1",
        "status": "accepted",
        "effect": "rerun",
        "gates": [gate_id],
    }
    (line,) = [e for e in logs if e["event"] == "github.webhook"]
    assert (line["outcome"], line["gates"], line["delivery"]) == ("rerun", 1, "rerun-1")
    again = await until_runs(client, gate_id, 2)
    assert again.verdict == "pass"
    (run,) = [r for r in github.check_runs.values() if r.external_id == gate_id]
    assert run.id == run_id
    deadline = asyncio.get_running_loop().time() + 15.0
    while run.states.count(("completed", "success")) < 2:  # published after the commit
        assert asyncio.get_running_loop().time() < deadline, run.states
        await asyncio.sleep(0.05)
    after_first = run.states[run.states.index(("completed", "success")) + 1 :]
    assert after_first[:2] == [("queued", None), ("in_progress", None)]
    assert after_first[-1] == ("completed", "success")
    assert len(github.comments_on(REPO, 7)) == 1  # the same sticky comment, edited
    redelivered = await deliver(client, "check_run", payload, guid="rerun-1")
    assert (redelivered.status, redelivered.json["status"]) == (200, "redelivery")
    assert redelivered.json["gates"] == []
    assert (await stored(client, gate_id)).runs == 2
    assert await recorded(client) == 1


async def test_concurrent_deliveries_of_one_id_rerun_the_gate_exactly_once(client):
    first = await finished_gate(client, "e1")
    payload = check_run_rerequested(
        REPO,
        check_run_id=first["github"]["check_run_id"],
        external_id=first["id"],
        head_sha=SHA,
    )
    answers = await asyncio.gather(
        *(deliver(client, "check_run", payload, guid="storm") for _ in range(12))
    )
    assert sorted(a.status for a in answers) == [200] * 11 + [202]
    await until_runs(client, first["id"], 2)


async def test_check_runs_of_another_app_or_not_of_a_gate_are_ignored(client):
    first = await finished_gate(client, "e1")
    theirs = check_run_rerequested(
        REPO,
        check_run_id=first["github"]["check_run_id"],
        external_id=first["id"],
        head_sha=SHA,
        app_id=APP_ID + 1,
    )
    assert (await deliver(client, "check_run", theirs)).status == 204
    not_a_gate = check_run_rerequested(REPO, check_run_id=5, external_id="build-7", head_sha=SHA)
    assert (await deliver(client, "check_run", not_a_gate)).status == 204
    elsewhere = check_run_rerequested(
        "octo-org/elsewhere",
        check_run_id=first["github"]["check_run_id"],
        external_id=first["id"],
        head_sha=SHA,
    )
    answer = await deliver(client, "check_run", elsewhere)
    assert (answer.status, answer.json["gates"]) == (202, [])  # recorded, nothing re-run
    assert (await stored(client, first["id"])).runs == 1


async def test_rerun_all_checks_reruns_every_gate_of_ours_on_that_commit(client, github):
    one = await finished_gate(client, "e1")
    two = await finished_gate(client, "e1")
    answer = await deliver(client, "check_suite", check_suite_rerequested(REPO, head_sha=SHA))
    assert answer.status == 202
    assert sorted(answer.json["gates"]) == sorted([one["id"], two["id"]])
    for gate in (one, two):
        await until_runs(client, gate["id"], 2)
    assert len(github.check_runs) == 2  # no new check run


# --------------------------------------------------------------------------- pushes, closes


async def test_a_push_supersedes_the_waiting_gate_of_the_old_head(client, github, roboflow):
    roboflow.add_eval("e2", status="running")
    submitted = await call(client, "POST", "/v1/gates", body=gate_body("e2"))
    gate_id = submitted.json["id"]
    await until_status(client, gate_id, "waiting")
    push = pull_request("synchronize", REPO, 7, before=SHA, head=NEW)
    answer = await deliver(client, "pull_request", push)
    assert (answer.status, answer.json["effect"], answer.json["gates"]) == (
        202,
        "superseded",
        [gate_id],
    )
    (run,) = await until_published(github, gate_id, "neutral")
    assert run.title == f"Superseded by {NEW[:7]}"
    document = (await get_gate(client, gate_id)).json
    assert document["status"] == "superseded"
    assert document["error"] == f"superseded by {NEW[:7]}"


async def test_a_push_told_before_the_old_heads_gate_is_submitted_still_supersedes_it(
    client, github, roboflow
):
    roboflow.add_eval("e2", status="running")
    push = pull_request("synchronize", REPO, 7, before=SHA, head=NEW)
    assert (await deliver(client, "pull_request", push)).status == 202
    submitted = await call(client, "POST", "/v1/gates", body=gate_body("e2"))
    assert submitted.status == 202
    assert submitted.json["status"] == "superseded"
    (run,) = await until_published(github, submitted.json["id"], "neutral")
    assert run.title == f"Superseded by {NEW[:7]}"
    fresh = await call(client, "POST", "/v1/gates", body=gate_body("e2", sha=NEW))
    assert fresh.json["status"] == "queued"  # the new head's gate is the one that counts


async def test_closing_the_pull_request_cancels_its_waiting_gates(client, github, roboflow):
    roboflow.add_eval("e2", status="running")
    submitted = await call(client, "POST", "/v1/gates", body=gate_body("e2"))
    gate_id = submitted.json["id"]
    await until_status(client, gate_id, "waiting")
    answer = await deliver(client, "pull_request", pull_request("closed", REPO, 7, head=SHA))
    assert answer.json["gates"] == [gate_id]
    await until_published(github, gate_id, "cancelled")
    document = (await get_gate(client, gate_id)).json
    assert "pull request #7 was closed" in document["error"]


# --------------------------------------------------------------------------- the App uninstalled


@pytest.mark.parametrize("how", ["deleted", "removed"])
async def test_an_uninstalled_app_ends_the_waiting_gates_saying_so_and_drops_its_tokens(
    client, github, github_app, roboflow, how
):
    roboflow.add_eval("e2", status="running")
    submitted = await call(client, "POST", "/v1/gates", body=gate_body("e2"))
    gate_id = submitted.json["id"]
    await until_status(client, gate_id, "waiting")
    (installation,) = github_app.installations
    minted = github_app.minted
    if how == "deleted":
        github_app.uninstall(installation)
        event, payload = "installation", installation_deleted(installation, REPO)
    else:
        github_app.remove(installation, REPO)
        event, payload = "installation_repositories", repositories_removed(installation, REPO)
    answer = await deliver(client, event, payload)
    assert (answer.status, answer.json["gates"]) == (202, [gate_id])
    document = await until_finished(client, gate_id)
    assert document["status"] == "error"
    assert "GitHub App" in document["error"] and str(installation) in document["error"]
    github_app.install(REPO)  # installed again: a fresh token is minted, none reused
    again = await finished_gate(client, "e1")
    assert again["github"]["check_run_id"] is not None
    assert github_app.minted > minted


async def test_a_deleted_installation_that_lists_no_repository_ends_its_gates_by_installation(
    client, github_app, roboflow
):
    roboflow.add_eval("e2", status="running")
    submitted = await call(client, "POST", "/v1/gates", body=gate_body("e2"))
    gate_id = submitted.json["id"]
    await until_status(client, gate_id, "waiting")
    (installation,) = github_app.installations
    assert (await stored(client, gate_id)).installation_id == installation
    answer = await deliver(client, "installation", installation_deleted(installation))
    assert answer.json["gates"] == [gate_id]
    document = await until_finished(client, gate_id)
    assert document["status"] == "error"
    assert f"installation {installation} deleted" in document["error"]


async def test_without_a_database_a_delivery_with_work_is_503_and_a_ping_204(
    aiohttp_client, settings
):
    no_database = await aiohttp_client(
        create_app(ServerSettings(**{**vars_of(settings), "database": None}))
    )
    assert (await deliver(no_database, "ping", {"zen": "hi", "hook_id": 1})).status == 204
    closed = pull_request("closed", REPO, 7, head=SHA)
    with capture_logs() as logs:
        answer = await deliver(no_database, "pull_request", closed)
    assert (answer.status, answer.json["error"]) == (503, "database_unavailable")
    assert "EVAL_GATE_DATABASE_URL" in answer.json["message"]
    (line,) = [e for e in logs if e["event"] == "github.webhook"]
    assert line["outcome"] == "unavailable"
