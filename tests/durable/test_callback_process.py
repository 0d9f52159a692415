"""(3) Callbacks between real processes: a `python -m gate serve` on a SQLite file and a
receiver HTTP server on 127.0.0.1 in this process, verifying each POST the way
docs/service/callbacks.md tells receivers to (HMAC-SHA256 of the raw body with the shared
secret, compared in constant time).

- The receiver answers 500, then 204: the retry carries the same `X-Eval-Gate-Delivery` and the
  same signed bytes, after the schedule's backoff (the first retry waits 5-10 s: the schedule
  has no setting, so this test takes that long); the server is killed with SIGKILL between the
  failed attempt (recorded in the database) and the retry, and the next server delivers it:
  exactly one 2xx delivery, the gate's callback `delivered` after two attempts.
- A callback URL outside `EVAL_GATE_CALLBACK_ALLOW` is refused at submit (400) and never called.
- The callback secret appears in no server's log and nowhere in the database file (nor 8 of its
  characters in a row).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gate.store import open_store
from tests.durable.test_durable_process import (
    Stage,
    client,
    gate_body,
    kill,
    submit,
    until,
)
from tests.server.test_server_process import Served, serve

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SECRET = "cb-PROCESS-secret-0123456789abcdef"
WITHIN = 30.0  # seconds any one thing may take (the first retry is due 5-10 s after the first try)


def verify(body: bytes, signature: str | None, secret: str = SECRET) -> bool:
    """docs/service/callbacks.md's `verify`: the signature header signs these exact bytes."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return signature is not None and hmac.compare_digest(expected.encode(), signature.encode())


@dataclass
class Attempt:
    at: float  # the loop's clock when it arrived
    delivery: str | None
    signature: str | None
    body: bytes
    answered: int


@dataclass
class Receiver:
    """A callback receiver: answers `script`'s statuses in turn (then 204), records everything,
    and wakes whoever waits for the next attempt."""

    script: list[int] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)  # requests to any other path
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.script.pop(0) if self.script else 204
        attempt = Attempt(
            asyncio.get_running_loop().time(),
            request.headers.get("X-Eval-Gate-Delivery"),
            request.headers.get("X-Eval-Gate-Signature-256"),
            body,
            status,
        )
        async with self.arrived:
            self.attempts.append(attempt)
            self.arrived.notify_all()
        return web.Response(status=status)

    async def other(self, request: web.Request) -> web.Response:
        self.elsewhere.append(f"{request.method} {request.path}")
        return web.Response(status=204)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/eval-gate", self.hook)
        app.router.add_route("*", "/{tail:.*}", self.other)
        return app

    async def attempt(self, number: int) -> Attempt:
        """Attempt `number` (1-based), once it has arrived (within WITHIN seconds)."""
        async with asyncio.timeout(WITHIN), self.arrived:
            await self.arrived.wait_for(lambda: len(self.attempts) >= number)
        return self.attempts[number - 1]


async def receiving(aiohttp_server: Any, receiver: Receiver) -> str:
    server = await aiohttp_server(receiver.app())
    return str(server.make_url("")).rstrip("/")


def callback_env(stage: Stage, database: Path, receiver_url: str) -> dict[str, str]:
    return {
        **stage.env,
        "EVAL_GATE_DATABASE_URL": f"sqlite:///{database}",
        "EVAL_GATE_CALLBACK_ALLOW": f"{receiver_url}/hooks",
        "EVAL_GATE_CALLBACK_SECRET": SECRET,
    }


async def stored(database: Path, gate_id: str) -> Any:
    store = open_store(f"sqlite:///{database}")
    try:
        async with store.read() as tx:
            return await tx.gate(gate_id)
    finally:
        await store.close()


def assert_secret_kept(database: Path, *served: Served) -> None:
    """Neither the secret nor any 8 characters of it in a row in the logs or the database."""
    fragments = {SECRET[i : i + 8] for i in range(len(SECRET) - 7)}
    logs = "".join(line for one in served for line in one.stderr)
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    assert files  # the database, and its -wal and -shm while a server had it open
    data = b"".join(p.read_bytes() for p in files)
    for fragment in fragments:
        assert fragment not in logs
        assert fragment.encode() not in data


