"""Check runs: what is sent (pure), the client's two endpoints and the check run's life against
the GitHub stand-in on 127.0.0.1."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from gate.core.model import FailOn, Location, Severity
from gate.core.outcome import GateOutcome, Status, Verdict
from gate.github.api import (
    ANNOTATIONS_PER_REQUEST,
    CheckAnnotation,
    GitHubBadResponse,
    GitHubError,
    GitHubForbidden,
    GitHubUnprocessable,
    annotation_batches,
    check_run_path,
    check_runs_path,
    commit_check_runs_path,
    parse_check_run_id,
    parse_check_runs,
)
from gate.github.checks import (
    MAX_CHECK_ANNOTATIONS,
    check_annotations,
    check_run_conclusion,
    check_run_title,
    complete_check_run,
    left_out_note,
    start_check_run,
)
from gate.github.client import GitHubClient
from gate.github.connection import GitHubConnection
from gate.http.retry import RetryPolicy, sleepless
from tests.github_standin import (
    DEFAULT_SHA,
    GitHubStandIn,
    applied_then_hang,
    hang,
    leaks,
    not_accessible,
    ok,
    server_error,
)
from tests.report.test_report import make_check, make_eval

TOKEN = "ghs_Ch3cks/T0ken+x"
REPO = "octo-org/octo-repo"
CONFIG = ".github/eval-gate.yml"


def outcome_of(*statuses: Status) -> GateOutcome:
    checks = [
        make_check(
            status,
            rule_index=i % 3,
            class_name=f"class{i}",
            message=f"check {i} is {status}",
            location=Location("/abs/workspace/.github/eval-gate.yml", 10 + i % 3, 5),
        )
        for i, status in enumerate(statuses)
    ]
    return GateOutcome((make_eval(checks),))


# --- pure ------------------------------------------------------------------------------------


def test_check_run_paths_are_the_repository_s_and_refuse_a_bad_id():
    assert check_runs_path("octo/repo") == "/repos/octo/repo/check-runs"
    assert check_run_path("octo/repo", 42) == "/repos/octo/repo/check-runs/42"
    for bad in (0, -1, True):
        with pytest.raises(GitHubError, match="check run id"):
            check_run_path("octo/repo", bad)


def test_a_check_run_answer_without_a_positive_id_is_a_bad_response():
    assert parse_check_run_id({"id": 7, "status": "in_progress"}) == 7
    for data in ({}, {"id": "7"}, {"id": 0}, {"id": True}, [], None):
        with pytest.raises(GitHubBadResponse, match="no positive integer id"):
            parse_check_run_id(data)


def test_a_commit_s_check_runs_are_parsed_and_a_malformed_list_refused():
    assert (
        commit_check_runs_path("octo/repo", "A" * 40)
        == f"/repos/octo/repo/commits/{'a' * 40}/check-runs"
    )
    data = {
        "total_count": 2,
        "check_runs": [
            {"id": 5, "name": "eval-gate/g", "status": "in_progress", "external_id": "g"},
            {"id": 6, "name": "other", "status": "completed", "external_id": None},
        ],
    }
    runs = parse_check_runs(data)
    assert [(r.id, r.name, r.status, r.external_id) for r in runs] == [
        (5, "eval-gate/g", "in_progress", "g"),
        (6, "other", "completed", None),
    ]
    for bad in ([], {"check_runs": {}}, {"check_runs": [{"id": 1, "name": "n"}]}):
        with pytest.raises(GitHubBadResponse):
            parse_check_runs(bad)


@pytest.mark.parametrize(
    ("verdict", "fail_on", "conclusion"),
    [
        (Verdict.PASS, FailOn.ERROR, "success"),
        (Verdict.PASS, FailOn.WARNING, "success"),
        (Verdict.PASS, FailOn.NEVER, "success"),
        (Verdict.WARN, FailOn.ERROR, "neutral"),
        (Verdict.WARN, FailOn.WARNING, "failure"),
        (Verdict.WARN, FailOn.NEVER, "neutral"),
        (Verdict.FAIL, FailOn.ERROR, "failure"),
        (Verdict.FAIL, FailOn.WARNING, "failure"),
        (Verdict.FAIL, FailOn.NEVER, "failure"),  # never spares the step, not the verdict
        (None, FailOn.NEVER, "failure"),  # could not run: fails closed whatever fail-on says
    ],
)
def test_the_conclusion_is_failure_exactly_when_the_gate_did_not_pass(verdict, fail_on, conclusion):
    assert check_run_conclusion(verdict, fail_on) == conclusion


def test_the_title_is_the_verdict_line():
    assert check_run_title(outcome_of(Status.PASS, Status.PASS)) == "Passed: all 2 checks passed"
    assert check_run_title(outcome_of(Status.PASS, Status.WARN)) == (
        "Passed with 1 warning (2 checks)"
    )
    assert check_run_title(outcome_of(Status.FAIL, Status.ERROR, Status.WARN)) == (
        "Failed: 2 of 3 checks failed"
    )


def test_one_annotation_per_failing_and_warning_check_on_its_rule_s_line_failures_first():
    outcome = outcome_of(Status.WARN, Status.PASS, Status.FAIL, Status.SKIP, Status.ERROR)
    annotations, left_out = check_annotations(
        outcome, path=CONFIG, line_of=lambda c: 20 + c.rule_index
    )
    assert left_out == 0
    assert [(a.level, a.start_line, a.end_line) for a in annotations] == [
        ("failure", 22, 22),  # check 2, rule 2
        ("failure", 21, 21),  # check 4, rule 1
        ("warning", 20, 20),  # check 0, rule 0
    ]
    first = annotations[0].to_json()
    assert first == {
        "path": CONFIG,
        "start_line": 22,
        "end_line": 22,
        "annotation_level": "failure",
        "message": "Eval one [test] class class2: check 2 is fail",
        "title": "eval-gate: map50_95 min 0.7 [test]",
    }


def test_a_rule_without_a_line_in_the_file_is_annotated_on_line_1():
    (annotation,), _ = check_annotations(
        outcome_of(Status.FAIL), path=CONFIG, line_of=lambda c: None
    )
    assert annotation.start_line == annotation.end_line == 1


def test_annotations_are_bounded_and_the_rest_counted():
    outcome = outcome_of(*[Status.FAIL] * 30)
    annotations, left_out = check_annotations(outcome, path=CONFIG, line_of=lambda c: 3, limit=25)
    assert (len(annotations), left_out) == (25, 5)
    assert "5 more annotations left out" in left_out_note(left_out)
    assert left_out_note(0) == ""
    assert MAX_CHECK_ANNOTATIONS == 1000


def test_batches_hold_at_most_50_annotations_in_order():
    annotations = [CheckAnnotation(CONFIG, n, n, "failure", f"m{n}") for n in range(1, 121)]
    batches = annotation_batches(annotations)
    assert [len(b) for b in batches] == [50, 50, 20]
    assert [a["start_line"] for b in batches for a in b] == list(range(1, 121))
    assert annotation_batches([]) == []
    with pytest.raises(ValueError, match="size"):
        annotation_batches(annotations, size=ANNOTATIONS_PER_REQUEST + 1)


def test_an_annotation_s_message_and_title_are_bounded_to_what_github_takes():
    long = CheckAnnotation(CONFIG, 1, 1, "warning", "m" * 100_000, title="t\n" * 500)
    data = long.to_json()
    assert len(data["message"]) == 4096
    assert len(data["title"]) <= 255
    assert "\n" not in data["title"]
    with pytest.raises(ValueError, match="level"):
        CheckAnnotation(CONFIG, 1, 1, "error", "m")
    with pytest.raises(ValueError, match="lines"):
        CheckAnnotation(CONFIG, 3, 2, "notice", "m")


# --- against the stand-in --------------------------------------------------------------------


@pytest.fixture
def standin():
    fake = GitHubStandIn(token=TOKEN)
    fake.add_commit(REPO, DEFAULT_SHA)
    yield fake
    assert leaks(fake, TOKEN) == []


@pytest.fixture
def api_url(server):
    return f"http://{server.host}:{server.port}"


def connection(
    session, api_url: str, *, token: str | None = TOKEN, timeout: float = 20.0
) -> GitHubConnection:
    """The run's GitHub connection, on the test's session."""
    return GitHubConnection(token=token, api_url=api_url, transport=session, timeout=timeout)


@pytest.fixture
def client(session, api_url):
    with sleepless():
        yield GitHubClient(
            session, token=TOKEN, api_url=api_url, retry=RetryPolicy(attempts=3, base=0.1)
        )


async def create(client: GitHubClient) -> int:
    return await client.create_check_run(
        REPO,
        name="eval-gate/gate",
        head_sha=DEFAULT_SHA,
        external_id="gate",
        details_url="https://github.com/octo-org/octo-repo/actions/runs/1",
        title="Gating…",
        summary="running",
    )


async def test_a_check_run_is_created_in_progress_and_completed_by_a_patch(client, standin):
    run_id = await create(client)
    (run,) = standin.check_runs_for(REPO, DEFAULT_SHA)
    assert run.id == run_id
    assert (run.name, run.external_id, run.status) == ("eval-gate/gate", "gate", "in_progress")
    await client.update_check_run(
        REPO, run_id, output={"title": "Passed", "summary": "all good"}, conclusion="success"
    )
    assert run.states == [("in_progress", None), ("completed", "success")]
    assert (run.title, run.summary) == ("Passed", "all good")
    (patch,) = standin.requests_for("update-check-run")
    assert patch.json["status"] == "completed"
    assert patch.json["completed_at"].endswith("Z")
    assert standin.violations == []


async def test_an_unknown_conclusion_is_a_programming_error_not_a_request(client, standin):
    with pytest.raises(ValueError, match="conclusion"):
        await client.update_check_run(REPO, 1, output={"summary": "s"}, conclusion="stale")
    assert standin.requests == []


async def test_a_403_on_creating_is_forbidden_and_not_retried(client, standin):
    standin.fail("create-check-run", not_accessible())
    with pytest.raises(GitHubForbidden):
        await create(client)
    assert standin.count("create-check-run") == 1
    assert standin.check_runs == {}


async def test_a_completing_patch_is_retried_after_a_server_error(client, standin):
    run_id = await create(client)
    standin.fail("update-check-run", server_error(502))
    await client.update_check_run(
        REPO, run_id, output={"title": "t", "summary": "s"}, conclusion="failure"
    )
    assert standin.count("update-check-run") == 2
    assert standin.check_runs[run_id].conclusion == "failure"


async def test_the_stand_in_refuses_51_annotations_and_a_summary_over_65535(client, standin):
    run_id = await create(client)
    (many,) = annotation_batches([CheckAnnotation(CONFIG, 1, 1, "notice", "m")] * 50)
    with pytest.raises(GitHubUnprocessable):
        await client.update_check_run(
            REPO, run_id, output={"title": "t", "summary": "s", "annotations": [*many, many[0]]}
        )
    with pytest.raises(GitHubUnprocessable):
        await client.update_check_run(REPO, run_id, output={"title": "t", "summary": "s" * 65_536})
    assert len(standin.violations) == 2
    standin.violations.clear()
    await client.update_check_run(REPO, run_id, output={"title": "t", "summary": "s" * 65_535})
    assert standin.check_runs[run_id].annotations == []


async def test_completing_sends_the_annotations_in_batches_of_50_after_the_conclusion(
    session, api_url, standin
):
    started = await start_check_run(
        connection(session, api_url),
        repository=REPO,
        sha=DEFAULT_SHA,
        name="eval-gate/gate",
        external_id="gate",
        details_url=None,
    )
    assert started.check_run_id is not None
    annotations, _ = check_annotations(
        outcome_of(*[Status.FAIL] * 120), path=CONFIG, line_of=lambda c: 10 + c.rule_index
    )
    done = await complete_check_run(
        connection(session, api_url),
        repository=REPO,
        check_run_id=started.check_run_id,
        conclusion="failure",
        title="Failed: 120 of 120 checks failed",
        summary="report",
        annotations=annotations,
    )
    assert done
    patches = standin.requests_for("update-check-run")
    assert [len(p.json["output"].get("annotations", [])) for p in patches] == [0, 50, 50, 20]
    assert patches[0].json["conclusion"] == "failure"
    run = standin.check_runs[started.check_run_id]
    assert len(run.annotations) == 120
    assert {(a["path"], a["start_line"]) for a in run.annotations} == {
        (CONFIG, 10),
        (CONFIG, 11),
        (CONFIG, 12),
    }
    assert run.states[0] == ("in_progress", None)
    assert all(state == ("completed", "failure") for state in run.states[1:])
    assert standin.violations == []


async def test_a_403_on_starting_is_data_and_one_warning_not_an_exception(
    session, api_url, standin
):
    standin.fail("create-check-run", not_accessible())
    with capture_logs() as logs:
        started = await start_check_run(
            connection(session, api_url),
            repository=REPO,
            sha=DEFAULT_SHA,
            name="eval-gate/gate",
            external_id="gate",
            details_url=None,
        )
    assert started.check_run_id is None
    assert started.forbidden
    assert "checks: write" in (started.reason or "")
    assert TOKEN not in str(logs)
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["checks.create_forbidden"]


async def test_a_failed_batch_of_annotations_is_logged_and_the_run_stays_completed(
    session, api_url, standin
):
    client = GitHubClient(session, token=TOKEN, api_url=api_url)
    run_id = await create(client)
    annotations = tuple(CheckAnnotation(CONFIG, 1, 1, "failure", "m") for _ in range(60))
    standin.fail("update-check-run", ok(), not_accessible())
    with capture_logs() as logs:
        done = await complete_check_run(
            connection(session, api_url),
            repository=REPO,
            check_run_id=run_id,
            conclusion="failure",
            title="t",
            summary="s",
            annotations=annotations,
        )
    assert done
    assert standin.check_runs[run_id].status == "completed"
    (warning,) = [e for e in logs if e["event"] == "checks.annotations_failed"]
    assert (warning["sent"], warning["left"]) == (0, 60)
    assert standin.count("update-check-run") == 2  # no third after the failed batch


async def test_without_a_token_or_a_commit_nothing_is_sent(session, api_url, standin):
    for token, sha in ((None, DEFAULT_SHA), (TOKEN, None)):
        started = await start_check_run(
            connection(session, api_url, token=token),
            repository=REPO,
            sha=sha,
            name="n",
            external_id="g",
            details_url=None,
        )
        assert started.check_run_id is None
        assert not started.forbidden
    assert standin.requests == []


def test_severity_warning_checks_are_warnings():
    check = make_check(Status.WARN, severity=Severity.WARNING)
    (annotation,), _ = check_annotations(
        GateOutcome((make_eval([check]),)), path=CONFIG, line_of=lambda c: 4
    )
    assert annotation.level == "warning"


async def start(session, api_url, **overrides):
    options = {
        "repository": REPO,
        "sha": DEFAULT_SHA,
        "name": "eval-gate/gate",
        "external_id": "gate",
        "details_url": None,
    }
    options.update(overrides)
    # Each request may take 0.5 s (the connection's timeout).
    return await start_check_run(connection(session, api_url, timeout=0.5), **options)


async def test_a_create_that_landed_without_an_answer_is_found_not_made_twice(
    session, api_url, standin
):
    standin.fail("create-check-run", applied_then_hang())
    started = await start(session, api_url)
    (run,) = standin.check_runs_for(REPO, DEFAULT_SHA)  # one: the POST was not resent
    assert started.check_run_id == run.id
    (lookup,) = standin.requests_for("list-check-runs")
    assert dict(lookup.query)["check_name"] == "eval-gate/gate"
    assert dict(lookup.query)["status"] == "in_progress"
    assert standin.violations == []


async def test_a_create_that_never_landed_is_a_failure_not_another_gate_s_run(
    session, api_url, standin
):
    other = await start(session, api_url, external_id="other-gate")  # same name, other gate
    assert other.check_run_id is not None
    standin.fail("create-check-run", hang())
    with capture_logs() as logs:
        started = await start(session, api_url)
    assert started.check_run_id is None
    assert not started.forbidden
    assert "timeout" in (started.reason or "")
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["checks.create_failed"]
