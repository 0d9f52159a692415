"""Evals named by model or dataset version: the list endpoint (the stand-in and the client),
resolution to the newest eval, waiting for one to appear, and one list call per filter."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from gate.config.loader import load_config
from gate.core.errors import ResultsUnavailable, UsageError
from gate.core.eval_info import EvalQuery
from gate.core.model import EvalBy
from gate.engine import GateRequest, plan_targets, run_gate
from gate.fetch import Fetcher, FetchOptions
from gate.roboflow.api import BadRequest, list_path
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import MAX_LIST_LIMIT, RoboflowStandIn, detection_results

KEY = "rf_resolve_key_0123456789"
CONFIG = load_config("version: 1\nrules:\n  - 'map50 >= 0.5'\n", "gate.yml")


@pytest.fixture
def standin() -> RoboflowStandIn:
    return RoboflowStandIn(api_key=KEY, workspace="ws")


async def _client(server: object, session: aiohttp.ClientSession) -> RoboflowClient:
    return RoboflowClient(
        session,
        api_key=KEY,
        workspace="ws",
        api_url=str(server.make_url("")).rstrip("/"),  # type: ignore[attr-defined]
    )


async def _get(session: aiohttp.ClientSession, server: object, query: str) -> tuple[int, object]:
    url = str(server.make_url(f"/ws/model-evals{query}"))  # type: ignore[attr-defined]
    async with session.get(url, headers={"Authorization": f"Bearer {KEY}"}) as answer:
        return answer.status, json.loads(await answer.read())


# ---------------------------------------------------------------------------- the stand-in


async def test_standin_list_filters_are_exclusive_and_limit_is_bounded(standin, server, session):
    standin.add_eval("a", model_id="m1", version_id="v1", created_at="2026-01-01T00:00:00Z")
    standin.add_eval("b", model_id="m1", version_id="v1", created_at="2026-01-02T00:00:00Z")
    standin.add_eval("c", model_id="m2", version_id="v1", status="running")
    status, body = await _get(session, server, "?model=m1&version=v1")
    assert status == 400 and body["error"] == "invalid_filter_combination"  # type: ignore[index]
    status, body = await _get(session, server, f"?limit={MAX_LIST_LIMIT + 1}")
    assert status == 400
    status, body = await _get(session, server, "?model=m1")
    assert status == 200
    assert [e["evalId"] for e in body["evals"]] == ["b", "a"]  # type: ignore[index]
    status, body = await _get(session, server, "?version=v1&status=running")
    assert [e["evalId"] for e in body["evals"]] == ["c"]  # type: ignore[index]


async def test_standin_legacy_fields_and_late_evals(standin, server, session):
    standin.add_eval("old", model_id="m", legacy=True)
    standin.add_eval("late", model_id="m", appears_after=30)
    status, body = await _get(session, server, "?model=m")
    assert status == 200
    assert body["evals"] == [  # type: ignore[index]
        {
            "id": "old",
            "status": "done",
            "projectId": "proj",
            "versionId": None,
            "modelId": "m",
            "createdAt": "2026-01-01T00:00:00Z",
            "summary": body["evals"][0]["summary"],  # type: ignore[index]
        }
    ]
    client = await _client(server, session)
    listed = await client.list_evals(EvalQuery(model="m"))
    assert [(e.eval_id, e.project) for e in listed] == [("old", "proj")]


# ---------------------------------------------------------------------------- the client


def test_list_path_takes_one_filter():
    assert list_path("ws", EvalQuery(model="m 1")) == "/ws/model-evals?model=m%201&limit=200"
    assert list_path("ws", EvalQuery(version="v", status="done")) == (
        "/ws/model-evals?version=v&status=done&limit=200"
    )
    with pytest.raises(ValueError, match="at most one of project, version and model"):
        list_path("ws", EvalQuery(project="p", model="m"))


async def test_client_refuses_two_filters_before_any_request(standin, server, session):
    client = await _client(server, session)
    with pytest.raises(UsageError):
        await client.list_evals(EvalQuery(model="m", version="v"))
    assert standin.count() == 0
    standin.script("list", [])
    with pytest.raises(UsageError):
        await client.list_evals(EvalQuery(limit=MAX_LIST_LIMIT + 1))
    assert BadRequest  # the server's own 400 for a combination is a BadRequest (not retried)


# ---------------------------------------------------------------------------- the engine


def test_plan_targets_takes_models_and_versions():
    request = GateRequest(config=CONFIG, eval_ids=("e1",), models=("m1",), versions=("v1",))
    targets = plan_targets(request)
    assert [(t.by, t.id) for t in targets] == [
        (EvalBy.ID, "e1"),
        (EvalBy.MODEL, "m1"),
        (EvalBy.VERSION, "v1"),
    ]
    assert [t.named for t in targets] == ["eval e1", "model m1", "version v1"]


async def _gate(server, session, *, wait=5.0, poll=0.05, **named):
    client = await _client(server, session)
    request = GateRequest(config=CONFIG, workspace="ws", **named)
    return await run_gate(
        request, client, FetchOptions(wait=wait, poll_interval=poll, concurrency=8)
    )


async def test_model_resolves_to_its_newest_eval(standin, server, session):
    standin.add_eval("old", model_id="m1", created_at="2026-01-01T00:00:00Z")
    standin.add_eval(
        "new",
        model_id="m1",
        created_at="2026-01-02T00:00:00Z",
        map_results=detection_results({"car": 0.95}),
    )
    standin.add_eval("other", model_id="m2", created_at="2026-01-03T00:00:00Z")
    outcome = await _gate(server, session, models=("m1",))
    assert [(ev.eval_id, ev.label) for ev in outcome.evals] == [("new", "m1")]
    assert standin.count("list") == 1
    assert standin.count("map-results") == 1
    assert [r.query for r in standin.requests if r.endpoint == "list"] == [
        (("model", "m1"), ("limit", "200"))
    ]


async def test_one_list_call_serves_every_eval_of_a_version(standin, server, session):
    standin.add_eval("v-eval", version_id="v1", created_at="2026-01-02T00:00:00Z")
    client = await _client(server, session)
    loop = asyncio.get_running_loop()
    fetcher = Fetcher(client, FetchOptions(wait=1, poll_interval=0.05), clock=loop.time)
    found = await asyncio.gather(*(fetcher.resolve("version", "v1") for _ in range(5)))
    assert {info.eval_id for info, _ in found} == {"v-eval"}
    assert standin.count("list") == 1
    fetcher.cancel()


async def test_waits_for_the_eval_to_appear_then_to_be_done(standin, server, session):
    standin.add_eval("late", model_id="m1", status="running", appears_after=0.3)

    async def finish() -> None:  # once the gate has seen it running (no fixed sleep)
        async with asyncio.timeout(10):
            while standin.count(eval_id="late") == 0:  # noqa: ASYNC110 - the request log
                await asyncio.sleep(0.01)
        standin.set_status("late", "done")

    finishing = asyncio.ensure_future(finish())
    outcome = await _gate(server, session, models=("m1",), wait=5)
    await finishing
    assert [ev.eval_id for ev in outcome.evals] == ["late"]
    assert standin.count("list") >= 2  # looked, found nothing, looked again


async def test_an_eval_that_never_appears_is_results_unavailable(standin, server, session):
    standin.add_eval("late", model_id="m1", appears_after=60)
    with pytest.raises(ResultsUnavailable) as caught:
        await _gate(server, session, models=("m1",), wait=0.3)
    message = str(caught.value)
    assert "no evaluation of model m1 appeared" in message
    assert "0.3 s" in message


async def test_a_failed_eval_of_a_model_is_its_own_outcome(standin, server, session):
    standin.add_eval("bad", model_id="m1", status="failed")
    with pytest.raises(ResultsUnavailable) as caught:
        await _gate(server, session, models=("m1",))
    assert "the evaluation of model m1 failed" in str(caught.value)
    assert standin.count("map-results") == 0


async def test_resolution_spends_the_same_wait_budget(standin, server, session):
    standin.add_eval("late", model_id="m1", status="running", appears_after=0.3)
    started = asyncio.get_running_loop().time()
    with pytest.raises(ResultsUnavailable) as caught:
        await _gate(server, session, models=("m1",), wait=0.8)
    elapsed = asyncio.get_running_loop().time() - started
    assert "the evaluation of model m1 (eval late) is still running" in str(caught.value)
    assert elapsed < 1.6  # not 0.3 s to appear + a fresh 0.8 s wait
