"""The service's client over a `MockTransport`: what it sends, what it retries, what it refuses;
and the pure functions behind it (`gate.remote.api`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gate.core.errors import ExitCode, UsageError
from gate.http.errors import TransportFailure
from gate.http.mock import MockTransport
from gate.http.transport import RawResponse, Request
from gate.remote.api import (
    GateState,
    GitHubCoordinates,
    ServiceBadResponse,
    ServiceRejected,
    ServiceUnreachable,
    exit_code_of,
    parse_gate,
    status_line,
    submit_body,
)
from gate.remote.client import ServiceClient
from gate.sleeping import sleepless

TOKEN = "bearer-SECRET-token-abcdefghijklmnop"
GATE_ID = "gt_01M9870WRX4HF9223EMQNX51K0"
SUBMITTED = {"id": GATE_ID, "status": "queued", "url": f"https://g.example/v1/gates/{GATE_ID}"}


def answer(status: int, document: Any) -> RawResponse:
    return RawResponse(status, {"Content-Type": "application/json"}, json.dumps(document).encode())


def client(transport: MockTransport, **kwargs: Any) -> ServiceClient:
    return ServiceClient(transport, server_url="https://g.example/", token=TOKEN, **kwargs)


async def test_a_submission_is_retried_with_the_same_idempotency_key_after_a_lost_answer():
    tries: list[Request] = []

    def handler(request: Request) -> RawResponse:
        tries.append(request)
        if len(tries) == 1:
            raise TransportFailure("connection reset", kind="ServerDisconnectedError")
        if len(tries) == 2:
            return answer(503, {"error": "draining", "message": "shutting down"})
        return answer(200, SUBMITTED)

    with sleepless():
        submitted = await client(MockTransport(handler)).submit(
            {"config": "x"}, idempotency_key="k1"
        )
    assert submitted.id == GATE_ID
    assert submitted.created is False  # 200: the gate the first try made
    assert [t.headers["Idempotency-Key"] for t in tries] == ["k1"] * 3
    assert all(t.headers["Authorization"] == f"Bearer {TOKEN}" for t in tries)
    assert tries[0].url == "https://g.example/v1/gates"
    assert json.loads(tries[0].body or b"") == {"config": "x"}


async def test_a_refused_submission_is_not_retried_and_is_a_usage_error():
    transport = MockTransport(lambda r: answer(400, {"error": "invalid_config", "message": "x"}))
    with sleepless(), pytest.raises(ServiceRejected) as caught:
        await client(transport).submit({"config": "x"}, idempotency_key="k")
    assert len(transport.requests) == 1
    assert caught.value.exit_code == ExitCode.USAGE
    assert str(caught.value).startswith("submitting the gate: HTTP 400 invalid_config: x;")


async def test_the_wait_looks_at_the_interval_floor_until_the_gate_is_done():
    looks = iter(["waiting", "waiting", "done"])

    def handler(request: Request) -> RawResponse:
        status = next(looks)
        done = status == "done"
        return answer(
            200,
            {
                "id": GATE_ID,
                "status": status,
                "url": "https://g.example/x",
                "verdict": "pass" if done else None,
                "exit_code": 0 if done else None,
                "result": {"verdict": "pass", "report": "# ok"} if done else None,
                "waiting_for": None if done else ["evaluation e1 (running)"],
            },
        )

    with sleepless() as waits:
        state, waited = await client(MockTransport(handler)).wait(GATE_ID, wait=600, interval=0.01)
    assert (state.status, state.report, exit_code_of(state)) == ("done", "# ok", 0)
    assert waits == [1.0, 1.0]  # the floor, not 0.01
    assert waited == pytest.approx(2.0, abs=0.5)


async def test_answers_bigger_than_the_cap_are_refused():
    big = RawResponse(200, {}, b"{" + b" " * (9 * 1024 * 1024) + b"}")
    with sleepless(), pytest.raises(ServiceBadResponse, match="larger than 8 MiB"):
        await client(MockTransport(lambda r: big)).gate(GATE_ID)


def test_a_token_with_spaces_or_a_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(UsageError) as caught:
        ServiceClient(MockTransport(lambda r: answer(200, {})), server_url="https://g", token="a b")
    assert "EVAL_GATE_TOKEN contains spaces" in str(caught.value)
    with pytest.raises(UsageError) as url:
        ServiceClient(
            MockTransport(lambda r: answer(200, {})),
            server_url=f"https://user:{TOKEN}@g.example",
            token=TOKEN,
        )
    assert TOKEN[:8] not in str(url.value)
    assert "--server" in str(url.value)


def test_the_submit_body_leaves_out_what_is_not_given():
    assert submit_body(config="c") == {"config": "c"}
    body = submit_body(
        config={"version": 1},
        eval_ids=["e1"],
        models=["m"],
        versions=["v"],
        max_wait=0.0,
        callback_url="https://hook",
        github=GitHubCoordinates("o/r", sha="a" * 40, check_run=True),
    )
    assert body == {
        "config": {"version": 1},
        "evals": ["e1", {"model": "m"}, {"version": "v"}],
        "max_wait": 0.0,
        "callback": {"url": "https://hook"},
        "github": {"repository": "o/r", "sha": "a" * 40, "check_run": True},
    }


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("queued", 4),
        ("waiting", 4),
        ("timed_out", 5),
        ("cancelled", 6),
        ("superseded", 6),
        ("error", 7),
    ],
)
def test_each_unfinished_or_failed_status_has_its_exit_code(status, code):
    assert exit_code_of(GateState(GATE_ID, status, "u")) == code


def test_a_document_for_another_gate_is_refused():
    other = {"id": "gt_01M9870WRX4HF9223EMQNX51K1", "status": "queued", "url": "u"}
    with pytest.raises(ServiceBadResponse, match="another gate"):
        parse_gate(200, {}, json.dumps(other).encode(), gate_id=GATE_ID)


def test_a_status_line_is_one_line_whatever_the_server_says():
    state = GateState(GATE_ID, "error", "u", error="line one\nline two\x1b[31m")
    assert "\n" not in status_line(state)
    waiting = GateState(GATE_ID, "waiting", "u", waiting_for=tuple(f"e{i}\n" for i in range(9)))
    assert status_line(waiting).endswith("waiting for e0; e1; e2; and 6 more")


def test_a_5xx_is_retryable_and_unavailable():
    with pytest.raises(ServiceUnreachable) as caught:
        parse_gate(502, {}, b"bad gateway", gate_id=GATE_ID)
    assert caught.value.retryable
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
