"""The command line in process (`gate.cli.main.run`, in a thread) against a stand-in Roboflow
API on 127.0.0.1. Retries' and polls' waits are skipped on the fake clock (`sleepless`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.sleeping import sleepless
from tests.cli_helpers import Proc, clean_env, cli_async
from tests.roboflow_standin import (
    HTML_502,
    RoboflowStandIn,
    Scripted,
    detection_results,
    segmentation_results,
)

KEY = "rf_SECRET_key_0123456789"
CONFIG = """\
version: 1
workspace: ws
rules:
  - metric: map50
    min: 0.8
  - metric: map50
    classes: "*"
    min: 0.8
"""


@pytest.fixture
def standin() -> RoboflowStandIn:
    return RoboflowStandIn(api_key=KEY, workspace="ws")


@pytest.fixture
async def api_url(aiohttp_server, standin) -> str:
    server = await aiohttp_server(standin.app())
    return str(server.make_url("")).rstrip("/")


def write_config(folder: Path, text: str) -> None:
    (folder / "eval-gate.yml").write_text(text)


async def gate(tmp_path: Path, api_url: str, *args: str, config: str = CONFIG, **env: str) -> Proc:
    write_config(tmp_path, config)
    environ = clean_env(ROBOFLOW_API_KEY=KEY, ROBOFLOW_API_URL=api_url, **env)
    with sleepless():
        proc = await cli_async("check", "--json", "gate.json", *args, cwd=tmp_path, env=environ)
    assert_no_secret(proc, tmp_path)
    assert "Traceback" not in proc.err
    return proc


def assert_no_secret(proc: Proc, folder: Path) -> None:
    """The key never shows up anywhere a user or a log collector could see it."""
    assert KEY not in proc.out
    assert KEY not in proc.err
    for produced in folder.iterdir():
        if produced.is_file():
            assert KEY not in produced.read_text(errors="replace"), produced


def verdict(tmp_path: Path) -> str:
    return json.loads((tmp_path / "gate.json").read_text())["verdict"]


async def test_pass_costs_its_results_and_its_metadata_per_eval(tmp_path, standin, api_url):
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.85}), model_id="m1")
    standin.add_eval("e2", map_results=detection_results({"car": 0.95}), version_id="v7")
    proc = await gate(tmp_path, api_url, "--eval", "e1", "--eval", "e2")
    assert proc.code == 0, proc.err
    assert verdict(tmp_path) == "pass"
    # e2's dataset version is listed once (its trend); each eval's confusion matrix gives the
    # support shown beside its per-class checks.
    assert standin.count() == 7
    assert standin.count("confusion-matrix") == 2
    assert standin.count("map-results") == 2
    assert standin.count("info") == 2  # asked alongside the map-results, for the provenance
    candidates = [e["candidate"] for e in json.loads((tmp_path / "gate.json").read_text())["evals"]]
    assert [(c["model"], c["dataset_version"]) for c in candidates] == [("m1", None), (None, "v7")]
    assert all(c["created_at"] == "2026-01-01T00:00:00+00:00" for c in candidates)
    for request in standin.requests:
        assert request.headers.get("Authorization") == f"Bearer {KEY}"
        assert KEY not in request.raw_path


async def test_fail_exits_1(tmp_path, standin, api_url):
    standin.add_eval("e1", map_results=detection_results({"car": 0.9, "bus": 0.5}))
    proc = await gate(tmp_path, api_url, "--eval", "e1")
    assert proc.code == 1
    assert verdict(tmp_path) == "fail"
    assert "bus" in proc.out


async def test_segmentation_eval(tmp_path, standin, api_url):
    standin.add_eval("s1", map_results=segmentation_results({"road": 0.9, "curb": 0.4}))
    config = (
        'version: 1\nrules:\n  - "miou >= 0.5"\n  - metric: iou\n    classes: "*"\n    min: 0.5\n'
    )
    proc = await gate(tmp_path, api_url, "--eval", "s1", "--workspace", "ws", config=config)
    assert proc.code == 1
    failing = [
        c
        for c in json.loads((tmp_path / "gate.json").read_text())["checks"]
        if c["status"] == "fail"
    ]
    assert [(c["metric"], c["class"]) for c in failing] == [("iou", "curb")]


async def test_running_then_done_waits_and_passes(tmp_path, standin, api_url):
    standin.add_eval("e1", map_results=detection_results(["car"]))
    # Twice: map-results says not done and the eval says running; then it is done.
    not_done = {"error": "model_eval_not_done", "message": "Evaluation is still running"}
    running = {"evalId": "e1", "status": "running", "project": "proj"}
    standin.script("map-results", [Scripted(status=409, body=not_done)] * 2)
    standin.script("info", [Scripted(body=running)] * 2)
    proc = await gate(tmp_path, api_url, "--eval", "e1", "--poll-interval", "1", "--wait", "5")
    assert proc.code == 0, proc.err
    assert "fetch.waiting" in proc.err
    assert standin.count("map-results") == 3
    assert standin.count("info") == 3  # one alongside the first look, one after each 409


async def test_still_running_after_wait_is_exit_3(tmp_path, standin, api_url):
    standin.add_eval("e1", status="running")
    proc = await gate(tmp_path, api_url, "--eval", "e1", "--wait", "0.2", "--poll-interval", "1")
    assert proc.code == 3
    assert "still running" in proc.err and "--wait" in proc.err


async def test_failed_eval_is_exit_3(tmp_path, standin, api_url):
    standin.add_eval("e1", status="failed")
    proc = await gate(tmp_path, api_url, "--eval", "e1")
    assert proc.code == 3
    assert "e1 failed" in proc.err


async def test_done_without_data_is_exit_3(tmp_path, standin, api_url):
    standin.add_eval("e1", data_missing=True)
    proc = await gate(tmp_path, api_url, "--eval", "e1")
    assert proc.code == 3
    assert "no map-results" in proc.err


async def test_not_found_is_exit_3(tmp_path, standin, api_url):
    proc = await gate(tmp_path, api_url, "--eval", "nope")
    assert proc.code == 3
    assert "nope" in proc.err and "not found" in proc.err


async def test_wrong_key_is_exit_3_and_never_echoed(tmp_path, standin, api_url):
    standin.add_eval("e1")
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    wrong = "rf_WRONG_key_9876543210"
    env = clean_env(ROBOFLOW_API_KEY=wrong, ROBOFLOW_API_URL=api_url)
    proc = await cli_async("check", "--eval", "e1", "--log-level", "debug", cwd=tmp_path, env=env)
    assert proc.code == 3
    assert "ROBOFLOW_API_KEY" in proc.err
    assert wrong not in proc.out + proc.err


async def test_429_with_retry_after_then_success(tmp_path, standin, api_url):
    standin.add_eval("e1", map_results=detection_results(["car"]))
    standin.script("map-results", [Scripted(status=429, headers={"Retry-After": "1"})])
    proc = await gate(tmp_path, api_url, "--eval", "e1")
    assert proc.code == 0, proc.err
    assert "roboflow.retry" in proc.err
    assert standin.count("map-results") == 2


async def test_5xx_html_then_truncated_then_success(tmp_path, standin, api_url):
    standin.add_eval("e1", map_results=detection_results(["car"]))
    standin.script(
        "map-results",
        [Scripted(status=502, body=HTML_502), Scripted(truncate=True)],
    )
    proc = await gate(tmp_path, api_url, "--eval", "e1")
    assert proc.code == 0, proc.err
    assert standin.count("map-results") == 3


async def test_persistent_5xx_is_exit_3(tmp_path, standin, api_url):
    standin.add_eval("e1")
    standin.script("map-results", [Scripted(status=503)] * 10)
    proc = await gate(tmp_path, api_url, "--eval", "e1", "--deadline", "30")
    assert proc.code == 3
    assert "503" in proc.err


async def test_hung_request_times_out(tmp_path, standin, api_url):
    standin.add_eval("e1")
    standin.script("map-results", [Scripted(hang=True)] * 10)
    proc = await gate(tmp_path, api_url, "--eval", "e1", "--timeout", "0.3", "--deadline", "2")
    assert proc.code == 3


async def test_auto_baseline_picks_newest_earlier_done_eval(tmp_path, standin, api_url):
    standin.add_eval(
        "old", created_at="2026-01-01T00:00:00Z", map_results=detection_results(["car"], map50=0.99)
    )
    standin.add_eval(
        "base",
        created_at="2026-01-02T00:00:00Z",
        map_results=detection_results(["car"], map50=0.90),
    )
    standin.add_eval("broken", status="failed", created_at="2026-01-03T00:00:00Z")
    standin.add_eval(
        "cand",
        created_at="2026-01-04T00:00:00Z",
        map_results=detection_results(["car"], map50=0.89),
    )
    standin.add_eval(
        "later",
        created_at="2026-01-05T00:00:00Z",
        map_results=detection_results(["car"], map50=0.10),
    )
    standin.add_eval("other-project", project="zzz", created_at="2026-01-03T12:00:00Z")
    config = "version: 1\nrules:\n  - metric: map50\n    max_drop: 0.02\n"
    proc = await gate(
        tmp_path,
        api_url,
        "--eval",
        "cand",
        "--baseline",
        "auto",
        "--workspace",
        "ws",
        config=config,
    )
    assert proc.code == 0, proc.err
    (check,) = json.loads((tmp_path / "gate.json").read_text())["checks"]
    assert check["baseline"] == 0.90


async def test_auto_baseline_with_no_earlier_eval_explains(tmp_path, standin, api_url):
    standin.add_eval("cand")
    config = "version: 1\nworkspace: ws\nrules:\n  - metric: map50\n    max_drop: 0.02\n"
    proc = await gate(tmp_path, api_url, "--eval", "cand", "--baseline", "auto", config=config)
    assert proc.code == 2
    assert "no earlier done evaluation" in proc.err


async def test_shared_baseline_is_fetched_once(tmp_path, standin, api_url):
    for name in ("a", "b", "c", "shipped"):
        standin.add_eval(name, map_results=detection_results(["car"]))
    config = "version: 1\nworkspace: ws\nrules:\n  - metric: map50\n    max_drop: 0.02\n"
    proc = await gate(
        tmp_path,
        api_url,
        "--eval",
        "a",
        "--eval",
        "b",
        "--eval",
        "c",
        "--baseline",
        "shipped",
        config=config,
    )
    assert proc.code == 0, proc.err
    assert standin.count("map-results", "shipped") == 1


async def test_results_file_supplies_the_baseline(tmp_path, standin, api_url):
    standin.add_eval("cand", map_results=detection_results(["car"], map50=0.9))
    (tmp_path / "shipped.json").write_text(json.dumps(detection_results(["car"], map50=0.95)))
    config = "version: 1\nworkspace: ws\nrules:\n  - metric: map50\n    max_drop: 0.02\n"
    proc = await gate(
        tmp_path,
        api_url,
        "--eval",
        "cand",
        "--baseline",
        "shipped",
        "--results",
        "shipped.json",
        config=config,
    )
    assert proc.code == 1
    # Only the candidate came from the API (its results and its metadata), not the file's eval.
    assert [(r.endpoint, r.eval_id) for r in standin.requests] == [
        ("map-results", "cand"),
        ("info", "cand"),
    ] or [(r.endpoint, r.eval_id) for r in standin.requests] == [
        ("info", "cand"),
        ("map-results", "cand"),
    ]
    assert "its results come from a saved file" not in proc.out  # the candidate is known


async def test_missing_workspace_is_exit_2(tmp_path, standin, api_url):
    config = 'version: 1\nrules: ["map50 >= 0.5"]\n'
    proc = await gate(tmp_path, api_url, "--eval", "e1", config=config)
    assert proc.code == 2
    assert "workspace" in proc.err
    assert standin.count() == 0
