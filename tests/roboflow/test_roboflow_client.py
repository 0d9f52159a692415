"""RoboflowClient against the stand-in Roboflow API on 127.0.0.1 (a real aiohttp server)."""

from __future__ import annotations

import asyncio
import itertools
import socket
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from structlog.testing import capture_logs

from gate import __version__
from gate.core.errors import UsageError
from gate.core.eval_info import EvalQuery
from gate.http.retry import RetryPolicy, sleepless
from gate.roboflow.api import (
    AuthError,
    BadRequest,
    BadResponse,
    DeadlineExceeded,
    EvalNotFound,
    NotReady,
    RateLimited,
    RoboflowError,
    ServerError,
    TransportError,
)
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import (
    HTML_502,
    RoboflowStandIn,
    Scripted,
    detection_results,
    segmentation_results,
)

KEY = "rf_Sekr3t/key+with=chars"
ENCODED_KEY = "rf_Sekr3t%2Fkey%2Bwith%3Dchars"


@pytest.fixture
def standin():
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval(
        "abc",
        map_results=detection_results({"car": 0.9, "person": None}),
        created_at="2026-01-02T00:00:00Z",
        version_id="3",
        model_id="proj/3",
    )
    fake.add_eval("run", status="running", created_at="2026-01-03T00:00:00Z")
    fake.add_eval(
        "seg",
        project="other",
        map_results=segmentation_results({"road": 0.8}),
        created_at="2026-01-01T00:00:00Z",
    )
    yield fake
    # Whatever the test did, the key only ever travelled in the Authorization header.
    for request in fake.requests:
        for text in (request.raw_path, request.query_string, request.path):
            assert KEY not in text
            assert ENCODED_KEY not in text
        assert "api_key" not in request.query_string
        assert request.headers.get("Authorization") in (f"Bearer {KEY}", "Bearer wrong-key-123")


@pytest.fixture
def sleeps():
    """Backoff waits are recorded, not slept (gate.http's test switch, jitter fixed at 0.5)."""
    with sleepless(jitter=0.5) as waits:
        yield SimpleNamespace(delays=waits)


@pytest.fixture
def make_client(session, server, sleeps):
    def make(**overrides):
        options = {
            "api_key": KEY,
            "workspace": "ws",
            "api_url": f"http://{server.host}:{server.port}",
            "timeout": 2.0,
            "retry": RetryPolicy(attempts=3, base=0.5, cap=10.0),
        }
        options.update(overrides)
        return RoboflowClient(session, **options)

    return make


def assert_clean(exc: BaseException) -> None:
    """The message is one line and carries no trace of the key."""
    message = str(exc)
    assert "\n" not in message
    assert KEY not in message
    assert ENCODED_KEY not in message
    assert "Bearer" not in message


# --------------------------------------------------------------------------- happy paths


async def test_map_results_happy_path_sends_key_only_in_header(make_client, standin):
    client = make_client()
    data = await client.map_results("abc")
    assert data == standin.evals["abc"].map_results
    assert data["splits"]["test"]["perClass"]["person"]["map50"] is None
    assert standin.count() == 1
    request = standin.requests[0]
    assert request.path == "/ws/model-evals/abc/map-results"
    assert request.query_string == ""
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["User-Agent"] == f"eval-gate/{__version__}"
    assert request.headers["Accept"] == "application/json"


async def test_eval_info_happy_path(make_client):
    info = await make_client().eval_info("abc")
    assert info.eval_id == "abc"
    assert info.status == "done"
    assert info.project == "proj"
    assert info.version_id == "3"
    assert info.model_id == "proj/3"
    assert info.created_at == datetime(2026, 1, 2, tzinfo=UTC)


async def test_list_evals_newest_first_with_filters(make_client, standin):
    client = make_client()
    everything = await client.list_evals(EvalQuery())
    assert [e.eval_id for e in everything] == ["run", "abc", "seg"]
    done = await client.list_evals(EvalQuery(project="proj", status="done", limit=5))
    assert [e.eval_id for e in done] == ["abc"]
    assert dict(standin.requests[-1].query) == {"project": "proj", "status": "done", "limit": "5"}


