"""Durable gates at scale: 10,000 gates waiting on 100 evaluations in a real `eval-gate serve`.

    python bench/durable_scale.py [--gates 10000] [--evals 100] [--interval 2]
                                  [--staggered 20] [--backend sqlite|postgresql|both]

One `python -m gate serve` process (its defaults but `EVAL_GATE_POLL_INTERVAL`) on a SQLite
file, then on a throwaway PostgreSQL cluster (tests/postgres_cluster.py, fsync on; or
`EVAL_GATE_BENCH_POSTGRES_URL`, a database this may fill), against the stand-in Roboflow and
GitHub APIs (tests/roboflow_standin.py, tests/github_standin.py) served by this process on
127.0.0.1. The evaluations are running; gate `n` waits on evaluation `n % evals`, with its own
check run (`gate_id` g<n>, 10 gates a commit).

1. Submit: one gate per evaluation (warm-up), then the rest by 16 concurrent clients
   (`POST /v1/gates`); wait until every gate is `waiting` (its check run created and in
   progress). The server's RSS after the warm-up and with every gate waiting: memory per
   waiting gate = the difference / the gates added. The database's size per gate.
2. Steady state: every Roboflow request for `--steady` poll intervals, per interval (the goal:
   one per evaluation, `evals` an interval, however many gates wait).
3. One at a time: `--staggered` evaluations finish alone, each at a random moment of the poll
   interval after the previous one's gates completed; for each of their gates, the time from
   its evaluation finishing (the stand-in's status flipped) to its check run's PATCH to
   `completed` reaching the GitHub stand-in. Goal: within one poll interval plus a second.
4. Burst: every other evaluation finishes at once (the rest of the gates wake together): the
   same latency, and the gates finished a second.
Then every gate is checked: done, the right verdict, one check run, completed once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from _common import (
    LOOPBACK,
    REPO,
    BenchError,
    Row,
    _die_with_parent,
    _prctl,
    child_env,
    free_port,
    handle_termination,
    machine,
    table,
)
from aiohttp import web
from sqlalchemy import text

from gate.store import Store, open_store
from tests import postgres_cluster
from tests.github_standin import GitHubStandIn
from tests.roboflow_standin import RoboflowStandIn, detection_results

KEY = "rf_BENCH_secret_key_0123456789"
GH_TOKEN = "ghs_BENCH_secret_token_0123456789"
TOKEN = "bearer-BENCH-token-abcdefghijklmnop"
REPOSITORY = "octo-org/octo-repo"
CONFIG = "version: 1\nworkspace: ws\nrules:\n  - map50 >= 0.5\n"
GATES_A_COMMIT = 10
CLIENTS = 16
SETTLE_TIMEOUT = 1800.0  # seconds every phase may take at most
BY_STATUS = "SELECT status, count(*) FROM gates GROUP BY status"


def sha_of(number: int) -> str:
    return f"{number // GATES_A_COMMIT:040x}"


def map50_of(eval_number: int) -> float:
    return 0.9 if eval_number % 2 == 0 else 0.3  # even evaluations pass, odd ones fail


class TimedGitHub(GitHubStandIn):
    """The GitHub stand-in, noting when each check run's PATCH to `completed` arrived."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.completed_at: dict[int, float] = {}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        response = await super()._handle(request)
        if request.method == "PATCH" and "/check-runs/" in request.path and response.status < 300:
            body = json.loads(await request.read())
            if body.get("status") == "completed":
                run_id = int(request.path.rstrip("/").rsplit("/", 1)[1])
                self.completed_at.setdefault(run_id, time.monotonic())
        return response


@dataclass
class Stage:
    roboflow: RoboflowStandIn
    github: TimedGitHub
    env: dict[str, str]
    evals: list[str]
    finished_at: dict[str, float] = field(default_factory=dict)
    finished_index: dict[str, int] = field(default_factory=dict)  # Roboflow requests until then

    def finish(self, eval_id: str) -> None:
        self.roboflow.set_status(eval_id, "done")
        self.finished_at[eval_id] = time.monotonic()
        self.finished_index[eval_id] = len(self.roboflow.requests)

    def asked_after_done(self) -> dict[str, int]:
        """Requests about each finished evaluation after it finished, by endpoint, in all."""
        asked: dict[str, int] = {}
        for eval_id, index in self.finished_index.items():
            for request in self.roboflow.requests[index:]:
                if request.eval_id == eval_id:
                    asked[request.endpoint] = asked.get(request.endpoint, 0) + 1
        return asked


