"""`baseline: auto` on the candidate's dataset version (with the project as a flagged fallback,
or `require_same_version`) and `baseline: champion`, against the stand-in on 127.0.0.1."""

from __future__ import annotations

import pytest

from gate.config.loader import load_config
from gate.core.errors import ConfigError
from gate.core.model import DIFFERENT_VERSION
from gate.core.outcome import GateOutcome
from gate.engine import GateRequest, run_gate
from gate.fetch import FetchOptions
from gate.report.formats import json_document
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import RoboflowStandIn, detection_results, segmentation_results

KEY = "rf_baseline_key_0123456789"
RULES = "rules:\n  - metric: map50\n    max_drop: 0.5\n"


@pytest.fixture
def standin() -> RoboflowStandIn:
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    # The candidate: model m3 on dataset version v2.
    fake.add_eval("cand", model_id="m3", version_id="v2", created_at="2026-01-10T00:00:00Z")
    return fake


def day(n: int) -> str:
    return f"2026-01-{n:02d}T00:00:00Z"


async def gate(
    server, session, baseline: str, *, extra: str = "", rules: str = RULES
) -> GateOutcome:
    config = load_config(
        f"version: 1\n{extra}evals:\n  - id: cand\n    baseline: {baseline}\n{rules}"
    )
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    return await run_gate(
        GateRequest(config=config, workspace="ws"), client, FetchOptions(wait=1, poll_interval=0.05)
    )


async def test_auto_picks_the_newest_earlier_done_eval_of_another_model_on_the_version(
    standin, server, session
):
    standin.add_eval("same-model", model_id="m3", version_id="v2", created_at=day(9))
    standin.add_eval("later", model_id="m1", version_id="v2", created_at=day(11))
    standin.add_eval("running", model_id="m1", version_id="v2", created_at=day(8), status="running")
    standin.add_eval("older", model_id="m1", version_id="v2", created_at=day(5))
    standin.add_eval("chosen", model_id="m2", version_id="v2", created_at=day(7))
    standin.add_eval("project-newer", model_id="m9", version_id="v1", created_at=day(9))
    outcome = await gate(server, session, "auto")
    ev = outcome.evals[0]
    assert ev.baseline_id == "chosen"
    assert ev.provenance is not None
    assert ev.provenance.baseline_same_version is True
    assert (ev.provenance.model_id, ev.provenance.version_id) == ("m3", "v2")
    assert "dataset version v2" in (ev.provenance.baseline_chosen or "")
    assert standin.count("list") == 1  # the version's list, nothing else


async def test_auto_falls_back_to_the_project_and_flags_the_other_test_set(
    standin, server, session
):
    standin.add_eval("same-model", model_id="m3", version_id="v2", created_at=day(9))
    standin.add_eval("other-version", model_id="m1", version_id="v1", created_at=day(8))
    outcome = await gate(server, session, "auto")
    ev = outcome.evals[0]
    assert ev.baseline_id == "same-model"  # the project's newest earlier done eval
    assert ev.provenance is not None and ev.provenance.baseline_same_version is True
    standin.evals.pop("same-model")
    outcome = await gate(server, session, "auto")
    ev = outcome.evals[0]
    assert ev.baseline_id == "other-version"
    assert ev.provenance is not None and ev.provenance.different_version
    document = json_document(outcome)
    assert document["evals"][0]["baseline"]["warning"] == DIFFERENT_VERSION
    assert all(c["delta_note"] == DIFFERENT_VERSION for c in document["checks"] if c["delta"])


async def test_require_same_version_leaves_no_baseline(standin, server, session):
    standin.add_eval("other-version", model_id="m1", version_id="v1", created_at=day(8))
    # The regression rule then follows if_missing: fail (the default) is a config error...
    with pytest.raises(ConfigError, match="require_same_version is set"):
        await gate(server, session, "auto", extra="require_same_version: true\n")
    # ...warn reports it.
    outcome = await gate(
        server,
        session,
        "auto",
        extra="require_same_version: true\n",
        rules=RULES + "    if_missing: warn\n",
    )
    ev = outcome.evals[0]
    assert ev.baseline_id is None
    assert [c.status.value for c in ev.checks] == ["warn"]
    assert "require_same_version" in ev.checks[0].message


async def test_champion_is_the_best_other_model_on_the_version_by_map50_95(
    standin, server, session
):
    best = detection_results({"car": 0.7}, map50=0.7)
    best["splits"]["test"]["map50_95"] = 0.66
    weak = detection_results({"car": 0.9}, map50=0.9)
    weak["splits"]["test"]["map50_95"] = 0.41
    own = detection_results({"car": 0.99}, map50=0.99)
    own["splits"]["test"]["map50_95"] = 0.95
    standin.add_eval("best", model_id="m1", version_id="v2", created_at=day(3), map_results=best)
    standin.add_eval("weak", model_id="m2", version_id="v2", created_at=day(4), map_results=weak)
    standin.add_eval("own", model_id="m3", version_id="v2", created_at=day(5), map_results=own)
    standin.add_eval("elsewhere", model_id="m4", version_id="v1", map_results=own)
    outcome = await gate(server, session, "champion")
    ev = outcome.evals[0]
    assert ev.baseline_id == "best"  # by mAP@50:95 on test, not summary.mAP (mAP@50)
    assert ev.provenance is not None and ev.provenance.baseline_same_version is True
    assert "champion" in (ev.provenance.baseline_chosen or "")
    assert standin.count("list") == 1
    assert standin.count("map-results", "best") == 1  # scored, then reused as the baseline


async def test_champion_of_segmentation_ranks_by_the_summary_miou(standin, server, session):
    standin.evals["cand"].map_results = segmentation_results({"road": 0.8})
    standin.add_eval(
        "seg-a",
        model_id="m1",
        version_id="v2",
        map_results=segmentation_results({"r": 0.6}, miou=0.6),
    )
    standin.add_eval(
        "seg-b",
        model_id="m2",
        version_id="v2",
        map_results=segmentation_results({"r": 0.9}, miou=0.9),
    )
    config_rules = "rules:\n  - metric: miou\n    max_drop: 0.5\n"
    config = load_config(
        f"version: 1\nevals:\n  - id: cand\n    baseline: champion\n{config_rules}"
    )
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    outcome = await run_gate(
        GateRequest(config=config, workspace="ws"), client, FetchOptions(wait=1)
    )
    assert outcome.evals[0].baseline_id == "seg-b"
    assert standin.count("map-results", "seg-a") == 0  # its summary was enough


async def test_champion_with_no_rival_has_no_baseline(standin, server, session):
    with pytest.raises(ConfigError, match="champion found no done evaluation"):
        await gate(server, session, "champion")