async def test_segmentation_results_pass_through(make_client):
    data = await make_client().map_results("seg")
    assert data["taskType"] == "semantic-segmentation"
    assert data["splits"]["valid"]["perClass"][0]["className"] == "road"


async def test_eval_id_with_special_characters_is_quoted(make_client, standin):
    standin.add_eval("a/b c?d")
    info = await make_client().eval_info("a/b c?d")
    assert info.eval_id == "a/b c?d"
    assert standin.requests[0].raw_path == "/ws/model-evals/a%2Fb%20c%3Fd"


async def test_api_url_with_trailing_slash(make_client, server):
    client = make_client(api_url=f"http://{server.host}:{server.port}/")
    assert (await client.eval_info("abc")).eval_id == "abc"


# --------------------------------------------------------------------------- final errors


async def test_409_not_ready_then_done(make_client, standin, sleeps):
    client = make_client()
    with pytest.raises(NotReady) as info:
        await client.map_results("run")
    assert "evaluation run has no results yet" in str(info.value)
    assert "model_eval_not_done" in str(info.value)
    assert info.value.eval_id == "run"
    assert standin.count() == 1
    standin.set_status("run", "done")
    assert (await client.map_results("run"))["taskType"] == "object-detection-like"
    assert sleeps.delays == []


async def test_404_unknown_eval(make_client, standin):
    with pytest.raises(EvalNotFound) as info:
        await make_client().map_results("nope")
    assert "evaluation nope not found in workspace ws" in str(info.value)
    assert standin.count() == 1


async def test_404_eval_in_another_workspace(make_client, standin):
    with pytest.raises(EvalNotFound, match="not found in workspace elsewhere"):
        await make_client(workspace="elsewhere").eval_info("abc")


async def test_401_wrong_key(make_client, standin):
    client = make_client(api_key="wrong-key-123")
    with pytest.raises(AuthError) as info:
        await client.map_results("abc")
    message = str(info.value)
    assert "HTTP 401 (unauthenticated" in message
    assert "ROBOFLOW_API_KEY" in message
    assert "model-eval:read" in message
    assert standin.count() == 1


async def test_403_missing_scope(make_client, standin):
    standin.script("info", [Scripted(403)])
    with pytest.raises(AuthError, match=r"HTTP 403 .*model-eval:read scope for workspace ws"):
        await make_client().eval_info("abc")
    assert standin.count() == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, BadRequest), (401, AuthError), (403, AuthError), (404, EvalNotFound), (409, NotReady)],
)
async def test_client_errors_are_never_retried(make_client, standin, sleeps, status, kind):
    standin.script("map-results", [Scripted(status)] * 3)
    with pytest.raises(kind) as info:
        await make_client().map_results("abc")
    assert info.value.status == status
    assert standin.count() == 1
    assert sleeps.delays == []
    assert_clean(info.value)


async def test_400_carries_the_server_code(make_client, standin):
    body = {"error": "invalid_split", "message": "split must be one of test, valid, train"}
    standin.script("map-results", [Scripted(400, body)])
    with pytest.raises(BadRequest, match=r"HTTP 400 \(invalid_split: split must be one of"):
        await make_client().map_results("abc")


# --------------------------------------------------------------------------- retries


async def test_429_retry_after_is_honoured(make_client, standin, sleeps):
    standin.script("map-results", [Scripted(429, headers={"Retry-After": "3"})])
    data = await make_client().map_results("abc")
    assert data["taskType"] == "object-detection-like"
    assert standin.count() == 2
    assert len(sleeps.delays) == 1
    assert sleeps.delays[0] >= 3.0


async def test_429_huge_retry_after_is_clamped(make_client, standin, sleeps):
    standin.script("info", [Scripted(429, headers={"Retry-After": "86400"})])
    client = make_client(retry=RetryPolicy(attempts=2, max_retry_after=5.0))
    assert (await client.eval_info("abc")).status == "done"
    assert sleeps.delays == [5.0]


async def test_429_forever_ends_rate_limited(make_client, standin, sleeps):
    standin.script("info", [Scripted(429, headers={"Retry-After": "1"})] * 5)
    with pytest.raises(RateLimited) as info:
        await make_client().eval_info("abc")
    assert info.value.retry_after == 1.0
    assert standin.count() == 3