@contextlib.asynccontextmanager
async def served_app(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, LOOPBACK, port)
    await site.start()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def stage_of(gates: int, evals: int) -> AsyncIterator[Stage]:
    roboflow = RoboflowStandIn(api_key=KEY, workspace="ws")
    ids = [f"e{i:03d}" for i in range(evals)]
    for i, eval_id in enumerate(ids):
        m = map50_of(i)
        roboflow.add_eval(
            eval_id, status="running", map_results=detection_results({"car": m}, map50=m)
        )
    github = TimedGitHub(token=GH_TOKEN)
    for n in range(0, gates, GATES_A_COMMIT):
        github.add_commit(REPOSITORY, sha_of(n))
    async with served_app(roboflow.app()) as rf, served_app(github.app()) as gh:
        env = {
            "EVAL_GATE_TOKENS": TOKEN,
            "ROBOFLOW_API_KEY": KEY,
            "ROBOFLOW_API_URL": rf,
            "EVAL_GATE_GITHUB_API_URL": gh,
            "EVAL_GATE_GITHUB_TOKEN": GH_TOKEN,
        }
        yield Stage(roboflow, github, env, ids)


@dataclass
class Server:
    proc: asyncio.subprocess.Process
    url: str
    log: Path

    def status(self, field_name: str) -> int:
        """A /proc/PID/status field in KiB (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        raise BenchError(f"no {field_name} for the server")

    def tail(self) -> str:
        return self.log.read_text()[-2000:]

    def errors_logged(self) -> int:
        return sum('"level": "error"' in line for line in self.log.read_text().splitlines())

    def cpu(self) -> float:
        """The server's CPU seconds so far (user + system, all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_log(path: Path) -> Any:
    return path.open("wb")


@contextlib.asynccontextmanager
async def serve(env: dict[str, str], log: Path, profile: Path | None) -> AsyncIterator[Server]:
    port = free_port()
    prctl = _prctl()
    profiler = ("-m", "cProfile", "-o", str(profile)) if profile else ()
    err = open_log(log)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *profiler,
            "-m",
            "gate",
            "serve",
            "--port",
            str(port),
            cwd=REPO,
            env=child_env(env),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            preexec_fn=lambda: _die_with_parent(prctl),
        )
    finally:
        err.close()
    server = Server(proc, f"http://{LOOPBACK}:{port}", log)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                if proc.returncode is not None:
                    raise BenchError(f"eval-gate serve exited: {server.tail()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{server.url}/healthz") as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.05)
            else:
                raise BenchError("eval-gate serve did not come up in 30 s")
        yield server
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def gate_body(number: int, evals: int) -> dict[str, Any]:
    return {
        "config": CONFIG,
        "evals": [f"e{number % evals:03d}"],
        "github": {
            "repository": REPOSITORY,
            "sha": sha_of(number),
            "gate_id": f"g{number}",
            "comment": "off",
            "commit_status": False,
        },
    }


async def submit_all(url: str, numbers: Sequence[int], evals: int) -> dict[str, int]:
    """Submit gates `numbers` with CLIENTS concurrent clients; gate id -> number."""
    ids: dict[str, int] = {}
    queue = list(numbers)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector) as session:

        async def client() -> None:
            while queue:
                number = queue.pop()
                async with session.post("/v1/gates", json=gate_body(number, evals)) as resp:
                    document = await resp.json()
                    if resp.status != 202:
                        raise BenchError(f"submit answered {resp.status}: {document}")
                    ids[document["id"]] = number

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return ids


async def counts(store: Store) -> dict[str, int]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(text(BY_STATUS))).all()
    return {status: int(n) for status, n in rows}


async def until(what: str, condition: Any, within: float = SETTLE_TIMEOUT) -> float:
    """Seconds until `condition()` held (checked every 0.2 s); BenchError after `within`."""
    start = time.monotonic()
    while not await condition():
        if time.monotonic() - start > within:
            raise BenchError(f"not in {within:g} s: {what}")
        await asyncio.sleep(0.2)
    return time.monotonic() - start


def percentiles(samples: Sequence[float]) -> str:
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]

    return f"p50 {rank(0.5):.2f} s, p95 {rank(0.95):.2f} s, max {ordered[-1]:.2f} s"


