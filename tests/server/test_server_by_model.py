"""`POST /v1/gate` with `evals` entries written as objects naming a model or a dataset version,
against the stand-in Roboflow API on 127.0.0.1."""

from __future__ import annotations

from tests.roboflow_standin import detection_results
from tests.server.test_server import (  # fixtures, re-exported for pytest
    api_url,
    call,
    client,
    gate_body,
    make_client,
    settings,
    standin,
    validate_request,
)

__all__ = ["api_url", "client", "make_client", "settings", "standin"]


async def test_an_object_entry_names_a_model_and_is_never_remembered(client, standin):
    standin.add_eval("old", model_id="m1", created_at="2026-01-01T00:00:00Z")
    standin.add_eval(
        "new",
        model_id="m1",
        created_at="2026-01-02T00:00:00Z",
        map_results=detection_results({"car": 0.95, "bus": 0.9}),
    )
    body = gate_body()
    body["evals"] = [{"model": "m1", "name": "detector"}, "old"]
    validate_request(body)
    first = await call(client, "POST", "/v1/gate", body=body)
    assert first.status == 200, first.text
    assert [(e["id"], e["label"]) for e in first.json["evals"]] == [
        ("new", "detector"),
        ("old", "old"),
    ]
    second = await call(client, "POST", "/v1/gate", body=body)
    assert second.status == 200
    # A newer evaluation of the model could appear: the list is asked every time.
    assert standin.count("list") == 2


async def test_a_version_that_never_gets_an_eval_is_422_saying_so(client, standin):
    body = gate_body(wait=0.2)
    body["evals"] = [{"version": "v9"}]
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.status == 422, answer.text
    assert "no evaluation of version v9 appeared" in answer.text
