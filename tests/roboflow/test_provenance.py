"""The candidate's provenance (model, dataset version, created) is always known online: its
metadata is asked alongside its map-results (and the baseline's, to say same or different
dataset version); saved files ask nothing and the report says why it is unknown."""

from __future__ import annotations

import asyncio

import pytest

from gate.config.loader import load_config
from gate.core.outcome import GateOutcome
from gate.engine import GateRequest, run_gate
from gate.fetch import FetchOptions
from gate.report.formats import json_document
from gate.report.render import render_report
from gate.roboflow.client import RoboflowClient
from gate.saved_results import SavedResults
from tests.roboflow_standin import RoboflowStandIn, Scripted, detection_results

KEY = "rf_provenance_key_0123456789"
RULES = "rules:\n  - metric: map50\n    max_drop: 0.5\n"


@pytest.fixture
def standin() -> RoboflowStandIn:
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval("cand", model_id="m3", version_id="v2", created_at="2026-01-10T00:00:00Z")
    fake.add_eval("prev", model_id="m1", version_id="v1", created_at="2026-01-05T00:00:00Z")
    return fake


def client_for(server, session) -> RoboflowClient:
    return RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )


async def gate(source, baseline: str | None = "prev") -> GateOutcome:
    item = "  - id: cand\n" + (f"    baseline: {baseline}\n" if baseline else "")
    rules = RULES if baseline else 'rules:\n  - "map50 >= 0.1"\n'
    config = load_config(f"version: 1\nevals:\n{item}{rules}")
    return await run_gate(
        GateRequest(config=config, workspace="ws"), source, FetchOptions(wait=1, poll_interval=0.05)
    )


async def test_an_eval_named_by_id_with_a_given_baseline_names_both_models_and_versions(
    standin, server, session
):
    outcome = await gate(client_for(server, session))
    p = outcome.evals[0].provenance
    assert p is not None
    assert (p.model_id, p.version_id, p.created_at) == ("m3", "v2", "2026-01-10T00:00:00+00:00")
    assert (p.baseline_chosen, p.baseline_same_version, p.unknown) == ("given", False, None)
    assert standin.count("info", "cand") == 1 and standin.count("info", "prev") == 1
    assert standin.count("map-results") == 2
    assert standin.count("list") == 1  # the trend's: v2's evals (none but the candidate)
    assert standin.count() == 5
    evals = json_document(outcome)["evals"][0]
    assert evals["candidate"] == {
        "id": "cand",
        "model": "m3",
        "dataset_version": "v2",
        "created_at": "2026-01-10T00:00:00+00:00",
    }
    assert evals["baseline"]["same_dataset_version"] is False
    report = render_report(outcome)
    assert "model `m3` · dataset version `v2`" in report
    assert "different dataset version" in report


async def test_the_metadata_is_asked_while_the_map_results_are_in_flight(standin, server, session):
    standin.script("map-results", [Scripted(hang=True)], eval_id="cand")
    run = asyncio.ensure_future(gate(client_for(server, session), baseline=None))
    try:
        async with asyncio.timeout(10):
            while standin.count("info", "cand") == 0:  # noqa: ASYNC110 - polling the stand-in
                await asyncio.sleep(0.01)
        assert not run.done()  # the map-results still hang: the two went out together
        assert standin.count("map-results", "cand") == 1
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


async def test_metadata_roboflow_cannot_give_leaves_the_provenance_unknown_not_the_gate_failed(
    standin, server, session
):
    standin.script("info", [Scripted(404)], eval_id="cand")
    outcome = await gate(client_for(server, session), baseline=None)
    assert outcome.verdict.value == "pass"
    p = outcome.evals[0].provenance
    assert p is not None and (p.model_id, p.version_id, p.created_at) == (None, None, None)
    assert p.unknown == "Roboflow did not say"
    assert "model, dataset version: unknown (Roboflow did not say)" in render_report(outcome)


async def test_a_baseline_whose_version_is_already_known_is_not_asked_again(
    standin, server, session
):
    standin.add_eval("rival", model_id="m1", version_id="v2", created_at="2026-01-08T00:00:00Z")
    outcome = await gate(client_for(server, session), baseline="auto")
    assert outcome.evals[0].baseline_id == "rival"
    assert standin.count("info") == 1  # the candidate's, shared with auto; rival's from the list
    assert [r.endpoint for r in standin.requests].count("list") == 1


async def test_saved_results_ask_nothing_and_the_report_says_why_the_provenance_is_unknown():
    documents = {
        "cand": detection_results({"car": 0.9}),
        "prev": detection_results({"car": 0.8}),
    }
    outcome = await gate(SavedResults(documents))  # no fallback: any request would raise
    p = outcome.evals[0].provenance
    assert p is not None and (p.model_id, p.version_id, p.created_at) == (None, None, None)
    assert (p.unknown, p.baseline_same_version) == ("its results come from a saved file", None)
    report = render_report(outcome)
    assert "model, dataset version: unknown (its results come from a saved file)" in report
    assert json_document(outcome)["evals"][0]["candidate"]["model"] is None