async def database_bytes(store: Store, sqlite_path: Path | None) -> int:
    if sqlite_path is not None:
        return sum(p.stat().st_size for p in sqlite_path.parent.glob(sqlite_path.name + "*"))
    async with store.engine.connect() as conn:
        size = (await conn.execute(text("SELECT pg_database_size(current_database())"))).scalar()
    return int(size or 0)


@dataclass
class Found:
    backend: str
    gates: int
    evals: int
    interval: float
    cpu_to_waiting: float = 0.0  # server CPU seconds a gate, submit to waiting
    cpu_finishing: float = 0.0  # server CPU seconds a gate, woken to done
    submit_rate: float = 0.0
    to_waiting: float = 0.0
    rss_warm_kib: int = 0
    rss_waiting_kib: int = 0
    hwm_kib: int = 0
    db_bytes: int = 0
    steady_per_interval: list[float] = field(default_factory=list)
    steady_evals_seen: int = 0
    steady_total: int = 0  # Roboflow requests in all the steady intervals
    steady_seconds: float = 0.0
    github_in_steady: int = 0
    staggered: list[float] = field(default_factory=list)
    burst: list[float] = field(default_factory=list)
    burst_drain: float = 0.0
    finishing_requests: dict[str, int] = field(default_factory=dict)
    errors_logged: int = 0


async def measure(backend: str, url: str, args: argparse.Namespace, tmp: Path) -> Found:
    found = Found(backend, args.gates, args.evals, args.interval)
    sqlite_path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite") else None
    async with stage_of(args.gates, args.evals) as stage:
        env = {
            **stage.env,
            "EVAL_GATE_DATABASE_URL": url,
            "EVAL_GATE_POLL_INTERVAL": f"{args.interval:g}",
        }
        store = open_store(url)
        try:
            profile = args.profile / f"serve-{backend}.prof" if args.profile else None
            async with serve(env, tmp / f"serve-{backend}.log", profile) as server:
                phases = Phases(found, stage, server, store, args, sqlite_path)
                print(
                    f"== {backend}: {args.gates:,} gates on {args.evals} evaluations, "
                    f"poll every {args.interval:g} s"
                )
                await phases.submit()
                await phases.steady()
                await phases.finish()
                await phases.verify()
            found.errors_logged = server.errors_logged()
        finally:
            await store.close()
    return found


