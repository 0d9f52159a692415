"""docs/service/callbacks.md cannot drift from the code: its receiver (the `receiver.py` block) is
run as it is shown, on 127.0.0.1, and verifies real callbacks the service's code signs; its
allow-list table is what `check_callback_url` says of each URL under the page's own setting;
its retry table is the schedule's."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
import pytest

from gate.http.aiohttp_transport import AiohttpTransport
from gate.worker import (
    DEFAULT_SCHEDULE,
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    AllowList,
    CallbackSettings,
    CallbackUrl,
    callback_body,
    check_callback_url,
    deliver_callback,
    signature,
)
from tests.docs.examples import Block, blocks
from tests.paths import REPO

PAGE = "docs/service/callbacks.md"
SECRET = "cbk_Zq8Wx7Ev6Rc5Tb4Yn3Um2Ik1Ol0Pa9Sd"
T0 = 1_767_225_600_000
DOCUMENT = {"id": "g_01", "status": "done", "result": {"verdict": "pass", "exit_code": 0}}


def page() -> str:
    return (REPO / PAGE).read_text(encoding="utf-8")


def receiver_block() -> Block:
    (block,) = [b for b in blocks(page(), PAGE) if b.title == "receiver.py"]
    assert block.language == "python"
    return block


def table_after(heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after `heading` (header and rule left out)."""
    lines = page().split("\n")
    start = lines.index(heading)
    while not lines[start].startswith("|"):
        start += 1
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


@pytest.fixture
async def documented_receiver(aiohttp_server, monkeypatch):
    """The page's receiver.py, run as a module with the secret in its environment, served on
    127.0.0.1; returns (its URL, what its `on_gate` was handed)."""
    monkeypatch.setenv("EVAL_GATE_CALLBACK_SECRET", SECRET)
    namespace: dict[str, Any] = {"__name__": "receiver"}
    exec(compile(receiver_block().text, receiver_block().where, "exec"), namespace)
    handled: list[dict[str, Any]] = []

    async def on_gate(gate: dict[str, Any]) -> None:
        handled.append(gate)

    namespace["on_gate"] = on_gate
    server = await aiohttp_server(namespace["app"])
    return f"http://127.0.0.1:{server.port}/eval-gate", handled


async def deliver(url: str, secret: str, delivery: str, attempt: int = 1) -> Any:
    settings = CallbackSettings(secret=secret, allow=AllowList.parse(url))
    async with aiohttp.ClientSession() as session:
        return await deliver_callback(
            url,
            callback_body(DOCUMENT),
            delivery=delivery,
            attempt=attempt,
            first_at=T0,
            settings=settings,
            transport=AiohttpTransport(session),
            clock=lambda: T0,
        )


async def test_the_documented_receiver_verifies_a_real_callback_and_drops_its_repeat(
    documented_receiver,
):
    url, handled = documented_receiver
    delivery = str(uuid.uuid4())
    first = await deliver(url, SECRET, delivery)
    assert (first.state, first.status) == ("delivered", 204)
    assert handled == [DOCUMENT]
    repeat = await deliver(url, SECRET, delivery, attempt=2)
    assert (repeat.state, repeat.status) == ("delivered", 204)
    assert handled == [DOCUMENT]  # the same delivery id: handled once, answered 2xx


async def test_the_documented_receiver_refuses_another_secret_or_a_changed_body(
    documented_receiver,
):
    url, handled = documented_receiver
    forged = await deliver(url, "another_secret_of_32_characters!", str(uuid.uuid4()))
    assert (forged.state, forged.status) == ("pending", 401)
    body = callback_body(DOCUMENT)
    changed = body.replace(b'"pass"', b'"fail"')
    good = signature(body, SECRET)
    async with aiohttp.ClientSession() as session:
        for sent, signed in [(changed, good), (body, None), (body, "sha256="), (body, good[:-1])]:
            headers = {DELIVERY_HEADER: str(uuid.uuid4()), "Content-Type": "application/json"}
            if signed is not None:
                headers[SIGNATURE_HEADER] = signed
            async with session.post(url, data=sent, headers=headers) as answer:
                assert answer.status == 401, (sent, signed)
    assert handled == []


def test_the_allow_list_table_is_what_the_code_says_under_the_page_s_setting():
    (setting,) = re.findall(r'^EVAL_GATE_CALLBACK_ALLOW="([^"]*)"$', page(), re.MULTILINE)
    allow = AllowList.parse(setting)
    rows = table_after("## Allowing callback URLs")
    assert len(rows) >= 10
    for cells in rows:
        urls = re.findall(r"`([^`]+)`", cells[0])
        assert urls and cells[1] in ("yes", "no"), cells
        for url in urls:
            allowed = isinstance(check_callback_url(url, allow), CallbackUrl)
            assert allowed is (cells[1] == "yes"), url


def test_the_retry_table_is_the_schedule():
    rows = table_after("## When it is tried again")

    def seconds(text: str) -> list[float]:
        return [float(n.replace(",", "")) for n in re.findall(r"[\d,]+", text)]

    for attempt, cells in enumerate(rows, start=1):
        assert cells[0] in (str(attempt), f"{attempt} and later")
        low, high = seconds(cells[1])
        assert DEFAULT_SCHEDULE.wait(attempt, retry_after=None, rand=0.0) == low, cells
        assert DEFAULT_SCHEDULE.wait(attempt, retry_after=None, rand=1.0) == high, cells
    last = len(rows)
    assert rows[-1][0] == f"{last} and later"
    for later in (last + 1, last + 10):
        assert DEFAULT_SCHEDULE.wait(later, retry_after=None, rand=0.0) == low
        assert DEFAULT_SCHEDULE.wait(later, retry_after=None, rand=1.0) == high
