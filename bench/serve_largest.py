"""Does `eval-gate serve` stay responsive while it runs the largest requests it allows?

Starts the stand-in Roboflow API (no added latency; 2 evals of 1,111 classes over three
splits) and `python -m gate serve` with its default limits (1 MiB bodies, 20,000 checks a
request, 2 work threads), each its own process on a free 127.0.0.1 port. A probe thread
asks `GET /healthz` every 50 ms on a keep-alive connection (blocking `http.client`, so
nothing else in this process delays it) and records each answer's latency; meanwhile one
scenario at a time is sent (urllib, in threads for the concurrent one):

1. largest gate: `eval-0002` with `eval-0001` as baseline, six `split: "*"` /
   `classes: "*"` rules (three `min`, three `max_drop_pct`): 6 x 3 x 1,111 = 19,998 checks,
   the most under the default 20,000, with `max_chars: 1000000` (the longest report), one
   request at a time (`--runs`, default 3; each run has its own title, so no answer is
   remembered);
2. four largest gates at once (twice the work threads: two wait their turn in the queue);
3. largest body: 1 MiB of YAML config holding 64,000 invalid compact rules (the biggest
   validation a body under the cap can ask for), answered 400 with 50 problems and a count;
4. the issue's request: 1,000 rules x 100 evals over every split and class (1.6M checks
   before this change), refused with 400 `too_many_checks` before any fetch (so the 100
   evals need not exist).

For each: the wall time of the request(s), the answer's size, the worst `/healthz` latency
while it ran (target: under 1 s, always), and the server's peak RSS so far (VmHWM of
/proc/PID/status: a high-water mark, so it only grows from one scenario to the next).

    /work/venv/bin/python bench/serve_largest.py [--runs 3]

The machine has 2 cores: the server's event loop and its two work threads share them with
this script and the stand-in (the GIL lets one of the server's threads run Python at a time:
the loop gets it back within the 5 ms switch interval, or when a thread waits).
"""

from __future__ import annotations

import functools
import http.client
import json
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from _common import (
    API_KEY,
    LOOPBACK,
    PYTHON,
    REPO,
    WORKSPACE,
    BenchError,
    Row,
    _die_with_parent,
    _prctl,
    bench_main,
    child_env,
    free_port,
    healthy,
    machine,
    opener,
    standin,
    stop,
)

TOKEN = "bench-token-0123456789abcdef"  # a fixed bearer token for the gate server
CLASSES = 1111  # 6 rules x 3 splits x 1,111 classes = 19,998 checks
PROBE_EVERY = 0.05
TARGET_HEALTHZ = 1.0  # seconds: the worst /healthz latency allowed while any request runs
REQUEST_TIMEOUT = 300.0
SERVER_START_TIMEOUT = 30.0
CONCURRENT = 4
BIG_BODY_RULES = 64_000


# --------------------------------------------------------------------------- the requests


def largest_gate(title: str) -> dict[str, Any]:
    every = {"metric": "map50", "split": "*", "classes": "*"}
    rules = [{**every, "min": 0.6}] * 3 + [{**every, "max_drop_pct": 5}] * 3
    config = {
        "version": 1,
        "workspace": WORKSPACE,
        "evals": [{"id": "eval-0002", "baseline": "eval-0001"}],
        "rules": rules,
    }
    return {"config": config, "max_chars": 1_000_000, "title": title}


def largest_body() -> dict[str, Any]:
    text = "version: 1\nworkspace: ws\nrules:\n" + "  - map50 >= 2\n" * BIG_BODY_RULES
    return {"config": text, "evals": ["eval-0001"]}


def issue_request() -> dict[str, Any]:
    rule = {"metric": "map50", "split": "*", "classes": "*", "min": 0.5}
    config = {"version": 1, "workspace": WORKSPACE, "rules": [rule] * 1000}
    return {"config": config, "evals": [f"eval-{i:04d}" for i in range(1, 101)]}


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    port: int
    pid: int
    stderr: IO[bytes]

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise BenchError("no VmHWM in /proc/PID/status")

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else "no output"


