"""How many gate requests a second does `eval-gate serve` answer, against a bare aiohttp app?

Starts three servers on free 127.0.0.1 ports, each its own process: the stand-in Roboflow
API (0.2 s added to every reply), `python -m gate serve` (bearer tokens from
`EVAL_GATE_TOKENS`, the Roboflow key and URL from the environment), and a bare aiohttp
application with one POST route that reads the JSON body and answers a fixed JSON body as
big as the gate's answer (the ceiling: no aiohttp handler can do less). A load
generator, in yet another process (this script's `loadgen` mode: asyncio + aiohttp, N
clients on N keep-alive connections, each sending its next request when the last answer
has arrived), sends `POST /v1/gate` for 2 s of warm-up, then for a 10 s measured window,
and prints JSON: requests answered in the window per second, latency percentiles, and the
CPU seconds the client, the server and the whole machine spent in the window.

Measured, in interleaved rounds:

1. warm: every request names `eval-0001`, whose map-results the server cached (a probe
   request before the rounds fetched it), at 16 and 64 clients;
2. ceiling: the bare app, same requests, same clients; target: the gate answers at
   least half as many requests a second as the bare app (medians over rounds);
3. cold: every request names an eval no request named before, so each costs the server a
   map-results fetch from the stand-in (0.2 s), at 16 clients (at most 16 / 0.2 = 80/s);
4. once: 64 clients against a second gate server left at the default limit of gates at
   once (16), counting its 429 answers (the first server allows 64, so all are gated).

    /work/venv/bin/python bench/serve_throughput.py [--rounds 2] [--duration 10] [--warmup 2]

The machine has 2 cores: the server, the load generator (and, when cold, the stand-in)
share them, so a server never has a core to itself; the JSON says how busy each one was.
A Python client costs about what the bare app does per request, so the bare runs are
client-bound: the server CPU per request (printed too) is the comparison that does not
depend on the client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

from _common import (
    API_KEY,
    BENCH,
    LOOPBACK,
    PYTHON,
    REPO,
    WORKSPACE,
    BenchError,
    Row,
    Stats,
    _die_with_parent,
    _prctl,
    child_env,
    expect,
    free_port,
    handle_termination,
    healthy,
    machine,
    opener,
    run_timed,
    standin,
    stop,
    table,
)

SCRIPT = BENCH / "serve_throughput.py"
LATENCY = 0.2
CONCURRENCY = (16, 64)
COLD_CONCURRENCY = 16
DURATION = 10.0
WARMUP = 2.0
TARGET_RATIO = 0.5
TOKEN = "bench-token-0123456789abcdef"  # a fixed bearer token for the gate server
WARM_EVAL = "eval-0001"
COLD_FIRST = 101  # cold ids start at eval-0101 (eval-0001 is the warm one)
COLD_PER_ROUND = 1500  # > 80/s x (warm-up + window + slack): never reused within a run
MAX_REQUESTS = 2_000_000  # the load generator's hard cap, whatever the duration
SERVER_START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0
CONFIG: dict[str, Any] = {"version": 1, "workspace": WORKSPACE, "rules": ["map50 >= 0.1"]}
EVAL_PLACEHOLDER = "__EVAL__"


def request_template() -> str:
    """The JSON body of every request, with EVAL_PLACEHOLDER where the eval id goes."""
    return json.dumps({"config": CONFIG, "evals": [EVAL_PLACEHOLDER], "workspace": WORKSPACE})


def request_body(eval_id: str) -> bytes:
    return request_template().replace(EVAL_PLACEHOLDER, eval_id).encode()


# --------------------------------------------------------------------------- load generator


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) process `pid` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int, int]:
    """(busy, total, steal) clock ticks over all CPUs since boot, from /proc/stat."""
    with Path("/proc/stat").open() as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return total - idle, total, steal


@dataclass(frozen=True, slots=True)
class _Snapshot:
    at: float
    client_cpu: float
    server_cpu: float | None
    ticks: tuple[int, int, int]

    @classmethod
    def now(cls, server_pid: int | None) -> _Snapshot:
        server = None
        if server_pid is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                server = _proc_cpu(server_pid)
        return cls(time.monotonic(), time.process_time(), server, _machine_ticks())


def _percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence (nan when empty)."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


async def _generate(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp  # noqa: PLC0415 - only the load generator's process needs it

    template = request_template()
    static = template.replace(EVAL_PLACEHOLDER, args.eval).encode()
    fresh = iter(range(args.fresh_from, args.fresh_from + args.fresh_count))

    def next_body() -> bytes | None:
        if args.fresh_count == 0:
            return static
        number = next(fresh, None)
        if number is None:
            return None
        return template.replace(EVAL_PLACEHOLDER, f"eval-{number:04d}").encode()

    headers = {"Content-Type": "application/json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    samples: list[tuple[float, float, int]] = []  # (sent, answered, status)
    first_error: list[str] = []
    state = {"issued": 0, "ran_out": 0, "bytes": 0}
    loop = asyncio.get_running_loop()
    start = loop.time()
    window_start, window_end = start + args.warmup, start + args.warmup + args.duration
    snapshots: list[_Snapshot] = []
    for at in (window_start, window_end):
        loop.call_at(at, lambda: snapshots.append(_Snapshot.now(args.server_pid)))

    async def client(session: aiohttp.ClientSession) -> None:
        while loop.time() < window_end and state["issued"] < args.max_requests:
            body = next_body()
            if body is None:
                state["ran_out"] = 1
                return
            state["issued"] += 1
            sent = loop.time()
            try:
                async with session.request(
                    args.method,
                    args.url,
                    data=body if args.method == "POST" else None,
                    headers=headers,
                ) as response:
                    payload = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                payload, status = repr(error).encode(), -1
            samples.append((sent, loop.time(), status))
            if status == 200:
                state["bytes"] = len(payload)
            elif status not in args.also_ok and not first_error:
                first_error.append(f"{status}: {payload[:200].decode('utf-8', 'replace')}")

    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        clients = [client(session) for _ in range(args.concurrency)]
        await asyncio.wait_for(
            asyncio.gather(*clients), args.warmup + args.duration + REQUEST_TIMEOUT + 10
        )
    while len(snapshots) < 2:  # every client stopped early (ran out, cap): snapshot now
        snapshots.append(_Snapshot.now(args.server_pid))
    return _summary(args, samples, snapshots, state, first_error)


def _summary(
    args: argparse.Namespace,
    samples: Sequence[tuple[float, float, int]],
    snapshots: Sequence[_Snapshot],
    state: dict[str, int],
    first_error: Sequence[str],
) -> dict[str, Any]:
    """The load generator's JSON: answers completed between the two snapshots."""
    first, last = snapshots[0], snapshots[1]
    window = last.at - first.at
    in_window = [(s, a, st) for s, a, st in samples if first.at <= a <= last.at]
    latencies = sorted(a - s for s, a, st in in_window if st == 200)
    statuses = Counter(str(st) for _, _, st in in_window)
    busy, total = last.ticks[0] - first.ticks[0], last.ticks[1] - first.ticks[1]
    also_ok = {str(code) for code in args.also_ok}
    return {
        "concurrency": args.concurrency,
        "window": window,
        "answered": len(latencies),
        "errors": sum(n for st, n in statuses.items() if st != "200" and st not in also_ok),
        "rejected": statuses.get("429", 0),
        "statuses": dict(statuses),
        "issued": state["issued"],
        "ran_out": bool(state["ran_out"]),  # clients only take a body before the window ends
        "rps": len(latencies) / window if window > 0 else 0.0,
        "p50": _percentile(latencies, 50),
        "p90": _percentile(latencies, 90),
        "p99": _percentile(latencies, 99),
        "max": latencies[-1] if latencies else math.nan,
        "client_cpu": last.client_cpu - first.client_cpu,
        "server_cpu": (
            None
            if first.server_cpu is None or last.server_cpu is None
            else last.server_cpu - first.server_cpu
        ),
        "machine_busy": busy / total if total else math.nan,
        "machine_steal": (last.ticks[2] - first.ticks[2]) / total if total else math.nan,
        "response_bytes": state["bytes"],
        "first_error": first_error[0] if first_error else None,
    }


