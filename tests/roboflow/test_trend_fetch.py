"""The trend's data against the stand-in on 127.0.0.1: the dataset version's list is shared
with baseline resolution (one call per version per run), the earlier evals' values come from
their summaries or their map-results (fetched at once, each once), a rival without results is
left out, `trend: 0` asks nothing for it, and saved files chart nothing."""

from __future__ import annotations

import asyncio

import pytest

from gate.config.loader import load_config
from gate.core.eval_info import EvalQuery
from gate.core.outcome import GateOutcome
from gate.engine import GateRequest, run_gate
from gate.fetch import Fetcher, FetchOptions
from gate.report.render import render_report
from gate.roboflow.client import RoboflowClient
from gate.saved_results import SavedResults
from gate.trend_data import TREND_TIMEOUT, trend_budget
from tests.roboflow_standin import (
    RoboflowStandIn,
    Scripted,
    detection_results,
    segmentation_results,
)

KEY = "rf_trend_key_0123456789"


def day(n: int) -> str:
    return f"2026-01-{n:02d}T00:00:00Z"


def det(map50_95: float) -> dict:
    results = detection_results({"car": 0.9}, map50=0.9)
    results["splits"]["test"]["map50_95"] = map50_95
    return results


@pytest.fixture
def standin() -> RoboflowStandIn:
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval("cand", model_id="m9", version_id="v2", created_at=day(20), map_results=det(0.7))
    for n in range(1, 8):  # r1..r7 on v2, one a day, each its own model
        fake.add_eval(
            f"r{n}", model_id=f"m{n}", version_id="v2", created_at=day(n), map_results=det(n / 10)
        )
    fake.add_eval("later", model_id="m8", version_id="v2", created_at=day(25), map_results=det(0.9))
    fake.add_eval("failed", model_id="m8", version_id="v2", created_at=day(8), status="failed")
    fake.add_eval(
        "other-v", model_id="m8", version_id="v1", created_at=day(9), map_results=det(0.1)
    )
    return fake


async def gate(
    server,
    session,
    *,
    baseline: str | None = None,
    trend: int | None = None,
    rule: str = "map50 >= 0.1",
) -> GateOutcome:
    lines = ["  - id: cand"] + ([f"    baseline: {baseline}"] if baseline else [])
    extra = "" if trend is None else f"trend: {trend}\n"
    config = load_config(
        "version: 1\n" + extra + "evals:\n" + "\n".join(lines) + f'\nrules:\n  - "{rule}"\n'
    )
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    return await run_gate(
        GateRequest(config=config, workspace="ws"), client, FetchOptions(wait=1, poll_interval=0.05)
    )


def chart(outcome: GateOutcome) -> list[tuple[str, str, float]]:
    trend = outcome.evals[0].trend
    assert trend is not None
    return [(p.eval_id, p.role.value, p.value) for p in trend.points]


async def test_the_default_charts_the_last_five_done_evals_of_the_version_before_the_candidate(
    standin, server, session
):
    outcome = await gate(server, session)
    assert chart(outcome) == [
        ("r3", "earlier", 0.3),
        ("r4", "earlier", 0.4),
        ("r5", "earlier", 0.5),
        ("r6", "earlier", 0.6),
        ("r7", "earlier", 0.7),
        ("cand", "candidate", 0.7),
    ]
    assert standin.count("list") == 1
    assert standin.count("map-results") == 6  # the candidate's and five rivals', never more
    assert {r.eval_id for r in standin.requests if r.endpoint == "map-results"} == {
        "cand", "r3", "r4", "r5", "r6", "r7"
    }  # fmt: skip
    md = render_report(outcome)
    assert "```mermaid\nxychart-beta\n" in md
    assert 'x-axis ["r3", "r4", "r5", "r6", "r7", "candidate"]' in md