async def test_two_500s_then_success_logs_each_retry(make_client, standin, sleeps):
    standin.script("map-results", [Scripted(500), Scripted(500)])
    with capture_logs() as logs:
        data = await make_client().map_results("abc")
    assert data["splits"]["test"]["map50"] == 0.9
    assert standin.count() == 3
    assert sleeps.delays == [0.25, 0.5]  # full jitter: 0.5 * min(10, 0.5 * 2**(n-1))
    retries = [entry for entry in logs if entry["event"] == "roboflow.retry"]
    assert [entry["attempt"] for entry in retries] == [1, 2]
    assert retries[0]["what"] == "map-results for eval abc"
    assert retries[0]["delay"] == 0.25
    assert "HTTP 500" in retries[0]["reason"]
    assert KEY not in repr(logs)


async def test_500_forever_gives_up_after_the_attempt_budget(make_client, standin, sleeps):
    standin.script("map-results", [Scripted(500)] * 10)
    client = make_client(retry=RetryPolicy(attempts=4))
    with pytest.raises(ServerError) as info:
        await client.map_results("abc")
    assert info.value.status == 500
    assert standin.count() == 4
    assert len(sleeps.delays) == 3
    assert_clean(info.value)


async def test_html_502_page(make_client, standin):
    standin.script("map-results", [Scripted(502, HTML_502)] * 3)
    with pytest.raises(ServerError) as info:
        await make_client().map_results("abc")
    assert "HTTP 502 (non-JSON error page)" in str(info.value)
    assert "nginx" not in str(info.value)
    assert standin.count() == 3


async def test_hung_request_times_out_as_transport_error(make_client, standin):
    standin.script("map-results", [Scripted(hang=True), Scripted(hang=True)])
    client = make_client(timeout=0.2, retry=RetryPolicy(attempts=2))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TransportError) as info:
        await client.map_results("abc")
    elapsed = loop.time() - started
    assert 0.35 <= elapsed < 1.5
    assert "within 0.2 s (timeout)" in str(info.value)
    assert "--timeout" in str(info.value)
    assert info.value.retryable
    assert standin.count() == 2
    assert_clean(info.value)


async def test_hung_request_then_success(make_client, standin, sleeps):
    standin.script("info", [Scripted(hang=True)])
    info = await make_client(timeout=0.2).eval_info("abc")
    assert info.eval_id == "abc"
    assert standin.count() == 2
    assert len(sleeps.delays) == 1


async def test_truncated_body_is_retried(make_client, standin):
    standin.script("map-results", [Scripted(truncate=True)])
    data = await make_client().map_results("abc")
    assert data["taskType"] == "object-detection-like"
    assert standin.count() == 2


async def test_truncated_body_forever(make_client, standin):
    standin.script("map-results", [Scripted(truncate=True)] * 3)
    with pytest.raises(TransportError) as info:
        await make_client().map_results("abc")
    assert "body was cut short" in str(info.value)
    assert "ClientPayloadError" in str(info.value)
    assert f"127.0.0.1:{standin.requests[0].headers['Host'].split(':')[1]}" in str(info.value)
    assert standin.count() == 3


async def test_complete_but_invalid_json_is_retried_then_bad_response(make_client, standin):
    standin.script("map-results", [Scripted(200, b'{"taskType": "object-det')] * 3)
    with pytest.raises(BadResponse) as info:
        await make_client().map_results("abc")
    assert "invalid or truncated JSON" in str(info.value)
    assert info.value.retryable
    assert standin.count() == 3


