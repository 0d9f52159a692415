"""The Action with the runner's environment, against stand-ins for Roboflow and GitHub on
127.0.0.1: in process (`run_action`: `gate.action.main.run`) for its behaviour, and as the image's
entrypoint in a real process (`run_action_process`, `start_action`) for what only a process
shows: the exit code of the real entrypoint, signals, and the interpreter's isolation from the
workspace."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog

from gate.action.main import run
from gate.sleeping import sleepless
from tests.cli_helpers import clean_env
from tests.github_standin import (
    Fault,
    GitHubStandIn,
    hang,
    leaks,
    not_accessible,
    secondary_rate_limit,
    too_many_requests,
    validation_failed,
)
from tests.paths import EVENTS
from tests.roboflow_standin import RoboflowStandIn, detection_results
from tests.runner_files import entrypoint_here, parse_runner_output_file

RF_KEY = "rf_ACTION_secret_key_42"
GH_TOKEN = "ghs_ACTION_secret_token_42"
REPO = "Codertocat/Hello-World"
PR = 2
PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
RUN_HEAD = "3484a3fb816e0859fd6e1cea078d76385ff50625"  # workflow_run.head_sha in the sample
BASE_SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"  # pull_request.base.sha in the samples
PUSH_SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
CONFIG = """\
version: 1
workspace: ws
rules:
  - "map50 >= 0.8"
  - metric: map50
    classes: "*"
    min: 0.8
"""


RUNNER = (4321, 4322)  # uid and gid of "the runner's user", who owns the workspace
ACTION = entrypoint_here(sys.executable)  # the image's ENTRYPOINT and its interpreter flags
as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: the Action runs as root and changes files' owners"
)


@dataclass
class Run:
    code: int
    out: str
    err: str
    outputs: dict[str, str]
    summary: str
    workspace: Path


@dataclass
class Started:
    proc: asyncio.subprocess.Process
    workspace: Path
    output: Path
    summary: Path
    secrets: list[str]


@pytest.fixture
def roboflow() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key=RF_KEY, workspace="ws")
    standin.add_eval("good", map_results=detection_results({"car": 0.9, "bus": 0.85}))
    standin.add_eval("bad", map_results=detection_results({"car": 0.9, "bus": 0.4}))
    standin.add_eval("slow", status="running")  # never finishes: for cancellation
    return standin


@pytest.fixture
def github() -> GitHubStandIn:
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull(REPO, PR, head_sha=PR_HEAD, base_sha=BASE_SHA)
    standin.add_commit(REPO, RUN_HEAD)
    standin.add_commit(REPO, PUSH_SHA)
    return standin


@pytest.fixture
async def urls(aiohttp_server, roboflow, github) -> tuple[str, str]:
    rf = await aiohttp_server(roboflow.app())
    gh = await aiohttp_server(github.app())
    return str(rf.make_url("")).rstrip("/"), str(gh.make_url("")).rstrip("/")


def prepare(tmp_path: Path, event: str, config: str) -> Path:
    workspace = tmp_path / "workspace"
    (workspace / ".github").mkdir(parents=True, exist_ok=True)
    (workspace / ".github/eval-gate.yml").write_text(config)
    shutil.copy(EVENTS / event, tmp_path / "event.json")
    return workspace


@dataclass
class Prepared:
    """The Action's workspace, runner files and environment, ready to start."""

    workspace: Path
    output: Path
    summary: Path
    env: dict[str, str]
    secrets: list[str]


