"""Offline means offline: an evaluation whose results come from a file (`--results ID=PATH`) is
read from that file only, whatever key, workspace and API URL the environment holds. In
process (`gate.cli.main.run`), against the Roboflow stand-in on 127.0.0.1, which records every
request it gets (there must be none)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from gate.cli.main import run
from tests.cli_helpers import EXAMPLES
from tests.roboflow_standin import RoboflowStandIn, detection_results

KEY = "rf_offline_key_0123456789"
PER_CLASS = 'version: 1\nrules:\n  - {metric: map50, classes: "*", min: 0.5}\n'
MIN_SUPPORT = (
    "version: 1\nrules:\n  - metric: map50\n    classes: '*'\n    min: 0.5\n"
    "    min_support: 10\n    if_missing: {if_missing}\n"
)


@pytest.fixture
def standin() -> RoboflowStandIn:
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    # The stand-in knows the saved evals too: any request about them would be answered.
    for eval_id in ("rimdet-v1", "rimdet-v2", "roadseg-v4", "roadseg-v5", "cand"):
        fake.add_eval(eval_id, map_results=detection_results({"car": 0.9}))
    return fake


def online_env(api_url: str, workspace: str = "ws") -> dict[str, str]:
    return {
        "ROBOFLOW_API_KEY": KEY,
        "ROBOFLOW_WORKSPACE": workspace,
        "ROBOFLOW_API_URL": api_url,
    }


async def check(cwd: Path, environ: Mapping[str, str], *args: str) -> tuple[int, str, str, dict]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["check", "--json", "gate.json", "--deadline", "20", *args]
    code = await asyncio.to_thread(run, argv, environ=environ, cwd=cwd, out=out, err=err)
    document = json.loads((cwd / "gate.json").read_text()) if code in (0, 1) else {}
    return code, out.getvalue(), err.getvalue(), document


@pytest.mark.parametrize("example", [EXAMPLES, EXAMPLES / "panels"], ids=["quickstart", "panels"])
async def test_a_key_workspace_and_api_url_change_nothing_for_evals_read_from_files(
    tmp_path, server, standin, example
):
    args = ("--config", str(example / "eval-gate.yml"), "--results", str(example / "results"))
    offline = await check(tmp_path, {}, *args)
    # The examples' own workspace (the report links to it), which the stand-in would answer
    # for too: any request reaches it and is recorded.
    standin.workspace = "acme-vision"
    environ = online_env(str(server.make_url("")).rstrip("/"), workspace="acme-vision")
    online = await check(tmp_path, environ, *args)
    assert offline[0] == 1, offline[2]  # both examples fail on purpose
    assert online[0] == offline[0], online[2]
    assert online[1] == offline[1]  # the same report
    assert online[3] == offline[3]  # the same JSON, check by check
    assert standin.requests == []
    assert "roboflow.retry" not in online[2]


async def test_support_the_file_lacks_is_unknown_and_decides_nothing(tmp_path, server, standin):
    """A plain map-results file has no confusion matrix: the support shown beside per-class
    checks is unknown ("—") and the gate passes, as it does without the key (it used to exit
    2 with `no workspace`, or ask the API for the matrix)."""
    (tmp_path / "eval-gate.yml").write_text(PER_CLASS)
    (tmp_path / "cand.json").write_text(json.dumps(detection_results({"car": 0.9})))
    environ = online_env(str(server.make_url("")).rstrip("/"))
    for env in ({}, {k: v for k, v in environ.items() if k != "ROBOFLOW_WORKSPACE"}, environ):
        code, _, err, document = await check(tmp_path, env, "--results", "cand.json")
        assert code == 0, err
        assert [(c["class"], c["status"], c["support"]) for c in document["checks"]] == [
            ("car", "pass", None)
        ]
    assert standin.requests == []


@pytest.mark.parametrize(("if_missing", "code"), [("fail", 1), ("skip", 0)])
async def test_a_panel_the_file_lacks_follows_if_missing(
    tmp_path, server, standin, if_missing, code
):
    (tmp_path / "eval-gate.yml").write_text(MIN_SUPPORT.format(if_missing=if_missing))
    (tmp_path / "cand.json").write_text(json.dumps(detection_results({"car": 0.9})))
    environ = online_env(str(server.make_url("")).rstrip("/"))
    found, _, err, document = await check(tmp_path, environ, "--results", "cand.json")
    assert found == code, err
    (only,) = document["checks"]
    assert only["status"] == if_missing  # the status if_missing names
    assert "the confusion matrix of eval cand is not in its saved results" in only["message"]
    assert standin.requests == []


async def test_auto_for_an_eval_read_from_a_file_says_the_file_has_no_metadata(
    tmp_path, server, standin
):
    (tmp_path / "eval-gate.yml").write_text(
        "version: 1\nrules:\n  - metric: map50\n    max_drop: 0.01\n"
    )
    (tmp_path / "cand.json").write_text(json.dumps(detection_results({"car": 0.9})))
    environ = online_env(str(server.make_url("")).rstrip("/"))
    code, _, err, _ = await check(tmp_path, environ, "--results", "cand.json", "--baseline", "auto")
    assert code == 2
    assert "eval cand comes from a saved results file" in err
    assert standin.requests == []
