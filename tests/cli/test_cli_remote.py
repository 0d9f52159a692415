"""`eval-gate submit` and `eval-gate status` in process (`gate.cli.main.run`) against a real
`eval-gate serve` app on 127.0.0.1 (its worker on the real clock, a SQLite file), itself against
the Roboflow and GitHub stand-ins; and one subprocess smoke test per command."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web

from gate.cli.main import run
from gate.core.errors import ExitCode
from gate.server.app import create_app
from gate.server.settings import ServerSettings
from gate.sleeping import sleepless
from gate.store.settings import DatabaseSettings, parse_database_url
from tests.cli_helpers import clean_env, run_cli
from tests.github_standin import GitHubStandIn
from tests.roboflow_standin import RoboflowStandIn, detection_results
from tests.test_secret_fragments import serving

KEY = "rf_SERVER_secret_key_0123456789"
TOKEN = "bearer-SECRET-token-abcdefghijklmnop"
GH_TOKEN = "ghs_GITHUB_secret_token_0123456789"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
REPO = "octo-org/octo-repo"
CONFIG = "version: 1\nworkspace: ws\nrules:\n  - map50 >= 0.5\n"
TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d")
GATE_LINE = re.compile(r"^submitted gate (gt_[0-9A-Z]{26}) \((queued|waiting|done)\)", re.MULTILINE)


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        """The command's own lines on stderr: the server, in this process, logs there too (its
        lines start with a timestamp)."""
        return [line for line in self.err.splitlines() if not TIMESTAMPED.match(line)]


@dataclass
class Service:
    url: str
    roboflow: RoboflowStandIn
    github: GitHubStandIn
    cwd: Path

    def cli(self, *argv: str, token: str | None = TOKEN, **env: str) -> Ran:
        environ = {"EVAL_GATE_TOKEN": token} if token is not None else {}
        out, err = io.StringIO(), io.StringIO()
        try:
            code = run(list(argv), environ=environ | env, cwd=self.cwd, out=out, err=err)
        finally:
            structlog.reset_defaults()
        return Ran(code, out.getvalue(), err.getvalue())

    def submit(self, *argv: str, **kwargs: Any) -> Ran:
        return self.cli("submit", "--server", self.url, *argv, **kwargs)

    def status(self, gate_id: str, *argv: str, **kwargs: Any) -> Ran:
        return self.cli("status", "--server", self.url, gate_id, *argv, **kwargs)


def gate_id_of(ran: Ran) -> str:
    found = GATE_LINE.search(ran.out)
    assert found is not None, (ran.code, ran.out, ran.err)
    return found.group(1)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (TOKEN, KEY, GH_TOKEN):
            for start in range(len(secret) - 7):
                assert secret[start : start + 8] not in text, (secret, text[-500:])


@pytest.fixture
def roboflow() -> RoboflowStandIn:
    standin = RoboflowStandIn(api_key=KEY, workspace="ws")
    standin.add_eval("good", map_results=detection_results({"car": 0.9, "bus": 0.8}))
    standin.add_eval("bad", map_results=detection_results({"car": 0.3, "bus": 0.2}, map50=0.25))
    standin.add_eval("running", status="running")
    return standin


@pytest.fixture
def github() -> GitHubStandIn:
    standin = GitHubStandIn(token=GH_TOKEN)
    standin.add_pull(REPO, 7, head_sha=SHA)
    return standin


@pytest.fixture
def service(roboflow, github, tmp_path: Path) -> Iterator[Service]:
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    with serving(roboflow.app(), github.app()) as (rf_url, gh_url):
        settings = ServerSettings(
            tokens=(TOKEN,),
            roboflow_api_key=KEY,
            api_url=rf_url,
            github_api_url=gh_url,
            github_token=GH_TOKEN,
            request_deadline=10.0,
            grace=2.0,
            poll_interval=1.0,
            database=DatabaseSettings(url=parse_database_url(f"sqlite:///{tmp_path}/gates.db")),
        )
        with serving(create_app(settings)) as (url,):
            yield Service(url, roboflow, github, tmp_path)


def test_submit_prints_the_id_and_url_and_status_waits_for_a_pass(service):
    submitted = service.submit("--eval", "good", "--repository", REPO, "--sha", SHA)
    assert submitted.code == 0, submitted.err
    gate_id = gate_id_of(submitted)
    assert f"url: {service.url}/v1/gates/{gate_id}\n" in submitted.out
    assert f"eval-gate status --server {service.url} {gate_id}" in submitted.out
    done = service.status(gate_id, "--wait", "60", "--poll-interval", "1")
    assert done.code == 0, done.err
    assert done.out.startswith(f"gate {gate_id}: done (pass, exit code 0)\n\n")
    assert "## ✅ eval-gate: **Passed**" in done.out  # the report follows
    (check_run,) = service.github.check_runs.values()
    assert check_run.external_id == gate_id
    assert check_run.conclusion == "success"
    assert_no_secret(submitted.out, submitted.err, done.out, done.err)


def test_a_failing_gate_exits_1_and_fail_on_never_was_decided_at_submit(service):
    failed = service.submit("--eval", "bad")
    never = service.submit("--eval", "bad", "--fail-on", "never")
    first = service.status(gate_id_of(failed), "--wait", "60", "--poll-interval", "1")
    second = service.status(gate_id_of(never), "--wait", "60", "--poll-interval", "1", "-q")
    assert (first.code, second.code) == (1, 0), (first.err, second.err)
    assert first.out.startswith(f"gate {gate_id_of(failed)}: done (fail, exit code 1)\n")
    assert second.out == f"gate {gate_id_of(never)}: done (fail, exit code 0)\n"  # --quiet


def test_json_forms_print_the_service_s_documents(service):
    submitted = service.submit("--eval", "good", "--json")
    document = json.loads(submitted.out)
    assert set(document) == {"id", "status", "url", "created"}
    assert document["created"] is True
    done = service.status(document["id"], "--wait", "60", "--poll-interval", "1", "--json")
    gate = json.loads(done.out)
    assert (done.code, gate["id"], gate["status"], gate["verdict"]) == (
        0,
        document["id"],
        "done",
        "pass",
    )


def test_the_same_idempotency_key_returns_the_same_gate_and_another_config_is_refused(service):
    key = ("--idempotency-key", "pipeline-42-gate")
    first = service.submit("--eval", "good", *key)
    again = service.submit("--eval", "good", *key)
    assert (first.code, again.code) == (0, 0)
    assert gate_id_of(first) == gate_id_of(again)
    assert "already submitted with this --idempotency-key" in again.out
    assert "already submitted" not in first.out
    other = service.submit("--eval", "bad", *key)
    assert other.code == ExitCode.USAGE
    assert other.out == ""
    (line,) = other.lines
    assert "HTTP 409 idempotency_conflict" in line
    assert gate_id_of(first) in other.err


def test_without_a_key_each_run_submits_a_new_gate(service):
    assert gate_id_of(service.submit("--eval", "good")) != gate_id_of(
        service.submit("--eval", "good")
    )


def test_a_gate_still_waiting_exits_4_with_what_it_waits_for(service):
    gate_id = gate_id_of(service.submit("--eval", "running"))
    with sleepless() as waits:  # the waits are skipped, and counted as waited
        waited = service.status(gate_id, "--wait", "30", "--poll-interval", "5")
    assert waited.code == ExitCode.PENDING == 4
    assert re.match(
        rf"gate {gate_id}: (queued|waiting).*; still not finished after waiting 30 s", waited.out
    )
    assert waits and all(w <= 5 for w in waits)
    assert sum(waits) == pytest.approx(30, abs=1)
    once = service.status(gate_id)
    assert once.code == 4
    assert "still not finished" not in once.out


def test_cancelled_timed_out_and_error_gates_have_codes_of_their_own(service):
    cancelled = gate_id_of(service.submit("--eval", "running"))
    timed_out = gate_id_of(service.submit("--eval", "running", "--max-wait", "0"))
    errored = gate_id_of(service.submit("--eval", "no-such-eval"))

    async def cancel() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.delete(
                f"{service.url}/v1/gates/{cancelled}",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as resp,
        ):
            assert resp.status == 200

    asyncio.run(cancel())
    codes = {
        gate_id: service.status(gate_id, "--wait", "60", "--poll-interval", "1")
        for gate_id in (cancelled, timed_out, errored)
    }
    assert codes[cancelled].code == ExitCode.CANCELLED == 6
    assert codes[cancelled].out.startswith(f"gate {cancelled}: cancelled")
    assert codes[timed_out].code == ExitCode.TIMED_OUT == 5, codes[timed_out].out
    assert codes[timed_out].out.startswith(f"gate {timed_out}: timed_out")
    assert codes[errored].code == ExitCode.GATE_ERROR == 7, codes[errored].out
    assert codes[errored].out.startswith(f"gate {errored}: error: ")
    assert "no-such-eval" in codes[errored].out


def test_a_bad_token_is_one_line_exit_3_that_never_shows_it(service):
    wrong = "wrong-SECRET-token-zyxwvutsrqponm"
    ran = service.submit("--eval", "good", token=wrong)
    assert ran.code == ExitCode.UNAVAILABLE
    assert ran.out == ""
    (line,) = ran.lines
    assert line.startswith("eval-gate: error: submitting the gate: HTTP 403 forbidden")
    assert "EVAL_GATE_TOKEN" in ran.err
    assert wrong[:8] not in ran.err
    missing = service.submit("--eval", "good", token=None)
    assert missing.code == 3
    (line,) = missing.lines
    assert "HTTP 401" in line
    assert "set EVAL_GATE_TOKEN" in line


def test_an_unknown_gate_and_a_malformed_id_are_usage_errors(service):
    unknown = service.status("gt_0" + "A" * 25)
    assert unknown.code == ExitCode.USAGE
    assert "HTTP 404 not_found" in unknown.err
    assert len(unknown.lines) == 1
    malformed = service.status("gt_nope")
    assert malformed.code == ExitCode.USAGE
    assert "is not a gate id" in malformed.err


def test_the_config_is_checked_here_first_located_in_its_file(service):
    (service.cwd / "bad.yml").write_text("version: 1\nrules:\n  - map5 >= 0.5\n")
    ran = service.submit("--config", "bad.yml", "--eval", "good")
    assert ran.code == ExitCode.USAGE
    assert "bad.yml:3:" in ran.err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--sha", SHA), "give --repository"),
        (("--repository", "not a repo"), "--repository must be owner/name"),
        (("--max-wait", "700000"), "--max-wait must be from 0 to 604,800"),
        (("--pull-number", "0"), "--pull-number must be at least 1"),
        (("--idempotency-key", "a\tb"), "printable ASCII"),
    ],
)
def test_bad_flags_are_one_line_exit_2(service, argv, says):
    ran = service.submit("--eval", "good", *argv)
    assert (ran.code, ran.out) == (ExitCode.USAGE, "")
    (line,) = ran.lines
    assert says in line


def test_a_server_that_is_down_is_one_line_exit_3(tmp_path):
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    with serving(web.Application()) as (url,):
        pass  # served, then stopped: nothing listens on its port now
    environ = {"EVAL_GATE_TOKEN": TOKEN}
    for argv in (
        ["submit", "--server", url, "--eval", "good"],
        ["status", "--server", url, "gt_0" + "A" * 25],
    ):
        out, err = io.StringIO(), io.StringIO()
        with sleepless():
            code = run(argv, environ=environ, cwd=tmp_path, out=out, err=err)
        structlog.reset_defaults()
        last = err.getvalue().strip().splitlines()[-1]
        assert code == ExitCode.UNAVAILABLE, err.getvalue()
        assert last.startswith("eval-gate: error: ")
        assert "connection refused" in last.lower() or "cannot connect" in last.lower(), last
        assert_no_secret(out.getvalue(), err.getvalue())


GATE_ID = "gt_0" + "B" * 25


def hostile_app(answer: Callable[[], web.Response]) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        del request
        return answer()  # a new one each time: the client retries some

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda: web.Response(body=b"x" * (9 * 1024 * 1024)), "larger than 8 MiB"),
        (lambda: web.Response(text="<html>login</html>", content_type="text/html"), "an HTML page"),
        (lambda: web.Response(text='{"id": 1}', content_type="application/json"), "'id' is number"),
        (
            lambda: web.json_response({"id": GATE_ID, "status": "done", "url": "http://x"}),
            "verdict",
        ),
        (
            lambda: web.json_response(
                {
                    "id": GATE_ID,
                    "status": "done",
                    "url": "http://x",
                    "verdict": "pass",
                    "exit_code": None,
                    "result": {"verdict": "pass"},
                }
            ),
            "exit code of 0 or 1",
        ),
        (lambda: web.Response(status=500, text=f"boom {TOKEN}"), "HTTP 500"),
    ],
)
def test_oversized_garbage_and_verdictless_answers_are_exit_3_never_a_pass(tmp_path, answer, says):
    with serving(hostile_app(answer)) as (url,):
        out, err = io.StringIO(), io.StringIO()
        with sleepless():
            code = run(
                ["status", "--server", url, GATE_ID],
                environ={"EVAL_GATE_TOKEN": TOKEN},
                cwd=tmp_path,
                out=out,
                err=err,
            )
        structlog.reset_defaults()
    assert code == ExitCode.UNAVAILABLE, err.getvalue()
    assert out.getvalue() == ""
    last = err.getvalue().strip().splitlines()[-1]
    assert says in last
    assert_no_secret(err.getvalue())


def test_a_server_echoing_the_token_never_gets_it_printed(tmp_path):
    async def echo(request: web.Request) -> web.Response:
        sent = request.headers.get("Authorization", "")
        return web.json_response(
            {"error": "invalid_request", "message": f"token {sent} and {sent[12:30]} refused"},
            status=400,
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    with serving(app) as (url,):
        out, err = io.StringIO(), io.StringIO()
        code = run(
            ["submit", "--server", url, "--eval", "good", "--log-level", "debug"],
            environ={"EVAL_GATE_TOKEN": TOKEN},
            cwd=tmp_path,
            out=out,
            err=err,
        )
        structlog.reset_defaults()
    assert code == ExitCode.USAGE
    assert "HTTP 400 invalid_request" in err.getvalue()
    assert_no_secret(out.getvalue(), err.getvalue())


def test_a_token_sent_over_plain_http_to_another_host_is_warned_about(tmp_path):
    (tmp_path / "eval-gate.yml").write_text(CONFIG)
    out, err = io.StringIO(), io.StringIO()
    with sleepless():
        run(
            ["status", "--server", "http://192.0.2.1:9", GATE_ID],
            environ={"EVAL_GATE_TOKEN": TOKEN},
            cwd=tmp_path,
            out=out,
            err=err,
        )
    structlog.reset_defaults()
    assert "eval-gate: warning: --server is plain http://" in err.getvalue()


# --------------------------------------------------------------------------- subprocess smoke


def test_submit_and_status_run_as_processes(service):
    env = clean_env(EVAL_GATE_TOKEN=TOKEN)
    submitted = run_cli(
        "submit", "--server", service.url, "--eval", "good", cwd=service.cwd, env=env
    )
    assert submitted.code == 0, submitted.err
    gate_id = gate_id_of(Ran(submitted.code, submitted.out, submitted.err))
    done = run_cli(
        "status",
        "--server",
        service.url,
        gate_id,
        "--wait",
        "60",
        "--poll-interval",
        "1",
        cwd=service.cwd,
        env=env,
    )
    assert done.code == 0, done.err
    assert done.out.startswith(f"gate {gate_id}: done (pass, exit code 0)")
    assert_no_secret(submitted.out, submitted.err, done.out, done.err)


def test_a_config_on_a_pipe_is_read_once(service):
    """`--config` naming a pipe is read once: checked and sent from the same bytes."""
    read, write = os.pipe()
    os.write(write, CONFIG.encode())
    os.close(write)
    try:
        ran = service.submit("--config", f"/dev/fd/{read}", "--eval", "good", "--json")
    finally:
        os.close(read)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["status"] in ("queued", "waiting", "done")
