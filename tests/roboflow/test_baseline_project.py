"""`baseline: auto`, `champion`, `base` and the trend stay inside the candidate's project: the
public docs do not say a `versionId` is unique across projects, so a version's list may hold
another project's evaluations (measured on another test set). They are left out when both
projects are known; an eval whose project is unknown is not claimed to share the test set.
Against the stand-in on 127.0.0.1, whose version filter does not look at the project."""

from __future__ import annotations

import pytest

from gate.config.loader import load_config
from gate.core.errors import ConfigError
from gate.core.model import DIFFERENT_VERSION
from gate.core.outcome import GateOutcome
from gate.engine import BaseEvals, GateRequest, run_gate
from gate.fetch import FetchOptions
from gate.report.formats import json_document
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import RoboflowStandIn, detection_results

KEY = "rf_project_key_0123456789"
RULES = "rules:\n  - metric: map50_95\n    max_drop: 0.5\n"


def day(n: int) -> str:
    return f"2026-01-{n:02d}T00:00:00Z"


def det(map50_95: float) -> dict:
    results = detection_results({"car": 0.9}, map50=0.9)
    results["splits"]["test"]["map50_95"] = map50_95
    return results


@pytest.fixture
def standin() -> RoboflowStandIn:
    """The candidate in project `rims` on dataset version `3`; project `tyres` has a version
    `3` too, with a newer and a better evaluation on it."""
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval(
        "cand",
        project="rims",
        model_id="m9",
        version_id="3",
        created_at=day(20),
        map_results=det(0.6),
    )
    fake.add_eval(
        "mine",
        project="rims",
        model_id="m1",
        version_id="3",
        created_at=day(5),
        map_results=det(0.5),
    )
    fake.add_eval(
        "theirs",
        project="tyres",
        model_id="m2",
        version_id="3",
        created_at=day(10),
        map_results=det(0.9),
    )
    return fake


async def gate(
    server, session, baseline: str, *, extra: str = "", base: BaseEvals | None = None
) -> GateOutcome:
    config = load_config(
        f"version: 1\n{extra}evals:\n  - id: cand\n    baseline: {baseline}\n{RULES}"
    )
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    return await run_gate(
        GateRequest(config=config, workspace="ws", base=base),
        client,
        FetchOptions(wait=1, poll_interval=0.05),
    )


def charted(outcome: GateOutcome) -> list[str]:
    trend = outcome.evals[0].trend
    assert trend is not None
    return [p.eval_id for p in trend.points]


@pytest.mark.parametrize("baseline", ["auto", "champion"])
async def test_auto_and_champion_never_pick_another_projects_eval_on_a_shared_version_id(
    standin, server, session, baseline
):
    outcome = await gate(server, session, baseline)
    ev = outcome.evals[0]
    assert ev.baseline_id == "mine"  # not `theirs`: newer, better, and of project tyres
    assert ev.provenance is not None and ev.provenance.baseline_same_version is True
    assert "theirs" not in charted(outcome)
    assert charted(outcome) == ["mine", "cand"]


async def test_base_resolution_never_picks_another_projects_eval(standin, server, session):
    base = BaseEvals(
        load_config("version: 1\nevals:\n  - {version: '3', name: cand}\n" + RULES).evals
    )
    outcome = await gate(server, session, "base", base=base)
    assert outcome.evals[0].baseline_id == "mine"


async def test_the_trend_leaves_out_another_projects_evals(standin, server, session):
    outcome = await gate(server, session, "mine")
    assert charted(outcome) == ["mine", "cand"]


async def test_an_unknown_project_is_not_claimed_to_share_the_test_set(standin, server, session):
    standin.evals.pop("mine")
    standin.add_eval(
        "unsaid",
        project=None,
        model_id="m3",
        version_id="3",
        created_at=day(6),
        map_results=det(0.5),
    )
    for baseline in ("auto", "champion", "unsaid"):
        outcome = await gate(server, session, baseline)
        ev = outcome.evals[0]
        assert ev.baseline_id == "unsaid", baseline
        assert ev.provenance is not None and ev.provenance.baseline_same_version is False
        document = json_document(outcome)
        assert document["evals"][0]["baseline"]["warning"] == DIFFERENT_VERSION
        assert all(c["delta_note"] == DIFFERENT_VERSION for c in document["checks"])


async def test_auto_prefers_an_eval_known_to_share_the_test_set(standin, server, session):
    standin.add_eval(
        "unsaid",
        project=None,
        model_id="m3",
        version_id="3",
        created_at=day(8),
        map_results=det(0.5),
    )
    outcome = await gate(server, session, "auto")
    assert outcome.evals[0].baseline_id == "mine"  # older than `unsaid`, but known to be ours
    assert outcome.evals[0].provenance.baseline_same_version is True


async def test_require_same_version_takes_no_eval_of_an_unknown_project(standin, server, session):
    standin.evals.pop("mine")
    standin.add_eval("unsaid", project=None, model_id="m3", version_id="3", created_at=day(6))
    with pytest.raises(ConfigError, match="require_same_version is set"):
        await gate(server, session, "auto", extra="require_same_version: true\n")
