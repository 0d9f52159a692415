"""The Action with `service-url`, in process (`gate.action.main.run`), against a real
`eval-gate serve` app on 127.0.0.1 (its worker on the real clock, a SQLite file) and the Roboflow
and GitHub stand-ins: the step submits a durable gate and leaves, or waits for its verdict; the
service posts the check run and the comment with its own credentials."""

from __future__ import annotations

import io
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog

from gate.action.main import run
from gate.cli.main import run as cli_run
from gate.server.app import create_app
from gate.server.settings import ServerSettings
from gate.sleeping import sleepless
from gate.store.settings import DatabaseSettings, parse_database_url
from tests.action.test_action_process import BASE_SHA, CONFIG, GH_TOKEN, PR, PR_HEAD, REPO
from tests.github_standin import GitHubStandIn
from tests.paths import EVENTS
from tests.roboflow_standin import RoboflowStandIn, detection_results
from tests.runner_files import parse_runner_output_file
from tests.test_secret_fragments import serving

SERVER_KEY = "rf_SERVICE_secret_key_0123456789"
TOKEN = "svc-SECRET-token-abcdefghijklmnop"
GATE_NAME = "github-eval-gate-yml"  # derived from .github/eval-gate.yml
CONTEXT = f"eval-gate/{GATE_NAME}"
LOOSE = "version: 1\nworkspace: ws\nrules:\n  - map50 >= 0.1\n"  # the pull request's own rules
GATE_ID = re.compile(r"gt_[0-7][0-9A-HJKMNP-TV-Z]{25}")


@dataclass
class Ran:
    code: int
    out: str
    err: str
    outputs: dict[str, str]
    summary: str
    workspace: Path


@dataclass
class Service:
    url: str
    github: GitHubStandIn
    tmp: Path

    def action(self, checkout: str = CONFIG, *, attempt: str = "1", **inputs: str) -> Ran:
        """The Action on the pull request, in this process, as the runner starts it; the
        checkout's config is `checkout` (the base commit's is `CONFIG`)."""
        tmp = self.tmp / f"run-{len(list(self.tmp.glob('run-*')))}"
        workspace = tmp / "workspace"
        (workspace / ".github").mkdir(parents=True)
        (workspace / ".github/eval-gate.yml").write_text(checkout)
        output, summary = tmp / "output.txt", tmp / "summary.md"
        output.write_text("")
        summary.write_text("")
        environ = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(EVENTS / "pull_request.opened.json"),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.github_url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "1658821493",
            "GITHUB_RUN_ATTEMPT": attempt,
            "GITHUB_JOB": "submit",
            "GITHUB_SHA": PR_HEAD,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(workspace),
        }
        given = {
            "github-token": GH_TOKEN,
            "service-url": self.url,
            "service-token": TOKEN,
            "eval-ids": "bad",
            "comment": "update",
            "wait": "60",
        } | {name.replace("_", "-"): value for name, value in inputs.items()}
        environ |= {f"INPUT_{name.upper()}": value for name, value in given.items() if value}
        out, err = io.StringIO(), io.StringIO()
        handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            code = run(environ=environ, cwd=workspace, out=out, err=err)
        finally:
            structlog.reset_defaults()
            assert {s: signal.getsignal(s) for s in handlers} == handlers
        return Ran(
            code,
            out.getvalue(),
            err.getvalue(),
            parse_runner_output_file(output.read_text()),
            summary.read_text(),
            workspace,
        )

    def verdict(self, gate_id: str) -> str:
        """The gate's status line once finished (the command line waits for it)."""
        out, err = io.StringIO(), io.StringIO()
        cli_run(
            ["status", "--server", self.url, gate_id, "--wait", "60", "--poll-interval", "1", "-q"],
            environ={"EVAL_GATE_TOKEN": TOKEN},
            cwd=self.tmp,
            out=out,
            err=err,
        )
        structlog.reset_defaults()
        return out.getvalue()

    github_url: str = ""


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (TOKEN, SERVER_KEY, GH_TOKEN):
            for start in range(len(secret) - 7):
                assert secret[start : start + 8] not in text, (secret, text[-300:])


def without_masks(stdout: str) -> str:
    """The Action's stdout but its `::add-mask::` commands (which name each secret, as they
    must, for the runner to mask it)."""
    return "\n".join(line for line in stdout.splitlines() if not line.startswith("::add-mask::"))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    roboflow = RoboflowStandIn(api_key=SERVER_KEY, workspace="ws")
    roboflow.add_eval("bad", map_results=detection_results({"car": 0.9, "bus": 0.4}))
    roboflow.add_eval("good", map_results=detection_results({"car": 0.9, "bus": 0.85}))
    github = GitHubStandIn(token=GH_TOKEN)
    github.add_pull(REPO, PR, head_sha=PR_HEAD, base_sha=BASE_SHA)
    github.add_file(REPO, ".github/eval-gate.yml", CONFIG, ref=BASE_SHA)
    with serving(roboflow.app(), github.app()) as (rf_url, gh_url):
        settings = ServerSettings(
            tokens=(TOKEN,),
            roboflow_api_key=SERVER_KEY,
            api_url=rf_url,
            github_api_url=gh_url,
            github_token=GH_TOKEN,
            request_deadline=10.0,
            grace=2.0,
            poll_interval=1.0,
            database=DatabaseSettings(url=parse_database_url(f"sqlite:///{tmp_path}/gates.db")),
        )
        with serving(create_app(settings)) as (url,):
            yield Service(url, github, tmp_path, github_url=gh_url)