def prepare_action(
    tmp_path: Path,
    urls: tuple[str, str],
    *,
    event: str = "pull_request.opened.json",
    event_name: str = "pull_request",
    config: str = CONFIG,
    repository: str = REPO,
    sha: str = PUSH_SHA,
    extra_env: dict[str, str] | None = None,
    runner_owner: tuple[int, int] | None = None,
    runner_files: bool = True,
    summary_prefill: int = 0,
    **inputs: str,
) -> Prepared:
    """The workspace and the environment the runner gives the Action, cwd the workspace.

    runner_owner: chown the workspace and the runner's files to it first (as on a hosted
    runner). runner_files False: GITHUB_OUTPUT and GITHUB_STEP_SUMMARY do not exist yet.
    """
    rf_url, gh_url = urls
    workspace = prepare(tmp_path, event, config)
    commands = tmp_path / "file_commands"
    commands.mkdir(exist_ok=True)
    output, summary = commands / "output.txt", commands / "summary.md"
    for f in (output, summary):
        if runner_files:
            f.write_text("")
        else:
            f.unlink(missing_ok=True)
    if summary_prefill:  # earlier steps' summaries, one line each
        summary.write_text(("x" * 99 + "\n") * (summary_prefill // 100))
    if runner_owner is not None:
        for path in (workspace, *workspace.rglob("*"), commands, *commands.iterdir()):
            os.chown(path, *runner_owner, follow_symlinks=False)
    env = clean_env(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME=event_name,
        GITHUB_EVENT_PATH=str(tmp_path / "event.json"),
        GITHUB_REPOSITORY=repository,
        GITHUB_API_URL=gh_url,
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_RUN_ID="1658821493",
        GITHUB_SHA=sha,
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    defaults = {
        "api-key": RF_KEY,
        "github-token": GH_TOKEN,
        "config": ".github/eval-gate.yml",
        "comment": "update",
        "fail-on": "error",
        "wait": "600",
        "commit-status": "false",
        "api-url": rf_url,
        "eval-ids": "good",
    }
    defaults.update({k.replace("_", "-"): v for k, v in inputs.items()})
    for name, value in defaults.items():
        env[f"INPUT_{name.upper()}"] = value  # the runner keeps hyphens: INPUT_EVAL-IDS
    env.update(extra_env or {})
    secrets = [v for v in (defaults["api-key"], defaults["github-token"]) if v]
    return Prepared(workspace, output, summary, env, secrets)


async def start_action(
    tmp_path: Path, urls: tuple[str, str], *, command: list[str] = ACTION, **options: Any
) -> Started:
    """Start the Action as a process, as the runner does: the image's entrypoint (or
    `command`), cwd the workspace. For what only a process shows: signals, the interpreter's
    flags, the exit of the real entrypoint."""
    ready = prepare_action(tmp_path, urls, **options)
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=ready.workspace,
        env=ready.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Started(proc, ready.workspace, ready.output, ready.summary, ready.secrets)


def ran(code: int, out: str, err: str, where: Prepared | Started) -> Run:
    """What a run printed and wrote (the runner's files read as the runner reads them)."""
    output, summary = where.output, where.summary
    return Run(
        code,
        out,
        err,
        parse_runner_output_file(output.read_bytes().decode()) if output.exists() else {},
        summary.read_text() if summary.exists() else "",
        where.workspace,
    )


async def finish(started: Started) -> Run:
    """Wait for the Action to exit; what it printed and wrote, checked for secrets."""
    out, err = await asyncio.wait_for(started.proc.communicate(), timeout=60)
    assert started.proc.returncode is not None
    run = ran(started.proc.returncode, out.decode(), err.decode(), started)
    assert_no_secrets(run, started.secrets)
    assert "Traceback" not in run.err
    return run


async def run_action_process(tmp_path: Path, urls: tuple[str, str], **options: Any) -> Run:
    """The Action as a process, to its end."""
    return await finish(await start_action(tmp_path, urls, **options))


def _run_in_thread(ready: Prepared) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(environ=ready.env, cwd=ready.workspace, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def run_action(tmp_path: Path, urls: tuple[str, str], **options: Any) -> Run:
    """The Action in this process (`gate.action.main.run`, in a thread while the stand-ins
    answer in the test's event loop), with the same environment and working directory as the
    process; retries' and polls' waits skipped on the fake clock. Checked for secrets."""
    ready = prepare_action(tmp_path, urls, **options)
    saved = structlog.get_config()
    try:
        with sleepless():
            code, out, err = await asyncio.wait_for(
                asyncio.to_thread(_run_in_thread, ready), timeout=60
            )
    finally:
        structlog.configure(**saved)
    result = ran(code, out, err, ready)
    assert_no_secrets(result, ready.secrets)
    assert "Traceback" not in result.err
    return result


def assert_no_secrets(run: Run, given: list[str]) -> None:
    """Neither secret appears anywhere but in the ::add-mask:: commands that hide them, and
    those come first, before anything else is printed."""
    lines = run.out.splitlines()
    assert lines[: len(given)] == [f"::add-mask::{secret}" for secret in given]
    visible = "\n".join(ln for ln in run.out.splitlines() if not ln.startswith("::add-mask::"))
    for secret in (RF_KEY, GH_TOKEN):
        assert secret not in visible
        assert secret not in run.err
        assert secret not in run.summary
        assert secret not in json.dumps(run.outputs)
        for produced in run.workspace.rglob("*"):
            if produced.is_file():
                assert secret not in produced.read_text(errors="replace"), produced


def our_comments(github: GitHubStandIn) -> list:
    return [c for c in github.comments_on(REPO, PR) if c.body.startswith("<!-- eval-gate")]


# --- pull requests ---------------------------------------------------------------------------


async def test_pull_request_passing_creates_one_comment_and_writes_everything(
    tmp_path, urls, github
):
    run = await run_action_process(tmp_path, urls)
    assert run.code == 0, run.err
    (comment,) = github.comments_on(REPO, PR)
    assert comment.body.startswith("<!-- eval-gate:")
    assert "Passed" in comment.body
    assert run.outputs["verdict"] == "pass"
    assert run.outputs["passed"] == "true"
    assert run.outputs["failed-checks"] == "0"
    assert run.outputs["comment-url"].startswith("http")
    assert (run.workspace / run.outputs["report-path"]).read_text().strip()
    data = json.loads((run.workspace / run.outputs["json-path"]).read_text())
    assert data["verdict"] == "pass"
    assert "Passed" in run.summary
    assert github.violations == []
    assert leaks(github, GH_TOKEN) == []
    assert leaks(github, RF_KEY) == []


async def test_failing_gate_exits_1_with_annotations(tmp_path, urls, github):
    run = await run_action_process(tmp_path, urls, eval_ids="bad")
    assert run.code == 1
    assert run.outputs["verdict"] == "fail"
    assert run.outputs["passed"] == "false"
    assert run.outputs["failed-checks"] == "1"
    assert "::error title=eval-gate" in run.out
    (comment,) = our_comments(github)
    assert "Failed" in comment.body


async def test_a_nearly_full_job_summary_gets_a_folded_report_not_a_cut_one(tmp_path, urls, github):
    limit = 1024 * 1024
    prefill = limit - 500
    run = await run_action(
        tmp_path, urls, eval_ids="bad", summary_prefill=prefill, config_from="workspace"
    )
    assert run.code == 1
    ours = run.summary[(prefill // 100) * 100 :]
    assert len(run.summary.encode()) <= limit
    assert "Failed" in ours
    assert "truncated" not in ours  # folded and summarised by the report, not cut afterwards
    assert ours.count("<details>") == ours.count("</details>")
    assert "**mAP@50 ≥ 0.8 per class**" in ours  # the failing rule's line survives
    assert "shortened" in ours
    assert "`.eval-gate/github-eval-gate-yml/report.md`" in ours


async def test_second_run_updates_the_same_comment(tmp_path, urls, github):
    first = await run_action(tmp_path, urls, eval_ids="good")
    second = await run_action(tmp_path, urls, eval_ids="bad")
    (comment,) = our_comments(github)
    assert "Failed" in comment.body  # never a stale verdict
    assert first.outputs["comment-url"] == second.outputs["comment-url"]
    assert github.count("update-comment") == 1


async def test_our_oldest_comment_among_250_is_updated_in_place(tmp_path, urls, github):
    first = await run_action(tmp_path, urls)
    ours = our_comments(github)[0]
    # Bury it: 249 newer comments by people.
    github.add_comments(REPO, PR, 249, author="octocat", body_fn=lambda i: f"comment {i}")
    run = await run_action(tmp_path, urls, eval_ids="bad")
    assert run.code == 1
    assert [c.id for c in our_comments(github)] == [ours.id]
    assert "Failed" in our_comments(github)[0].body
    assert len(github.comments_on(REPO, PR)) == 250
    assert first.outputs["comment-url"] == run.outputs["comment-url"]
    assert github.violations == []


async def test_our_comment_found_on_page_3_when_older_ones_fill_pages(tmp_path, urls, github):
    github.add_comments(REPO, PR, 220, author="octocat", body_fn=lambda i: f"old comment {i}")
    await run_action(tmp_path, urls)
    github.add_comments(REPO, PR, 29, author="octocat", body_fn=lambda i: f"new comment {i}")
    await run_action(tmp_path, urls, eval_ids="bad")
    assert len(our_comments(github)) == 1
    assert len(github.comments_on(REPO, PR)) == 250
    last_run = github.requests_for("list-comments")[-3:]
    assert [dict(r.query).get("page", "1") for r in last_run] == ["1", "2", "3"]
    assert all(dict(r.query).get("per_page") == "100" for r in last_run)


async def test_someone_elses_similar_marker_is_left_alone(tmp_path, urls, github):
    marker = "<!-- eval-gate:github-eval-gate-yml -->"
    github.add_comment(REPO, PR, f"{marker}\nI copied your marker", author="octocat")
    github.add_comment(REPO, PR, f"> {marker}\n> quoted", author="hubot[bot]")
    run = await run_action(tmp_path, urls)
    assert run.code == 0
    bodies = [c.body for c in github.comments_on(REPO, PR)]
    assert bodies[0] == f"{marker}\nI copied your marker"
    assert bodies[1] == f"> {marker}\n> quoted"
    assert len(bodies) == 3
    assert github.count("update-comment") == 0


async def test_another_bot_s_comment_with_our_marker_is_left_alone_and_the_verdict_posted(
    tmp_path, urls, github
):
    mark = "<!-- eval-gate:github-eval-gate-yml -->"
    theirs = github.add_comment(REPO, PR, f"{mark}\nrenovate quoted it", author="renovate[bot]")
    run = await run_action(tmp_path, urls, eval_ids="bad")
    assert run.code == 1
    assert theirs.body == f"{mark}\nrenovate quoted it"
    assert github.count("update-comment") == 0
    (ours,) = [c for c in our_comments(github) if c.login == "github-actions[bot]"]
    assert "Failed" in ours.body
    assert run.outputs["comment-url"].endswith(f"#issuecomment-{ours.id}")
    assert "pull-requests: write" not in run.out + run.err  # nothing to grant: it worked


async def test_two_gate_ids_keep_two_comments(tmp_path, urls, github):
    await run_action(tmp_path, urls, gate_id="detector")
    await run_action(tmp_path, urls, gate_id="segmenter", eval_ids="bad")
    await run_action(tmp_path, urls, gate_id="detector")
    comments = our_comments(github)
    assert len(comments) == 2
    assert {c.body.splitlines()[0] for c in comments} == {
        "<!-- eval-gate:detector -->",
        "<!-- eval-gate:segmenter -->",
    }


async def test_403_on_comment_warns_and_keeps_the_verdict(tmp_path, urls, github):
    github.fail("create-comment", not_accessible())
    run = await run_action(tmp_path, urls, eval_ids="bad")
    assert run.code == 1  # the verdict, not the comment failure
    assert "Resource not accessible by integration" in run.err
    assert "pull-requests: write" in run.err
    assert run.outputs["verdict"] == "fail"
    assert run.outputs["comment-url"] == ""
    assert "Failed" in run.summary


async def test_403_on_passing_gate_still_exits_0(tmp_path, urls, github):
    github.fail("create-comment", not_accessible())
    run = await run_action(tmp_path, urls)
    assert run.code == 0


async def test_422_body_too_long_warns_and_carries_on(tmp_path, urls, github):
    github.fail(
        "create-comment",
        validation_failed(
            resource="IssueComment",
            code="custom",
            field="body",
            message="body is too long (maximum is 65536 characters)",
        ),
    )
    run = await run_action(tmp_path, urls)
    assert run.code == 0
    assert "422" in run.err or "too long" in run.err
    assert run.outputs["verdict"] == "pass"


@pytest.mark.parametrize("fault", [too_many_requests(1), secondary_rate_limit(1)])
async def test_rate_limits_are_waited_out(tmp_path, urls, github, fault):
    github.fail("list-comments", fault)
    run = await run_action(tmp_path, urls)
    assert run.code == 0, run.err
    assert len(our_comments(github)) == 1
    assert "github.rate_limited" in run.err


async def test_on_failure_mode_is_quiet_when_passing(tmp_path, urls, github):
    run = await run_action(tmp_path, urls, comment="on-failure")
    assert run.code == 0
    assert github.comments_on(REPO, PR) == []
    await run_action(tmp_path, urls, comment="on-failure", eval_ids="bad")
    assert len(our_comments(github)) == 1
    await run_action(tmp_path, urls, comment="on-failure")  # fixed: the comment says so
    assert "Passed" in our_comments(github)[0].body


async def test_comment_off_posts_nothing(tmp_path, urls, github):
    run = await run_action(tmp_path, urls, comment="off")
    assert run.code == 0
    # Only the base branch's rules are read (none there: its commit confirmed); nothing posted.
    assert [r.operation for r in github.requests] == ["repos/get-content", "git/get-commit"]


async def test_commit_status_on_the_pr_head(tmp_path, urls, github):
    run = await run_action(tmp_path, urls, eval_ids="bad", commit_status="true", gate_id="det")
    assert run.code == 1
    (status,) = github.statuses_for(REPO, PR_HEAD)
    assert status.state == "failure"
    assert status.context == "eval-gate/det"
    assert len(status.description) <= 140
    assert status.target_url == f"https://github.com/{REPO}/actions/runs/1658821493"
    assert github.violations == []


# --- other events ----------------------------------------------------------------------------


async def test_push_event_gates_without_a_comment(tmp_path, urls, github):
    run = await run_action(
        tmp_path, urls, event="push.json", event_name="push", commit_status="true"
    )
    assert run.code == 0
    assert github.comments_on(REPO, PR) == []
    assert "publish.no_pull_request" in run.err
    assert run.outputs["verdict"] == "pass"
    assert "Passed" in run.summary
    (status,) = github.statuses_for(REPO, PUSH_SHA)
    assert status.state == "success"


async def test_workflow_run_event_comments_on_its_pull_request(tmp_path, urls, github):
    run = await run_action(
        tmp_path,
        urls,
        event="workflow_run.completed.with-pull-requests.json",
        event_name="workflow_run",
        commit_status="true",
    )
    assert run.code == 0, run.err
    assert len(our_comments(github)) == 1
    (status,) = github.statuses_for(REPO, RUN_HEAD)
    assert status.state == "success"


# --- errors ----------------------------------------------------------------------------------


async def test_missing_api_key_is_a_clear_error(tmp_path, urls, github):
    run = await run_action(tmp_path, urls, api_key="")
    assert run.code == 2
    assert "api-key" in run.err
    assert "::error" in run.out


async def test_config_error_replaces_a_stale_comment(tmp_path, urls, github):
    await run_action(tmp_path, urls)
    run = await run_action(tmp_path, urls, config="version: 1\nrules:\n  - metric: map50-95\n")
    assert run.code == 2
    assert run.outputs["verdict"] == "error"
    assert run.outputs["passed"] == "false"
    (comment,) = our_comments(github)
    assert "could not run" in comment.body
    assert "did you mean" in comment.body  # the hint reaches the PR


async def test_a_config_error_is_annotated_on_its_file_and_line_like_a_failing_check(
    tmp_path, urls, github
):
    bad = "version: 1\nworkspace: ws\nrules:\n  - metric: map50-95\n    min: 0.5\n"
    run = await run_action(tmp_path, urls, config=bad)
    assert run.code == 2
    (error,) = [ln for ln in run.out.splitlines() if ln.startswith("::error")]
    assert error.startswith("::error title=eval-gate,file=.github/eval-gate.yml,line=4,col=")
    assert "::.github/eval-gate.yml:4:" in error  # the repository's path, not the runner's
    (comment,) = our_comments(github)
    for shown in (error, comment.body, run.summary):
        assert str(run.workspace) not in shown


async def test_unavailable_results_exit_3_and_say_so(tmp_path, urls, github):
    run = await run_action(tmp_path, urls, eval_ids="missing-eval", commit_status="true")
    assert run.code == 3
    assert "not found" in run.err
    (status,) = github.statuses_for(REPO, PR_HEAD)
    assert status.state == "error"


# --- a hostile workspace -------------------------------------------------------------------

HOSTILE = """\
import os, sys
from pathlib import Path
Path({canary!r}).joinpath(__name__ + ".ran").write_text(
    "\\n".join(f"{{k}}={{v}}" for k, v in os.environ.items() if k.startswith("INPUT_"))
)
print("HIJACKED: the workspace's " + __name__ + " ran inside the action", file=sys.stderr)
os._exit(42)
"""
# What `python -m gate.action` would import from its working directory (or PYTHONPATH) first:
# our own package, the libraries we import, and the modules `site` imports at start-up.
HOSTILE_FILES = (
    "gate/__init__.py",
    "gate/action.py",
    "gate/__main__.py",
    "yaml.py",
    "structlog.py",
    "json.py",
    "aiohttp/__init__.py",
    "sitecustomize.py",
    "usercustomize.py",
)


def plant_hostile_modules(workspace: Path, canary: Path) -> None:
    canary.mkdir(exist_ok=True)
    for name in HOSTILE_FILES:
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HOSTILE.format(canary=str(canary)))


async def test_nothing_in_the_workspace_is_imported(tmp_path, urls, github):
    # The workspace is the checked-out repository; a workflow's env may also point
    # PYTHONPATH at it. With the image's interpreter flags none of it is imported.
    canary = tmp_path / "canary"
    plant_hostile_modules(prepare(tmp_path, "pull_request.opened.json", CONFIG), canary)
    workspace = tmp_path / "workspace"
    run = await run_action_process(tmp_path, urls, extra_env={"PYTHONPATH": f"{workspace}:."})
    assert sorted(p.name for p in canary.iterdir()) == []
    assert "HIJACKED" not in run.err
    assert run.code == 0, run.err
    assert run.outputs["verdict"] == "pass"
    (comment,) = our_comments(github)
    assert "Passed" in comment.body


async def test_without_the_flags_the_same_workspace_hijacks_the_action(tmp_path, urls):
    # The control: the planted modules do run under a plain `python -m gate.action`, with
    # the inputs (API key and token) in reach. So the test above means something.
    canary = tmp_path / "canary"
    plant_hostile_modules(prepare(tmp_path, "pull_request.opened.json", CONFIG), canary)
    started = await start_action(tmp_path, urls, command=[sys.executable, "-m", "gate.action"])
    _, err = await asyncio.wait_for(started.proc.communicate(), timeout=60)
    assert started.proc.returncode == 42
    assert b"HIJACKED" in err
    (ran,) = canary.iterdir()
    assert f"INPUT_API-KEY={RF_KEY}" in ran.read_text()


# --- who owns what the Action leaves behind ------------------------------------------------


def owners_under(*roots: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for root in roots:
        for path in (root, *root.rglob("*")):
            info = path.lstat()
            found[str(path)] = (info.st_uid, info.st_gid)
    return found


@as_root
@pytest.mark.parametrize("runner_files", [True, False], ids=["appended", "created"])
async def test_files_left_behind_belong_to_the_workspace_owner(tmp_path, urls, runner_files):
    # On a hosted runner the workspace belongs to the runner's user and the Action runs as
    # root: what it writes must stay deletable and writable by the steps after it.
    run = await run_action(tmp_path, urls, runner_owner=RUNNER, runner_files=runner_files)
    assert run.code == 0, run.err
    assert (run.workspace / run.outputs["report-path"]).is_file()
    owners = owners_under(run.workspace, tmp_path / "file_commands")
    assert len(owners) >= 8  # workspace, .github, config, .eval-gate, gate id, 2 reports, ...
    assert dict.fromkeys(owners, RUNNER) == owners


@as_root
async def test_a_config_error_leaves_nothing_owned_by_root(tmp_path, urls):
    run = await run_action(
        tmp_path, urls, runner_owner=RUNNER, runner_files=False, config="version: 1\nrules: 3\n"
    )
    assert run.code == 2
    owners = owners_under(run.workspace, tmp_path / "file_commands")
    assert dict.fromkeys(owners, RUNNER) == owners


# --- cancellation --------------------------------------------------------------------------


async def until(condition: Any) -> None:
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110 - the condition is the stand-in's request log
            await asyncio.sleep(0.05)


async def start_waiting(tmp_path, urls, roboflow, **options: Any) -> Started:
    """The Action, waiting for the `slow` evaluation that never finishes."""
    started = await start_action(tmp_path, urls, eval_ids="slow", wait="600", **options)
    await until(lambda: roboflow.count("map-results", "slow") + roboflow.count("info", "slow") > 0)
    await asyncio.sleep(0.3)  # well inside the poll interval's sleep
    return started


async def stop(started: Started, *signals: signal.Signals, gap: float = 0.5) -> tuple[Run, float]:
    """Send `signals` (`gap` apart); the run and the seconds from the first signal to exit."""
    begun = time.monotonic()
    for index, signum in enumerate(signals):
        if index:
            await asyncio.sleep(gap)
        started.proc.send_signal(signum)
    run = await finish(started)
    return run, time.monotonic() - begun


@pytest.mark.parametrize(
    "signal_and_code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"]
)
async def test_a_cancelled_run_stops_at_once_and_says_so_on_the_pull_request(
    tmp_path, urls, github, roboflow, signal_and_code
):
    signum, code = signal_and_code
    first = await run_action(tmp_path, urls, commit_status="true")  # a verdict to go stale
    (comment,) = our_comments(github)
    assert "Passed" in comment.body
    statuses = len(github.statuses_for(REPO, PR_HEAD))
    started = await start_waiting(tmp_path, urls, roboflow, commit_status="true")
    run, seconds = await stop(started, signum)
    assert seconds < 3, (seconds, run.err)
    assert run.code == code, run.err
    assert "Traceback" not in run.err
    assert "action.cancelled" in run.err
    (comment,) = our_comments(github)
    assert "**cancelled**" in comment.body
    assert "Passed" not in comment.body
    assert comment.body.startswith("<!-- eval-gate:github-eval-gate-yml -->\n")
    assert run.outputs == {
        "verdict": "cancelled",
        "passed": "false",
        "failed-checks": "0",
        "report-path": "",
        "json-path": "",
        "comment-url": first.outputs["comment-url"],
        "service-gate-id": "",
        "service-gate-url": "",
    }
    assert "cancelled" in run.summary
    assert len(github.statuses_for(REPO, PR_HEAD)) == statuses  # no status about a non-run
    assert github.violations == []


async def test_a_cancelled_first_run_adds_no_comment(tmp_path, urls, github, roboflow):
    started = await start_waiting(tmp_path, urls, roboflow)
    run, seconds = await stop(started, signal.SIGTERM)
    assert seconds < 3
    assert run.code == 143
    assert github.comments_on(REPO, PR) == []
    assert run.outputs["verdict"] == "cancelled"
    assert run.outputs["comment-url"] == ""


async def test_a_cancelled_run_waits_for_github_at_most_5_seconds(tmp_path, urls, github, roboflow):
    await run_action(tmp_path, urls)
    github.fail("list-comments", hang())
    started = await start_waiting(tmp_path, urls, roboflow)
    run, seconds = await stop(started, signal.SIGTERM)
    assert 4.5 < seconds < 7, seconds
    assert run.code == 143
    assert "action.cancelled_comment_not_updated" in run.err
    assert "within 5 s" in run.err
    assert run.outputs["verdict"] == "cancelled"
    assert "Passed" in our_comments(github)[0].body  # could not be changed


async def test_a_second_signal_cuts_the_clean_up_short(tmp_path, urls, github, roboflow):
    await run_action(tmp_path, urls)
    github.fail("list-comments", hang())
    started = await start_waiting(tmp_path, urls, roboflow)
    run, seconds = await stop(started, signal.SIGINT, signal.SIGTERM, gap=0.5)
    assert seconds < 2.5, seconds
    assert run.code == 130  # the first signal's
    assert "a second signal" in run.err
    assert run.outputs["verdict"] == "cancelled"


@as_root
async def test_a_cancelled_run_leaves_nothing_owned_by_root(tmp_path, urls, roboflow):
    started = await start_waiting(tmp_path, urls, roboflow, runner_owner=RUNNER, runner_files=False)
    run, _ = await stop(started, signal.SIGTERM)
    assert run.code == 143
    owners = owners_under(run.workspace, tmp_path / "file_commands")
    assert dict.fromkeys(owners, RUNNER) == owners


SLOW_DNS = """\
import socket, sys, time
real = socket.getaddrinfo
def slow(host, *args, **kwargs):
    if str(host).endswith(".invalid"):
        time.sleep(30)  # a DNS lookup that hangs, in aiohttp's resolver thread
    return real(host, *args, **kwargs)
socket.getaddrinfo = slow
from gate.action.main import main
sys.exit(main())
"""


async def test_a_hung_dns_lookup_does_not_hold_up_a_cancelled_run(tmp_path, urls, roboflow):
    # The comment's name lookup runs in a thread that cannot be cancelled: the exit must not
    # wait for it (asyncio.run would, and so would the interpreter at exit).
    command = [*ACTION[: ACTION.index("-m")], "-c", SLOW_DNS]
    started = await start_waiting(
        tmp_path,
        urls,
        roboflow,
        command=command,
        extra_env={"GITHUB_API_URL": "http://api.github.invalid"},
        config_from="workspace",  # no base config to read through the hung lookup
    )
    run, seconds = await stop(started, signal.SIGTERM, signal.SIGTERM, gap=0.5)
    assert seconds < 2.5, seconds
    assert run.code == 143
    assert run.outputs["verdict"] == "cancelled"


# --- where the Action writes ------------------------------------------------------------------


async def test_a_planted_link_for_the_report_folder_is_refused_not_followed(tmp_path, urls, github):
    outside = tmp_path / "outside"
    outside.mkdir()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / ".eval-gate").symlink_to(outside)  # the repository plants it
    run = await run_action(tmp_path, urls)
    assert run.code == 2
    assert list(outside.iterdir()) == []
    assert "symbolic link" in run.err
    (comment,) = our_comments(github)
    assert "symbolic link" in comment.body


async def test_a_planted_link_for_the_report_file_is_refused_not_written_through(
    tmp_path, urls, github
):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    folder = tmp_path / "workspace/.eval-gate/github-eval-gate-yml"
    folder.mkdir(parents=True)
    (folder / "report.md").symlink_to(target)
    run = await run_action(tmp_path, urls)
    assert run.code == 2
    assert target.read_text() == "keep me"
    assert (folder / "report.md").is_symlink()


async def test_a_plain_http_api_url_off_loopback_is_a_warning_annotation(tmp_path, urls, github):
    # The config is not a mapping, so the gate stops before any request to that address.
    run = await run_action(tmp_path, urls, api_url="http://10.255.255.1", config=".github/no.yml")
    assert run.code == 2
    warnings = [ln for ln in run.out.splitlines() if ln.startswith("::warning")]
    assert any("http://" in ln and "unencrypted" in ln.lower() for ln in warnings), run.out


# --- thresholds from the base branch ----------------------------------------------------------

CONFIG_PATH = ".github/eval-gate.yml"
LOOSENED = """\
version: 1
workspace: ws
rules:
  - "map50 >= 0.8"
  - metric: map50
    classes: "*"
    min: 0.3
"""


def contents_reads(github: GitHubStandIn) -> list[Any]:
    return github.requests_for("get-content")


async def test_a_pull_request_loosening_a_threshold_is_still_judged_by_the_base_rule(
    tmp_path, urls, github
):
    github.add_file(REPO, CONFIG_PATH, CONFIG, ref=BASE_SHA)
    run = await run_action(tmp_path, urls, eval_ids="bad", config=LOOSENED)
    assert run.code == 1, run.err  # bus 0.4 < the base's 0.8, not the PR's 0.3
    assert run.outputs["verdict"] == "fail"
    (read,) = contents_reads(github)
    assert read.path == f"/repos/{REPO}/contents/.github/eval-gate.yml"
    assert read.query == (("ref", BASE_SHA),)
    (comment,) = our_comments(github)
    for text in (
        comment.body,
        run.summary,
        (run.workspace / run.outputs["report-path"]).read_text(),
    ):
        assert "Failed" in text
        assert "The rules are the base commit's (`.github/eval-gate.yml` at `f95f852bd8fc`)" in text
        assert "This pull request changes 1 rule; the change takes effect after merge:" in text
        assert (
            "- changed: `map50 per class >= 0.8 [test]` → `map50 per class >= 0.3 [test]` "
            "(`.github/eval-gate.yml:5:5`)"
        ) in text
    # A notice on the changed line, which the pull request's diff shows.
    assert "::notice title=eval-gate%3A rule changed,file=.github/eval-gate.yml,line=5::" in run.out
    assert github.violations == []


async def test_a_base_without_the_config_uses_the_checkout_s_and_says_so(tmp_path, urls, github):
    run = await run_action(tmp_path, urls, eval_ids="bad", config=LOOSENED)
    assert run.code == 0, run.err  # the pull request adds the config: its own rules judge
    assert len(contents_reads(github)) == 1
    note = (
        "The base commit `f95f852bd8fc` has no `.github/eval-gate.yml`: this pull request adds "
        "it, so its own rules are used."
    )
    assert note in run.summary
    assert note in our_comments(github)[0].body


def event_with_base(tmp_path: Path, base_sha: str) -> dict[str, str]:
    """The sample pull_request event with another base commit (GITHUB_EVENT_PATH for it)."""
    payload = json.loads((EVENTS / "pull_request.opened.json").read_text())
    payload["pull_request"]["base"]["sha"] = base_sha
    path = tmp_path / "other-base.json"
    path.write_text(json.dumps(payload))
    return {"GITHUB_EVENT_PATH": str(path)}


async def test_a_base_commit_github_does_not_know_fails_closed_not_as_no_config(
    tmp_path, urls, github
):
    # 404 `No commit found for the ref …`: not "the pull request adds the config".
    unknown = "d" * 40
    env = event_with_base(tmp_path, unknown)
    run = await run_action(tmp_path, urls, eval_ids="bad", config=LOOSENED, extra_env=env)
    assert run.code == 3, run.err
    assert run.outputs["verdict"] == "error"
    assert (
        "could not read the base branch's config: reading .github/eval-gate.yml at "
        f"dddddddddddd: HTTP 404 (No commit found for the ref {unknown}): GitHub does not know "
        "commit dddddddddddd in Codertocat/Hello-World (or the token cannot see the "
        "repository), so whether it has the file is unknown"
    ) in run.err
    assert "this pull request adds it" not in run.summary
    assert "could not run" in our_comments(github)[0].body
    assert github.violations == []


async def test_a_plain_404_for_a_commit_github_cannot_find_fails_closed(tmp_path, urls, github):
    # A plain 404 (as for a repository the token cannot see) and a commit that does not answer.
    github.fail("get-content", Fault(404, {"message": "Not Found", "status": "404"}))
    env = event_with_base(tmp_path, "d" * 40)
    run = await run_action(tmp_path, urls, eval_ids="bad", config=LOOSENED, extra_env=env)
    assert run.code == 3, run.err
    assert "HTTP 404, and commit dddddddddddd is not found either" in run.err
    assert [r.operation for r in github.requests][:2] == ["repos/get-content", "git/get-commit"]
    assert "this pull request adds it" not in run.summary


async def test_rules_the_pull_request_adds_removes_and_changes_are_listed(tmp_path, urls, github):
    base = CONFIG + '  - "map50_95 >= 0.1"\n  - metric: map50\n    max: 1\n    severity: warning\n'
    github.add_file(REPO, CONFIG_PATH, base, ref=BASE_SHA)
    head = (
        "version: 1\nworkspace: ws\nrules:\n"
        '  - "map50 >= 0.8"\n'  # kept
        "  - metric: map50\n    max: 1\n    severity: error\n"  # changed (severity)
        '  - "map75 >= 0.05"\n'  # added
    )  # removed: map50 per class >= 0.8, map50_95 >= 0.1
    run = await run_action(tmp_path, urls, config=head)
    assert run.code == 0, run.err
    summary = run.summary
    assert "This pull request changes 4 rules; the changes take effect after merge:" in summary
    changed = (
        "- changed: `map50 <= 1 [test] severity warning` → `map50 <= 1 [test]` "
        "(`.github/eval-gate.yml:5:5`)"
    )
    assert changed in summary
    assert "- added: `map75 >= 0.05 [test]` (`.github/eval-gate.yml:8:5`)" in summary
    assert "- removed: `map50 per class >= 0.8 [test]` (`<base>:.github/eval-gate.yml:5:5`)" in (
        summary
    )
    assert "- removed: `map50_95 >= 0.1 [test]`" in summary
    # The base's four rules judged: 1 + per class (car, bus) + map50_95 + map50 <= 1.
    data = json.loads((run.workspace / run.outputs["json-path"]).read_text())
    assert {c["metric"] for c in data["checks"]} >= {"map50", "map50_95"}
    assert "map75" not in {c["metric"] for c in data["checks"]}


async def test_a_403_on_the_base_config_fails_closed_with_exit_3(tmp_path, urls, github):
    github.add_file(REPO, CONFIG_PATH, CONFIG, ref=BASE_SHA)
    github.fail("get-content", not_accessible())
    run = await run_action(tmp_path, urls, eval_ids="bad", config=LOOSENED)
    assert run.code == 3
    assert run.outputs["verdict"] == "error"
    message = "could not read the base branch's config: "
    fix = "; or set config-from: workspace"
    assert message in run.err and fix in run.err
    assert "HTTP 403" in run.err
    assert f"::error title=eval-gate::{message}" in run.out
    (comment,) = our_comments(github)
    assert "could not run" in comment.body
    assert "or set config-from: workspace" in comment.body


async def test_a_403_on_the_base_config_names_only_the_permission_reading_it_needs(
    tmp_path, urls, github
):
    github.add_file(REPO, CONFIG_PATH, CONFIG, ref=BASE_SHA)
    github.fail("get-content", not_accessible())
    run = await run_action(tmp_path, urls, eval_ids="bad", config=LOOSENED)
    assert run.code == 3
    (error,) = [ln for ln in run.out.splitlines() if ln.startswith("::error")]
    (comment,) = our_comments(github)
    for text in (error, comment.body, run.summary):
        assert "contents: read" in text
        assert "pull-requests: write" not in text  # a write hint, for a read
        assert "statuses: write" not in text
        assert text.count("contents: read") == 1


async def test_an_invalid_base_config_is_located_in_the_base(tmp_path, urls, github):
    github.add_file(REPO, CONFIG_PATH, "version: 1\nrules:\n  - metric: map50-95\n", ref=BASE_SHA)
    run = await run_action(tmp_path, urls)
    assert run.code == 2
    assert "<base>:.github/eval-gate.yml:3:" in run.err
    assert "did you mean" in run.err


async def test_a_base_config_over_1_mib_fails_closed(tmp_path, urls, github):
    big = CONFIG + "# " + "x" * (1024 * 1024) + "\n"
    github.add_file(REPO, CONFIG_PATH, big, ref=BASE_SHA)
    run = await run_action(tmp_path, urls)
    assert run.code == 3
    assert "over the limit of 1,048,576" in run.err


async def test_a_push_uses_the_checkout_s_config(tmp_path, urls, github):
    github.add_file(REPO, CONFIG_PATH, CONFIG, ref=BASE_SHA)
    run = await run_action(
        tmp_path, urls, event="push.json", event_name="push", eval_ids="bad", config=LOOSENED
    )
    assert run.code == 0, run.err  # the checkout's 0.3
    assert contents_reads(github) == []
    assert "The rules are" not in run.summary


async def test_config_from_workspace_uses_the_checkout_s_rules(tmp_path, urls, github):
    github.add_file(REPO, CONFIG_PATH, CONFIG, ref=BASE_SHA)
    run = await run_action(tmp_path, urls, eval_ids="bad", config=LOOSENED, config_from="workspace")
    assert run.code == 0, run.err
    assert contents_reads(github) == []
    assert "The rules are" not in run.summary


async def test_workflow_run_reads_the_base_of_its_pull_request(tmp_path, urls, github):
    github.add_file(REPO, CONFIG_PATH, CONFIG, ref=BASE_SHA)
    run = await run_action(
        tmp_path,
        urls,
        event="workflow_run.completed.with-pull-requests.json",
        event_name="workflow_run",
        eval_ids="bad",
        config=LOOSENED,  # the checkout (in the fork-safe workflow: the default branch's)
    )
    assert run.code == 1, run.err
    assert contents_reads(github)[0].query == (("ref", BASE_SHA),)
    assert "The checked-out config differs from the base's in 1 rule, not used here:" in (
        run.summary
    )
    assert "::notice" not in run.out  # the checkout is not the pull request's: no notices


async def test_workflow_run_from_a_fork_looks_the_pull_request_up(tmp_path, urls, github):
    fork_base = "c" * 40
    github.add_pull(REPO, 7, head_sha=RUN_HEAD, base_sha=fork_base)
    github.add_file(REPO, CONFIG_PATH, CONFIG, ref=fork_base)
    payload = json.loads((EVENTS / "workflow_run.completed.with-pull-requests.json").read_text())
    payload["workflow_run"]["pull_requests"] = []  # as GitHub sends it for a fork
    payload["workflow_run"]["event"] = "pull_request"
    fork_event = tmp_path / "fork.json"
    fork_event.write_text(json.dumps(payload))
    run = await run_action(
        tmp_path,
        urls,
        event_name="workflow_run",
        eval_ids="bad",
        config=LOOSENED,
        extra_env={"GITHUB_EVENT_PATH": str(fork_event)},
    )
    assert run.code == 1, run.err
    assert [r.operation for r in github.requests][:3] == [
        "repos/list-pull-requests-associated-with-commit",
        "pulls/get",
        "repos/get-content",
    ]
    assert contents_reads(github)[0].query == (("ref", fork_base),)
    assert github.violations == []


async def test_a_base_rule_naming_an_eval_the_pull_request_renamed_fails_closed(
    tmp_path, urls, github
):
    named = "version: 1\nworkspace: ws\nevals:\n  - {id: bad, name: detector}\nrules:\n"
    base = named + "  - metric: map50\n    classes: '*'\n    min: 0.8\n    evals: [detector]\n"
    head = named.replace("detector", "other") + '  - "map50 >= 0.1"\n'
    github.add_file(REPO, CONFIG_PATH, base, ref=BASE_SHA)
    run = await run_action(tmp_path, urls, eval_ids="", config=head)
    assert run.code == 2, run.err
    assert "<base>:.github/eval-gate.yml:6:" in run.err
    assert "rule names eval 'detector', which is not gated" in run.err


async def test_a_pull_request_cannot_loosen_its_gate_through_an_eval_s_baseline(
    tmp_path, urls, github, roboflow
):
    roboflow.add_eval("weak", map_results=detection_results({"car": 0.5, "bus": 0.35}))
    evals = "version: 1\nworkspace: ws\nevals:\n  - name: detector\n    id: bad\n"
    rule = "rules:\n  - metric: map50\n    classes: '*'\n    max_drop: 0.1\n"
    github.add_file(REPO, CONFIG_PATH, evals + "    baseline: good\n" + rule, ref=BASE_SHA)
    head = evals + "    baseline: weak\n" + rule  # the same rule, a weak old baseline
    run = await run_action(tmp_path, urls, eval_ids="", config=head)
    assert run.code == 1, run.err  # bus 0.4 against the base's good (0.85), not weak (0.35)
    document = json.loads((run.workspace / run.outputs["json-path"]).read_text())
    assert document["evals"][0]["baseline"]["id"] == "good"
    for text in (run.summary, our_comments(github)[0].body):
        assert (
            "This pull request changes 1 verdict setting; the change takes effect after merge:"
            in text
        )
        assert (
            "- changed: `baseline of detector: good` → `baseline of detector: weak` "
            "(`.github/eval-gate.yml:6:5`)"
        ) in text
    assert "::notice title=eval-gate%3A setting changed,file=.github/eval-gate.yml,line=6::" in (
        run.out
    )
    assert github.violations == []


async def test_a_pull_request_cannot_turn_require_same_version_off(
    tmp_path, urls, github, roboflow
):
    # The candidate's dataset version has no other evaluation; the project has a weak one.
    roboflow.add_eval(
        "cand",
        model_id="m3",
        version_id="v2",
        created_at="2026-01-10T00:00:00Z",
        map_results=detection_results({"car": 0.9, "bus": 0.4}),
    )
    roboflow.add_eval(
        "elsewhere",
        model_id="m1",
        version_id="v1",
        created_at="2026-01-08T00:00:00Z",
        map_results=detection_results({"car": 0.9, "bus": 0.4}),
    )
    evals = "version: 1\nworkspace: ws\nevals:\n  - {id: cand, baseline: auto}\n"
    rules = "rules:\n  - metric: map50\n    classes: '*'\n    max_drop: 0.1\n    if_missing: warn\n"
    github.add_file(REPO, CONFIG_PATH, "require_same_version: true\n" + evals + rules, ref=BASE_SHA)
    head = "require_same_version: false\n" + evals + rules
    run = await run_action(tmp_path, urls, eval_ids="", config=head)
    assert run.code == 0, run.err
    assert run.outputs["verdict"] == "warn"  # no baseline on v2: not the other test set's
    assert "require_same_version" in run.summary
    assert (
        "- changed: `require_same_version: true` → `require_same_version: false` "
        "(`.github/eval-gate.yml:1:1`)"
    ) in run.summary
    document = json.loads((run.workspace / run.outputs["json-path"]).read_text())
    assert document["evals"][0]["baseline"] is None


# --- baseline: base ---------------------------------------------------------------------------

REGRESSION = """\
rules:
  - metric: map50
    classes: "*"
    max_drop: 0.1
"""


def named_evals(*items: str) -> str:
    return "version: 1\nworkspace: ws\nevals:\n" + "".join(f"  - {i}\n" for i in items)


async def test_baseline_base_compares_with_the_eval_the_base_config_names_alike(
    tmp_path, urls, github
):
    # The base's config says `baseline: base` too: an eval's baseline is the base's to set.
    base = named_evals("{id: good, name: detector, baseline: base}") + REGRESSION
    head = named_evals("{id: bad, name: detector, baseline: base}") + REGRESSION
    github.add_file(REPO, CONFIG_PATH, base, ref=BASE_SHA)
    run = await run_action(tmp_path, urls, eval_ids="", config=head)
    assert run.code == 1, run.err  # bus 0.4 against the shipped 0.85
    document = json.loads((run.workspace / run.outputs["json-path"]).read_text())
    (ev,) = document["evals"]
    assert ev["baseline"]["id"] == "good"
    assert ev["baseline"]["chosen"] == "base (the base branch's config names it)"
    shown = r"`good` (base \(the base branch's config names it\))"  # Markdown-escaped
    assert shown in run.summary
    assert shown in our_comments(github)[0].body
    assert github.violations == []


async def test_baseline_base_without_that_name_in_the_base_follows_if_missing(
    tmp_path, urls, github
):
    rules = REGRESSION + "    if_missing: warn\n"
    github.add_file(REPO, CONFIG_PATH, named_evals("{id: good, name: other}") + rules, ref=BASE_SHA)
    head = named_evals("{id: bad, name: detector, baseline: base}") + rules
    run = await run_action(tmp_path, urls, eval_ids="", config=head)
    assert run.code == 0, run.err
    assert run.outputs["verdict"] == "warn"
    assert "no eval named detector in the base branch's config" in run.summary
    # With if_missing: fail (the default) it is a config error that says why.
    github.add_file(
        REPO, CONFIG_PATH, named_evals("{id: good, name: other}") + REGRESSION, ref=BASE_SHA
    )
    head = named_evals("{id: bad, name: detector, baseline: base}") + REGRESSION
    run = await run_action(tmp_path / "again", urls, eval_ids="", config=head)
    assert run.code == 2, run.err
    assert "no eval named detector in the base branch's config" in run.err


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"event": "push.json", "event_name": "push"}, "push is not a pull request"),
        ({"config_from": "workspace"}, "config-from is workspace"),
        ({}, "the base commit f95f852bd8fc has no .github/eval-gate.yml"),
    ],
)
async def test_baseline_base_with_no_base_config_has_no_baseline_and_says_why(
    tmp_path, urls, github, options, why
):
    rules = REGRESSION + "    if_missing: warn\n"
    head = named_evals("{id: bad, name: detector, baseline: base}") + rules
    run = await run_action(tmp_path, urls, eval_ids="", config=head, **options)
    assert run.code == 0, run.err
    assert run.outputs["verdict"] == "warn"
    assert f"no baseline for detector: {why}" in run.summary


