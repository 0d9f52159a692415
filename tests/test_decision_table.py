"""One decision from (verdict x fail-on), read by every output: a table test.

For each verdict (pass, warn, fail) and each fail-on (error, warning, never), every output says
what the docs' table says: the exit code (the CLI and the Action in process, the
service's `exit_code`), the Action's `passed` output, the commit status's state (and a
description that never says "passed" for a gate that did not pass), the check run's
conclusion, and the JSON's `decision`. The faces run against the Roboflow and GitHub stand-ins
on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from gate.cli.main import run as cli_run
from gate.core.decision import CheckRunConclusion, Decision, StatusState, Tally, decide
from gate.core.errors import ExitCode, ResultsUnavailable
from gate.core.metrics import TaskType
from gate.core.model import FailOn, Severity
from gate.core.outcome import EvalOutcome, GateOutcome, Status, Verdict
from gate.engine import exit_code_for
from gate.github.checks import check_run_conclusion, check_run_title
from gate.github.publish import Gated, status_state
from gate.report.formats import json_document
from tests.action.test_action_process import (
    BASE_SHA,
    GH_TOKEN,
    PR,
    PR_HEAD,
    REPO,
    RF_KEY,
    run_action,
)
from tests.github_standin import GitHubStandIn
from tests.report.test_report import make_check
from tests.roboflow_standin import RoboflowStandIn, detection_results

# The service's bearer token (no word in it: the service masks any 8 characters of a secret).
SERVICE_TOKEN = "Zq7Xk9Wm2Pv4Rt8Ys3Lb6Nc1"
# The docs' table (docs/reports.md): (verdict, fail-on) -> exit code, passed, status, check run.
TABLE: dict[tuple[str, str], tuple[int, bool, str, str]] = {
    ("pass", "error"): (0, True, "success", "success"),
    ("pass", "warning"): (0, True, "success", "success"),
    ("pass", "never"): (0, True, "success", "success"),
    ("warn", "error"): (0, True, "success", "neutral"),
    ("warn", "warning"): (1, False, "failure", "failure"),
    ("warn", "never"): (0, True, "success", "neutral"),
    ("fail", "error"): (1, False, "failure", "failure"),
    ("fail", "warning"): (1, False, "failure", "failure"),
    ("fail", "never"): (0, False, "failure", "failure"),
}
ROWS = [pytest.param(v, f, id=f"{v}-{f}") for v, f in TABLE]

# A config and an eval per verdict: `good` passes, `bad` fails the error rule, and under
# WARN_ONLY `bad` only warns.
CONFIG = """\
version: 1
workspace: ws
rules:
  - "map50 >= 0.5"
  - metric: map50
    classes: "*"
    min: 0.8