async def test_auto_and_the_trend_share_one_list_call_and_the_baseline_is_marked(
    standin, server, session
):
    outcome = await gate(server, session, baseline="auto", trend=3)
    assert outcome.evals[0].baseline_id == "r7"
    assert chart(outcome) == [
        ("r5", "earlier", 0.5),
        ("r6", "earlier", 0.6),
        ("r7", "baseline", 0.7),
        ("cand", "candidate", 0.7),
    ]
    assert [dict(r.query).get("version") for r in standin.requests if r.endpoint == "list"] == [
        "v2"
    ]  # one list call, shared by auto and the trend
    assert standin.count("map-results", "r7") == 1  # the baseline's, shared with the trend


async def test_champion_and_the_trend_share_the_list_and_each_rivals_results(
    standin, server, session
):
    outcome = await gate(server, session, baseline="champion", trend=2)
    assert outcome.evals[0].baseline_id == "later"  # 0.9, created after the candidate
    assert chart(outcome)[-2:] == [("cand", "candidate", 0.7), ("later", "baseline", 0.9)]
    assert standin.count("list") == 1
    assert all(standin.count("map-results", e) == 1 for e in ("r6", "r7", "later", "cand"))


async def test_rivals_map_results_are_fetched_at_once(standin, server, session):
    rivals = ["r3", "r4", "r5", "r6", "r7"]
    for rival in rivals:
        standin.script("map-results", [Scripted(hang=True)], eval_id=rival)
    run = asyncio.ensure_future(gate(server, session))
    try:
        async with asyncio.timeout(10):
            while sum(standin.count("map-results", r) for r in rivals) < len(rivals):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert not run.done()  # all five in flight together, none answered
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


async def test_a_rival_without_results_is_left_out_and_the_gate_goes_on(standin, server, session):
    standin.script("map-results", [Scripted(404)], eval_id="r6")
    standin.evals["r4"].map_results["splits"]["test"]["map50_95"] = None
    outcome = await gate(server, session)
    assert outcome.verdict.value == "pass"
    trend = outcome.evals[0].trend
    assert trend is not None and set(trend.left_out) == {"r4", "r6"}
    assert [p.eval_id for p in trend.points] == ["r3", "r5", "r7", "cand"]
    assert "Left out (no usable mAP@50:95 on test): `r4`, `r6`." in render_report(outcome)


async def test_trend_0_asks_nothing_for_it(standin, server, session):
    outcome = await gate(server, session, baseline="r1", trend=0)
    assert outcome.evals[0].trend is None
    assert standin.count("list") == 0
    assert standin.count("map-results") == 2  # the candidate's and its baseline's
    assert "```mermaid" not in render_report(outcome)


async def test_a_given_baseline_on_another_version_is_charted_too(standin, server, session):
    outcome = await gate(server, session, baseline="other-v", trend=1)
    assert chart(outcome) == [
        ("r7", "earlier", 0.7),
        ("other-v", "baseline", 0.1),
        ("cand", "candidate", 0.7),
    ]


async def test_segmentation_uses_the_summary_miou_without_fetching_rivals(session, aiohttp_server):
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval(
        "cand",
        version_id="v5",
        model_id="m0",
        created_at=day(9),
        map_results=segmentation_results({"road": 0.8}, miou=0.8),
    )
    for n in (1, 2):
        fake.add_eval(
            f"s{n}",
            version_id="v5",
            model_id=f"m{n}",
            created_at=day(n),
            map_results=segmentation_results({"road": 0.5}, miou=n / 4),
        )
    server = await aiohttp_server(fake.app())
    outcome = await gate(server, session, rule="miou >= 0.1")
    assert [(p.eval_id, p.value) for p in outcome.evals[0].trend.points] == [
        ("s1", 0.25),
        ("s2", 0.5),
        ("cand", 0.8),
    ]
    assert outcome.evals[0].trend.label == "mIoU"
    assert fake.count("map-results") == 1  # the candidate's only