@contextmanager
def gate_server(upstream: str) -> Iterator[Server]:
    """`python -m gate serve` on a free port with the default limits; stopped however we leave."""
    port = free_port()
    env = child_env(
        {"EVAL_GATE_TOKENS": TOKEN, "ROBOFLOW_API_KEY": API_KEY, "ROBOFLOW_API_URL": upstream}
    )
    cmd = [PYTHON, "-m", "gate", "serve", "--host", LOOPBACK, "--port", str(port)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=functools.partial(_die_with_parent, _prctl()),  # noqa: PLW1509 - as _common.standin
        )
        server = Server(f"http://{LOOPBACK}:{port}", port, proc.pid, err)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not healthy(server.url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"eval-gate serve did not start: {server.stderr_tail()}")
                time.sleep(0.05)
            yield server
        finally:
            stop(proc)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    seconds: float


def post(server: Server, body: dict[str, Any]) -> Answer:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        f"{server.url}/v1/gate",
        data=data,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        method="POST",
    )
    started = time.perf_counter()
    try:
        with opener().open(request, timeout=REQUEST_TIMEOUT) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except OSError as error:
        raise BenchError(f"POST /v1/gate failed: {error}") from None
    return Answer(status, raw, time.perf_counter() - started)


# --------------------------------------------------------------------------- the probe


