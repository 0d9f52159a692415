"""The service words the engine's errors in its own request's fields (the request's `wait`),
never the command line's flags or the Action's inputs: the engine names no face."""

from __future__ import annotations

from tests.server.test_server import (  # fixtures, re-exported for pytest
    api_url,
    call,
    client,
    gate_body,
    make_client,
    settings,
    standin,
)

__all__ = ["api_url", "client", "make_client", "settings", "standin"]


async def test_a_running_evaluation_says_raise_the_request_s_wait(client, standin):
    standin.add_eval("e1", status="running")
    answer = await call(client, "POST", "/v1/gate", body=gate_body("e1", wait=0))
    assert answer.status == 422, answer.text
    assert answer.json["message"] == (
        "evaluation e1 is still running after waiting 0 s; raise the request's wait, or run "
        "the gate again when it is done"
    )


async def test_a_model_without_an_evaluation_says_raise_the_request_s_wait(client, standin):
    body = gate_body(wait=0)
    body["evals"] = [{"model": "m9"}]
    answer = await call(client, "POST", "/v1/gate", body=body)
    assert answer.status == 422, answer.text
    assert "raise the request's wait, or run the gate again" in answer.json["message"]
    assert "--wait" not in answer.text


async def test_baseline_base_says_a_request_has_no_base_branch_s_config(client, standin):
    config = {
        "version": 1,
        "workspace": "ws",
        "evals": [{"id": "new", "baseline": "base"}],
        "rules": [{"metric": "map50", "min": 0.5}],
    }
    answer = await call(client, "POST", "/v1/gate", body={"config": config})
    assert answer.status == 400, answer.text
    (problem,) = answer.json["problems"]
    assert problem["message"] == (
        "baseline: base only works in the GitHub Action on pull requests (it reads the base "
        "branch's config, which a request does not have); name an eval id, auto or champion "
        "instead"
    )
