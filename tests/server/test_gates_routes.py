"""The durable gates' routes, served by the real app (its worker running on the real clock)
against the Roboflow and GitHub stand-ins: every answer checked against schema/openapi.yaml
and for secrets."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict
from structlog.testing import capture_logs

from gate.server.app import create_app
from gate.server.settings import ServerSettings
from gate.store.settings import DatabaseSettings, parse_database_url
from gate.worker import AllowList
from tests.github_standin import GitHubStandIn
from tests.roboflow_standin import RoboflowStandIn
from tests.server.test_server import (
    GH_TOKEN,
    KEY,
    SHA,
    TOKEN,
    Answer,
    assert_no_secret,
    check_documented,
)

REPO = "octo-org/octo-repo"
CONFIG = "version: 1\nworkspace: ws\nrules:\n  - map50 >= 0.5\n"


def body(*evals: str, **more: Any) -> dict[str, Any]:
    return {"config": CONFIG, "evals": list(evals), **more}


async def call(
    client: Any,
    method: str,
    path: str,
    *,
    template: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request, its answer checked against the description (at `template`) and for
    secrets."""
    sent = {"Authorization": f"Bearer {TOKEN}", **(headers or {})}
    kwargs: dict[str, Any] = {"headers": sent}
    if body is not None:
        kwargs["json"] = body
    async with client.request(method, path, **kwargs) as resp:
        answer = Answer(resp.status, CIMultiDict(resp.headers), await resp.text())
    check_documented(method, template or path.split("?", maxsplit=1)[0], answer)
    assert_no_secret(answer.text + repr(list(answer.headers.items())))
    return answer


async def get_gate(client: Any, gate_id: str) -> Answer:
    return await call(client, "GET", f"/v1/gates/{gate_id}", template="/v1/gates/{gate_id}")


async def until_finished(client: Any, gate_id: str, within: float = 15.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        document = (await get_gate(client, gate_id)).json
        if document["status"] not in ("queued", "waiting"):
            return document
        assert asyncio.get_running_loop().time() < deadline, document
        await asyncio.sleep(0.05)


@pytest.fixture
def roboflow() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key=KEY, workspace="ws")
    standin.add_eval("e1")
    return standin


@pytest.fixture
def github() -> GitHubStandIn:
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull(REPO, 7, head_sha=SHA)
    return standin


@pytest.fixture
async def settings(aiohttp_server, roboflow, github, tmp_path: Path) -> ServerSettings:
    rf = await aiohttp_server(roboflow.app())
    gh = await aiohttp_server(github.app())
    return ServerSettings(
        tokens=(TOKEN,),
        roboflow_api_key=KEY,
        api_url=str(rf.make_url("")).rstrip("/"),
        github_api_url=str(gh.make_url("")).rstrip("/"),
        github_token=GH_TOKEN,
        request_deadline=10.0,
        grace=2.0,
        poll_interval=1.0,
        database=DatabaseSettings(url=parse_database_url(f"sqlite:///{tmp_path}/gates.db")),
    )