def loadgen_main(args: argparse.Namespace) -> int:
    result = asyncio.run(_generate(args))
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- bare server


def bare_main(args: argparse.Namespace) -> int:
    from aiohttp import web  # noqa: PLC0415 - only the bare server's process needs it

    filler = max(0, args.body_bytes - len(json.dumps({"verdict": "pass", "padding": ""})))
    answer = json.dumps({"verdict": "pass", "padding": "x" * filler}).encode()

    async def gate(request: web.Request) -> web.Response:
        await request.json()
        return web.Response(body=answer, content_type="application/json")

    async def healthz(request: web.Request) -> web.Response:
        del request
        return web.Response(text="ok")

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/v1/gate", gate)
        app.router.add_get("/healthz", healthz)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0)
        await site.start()
        sys.stdout.write(f"http://{LOOPBACK}:{runner.addresses[0][1]}\n")
        sys.stdout.flush()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        try:
            await stopped.wait()
        finally:
            await runner.cleanup()

    asyncio.run(serve())
    return 0


# --------------------------------------------------------------------------- orchestration


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    pid: int
    stderr: IO[bytes]

    def peak_rss_mib(self) -> float | None:
        """The server's peak resident set size so far (VmHWM), while it still runs."""
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def stderr_bytes(self) -> int:
        self.stderr.flush()
        return os.fstat(self.stderr.fileno()).st_size

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else "no output"