async def test_saved_results_chart_nothing():
    outcome = await run_gate(
        GateRequest(config=load_config('version: 1\nevals: [cand]\nrules: ["map50 >= 0.1"]\n')),
        SavedResults({"cand": det(0.7)}),  # no fallback: any request would raise
        FetchOptions(wait=1),
    )
    assert outcome.evals[0].trend is None
    assert outcome.evals[0].provenance is not None
    assert outcome.evals[0].provenance.unknown == "its results come from a saved file"


def listed_twice(standin: RoboflowStandIn, *ids: str) -> None:
    """The version's next list answer: these evals in this order (an id may repeat)."""
    standin.script("list", [Scripted(body={"evals": [standin.evals[e].as_json() for e in ids]})])


async def test_an_eval_listed_several_times_is_one_evaluation_of_the_trend(
    standin, server, session
):
    listed_twice(standin, "later", "r7", "r7", "r6", "r6", "r6", "r5", "cand")
    outcome = await gate(server, session, trend=3)
    assert chart(outcome) == [
        ("r5", "earlier", 0.5),
        ("r6", "earlier", 0.6),
        ("r7", "earlier", 0.7),
        ("cand", "candidate", 0.7),
    ]


async def test_the_shared_list_auto_champion_and_the_trend_read_holds_each_eval_once(
    standin, server, session
):
    listed_twice(standin, "r7", "r2", "r7", "r2", "r7")
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    fetcher = Fetcher(client, FetchOptions(), clock=asyncio.get_running_loop().time)
    assert [e.eval_id for e in await fetcher.listing(EvalQuery(version="v2"))] == ["r7", "r2"]


# --- the trend's own budget ----------------------------------------------------------------------


def test_the_trends_budget_is_a_short_timeout_within_a_tenth_of_what_is_left():
    assert trend_budget(None, 100.0) == TREND_TIMEOUT == 5.0
    assert trend_budget(100.0 + 720, 100.0) == 5.0  # the CLI's default deadline
    assert trend_budget(100.0 + 20, 100.0) == pytest.approx(2.0)  # a tenth of what is left
    assert trend_budget(99.0, 100.0) == 0.0  # past the deadline: nothing


async def test_the_trend_stops_only_the_fetches_it_alone_asked_for(standin, server, session):
    standin.script("map-results", [Scripted(hang=True)], eval_id="r5")
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    fetcher = Fetcher(client, FetchOptions(), clock=asyncio.get_running_loop().time)
    alone = fetcher.trend_results("r5")
    shared = fetcher.trend_results("r6")
    assert fetcher.results("r6") is shared  # the gate needs it too: no longer the trend's own
    async with asyncio.timeout(10):
        while standin.count("map-results", "r5") < 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # r5's request is in flight (and hangs)
    fetcher.let_go(eval_ids=["r5", "r6"])
    await asyncio.gather(alone, return_exceptions=True)
    assert alone.cancelled()
    assert (await shared).task_type.value == "object-detection-like"
    assert fetcher.results("r5") is not alone  # asked afresh by anyone else


async def test_a_late_baseline_is_charted_and_never_cancelled_by_the_trend(
    standin, server, session
):
    """The baseline (r7, also an earlier eval of the version) answers after the trend's
    budget (1 s of a 10 s deadline): the trend stops waiting for it, the gate does not."""
    standin.script("map-results", [Scripted(delay=2.0)], eval_id="r7")
    config = load_config(
        'version: 1\ntrend: 2\nevals:\n  - {id: cand, baseline: r7}\nrules: ["map50 >= 0.1"]\n'
    )
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    loop = asyncio.get_running_loop()
    outcome = await run_gate(
        GateRequest(config=config, workspace="ws"),
        client,
        FetchOptions(wait=1, poll_interval=0.05, deadline=loop.time() + 10),
    )
    assert outcome.verdict.value == "pass"
    assert outcome.evals[0].baseline_id == "r7"
    assert chart(outcome) == [
        ("r6", "earlier", 0.6),
        ("r7", "baseline", 0.7),
        ("cand", "candidate", 0.7),
    ]