@pytest.fixture
async def client(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


async def test_a_submitted_gate_answers_202_and_its_url_then_its_verdict(client, github):
    submitted = await call(
        client,
        "POST",
        "/v1/gates",
        body=body("e1", github={"repository": REPO, "pull_number": 7, "sha": SHA}),
    )
    assert submitted.status == 202
    gate_id = submitted.json["id"]
    assert submitted.json["status"] == "queued"
    assert submitted.headers["Location"] == submitted.json["url"]
    assert submitted.json["url"].endswith(f"/v1/gates/{gate_id}")
    document = await until_finished(client, gate_id)
    assert (document["status"], document["verdict"], document["exit_code"]) == ("done", "pass", 0)
    assert document["result"]["verdict"] == "pass"
    assert document["request"]["evals"] == ["e1"]
    assert document["github"]["check_run_id"] is not None
    assert document["report_url"] == submitted.json["url"] + "/report"
    report = await call(
        client, "GET", f"/v1/gates/{gate_id}/report", template="/v1/gates/{gate_id}/report"
    )
    assert report.status == 200
    assert report.headers["Content-Type"].startswith("text/markdown")
    assert report.text == document["result"]["report"]
    (run,) = github.check_runs.values()
    assert run.external_id == gate_id and run.conclusion == "success"


async def test_an_idempotency_key_returns_the_same_gate_for_the_same_body_and_409_otherwise(
    client,
):
    key = {"Idempotency-Key": "build-42-attempt"}
    first = await call(client, "POST", "/v1/gates", body=body("e1"), headers=key)
    again = await call(client, "POST", "/v1/gates", body=body("e1"), headers=key)
    other = await call(client, "POST", "/v1/gates", body=body("e1", title="x"), headers=key)
    assert (first.status, again.status, other.status) == (202, 200, 409)
    assert again.json["id"] == first.json["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert other.json["error"] == "idempotency_conflict"
    assert first.json["id"] in other.json["message"]
    fresh = await call(
        client, "POST", "/v1/gates", body=body("e1"), headers={"Idempotency-Key": "another"}
    )
    assert fresh.status == 202 and fresh.json["id"] != first.json["id"]


@pytest.mark.parametrize(
    ("sent", "headers", "code", "says"),
    [
        (
            body("e1", github={"repository": REPO, "sha": SHA, "token": GH_TOKEN}),
            {},
            "invalid_request",
            "a job's token expires with its job",
        ),
        (body("e1", wait=30), {}, "invalid_request", "send max_wait instead"),
        (body("e1", max_wait=8 * 86_400), {}, "invalid_request", "604,800 (7 days)"),
        (body("e1"), {"X-Roboflow-Api-Key": KEY}, "api_key_refused", "this server's Roboflow"),
        (
            body("e1", callback={"url": "https://hooks.example/x"}),
            {},
            "invalid_request",
            "EVAL_GATE_CALLBACK_ALLOW",
        ),
        (
            {"config": "version: 1\nrules:\n  - map5 >= 0.5\n", "evals": ["e1"]},
            {},
            "invalid_config",
            "map5",
        ),
        (body("e1"), {"Idempotency-Key": "x" * 256}, "invalid_request", "Idempotency-Key"),
    ],
)
async def test_what_a_durable_gate_cannot_take_is_a_400_at_submit(
    client, sent, headers, code, says
):
    answer = await call(client, "POST", "/v1/gates", body=sent, headers=headers)
    assert answer.status == 400, answer.text
    assert answer.json["error"] == code
    if says is not None:
        assert says in answer.json["message"]


async def test_a_workspace_without_a_server_key_is_refused_naming_how_to_add_one(
    aiohttp_client, settings
):
    client = await aiohttp_client(create_app(replace(settings, roboflow_api_key=None)))
    answer = await call(client, "POST", "/v1/gates", body=body("e1"))
    assert answer.status == 400
    assert answer.json["error"] == "missing_api_key"
    assert "EVAL_GATE_ROBOFLOW_KEYS_FILE" in answer.json["message"]


async def test_github_without_server_credentials_is_refused_at_submit(aiohttp_client, settings):
    client = await aiohttp_client(create_app(replace(settings, github_token=None)))
    sent = body("e1", github={"repository": REPO, "pull_number": 7})
    answer = await call(client, "POST", "/v1/gates", body=sent)
    assert answer.status == 400
    assert "EVAL_GATE_GITHUB_TOKEN" in answer.json["message"]


async def test_the_history_is_newest_first_filtered_and_paged(client):
    ids = []
    for number in (1, 2, 3, 2):
        sent = body("e1", github={"repository": REPO, "pull_number": number, "comment": "off"})
        ids.append((await call(client, "POST", "/v1/gates", body=sent)).json["id"])
        await asyncio.sleep(0.002)  # distinct milliseconds: a stable order
    page = await call(client, "GET", "/v1/gates?limit=3")
    assert [g["id"] for g in page.json["gates"]] == ids[::-1][:3]
    cursor = page.json["next_cursor"]
    rest = await call(client, "GET", f"/v1/gates?limit=3&cursor={cursor}")
    assert [g["id"] for g in rest.json["gates"]] == [ids[0]]
    assert rest.json["next_cursor"] is None
    of_two = await call(client, "GET", f"/v1/gates?repository={REPO}&pull_number=2")
    assert [g["id"] for g in of_two.json["gates"]] == [ids[3], ids[1]]
    bad = await call(client, "GET", "/v1/gates?cursor=nope")
    assert (bad.status, bad.json["error"]) == (400, "invalid_cursor")
    wrong = await call(client, "GET", "/v1/gates?status=finished")
    assert wrong.status == 400 and "status: must be one of" in wrong.json["message"]


async def test_cancel_a_waiting_gate_then_409_once_it_is_finished(client, roboflow):
    roboflow.add_eval("e9", status="running")
    gate_id = (await call(client, "POST", "/v1/gates", body=body("e9"))).json["id"]
    report = await call(
        client, "GET", f"/v1/gates/{gate_id}/report", template="/v1/gates/{gate_id}/report"
    )
    assert (report.status, report.json["error"]) == (409, "not_finished")
    template = "/v1/gates/{gate_id}"
    cancelled = await call(client, "DELETE", f"/v1/gates/{gate_id}", template=template)
    assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
    done_id = (await call(client, "POST", "/v1/gates", body=body("e1"))).json["id"]
    await until_finished(client, done_id)
    refused = await call(client, "DELETE", f"/v1/gates/{done_id}", template=template)
    assert (refused.status, refused.json["error"]) == (409, "already_finished")
    missing = await call(
        client, "GET", "/v1/gates/gt_01ARZ3NDEKTSV4RRFFQ69G5FAV", template=template
    )
    assert missing.status == 404
    odd = await call(client, "GET", "/v1/gates/nope", template=template)
    assert odd.status == 404


async def test_a_database_that_cannot_be_opened_leaves_the_sync_route_and_readyz_working(
    aiohttp_client, settings, tmp_path
):
    """As when the service image runs without its /data volume: one log line at start, and
    only the durable routes answer 503, naming the problem."""
    missing = tmp_path / "no-volume"
    url = parse_database_url(f"sqlite:///{missing}/gates.db")
    with capture_logs() as logs:
        client = await aiohttp_client(create_app(replace(settings, database=DatabaseSettings(url))))
    (said,) = [e for e in logs if e["event"] == "server.durable_gates_unavailable"]
    assert str(missing) in said["reason"]
    ready = await call(client, "GET", "/readyz")
    assert ready.status == 200
    durable = await call(client, "POST", "/v1/gates", body=body("e1"))
    assert (durable.status, durable.json["error"]) == (503, "database_unavailable")
    assert f"directory {missing} does not exist" in durable.json["message"]
    listed = await call(client, "GET", "/v1/gates")
    assert listed.status == 503
    synchronous = await call(client, "POST", "/v1/gate", body=body("e1"))
    assert synchronous.status == 200 and synchronous.json["verdict"] == "pass"


async def test_a_server_without_a_database_says_durable_gates_are_off(aiohttp_client, settings):
    client = await aiohttp_client(create_app(replace(settings, database=None)))
    answer = await call(client, "GET", "/v1/gates")
    assert answer.status == 503
    assert "EVAL_GATE_DATABASE_URL" in answer.json["message"]


async def test_an_allowed_callback_is_taken_at_submit_and_called_signed_when_done(
    aiohttp_client, aiohttp_server, settings
):
    seen: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/gates", receive)
    receiver = await aiohttp_server(app)
    prefix = str(receiver.make_url("/hooks/"))
    secret = "zq7Kx2Lw9Pv4Rt6Ym3Nb8Hc5"
    served = replace(settings, callback_secret=secret, callback_allow=AllowList.parse(prefix))
    client = await aiohttp_client(create_app(served))
    elsewhere = await call(
        client, "POST", "/v1/gates", body=body("e1", callback={"url": prefix + "../admin"})
    )
    assert elsewhere.status == 400 and "callback.url" in elsewhere.json["message"]
    submitted = await call(
        client, "POST", "/v1/gates", body=body("e1", callback={"url": prefix + "gates"})
    )
    assert submitted.status == 202
    document = await until_finished(client, submitted.json["id"])
    for _ in range(200):
        if seen:
            break
        await asyncio.sleep(0.05)
    ((headers, sent),) = seen
    signed = "sha256=" + hmac.new(secret.encode(), sent, hashlib.sha256).hexdigest()
    assert headers["X-Eval-Gate-Signature-256"] == signed
    assert json.loads(sent)["id"] == document["id"]
    assert (
        headers["X-Eval-Gate-Delivery"]
        == (await until_finished(client, document["id"]))["callback"]["delivery"]
    )
