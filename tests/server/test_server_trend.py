"""The service's config takes `trend` (the same loader) and its answer carries the trend,
checked against schema/openapi.yaml like every answer."""

from __future__ import annotations

from tests.roboflow_standin import Scripted, detection_results
from tests.server.test_server import (  # noqa: F401 - fixtures, used by name
    api_url,
    call,
    client,
    gate_body,
    make_client,
    settings,
    standin,
)


def rule_config(extra: dict) -> dict:
    return {"version": 1, "workspace": "ws", "rules": ["map50 >= 0.1"], **extra}


async def test_the_answer_carries_the_trend_and_its_chart(client, standin):  # noqa: F811
    for n, day in ((1, "01"), (2, "02")):
        standin.add_eval(
            f"prev{n}", model_id=f"m{n}", version_id="v3", created_at=f"2026-01-{day}T00:00:00Z"
        )
    standin.add_eval(
        "e1",
        model_id="m0",
        version_id="v3",
        created_at="2026-01-05T00:00:00Z",
        map_results=detection_results({"car": 0.9}),
    )
    answer = await call(
        client, "POST", "/v1/gate", body=gate_body("e1", config=rule_config({"trend": 1}))
    )
    assert answer.status == 200, answer.text
    trend = answer.json["evals"][0]["trend"]
    assert [(p["eval"], p["role"]) for p in trend["points"]] == [
        ("prev2", "earlier"),
        ("e1", "candidate"),
    ]
    assert "```mermaid\nxychart-beta\n" in answer.json["report"]


async def test_trend_0_and_a_trend_past_50_in_the_request_config(client, standin):  # noqa: F811
    standin.add_eval("e1", version_id="v3")
    answer = await call(
        client, "POST", "/v1/gate", body=gate_body("e1", config=rule_config({"trend": 0}))
    )
    assert answer.status == 200, answer.text
    assert answer.json["evals"][0]["trend"] is None
    assert standin.count("list") == 0
    answer = await call(
        client, "POST", "/v1/gate", body=gate_body("e1", config=rule_config({"trend": 51}))
    )
    assert answer.status == 400
    assert answer.json["error"] == "invalid_config"
    assert answer.json["problems"][0]["message"].startswith(
        "trend: trend must be from 0 to 50, got "
    )


async def test_a_hanging_trend_rival_is_left_out_and_the_answer_comes(client, standin):  # noqa: F811
    """One rival's map-results never come. The request deadline is 20 s, so the trend's budget
    is 2 s: the answer is a 200 with that rival left out and named, and is not remembered (the
    rival may only have been late). It used to be a 422 once the request deadline passed."""
    for n in (1, 2, 3):
        standin.add_eval(
            f"prev{n}", model_id=f"m{n}", version_id="v3", created_at=f"2026-01-0{n}T00:00:00Z"
        )
    standin.add_eval("e1", model_id="m0", version_id="v3", created_at="2026-01-05T00:00:00Z")
    standin.script("map-results", [Scripted(hang=True)] * 10, eval_id="prev2")
    body = gate_body("e1", config=rule_config({}), baseline="prev1")
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.status == 200, answer.text
    trend = answer.json["evals"][0]["trend"]
    assert trend["left_out"] == ["prev2"]
    assert [p["eval"] for p in trend["points"]] == ["prev1", "prev3", "e1"]
    assert answer.json["verdict"] == "pass"
    lists = standin.count("list")
    again = await call(client, "POST", "/v1/gate", body=body)
    assert again.status == 200
    assert standin.count("list") == lists + 1  # gated afresh: the answer was not remembered