@pytest.mark.parametrize(
    "body",
    [
        b'{"taskType": "object-detection-like", "taskType": "semantic-segmentation"}',
        b'{"taskType": "object-detection-like", "splits": {"test": {"map50": '
        + b"9" * 5000
        + b"}}}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["duplicate-key", "5000-digits", "deep"],
)
async def test_complete_but_refused_json_is_final(make_client, standin, sleeps, body):
    standin.script("map-results", [Scripted(200, body)] * 3)
    with pytest.raises(BadResponse) as info:
        await make_client().map_results("abc")
    assert not info.value.retryable
    assert "malformed JSON" in str(info.value)
    assert_clean(info.value)
    assert standin.count() == 1
    assert sleeps.delays == []


async def test_nan_in_map_results_reaches_the_reader(make_client, standin):
    standin.script("map-results", [Scripted(200, b'{"taskType": "x", "splits": {"map50": NaN}}')])
    data = await make_client().map_results("abc")
    assert data["splits"]["map50"] != data["splits"]["map50"]  # NaN, for results.py to mark


async def test_server_disconnect_is_retried(make_client, standin):
    # Headers announce a body, nothing of it arrives before the connection closes.
    standin.script("info", [Scripted(200, b"", truncate=True)])
    assert (await make_client().eval_info("abc")).eval_id == "abc"
    assert standin.count() == 2


async def test_connection_refused(session, sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = RoboflowClient(
        session,
        api_key=KEY,
        workspace="ws",
        api_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(attempts=2),
    )
    with pytest.raises(TransportError) as info:
        await client.map_results("abc")
    assert "cannot connect" in str(info.value)
    assert f"talking to 127.0.0.1:{port}" in str(info.value)
    assert len(sleeps.delays) == 1
    assert_clean(info.value)


# --------------------------------------------------------------------------- body size


async def test_oversized_body_with_content_length_is_refused_unread(make_client, standin):
    standin.add_eval("big", map_results=detection_results([f"class {i}" for i in range(50)]))
    with pytest.raises(BadResponse) as info:
        await make_client(max_body=1024).map_results("big")
    assert "response larger than 1 KiB" in str(info.value)
    assert not info.value.retryable
    assert standin.count() == 1


async def test_oversized_chunked_body_is_cut_while_streaming(make_client, standin):
    standin.add_eval("big", map_results=detection_results([f"class {i}" for i in range(500)]))
    standin.script("map-results", [Scripted(chunked=True)])
    with pytest.raises(BadResponse, match="larger than 4 KiB"):
        await make_client(max_body=4096).map_results("big")
    assert standin.count() == 1


async def test_body_exactly_at_the_cap_is_accepted(make_client, standin):
    standin.script("info", [Scripted(200, b'{"evalId": "abc", "status": "done"}', chunked=True)])
    info = await make_client(max_body=35).eval_info("abc")
    assert info.status == "done"


# --------------------------------------------------------------------------- deadline


async def test_deadline_already_passed(make_client, standin):
    loop = asyncio.get_running_loop()
    client = make_client(deadline=loop.time() - 1)
    with pytest.raises(DeadlineExceeded) as info:
        await client.map_results("abc")
    assert "overall deadline" in str(info.value)
    assert "raise --deadline" in str(info.value)
    assert standin.count() == 0


async def test_deadline_cuts_a_hung_request_short(make_client, standin):
    standin.script("map-results", [Scripted(hang=True)] * 3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    client = make_client(timeout=10.0, deadline=started + 0.3)
    with pytest.raises(RoboflowError) as info:
        await client.map_results("abc")
    assert loop.time() - started < 1.5
    assert "--deadline" in str(info.value)
    assert standin.count() == 1


async def test_backoff_past_the_deadline_raises_the_last_error(make_client, standin, sleeps):
    standin.script("map-results", [Scripted(503, headers={"Retry-After": "30"})] * 3)
    loop = asyncio.get_running_loop()
    client = make_client(deadline=loop.time() + 5)
    with pytest.raises(ServerError, match="HTTP 503"):
        await client.map_results("abc")
    assert standin.count() == 1
    assert sleeps.delays == []


async def test_deadline_reached_after_a_retry_names_the_last_error(session, server, standin):
    standin.script("info", [Scripted(500)] * 3)
    loop = asyncio.get_running_loop()

    async def slow_sleep(delay):
        await asyncio.sleep(0.15)

    client = RoboflowClient(
        session,
        api_key=KEY,
        workspace="ws",
        api_url=f"http://{server.host}:{server.port}",
        deadline=loop.time() + 0.1,
        retry=RetryPolicy(attempts=3, base=0.01),
        sleep=slow_sleep,
    )
    with pytest.raises(DeadlineExceeded) as info:
        await client.eval_info("abc")
    message = str(info.value)
    assert message.startswith("eval info for eval abc: overall deadline of 0.1 s reached")
    assert "(last error: HTTP 500 (internal: Internal server error)" in message
    assert standin.count() == 1


# --------------------------------------------------------------------------- odd answers, secrets


async def test_redirect_is_not_followed(make_client, standin):
    standin.script("map-results", [Scripted(302, b"", headers={"Location": "http://evil.test/"})])
    with pytest.raises(BadResponse, match="redirect"):
        await make_client().map_results("abc")
    assert standin.count() == 1


async def test_eval_info_for_another_eval_is_refused(make_client, standin):
    standin.script("info", [Scripted(200, {"evalId": "zzz", "status": "done"})])
    with pytest.raises(BadResponse, match="answered with eval zzz instead"):
        await make_client().eval_info("abc")


async def test_map_results_must_be_an_object(make_client, standin):
    standin.script("map-results", [Scripted(200, [1, 2])])
    with pytest.raises(BadResponse, match="expected a JSON object, got a list"):
        await make_client().map_results("abc")


async def test_unusable_list_is_bad_response(make_client, standin):
    standin.script("list", [Scripted(200, {"evals": [{"evalId": "a", "status": "done"}, {}]})])
    with pytest.raises(BadResponse, match="entry #1"):
        await make_client().list_evals(EvalQuery())


async def test_server_echoing_the_key_is_redacted(make_client, standin):
    standin.script(
        "map-results",
        [Scripted(401, {"error": "unauthenticated", "message": f"key {KEY} ({ENCODED_KEY}) bad"})],
    )
    with pytest.raises(AuthError) as info:
        await make_client().map_results("abc")
    assert "key *** (***) bad" in str(info.value)
    assert_clean(info.value)


async def test_repr_hides_the_key(make_client):
    client = make_client()
    assert KEY not in repr(client)
    assert "rf_" not in repr(client)
    assert "RoboflowClient(api_url='http://127.0.0.1:" in repr(client)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"api_key": "  "}, "ROBOFLOW_API_KEY is empty"),
        ({"api_key": "two words"}, "ROBOFLOW_API_KEY contains spaces"),
        ({"workspace": ""}, "workspace is empty"),
        ({"api_url": "ftp://host"}, "must be an http(s) URL"),
        ({"api_url": "https://api.roboflow.com/?api_key=x"}, "must not contain credentials"),
        ({"api_url": "https://user:pw@api.roboflow.com"}, "must not contain credentials"),
        ({"timeout": 0}, "timeout must be > 0"),
    ],
)
def test_bad_construction_is_a_usage_error(session, overrides, fragment):
    options = {"api_key": KEY, "workspace": "ws"} | overrides
    with pytest.raises(UsageError) as info:
        RoboflowClient(session, **options)
    assert fragment in str(info.value)
    assert "pw" not in str(info.value)


