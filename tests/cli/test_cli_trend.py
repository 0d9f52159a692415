"""The trend chart from the command line, in process against the stand-in on 127.0.0.1:
printed in the report (a Mermaid chart and its folded numbers), carried in --json, off with
`trend: 0`, absent offline."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from gate.cli.main import run
from tests.cli_helpers import clean_env, cli, cli_async
from tests.roboflow_standin import RoboflowStandIn, Scripted, detection_results

KEY = "rf_trend_cli_key_0123456789"
CONFIG = 'version: 1\nworkspace: ws\n{extra}rules:\n  - "map50_95 >= 0.1"\n'


def det(map50_95: float) -> dict:
    results = detection_results({"car": 0.9}, map50=0.9)
    results["splits"]["test"]["map50_95"] = map50_95
    return results


@pytest.fixture
def standin() -> RoboflowStandIn:
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval("cand", model_id="m9", version_id="v2", created_at="2026-01-09T00:00:00Z")
    fake.evals["cand"].map_results = det(0.66)
    for n, value in enumerate([0.52, 0.58, 0.61], start=1):
        fake.add_eval(
            f"prev{n}",
            model_id=f"m{n}",
            version_id="v2",
            created_at=f"2026-01-0{n}T00:00:00Z",
            map_results=det(value),
        )
    return fake


@pytest.fixture
async def api_url(aiohttp_server, standin) -> str:
    server = await aiohttp_server(standin.app())
    return str(server.make_url("")).rstrip("/")


async def check(tmp_path: Path, api_url: str, extra: str = "") -> tuple[str, dict]:
    (tmp_path / "eval-gate.yml").write_text(CONFIG.format(extra=extra))
    env = clean_env(ROBOFLOW_API_KEY=KEY, ROBOFLOW_API_URL=api_url)
    proc = await cli_async(
        "check", "--eval", "cand", "--baseline", "auto", "--json", "g.json", cwd=tmp_path, env=env
    )
    assert proc.code == 0, proc.err
    assert "Traceback" not in proc.err and KEY not in proc.out + proc.err
    return proc.out, json.loads((tmp_path / "g.json").read_text())


async def test_the_report_prints_the_trend_chart_and_its_numbers(tmp_path, standin, api_url):
    out, document = await check(tmp_path, api_url)
    assert "```mermaid\nxychart-beta\n" in out
    assert 'x-axis ["prev1", "prev2", "baseline", "candidate"]' in out
    assert "bar [0.5200, 0.5800, 0.6100, 0.6600]" in out
    assert "| **candidate** | cand | m9 | 2026-01-09 00:00 | 0.6600 |" in out
    trend = document["evals"][0]["trend"]
    assert [(p["eval"], p["role"]) for p in trend["points"]] == [
        ("prev1", "earlier"),
        ("prev2", "earlier"),
        ("prev3", "baseline"),
        ("cand", "candidate"),
    ]
    assert standin.count("list") == 1  # auto's list of v2, shared with the trend
    assert standin.count("map-results") == 4  # each eval's once


async def test_trend_0_in_the_config_turns_it_off(tmp_path, standin, api_url):
    out, document = await check(tmp_path, api_url, extra="trend: 0\n")
    assert "```mermaid" not in out and document["evals"][0]["trend"] is None
    assert standin.count("map-results") == 2  # the candidate's and auto's baseline's only


def test_a_trend_past_50_is_a_located_config_error(tmp_path):
    (tmp_path / "eval-gate.yml").write_text(CONFIG.format(extra="trend: 51\n"))
    proc = cli("validate", cwd=tmp_path)
    assert proc.code == 2
    assert proc.err.strip().endswith("eval-gate.yml:3:8: trend must be from 0 to 50, got 51")


def test_offline_there_is_no_trend(tmp_path):
    (tmp_path / "eval-gate.yml").write_text(CONFIG.format(extra=""))
    (tmp_path / "cand.json").write_text(json.dumps(det(0.66)))
    proc = cli("check", "--results", "cand.json", "--json", "g.json", cwd=tmp_path)
    assert proc.code == 0, proc.err
    assert "```mermaid" not in proc.out
    assert "unknown (its results come from a saved file)" in proc.out
    assert json.loads((tmp_path / "g.json").read_text())["evals"][0]["trend"] is None


# --- the trend never fails, or stalls, a gate --------------------------------------------------


def hang(standin: RoboflowStandIn, eval_id: str) -> None:
    """Every request for `eval_id`'s map-results hangs (until the client leaves)."""
    standin.script("map-results", [Scripted(hang=True)] * 10, eval_id=eval_id)


@pytest.mark.parametrize("baseline", ["prev1", "auto"])
async def test_a_hanging_trend_rival_is_left_out_within_the_trends_budget(
    tmp_path, standin, api_url, baseline
):
    """prev2's map-results never come. With `--deadline 20` the trend's budget is 2 s (a
    tenth of what is left): the gate passes with prev2 left out and named. It used to wait
    for prev2 (4 tries x 30 s) until the deadline: exit 3. In process."""
    hang(standin, "prev2")
    (tmp_path / "eval-gate.yml").write_text(CONFIG.format(extra=""))
    environ = {"ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": api_url}
    out, err = io.StringIO(), io.StringIO()
    argv = ["check", "--eval", "cand", "--baseline", baseline, "--json", "g.json"]
    code = await asyncio.to_thread(
        run, [*argv, "--deadline", "20"], environ=environ, cwd=tmp_path, out=out, err=err
    )
    assert code == 0, err.getvalue()
    trend = json.loads((tmp_path / "g.json").read_text())["evals"][0]["trend"]
    assert trend["left_out"] == ["prev2"]
    assert [p["eval"] for p in trend["points"]] == ["prev1", "prev3", "cand"]
    assert "Left out (no usable mAP@50:95 on test): `prev2`." in out.getvalue()
    assert "trend.rivals_late" in err.getvalue()