# --- evaluations named by model or dataset version (inputs `models`, `versions`) ----------------


async def test_the_models_input_gates_the_newest_eval_of_that_model(tmp_path, urls, roboflow):
    bad = detection_results({"car": 0.9, "bus": 0.4})
    roboflow.add_eval(
        "det-old", model_id="det/3", created_at="2026-02-01T00:00:00Z", map_results=bad
    )
    roboflow.add_eval("det-new", model_id="det/3", created_at="2026-03-01T00:00:00Z")
    run = await run_action(tmp_path, urls, eval_ids="", models="det/3", config_from="workspace")
    assert run.code == 0, run.err
    assert run.outputs["verdict"] == "pass"
    data = json.loads((run.workspace / run.outputs["json-path"]).read_text())
    assert [ev["id"] for ev in data["evals"]] == ["det-new"]
    assert roboflow.count("list") >= 1


async def test_the_versions_input_reports_a_failed_evaluation_as_its_own_outcome(
    tmp_path, urls, roboflow
):
    roboflow.add_eval("v-failed", version_id="proj/7", status="failed")
    run = await run_action(tmp_path, urls, eval_ids="", versions="proj/7", config_from="workspace")
    assert run.code == 3
    assert run.outputs["verdict"] == "error"
    assert "failed" in run.err and "proj/7" in run.err


async def test_a_model_whose_eval_never_appears_is_exit_3_saying_what_was_awaited(
    tmp_path, urls, roboflow
):
    run = await run_action(
        tmp_path, urls, eval_ids="", models="det/99", wait="1", config_from="workspace"
    )
    assert run.code == 3
    assert "det/99" in run.err and "appeared" in run.err