@dataclass
class Phases:
    """One backend's run: what every phase shares."""

    found: Found
    stage: Stage
    server: Server
    store: Store
    args: argparse.Namespace
    sqlite_path: Path | None
    ids: dict[str, int] = field(default_factory=dict)  # gate id -> its number

    async def waiting(self, total: int) -> bool:
        return (await counts(self.store)).get("waiting", 0) == total

    async def submit(self) -> None:
        """A warm-up gate per evaluation, then the rest; RSS, CPU and size measured."""
        found, server, args = self.found, self.server, self.args
        gates, evals, interval = args.gates, args.evals, args.interval
        self.ids = await submit_all(server.url, range(evals), evals)
        await until("the warm-up gates waiting", lambda: self.waiting(evals))
        await asyncio.sleep(2 * interval)  # a few quiet polls: the process's steady heap
        found.rss_warm_kib = server.status("VmRSS")
        start, cpu = time.monotonic(), server.cpu()
        self.ids |= await submit_all(server.url, range(evals, gates), evals)
        found.submit_rate = (gates - evals) / (time.monotonic() - start)
        print(f"  submitted {gates - evals:,} gates at {found.submit_rate:,.0f}/s")
        await until(f"{gates:,} gates waiting", lambda: self.waiting(gates))
        found.to_waiting = time.monotonic() - start
        found.cpu_to_waiting = (server.cpu() - cpu) / (gates - evals)
        await asyncio.sleep(2 * interval)
        found.rss_waiting_kib = server.status("VmRSS")
        found.db_bytes = await database_bytes(self.store, self.sqlite_path)
        print(
            f"  every gate waiting {found.to_waiting:.1f} s after the first submit; RSS "
            f"{found.rss_warm_kib / 1024:.1f} -> {found.rss_waiting_kib / 1024:.1f} MiB"
        )

    async def steady(self) -> None:
        """Every gate waits; the service polls: Roboflow's requests each interval."""
        found, roboflow, github = self.found, self.stage.roboflow, self.stage.github
        start, first = time.monotonic(), len(roboflow.requests)
        for _ in range(self.args.steady):
            before, github_before = len(roboflow.requests), len(github.requests)
            await asyncio.sleep(self.args.interval)
            window = roboflow.requests[before:]
            found.steady_per_interval.append(len(window))
            found.steady_evals_seen = max(found.steady_evals_seen, len({r.eval_id for r in window}))
            found.github_in_steady += len(github.requests) - github_before
        found.steady_total = len(roboflow.requests) - first
        found.steady_seconds = time.monotonic() - start
        each = found.steady_per_interval
        print(f"  steady: Roboflow requests each {self.args.interval:g} s: {each}")

    async def finish(self) -> None:
        """Evaluations finish one at a time (each alone), then the rest at once."""
        found, stage, server, args = self.found, self.stage, self.server, self.args
        github = stage.github
        of_eval: dict[str, list[str]] = {}
        for gate_id, number in self.ids.items():
            of_eval.setdefault(f"e{number % args.evals:03d}", []).append(gate_id)
        order = list(stage.evals)
        random.Random(18).shuffle(order)
        staggered, burst = order[: args.staggered], order[args.staggered :]
        runs = {run.external_id: run.id for run in github.check_runs.values()}

        def latencies(eval_ids: Sequence[str]) -> list[float] | None:
            got = []
            for eval_id in eval_ids:
                for gate_id in of_eval[eval_id]:
                    at = github.completed_at.get(runs[gate_id])
                    if at is None:
                        return None
                    got.append(at - stage.finished_at[eval_id])
            return got

        async def completed(eval_ids: Sequence[str]) -> bool:
            return latencies(eval_ids) is not None

        cpu = server.cpu()
        phase = random.Random(3)
        for eval_id in staggered:  # alone: at a random moment of the poll interval
            await asyncio.sleep(phase.uniform(0, args.interval))
            stage.finish(eval_id)
            await until("an evaluation's gates completed", lambda: completed([eval_id]))  # noqa: B023
        found.staggered = latencies(staggered) or []
        if found.staggered:
            print(f"  staggered ({len(found.staggered):,} gates): {percentiles(found.staggered)}")
        if burst:
            start = time.monotonic()
            for eval_id in burst:
                stage.finish(eval_id)
            await until("the burst's gates completed", lambda: completed(burst))
            found.burst_drain = time.monotonic() - start
            found.burst = latencies(burst) or []
            print(
                f"  burst ({len(found.burst):,} gates): {percentiles(found.burst)}; all in "
                f"{found.burst_drain:.1f} s ({len(found.burst) / found.burst_drain:,.0f} gates/s)"
            )
        found.cpu_finishing = (server.cpu() - cpu) / args.gates
        found.finishing_requests = stage.asked_after_done()
        print(
            "  Roboflow requests about each evaluation after it finished, in all, by endpoint: "
            f"{found.finishing_requests} ({len(stage.evals)} evaluations)"
        )

    async def verify(self) -> None:
        """Every gate: done, its verdict, one check run completed once; no violation."""
        gates, github = self.args.gates, self.stage.github

        async def all_done() -> bool:
            return (await counts(self.store)).get("done", 0) == gates

        await until("every gate done", all_done, 120)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, verdict FROM gates"))).all()
        evals = self.args.evals
        wrong = [
            gate_id
            for gate_id, verdict in rows
            if verdict != ("pass" if map50_of(self.ids[gate_id] % evals) >= 0.5 else "fail")
        ]
        completions = [
            [s for s in run.states if s[0] == "completed"] for run in github.check_runs.values()
        ]
        once = sum(len(c) == 1 for c in completions)
        if wrong or len(github.check_runs) != gates or once != gates:
            raise BenchError(
                f"{len(wrong)} wrong verdicts, {len(github.check_runs)} check runs for {gates} "
                f"gates, {gates - once} not completed exactly once"
            )
        if github.violations:
            raise BenchError(f"GitHub stand-in violations: {github.violations[:3]}")


