"""`eval-gate check --model` / `--version` (and `evals:` items naming them) in process
against the stand-in Roboflow API on 127.0.0.1 (`gate` of test_cli_online)."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli_online import KEY, gate
from tests.roboflow_standin import RoboflowStandIn, detection_results


@pytest.fixture
def standin() -> RoboflowStandIn:
    return RoboflowStandIn(api_key=KEY, workspace="ws")


@pytest.fixture
async def api_url(aiohttp_server, standin) -> str:
    server = await aiohttp_server(standin.app())
    return str(server.make_url("")).rstrip("/")


async def test_model_and_version_gate_their_newest_eval(tmp_path, standin, api_url):
    standin.add_eval("m-old", model_id="m1", created_at="2026-01-01T00:00:00Z")
    standin.add_eval(
        "m-new",
        model_id="m1",
        created_at="2026-01-02T00:00:00Z",
        map_results=detection_results({"car": 0.95, "bus": 0.9}),
    )
    standin.add_eval("v-eval", version_id="v9", legacy=True)
    proc = await gate(tmp_path, api_url, "--model", "m1", "--version", "v9")
    assert proc.code == 0, proc.err
    document = json.loads((tmp_path / "gate.json").read_text())
    assert [(e["id"], e["label"]) for e in document["evals"]] == [
        ("m-new", "m1"),
        ("v-eval", "v9"),
    ]
    assert standin.count("list") == 2
    assert standin.count("map-results") == 2


async def test_config_items_name_a_model(tmp_path, standin: RoboflowStandIn, api_url):
    standin.add_eval("e7", model_id="m7")
    config = (
        "version: 1\nworkspace: ws\nevals:\n  - model: m7\n    name: detector\n"
        "rules:\n  - metric: map50\n    min: 0.8\n    evals: [detector]\n"
    )
    proc = await gate(tmp_path, api_url, config=config)
    assert proc.code == 0, proc.err
    assert "detector" in proc.out


async def test_an_eval_that_never_appears_is_exit_3_saying_what_and_how_long(
    tmp_path, standin, api_url
):
    proc = await gate(tmp_path, api_url, "--model", "m1", "--wait", "1.5", "--poll-interval", "1")
    assert proc.code == 3
    assert "no evaluation of model m1 appeared on Roboflow after waiting 1.5 s" in proc.err
    assert "fetch.waiting_for_eval" in proc.err


async def test_a_failed_eval_of_a_model_is_exit_3_never_a_regression(tmp_path, standin, api_url):
    standin.add_eval("bad", model_id="m1", status="failed")
    proc = await gate(tmp_path, api_url, "--model", "m1", "--baseline", "auto")
    assert proc.code == 3
    assert "the evaluation of model m1 failed" in proc.err


async def test_the_report_names_the_candidate_and_flags_a_baseline_on_another_version(
    tmp_path, standin, api_url
):
    standin.add_eval("base", model_id="m0", version_id="v1", created_at="2026-01-01T00:00:00Z")
    standin.add_eval("cand", model_id="m1", version_id="v2", created_at="2026-01-02T00:00:00Z")
    config = "version: 1\nworkspace: ws\nrules:\n  - metric: map50\n    max_drop: 0.1\n"
    proc = await gate(tmp_path, api_url, "--model", "m1", "--baseline", "auto", config=config)
    assert proc.code == 0, proc.err
    assert "model `m1` · dataset version `v2`" in proc.out
    assert "different dataset version: the test sets differ" in proc.out
    document = json.loads((tmp_path / "gate.json").read_text())
    assert document["evals"][0]["baseline"]["same_dataset_version"] is False
    assert [c["delta_note"] for c in document["checks"]] == [
        "different dataset version: the test sets differ"
    ]
