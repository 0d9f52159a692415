"""A finished durable gate calls back: the worker hands its document to the callback unit
(gate.worker.callback), signed, with the gate's one delivery id, retried on the unit's schedule
from the store's callback columns, after GitHub and without touching GitHub again."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from aiohttp import web

from gate.http.aiohttp_transport import AiohttpTransport
from gate.worker import AllowList, CallbackSettings, deliver_callback
from tests.worker.conftest import POLL_MS, durable_body

SECRET = "callback-SECRET-0123456789abcdef"


class Receiver:
    """A callback receiver on a loopback port: answers the scripted statuses, then 200."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.seen: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/eval-gate", self.handle)
        return app


@pytest.fixture
async def receiver_url(aiohttp_server) -> Any:
    async def serve(receiver: Receiver) -> str:
        server = await aiohttp_server(receiver.app())
        return str(server.make_url("/hooks/eval-gate"))

    return serve


def sender(world: Any, allow: str) -> Any:
    settings = CallbackSettings(secret=SECRET, allow=AllowList.parse(allow))
    transport = AiohttpTransport(world.session)

    async def send(url: str, body: bytes, *, delivery: str, attempt: int, first_at: int) -> Any:
        return await deliver_callback(
            url,
            body,
            delivery=delivery,
            attempt=attempt,
            first_at=first_at,
            settings=settings,
            transport=transport,
            clock=world.clock,
            rand=lambda: 0.0,
        )

    return send


async def test_a_finished_gate_calls_back_signed_and_retries_with_the_same_delivery_id(
    world, receiver_url
):
    receiver = Receiver(500)
    url = await receiver_url(receiver)
    world.roboflow.add_eval("e1")
    worker = world.worker()
    worker.callbacks = sender(world, url.rsplit("/", 1)[0] + "/")
    gate_id = await world.submit(worker, durable_body("e1", callback={"url": url}))
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.callback_state, gate.callback_attempts) == ("done", "pending", 1)
    assert gate.next_run_at == gate.callback_next_at == world.clock.now + 5_000  # 10 s, half off
    published = len(world.github.requests)

    world.clock.advance(5_000)
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.callback_state, gate.callback_attempts, gate.next_run_at) == ("delivered", 2, None)
    assert len(world.github.requests) == published  # a retried callback posts nothing to GitHub

    (first_headers, first), (again_headers, again) = receiver.seen
    assert first == again  # the document as it was when the gate finished
    assert first_headers["X-Eval-Gate-Delivery"] == again_headers["X-Eval-Gate-Delivery"]
    assert first_headers["X-Eval-Gate-Delivery"] == gate.callback_delivery
    expected = "sha256=" + hmac.new(SECRET.encode(), first, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(first_headers["X-Eval-Gate-Signature-256"], expected)
    document = json.loads(first)
    assert (document["id"], document["status"], document["verdict"]) == (gate_id, "done", "pass")
    assert document["result"]["exit_code"] == 0
    assert SECRET not in first.decode()


async def test_a_cancelled_gate_calls_back_too(world, receiver_url):
    receiver = Receiver()
    url = await receiver_url(receiver)
    world.roboflow.add_eval("e1", status="running")
    worker = world.worker()
    worker.callbacks = sender(world, url)
    gate_id = await world.submit(worker, durable_body("e1", callback={"url": url}))
    await worker.run_until_idle()
    assert receiver.seen == []  # nothing while it waits
    await worker.cancel(gate_id)
    world.clock.advance(POLL_MS)
    await worker.run_until_idle()
    ((_, body),) = receiver.seen
    assert json.loads(body)["status"] == "cancelled"
    assert (await world.gate(gate_id)).callback_state == "delivered"


async def test_a_gate_whose_callback_is_no_longer_allowed_gives_it_up_sending_nothing(
    world, receiver_url
):
    receiver = Receiver()
    url = await receiver_url(receiver)
    world.roboflow.add_eval("e1")
    worker = world.worker()
    worker.callbacks = sender(world, "https://elsewhere.example/")  # the operator narrowed it
    gate_id = await world.submit(worker, durable_body("e1", callback={"url": url}))
    await worker.run_until_idle()
    gate = await world.gate(gate_id)
    assert (gate.status, gate.callback_state, gate.next_run_at) == ("done", "failed", None)
    assert receiver.seen == []
