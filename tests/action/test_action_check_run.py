"""The Action's check run (input `check-run`) against stand-ins for Roboflow and GitHub on
127.0.0.1: in progress while the gate runs, then completed with the verdict, the report and
annotations on the rules' lines; a 403 falls back to the commit status; a cancelled or failed
run never leaves it in progress. In process (`run_action`); the entrypoint as a real process
where a signal or a closed log pipe is the point."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from tests.action.test_action_process import (
    ACTION,
    BASE_SHA,
    CONFIG,
    CONFIG_PATH,
    GH_TOKEN,
    PR,
    PR_HEAD,
    REPO,
    RF_KEY,
    RUN_HEAD,
    run_action,
    start_action,
    stop,
    until,
)
from tests.github_standin import GitHubStandIn, StandInCheckRun, leaks, not_accessible, slow
from tests.roboflow_standin import RoboflowStandIn, detection_results

GATE_ID = "github-eval-gate-yml"  # derived from .github/eval-gate.yml
NAME = f"eval-gate/{GATE_ID}"  # the check run is named like the status context
RUN_URL = f"https://github.com/{REPO}/actions/runs/1658821493"
MANY = 120  # classes, each failing its per-class rule
PER_CLASS = """\
version: 1
workspace: ws
rules:
  # one check per class
  - metric: map50
    classes: "*"
    min: 0.8
"""
WARN_ONLY = """\
version: 1
workspace: ws
rules:
  - "map50 >= 0.5"
  - metric: map50
    classes: "*"
    min: 0.8
    severity: warning
