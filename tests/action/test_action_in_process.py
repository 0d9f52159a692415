"""The Action in process (`gate.action.main.run(environ=, cwd=, out=, err=)`) against the Roboflow
and GitHub stand-ins on 127.0.0.1: one GitHub connection for the whole run, the report built
once for every place it goes, the working directory as the workspace."""

from __future__ import annotations

import io
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog

from gate.action.main import run
from gate.action.runner import OUTPUT_NAMES, Outputs
from gate.github.client import GitHubClient
from gate.report.render import ReportModel
from tests.action.test_action_process import (
    BASE_SHA,
    CONFIG,
    GH_TOKEN,
    PR,
    PR_HEAD,
    REPO,
    RF_KEY,
)
from tests.github_standin import GitHubStandIn
from tests.paths import EVENTS
from tests.roboflow_standin import RoboflowStandIn, detection_results
from tests.runner_files import parse_runner_output_file
from tests.test_secret_fragments import serving

GATE_ID = "github-eval-gate-yml"  # derived from .github/eval-gate.yml


@dataclass
class Ran:
    code: int
    out: str
    err: str
    outputs: dict[str, str]
    summary: str


@pytest.fixture
def roboflow() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key=RF_KEY, workspace="ws")
    standin.add_eval("bad", map_results=detection_results({"car": 0.9, "bus": 0.4}))
    return standin


@pytest.fixture
def github() -> GitHubStandIn:
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull(REPO, PR, head_sha=PR_HEAD, base_sha=BASE_SHA)
    standin.add_file(REPO, ".github/eval-gate.yml", CONFIG, ref=BASE_SHA)
    return standin


@pytest.fixture
def urls(roboflow, github) -> Iterator[tuple[str, str]]:
    with serving(roboflow.app(), github.app()) as (rf_url, gh_url):
        yield rf_url, gh_url


def run_in_process(
    tmp_path: Path, urls: tuple[str, str], *, workspace_env: bool = True, **inputs: str
) -> Ran:
    """The Action on a pull request, in this process, as the runner would start it."""
    rf_url, gh_url = urls
    workspace = tmp_path / "workspace"
    (workspace / ".github").mkdir(parents=True, exist_ok=True)
    (workspace / ".github/eval-gate.yml").write_text(CONFIG)
    output, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    output.write_text("")
    summary.write_text("")
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(EVENTS / "pull_request.opened.json"),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": gh_url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "1658821493",
        "GITHUB_SHA": PR_HEAD,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    if workspace_env:
        environ["GITHUB_WORKSPACE"] = str(workspace)
    given = {
        "api-key": RF_KEY,
        "github-token": GH_TOKEN,
        "api-url": rf_url,
        "eval-ids": "bad",
        "comment": "update",
        "commit-status": "true",
        "check-run": "true",
        "wait": "30",
    } | {name.replace("_", "-"): value for name, value in inputs.items()}
    environ |= {f"INPUT_{name.upper()}": value for name, value in given.items()}
    out, err = io.StringIO(), io.StringIO()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = run(environ=environ, cwd=workspace, out=out, err=err)
    finally:
        structlog.reset_defaults()
        assert {s: signal.getsignal(s) for s in handlers} == handlers  # restored by run
    return Ran(
        code,
        out.getvalue(),
        err.getvalue(),
        parse_runner_output_file(output.read_text()),
        summary.read_text(),
    )


def counting(monkeypatch, owner: Any, name: str) -> Counter[str]:
    """How often `owner.name` (a method or class method) is called."""
    calls: Counter[str] = Counter()
    real = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_one_action_run_talks_to_github_through_one_session_and_one_client(
    tmp_path, urls, github, monkeypatch
):
    opened: list[aiohttp.ClientSession] = []
    hosts: dict[int, set[str]] = {}
    real_init, real_request = aiohttp.ClientSession.__init__, aiohttp.ClientSession.request

    def init(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        opened.append(self)

    def request(self: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
        hosts.setdefault(id(self), set()).add(str(url).split("/")[2])  # host:port
        return real_request(self, method, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", init)
    monkeypatch.setattr(aiohttp.ClientSession, "request", request)
    clients = counting(monkeypatch, GitHubClient, "__init__")
    ran = run_in_process(tmp_path, urls)
    assert ran.code == 1, ran.err  # the gate fails: bus is below 0.8
    # The base's config, the check run, the comment and the status: all asked of GitHub ...
    for operation in ("get-content", "create-check-run", "create-comment", "create-status"):
        assert github.count(operation) >= 1, operation
    assert github.count("update-check-run") >= 1
    # ... through one client on one session; the other session is Roboflow's.
    gh_host = urls[1].split("/")[2]
    to_github = [s for s in opened if gh_host in hosts.get(id(s), set())]
    assert len(to_github) == 1
    assert hosts[id(to_github[0])] == {gh_host}
    assert len(opened) == 2
    assert clients["__init__"] == 1
    assert all(s.closed for s in opened)


def test_the_report_is_built_once_for_the_file_summary_comment_and_check_run(
    tmp_path, urls, github, monkeypatch
):
    builds = counting(monkeypatch, ReportModel, "build")
    ran = run_in_process(tmp_path, urls)
    assert ran.code == 1, ran.err
    assert builds["build"] == 1
    report = (tmp_path / "workspace" / ran.outputs["report-path"]).read_text()
    (comment,) = github.comments_on(REPO, PR)
    (check,) = github.check_runs_for(REPO, PR_HEAD)
    for shown in (report, ran.summary, comment.body, check.summary or ""):
        assert "Failed" in shown
        assert "bus" in shown


def test_without_github_workspace_the_working_directory_is_the_workspace(tmp_path, urls):
    ran = run_in_process(tmp_path, urls, workspace_env=False, check_run="false")
    assert ran.code == 1, ran.err
    assert ran.outputs["report-path"] == f".eval-gate/{GATE_ID}/report.md"
    assert (tmp_path / "workspace" / ran.outputs["report-path"]).is_file()


def test_the_outputs_are_written_under_the_names_action_yml_declares():
    outputs = Outputs(verdict="fail", passed=False, failed_checks=3, report_path="r.md")
    assert outputs.as_dict() == {
        "verdict": "fail",
        "passed": "false",
        "failed-checks": "3",
        "report-path": "r.md",
        "json-path": "",
        "comment-url": "",
        "service-gate-id": "",
        "service-gate-url": "",
    }
    assert tuple(outputs.as_dict()) == OUTPUT_NAMES