def test_the_step_submits_and_leaves_and_the_service_reports_the_verdict(service):
    ran = service.action()
    assert ran.code == 0, ran.err
    gate_id = ran.outputs["service-gate-id"]
    assert GATE_ID.fullmatch(gate_id)
    assert ran.outputs["service-gate-url"] == f"{service.url}/v1/gates/{gate_id}"
    assert (ran.outputs["verdict"], ran.outputs["passed"]) == ("pending", "false")
    assert ran.outputs["report-path"] == ""
    assert f"`{gate_id}`" in ran.summary
    assert f"the check run **{CONTEXT}** on commit `{PR_HEAD[:12]}`" in ran.summary
    assert f"and the pull request's comment (#{PR})." in ran.summary
    assert not (ran.workspace / ".eval-gate").exists()  # nothing gated here
    # The service finishes it, and reports with its own credentials.
    assert service.verdict(gate_id).startswith(f"gate {gate_id}: done (fail, exit code 1)")
    (check_run,) = service.github.check_runs.values()
    assert (check_run.external_id, check_run.name, check_run.head_sha) == (
        gate_id,
        CONTEXT,
        PR_HEAD,
    )
    assert check_run.conclusion == "failure"
    (comment,) = service.github.comments_on(REPO, PR)
    assert comment.body.startswith(f"<!-- eval-gate:{GATE_NAME} -->")
    assert_no_secret(without_masks(ran.out), ran.err, ran.summary, repr(ran.outputs))


def test_the_pull_request_s_own_looser_rules_do_not_judge_it(service):
    """The base commit's rules are sent (map50 >= 0.8 on every class), not the checkout's."""
    ran = service.action(LOOSE)
    assert ran.code == 0, ran.err
    line = service.verdict(ran.outputs["service-gate-id"])
    assert "done (fail, exit code 1)" in line
    loose_on_push = service.action(LOOSE, config_from="workspace", attempt="2")
    assert "done (pass, exit code 0)" in service.verdict(loose_on_push.outputs["service-gate-id"])


def test_service_wait_ends_as_a_gate_in_the_step_does(service, monkeypatch):
    monkeypatch.setattr("gate.action.service.WAIT_INTERVAL", 1.0)  # the client's floor
    ran = service.action(service_wait="true")
    assert ran.code == 1, ran.err
    assert (ran.outputs["verdict"], ran.outputs["passed"]) == ("fail", "false")
    assert int(ran.outputs["failed-checks"]) >= 1
    report = ran.workspace / ran.outputs["report-path"]
    assert "Failed" in report.read_text()
    assert '"verdict": "fail"' in (ran.workspace / ran.outputs["json-path"]).read_text()
    assert "Failed" in ran.summary
    assert GATE_ID.fullmatch(ran.outputs["service-gate-id"])
    passed = service.action(service_wait="true", eval_ids="good", attempt="2")
    assert passed.code == 0, passed.err
    assert (passed.outputs["verdict"], passed.outputs["passed"]) == ("pass", "true")
    assert_no_secret(without_masks(ran.out), ran.err, ran.summary, report.read_text())


def test_service_wait_puts_each_failing_check_on_its_rule_s_line_in_the_checkout(
    service, monkeypatch
):
    # The checkout's file has a line more at the top than the base's: the base's rules judge,
    # and their checks sit on the lines where the pull request's file writes the same rules.
    monkeypatch.setattr("gate.action.service.WAIT_INTERVAL", 1.0)
    ran = service.action("# owned by the ML platform team\n" + CONFIG, service_wait="true")
    assert ran.code == 1, ran.err
    errors = [line for line in ran.out.splitlines() if line.startswith("::error")]
    where = "title=eval-gate%3A bad [test] class bus,file=.github/eval-gate.yml,line=6"
    assert errors == [f"::error {where}::map50 = 0.4000 < min 0.8000"]
    assert not [line for line in ran.out.splitlines() if line.startswith("::warning")]


def test_the_same_job_run_resubmits_the_same_gate_and_a_re_run_a_new_one(service):
    first = service.action()
    again = service.action()
    rerun = service.action(attempt="2")
    assert first.outputs["service-gate-id"] == again.outputs["service-gate-id"]
    assert rerun.outputs["service-gate-id"] != first.outputs["service-gate-id"]


def test_a_bad_service_token_is_one_error_exit_3_and_never_shown(service):
    wrong = "svc-WRONG-token-zyxwvutsrqponmlk"
    ran = service.action(service_token=wrong)
    assert ran.code == 3
    errors = [line for line in ran.out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert "HTTP 403" in errors[0]
    assert "input service-token" in errors[0]
    assert (ran.outputs["verdict"], ran.outputs["service-gate-id"]) == ("error", "")
    for text in (without_masks(ran.out), ran.err, ran.summary):
        assert wrong[:8] not in text and wrong[8:16] not in text
    assert f"::add-mask::{wrong}" in ran.out  # masked before anything was printed


def test_a_service_that_is_down_is_exit_3(service, tmp_path):
    from aiohttp import web  # noqa: PLC0415

    with serving(web.Application()) as (url,):
        pass  # nothing listens there any more
    with sleepless():  # the retries' backoff
        ran = service.action(service_url=url)
    assert ran.code == 3
    assert "submitting the gate" in ran.summary
    assert "input service-url" in ran.summary


def test_baseline_base_is_refused_before_anything_is_sent(service):
    ran = service.action(baseline="base")
    assert ran.code == 2
    assert "baseline: base is not available with service-url" in ran.summary
    assert service.github.check_runs == {}


def test_api_key_is_not_needed_and_is_warned_about_when_given(service):
    ran = service.action(api_key="rf_UNUSED_key_0123456789")
    assert ran.code == 0, ran.err
    assert "::warning title=eval-gate::input api-key is not used with service-url" in ran.out
