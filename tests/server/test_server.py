"""`eval-gate serve`: the real app on 127.0.0.1 against the Roboflow (and GitHub) stand-ins.

Every answer goes through `call()`, which checks it against schema/openapi.yaml: the path,
method and status are documented, the documented headers are sent, and a JSON body
validates against the documented schema.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import aiohttp
import jsonschema
import pytest
import structlog
import yaml
from multidict import CIMultiDict
from structlog.testing import capture_logs

from gate import __version__
from gate.server.app import configure_server_logging, create_app
from gate.server.auth import is_ui_path
from gate.server.gate import RUNS, UPSTREAM
from gate.server.request import add_request_secrets, redact_request_secrets
from gate.server.settings import ServerSettings
from tests.cli_helpers import clean_env, cli_async
from tests.github_standin import GitHubStandIn
from tests.paths import REPO
from tests.roboflow_standin import RoboflowStandIn, Scripted, detection_results

KEY = "rf_SERVER_secret_key_0123456789"
HEADER_KEY = "rf_HEADER_secret_key_9876543210"
TOKEN = "bearer-SECRET-token-abcdefghijklmnop"
GH_TOKEN = "ghs_GITHUB_secret_token_0123456789"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
SECRETS = (KEY, HEADER_KEY, TOKEN, GH_TOKEN)
JSON_TYPE = {"Content-Type": "application/json"}
CONFIG = """\
version: 1
workspace: ws
rules:
  - metric: map50
    min: 0.8
  - metric: map50
    classes: "*"
    min: 0.8
"""
METRIC_NAMES = (
    "eval_gate_http_requests_total",
    "eval_gate_verdicts_total",
    "eval_gate_upstream_request_seconds_bucket",
    "eval_gate_cache_hits_total",
    "eval_gate_cache_misses_total",
    "eval_gate_cache_bytes",
    "eval_gate_gates_in_flight",
)


# --------------------------------------------------------------------------- the OpenAPI check


@cache
def openapi() -> dict[str, Any]:
    return yaml.safe_load((REPO / "schema" / "openapi.yaml").read_text(encoding="utf-8"))


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow an OpenAPI `$ref` (to a response or header) within the document."""
    while "$ref" in node:
        target: Any = openapi()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def validate_schema(schema: dict[str, Any], value: Any) -> None:
    """Validate `value` against a schema of the document (its `#/components/...` refs work)."""
    root = {**openapi(), **schema}  # OpenAPI's own keys are unknown keywords: ignored
    jsonschema.Draft202012Validator(root).validate(value)


