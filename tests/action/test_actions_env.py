"""The Actions runner adapter (gate.action.event, .commands, .runner): events, workflow commands,
outputs, summary."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gate.action.annotations import MAX_ANNOTATIONS, annotate_documented_checks
from gate.action.commands import escape_data, escape_property, workflow_command
from gate.action.event import EventContext, parse_event, read_event
from gate.action.runner import OUTPUT_NAMES, ActionsIO
from gate.report.render import SUMMARY_MAX_BYTES
from tests.paths import EVENTS
from tests.runner_files import parse_runner_output_file

PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
RUN_HEAD = "3484a3fb816e0859fd6e1cea078d76385ff50625"
ENV_SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
MiB = 1024 * 1024


def runner_env(**extra: str) -> dict[str, str]:
    env = {
        "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "1234567",
        "GITHUB_SHA": ENV_SHA,
    }
    env.update(extra)
    return env


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


# --- a port of the runner's GITHUB_OUTPUT parser (actions/runner FileCommandManager) ----------


def test_the_runner_parser_port_reads_what_actions_core_writes():
    # @actions/core's format, written by hand: the parser port itself must be right.
    text = "a<<ghadelimiter_1\none\ntwo\nghadelimiter_1\nb=plain\nc<<X\n\nX\n"
    assert parse_runner_output_file(text) == {"a": "one\ntwo", "b": "plain", "c": ""}


# --- events --------------------------------------------------------------------------------

BASE = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"  # pull_request.base.sha in the samples

# Every file in tests/events must be listed here: (event name, PR number, sha, note fragment).
EVENT_FILES = {
    "pull_request.opened.json": ("pull_request", 2, PR_HEAD, None),
    "pull_request.synchronize.json": ("pull_request", 2, PR_HEAD, None),
    "push.json": ("push", None, ENV_SHA, "push events have no pull request to comment on"),
    "workflow_dispatch.json": (
        "workflow_dispatch",
        None,
        ENV_SHA,
        "workflow_dispatch events have no pull request to comment on",
    ),
    "workflow_run.completed.with-pull-requests.json": ("workflow_run", 2, RUN_HEAD, None),
}


def test_every_event_file_is_covered():
    assert {p.name for p in EVENTS.glob("*.json")} == set(EVENT_FILES)
    assert (EVENTS / "LICENSE").is_file()


@pytest.mark.parametrize("filename", sorted(EVENT_FILES))
def test_read_event_on_each_real_payload(filename):
    name, number, sha, note = EVENT_FILES[filename]
    env = runner_env(GITHUB_EVENT_NAME=name, GITHUB_EVENT_PATH=str(EVENTS / filename))
    context = read_event(env)
    assert context == EventContext(
        event_name=name,
        repository="Codertocat/Hello-World",
        pr_number=number,
        sha=sha,
        run_url="https://github.com/Codertocat/Hello-World/actions/runs/1234567",
        note=note,
        base_sha=BASE if number is not None else None,
        is_pull_request=number is not None,
        run_key="1234567/1/",
    )


def test_pull_request_uses_the_head_sha_not_the_merge_sha():
    # GITHUB_SHA is the merge commit for pull_request: a status there is invisible on the PR.
    context = parse_event("pull_request", load("pull_request.opened.json"), runner_env())
    assert context.sha == PR_HEAD != ENV_SHA


def test_pull_request_target_reads_the_same_payload():
    context = parse_event("pull_request_target", load("pull_request.synchronize.json"), {})
    assert (context.pr_number, context.sha) == (2, PR_HEAD)
    assert context.repository == "Codertocat/Hello-World"  # from the payload: no env
    assert context.run_url is None  # no GITHUB_RUN_ID


def test_pull_request_without_head_sha_gives_no_sha_rather_than_the_merge_sha():
    payload = load("pull_request.opened.json")
    del payload["pull_request"]["head"]
    context = parse_event("pull_request", payload, runner_env())
    assert (context.pr_number, context.sha) == (2, None)


def test_repository_from_env_wins_over_the_payload():
    payload = load("workflow_dispatch.json")  # repository octo-org/octo-repo
    assert parse_event("workflow_dispatch", payload, {}).repository == "octo-org/octo-repo"
    context = parse_event("workflow_dispatch", payload, runner_env())
    assert context.repository == "Codertocat/Hello-World"


def test_push_without_github_sha_falls_back_to_after_but_never_the_zero_sha():
    payload = load("push.json")
    assert payload["after"] == "0" * 40  # a deleted tag
    assert parse_event("push", payload, {}).sha is None
    payload["after"] = RUN_HEAD
    assert parse_event("push", payload, {}).sha == RUN_HEAD
    assert parse_event("push", payload, runner_env()).sha == ENV_SHA


def test_workflow_run_takes_the_pr_and_the_run_head_sha():
    context = parse_event(
        "workflow_run", load("workflow_run.completed.with-pull-requests.json"), runner_env()
    )
    assert (context.pr_number, context.sha, context.note) == (2, RUN_HEAD, None)


def test_workflow_run_from_a_fork_has_no_pr_and_says_why():
    payload = load("workflow_run.completed.with-pull-requests.json")
    payload["workflow_run"]["pull_requests"] = []
    context = parse_event("workflow_run", payload, runner_env())
    assert context.pr_number is None
    assert context.sha == RUN_HEAD  # the lead looks the PR up by this commit
    assert context.note is not None and "fork" in context.note


def test_base_commit_of_pull_request_events():
    for event in ("pull_request", "pull_request_target"):
        context = parse_event(event, load("pull_request.opened.json"), runner_env())
        assert (context.base_sha, context.is_pull_request) == (BASE, True)
    payload = load("workflow_run.completed.with-pull-requests.json")
    run = parse_event("workflow_run", payload, runner_env())
    assert (run.base_sha, run.is_pull_request) == (BASE, True)


def test_a_workflow_run_from_a_fork_pull_request_is_a_pull_request_without_its_base():
    payload = load("workflow_run.completed.with-pull-requests.json")
    payload["workflow_run"]["pull_requests"] = []
    payload["workflow_run"]["event"] = "pull_request"
    context = parse_event("workflow_run", payload, runner_env())
    assert (context.pr_number, context.base_sha, context.is_pull_request) == (None, None, True)
    payload["workflow_run"]["event"] = "push"  # a push's workflow_run: no pull request at all
    context = parse_event("workflow_run", payload, runner_env())
    assert context.is_pull_request is False


def test_push_and_dispatch_are_not_pull_requests():
    for name, file in (("push", "push.json"), ("workflow_dispatch", "workflow_dispatch.json")):
        context = parse_event(name, load(file), runner_env())
        assert (context.base_sha, context.is_pull_request) == (None, False)


def test_workflow_run_ignores_pull_requests_of_other_repositories():
    payload = load("workflow_run.completed.with-pull-requests.json")
    # The sample's PR has its base in Codertocat/Hello-World: in another repository the
    # same number is a different pull request, so it must not be commented on.
    context = parse_event("workflow_run", payload, runner_env(GITHUB_REPOSITORY="octo-org/octo"))
    assert context.pr_number is None
    assert context.note is not None and "other repositories" in context.note
    mine = json.loads(json.dumps(payload["workflow_run"]["pull_requests"][0]))
    mine["number"] = 7
    mine["base"]["repo"]["url"] = "https://api.github.com/repos/octo-org/octo"
    payload["workflow_run"]["pull_requests"].append(mine)
    context = parse_event("workflow_run", payload, runner_env(GITHUB_REPOSITORY="octo-org/octo"))
    assert context.pr_number == 7


def test_workflow_run_entry_without_base_is_accepted():
    payload = {"workflow_run": {"head_sha": RUN_HEAD, "pull_requests": [{"number": 9}]}}
    assert parse_event("workflow_run", payload, runner_env()).pr_number == 9


def test_issue_comment_on_a_pull_request_and_on_an_issue():
    on_pr = {"issue": {"number": 5, "pull_request": {"url": "https://x"}}}
    context = parse_event("issue_comment", on_pr, runner_env())
    assert (context.pr_number, context.sha, context.note) == (5, None, None)
    on_issue = {"issue": {"number": 5}}
    context = parse_event("issue_comment", on_issue, runner_env())
    assert context.pr_number is None
    assert context.note is not None and "issue" in context.note


def test_merge_group_uses_its_head_sha():
    payload = {"merge_group": {"head_sha": RUN_HEAD, "head_ref": "refs/heads/gh-readonly-queue"}}
    context = parse_event("merge_group", payload, runner_env())
    assert (context.pr_number, context.sha) == (None, RUN_HEAD)
    assert context.note == "merge_group events have no pull request to comment on"


@pytest.mark.parametrize("name", ["schedule", "workflow_dispatch", "release", "anything_new"])
def test_events_without_a_pull_request(name):
    context = parse_event(name, {"schedule": "*/5 * * * *"}, runner_env())
    assert context.pr_number is None
    assert context.sha == ENV_SHA
    assert context.note == f"{name} events have no pull request to comment on"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"pull_request": "nope"},
        {"pull_request": {"number": True, "head": {"sha": 5}}},
        {"pull_request": {"number": -3, "head": "x"}},
        {"pull_request": {"number": "2", "head": {"sha": "not-a-sha"}}},
        {"pull_request": {"number": 2.0}},
        {"number": None, "repository": ["x"]},
    ],
)
def test_garbage_pull_request_payloads_give_no_pr_and_never_raise(payload):
    context = parse_event("pull_request", payload, {})
    assert (context.pr_number, context.sha, context.repository) == (None, None, None)
    assert context.note == "the pull_request event payload names no pull request"


@pytest.mark.parametrize(
    "payload",
    [
        {"workflow_run": None},
        {"workflow_run": {"pull_requests": "x", "head_sha": None}},
        {"workflow_run": {"pull_requests": [None, 3, {"number": "4"}], "head_sha": "abc"}},
    ],
)
def test_garbage_workflow_run_payloads(payload):
    context = parse_event("workflow_run", payload, {})
    assert (context.pr_number, context.sha) == (None, None)
    assert context.note


def test_sha_is_normalised_and_sha256_accepted():
    payload = {"pull_request": {"number": 1, "head": {"sha": PR_HEAD.upper()}}}
    assert parse_event("pull_request", payload, {}).sha == PR_HEAD
    long_sha = "ab" * 32
    payload = {"pull_request": {"number": 1, "head": {"sha": long_sha}}}
    assert parse_event("pull_request", payload, {}).sha == long_sha


def test_bad_repository_names_are_refused():
    for bad in ("", "noslash", "a/b/c", "a/b c", "../x"):
        context = parse_event(
            "push", {"repository": {"full_name": bad}}, {"GITHUB_REPOSITORY": bad}
        )
        assert context.repository is None, bad
        assert context.run_url is None


def test_run_url_on_enterprise_server_and_without_run_id():
    env = runner_env(GITHUB_SERVER_URL="https://ghe.example.com/", GITHUB_RUN_ID="42")
    context = parse_event("push", {}, env)
    assert context.run_url == "https://ghe.example.com/Codertocat/Hello-World/actions/runs/42"
    env = runner_env(GITHUB_SERVER_URL="")
    assert parse_event("push", {}, env).run_url == (
        "https://github.com/Codertocat/Hello-World/actions/runs/1234567"
    )
    assert parse_event("push", {}, runner_env(GITHUB_RUN_ID="12; rm")).run_url is None
    assert parse_event("push", {}, runner_env(GITHUB_SERVER_URL="javascript:x")).run_url is None


def test_read_event_without_event_path():
    context = read_event(runner_env(GITHUB_EVENT_NAME="pull_request"))
    assert context.pr_number is None
    assert context.note is not None
    assert context.note.startswith("GITHUB_EVENT_PATH is not set")
    assert "names no pull request" in context.note


def test_read_event_without_event_name():
    context = read_event({"GITHUB_EVENT_PATH": str(EVENTS / "push.json")})
    assert context.event_name == "unknown"
    assert context.note == "unknown events have no pull request to comment on"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe\x00garbage", "is not valid JSON"),
        (b"[1, 2]", "does not hold a JSON object"),
        (b"null", "does not hold a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON"),
        (b"", "is not valid JSON"),
    ],
)
def test_read_event_with_a_bad_file(tmp_path, content, fragment):
    path = tmp_path / "event.json"
    path.write_bytes(content)
    env = runner_env(GITHUB_EVENT_NAME="push", GITHUB_EVENT_PATH=str(path))
    context = read_event(env)
    assert context.sha == ENV_SHA  # the run goes on with what the environment says
    assert context.note is not None and fragment in context.note
    assert "push events have no pull request" in context.note


def test_read_event_with_a_missing_file_or_a_directory(tmp_path):
    for path in (tmp_path / "nope.json", tmp_path):
        env = runner_env(GITHUB_EVENT_NAME="pull_request", GITHUB_EVENT_PATH=str(path))
        context = read_event(env)
        assert context.pr_number is None
        assert context.note is not None and context.note.startswith("cannot read the event file")


# --- workflow commands ---------------------------------------------------------------------


def test_escape_data_like_actions_core():
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_data("%0A") == "%250A"  # already-escaped-looking text stays literal


def test_escape_property_like_actions_core_with_comma_as_2c():
    assert escape_property("a:b,c%d\ne\r") == "a%3Ab%2Cc%25d%0Ae%0D"
    assert escape_property(",") == "%2C"  # gidgethub wrote %3A here


def test_workflow_command_format():
    assert workflow_command("error", "boom") == "::error::boom"
    line = workflow_command("warning", "x\ny", title="T: a,b", file="a.py", line=3)
    assert line == "::warning title=T%3A a%2Cb,file=a.py,line=3::x%0Ay"
    assert workflow_command("notice", "m", title=None, file="") == "::notice::m"
    with pytest.raises(ValueError, match="command name"):
        workflow_command("error::x", "m")
    with pytest.raises(ValueError, match="property name"):
        workflow_command("error", "m", **{"ti tle": "x"})


def test_a_message_cannot_start_another_command():
    line = workflow_command("error", "bad\n::add-mask::x\r\n::set-env name=A::1")
    assert line == "::error::bad%0A::add-mask::x%0D%0A::set-env name=A::1"


def test_add_mask_comes_out_as_one_command_line():
    out = io.StringIO()
    actions = ActionsIO({}, out)
    actions.add_mask("s3cr%t")
    actions.add_mask("")
    actions.add_mask("two\nlines")
    assert out.getvalue().splitlines() == [
        "::add-mask::s3cr%25t",
        "::add-mask::two%0Alines",
        "::add-mask::two",
        "::add-mask::lines",
    ]


def test_annotations():
    out = io.StringIO()
    actions = ActionsIO({}, out)
    actions.annotate("error", "map50 0.61 < 0.70\nsee summary", title="eval-gate: rim [test]")
    actions.annotate("warning", "50% of classes")
    actions.annotate("notice", "n", title="t", file="cfg.yml", line=12)
    assert out.getvalue() == (
        "::error title=eval-gate%3A rim [test]::map50 0.61 < 0.70%0Asee summary\n"
        "::warning::50%25 of classes\n"
        "::notice title=t,file=cfg.yml,line=12::n\n"
    )
    with pytest.raises(ValueError, match="annotation level"):
        actions.annotate("fatal", "x")


def test_a_durable_gate_s_checks_are_annotated_from_its_document_whatever_its_shape():
    """The service's JSON is read defensively: only entries of the documented shape become
    annotations, a secret in their text is masked, and the levels are capped as in the step."""
    secret = "rf_SECRET_key_0123456789abcdef"
    good = {"status": "fail", "message": "m", "eval_label": "e", "split": "test", "class": None}
    checks = [
        good | {"rule_index": 1},
        good | {"rule_index": True, "message": f"key {secret}"},  # a bool is no index
        good | {"status": "warn", "class": "bus", "rule_index": 0},
        good | {"status": "pass"},
        good | {"message": 3},
        good | {"class": ["x"]},
        "not a check",
        None,
    ]
    out = io.StringIO()
    annotate_documented_checks(
        ActionsIO({}, out), checks, "cfg.yml", lambda i: [4, 7][i], (secret,)
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "::error title=eval-gate%3A e [test],file=cfg.yml,line=7::m"
    assert lines[1].startswith("::error title=eval-gate%3A e [test]::key ")
    assert secret[:8] not in lines[1]
    assert lines[2] == "::warning title=eval-gate%3A e [test] class bus,file=cfg.yml,line=4::m"
    assert len(lines) == 3
    for shape in (None, "checks", {"checks": []}, 7):
        quiet = io.StringIO()
        annotate_documented_checks(ActionsIO({}, quiet), shape, "cfg.yml", lambda i: None, ())
        assert quiet.getvalue() == ""
    many = io.StringIO()
    annotate_documented_checks(ActionsIO({}, many), [good] * 25, "cfg.yml", lambda i: None, ())
    capped = many.getvalue().splitlines()
    assert len(capped) == MAX_ANNOTATIONS
    assert capped[-1] == "::error title=eval-gate::16 more errors: see the job summary"


# --- outputs -------------------------------------------------------------------------------


def test_output_names_are_the_documented_ones():
    assert OUTPUT_NAMES == (
        "verdict",
        "passed",
        "failed-checks",
        "report-path",
        "json-path",
        "comment-url",
        "service-gate-id",
        "service-gate-url",
    )


def test_set_outputs_round_trips_through_the_runner_parser(tmp_path):
    path = tmp_path / "output"
    path.write_text("earlier=step\n", encoding="utf-8")  # another step's output stays
    values = {
        "verdict": "fail",
        "passed": "false",
        "failed-checks": "3",
        "report-path": ".eval-gate/x/report.md",
        "json-path": "",
        "comment-url": "https://github.com/o/r/pull/2#issuecomment-1",
        "multi": "line one\nline two\n\nline four\n",
        "crlf": "a\r\nb",
        "tricky": "x=1<<EOF\nEOF\nghadelimiter_\n%0A ünïcødé",
    }
    ActionsIO({"GITHUB_OUTPUT": str(path)}, io.StringIO()).set_outputs(values)
    text = path.read_bytes().decode("utf-8")  # as the runner reads it: no newline translation
    assert parse_runner_output_file(text) == {"earlier": "step", **values}
    delimiters = re.findall(r"^[\w-]+<<(.+)$", text, re.MULTILINE)
    assert len(delimiters) == len(values)
    assert all(re.fullmatch(r"ghadelimiter_[0-9a-f]{32}", d) for d in delimiters)


def test_set_outputs_makes_a_new_delimiter_when_the_value_contains_it(tmp_path):
    path = tmp_path / "output"
    tokens = iter(["aaaa", "aaaa", "bbbb"])
    actions = ActionsIO(
        {"GITHUB_OUTPUT": str(path)}, io.StringIO(), token_factory=lambda: next(tokens)
    )
    value = "before\nghadelimiter_aaaa\nafter"
    actions.set_outputs({"report": value})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("report<<ghadelimiter_bbbb\n")
    assert parse_runner_output_file(text) == {"report": value}


def test_set_outputs_gives_up_on_a_factory_that_always_collides(tmp_path):
    actions = ActionsIO(
        {"GITHUB_OUTPUT": str(tmp_path / "o")}, io.StringIO(), token_factory=lambda: "same"
    )
    with pytest.raises(RuntimeError, match="delimiter"):
        actions.set_outputs({"v": "ghadelimiter_same"})


@pytest.mark.parametrize("name", ["", "a b", "a=b", "a<<b", "1abc", "x\ny", "ä"])
def test_set_outputs_refuses_bad_names(tmp_path, name):
    path = tmp_path / "output"
    with pytest.raises(ValueError, match="output name"):
        ActionsIO({"GITHUB_OUTPUT": str(path)}, io.StringIO()).set_outputs({name: "v"})
    assert not path.exists()  # nothing half-written


def test_set_outputs_without_output_file_warns_and_goes_on():
    with capture_logs() as logs:
        ActionsIO({}, io.StringIO()).set_outputs({"verdict": "pass"})
    assert [e["event"] for e in logs] == ["actions.no_output_file"]
    assert logs[0]["log_level"] == "warning"


def test_set_outputs_to_an_unwritable_path_warns(tmp_path):
    with capture_logs() as logs:
        ActionsIO({"GITHUB_OUTPUT": str(tmp_path)}, io.StringIO()).set_outputs({"v": "x"})
    assert [e["event"] for e in logs] == ["actions.output_write_failed"]


def test_workspace(tmp_path):
    assert ActionsIO({"GITHUB_WORKSPACE": str(tmp_path)}, io.StringIO()).workspace == tmp_path
    assert ActionsIO({}, io.StringIO()).workspace == Path.cwd()


# --- the job summary -----------------------------------------------------------------------


def summary_io(path: Path, **kwargs) -> ActionsIO:
    return ActionsIO({"GITHUB_STEP_SUMMARY": str(path)}, io.StringIO(), **kwargs)


def big_report(size: int) -> str:
    """A report over `size` bytes: headings, a table, fenced blocks and <details> blocks."""
    parts = ["## eval-gate: ❌ fail\n\n| check | actual |\n| --- | --- |\n"]
    total = len(parts[0].encode())
    i = 0
    while total < size:
        chunk = f"| map50 class é{i} | 0.{i % 100:02d} |\n"
        if i % 500 == 0:
            chunk += "\n<details><summary>more</summary>\n\n```text\n"
            chunk += "".join(f"raw line {i}-{j}\n" for j in range(200))
            chunk += "```\n\n</details>\n\n"
        parts.append(chunk)
        total += len(chunk.encode())
        i += 1
    return "".join(parts)


def test_summary_is_appended(tmp_path):
    path = tmp_path / "summary.md"
    actions = summary_io(path)
    actions.append_summary("# one")
    actions.append_summary("two\n")
    assert path.read_text(encoding="utf-8") == "# one\ntwo\n"


def test_summary_after_text_without_a_final_newline(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("earlier", encoding="utf-8")
    summary_io(path).append_summary("# mine\n")
    assert path.read_text(encoding="utf-8") == "earlier\n# mine\n"


def test_summary_without_a_file_is_skipped(tmp_path):
    ActionsIO({"GITHUB_STEP_SUMMARY": " "}, io.StringIO()).append_summary("x")
    ActionsIO({}, io.StringIO()).append_summary("x")
    assert list(tmp_path.iterdir()) == []


def test_summary_to_an_unwritable_path_warns(tmp_path):
    with capture_logs() as logs:
        summary_io(tmp_path / "no" / "such" / "dir").append_summary("x")
    assert [e["event"] for e in logs] == ["actions.summary_write_failed"]


def test_a_summary_that_fits_exactly_is_not_shortened(tmp_path):
    path = tmp_path / "summary.md"
    text = "x" * (SUMMARY_MAX_BYTES - 1) + "\n"
    summary_io(path).append_summary(text)
    assert path.read_bytes() == text.encode()


def test_a_long_summary_is_cut_at_a_line_outside_blocks_with_a_note(tmp_path):
    path = tmp_path / "summary.md"
    report = big_report(3 * MiB)
    with capture_logs() as logs:
        summary_io(path).append_summary(report, full_report_path=".eval-gate/g/report.md")
    data = path.read_bytes()
    assert len(data) <= SUMMARY_MAX_BYTES
    assert len(data) > SUMMARY_MAX_BYTES - 20_000  # not cut needlessly short
    text = data.decode("utf-8")  # never cut inside a character
    note = "\n…summary truncated: the full report is in `.eval-gate/g/report.md`\n"
    assert text.endswith(note)
    kept = text[: -len(note)]
    assert report.startswith(kept)
    assert kept.endswith("\n")  # a whole line
    assert kept.count("```") % 2 == 0
    assert kept.count("<details>") == kept.count("</details>")
    assert [e["event"] for e in logs] == ["actions.summary_truncated"]


def test_the_existing_summary_counts_towards_the_limit(tmp_path):
    path = tmp_path / "summary.md"
    path.write_bytes(b"a" * 1000 + b"\n")
    actions = summary_io(path)
    actions.append_summary(big_report(2 * MiB))
    assert SUMMARY_MAX_BYTES - 20_000 < path.stat().st_size <= SUMMARY_MAX_BYTES
    actions.append_summary("# one more\n" * 10)
    assert path.stat().st_size <= SUMMARY_MAX_BYTES


def test_a_full_summary_gets_nothing_more(tmp_path):
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (SUMMARY_MAX_BYTES - 10) + b"\n")
    before = path.read_bytes()
    summary_io(path).append_summary("# too late\n" * 100, full_report_path="r.md")
    assert path.read_bytes() == before  # not even the note fits


def test_summary_note_without_a_path(tmp_path):
    path = tmp_path / "summary.md"
    summary_io(path, summary_limit=200).append_summary("line\n" * 100)
    text = path.read_text(encoding="utf-8")
    assert text.endswith(
        "\n…summary truncated: the full report did not fit in the 1 MiB job summary\n"
    )
    assert len(text.encode()) <= 200
    assert text.startswith("line\nline\n")


def test_multibyte_text_is_measured_in_bytes(tmp_path):
    path = tmp_path / "summary.md"
    line = "é" * 99 + "\n"  # 199 bytes, 100 characters
    summary_io(path, summary_limit=1000).append_summary(line * 10, full_report_path="r")
    data = path.read_bytes()
    assert len(data) <= 1000
    text = data.decode("utf-8")
    assert text.startswith(line * 4)
    assert not text.startswith(line * 5)


def test_lone_surrogates_do_not_break_the_summary(tmp_path):
    path = tmp_path / "summary.md"
    summary_io(path).append_summary("bad \ud800 text\n")
    assert path.read_text(encoding="utf-8") == "bad ? text\n"


# --- handing the workspace back to its owner -----------------------------------------------

RUNNER = (4321, 4322)  # uid, gid of "the runner's user" in these tests
as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="changing a file's owner needs root (the Action runs as root)"
)


def owner(path: Path) -> tuple[int, int]:
    info = path.lstat()
    return info.st_uid, info.st_gid


def runner_workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    os.chown(workspace, *RUNNER)
    return workspace


def write_report(workspace: Path, gate_id: str = "g") -> list[str]:
    folder = workspace / ".eval-gate" / gate_id
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("report.md", "report.json"):
        (folder / name).write_text("x")
    return [f".eval-gate/{gate_id}/report.md", f".eval-gate/{gate_id}/report.json"]


@as_root
def test_hand_over_gives_the_report_and_its_folders_to_the_workspace_owner(tmp_path):
    workspace = runner_workspace(tmp_path)
    actions = ActionsIO({"GITHUB_WORKSPACE": str(workspace)}, io.StringIO())
    written = write_report(workspace)
    assert owner(workspace / ".eval-gate/g/report.md") == (0, 0)
    changed = actions.hand_over(written)
    for path in (".eval-gate", ".eval-gate/g", *written):
        assert owner(workspace / path) == RUNNER, path
    assert len(changed) == 4
    assert actions.hand_over(written) == []  # nothing left to change


@as_root
def test_hand_over_leaves_other_owners_and_unnamed_files_alone(tmp_path):
    workspace = runner_workspace(tmp_path)
    (workspace / ".eval-gate").mkdir()
    os.chown(workspace / ".eval-gate", 555, 556)  # someone else's folder
    (workspace / "root-file").write_text("not the Action's")
    actions = ActionsIO({"GITHUB_WORKSPACE": str(workspace)}, io.StringIO())
    written = write_report(workspace)
    actions.hand_over(written)
    assert owner(workspace / ".eval-gate") == (555, 556)
    assert owner(workspace / ".eval-gate/g") == RUNNER
    assert owner(workspace / "root-file") == (0, 0)


@as_root
def test_hand_over_never_follows_a_link_or_leaves_the_workspace(tmp_path):
    workspace = runner_workspace(tmp_path)
    outside = tmp_path / "outside"
    (outside / "g").mkdir(parents=True)
    (outside / "g" / "report.md").write_text("x")
    (workspace / ".eval-gate").symlink_to(outside)  # planted by the repository
    (tmp_path / "escape.md").write_text("x")
    actions = ActionsIO({"GITHUB_WORKSPACE": str(workspace)}, io.StringIO())
    assert actions.hand_over([".eval-gate/g/report.md", "../escape.md", "/etc/hostname"]) == []
    assert owner(outside / "g" / "report.md") == (0, 0)
    assert owner(outside) == (0, 0)
    assert owner(workspace / ".eval-gate") == (0, 0)  # the link itself
    assert owner(tmp_path / "escape.md") == (0, 0)


@as_root
def test_hand_over_gives_runner_files_this_run_created_to_their_folders_owner(tmp_path):
    commands = tmp_path / "file_commands"
    commands.mkdir()
    os.chown(commands, *RUNNER)
    existing = commands / "summary.md"
    existing.write_text("")  # the runner's (here root's): appended to, never changed
    created = commands / "output.txt"
    environ = {
        "GITHUB_WORKSPACE": str(runner_workspace(tmp_path)),
        "GITHUB_OUTPUT": str(created),
        "GITHUB_STEP_SUMMARY": str(existing),
    }
    actions = ActionsIO(environ, io.StringIO())
    actions.set_outputs({"verdict": "pass"})
    actions.append_summary("# hi")
    assert owner(created) == (0, 0)
    assert actions.hand_over() == [created]
    assert owner(created) == RUNNER
    assert owner(existing) == (0, 0)


def test_hand_over_does_nothing_unless_root(tmp_path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    actions = ActionsIO({"GITHUB_WORKSPACE": str(workspace)}, io.StringIO(), euid=1001)
    written = write_report(workspace)
    assert actions.hand_over(written) == []


@as_root
def test_hand_over_failure_is_one_warning(tmp_path, monkeypatch):
    workspace = runner_workspace(tmp_path)
    actions = ActionsIO({"GITHUB_WORKSPACE": str(workspace)}, io.StringIO())
    written = write_report(workspace)

    def refuse(*_args, **_kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    with capture_logs() as logs:
        assert actions.hand_over(written) == []
    (warning,) = [e for e in logs if e["event"] == "actions.chown_failed"]
    assert warning["count"] == 4
    assert "Operation not permitted" in warning["first"]


def test_read_event_reads_at_most_25_mib(tmp_path):
    """/dev/zero as the event file: refused after 25 MiB, not read until memory runs out."""
    env = runner_env(GITHUB_EVENT_NAME="push", GITHUB_EVENT_PATH="/dev/zero")
    context = read_event(env)
    assert context.sha == ENV_SHA
    assert context.note is not None and "larger than 25 MiB" in context.note
