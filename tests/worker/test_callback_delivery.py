"""One callback attempt: against a real receiver on 127.0.0.1 (signature, retries with one
delivery id, no redirect followed, a slow receiver cut per try, a closed port), and through the
mock transport for what needs no socket (every non-2xx retried, Retry-After, the allow-list and
the secret checked again before sending). The secret never shows in a reason or a log line."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from gate import __version__
from gate.http import MockTransport, RawResponse, Request, TransportFailure
from gate.http.aiohttp_transport import AiohttpTransport
from gate.worker import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    AllowList,
    CallbackSettings,
    callback_body,
    callback_headers,
    deliver_callback,
    signature,
)

SECRET = "cbk_Zq8Wx7Ev6Rc5Tb4Yn3Um2Ik1Ol0Pa9Sd"
FRAGMENT = 8
DELIVERY = "5f0c6a1e-8a43-4a4f-9d0e-3f6f2d1c9b27"
T0 = 1_767_225_600_000
DOCUMENT = {"id": "g_01", "status": "done", "result": {"verdict": "pass", "exit_code": 0}}
BODY = callback_body(DOCUMENT)
HOOK = "https://hooks.example.com/eval-gate"
MOCK_SETTINGS = CallbackSettings(secret=SECRET, allow=AllowList.parse("https://hooks.example.com"))


def fragments(secret: str = SECRET) -> list[str]:
    return [secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)]


def leaks(text: str) -> list[str]:
    return [piece for piece in fragments() if piece in text]


def clock_at(ms: int) -> Callable[[], int]:
    return lambda: ms


@dataclass
class Receiver:
    """A callback receiver on 127.0.0.1: answers each POST to /hook with the next scripted
    answer (status, headers, body) and records what it got; /elsewhere counts redirect hits."""

    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    delay: float = 0.0
    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    elsewhere: int = 0

    async def hook(self, request: web.Request) -> web.StreamResponse:
        self.got.append((request.path_qs, dict(request.headers), await request.read()))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, headers, body = self.answers.pop(0) if self.answers else (204, {}, b"")
        return web.Response(status=status, headers=headers, body=body)

    async def other(self, request: web.Request) -> web.Response:
        self.elsewhere += 1
        return web.Response(status=200)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        app.router.add_route("*", "/elsewhere", self.other)
        return app


@pytest.fixture
async def receive(aiohttp_server):
    """Serves a Receiver; returns (receiver, its /hook URL, settings allowing it, transport)."""
    sessions: list[aiohttp.ClientSession] = []

    async def start(receiver: Receiver, **options: Any) -> tuple[str, CallbackSettings, Any]:
        server = await aiohttp_server(receiver.app())
        origin = f"http://127.0.0.1:{server.port}"
        allow = AllowList.parse(f"{origin}/hook")
        session = aiohttp.ClientSession()
        sessions.append(session)
        settings_ = CallbackSettings(secret=SECRET, allow=allow, **options)
        return f"{origin}/hook", settings_, AiohttpTransport(session)

    yield start
    for session in sessions:
        await session.close()


async def test_a_callback_posts_the_exact_body_signed_with_its_delivery_id(receive):
    receiver = Receiver()
    url, settings_, transport = await receive(receiver)
    outcome = await deliver_callback(
        url + "?team=vision",
        BODY,
        delivery=DELIVERY,
        attempt=1,
        first_at=T0,
        settings=settings_,
        transport=transport,
    )
    assert (outcome.state, outcome.attempts, outcome.status, outcome.next_at) == (
        "delivered",
        1,
        204,
        None,
    )
    assert not outcome.retry and outcome.reason is None
    ((path, headers, body),) = receiver.got
    assert path == "/hook?team=vision"
    assert body == BODY
    assert json.loads(body) == DOCUMENT
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert headers[DELIVERY_HEADER] == DELIVERY
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == f"eval-gate/{__version__}"


async def test_a_receiver_that_fails_twice_then_answers_2xx_gets_one_delivery_id_three_times(
    receive,
):
    receiver = Receiver(answers=[(500, {}, b"oops"), (503, {}, b""), (200, {}, b"ok")])
    url, settings_, transport = await receive(receiver)
    states = []
    attempt = 1
    while True:
        outcome = await deliver_callback(
            url,
            BODY,
            delivery=DELIVERY,
            attempt=attempt,
            first_at=T0,
            settings=settings_,
            transport=transport,
            clock=clock_at(T0 + attempt * 1000),
            rand=lambda: 1.0,
        )
        states.append((outcome.state, outcome.attempts, outcome.status, outcome.next_at))
        if not outcome.retry:
            break
        attempt += 1
    assert states == [
        ("pending", 1, 500, T0 + 1000 + 10_000),
        ("pending", 2, 503, T0 + 2000 + 20_000),
        ("delivered", 3, 200, None),
    ]
    assert [h[DELIVERY_HEADER] for _, h, _ in receiver.got] == [DELIVERY] * 3
    assert len({h[SIGNATURE_HEADER] for _, h, _ in receiver.got}) == 1
    assert [b for _, _, b in receiver.got] == [BODY] * 3


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_not_followed_and_is_tried_again_later(receive, status):
    receiver = Receiver(answers=[(status, {"Location": "/elsewhere"}, b"")])
    url, settings_, transport = await receive(receiver)
    outcome = await deliver_callback(
        url,
        BODY,
        delivery=DELIVERY,
        attempt=1,
        first_at=T0,
        settings=settings_,
        transport=transport,
        clock=clock_at(T0),
    )
    assert receiver.elsewhere == 0
    assert len(receiver.got) == 1
    assert (outcome.state, outcome.status) == ("pending", status)
    origin = url.removesuffix("/hook")
    assert outcome.reason == (
        f"{origin} answered HTTP {status}, a redirect; callbacks never follow redirects: point "
        "the callback at the final URL"
    )


async def test_a_slow_receiver_is_cut_at_the_per_try_timeout(receive):
    receiver = Receiver(delay=30.0)
    url, settings_, transport = await receive(receiver, timeout=0.3)
    started = time.monotonic()
    outcome = await deliver_callback(
        url,
        BODY,
        delivery=DELIVERY,
        attempt=1,
        first_at=T0,
        settings=settings_,
        transport=transport,
        clock=clock_at(T0),
    )
    assert time.monotonic() - started < 5
    assert (outcome.state, outcome.status) == ("pending", None)
    origin = url.removesuffix("/hook")
    assert outcome.reason == f"no complete answer from {origin} within 0.3 s (timeout)"


async def test_a_receiver_that_is_not_listening_is_tried_again_later():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    settings_ = CallbackSettings(secret=SECRET, allow=AllowList.parse(url))
    async with aiohttp.ClientSession() as session:
        outcome = await deliver_callback(
            url,
            BODY,
            delivery=DELIVERY,
            attempt=1,
            first_at=T0,
            settings=settings_,
            transport=AiohttpTransport(session),
            clock=clock_at(T0),
        )
    assert (outcome.state, outcome.attempts) == ("pending", 1)
    assert outcome.reason is not None
    assert outcome.reason.startswith("cannot connect")
    assert f"talking to http://127.0.0.1:{port} (ClientConnectorError)" in outcome.reason


def answering(
    status: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> MockTransport:
    return MockTransport(lambda request: RawResponse(status, headers or {}, body))


async def attempt_with(transport: Any, **options: Any) -> Any:
    arguments: dict[str, Any] = {
        "delivery": DELIVERY,
        "attempt": 1,
        "first_at": T0,
        "settings": MOCK_SETTINGS,
        "clock": clock_at(T0),
        "rand": lambda: 0.0,
    }
    arguments.update(options)
    url = arguments.pop("url", HOOK)
    return await deliver_callback(url, BODY, transport=transport, **arguments)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
async def test_any_2xx_is_delivered(status):
    outcome = await attempt_with(answering(status, body=b"x" * 100_000))
    assert (outcome.state, outcome.status) == ("delivered", status)


@pytest.mark.parametrize(
    "status", [100, 304, 400, 401, 403, 404, 408, 410, 422, 429, 500, 502, 503]
)
async def test_every_answer_but_a_2xx_is_tried_again_within_the_window(status):
    outcome = await attempt_with(answering(status, body=b'{"error": "nope"}'))
    assert (outcome.state, outcome.status, outcome.next_at) == ("pending", status, T0 + 5_000)
    assert outcome.reason.startswith(f"https://hooks.example.com answered HTTP {status}")


async def test_the_receiver_s_text_is_one_short_line_of_the_reason():
    body = ("bad signature\n\x1b[31m" + "x" * 500).encode()
    outcome = await attempt_with(answering(401, body=body))
    assert outcome.reason.startswith("https://hooks.example.com answered HTTP 401: bad signature ")
    assert "\n" not in outcome.reason and "\x1b" not in outcome.reason
    assert len(outcome.reason) < 200
    html = await attempt_with(answering(502, {"Content-Type": "text/html"}, b"<html>gw</html>"))
    assert html.reason == "https://hooks.example.com answered HTTP 502 (an HTML page)"


async def test_retry_after_sets_the_next_attempt():
    outcome = await attempt_with(answering(429, {"Retry-After": "120"}))
    assert outcome.next_at == T0 + 120_000
    dated = await attempt_with(answering(503, {"Retry-After": "Thu, 01 Jan 2026 00:05:00 GMT"}))
    assert dated.next_at == T0 + 300_000


async def test_a_failure_after_the_window_gives_up():
    outcome = await attempt_with(answering(500), attempt=40, clock=clock_at(T0 + 24 * 3600 * 1000))
    assert (outcome.state, outcome.attempts, outcome.next_at) == ("failed", 40, None)
    assert outcome.reason == (
        "https://hooks.example.com answered HTTP 500; gave up: no 2xx within 24 h of the first "
        "attempt (40 attempts)"
    )


async def test_the_url_sent_is_the_normalised_one():
    transport = answering(204)
    await attempt_with(transport, url="HTTPS://Hooks.Example.COM.:443/c%62/x?q=1")
    (request,) = transport.requests
    assert request.url == "https://hooks.example.com/cb/x?q=1"
    assert request.method == "POST"
    assert request.body == BODY
    assert request.timeout == MOCK_SETTINGS.timeout


async def test_the_allow_list_is_checked_again_before_sending():
    # The URL was allowed when the gate was submitted; the operator has since narrowed the list.
    narrowed = CallbackSettings(secret=SECRET, allow=AllowList.parse("https://hooks.example.com/x"))
    transport = answering(204)
    outcome = await attempt_with(transport, settings=narrowed, attempt=3)
    assert transport.requests == []
    assert (outcome.state, outcome.attempts, outcome.next_at) == ("failed", 2, None)
    assert outcome.reason.startswith("the callback URL's path is not under a prefix")
    off = await attempt_with(transport, settings=CallbackSettings(secret=SECRET))
    assert off.state == "failed" and off.reason.startswith("callbacks are off on this server")
    hostile = await attempt_with(transport, url="https://hooks.example.com@evil.net/")
    assert hostile.state == "failed" and "user:password@" in hostile.reason
    assert transport.requests == []


async def test_a_callback_is_never_sent_unsigned():
    transport = answering(204)
    unsigned = CallbackSettings(allow=MOCK_SETTINGS.allow)
    outcome = await attempt_with(transport, settings=unsigned)
    assert transport.requests == []
    assert (outcome.state, outcome.attempts) == ("failed", 0)
    assert (
        outcome.reason == "EVAL_GATE_CALLBACK_SECRET is not set: callbacks are never sent unsigned"
    )


async def test_a_delivery_id_that_is_not_a_uuid_is_refused_before_anything_is_sent():
    transport = answering(204)
    with pytest.raises(ValueError, match="must be a UUID"):
        await attempt_with(transport, delivery="x\r\nX-Injected: 1")
    with pytest.raises(ValueError, match="start at 1"):
        await attempt_with(transport, attempt=0)
    assert transport.requests == []
    upper = await attempt_with(transport, delivery=DELIVERY.upper())
    assert upper.state == "delivered"
    assert transport.requests[0].headers[DELIVERY_HEADER] == DELIVERY


def test_the_signature_is_the_hmac_of_the_exact_bytes():
    assert signature(b"", "k" * 16) == (
        "sha256=" + hmac.new(b"k" * 16, b"", hashlib.sha256).hexdigest()
    )
    assert signature(b'{"a":1}', SECRET) != signature(b'{"a": 1}', SECRET)
    headers = callback_headers(BODY, secret=SECRET, delivery=str(uuid.UUID(DELIVERY)))
    assert headers[SIGNATURE_HEADER] == signature(BODY, SECRET)
    assert SECRET not in json.dumps(headers)
    assert SECRET not in repr(MOCK_SETTINGS)


# --- the secret, whole or in part, never in a reason or a log line -------------------------------


def secret_echo(cut: int, start: int, status: int) -> Callable[[Request], RawResponse]:
    """A careless receiver: echoes the secret, cut anywhere, after `start` characters of text."""

    def handler(request: Request) -> RawResponse:
        assert request.body is not None
        text = "x" * start + SECRET[:cut] + f" sig={request.headers[SIGNATURE_HEADER]}"
        return RawResponse(status, {"X-Echo": SECRET}, text.encode())

    return handler


@settings(max_examples=150, deadline=None, database=None)
@given(
    cut=st.integers(FRAGMENT, len(SECRET)),
    start=st.integers(0, 200),
    status=st.sampled_from([301, 400, 401, 403, 500, 503]),
    late=st.booleans(),
)
async def test_a_receiver_that_echoes_the_secret_never_gets_it_into_a_reason_or_a_log(
    cut, start, status, late
):
    clock = clock_at(T0 + (25 * 3600 * 1000 if late else 0))
    with capture_logs() as logs:
        outcome = await attempt_with(MockTransport(secret_echo(cut, start, status)), clock=clock)
    said = json.dumps([outcome.reason, logs], default=str)
    assert outcome.state == ("failed" if late else "pending")
    assert logs and leaks(said) == []


async def test_a_transport_failure_that_names_the_secret_is_masked():
    def fail(request: Request) -> RawResponse:
        raise TransportFailure(f"refused by proxy for key {SECRET[3:20]}", kind="ProxyError")

    with capture_logs() as logs:
        outcome = await attempt_with(MockTransport(fail))
    said = json.dumps([outcome.reason, logs], default=str)
    assert outcome.reason.startswith("refused by proxy for key ***")
    assert leaks(said) == []


async def test_a_real_receiver_that_echoes_the_secret_never_gets_it_into_a_reason_or_a_log(
    receive,
):
    receiver = Receiver(
        answers=[(401, {"X-Secret": SECRET}, f"wrong key; expected {SECRET}".encode())]
    )
    url, settings_, transport = await receive(receiver)
    with capture_logs() as logs:
        outcome = await deliver_callback(
            url,
            BODY,
            delivery=DELIVERY,
            attempt=1,
            first_at=T0,
            settings=settings_,
            transport=transport,
            clock=clock_at(T0),
        )
    assert outcome.state == "pending"
    assert outcome.reason.endswith("answered HTTP 401: wrong key; expected ***")
    assert [event["event"] for event in logs] == ["callback.retry"]
    assert leaks(json.dumps([outcome.reason, repr(outcome), logs], default=str)) == []