@contextmanager
def _server(
    cmd: Sequence[str], env: dict[str, str], url: str | None, what: str
) -> Iterator[Server]:
    """A server child process, ready when /healthz answers 200; stopped however we leave.

    `url` None: the child prints its URL on stdout (it picked a free port itself).
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            list(cmd),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if url is None else subprocess.DEVNULL,
            stderr=err,
            preexec_fn=functools.partial(_die_with_parent, _prctl()),  # noqa: PLW1509 - as _common.standin
        )
        server = Server(url or "", proc.pid, err)
        try:
            if url is None:
                assert proc.stdout is not None
                ready, _, _ = select.select([proc.stdout], [], [], SERVER_START_TIMEOUT)
                url = proc.stdout.readline().decode().strip() if ready else ""
                server = Server(url, proc.pid, err)
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not (url and healthy(url)):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"{what} did not start: {server.stderr_tail()}")
                time.sleep(0.05)
            yield server
        finally:
            stop(proc)


def gate_server(upstream: str, max_gates: int | None) -> contextlib.AbstractContextManager[Server]:
    """`python -m gate serve` on a free port; `max_gates` None keeps the default limit."""
    port = free_port()
    extra = {"EVAL_GATE_TOKENS": TOKEN, "ROBOFLOW_API_KEY": API_KEY, "ROBOFLOW_API_URL": upstream}
    if max_gates is not None:
        extra["EVAL_GATE_MAX_CONCURRENT_GATES"] = str(max_gates)
    cmd = [PYTHON, "-m", "gate", "serve", "--host", LOOPBACK, "--port", str(port)]
    return _server(cmd, child_env(extra), f"http://{LOOPBACK}:{port}", "eval-gate serve")


def bare_server(body_bytes: int) -> contextlib.AbstractContextManager[Server]:
    cmd = [PYTHON, str(SCRIPT), "bare-server", "--body-bytes", str(body_bytes)]
    return _server(cmd, child_env(), None, "the bare aiohttp server")


def probe(server: Server) -> tuple[int, dict[str, Any]]:
    """One authorised gate request for WARM_EVAL (fills the cache): (bytes, document)."""
    request = urllib.request.Request(
        f"{server.url}/v1/gate",
        data=request_body(WARM_EVAL),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        method="POST",
    )
    try:
        with opener().open(request, timeout=REQUEST_TIMEOUT) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        detail = error.read()[:200].decode("utf-8", "replace")
        raise BenchError(f"the probe request got HTTP {error.code}: {detail}") from None
    except OSError as error:
        raise BenchError(f"the probe request failed: {error}") from None
    document: Any = json.loads(raw)
    if not isinstance(document, dict) or document.get("verdict") != "pass":
        raise BenchError(f"the probe answer is not a passing verdict: {raw[:200]!r}")
    return len(raw), document


def refuses_without_token(server: Server) -> bool:
    """Whether the gate answers 401 to a request without a token (auth is really on)."""
    request = urllib.request.Request(
        f"{server.url}/v1/gate",
        data=request_body(WARM_EVAL),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with opener().open(request, timeout=REQUEST_TIMEOUT):
            return False
    except urllib.error.HTTPError as error:
        return error.code == 401


@dataclass(frozen=True, slots=True)
class Load:
    """One load generator run's results (times in seconds)."""

    concurrency: int
    window: float
    answered: int  # 200s answered in the window
    rejected: int  # 429s answered in the window (only allowed when asked for)
    rps: float  # answered / window
    p50: float
    p90: float
    p99: float
    client_cpu: float
    server_cpu: float | None
    machine_busy: float
    machine_steal: float
    response_bytes: int

    @classmethod
    def of(cls, document: dict[str, Any], what: str) -> Load:
        if document["first_error"] is not None:
            raise BenchError(
                f"{what}: {document['errors']} failed requests in the window, "
                f"the first: {document['first_error']}"
            )
        if document["ran_out"]:
            raise BenchError(f"{what}: ran out of fresh eval ids before the window ended")
        if document["answered"] == 0:
            raise BenchError(f"{what}: no request answered in the window")
        return cls(**{field.name: document[field.name] for field in fields(cls)})

    @property
    def server_ms_per_request(self) -> float:
        """The server's CPU milliseconds per answer, 200 or 429 (nan when unknown)."""
        if self.server_cpu is None:
            return math.nan
        return self.server_cpu / (self.answered + self.rejected) * 1000

    @property
    def client_ms_per_request(self) -> float:
        return self.client_cpu / (self.answered + self.rejected) * 1000

    def fmt(self) -> str:
        server = "-" if self.server_cpu is None else f"{self.server_cpu / self.window:.0%}"
        rejected = f" + {self.rejected / self.window:.0f} 429s/s" if self.rejected else ""
        return (
            f"{self.rps:4.0f} req/s{rejected}, p50 {self.p50 * 1000:5.1f} ms, p90"
            f" {self.p90 * 1000:5.1f} ms, p99 {self.p99 * 1000:5.1f} ms ({self.answered} in"
            f" {self.window:.1f} s); CPU a request: server {self.server_ms_per_request:.2f} ms,"
            f" client {self.client_ms_per_request:.2f} ms; busy: server {server}, client"
            f" {self.client_cpu / self.window:.0%} of a core, machine {self.machine_busy:.0%}"
            f" of {os.cpu_count()} cores (steal {self.machine_steal:.0%})"
        )