@pytest.mark.parametrize("eval_id", ["", " ", ".", ".."])
async def test_bad_eval_ids_are_usage_errors(make_client, standin, eval_id):
    with pytest.raises(UsageError, match="is not valid"):
        await make_client().map_results(eval_id)
    assert standin.count() == 0


async def test_list_limit_is_checked(make_client, standin):
    with pytest.raises(UsageError, match=r"1\.\.200"):
        await make_client().list_evals(EvalQuery(limit=500))
    assert standin.count() == 0


async def test_a_big_answer_is_decoded_off_the_event_loop(make_client, standin):
    """Some 6 MB of map-results (about 0.5 s of decoding): a ticker on the loop keeps ticking."""
    classes = {f"part-{i:05d}": 0.5 + (i % 400) / 1000 for i in range(12_000)}
    standin.add_eval("big", map_results=detection_results(classes))
    client = make_client()
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(loop.time())
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    started = loop.time()
    try:
        data = await client.map_results("big")
    finally:
        ended = loop.time()
        ticker.cancel()
    took = ended - started
    times = [started, *ticks, ended]
    longest = max(later - earlier for earlier, later in itertools.pairwise(times))
    assert len(data["splits"]["test"]["perClass"]) == 12_000
    assert took > 0.2, "the document is too small to show anything"
    assert longest < took * 0.6, (longest, took)
