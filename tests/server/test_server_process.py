"""`eval-gate serve` as a real process: start-up, SIGTERM with a gate in flight, JSON logs (and,
in process, the settings refused before anything listens)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.cli_helpers import REPO, clean_env, cli
from tests.roboflow_standin import RoboflowStandIn
from tests.server.test_server import (
    KEY,
    SECRETS,
    TOKEN,
    assert_no_secret,
    call,
    gate_body,
    wait_for,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    url: str
    stderr: list[str]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr if line.strip()]


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode())


@contextlib.asynccontextmanager
async def serve(*args: str, **env: str) -> AsyncIterator[Served]:
    """`python -m gate serve` on a free port, up once /healthz answers; killed if left running.
    Its database is a new file in a temporary directory unless `env` names one."""
    port = free_port()
    if "EVAL_GATE_DATABASE_URL" not in env:
        env["EVAL_GATE_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/eval-gate.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gate",
        "serve",
        "--port",
        str(port),
        *args,
        cwd=REPO,
        env=clean_env(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    reader = asyncio.create_task(_collect(proc.stderr, lines))
    served = Served(proc, f"http://127.0.0.1:{port}", lines)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                assert proc.returncode is None, "".join(lines)
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{served.url}/healthz") as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("eval-gate serve did not come up:\n" + "".join(lines))
        yield served
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await reader


@pytest.fixture
async def api_url(aiohttp_server) -> tuple[RoboflowStandIn, str]:
    standin = RoboflowStandIn(api_key=KEY, workspace="ws")
    server = await aiohttp_server(standin.app())
    return standin, str(server.make_url("")).rstrip("/")


async def test_sigterm_finishes_the_gate_in_flight_while_readyz_says_draining(api_url):
    standin, url = api_url
    standin.latency = 1.5
    standin.add_eval("e1")
    env = {"EVAL_GATE_TOKENS": TOKEN, "ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
    async with (
        serve("--log-level", "debug", **env) as served,
        aiohttp.ClientSession(served.url) as session,
    ):
        slow = asyncio.create_task(
            call(
                session,
                "POST",
                "/v1/gate",
                body=gate_body("e1"),
                headers={"X-Request-Id": "slow-gate-1"},
            )
        )
        await wait_for(lambda: standin.count("map-results") == 1)
        served.proc.send_signal(signal.SIGTERM)
        await wait_for(lambda: any("server.draining" in line for line in served.stderr))
        ready = await call(session, "GET", "/readyz", token=None)
        assert ready.status == 503
        assert ready.json["error"] == "draining"
        refused = await call(session, "POST", "/v1/gate", body=gate_body("e1"))
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "1"
        answer = await slow
        assert answer.status == 200, answer.text
        assert answer.json["verdict"] == "pass"
        assert answer.headers["X-Request-Id"] == "slow-gate-1"
        assert await asyncio.wait_for(served.proc.wait(), 15) == 0
    events = served.events()  # every line is JSON
    names = [e["event"] for e in events]
    assert (
        names.index("server.draining") < names.index("gate.verdict") < names.index("server.stopped")
    )
    mine = [e for e in events if e.get("request_id") == "slow-gate-1"]
    assert {"fetch.done", "gate.verdict", "http.request"} <= {e["event"] for e in mine}
    assert all("request_id" in e for e in events if e["event"] == "http.request")
    assert_no_secret("".join(served.stderr))


async def test_insecure_no_auth_says_so_loudly_and_serves(api_url):
    standin, url = api_url
    standin.add_eval("e1")
    env = {"ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
    async with (
        serve("--insecure-no-auth", "--log-format", "console", **env) as served,
        aiohttp.ClientSession(served.url) as session,
    ):
        answer = await call(session, "POST", "/v1/gate", token=None, body=gate_body("e1"))
        assert answer.status == 200
        served.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(served.proc.wait(), 15) == 0
    warnings = [line for line in served.stderr if "AUTHENTICATION IS DISABLED" in line]
    assert len(warnings) == 1
    assert "warning" in warnings[0]
    for secret in SECRETS:
        assert secret not in "".join(served.stderr)


async def test_serve_refuses_to_start_without_tokens():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gate",
        "serve",
        "--port",
        str(free_port()),
        cwd=REPO,
        env=clean_env(ROBOFLOW_API_KEY=KEY),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    line = json.loads(err.decode())  # one JSON error line (serve logs JSON by default)
    assert "EVAL_GATE_TOKENS" in line["message"]
    assert "--insecure-no-auth" in line["message"]
    assert KEY not in err.decode() + out.decode()


async def test_serve_reports_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gate",
            "serve",
            "--port",
            str(port),
            "--log-format",
            "console",
            cwd=REPO,
            env=clean_env(
                EVAL_GATE_TOKENS=TOKEN, EVAL_GATE_DATABASE_URL=f"sqlite:///{tmp_path}/gates.db"
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
    assert "Traceback" not in err.decode()
    assert TOKEN not in err.decode()


async def test_a_client_hanging_up_mid_body_is_logged_and_counted_as_499(api_url):
    """As served by `eval-gate serve` (aiohttp's run_app does not cancel the handler: its read
    of the body fails instead), not as a server error with a traceback."""
    _, url = api_url
    env = {"EVAL_GATE_TOKENS": TOKEN, "ROBOFLOW_API_KEY": KEY, "ROBOFLOW_API_URL": url}
    async with serve(**env) as served, aiohttp.ClientSession(served.url) as session:
        port = int(served.url.rsplit(":", 1)[1])
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /v1/gate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            + b'{"config": "version: 1'
        )
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        await writer.wait_closed()
        await wait_for(lambda: any("server.client_disconnected" in line for line in served.stderr))
        metrics = (await call(session, "GET", "/metrics")).text
        served.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(served.proc.wait(), 15) == 0
    assert 'route="/v1/gate",status="499"} 1.0' in metrics
    assert 'status="500"' not in metrics
    events = served.events()
    names = [e["event"] for e in events]
    assert "server.internal_error" not in names
    gone = next(e for e in events if e["event"] == "server.client_disconnected")
    assert (gone["level"], gone["path"], gone["content_length"]) == ("info", "/v1/gate", 1000)
    assert "Traceback" not in "".join(served.stderr)
    access = [e for e in events if e["event"] == "http.request" and e["path"] == "/v1/gate"]
    assert [e["status"] for e in access] == [499]


@pytest.mark.parametrize(
    ("name", "value"), [("EVAL_GATE_REQUEST_DEADLINE", "inf"), ("EVAL_GATE_MAX_CHECKS", "nan")]
)
def test_a_non_finite_setting_exits_2_with_one_line(name, value):
    # In process (`gate.cli.main.run`): the settings are refused before anything listens.
    proc = cli(
        "serve",
        "--port",
        str(free_port()),
        cwd=REPO,
        env=clean_env(EVAL_GATE_TOKENS=TOKEN, **{name: value}),
    )
    assert proc.code == 2
    line = json.loads(proc.err)
    assert line["message"].startswith(f"{name} must be a ")
    assert TOKEN not in proc.err