def load(
    server: Server,
    concurrency: int,
    *,
    duration: float,
    warmup: float,
    fresh: tuple[int, int] | None = None,
    allow_429: bool = False,
) -> Load:
    """Run the load generator against `server` in its own process; its results."""
    cmd = [
        PYTHON,
        str(SCRIPT),
        "loadgen",
        "--url",
        f"{server.url}/v1/gate",
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--server-pid",
        str(server.pid),
        "--eval",
        WARM_EVAL,
    ]
    if fresh is not None:
        cmd += ["--fresh-from", str(fresh[0]), "--fresh-count", str(fresh[1])]
    if allow_429:
        cmd += ["--also-ok", "429"]
    # The token goes by environment, not on the command line (which `ps` shows).
    env = child_env({"EVAL_GATE_BENCH_TOKEN": TOKEN})
    what = f"load generator ({concurrency} clients, {server.url})"
    run = expect(
        run_timed(cmd, env=env, timeout=warmup + duration + 2 * REQUEST_TIMEOUT + 30),
        (0,),
        what,
    )
    try:
        document: Any = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise BenchError(f"{what} printed no JSON: {run.stdout[:200]!r}") from None
    return Load.of(document, what)


@dataclass(frozen=True, slots=True)
class Throughput:
    bare: dict[int, list[Load]]
    gate: dict[int, list[Load]]
    default_limit: Load  # 64 clients against the default limit of gates at once
    cold: list[Load]
    gate_rss_mib: float | None
    gate_log_bytes: int

    def ratio(self, concurrency: int) -> float:
        return _median(self.gate[concurrency], _rps) / _median(self.bare[concurrency], _rps)