def validate_request(body: dict[str, Any]) -> None:
    validate_schema({"$ref": "#/components/schemas/GateRequest"}, body)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: CIMultiDict[str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def check_documented(method: str, path: str, answer: Answer) -> None:
    operation = openapi()["paths"].get(path, {}).get(method.lower())
    assert operation is not None, f"{method} {path} is not documented"
    documented = operation["responses"]
    assert str(answer.status) in documented, f"{method} {path} -> {answer.status} undocumented"
    response = _resolve(documented[str(answer.status)])
    for name in response.get("headers", {}):
        assert name in answer.headers, f"{method} {path} {answer.status}: no {name} header"
    content = response.get("content", {})
    if answer.status == 204:  # no content, none described
        assert not content and not answer.text
        return
    kind = answer.headers.get("Content-Type", "").split(";")[0].strip()
    assert kind in content, f"{method} {path} {answer.status}: {kind} is not documented"
    if kind == "application/json":
        validate_schema(content[kind]["schema"], answer.json)


async def call(
    client: Any,
    method: str,
    path: str,
    *,
    token: str | None = TOKEN,
    body: Any = None,
    data: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request, its answer checked against the OpenAPI description and for secrets."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {"headers": sent}
    if body is not None:
        kwargs["json"] = body
    elif data is not None:
        kwargs["data"] = data
    async with client.request(method, path, **kwargs) as resp:
        answer = Answer(resp.status, CIMultiDict(resp.headers), await resp.text())
    check_documented(method, path, answer)
    assert_no_secret(answer.text + repr(list(answer.headers.items())))
    assert "Traceback" not in answer.text
    return answer


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def standin() -> RoboflowStandIn:
    return RoboflowStandIn(api_key=KEY, workspace="ws")


@pytest.fixture
async def api_url(aiohttp_server, standin) -> str:
    server = await aiohttp_server(standin.app())
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def settings(api_url) -> ServerSettings:
    return ServerSettings(
        host="127.0.0.1",
        port=0,
        tokens=(TOKEN,),
        roboflow_api_key=KEY,
        api_url=api_url,
        request_deadline=20.0,
        grace=5.0,
    )


@pytest.fixture
def make_client(aiohttp_client, settings):
    async def make(**changes: Any):
        return await aiohttp_client(create_app(replace(settings, **changes)))

    return make


@pytest.fixture
async def client(make_client):
    return await make_client()


def gate_body(*evals: str, config: Any = CONFIG, **extra: Any) -> dict[str, Any]:
    return {"config": config, "evals": list(evals), **extra}


# --------------------------------------------------------------------------- verdicts


async def test_pass_answers_the_json_document_report_and_exit_code(client, standin):
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.85}))
    body = gate_body("e1")
    validate_request(body)
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.status == 200, answer.text
    document = answer.json
    assert document["verdict"] == "pass"
    assert document["exit_code"] == 0
    assert document["counts"]["total"] == len(document["checks"]) == 3
    assert document["evals"][0]["id"] == "e1"
    assert document["report"].startswith("## ✅ eval-gate")
    assert "comment_url" not in document
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"])
    assert standin.count("map-results") == 1
    assert standin.requests[0].headers["Authorization"] == f"Bearer {KEY}"


async def test_the_document_is_what_the_cli_writes_with_json(client, standin, api_url, tmp_path):
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.5}))
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    env = clean_env(ROBOFLOW_API_KEY=KEY, ROBOFLOW_API_URL=api_url)
    proc = await cli_async("check", "--eval", "e1", "--json", "out.json", cwd=tmp_path, env=env)
    assert proc.code == answer.json["exit_code"] == 1
    written = json.loads((tmp_path / "out.json").read_text())
    served = {k: v for k, v in answer.json.items() if k not in ("report", "exit_code")}
    assert list(served) == list(written)
    assert served == written


async def test_fail_is_a_200_with_exit_code_per_fail_on(client, standin):
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.5}))
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    assert answer.status == 200
    assert answer.json["verdict"] == "fail"
    assert answer.json["exit_code"] == 1
    assert "bus" in answer.json["report"]
    never = await call(client, "POST", "/v1/gate", body=gate_body("e1", fail_on="never"))
    assert never.json["verdict"] == "fail"
    assert never.json["exit_code"] == 0


async def test_warning_rule_and_fail_on_warning(client, standin):
    standin.add_eval("e1", map_results=detection_results({"car": 0.9}, map50=0.7))
    config = {"version": 1, "rules": [{"metric": "map50", "min": 0.8, "severity": "warning"}]}
    body = gate_body("e1", config=config, workspace="ws", fail_on="warning")
    validate_request(body)
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.json["verdict"] == "warn"
    assert answer.json["exit_code"] == 1


async def test_evals_from_the_config_and_baseline(client, standin):
    standin.add_eval("shipped", map_results=detection_results({"car": 0.95}, map50=0.95))
    standin.add_eval("new", map_results=detection_results({"car": 0.9}))
    config = {
        "version": 1,
        "workspace": "ws",
        "evals": [{"id": "new", "baseline": "shipped"}],
        "rules": [{"metric": "map50", "max_drop": 0.02}],
    }
    answer = await call(client, "POST", "/v1/gate", body={"config": config})
    assert answer.status == 200, answer.text
    assert answer.json["verdict"] == "fail"
    assert answer.json["evals"][0]["baseline_id"] == "shipped"