def rows_of(found: Found) -> list[Row]:
    name = f"durable scale ({found.backend}, {found.gates:,} gates on {found.evals} evaluations)"
    steady = statistics.median(found.steady_per_interval) if found.steady_per_interval else 0
    overall = found.steady_total / max(found.steady_seconds / found.interval, 1e-9)
    per_gate = (found.rss_waiting_kib - found.rss_warm_kib) * 1024 / (found.gates - found.evals)
    goal = found.interval + 1.0
    rows = [
        Row(
            f"{name}: Roboflow requests a poll interval ({found.interval:g} s), all waiting",
            f"median {steady:.0f} (each: {', '.join(map(str, found.steady_per_interval))}; "
            f"{found.steady_total} in {found.steady_seconds:.1f} s: {overall:.0f} an interval); "
            f"GitHub requests meanwhile {found.github_in_steady}",
            f"about {found.evals} (one an evaluation)",
            steady <= found.evals * 1.1,
        ),
        Row(
            f"{name}: memory a waiting gate (server RSS delta / gates)",
            f"{per_gate:,.0f} bytes (RSS {found.rss_warm_kib / 1024:.1f} -> "
            f"{found.rss_waiting_kib / 1024:.1f} MiB); database {found.db_bytes / found.gates:,.0f}"
            " bytes a gate",
            "-",
            None,
        ),
        Row(
            f"{name}: submits, and every gate waiting (check run in progress)",
            f"{found.submit_rate:,.0f} submits/s; all waiting after {found.to_waiting:.1f} s "
            f"({(found.gates - found.evals) / found.to_waiting:,.0f} gates/s); server CPU a "
            f"gate: {found.cpu_to_waiting * 1000:.1f} ms to waiting, "
            f"{found.cpu_finishing * 1000:.1f} ms woken to done",
            "-",
            None,
        ),
    ]
    asked = sum(found.finishing_requests.values())
    rows.append(
        Row(
            f"{name}: Roboflow requests about an evaluation after it finished, its "
            f"{found.gates // found.evals} gates woken",
            f"{asked / found.evals:.2f} ({found.finishing_requests} for {found.evals})",
            "about 2 (the look that saw it done, its map-results)",
            asked <= 3 * found.evals,
        )
    )
    if found.staggered:
        worst = max(found.staggered)
        rows.append(
            Row(
                f"{name}: evaluation done -> its gates' check runs completed, one evaluation "
                f"at a time ({len(found.staggered):,} gates)",
                percentiles(found.staggered),
                f"max <= {goal:g} s (interval + 1 s)",
                worst <= goal,
            )
        )
    if found.burst:
        rows.append(
            Row(
                f"{name}: evaluation done -> check run completed, the other "
                f"{len(found.burst):,} gates at once",
                f"{percentiles(found.burst)}; drained in {found.burst_drain:.1f} s "
                f"({len(found.burst) / found.burst_drain:,.0f} gates/s)",
                "-",
                None,
            )
        )
    return rows


async def main_async(args: argparse.Namespace) -> list[Row]:
    print(f"durable_scale ({machine()})")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="eval-gate-bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        if args.backend in ("sqlite", "both"):
            rows += rows_of(await measure("sqlite", f"sqlite:///{tmp}/gates.db", args, tmp))
        if args.backend in ("postgresql", "both"):
            url = os.environ.get("EVAL_GATE_BENCH_POSTGRES_URL")
            cluster = None if url else postgres_cluster.start(fast=False)
            try:
                rows += rows_of(await measure("postgresql", url or cluster.url, args, tmp))  # type: ignore[union-attr]
            finally:
                if cluster is not None:
                    postgres_cluster.stop(cluster.directory)
    return rows


def run(scale: int) -> list[Row]:
    """run_all.py's bounded run: SQLite only, 1,000 gates on 10 evaluations a step of
    `scale` (full: 2,000 on 20; --quick: 1,000 on 10), a fifth of them finished singly."""
    evals = 10 * scale
    args = argparse.Namespace(
        gates=100 * evals,
        evals=evals,
        interval=2.0,
        steady=3,
        staggered=evals // 5,
        backend="sqlite",
        profile=None,
    )
    return asyncio.run(main_async(args))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--gates", type=int, default=10_000)
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--interval", type=float, default=2.0, help="EVAL_GATE_POLL_INTERVAL")
    parser.add_argument("--steady", type=int, default=5, help="poll intervals counted")
    parser.add_argument("--staggered", type=int, default=20, help="evaluations finished singly")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--profile", type=Path, help="run the server under cProfile, its stats in this directory"
    )
    args = parser.parse_args()
    handle_termination()
    try:
        rows = asyncio.run(main_async(args))
    except BenchError as error:
        print(f"durable_scale: {error}", file=sys.stderr)
        return 2
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