def _rps(one: Load) -> float:
    return one.rps


def _median(loads: Sequence[Load], field: Callable[[Load], float]) -> float:
    return Stats.of([field(one) for one in loads]).median


def measure(rounds: int, duration: float, warmup: float) -> Throughput:
    """Interleaved rounds: bare and gate at each concurrency, then a cold run."""
    bare: dict[int, list[Load]] = {c: [] for c in CONCURRENCY}
    gate: dict[int, list[Load]] = {c: [] for c in CONCURRENCY}
    cold: list[Load] = []
    evals = COLD_FIRST + COLD_PER_ROUND * rounds
    top = max(CONCURRENCY)
    with (
        standin(latency=LATENCY, evals=evals) as upstream,
        gate_server(upstream, max_gates=top) as server,
        gate_server(upstream, max_gates=None) as default_server,
    ):
        answer_bytes, document = probe(server)
        probe(default_server)
        if not refuses_without_token(server):
            raise BenchError("the gate server answered a request without a token")
        print(
            f"- gate answer: {answer_bytes} bytes, verdict {document.get('verdict')!r}, "
            f"{document.get('counts', {}).get('total')} check(s); the bare app answers as many"
            f" bytes\n- gate server run with EVAL_GATE_MAX_CONCURRENT_GATES={top}"
        )
        with bare_server(answer_bytes) as ceiling:
            for index in range(rounds):
                for concurrency in CONCURRENCY:
                    for name, target, into in (("bare", ceiling, bare), ("gate", server, gate)):
                        one = load(target, concurrency, duration=duration, warmup=warmup)
                        into[concurrency].append(one)
                        print(f"  round {index + 1} {name} {concurrency:2d} clients: {one.fmt()}")
                if index == 0:
                    default_limit = load(
                        default_server, top, duration=duration, warmup=warmup, allow_429=True
                    )
                    print(f"  round 1 gate {top} clients, default limit: {default_limit.fmt()}")
                fresh = (COLD_FIRST + index * COLD_PER_ROUND, COLD_PER_ROUND)
                one = load(server, COLD_CONCURRENCY, duration=duration, warmup=warmup, fresh=fresh)
                cold.append(one)
                print(f"  round {index + 1} cold {COLD_CONCURRENCY:2d} clients: {one.fmt()}")
        rss = server.peak_rss_mib()
        log_bytes = server.stderr_bytes()
    return Throughput(bare, gate, default_limit, cold, rss, log_bytes)


def _ms(loads: Sequence[Load], field: Callable[[Load], float]) -> str:
    return f"{_median(loads, field) * 1000:.1f} ms"


