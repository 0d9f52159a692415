"""`baseline: champion` never settles for a weaker champion in silence: when a done rival's
headline value cannot be had (409, 403, 404, 5xx after retries, a cut body) or is malformed
(NaN, null, out of range, a string), the champion is unknown and the regression checks follow
`if_missing` (default: fail), naming the rival and the reason in the report and the JSON.
Against the stand-in on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from gate.config.loader import load_config
from gate.core.outcome import GateOutcome
from gate.engine import GateRequest, run_gate
from gate.fetch import FetchOptions
from gate.report.formats import json_document
from gate.report.render import render_report
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import RoboflowStandIn, Scripted, detection_results

KEY = "rf_champion_key_0123456789"


def day(n: int) -> str:
    return f"2026-01-{n:02d}T00:00:00Z"


def det(map50_95: Any) -> dict:
    results = detection_results({"car": 0.9}, map50=0.9)
    results["splits"]["test"]["map50_95"] = map50_95
    return results


@pytest.fixture
def standin() -> RoboflowStandIn:
    """The candidate (0.60) against the real best (`best`, 0.90: a 0.30 drop) and a weaker
    rival (`second`, 0.62: a 0.02 drop, within the rule's 0.05)."""
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval("cand", model_id="m0", version_id="v1", created_at=day(9), map_results=det(0.6))
    fake.add_eval("best", model_id="m1", version_id="v1", created_at=day(2), map_results=det(0.9))
    fake.add_eval(
        "second", model_id="m2", version_id="v1", created_at=day(3), map_results=det(0.62)
    )
    return fake


async def no_sleep(_: float) -> None:
    return None


async def gate(server, session, if_missing: str | None = None) -> GateOutcome:
    extra = f"\n    if_missing: {if_missing}" if if_missing else ""
    config = load_config(
        "version: 1\ntrend: 0\nevals:\n  - id: cand\n    baseline: champion\n"
        f"rules:\n  - metric: map50_95\n    max_drop: 0.05{extra}\n"
    )
    client = RoboflowClient(
        session,
        api_key=KEY,
        workspace="ws",
        api_url=str(server.make_url("")).rstrip("/"),
        sleep=no_sleep,  # retries without waiting
    )
    return await run_gate(
        GateRequest(config=config, workspace="ws"), client, FetchOptions(wait=1, poll_interval=0.05)
    )


def test_setup_the_real_best_fails_the_drop_and_the_second_best_would_pass():
    assert 0.9 - 0.6 > 0.05 > 0.62 - 0.6


async def test_with_every_rival_scored_the_champion_is_the_real_best(standin, server, session):
    outcome = await gate(server, session)
    assert outcome.evals[0].baseline_id == "best"
    assert outcome.verdict.value == "fail"


def _data_missing(standin: RoboflowStandIn) -> None:
    standin.evals["best"].data_missing = True  # done, but map-results answers 409


FAULTS = {
    "409": (_data_missing, "no map-results for it (409"),
    "403": (lambda s: s.script("map-results", [Scripted(403)], eval_id="best"), "(HTTP 403)"),
    "404": (lambda s: s.script("map-results", [Scripted(404)], eval_id="best"), "(HTTP 404)"),
    "503 after retries": (
        lambda s: s.script("map-results", [Scripted(503)] * 4, eval_id="best"),
        "(HTTP 503)",
    ),
    "a cut body": (
        lambda s: s.script("map-results", [Scripted(truncate=True)] * 4, eval_id="best"),
        "cut short",
    ),
    "NaN": (lambda s: setattr(s.evals["best"], "map_results", det(float("nan"))), "is nan"),
    "null": (lambda s: setattr(s.evals["best"], "map_results", det(None)), "is null"),
    "out of range": (
        lambda s: setattr(s.evals["best"], "map_results", det(1.5)),
        "outside [0, 1]",
    ),
    "a string": (
        lambda s: setattr(s.evals["best"], "map_results", det("0.9")),
        "not a number",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_rival_whose_value_cannot_be_had_makes_the_champion_unknown_and_the_drop_fails(
    standin, server, session, fault
):
    make, reason = FAULTS[fault]
    make(standin)
    outcome = await gate(server, session)
    ev = outcome.evals[0]
    assert ev.baseline_id is None  # never `second`, the weaker champion
    assert outcome.verdict.value == "fail"
    (check,) = ev.checks
    assert check.status.value == "fail"
    assert "champion is unknown" in check.message
    assert "eval best (" in check.message and reason in check.message
    document = json_document(outcome)
    (row,) = document["checks"]
    assert row["status"] == "fail" and "eval best (" in row["message"]
    report = render_report(outcome)
    assert "champion is unknown: eval best \\(" in report  # the rival and why, escaped
    if fault[:3] in ("403", "404", "503"):
        assert f"champion is unknown: eval best \\(HTTP {fault[:3]}\\)" in report


@pytest.mark.parametrize("if_missing", ["warn", "skip"])
async def test_an_unknown_champion_follows_if_missing(standin, server, session, if_missing):
    standin.script("map-results", [Scripted(404)], eval_id="best")
    outcome = await gate(server, session, if_missing)
    (check,) = outcome.evals[0].checks
    assert check.status.value == if_missing
    assert "champion is unknown" in check.message and "eval best (" in check.message


async def test_a_rival_of_another_task_is_no_rival_and_leaves_the_champion_known(
    standin, server, session
):
    from tests.roboflow_standin import segmentation_results  # noqa: PLC0415

    standin.add_eval(
        "seg", model_id="m3", version_id="v1", map_results=segmentation_results({"road": 0.9})
    )
    outcome = await gate(server, session)
    assert outcome.evals[0].baseline_id == "best"