"""


@pytest.fixture
def roboflow() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key=RF_KEY, workspace="ws")
    standin.add_eval("good", map_results=detection_results({"car": 0.9, "bus": 0.85}))
    standin.add_eval("bad", map_results=detection_results({"car": 0.9, "bus": 0.4}))
    standin.add_eval("many", map_results=detection_results({f"c{i:03}": 0.4 for i in range(MANY)}))
    standin.add_eval("slow", status="running")  # never finishes
    return standin


@pytest.fixture
def github() -> GitHubStandIn:
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull(REPO, PR, head_sha=PR_HEAD, base_sha=BASE_SHA)
    standin.add_commit(REPO, RUN_HEAD)
    return standin


@pytest.fixture
async def urls(aiohttp_server, roboflow, github) -> tuple[str, str]:
    rf = await aiohttp_server(roboflow.app())
    gh = await aiohttp_server(github.app())
    return str(rf.make_url("")).rstrip("/"), str(gh.make_url("")).rstrip("/")


def the_check_run(github: GitHubStandIn) -> StandInCheckRun:
    (run,) = github.check_runs_for(REPO, PR_HEAD)
    return run


def annotation_patches(github: GitHubStandIn) -> list[list[dict]]:
    patches = github.requests_for("update-check-run")
    return [p.json["output"]["annotations"] for p in patches if "annotations" in p.json["output"]]


def assert_clean(github: GitHubStandIn) -> None:
    assert github.violations == []
    assert leaks(github, GH_TOKEN) == []
    assert leaks(github, RF_KEY) == []


async def test_a_passing_gate_completes_its_check_run_success_with_the_report(
    tmp_path, urls, github
):
    run = await run_action(tmp_path, urls, check_run="true")
    assert run.code == 0, run.err
    check = the_check_run(github)
    assert (check.name, check.external_id, check.head_sha) == (NAME, GATE_ID, PR_HEAD)
    assert check.details_url == RUN_URL
    assert check.states == [("in_progress", None), ("completed", "success")]
    assert check.title == "Passed: all 3 checks passed"
    assert check.summary is not None and "Passed" in check.summary
    assert check.summary.startswith("## ")  # the report, not the comment (no marker)
    assert check.annotations == []
    assert github.statuses_for(REPO, PR_HEAD) == []  # commit-status is off, the check run is on
    assert_clean(github)


async def test_without_the_input_there_is_no_check_run(tmp_path, urls, github):
    run = await run_action(tmp_path, urls)
    assert run.code == 0, run.err
    assert github.check_runs == {}
    assert github.count("create-check-run") == 0


async def test_a_failing_gate_fails_its_check_run_with_an_annotation_on_the_rule_s_line(
    tmp_path, urls, github
):
    run = await run_action(tmp_path, urls, check_run="true", eval_ids="bad")
    assert run.code == 1
    check = the_check_run(github)
    assert check.states[-1] == ("completed", "failure")
    assert check.title == "Failed: 1 of 3 checks failed"
    (annotation,) = check.annotations
    assert annotation["path"] == CONFIG_PATH
    assert annotation["start_line"] == annotation["end_line"] == 5  # `- metric: map50`
    assert annotation["annotation_level"] == "failure"
    assert "bus" in annotation["message"]
    # The step's own annotation points at the same place.
    assert f"file={CONFIG_PATH},line=5::" in run.out
    assert_clean(github)


@pytest.mark.parametrize(
    "expected",
    [
        ("error", "neutral", 0, "Passed with 1 warning (3 checks)"),
        ("warning", "failure", 1, "Failed on 1 warning under fail-on: warning (3 checks)"),
    ],
)
async def test_warnings_only_are_neutral_unless_fail_on_warning(tmp_path, urls, github, expected):
    fail_on, conclusion, code, title = expected
    run = await run_action(
        tmp_path, urls, check_run="true", eval_ids="bad", config=WARN_ONLY, fail_on=fail_on
    )
    assert run.code == code, run.err
    check = the_check_run(github)
    assert check.states[-1] == ("completed", conclusion)
    assert check.title == title
    (annotation,) = check.annotations
    assert (annotation["annotation_level"], annotation["start_line"]) == ("warning", 5)
    assert f"::warning title=eval-gate%3A bad [test] class bus,file={CONFIG_PATH},line=5::" in (
        run.out
    )


async def test_a_failing_gate_under_fail_on_never_exits_0_but_its_check_run_still_fails(
    tmp_path, urls, github
):
    # fail-on: never spares the step, not the verdict: the check run (which a required check
    # reads, like the commit status) never says a failing gate passed.
    run = await run_action(tmp_path, urls, check_run="true", eval_ids="bad", fail_on="never")
    assert run.code == 0
    assert run.outputs["passed"] == "false"
    assert the_check_run(github).states[-1] == ("completed", "failure")


async def test_120_failing_checks_are_annotated_in_3_patches_of_at_most_50(tmp_path, urls, github):
    run = await run_action(tmp_path, urls, check_run="true", eval_ids="many", config=PER_CLASS)
    assert run.code == 1
    assert run.outputs["failed-checks"] == str(MANY)
    assert [len(batch) for batch in annotation_patches(github)] == [50, 50, 20]
    check = the_check_run(github)
    assert len(check.annotations) == MANY
    assert {(a["path"], a["start_line"], a["annotation_level"]) for a in check.annotations} == {
        (CONFIG_PATH, 5, "failure")  # line 4 is a comment
    }
    assert check.states[1] == ("completed", "failure")  # completed first, then the batches
    assert len(check.summary or "") <= 65_535
    assert_clean(github)


async def test_annotations_point_at_the_pull_request_s_line_of_a_base_rule(tmp_path, urls, github):
    # The base's rules judge; the pull request's file has the same rules 3 lines lower.
    github.add_file(REPO, CONFIG_PATH, CONFIG, ref=BASE_SHA)
    shifted = CONFIG.replace("rules:\n", "rules:\n  # a\n  # b\n  # c\n")
    run = await run_action(tmp_path, urls, check_run="true", eval_ids="bad", config=shifted)
    assert run.code == 1, run.err
    (annotation,) = the_check_run(github).annotations
    assert annotation["start_line"] == 8
    assert f"file={CONFIG_PATH},line=8::" in run.out


async def test_a_403_warns_once_and_falls_back_to_the_commit_status(tmp_path, urls, github):
    github.fail("create-check-run", not_accessible())
    run = await run_action(tmp_path, urls, check_run="true", eval_ids="bad")
    assert run.code == 1
    assert github.count("create-check-run") == 1  # a 403 is not retried
    assert github.check_runs == {}
    assert github.count("update-check-run") == 0
    warnings = [ln for ln in run.out.splitlines() if ln.startswith("::warning")]
    (warning,) = [ln for ln in warnings if "check run" in ln]
    assert "checks: write" in warning
    assert "commit status instead" in warning
    (status,) = github.statuses_for(REPO, PR_HEAD)  # though commit-status is off
    assert (status.context, status.state) == (NAME, "failure")
    assert_clean(github)


async def test_a_gate_that_cannot_run_fails_its_check_run_with_the_error(tmp_path, urls, github):
    run = await run_action(tmp_path, urls, check_run="true", eval_ids="missing-eval")
    assert run.code == 3
    check = the_check_run(github)
    assert check.states == [("in_progress", None), ("completed", "failure")]
    assert check.title is not None and check.title.startswith("Could not run: ")
    assert "missing-eval" in check.title
    assert "could not run" in (check.summary or "")
    assert_clean(github)


async def test_a_config_error_fails_its_check_run(tmp_path, urls, github):
    run = await run_action(
        tmp_path, urls, check_run="true", config="version: 1\nrules:\n  - metric: map50-95\n"
    )
    assert run.code == 2
    check = the_check_run(github)
    assert check.states[-1] == ("completed", "failure")
    assert "did you mean" in (check.summary or "")


async def test_a_config_error_s_check_run_title_never_shows_the_runner_s_paths(
    tmp_path, urls, github
):
    run = await run_action(
        tmp_path, urls, check_run="true", config="version: 1\nrules:\n  - metric: map50-95\n"
    )
    assert run.code == 2
    check = the_check_run(github)
    assert check.title is not None
    assert check.title.startswith("Could not run: .github/eval-gate.yml:3:")
    assert str(run.workspace) not in check.title
    assert str(run.workspace) not in (check.summary or "")


async def test_the_check_run_is_in_progress_while_the_gate_waits_and_cancelled_on_sigterm(
    tmp_path, urls, github, roboflow
):
    started = await start_action(tmp_path, urls, check_run="true", eval_ids="slow", wait="600")
    await until(lambda: github.check_runs_for(REPO, PR_HEAD))
    check = the_check_run(github)
    assert check.status == "in_progress"
    await until(lambda: roboflow.count("map-results", "slow") + roboflow.count("info", "slow") > 0)
    await asyncio.sleep(0.3)
    assert started.proc.returncode is None  # still waiting on the running evaluation
    assert check.states == [("in_progress", None)]
    run, seconds = await stop(started, signal.SIGTERM)
    assert run.code == 143
    assert seconds < 3
    assert check.states[-1] == ("completed", "cancelled")
    assert check.title is not None and "Cancelled" in check.title
    assert "**cancelled**" in (check.summary or "")
    assert_clean(github)


async def test_a_run_cancelled_while_its_check_run_is_being_created_still_cancels_it(
    tmp_path, urls, github, roboflow
):
    github.fail("create-check-run", slow(1.5))
    started = await start_action(tmp_path, urls, check_run="true", eval_ids="slow", wait="600")
    await until(lambda: github.count("create-check-run") == 1)
    await until(lambda: roboflow.count("map-results", "slow") + roboflow.count("info", "slow") > 0)
    assert github.check_runs == {}  # GitHub has not created it yet
    run, seconds = await stop(started, signal.SIGTERM)
    assert run.code == 143
    assert seconds < 5
    assert the_check_run(github).states == [("in_progress", None), ("completed", "cancelled")]
    assert_clean(github)


async def test_a_workflow_run_puts_its_check_run_on_the_run_s_head_commit(tmp_path, urls, github):
    run = await run_action(
        tmp_path,
        urls,
        event="workflow_run.completed.with-pull-requests.json",
        event_name="workflow_run",
        check_run="true",
        config_from="workspace",
    )
    assert run.code == 0, run.err
    (check,) = github.check_runs_for(REPO, RUN_HEAD)
    assert check.states[-1] == ("completed", "success")


# Runs the command with its stdout on a pipe that nobody reads, closed after 3 s.
CLOSES_STDOUT_AFTER_3_S = """
import subprocess, sys, time
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
time.sleep(3)
child.stdout.close()
sys.exit(child.wait())
"""


async def test_a_crash_completes_the_check_run_failure_with_its_one_line(tmp_path, urls, github):
    # The runner's log pipe goes away 3 s in (its reader exits) while the gate waits on a
    # running evaluation; when the wait runs out, printing the error annotation raises
    # BrokenPipeError: a crash, not a verdict.
    started = await start_action(
        tmp_path,
        urls,
        command=[sys.executable, "-c", CLOSES_STDOUT_AFTER_3_S, *ACTION],
        check_run="true",
        eval_ids="slow",
        wait="6",
    )
    await until(lambda: github.check_runs_for(REPO, PR_HEAD))
    _, err = await asyncio.wait_for(started.proc.communicate(), timeout=60)
    assert started.proc.returncode == 70  # an internal error, said in one line
    assert "Traceback" not in err.decode()
    assert "internal error (BrokenPipeError" in err.decode()
    check = the_check_run(github)
    assert check.states[0] == ("in_progress", None)
    assert check.states[-1] == ("completed", "failure")
    assert check.title is not None
    assert check.title.startswith("Could not run: internal error (BrokenPipeError")
    assert "\n" not in check.title
    for text in (check.title, check.summary or "", err.decode()):
        assert GH_TOKEN not in text
        assert RF_KEY not in text
    assert_clean(github)