def run(rounds: int = 2, duration: float = DURATION, warmup: float = WARMUP) -> list[Row]:
    print(
        f"## serve throughput ({machine()}; {warmup:g} s warm-up + {duration:g} s window per"
        f" run, {rounds} round(s); stand-in latency {LATENCY} s)\n"
    )
    result = measure(rounds, duration, warmup)
    rows: list[Row] = []
    print()
    for concurrency in CONCURRENCY:
        bare, gate = result.bare[concurrency], result.gate[concurrency]
        ratio = result.ratio(concurrency)
        gate_rps, bare_rps = _median(gate, _rps), _median(bare, _rps)
        p50, p99 = _ms(gate, lambda one: one.p50), _ms(gate, lambda one: one.p99)
        gate_cpu = _median(gate, lambda one: one.server_ms_per_request)
        bare_cpu = _median(bare, lambda one: one.server_ms_per_request)
        print(
            f"- warm, {concurrency} clients: gate {gate_rps:.0f} req/s (p50 {p50}, p99 {p99})"
            f" vs bare {bare_rps:.0f} req/s (p50 {_ms(bare, lambda one: one.p50)}, p99"
            f" {_ms(bare, lambda one: one.p99)}): ratio {ratio:.2f}, target >= {TARGET_RATIO}"
            f"\n  server CPU a request: gate {gate_cpu:.2f} ms, bare {bare_cpu:.2f} ms; their"
            f" ratio {bare_cpu / gate_cpu:.2f} is the throughput ratio if each server had a"
            " core to itself and the client cost nothing"
        )
        rows.append(
            Row(
                f"serve: warm POST /v1/gate vs bare aiohttp, {concurrency} clients",
                f"{gate_rps:.0f} vs {bare_rps:.0f} req/s = {ratio:.2f} (gate p50 {p50}, p99 {p99})",
                f">= {TARGET_RATIO}",
                ratio >= TARGET_RATIO,
            )
        )
    limited = result.default_limit
    share = limited.rejected / (limited.answered + limited.rejected)
    print(
        f"- warm, {limited.concurrency} clients, default limit of gates at once:"
        f" {limited.rps:.0f} gates/s and {limited.rejected / limited.window:.0f} 429s/s"
        f" ({share:.0%} of answers are 429 Too Many Requests)"
    )
    cold_rps = _median(result.cold, _rps)
    cold_p50 = _ms(result.cold, lambda one: one.p50)
    cold_p99 = _ms(result.cold, lambda one: one.p99)
    floor = COLD_CONCURRENCY / LATENCY
    print(
        f"- cold, {COLD_CONCURRENCY} clients, a new eval each request: {cold_rps:.0f} req/s"
        f" (p50 {cold_p50}, p99 {cold_p99}); at most {floor:.0f} req/s"
        f" ({COLD_CONCURRENCY} clients / {LATENCY} s upstream latency)"
    )
    rss = "-" if result.gate_rss_mib is None else f"{result.gate_rss_mib:.0f} MiB"
    print(
        f"- gate server: peak RSS {rss}; {result.gate_log_bytes:,} bytes of logs on stderr"
        " over the whole run\n"
    )
    rows.append(
        Row(
            f"serve: cold POST /v1/gate (new eval each, latency {LATENCY} s), "
            f"{COLD_CONCURRENCY} clients",
            f"{cold_rps:.0f} req/s of at most {floor:.0f} (p50 {cold_p50}, p99 {cold_p99})",
            "-",
            None,
        )
    )
    return rows


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--duration", type=float, default=DURATION, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=WARMUP, help="unmeasured seconds first")
    modes = parser.add_subparsers(dest="mode")
    gen = modes.add_parser("loadgen", help="(internal) the load generator; prints JSON")
    gen.add_argument("--url", required=True)
    gen.add_argument("--concurrency", type=int, required=True)
    gen.add_argument("--duration", type=float, default=DURATION)
    gen.add_argument("--warmup", type=float, default=WARMUP)
    gen.add_argument("--server-pid", type=int, default=None)
    gen.add_argument("--eval", default=WARM_EVAL, help="the eval every request names")
    gen.add_argument("--fresh-from", type=int, default=0, help="first fresh eval number")
    gen.add_argument("--fresh-count", type=int, default=0, help="fresh evals (0: use --eval)")
    gen.add_argument("--max-requests", type=int, default=MAX_REQUESTS)
    gen.add_argument("--method", choices=("POST", "GET"), default="POST", help="GET: no body")
    gen.add_argument(
        "--also-ok", type=int, nargs="*", default=[], help="statuses counted, not failed on"
    )
    bare = modes.add_parser("bare-server", help="(internal) the bare aiohttp ceiling")
    bare.add_argument("--body-bytes", type=int, required=True)
    args = parser.parse_args(argv)
    if args.mode == "loadgen":
        args.token = os.environ.get("EVAL_GATE_BENCH_TOKEN")
        return loadgen_main(args)
    if args.mode == "bare-server":
        return bare_main(args)
    handle_termination()
    try:
        rows = run(max(1, args.rounds), args.duration, args.warmup)
    except BenchError as error:
        print(f"serve_throughput: {error}", file=sys.stderr)
        return 2
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
