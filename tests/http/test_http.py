"""The one HTTP stack (gate.http): retries, Retry-After, rate limits, deadline, body caps,
secrets and paging, driven through the real Roboflow and GitHub clients over a
MockTransport: no socket, no sleeping. The loopback tests (test_*_client.py) prove the wire."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

import gate.http
from gate import fetch
from gate.core.eval_info import EvalQuery
from gate.github.api import (
    GitHubBadResponse,
    GitHubRateLimited,
    GitHubServerError,
    GitHubTransportError,
)
from gate.github.client import GitHubClient
from gate.http import (
    BaseUrl,
    Errors,
    Hints,
    HttpClient,
    HttpError,
    MockTransport,
    RawResponse,
    Request,
    RetryPolicy,
    Transport,
    TransportFailure,
    Wait,
    check_base_url,
    header,
    sleepless,
)
from gate.roboflow.api import (
    BadResponse,
    DeadlineExceeded,
    EvalNotFound,
    NotReady,
    RateLimited,
    ServerError,
    TransportError,
)
from gate.roboflow.client import RoboflowClient

KEY = "rf_Sekr3t/key+with=chars"
TOKEN = "ghs_Sekr3tT0ken/with+chars"
RF = "https://api.roboflow.test"
GH = "https://api.github.test"
REPO = "octo/repo"
EVAL = {"evalId": "abc", "status": "done", "project": "p"}
MAP = {"taskType": "object-detection-like", "splits": {}}

Answer = RawResponse | BaseException | str  # "hang": never answer


def answer(status: int = 200, body: Any = None, **headers: str) -> RawResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RawResponse(status, headers, b"" if body is None else data)


def script(*answers: Answer, then: Answer | None = None) -> MockTransport:
    """A transport answering with `answers` in turn, then `then` (default: 200 EVAL)."""
    queue = list(answers)

    async def handler(request: Request) -> RawResponse:
        item = queue.pop(0) if queue else (then if then is not None else answer(200, EVAL))
        if item == "hang":
            await asyncio.sleep(3600)
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, RawResponse)
        return item

    return MockTransport(handler)


def roboflow(transport: Transport, **options: Any) -> RoboflowClient:
    settings: dict[str, Any] = {"api_key": KEY, "workspace": "ws", "api_url": RF}
    return RoboflowClient(transport, **(settings | options))


def github(transport: Transport, **options: Any) -> GitHubClient:
    settings: dict[str, Any] = {"token": TOKEN, "api_url": GH, "retry": RetryPolicy(attempts=3)}
    return GitHubClient(transport, **(settings | options))


@pytest.fixture
def waits():
    with sleepless() as recorded:
        yield recorded


def assert_secret_free(exc: BaseException) -> None:
    text = str(exc) + repr(exc.args)
    assert "Sekr3t" not in text
    assert "\n" not in str(exc)


# --------------------------------------------------------------------------- the pieces


def test_the_package_exports_what_it_lists():
    for name in gate.http.__all__:
        assert hasattr(gate.http, name), name
    assert isinstance(MockTransport(lambda r: answer()), Transport)


def test_aiohttp_stays_out_of_the_stack_and_the_ports():
    code = (
        "import sys, gate.http, gate.roboflow.client, gate.github.client, gate.engine, gate.fetch;"
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported';"
        "import gate.http.aiohttp_transport;"
        "assert 'aiohttp' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    code = (
        "import sys, gate.engine;"
        "bad = [m for m in sys.modules if m.split('.')[:2] in "
        "(['gate', 'roboflow'], ['gate', 'github'], ['gate', 'http']) or m == 'aiohttp'];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_headers_are_looked_up_case_insensitively():
    headers = {"Retry-After": "3", "link": "x"}
    assert header(headers, "retry-after") == "3"
    assert header(headers, "Link") == "x"
    assert header(headers, "Content-Length") is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://host", "must be an http(s) URL"),
        ("not a url", "must be an http(s) URL"),
        ("http://host:port", "is not a URL"),
        ("https://user:pw@host", "must not contain credentials"),
        ("https://host/?key=secret", "must not contain credentials"),
        ("https://host/#frag", "must not contain credentials"),
    ],
)
def test_bad_base_urls_are_named_without_their_secrets(url, problem):
    checked = check_base_url(url)
    assert isinstance(checked, str)
    assert problem in checked
    assert "pw" not in checked and "secret" not in checked


def test_a_base_url_keeps_its_path_without_the_trailing_slash():
    checked = check_base_url(" https://ghe.example:8443/api/v3/ ")
    assert checked == BaseUrl("https://ghe.example:8443/api/v3", "ghe.example:8443")
    assert checked.origin == ("https", "ghe.example", 8443)


async def test_the_mock_caps_bodies_like_a_streaming_transport():
    transport = MockTransport(lambda r: answer(200, b"x" * 10))
    got = await transport.send(Request("GET", RF, max_body=4))
    assert (got.body, got.overflow) == (b"xxxx", True)
    declared = MockTransport(lambda r: RawResponse(200, {"Content-Length": "99"}, b"x"))
    got = await declared.send(Request("GET", RF, max_body=4))
    assert (got.body, got.overflow) == (b"", True)


# --------------------------------------------------------------------------- retries


async def test_429_retry_after_is_honoured(waits):
    transport = script(answer(429, {"error": "slow"}, **{"Retry-After": "3"}))
    info = await roboflow(transport).eval_info("abc")
    assert info.eval_id == "abc"
    assert waits == [3.0]
    assert len(transport.requests) == 2


async def test_a_huge_retry_after_is_clamped(waits):
    transport = script(answer(429, None, **{"Retry-After": "86400"}))
    await roboflow(transport, retry=RetryPolicy(attempts=2, max_retry_after=5.0)).eval_info("abc")
    assert waits == [5.0]


async def test_5xx_backs_off_exponentially_then_succeeds(waits):
    transport = script(answer(500), answer(503), then=answer(200, MAP))
    with capture_logs() as logs:
        assert await roboflow(transport).map_results("abc") == MAP
    assert waits == [0.5, 1.0]  # jitter 1.0: the full exponential backoff
    retries = [e for e in logs if e["event"] == "roboflow.retry"]
    assert [e["attempt"] for e in retries] == [1, 2]
    assert "HTTP 500" in retries[0]["reason"]


async def test_the_attempt_budget_ends_with_the_last_error(waits):
    transport = script(then=answer(502, b"<html>bad gateway</html>"))
    with pytest.raises(ServerError, match=r"HTTP 502 \(non-JSON error page\)") as caught:
        await roboflow(transport, retry=RetryPolicy(attempts=4)).map_results("abc")
    assert len(transport.requests) == 4
    assert len(waits) == 3
    assert caught.value.eval_id == "abc"
    assert_secret_free(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_are_final(waits, status):
    transport = script(then=answer(status, {"error": "no"}))
    with pytest.raises(HttpError) as caught:
        await roboflow(transport).map_results("abc")
    assert caught.value.status == status
    assert len(transport.requests) == 1
    assert waits == []


async def test_409_is_the_ports_not_ready_signal(waits):
    transport = script(then=answer(409, {"error": "model_eval_not_done"}))
    with pytest.raises(fetch.NotReady) as caught:
        await roboflow(transport).map_results("abc")
    assert isinstance(caught.value, NotReady)
    assert caught.value.eval_id == "abc"


async def test_a_truncated_body_is_retried(waits):
    cut = RawResponse(200, {"Content-Length": "100"}, b'{"evalId"')
    transport = script(cut)
    assert (await roboflow(transport).eval_info("abc")).status == "done"
    assert len(transport.requests) == 2


async def test_refused_json_is_final(waits):
    transport = script(then=answer(200, b'{"evalId": "a", "evalId": "b", "status": "done"}'))
    with pytest.raises(BadResponse, match="malformed JSON") as caught:
        await roboflow(transport).eval_info("abc")
    assert not caught.value.retryable
    assert len(transport.requests) == 1


async def test_a_cut_body_is_a_retryable_transport_error(waits):
    cut = TransportFailure("the response body was cut short", kind="ClientPayloadError")
    transport = script(cut, cut, cut)
    with pytest.raises(TransportError) as caught:
        await roboflow(transport, retry=RetryPolicy(attempts=3)).map_results("abc")
    message = str(caught.value)
    assert "body was cut short talking to api.roboflow.test (ClientPayloadError)" in message
    assert "check the network and the API URL" in message
    assert len(transport.requests) == 3


async def test_a_hung_request_times_out_and_is_retried(waits):
    transport = script("hang", then=answer(200, MAP))
    assert await roboflow(transport, timeout=0.01).map_results("abc") == MAP
    assert len(transport.requests) == 2
    assert transport.requests[0].timeout == 0.01


async def test_a_timeout_names_the_flag_to_raise(waits):
    transport = script(then="hang")
    with pytest.raises(TransportError, match=r"within 0\.01 s \(timeout\).*raise --timeout"):
        await roboflow(transport, timeout=0.01, retry=RetryPolicy(attempts=1)).map_results("abc")


# --------------------------------------------------------------------------- writes


async def test_a_post_that_may_have_landed_is_not_retried(waits):
    transport = script(TransportFailure("the server closed the connection"))
    with pytest.raises(GitHubTransportError, match="not retried, since GitHub may have") as caught:
        await github(transport).create_comment(REPO, 7, "hi")
    assert not caught.value.retryable
    assert len(transport.requests) == 1
    assert waits == []


async def test_a_patch_that_timed_out_is_not_retried(waits):
    transport = script(then="hang")
    with pytest.raises(GitHubTransportError, match="not retried"):
        await github(transport, timeout=0.01).update_comment(REPO, 5, "hi")
    assert len(transport.requests) == 1


async def test_a_post_never_sent_is_retried(waits):
    comment = {"id": 1, "body": "hi", "user": {"login": "bot", "type": "Bot"}}
    refused = TransportFailure("cannot connect", kind="ClientConnectorError", never_sent=True)
    transport = script(refused, then=answer(201, comment))
    assert (await github(transport).create_comment(REPO, 7, "hi")).id == 1
    assert len(transport.requests) == 2
    assert transport.requests[0].method == "POST"
    assert json.loads(transport.requests[0].body or b"") == {"body": "hi"}
    assert transport.requests[0].headers["Content-Type"] == "application/json"


async def test_a_post_answered_with_5xx_is_retried(waits):
    comment = {"id": 2, "body": "hi"}
    transport = script(answer(502, {"message": "Server Error"}), then=answer(201, comment))
    assert (await github(transport).create_comment(REPO, 7, "hi")).id == 2
    assert waits == [0.5]


async def test_a_status_that_timed_out_is_sent_again(waits):
    transport = script("hang", then=answer(201, {}))
    client = github(transport, timeout=0.01)
    sha = "a" * 40
    await client.create_status(
        REPO, sha, state="success", description="", context="c", target_url=None
    )
    assert len(transport.requests) == 2


# --------------------------------------------------------------------------- rate limits


def _now() -> datetime:
    return datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


async def test_githubs_reset_header_sets_the_wait_without_using_a_retry(waits):
    reset = str(int(_now().timestamp()) + 20)
    limited = answer(
        403,
        {"message": "API rate limit exceeded"},
        **{
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": reset,
        },
    )
    transport = script(answer(500), limited, answer(503), then=answer(200, []))
    client = github(transport, clock=_now)
    assert await client.pulls_for_commit(REPO, "a" * 40) == []
    assert waits == [0.5, 21.0, 1.0]  # attempts=3: the rate-limit wait used none of them
    assert len(transport.requests) == 4


async def test_a_rate_limit_wait_over_the_bound_gives_up_at_once(waits):
    transport = script(then=answer(429, {"message": "slow"}, **{"Retry-After": "3600"}))
    with pytest.raises(GitHubRateLimited, match="more than the 60 s this step waits"):
        await github(transport).create_comment(REPO, 7, "x")
    assert waits == []


async def test_rate_limit_waits_are_counted(waits):
    transport = script(then=answer(429, {"message": "slow"}, **{"Retry-After": "1"}))
    with pytest.raises(GitHubRateLimited, match="still limited after 2 waits"):
        await github(transport, max_rate_waits=2).create_comment(REPO, 7, "x")
    assert waits == [1.0, 1.0]
    assert len(transport.requests) == 3


async def test_a_roboflow_429_uses_the_attempt_budget(waits):
    transport = script(then=answer(429, {"error": "slow"}, **{"Retry-After": "1"}))
    with pytest.raises(RateLimited) as caught:
        await roboflow(transport, retry=RetryPolicy(attempts=3)).eval_info("abc")
    assert caught.value.retry_after == 1.0
    assert len(transport.requests) == 3


# --------------------------------------------------------------------------- deadline


async def test_a_passed_deadline_sends_nothing():
    transport = script()
    client = roboflow(transport, deadline=asyncio.get_running_loop().time() - 1)
    with pytest.raises(DeadlineExceeded, match=r"overall deadline.*raise --deadline") as caught:
        await client.map_results("abc")
    assert caught.value.eval_id == "abc"
    assert transport.requests == []


async def test_the_deadline_shortens_the_timeout(waits):
    transport = script(then="hang")
    loop = asyncio.get_running_loop()
    client = roboflow(transport, timeout=30.0, deadline=loop.time() + 0.02)
    with pytest.raises(HttpError, match="raise --deadline"):
        await client.map_results("abc")
    assert transport.requests[0].timeout <= 0.02


async def test_a_backoff_past_the_deadline_raises_the_last_error(waits):
    transport = script(then=answer(503, None, **{"Retry-After": "30"}))
    client = roboflow(transport, deadline=asyncio.get_running_loop().time() + 5)
    with pytest.raises(ServerError, match="HTTP 503"):
        await client.map_results("abc")
    assert len(transport.requests) == 1
    assert waits == []


async def test_the_deadline_error_names_the_last_error():
    loop = asyncio.get_running_loop()

    async def slow(delay: float) -> None:
        await asyncio.sleep(0.03)

    transport = script(then=answer(500, {"error": "internal"}))
    client = roboflow(
        transport, deadline=loop.time() + 0.02, retry=RetryPolicy(base=0.001), sleep=slow
    )
    with pytest.raises(DeadlineExceeded) as caught:
        await client.eval_info("abc")
    assert "reached before a usable response (last error: HTTP 500 (internal)" in str(caught.value)


# --------------------------------------------------------------------------- bodies, secrets


async def test_an_oversized_answer_is_refused_not_retried(waits):
    transport = script(then=answer(200, {"evalId": "abc", "pad": "x" * 4000}))
    with pytest.raises(BadResponse, match="larger than 1 KiB") as caught:
        await roboflow(transport, max_body=1024).eval_info("abc")
    assert not caught.value.retryable
    assert len(transport.requests) == 1
    assert transport.requests[0].max_body == 1024


async def test_a_long_error_page_is_read_only_in_part(waits):
    transport = script(then=answer(404, b"<html>" + b"x" * 200_000))
    with pytest.raises(EvalNotFound, match="non-JSON error page"):
        await roboflow(transport).eval_info("abc")
    assert transport.requests[0].max_error_body == 64 * 1024


async def test_an_echoed_secret_is_masked_everywhere(waits):
    transport = script(then=answer(401, {"error": "bad", "message": f"key {KEY} refused"}))
    with pytest.raises(HttpError) as caught:
        await roboflow(transport).eval_info("abc")
    assert "key *** refused" in str(caught.value)
    assert_secret_free(caught.value)
    assert transport.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in transport.requests[0].url


async def test_messages_name_the_host_never_the_url(waits):
    transport = script(then=TransportFailure("connection error"))
    with pytest.raises(TransportError) as caught:
        await roboflow(transport, retry=RetryPolicy(attempts=1)).list_evals(
            EvalQuery(project="secret-proj")
        )
    assert "api.roboflow.test" in str(caught.value)
    assert "secret-proj" not in str(caught.value)
    assert "secret-proj" in transport.requests[0].url


async def test_a_big_answer_is_parsed_off_the_event_loop():
    threads: list[str] = []

    def parse(raw: RawResponse) -> int:
        threads.append(threading.current_thread().name)
        return len(raw.body)

    client = _bare_client(MockTransport(lambda r: answer(200, b"1" * 300_000)))
    assert await client.request("GET", client.url("/x"), what="x", parse=parse) == 300_000
    small = _bare_client(MockTransport(lambda r: answer(200, b"1")))
    await small.request("GET", small.url("/x"), what="x", parse=parse)
    assert threads[0] != threading.current_thread().name
    assert threads[1] == threading.current_thread().name


def _bare_client(transport: Transport, cls: type[HttpClient] = HttpClient, **options: Any) -> Any:
    base = check_base_url("https://api.example")
    assert isinstance(base, BaseUrl)
    return cls(
        transport,
        base=base,
        headers={},
        secrets=(),
        errors=Errors(HttpError, HttpError, HttpError),
        hints=Hints(service="Example", api_url="the URL"),
        name="example",
        **options,
    )


async def test_the_backoff_hook_decides_every_wait(waits):
    class Patient(HttpClient):
        def backoff(self, exc: HttpError, *, attempt: int, rate_waits: int) -> Wait | None:
            return Wait(7.0) if attempt < 3 else None

    def fail(raw: RawResponse) -> None:
        raise HttpError(f"HTTP {raw.status}", status=raw.status)  # not retryable by itself

    client = _bare_client(MockTransport(lambda r: answer(418)), Patient)
    with pytest.raises(HttpError, match="HTTP 418"):
        await client.request("GET", client.url("/x"), what="x", parse=fail)
    assert waits == [7.0, 7.0]
    assert len(client.transport.requests) == 3


# --------------------------------------------------------------------------- paging


def _pages(count: int, per_page: int = 2, origin: str = GH) -> Callable[[Request], RawResponse]:
    def handler(request: Request) -> RawResponse:
        page = int(request.url.rsplit("page=", 1)[1]) if "&page=" in request.url else 1
        items = [{"id": (page - 1) * per_page + i + 1, "body": "c"} for i in range(per_page)]
        headers = {}
        if page < count:
            url = f"{origin}/repositories/1/issues/7/comments?per_page=100&page={page + 1}"
            headers["Link"] = f'<{url}>; rel="next"'
        return answer(200, items, **headers)

    return handler


async def test_paging_follows_every_next_link(waits):
    transport = MockTransport(_pages(3))
    ids = [c.id async for c in github(transport).comments(REPO, 7)]
    assert ids == [1, 2, 3, 4, 5, 6]
    urls = [r.url for r in transport.requests]
    assert urls[0] == f"{GH}/repos/{REPO}/issues/7/comments?per_page=100"
    assert urls[2].endswith("page=3")


async def test_a_5xx_on_a_later_page_is_retried(waits):
    pages = _pages(2)
    calls = []

    def handler(request: Request) -> RawResponse:
        calls.append(request.url)
        if len(calls) == 2:
            return answer(500, {"message": "oops"})
        return pages(request)

    assert len([c async for c in github(MockTransport(handler)).comments(REPO, 7)]) == 4
    assert len(calls) == 3
    assert calls[1] == calls[2]


async def test_a_next_link_elsewhere_is_not_followed(waits):
    transport = MockTransport(_pages(3, origin="http://api.github.test"))
    with pytest.raises(GitHubBadResponse, match=r"points outside api\.github\.test"):
        [c async for c in github(transport).comments(REPO, 7)]
    assert len(transport.requests) == 1  # the token never went to the downgraded scheme


async def test_a_repeated_next_link_stops(waits):
    link = f'<{GH}/loop?page=2>; rel="next"'
    transport = MockTransport(lambda r: answer(200, [], Link=link))
    with pytest.raises(GitHubBadResponse, match="repeats a page"):
        [c async for c in github(transport).comments(REPO, 7)]
    assert len(transport.requests) == 2


async def test_the_page_count_is_bounded(waits):
    transport = MockTransport(_pages(10))
    with pytest.raises(GitHubBadResponse, match="more than 2 pages of comments"):
        [c async for c in github(transport, max_pages=2).comments(REPO, 7)]
    assert len(transport.requests) == 2


async def test_a_server_error_on_every_page_ends_as_one(waits):
    transport = script(then=answer(500, {"message": "oops"}))
    with pytest.raises(GitHubServerError, match=r"\(page 1\)"):
        [c async for c in github(transport).comments(REPO, 7)]
    assert len(waits) == 2


# --------------------------------------------------------------------------- the switch


async def test_sleepless_records_instead_of_sleeping():
    transport = script(answer(503, None, **{"Retry-After": "30"}), then=answer(200, MAP))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with sleepless(jitter=0.0) as recorded:
        await roboflow(transport).map_results("abc")
    assert recorded == [30.0]
    assert loop.time() - started < 5
