"""The command line words the engine's errors in its own flags (`--wait`, `--eval`): the engine
names no face. In-process (`gate.cli.main.run`, in a thread while the stand-in answers)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import structlog

from gate.cli.main import run
from tests.roboflow_standin import RoboflowStandIn

KEY = "rf_WORDS_secret_key_0123456789"
RULES = "rules:\n  - metric: map50\n    min: 0.5\n"


@pytest.fixture(autouse=True)
def logging_restored():
    """`run` configures structlog for the process, as a command does: put it back after."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def standin() -> RoboflowStandIn:
    return RoboflowStandIn(api_key=KEY, workspace="ws")


@pytest.fixture
async def api_url(aiohttp_server, standin) -> str:
    server = await aiohttp_server(standin.app())
    return str(server.make_url("")).rstrip("/")


def check(tmp_path: Path, config: str, *args: str, api_url: str = "") -> tuple[int, str]:
    """`eval-gate check ARGS` in this process: the exit code and the error stream."""
    (tmp_path / "eval-gate.yml").write_text(config)
    environ = {"ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": api_url} if api_url else {}
    err = io.StringIO()
    argv = ["check", "--config", "eval-gate.yml", "--log-level", "error", *args]
    code = run(argv, environ=environ, cwd=tmp_path, out=io.StringIO(), err=err)
    return code, err.getvalue()


async def test_a_running_evaluation_says_raise_wait(tmp_path, standin, api_url):
    standin.add_eval("e1", status="running")
    args = ("--eval", "e1", "--workspace", "ws", "--wait", "0")
    code, err = await asyncio.to_thread(
        check, tmp_path, "version: 1\n" + RULES, *args, api_url=api_url
    )
    assert code == 3
    assert err == (
        "eval-gate: error: evaluation e1 is still running after waiting 0 s; raise --wait, or "
        "run the gate again when it is done\n"
    )


async def test_a_model_without_an_evaluation_says_raise_wait(tmp_path, standin, api_url):
    args = ("--model", "m9", "--workspace", "ws", "--wait", "0")
    code, err = await asyncio.to_thread(
        check, tmp_path, "version: 1\n" + RULES, *args, api_url=api_url
    )
    assert code == 3
    assert err == (
        "eval-gate: error: no evaluation of model m9 appeared on Roboflow after waiting 0 s "
        "(the eval list filtered by model=m9 stayed empty); check the model id, raise --wait, "
        "or run the gate again once Roboflow has evaluated it\n"
    )


def test_nothing_to_gate_says_pass_eval(tmp_path):
    code, err = check(tmp_path, "version: 1\n" + RULES)
    assert code == 2
    assert err == (
        "eval-gate: error: no evaluation to gate: pass --eval ID (or --results PATH), or list "
        "evals: in the config\n"
    )


def test_baseline_base_says_it_only_works_in_the_action_on_its_item(tmp_path):
    (tmp_path / "e1.json").write_text('{"taskType": "object-detection-like", "splits": {}}')
    config = "version: 1\nevals:\n  - id: e1\n    baseline: base\n" + RULES
    code, err = check(tmp_path, config, "--results", "e1=e1.json")
    assert code == 2
    assert err == (
        "eval-gate: error: eval-gate.yml:3:5: baseline: base only works in the "
        "GitHub Action on pull requests (the base branch's config names the baselines); name "
        "an eval id, auto or champion instead\n"
    )


def test_no_workspace_says_pass_workspace(tmp_path):
    code, err = check(
        tmp_path, "version: 1\n" + RULES, "--eval", "e1", api_url="http://127.0.0.1:9"
    )
    assert code == 2
    assert err == (
        "eval-gate: error: no workspace: pass --workspace, set ROBOFLOW_WORKSPACE, or add "
        "workspace: to the config\n"
    )