async def test_a_failed_callback_is_retried_with_the_same_delivery_id_across_a_sigkill(
    stage, aiohttp_server, tmp_path: Path
):
    receiver = Receiver(script=[500])
    receiver_url = await receiving(aiohttp_server, receiver)
    database = tmp_path / "gates.db"
    env = callback_env(stage, database, receiver_url)
    stage.finish_evaluations()  # the gate decides at once; its callback is what is tested
    body = {**gate_body(0), "callback": {"url": f"{receiver_url}/hooks/eval-gate"}}

    async with serve(**env) as first, client(first) as session:
        status, made = await submit(session, body)
        assert status == 202
        gate_id = made["id"]
        failed = await receiver.attempt(1)
        assert failed.answered == 500

        async def recorded() -> bool:
            gate = await stored(database, gate_id)
            return gate.callback_attempts == 1 and gate.callback_state == "pending"

        await until(recorded, WITHIN, "the failed attempt recorded")
        await kill(first)  # between the failed attempt and its retry
    retry_due = (await stored(database, gate_id)).callback_next_at
    assert retry_due is not None

    async with serve(**env) as second:
        delivered = await receiver.attempt(2)
        assert delivered.answered == 204

        async def done() -> bool:
            return (await stored(database, gate_id)).callback_state == "delivered"

        await until(done, WITHIN, "the delivery recorded")
        second.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.proc.wait(), 15) == 0

    # one delivery id, a UUID, on both attempts; the same signed bytes; a verified signature
    assert failed.delivery == delivered.delivery
    assert str(uuid.UUID(failed.delivery or "")) == failed.delivery
    assert failed.body == delivered.body
    assert verify(failed.body, failed.signature) and verify(delivered.body, delivered.signature)
    assert not verify(delivered.body, delivered.signature, secret=SECRET[::-1])  # it can fail
    assert not verify(delivered.body + b" ", delivered.signature)
    document = json.loads(delivered.body)
    assert (document["id"], document["status"], document["verdict"]) == (gate_id, "done", "pass")
    # the backoff: the first retry comes 5-10 s after the first attempt, restart or not
    assert delivered.at - failed.at >= 5.0
    # exactly one 2xx, and nothing more to send
    assert [a.answered for a in receiver.attempts] == [500, 204]
    gate = await stored(database, gate_id)
    assert (gate.callback_state, gate.callback_attempts, gate.callback_next_at) == (
        "delivered",
        2,
        None,
    )
    assert gate.callback_delivery == failed.delivery
    assert receiver.elsewhere == []
    names = [e["event"] for e in first.events()]
    assert "callback.retry" in names
    assert "callback.delivered" in [e["event"] for e in second.events()]
    assert_secret_kept(database, first, second)


async def test_a_callback_outside_the_allow_list_is_refused_at_submit_and_never_called(
    stage, aiohttp_server, tmp_path: Path
):
    receiver = Receiver()
    receiver_url = await receiving(aiohttp_server, receiver)
    database = tmp_path / "gates.db"
    env = callback_env(stage, database, receiver_url)
    stage.finish_evaluations()
    outside = [
        f"{receiver_url}/admin",  # the allowed origin, another path
        f"{receiver_url}/hooksx/eval-gate",  # not under /hooks (paths match at "/")
        f"{receiver_url.replace('127.0.0.1', 'localhost')}/hooks/eval-gate",  # another host
    ]
    async with serve(**env) as served, client(served) as session:
        for url in outside:
            body = {**gate_body(1), "callback": {"url": url}}
            async with session.post("/v1/gates", json=body) as resp:
                answer = await resp.json()
                assert resp.status == 400, answer
                assert "EVAL_GATE_CALLBACK_ALLOW" in answer["message"], answer
        # an allowed one is called, so the server does send callbacks
        allowed = {**gate_body(2), "callback": {"url": f"{receiver_url}/hooks/eval-gate"}}
        status, made = await submit(session, allowed)
        assert status == 202
        attempt = await receiver.attempt(1)
        assert verify(attempt.body, attempt.signature)
        assert json.loads(attempt.body)["id"] == made["id"]
        async with session.get("/v1/gates") as resp:
            listed = await resp.json()
        assert [g["id"] for g in listed["gates"]] == [made["id"]]  # the refused made no gate
    assert receiver.elsewhere == []
    assert len(receiver.attempts) == 1
    assert_secret_kept(database, served)