"""
WARN_ONLY = CONFIG + "    severity: warning\n"
EVAL_AND_CONFIG = {"pass": ("good", CONFIG), "warn": ("bad", WARN_ONLY), "fail": ("bad", CONFIG)}
GOOD = detection_results({"car": 0.9, "bus": 0.85})
BAD = detection_results({"car": 0.9, "bus": 0.4})


def outcome_of(verdict: str) -> GateOutcome:
    statuses = {
        "pass": (Status.PASS, Status.PASS),
        "warn": (Status.PASS, Status.WARN),
        "fail": (Status.FAIL, Status.WARN),
    }[verdict]
    checks = tuple(
        make_check(status, severity=Severity.WARNING if status is Status.WARN else Severity.ERROR)
        for status in statuses
    )
    outcome = GateOutcome((EvalOutcome("e1", "e1", TaskType.DETECTION, checks),))
    assert outcome.verdict.value == verdict
    return outcome


def expected_json(verdict: str, fail_on: str) -> dict[str, Any]:
    code, passed, status, conclusion = TABLE[verdict, fail_on]
    return {
        "fail_on": fail_on,
        "passed": passed,
        "exit_code": code,
        "commit_status": status,
        "check_run": conclusion,
    }


def assert_description_agrees(description: str, passed: bool) -> None:
    """A description never says "passed" for a gate that did not pass, nor "failed" for one
    that passed."""
    if passed:
        assert "fail" not in description, description
    else:
        assert "passed" not in description.lower(), description
        assert "fail" in description.lower(), description


# --------------------------------------------------------------------------- the decision


@pytest.mark.parametrize(("verdict", "fail_on"), ROWS)
def test_the_decision_is_the_readme_table(verdict, fail_on):
    found = decide(Verdict(verdict), fail_on)
    code, passed, status, conclusion = TABLE[verdict, fail_on]
    assert (found.exit_code, found.passed, found.status, found.conclusion) == (
        ExitCode(code),
        passed,
        StatusState(status),
        CheckRunConclusion(conclusion),
    )


@pytest.mark.parametrize("fail_on", list(FailOn))
@pytest.mark.parametrize("code", [ExitCode.USAGE, ExitCode.UNAVAILABLE])
def test_a_gate_that_could_not_run_is_decided_the_same_whatever_fail_on_says(fail_on, code):
    found = decide(None, fail_on, error_code=code)
    assert (found.passed, found.exit_code, found.status, found.conclusion) == (
        False,
        code,
        StatusState.ERROR,
        CheckRunConclusion.FAILURE,
    )
    gated = Gated(None, ResultsUnavailable("eval e1 not found"))
    assert gated.decision(fail_on).exit_code == ExitCode.UNAVAILABLE
    assert status_state(gated, fail_on)[0] == "error"
    assert check_run_conclusion(None, fail_on) == "failure"
    assert not gated.passed(fail_on)


def test_an_unknown_fail_on_is_refused():
    with pytest.raises(ValueError, match="sometimes"):
        decide(Verdict.PASS, "sometimes")


# --------------------------------------------------------------------------- every output


@pytest.mark.parametrize(("verdict", "fail_on"), ROWS)
def test_every_output_reads_the_one_decision(verdict, fail_on):
    code, passed, status, conclusion = TABLE[verdict, fail_on]
    outcome = outcome_of(verdict)
    gated = Gated(outcome, None)
    assert exit_code_for(outcome.verdict, fail_on) == code
    assert gated.passed(fail_on) is passed
    state, description = status_state(gated, fail_on)
    assert state == status
    assert_description_agrees(description, passed)
    assert check_run_conclusion(outcome.verdict, fail_on) == conclusion
    title = check_run_title(outcome, fail_on)
    assert title.startswith("Passed" if passed else "Failed"), title
    document = json_document(outcome, decide(outcome.verdict, fail_on))
    assert document["decision"] == expected_json(verdict, fail_on)


def test_the_wording_of_a_warning_that_fails_the_gate():
    decision: Decision = decide(Verdict.WARN, FailOn.WARNING)
    tally = Tally(total=9, failed=0, warned=1)
    assert decision.description(tally) == ("failed on 1 warning under fail-on: warning (9 checks)")
    assert decision.title(tally) == "Failed on 1 warning under fail-on: warning (9 checks)"
    lenient = decide(Verdict.WARN, FailOn.ERROR)
    assert lenient.description(Tally(9, 0, 2)) == "passed with 2 warnings (9 checks)"
    assert lenient.title(Tally(9, 0, 2)) == "Passed with 2 warnings (9 checks)"


# --------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize(("verdict", "fail_on"), ROWS)
def test_the_cli_exit_code_and_json_agree_with_the_table(tmp_path, verdict, fail_on):
    eval_id, config = EVAL_AND_CONFIG[verdict]
    (tmp_path / "eval-gate.yml").write_text(config)
    results = tmp_path / f"{eval_id}.json"
    results.write_text(json.dumps(GOOD if eval_id == "good" else BAD))
    out, err = io.StringIO(), io.StringIO()
    argv = ["check", "--eval", eval_id, "--results", f"{eval_id}={results}", "--quiet"]
    argv += ["--fail-on", fail_on, "--json", "gate.json"]
    code = cli_run(argv, environ={}, cwd=tmp_path, out=out, err=err)
    assert code == TABLE[verdict, fail_on][0], err.getvalue()
    document = json.loads((tmp_path / "gate.json").read_text())
    assert document["verdict"] == verdict
    assert document["decision"] == expected_json(verdict, fail_on)


# --------------------------------------------------------------------------- the Action


@pytest.fixture
def roboflow() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key=RF_KEY, workspace="ws")
    standin.add_eval("good", map_results=GOOD)
    standin.add_eval("bad", map_results=BAD)
    return standin


@pytest.fixture
def github() -> GitHubStandIn:
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull(REPO, PR, head_sha=PR_HEAD, base_sha=BASE_SHA)
    return standin


@pytest.fixture
async def urls(aiohttp_server, roboflow, github) -> tuple[str, str]:
    rf = await aiohttp_server(roboflow.app())
    gh = await aiohttp_server(github.app())
    return str(rf.make_url("")).rstrip("/"), str(gh.make_url("")).rstrip("/")


@pytest.mark.parametrize(("verdict", "fail_on"), ROWS)
async def test_the_action_exit_code_outputs_status_check_run_and_json_agree_with_the_table(
    tmp_path, urls, github, verdict, fail_on
):
    code, passed, status, conclusion = TABLE[verdict, fail_on]
    eval_id, config = EVAL_AND_CONFIG[verdict]
    run = await run_action(
        tmp_path,
        urls,
        config=config,
        eval_ids=eval_id,
        fail_on=fail_on,
        commit_status="true",
        check_run="true",
        comment="off",
    )
    assert run.code == code, run.err
    assert run.outputs["verdict"] == verdict
    assert run.outputs["passed"] == str(passed).lower()
    (posted,) = github.statuses_for(REPO, PR_HEAD)
    assert posted.state == status
    assert_description_agrees(posted.description or "", passed)
    (check_run,) = github.check_runs_for(REPO, PR_HEAD)
    assert check_run.states[-1] == ("completed", conclusion)
    assert (check_run.title or "").startswith("Passed" if passed else "Failed")
    document = json.loads((run.workspace / run.outputs["json-path"]).read_text())
    assert document["decision"] == expected_json(verdict, fail_on)
    assert github.violations == []


# --------------------------------------------------------------------------- the service


@pytest.fixture
async def service(aiohttp_client, aiohttp_server, roboflow, github) -> Any:
    from gate.server.app import create_app  # noqa: PLC0415
    from gate.server.settings import ServerSettings  # noqa: PLC0415

    rf = await aiohttp_server(roboflow.app())
    gh = await aiohttp_server(github.app())
    settings = ServerSettings(
        host="127.0.0.1",
        port=0,
        tokens=(SERVICE_TOKEN,),
        roboflow_api_key=RF_KEY,
        api_url=str(rf.make_url("")).rstrip("/"),
        github_api_url=str(gh.make_url("")).rstrip("/"),
        request_deadline=20.0,
        grace=5.0,
    )
    return await aiohttp_client(create_app(settings))


@pytest.mark.parametrize(("verdict", "fail_on"), ROWS)
async def test_the_service_exit_code_json_and_status_agree_with_the_table(
    service, github, verdict, fail_on
):
    code, passed, status, _ = TABLE[verdict, fail_on]
    eval_id, config = EVAL_AND_CONFIG[verdict]
    body = {
        "config": config,
        "evals": [eval_id],
        "fail_on": fail_on,
        "github": {
            "repository": REPO,
            "pull_number": PR,
            "sha": PR_HEAD,
            "token": GH_TOKEN,
            "comment": "off",
            "commit_status": True,
        },
    }
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    async with service.post("/v1/gate", json=body, headers=headers) as answer:
        assert answer.status == 200, await answer.text()
        document = await answer.json()
    assert document["verdict"] == verdict
    assert document["exit_code"] == code
    assert document["decision"] == expected_json(verdict, fail_on)
    (posted,) = github.statuses_for(REPO, PR_HEAD)
    assert posted.state == status
    assert_description_agrees(posted.description or "", passed)


async def test_a_warning_under_fail_on_warning_fails_the_commit_status_too(service, github):
    # The hole: the step failed (exit 1) but the status said "success" ("passed with 1
    # warning"), so a branch protection rule on it let the pull request merge.
    body = {
        "config": WARN_ONLY,
        "evals": ["bad"],
        "fail_on": "warning",
        "github": {
            "repository": REPO,
            "pull_number": PR,
            "sha": PR_HEAD,
            "token": GH_TOKEN,
            "comment": "off",
            "commit_status": True,
        },
    }
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    async with service.post("/v1/gate", json=body, headers=headers) as answer:
        document = await answer.json()
    assert (document["verdict"], document["exit_code"]) == ("warn", 1)
    (posted,) = github.statuses_for(REPO, PR_HEAD)
    assert (posted.state, posted.description) == (
        "failure",
        "failed on 1 warning under fail-on: warning (3 checks)",
    )


def test_the_docs_table_is_generated_from_the_decision():
    page = (Path(__file__).resolve().parent.parent / "docs" / "reports.md").read_text(
        encoding="utf-8"
    )
    from gate.core.decision import decision_table  # noqa: PLC0415

    assert decision_table() in page