async def test_baseline_base_is_a_config_error_outside_the_action(client, standin):
    config = {
        "version": 1,
        "workspace": "ws",
        "evals": [{"id": "new", "baseline": "base"}],
        "rules": [{"metric": "map50", "max_drop": 0.02}],
    }
    answer = await call(client, "POST", "/v1/gate", body={"config": config})
    assert answer.status == 400, answer.text
    assert answer.json["error"] == "invalid_config"
    assert "only works in the GitHub Action on pull requests" in answer.json["message"]


async def test_max_chars_shortens_the_report(client, standin):
    classes = {f"class-{i}": 0.5 for i in range(300)}
    standin.add_eval("e1", map_results=detection_results(classes))
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", max_chars=2000))
    assert answer.status == 200
    assert len(answer.json["report"]) <= 2000
    assert len(answer.json["checks"]) == 301  # the document itself is never shortened


# --------------------------------------------------------------------------- request problems


async def test_yaml_config_with_two_problems_lists_both_with_line_and_column(client, standin):
    config = (
        "version: 1\nworkspace: ws\nrules:\n"
        "  - metric: mAP_50\n    min: 0.8\n"
        "  - metric: map50\n    min: 70\n"
    )
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert answer.status == 400
    error = answer.json
    assert error["error"] == "invalid_config"
    problems = error["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [(4, 13), (7, 10)]
    assert "did you mean 'map50'" in problems[0]["message"]
    assert "did you mean 0.7" in problems[1]["message"]
    assert error["message"].startswith("<request config>:4:13: ")
    assert "(and 1 more problem)" in error["message"]
    assert error["request_id"] == answer.headers["X-Request-Id"]
    assert standin.count() == 0


async def test_object_config_problems_are_located_by_path(client, standin):
    config = {"version": 1, "rules": [{"metric": "map50", "min": "high"}, "map50 >= 2"]}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert answer.status == 400
    assert answer.json["error"] == "invalid_config"
    messages = [p["message"] for p in answer.json["problems"]]
    assert len(messages) == 2
    assert messages[0].startswith("rules[0].min: ")
    assert messages[1].startswith("rules[1]: ")
    assert all(p["line"] is None for p in answer.json["problems"])


async def test_every_request_problem_is_listed_at_once(client, standin):
    body = {
        "config": "version: 1\nrules: [map50 >= 0.8]\nbogus: 1\n",
        "evals": ["e1", 7],
        "wait": 10_000,
        "fail_on": "sometimes",
        "colour": "blue",
        "github": {"repository": "not a repo", "pull_number": 0},
    }
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.status == 400
    error = answer.json
    assert error["error"] == "invalid_request"
    fields = [p["field"] for p in error["problems"]]
    assert fields == [
        "colour",
        "evals[1]",
        "wait",
        "fail_on",
        "github.repository",
        "github.token",
        "github.pull_number",
        "config",
    ]
    config_problem = error["problems"][-1]
    assert (config_problem["line"], config_problem["column"]) == (3, 1)
    assert "(and 7 more problems)" in error["message"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"config": ', "invalid_json"),
        (b"\xff\xfe not utf-8", "invalid_json"),
        (b"[1, 2]", "invalid_request"),
        (b"{}", "invalid_request"),
    ],
)
async def test_malformed_bodies_are_400(client, data, code):
    answer = await call(
        client, "POST", "/v1/gate", data=data, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 400
    assert answer.json["error"] == code


async def test_invalid_json_says_where(client):
    answer = await call(
        client, "POST", "/v1/gate", data='{"config": "x",\n "evals": [}', headers=JSON_TYPE
    )
    assert answer.status == 400
    assert "line 2 column" in answer.json["message"]


async def test_oversized_body_is_413(make_client, standin):
    client = await make_client(max_body=4096)
    body = gate_body("e1", title="x" * 100, config=CONFIG + "# " + "padding " * 1000 + "\n")
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.status == 413
    assert answer.json["error"] == "body_too_large"
    assert "4,096 bytes" in answer.json["message"]
    assert standin.count() == 0


async def test_oversized_chunked_body_is_413(make_client):
    client = await make_client(max_body=4096)

    async def chunks():
        for _ in range(10):
            yield b" " * 1024

    answer = await call(client, "POST", "/v1/gate", data=chunks(), headers=JSON_TYPE)  # type: ignore[arg-type]
    assert answer.status == 413


async def test_no_roboflow_key_anywhere_is_400(make_client, standin):
    client = await make_client(roboflow_api_key=None)
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    assert answer.status == 400
    assert answer.json["error"] == "missing_api_key"
    assert "X-Roboflow-Api-Key" in answer.json["message"]


async def test_the_header_key_is_used_and_never_echoed(make_client, standin):
    standin.api_key = HEADER_KEY
    standin.add_eval("e1")
    client = await make_client(roboflow_api_key=None)
    headers = {"X-Roboflow-Api-Key": HEADER_KEY}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1"), headers=headers)
    assert answer.status == 200, answer.text
    assert standin.requests[0].headers["Authorization"] == f"Bearer {HEADER_KEY}"


async def test_no_workspace_is_400(client):
    config = {"version": 1, "rules": ["map50 >= 0.8"]}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", config=config))
    assert answer.status == 400
    assert "workspace" in answer.json["message"]


async def test_no_eval_to_gate_is_400(client):
    answer = await call(client, "POST", "/v1/gate", body={"config": CONFIG})
    assert answer.status == 400
    assert answer.json["problems"][0]["field"] == "evals"


# --------------------------------------------------------------------------- unavailable


async def test_unknown_eval_is_422_with_the_reason(client, standin):
    answer = await call(client, "POST", "/v1/gate", body=gate_body("nope"))
    assert answer.status == 422
    assert answer.json["error"] == "results_unavailable"
    assert answer.json["eval_id"] == "nope"
    assert "not found" in answer.json["message"]


async def test_running_eval_without_wait_is_422(client, standin):
    standin.add_eval("e1", status="running")
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    assert answer.status == 422
    assert "still running" in answer.json["message"]


async def test_running_eval_with_wait_waits_and_passes(make_client, standin):
    client = await make_client(poll_interval=0.05)
    standin.add_eval("e1", map_results=detection_results(["car"]))
    not_done = {"error": "model_eval_not_done", "message": "Evaluation is still running"}
    standin.script("map-results", [Scripted(status=409, body=not_done)])
    standin.script("info", [Scripted(body={"evalId": "e1", "status": "running"})])
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", wait=5))
    assert answer.status == 200, answer.text
    assert standin.count("map-results") == 2


async def test_wrong_header_key_is_422_and_never_echoed(client, standin):
    standin.add_eval("e1")
    headers = {"X-Roboflow-Api-Key": HEADER_KEY}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1"), headers=headers)
    assert answer.status == 422
    assert "API key" in answer.json["message"]


async def test_request_deadline_is_422(make_client, standin):
    client = await make_client(request_deadline=0.5, upstream_timeout=5.0)
    standin.add_eval("e1")
    standin.script("map-results", [Scripted(hang=True)])
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    assert answer.status == 422
    assert "deadline" in answer.json["message"]


# --------------------------------------------------------------------------- auth


async def test_auth_missing_is_401_with_a_bearer_challenge(client):
    answer = await call(client, "POST", "/v1/gate", token=None, body=gate_body("e1"))
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json["error"] == "unauthorized"


async def test_auth_malformed_is_401(client):
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer a b"):
        answer = await call(
            client, "POST", "/v1/gate", token=None, headers={"Authorization": value}, body={}
        )
        assert answer.status == 401, value


async def test_auth_wrong_is_403(client, standin):
    answer = await call(client, "POST", "/v1/gate", token=TOKEN + "x", body=gate_body("e1"))
    assert answer.status == 403
    assert answer.json["error"] == "forbidden"
    metrics = await call(client, "GET", "/metrics", token="y" * 20)
    assert metrics.status == 403
    assert standin.count() == 0


async def test_any_configured_token_is_accepted(make_client, standin):
    standin.add_eval("e1")
    other = "second-SECRET-token-qrstuvwxyz012"
    client = await make_client(tokens=(TOKEN, other))
    for token in (TOKEN, other):
        assert (
            await call(client, "POST", "/v1/gate", token=token, body=gate_body("e1"))
        ).status == 200
    metrics = await call(client, "GET", "/metrics", token=None)
    assert metrics.status == 401


async def test_probes_need_no_token(client):
    health = await call(client, "GET", "/healthz", token=None)
    assert (health.status, health.json) == (200, {"status": "ok"})
    ready = await call(client, "GET", "/readyz", token=None)
    assert ready.status == 200
    assert ready.json == {"status": "ready", "gates_in_flight": 0}


async def test_insecure_no_auth_serves_without_tokens(make_client, standin):
    standin.add_eval("e1")
    client = await make_client(tokens=(), insecure_no_auth=True)
    answer = await call(client, "POST", "/v1/gate", token=None, body=gate_body("e1"))
    assert answer.status == 200
    assert (await call(client, "GET", "/metrics", token=None)).status == 200


async def test_unknown_route_and_method_are_json_errors(client):
    async with client.get("/nowhere", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert resp.status == 404
        body = await resp.json()
    assert body["error"] == "not_found"
    assert body["request_id"] == resp.headers["X-Request-Id"]
    async with client.get("/v1/gate", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert resp.status == 405
        assert "POST" in resp.headers["Allow"]
        assert (await resp.json())["error"] == "method_not_allowed"


# --------------------------------------------------------------------------- cache and sharing


async def test_second_identical_request_is_answered_from_memory(client, standin):
    standin.add_eval("e1")
    first = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    second = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    assert first.status == second.status == 200
    assert first.json == second.json
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    assert standin.count("map-results") == 1
    metrics = (await call(client, "GET", "/metrics")).text
    assert 'eval_gate_verdicts_total{verdict="pass"} 2.0' in metrics


async def test_another_request_about_the_same_eval_uses_the_results_cache(client, standin):
    standin.add_eval("e1")
    first = await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    other = await call(client, "POST", "/v1/gate", body=gate_body("e1", fail_on="warning"))
    assert first.status == other.status == 200
    assert standin.count("map-results") == 1
    metrics = (await call(client, "GET", "/metrics")).text
    assert "eval_gate_cache_hits_total 1.0" in metrics
    assert "eval_gate_cache_misses_total 1.0" in metrics


async def test_answers_with_auto_baseline_are_not_remembered(client, standin):
    standin.add_eval("old", created_at="2026-01-01T00:00:00Z")
    standin.add_eval("e1", created_at="2026-01-02T00:00:00Z")
    body = gate_body("e1", baseline="auto")
    assert (await call(client, "POST", "/v1/gate", body=body)).status == 200
    assert (await call(client, "POST", "/v1/gate", body=body)).status == 200
    # A newer done evaluation could become the baseline: the list is asked every time.
    assert standin.count("list") == 2


async def test_the_cache_is_per_key(client, standin):
    standin.add_eval("e1")
    assert (await call(client, "POST", "/v1/gate", body=gate_body("e1"))).status == 200
    headers = {"X-Roboflow-Api-Key": HEADER_KEY}
    other = await call(client, "POST", "/v1/gate", body=gate_body("e1"), headers=headers)
    assert other.status == 422  # asked upstream with its own key, which Roboflow refuses
    assert standin.count("map-results") == 2


async def test_running_evals_are_not_cached(client, standin):
    standin.add_eval("e1", status="running")
    assert (await call(client, "POST", "/v1/gate", body=gate_body("e1"))).status == 422
    standin.set_status("e1", "done")
    assert (await call(client, "POST", "/v1/gate", body=gate_body("e1"))).status == 200
    assert (await call(client, "POST", "/v1/gate", body=gate_body("e1"))).status == 200
    assert standin.count("map-results") == 2


async def test_concurrent_identical_requests_share_one_upstream_fetch(client, standin):
    standin.latency = 0.5
    standin.add_eval("e1")
    answers = await asyncio.gather(
        *(call(client, "POST", "/v1/gate", body=gate_body("e1")) for _ in range(5))
    )
    assert [a.status for a in answers] == [200] * 5
    assert standin.count("map-results") == 1
    assert len({a.headers["X-Request-Id"] for a in answers}) == 5


async def test_concurrency_limit_answers_429_without_queueing(make_client, standin):
    client = await make_client(max_concurrent_gates=1)
    standin.latency = 1.0
    standin.add_eval("e1")
    standin.add_eval("e2")
    slow = asyncio.create_task(call(client, "POST", "/v1/gate", body=gate_body("e1")))
    await wait_for(lambda: standin.count("map-results") == 1)
    ready = await call(client, "GET", "/readyz", token=None)
    assert ready.json["gates_in_flight"] == 1
    metrics = (await call(client, "GET", "/metrics")).text
    assert "eval_gate_gates_in_flight 1.0" in metrics
    refused = await call(client, "POST", "/v1/gate", body=gate_body("e2"))
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json["error"] == "too_many_gates"
    assert (await slow).status == 200
    assert standin.count("map-results", eval_id="e2") == 0
    again = await call(client, "POST", "/v1/gate", body=gate_body("e2"))
    assert again.status == 200


async def wait_for(condition, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while not condition():
        assert loop.time() < give_up, "condition not met in time"
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------- shutdown


async def test_shutdown_finishes_the_gate_in_flight(aiohttp_server, settings, standin):
    standin.latency = 1.0
    standin.add_eval("e1")
    app = create_app(settings)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession(str(server.make_url(""))) as session:
        slow = asyncio.create_task(call(session, "POST", "/v1/gate", body=gate_body("e1")))
        await wait_for(lambda: standin.count("map-results") == 1)
        closing = asyncio.create_task(server.close())
        await wait_for(lambda: app[RUNS].draining)
        answer = await slow
        await closing
    assert answer.status == 200
    assert app[UPSTREAM].session.closed


async def test_shutdown_cuts_a_gate_short_after_the_grace(aiohttp_server, settings, standin):
    standin.latency = 30.0
    standin.add_eval("e1")
    app = create_app(replace(settings, grace=0.3))
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession(str(server.make_url(""))) as session:
        slow = asyncio.create_task(call(session, "POST", "/v1/gate", body=gate_body("e1")))
        await wait_for(lambda: standin.count("map-results") == 1)
        started = asyncio.get_running_loop().time()
        await server.close()
        answer = await slow
    assert asyncio.get_running_loop().time() - started < 5
    assert answer.status == 503
    assert answer.json["error"] == "shutting_down"


# --------------------------------------------------------------------------- request ids and logs


async def test_a_sane_request_id_is_echoed_and_on_every_log_line(client, standin):
    standin.add_eval("e1")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        answer = await call(
            client, "POST", "/v1/gate", body=gate_body("e1"), headers={"X-Request-Id": "ci-42.a_b"}
        )
    assert answer.headers["X-Request-Id"] == "ci-42.a_b"
    events = [e["event"] for e in logs if e.get("request_id") == "ci-42.a_b"]
    assert "gate.verdict" in events
    assert "http.request" in events
    request_lines = [e for e in logs if e["event"] in ("gate.verdict", "http.request")]
    assert all(e.get("request_id") == "ci-42.a_b" for e in request_lines)


@pytest.mark.parametrize("incoming", ["x" * 129, "has space", "semi;colon", "ünï", ""])
async def test_an_odd_request_id_is_replaced(client, incoming):
    answer = await call(client, "GET", "/healthz", token=None, headers={"X-Request-Id": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"])


async def test_secrets_are_absent_from_every_log_line(make_client, standin, aiohttp_server):
    """Server logging as `eval-gate serve` configures it, at debug level, through errors."""
    github = GitHubStandIn(token=GH_TOKEN)
    github.add_pull("octo-org/octo-repo", 7, head_sha=SHA)
    gh_server = await aiohttp_server(github.app())
    client = await make_client(github_api_url=str(gh_server.make_url("")).rstrip("/"))
    standin.add_eval("e1")
    stream = io.StringIO()
    configure_server_logging(stream, fmt="json", level="debug", secrets=(KEY, TOKEN))
    try:
        with_header = {"X-Roboflow-Api-Key": HEADER_KEY}
        github_part = {"repository": "octo-org/octo-repo", "pull_number": 7, "token": GH_TOKEN}
        await call(client, "POST", "/v1/gate", body=gate_body("e1", github=github_part))
        await call(client, "POST", "/v1/gate", body=gate_body("e1"), headers=with_header)
        await call(client, "POST", "/v1/gate", body=gate_body("nope"))
        await call(client, "POST", "/v1/gate", token="wrong-token-0123456789", body={})
        bad_github = {**github_part, "token": GH_TOKEN + "-wrong"}
        await call(client, "POST", "/v1/gate", body=gate_body("e1", github=bad_github))
    finally:
        structlog.reset_defaults()
    text = stream.getvalue()
    assert "publish.comment" in text and "Roboflow refused the API key" in text
    assert_no_secret(text)
    assert "wrong-token-0123456789" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    request_lines = [e for e in lines if e["event"] != "server.started"]
    assert request_lines and all(
        re.fullmatch(r"[0-9a-f]{32}", e["request_id"]) for e in request_lines
    )


def test_request_secrets_are_masked_on_log_lines():
    """A secret that reaches a log line (say, echoed by a server) is masked."""

    async def in_a_request() -> dict[str, Any]:
        add_request_secrets(HEADER_KEY)
        event = {"event": "roboflow.retry", "reason": f"server said: bad key {HEADER_KEY}"}
        return redact_request_secrets(None, "info", event)

    event = asyncio.run(in_a_request())
    assert HEADER_KEY not in json.dumps(event)
    assert "***" in event["reason"]
    outside = redact_request_secrets(None, "info", {"event": "x", "v": HEADER_KEY})
    assert outside["v"] == HEADER_KEY  # another request's (here: none) secrets are its own


def test_settings_repr_hides_secrets():
    settings = ServerSettings(tokens=(TOKEN,), roboflow_api_key=KEY)
    assert_no_secret(repr(settings))


# --------------------------------------------------------------------------- GitHub


@pytest.fixture
async def github(aiohttp_server):
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull("octo-org/octo-repo", 7, head_sha=SHA)
    server = await aiohttp_server(standin.app())
    standin.url = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return standin


async def test_github_sticky_comment_and_status(make_client, standin, github):
    client = await make_client(github_api_url=github.url)
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.5}))
    part = {"repository": "octo-org/octo-repo", "pull_number": 7, "sha": SHA, "token": GH_TOKEN}
    body = gate_body("e1", github=part)
    validate_request(body)
    first = await call(client, "POST", "/v1/gate", body=body)
    assert first.status == 200, first.text
    comments = github.comments_on("octo-org/octo-repo", 7)
    assert len(comments) == 1
    assert first.json["comment_url"].endswith(f"#issuecomment-{comments[0].id}")
    assert "bus" in comments[0].body
    statuses = github.statuses_for("octo-org/octo-repo", SHA)
    assert [(s.state, s.context) for s in statuses] == [("failure", "eval-gate/default")]
    # Again: the same comment is updated, not a second one posted.
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.9}))
    second = await call(client, "POST", "/v1/gate", body=gate_body("e2", github=part))
    assert second.status == 422  # e2 does not exist: nothing is posted
    standin.add_eval("e2", map_results=detection_results({"car": 0.9, "bus": 0.9}))
    third = await call(client, "POST", "/v1/gate", body=gate_body("e2", github=part))
    assert third.json["verdict"] == "pass"
    comments = github.comments_on("octo-org/octo-repo", 7)
    assert len(comments) == 1
    assert "Passed" in comments[0].body
    assert third.json["comment_url"] == first.json["comment_url"]
    # The very same request again posts again (answers that post are never remembered).
    updates = github.count("update-comment")
    assert (await call(client, "POST", "/v1/gate", body=gate_body("e2", github=part))).status == 200
    assert github.count("update-comment") == updates + 1
    assert github.violations == []
    assert all(GH_TOKEN not in (r.body or "") for r in github.requests)