class Probe:
    """GET /healthz every PROBE_EVERY seconds on one keep-alive connection, in a thread."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latencies: list[float] = []
        self._error: str | None = None
        self._thread = threading.Thread(target=self._loop, name="healthz-probe", daemon=True)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(REQUEST_TIMEOUT)

    def _loop(self) -> None:
        connection = http.client.HTTPConnection(LOOPBACK, self._server.port, timeout=30)
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    connection.request("GET", "/healthz")
                    response = connection.getresponse()
                    response.read()
                except OSError as error:
                    self._error = f"/healthz failed: {error}"
                    return
                latency = time.perf_counter() - started
                if response.status != 200:
                    self._error = f"/healthz answered {response.status}"
                    return
                with self._lock:
                    self._latencies.append(latency)
                self._stop.wait(PROBE_EVERY)
        finally:
            connection.close()

    def mark(self) -> int:
        with self._lock:
            return len(self._latencies)

    def since(self, mark: int) -> list[float]:
        if self._error is not None:
            raise BenchError(self._error)
        with self._lock:
            return self._latencies[mark:]


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True, slots=True)
class Measured:
    name: str
    seconds: float  # wall time until every request of the scenario was answered
    answer_bytes: int  # the largest answer's size
    statuses: tuple[int, ...]
    worst_healthz: float
    probes: int
    peak_rss_mib: float
    note: str

    def fmt(self) -> str:
        return (
            f"{self.seconds:.2f} s, answer {self.answer_bytes / 1e6:.2f} MB "
            f"(HTTP {'/'.join(str(s) for s in sorted(set(self.statuses)))}), worst /healthz "
            f"{self.worst_healthz * 1000:.0f} ms over {self.probes} probes, peak RSS "
            f"{self.peak_rss_mib:.0f} MiB"
        )


def scenario(
    server: Server,
    probe: Probe,
    name: str,
    send: Callable[[], list[Answer]],
    check: Callable[[list[Answer]], str],
) -> Measured:
    time.sleep(0.3)  # a few idle probes between scenarios
    mark = probe.mark()
    started = time.perf_counter()
    answers = send()
    seconds = time.perf_counter() - started
    time.sleep(PROBE_EVERY * 2)  # the probe in flight when the last answer came back
    latencies = probe.since(mark)
    if not latencies:
        raise BenchError(f"{name}: no /healthz answer while it ran")
    note = check(answers)
    measured = Measured(
        name,
        seconds,
        max(len(a.body) for a in answers),
        tuple(a.status for a in answers),
        max(latencies),
        len(latencies),
        server.peak_rss_mib(),
        note,
    )
    print(f"- {name}: {measured.fmt()}; {note}")
    return measured


def _document(answer: Answer, status: int, what: str) -> dict[str, Any]:
    if answer.status != status:
        raise BenchError(f"{what}: HTTP {answer.status} (expected {status}): {answer.body[:300]!r}")
    document: Any = json.loads(answer.body)
    return dict(document)


def _checked_gate(answers: list[Answer]) -> str:
    totals = {_document(a, 200, "largest gate")["counts"]["total"] for a in answers}
    if totals != {6 * 3 * CLASSES}:
        raise BenchError(f"largest gate: {totals} checks, expected {6 * 3 * CLASSES}")
    return f"{6 * 3 * CLASSES:,} checks each"


def _checked_big_body(answers: list[Answer]) -> str:
    error = _document(answers[0], 400, "largest body")
    if len(error["problems"]) != 50 or error["problems_total"] != BIG_BODY_RULES:
        raise BenchError(f"largest body: unexpected answer {answers[0].body[:300]!r}")
    return f"400 {error['error']}, 50 of {error['problems_total']:,} problems listed"


def _checked_issue(answers: list[Answer]) -> str:
    error = _document(answers[0], 400, "the issue's request")
    if error["error"] != "too_many_checks":
        raise BenchError(f"the issue's request: unexpected answer {answers[0].body[:300]!r}")
    return f"400 too_many_checks ({error['checks']:,} > {error['max_checks']:,})"


def run(runs: int = 3) -> list[Row]:
    print(f"## serve under its largest requests ({machine()})\n")
    with (
        standin(latency=0.0, evals=2, classes=CLASSES) as upstream,
        gate_server(upstream) as server,
        Probe(server) as probe,
    ):
        print(f"- server started: peak RSS {server.peak_rss_mib():.0f} MiB")
        largest = [
            scenario(
                server,
                probe,
                f"largest gate, run {index}",
                lambda index=index: [post(server, largest_gate(f"run {index}"))],
                _checked_gate,
            )
            for index in range(1, runs + 1)
        ]

        def four_at_once() -> list[Answer]:
            with ThreadPoolExecutor(CONCURRENT) as pool:
                bodies = [largest_gate(f"concurrent {i}") for i in range(CONCURRENT)]
                return list(pool.map(functools.partial(post, server), bodies))

        concurrent = scenario(
            server, probe, f"{CONCURRENT} largest gates at once", four_at_once, _checked_gate
        )
        body = json.dumps(largest_body()).encode()
        print(f"- the largest body is {len(body):,} bytes")
        big_body = scenario(
            server,
            probe,
            "largest body (64,000 invalid YAML rules)",
            lambda: [post(server, largest_body())],
            _checked_big_body,
        )
        issue = scenario(
            server,
            probe,
            "the issue's request (1,000 rules x 100 evals)",
            lambda: [post(server, issue_request())],
            _checked_issue,
        )
    everything = [*largest, concurrent, big_body, issue]
    worst = max(m.worst_healthz for m in everything)
    median_gate = statistics.median(m.seconds for m in largest)
    print()
    return [
        Row(
            "serve: largest gate (19,998 checks, max_chars 1,000,000), one at a time",
            f"median {median_gate:.2f} s, answer {largest[0].answer_bytes / 1e6:.1f} MB, worst "
            f"/healthz {max(m.worst_healthz for m in largest) * 1000:.0f} ms, peak RSS "
            f"{largest[-1].peak_rss_mib:.0f} MiB",
            f"/healthz <= {TARGET_HEALTHZ * 1000:.0f} ms",
            max(m.worst_healthz for m in largest) <= TARGET_HEALTHZ,
        ),
        Row(
            f"serve: {CONCURRENT} largest gates at once",
            f"{concurrent.seconds:.2f} s for all, worst /healthz "
            f"{concurrent.worst_healthz * 1000:.0f} ms, peak RSS {concurrent.peak_rss_mib:.0f} MiB",
            f"/healthz <= {TARGET_HEALTHZ * 1000:.0f} ms",
            concurrent.worst_healthz <= TARGET_HEALTHZ,
        ),
        Row(
            "serve: largest body (1 MiB, 64,000 invalid rules)",
            f"{big_body.seconds:.2f} s, answer {big_body.answer_bytes:,} bytes, worst /healthz "
            f"{big_body.worst_healthz * 1000:.0f} ms",
            f"/healthz <= {TARGET_HEALTHZ * 1000:.0f} ms",
            big_body.worst_healthz <= TARGET_HEALTHZ,
        ),
        Row(
            "serve: the issue's 1,000 rules x 100 evals",
            f"refused in {issue.seconds * 1000:.0f} ms, worst /healthz "
            f"{issue.worst_healthz * 1000:.0f} ms; worst /healthz of all: {worst * 1000:.0f} ms",
            f"/healthz <= {TARGET_HEALTHZ * 1000:.0f} ms",
            worst <= TARGET_HEALTHZ,
        ),
    ]


def main() -> int:
    return bench_main(
        "serve_largest", __doc__ or "", run, default_runs=3, runs_help="largest gates one at a time"
    )


if __name__ == "__main__":
    raise SystemExit(main())