async def test_github_failure_never_changes_the_answer(make_client, standin, github):
    client = await make_client(github_api_url=github.url)
    standin.add_eval("e1")
    part = {
        "repository": "octo-org/octo-repo",
        "pull_number": 7,
        "sha": SHA,
        "token": GH_TOKEN + "x",
    }
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", github=part))
    assert answer.status == 200
    assert answer.json["verdict"] == "pass"
    assert answer.json["comment_url"] is None
    assert github.comments_on("octo-org/octo-repo", 7) == []
    assert github.violations == []


async def test_github_pull_request_found_by_sha(make_client, standin, github):
    client = await make_client(github_api_url=github.url)
    standin.add_eval("e1")
    part = {"repository": "octo-org/octo-repo", "sha": SHA, "token": GH_TOKEN, "gate_id": "nightly"}
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", github=part))
    assert answer.status == 200
    assert answer.json["comment_url"] is not None
    statuses = github.statuses_for("octo-org/octo-repo", SHA)
    assert [(s.state, s.context) for s in statuses] == [("success", "eval-gate/nightly")]
    assert github.violations == []


# --------------------------------------------------------------------------- metrics


async def test_metrics_expose_the_documented_names(client, standin):
    standin.add_eval("e1")
    await call(client, "POST", "/v1/gate", body=gate_body("e1"))
    await call(client, "POST", "/v1/gate", body=gate_body("nope"))
    await call(client, "GET", "/healthz", token=None)
    answer = await call(client, "GET", "/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    text = answer.text
    for name in METRIC_NAMES:
        assert re.search(rf"^{name}[{{ ]", text, re.MULTILINE), name
        assert name.split("_bucket")[0].removesuffix("_total") in openapi_metrics_text()
    assert 'eval_gate_http_requests_total{method="POST",route="/v1/gate",status="200"} 1.0' in text
    assert 'eval_gate_http_requests_total{method="POST",route="/v1/gate",status="422"} 1.0' in text
    assert 'eval_gate_verdicts_total{verdict="pass"} 1.0' in text
    assert 'eval_gate_verdicts_total{verdict="error"} 1.0' in text
    assert 'eval_gate_upstream_request_seconds_count{operation="map_results"} 2.0' in text


def openapi_metrics_text() -> str:
    return openapi()["paths"]["/metrics"]["get"]["description"]


async def test_metrics_registries_are_per_app(make_client, standin):
    standin.add_eval("e1")
    first = await make_client()
    await call(first, "POST", "/v1/gate", body=gate_body("e1"))
    second = await make_client()
    text = (await call(second, "GET", "/metrics")).text
    assert 'route="/v1/gate"' not in text


# --------------------------------------------------------------------------- the description


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def test_the_openapi_description_covers_exactly_the_served_routes(settings):
    """Every route of the API; the history pages (`/ui/...`) are HTML for a browser, not the
    API, and are described in docs/service/history.md instead."""
    app = create_app(settings)
    served = {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and not is_ui_path(route.resource.canonical)
    }
    documented = {
        (path, method)
        for path, operations in openapi()["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }
    assert served == documented


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_the_openapi_description_is_well_formed():
    document = openapi()
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["version"] == __version__
    assert document["components"]["securitySchemes"]["bearer"] == {
        **document["components"]["securitySchemes"]["bearer"],
        "type": "http",
        "scheme": "bearer",
    }
    for ref in _refs(document):
        assert ref.startswith("#/"), ref
        assert _resolve({"$ref": ref}), ref
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for path in ("/healthz", "/readyz"):
        assert document["paths"][path]["get"]["security"] == []  # the probes need no token
    assert "security" not in document["paths"]["/v1/gate"]["post"]  # the default: bearer
    examples = document["paths"]["/v1/gate"]["post"]["requestBody"]["content"]["application/json"]
    for example in examples["examples"].values():
        validate_request(example["value"])
