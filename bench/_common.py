"""Shared helpers for the benchmarks: paths, timed child processes, the stand-in API, stats.

Every child process is bounded by a watchdog and reaped; every server binds 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
PYTHON = sys.executable
API_KEY = "test-key"
WORKSPACE = "ws"
LOOPBACK = "127.0.0.1"
RUN_TIMEOUT = 300.0  # seconds one child process may take before it is killed
STANDIN_START_TIMEOUT = 30.0
# Environment variables a child must not inherit: they would change where requests go.
_SCRUBBED = (
    "ROBOFLOW_API_KEY",
    "ROBOFLOW_API_URL",
    "ROBOFLOW_WORKSPACE",
    "API_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPYCACHEPREFIX",
)


class BenchError(Exception):
    """A benchmark could not measure what it meant to (a child failed, timed out, ...)."""


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    del frame
    raise SystemExit(128 + signum)


def handle_termination() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, so `finally` blocks stop our children."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)


@functools.cache
def _prctl() -> Any:
    """libc's prctl, loaded in the parent (loading it after fork could deadlock)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PR_SET_PDEATHSIG = 1


def _die_with_parent(prctl: Any) -> None:
    """Runs in the child before exec: Linux sends it SIGTERM when this process dies."""
    if prctl is not None:
        with contextlib.suppress(Exception):
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class Run:
    """One finished child process."""

    wall: float  # seconds, from spawn to reaped
    cpu: float  # the child's user + system CPU seconds (less sensitive to other load)
    returncode: int
    stdout: str
    stderr: str
    max_rss_kib: int  # the child's own peak resident set size (Linux: KiB)


@dataclass(frozen=True, slots=True)
class Stats:
    median: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise BenchError("no samples")
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    def fmt(self) -> str:
        return f"median {self.median:.3f} s, min {self.min:.3f} s (n={self.n})"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary table."""

    benchmark: str
    measured: str
    target: str
    met: bool | None  # None: informational, no target


def run_timed(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO,
    timeout: float = RUN_TIMEOUT,
) -> Run:
    """Run `cmd` to completion; wall clock from spawn to reap, and the child's own peak RSS.

    os.wait4 gives this child's rusage alone (RUSAGE_CHILDREN would be the max over every
    child this process ever waited for). A watchdog kills the child after `timeout`.
    `env` defaults to child_env().
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=child_env() if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        watchdog = threading.Timer(timeout, kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            watchdog.cancel()
            if proc.returncode is None:  # interrupted while waiting: do not leave it behind
                proc.kill()
                proc.wait()
        if timed_out.is_set():
            raise BenchError(f"timed out after {timeout:g} s: {' '.join(cmd)}")
        out.seek(0)
        err.seek(0)
        return Run(
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            max_rss_kib=usage.ru_maxrss,
        )


def expect(run: Run, codes: Sequence[int], what: str) -> Run:
    """`run`, or a BenchError if it exited with a code not in `codes`."""
    if run.returncode not in codes:
        tail = (run.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise BenchError(f"{what} exited {run.returncode} (expected {list(codes)}): {tail}")
    return run


@functools.cache
def pycache_dir() -> Path:
    """A private bytecode cache for the children, removed when this process exits."""
    path = Path(tempfile.mkdtemp(prefix="eval-gate-bench-pycache-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without Roboflow/proxy/bytecode settings, plus `extra`.

    Loopback is never proxied. Children cache bytecode (in a private directory, so the
    repo stays clean), as an installed package would (pip compiles .pyc files at install):
    with PYTHONDONTWRITEBYTECODE=1 inherited, every run would compile gate/ from source
    again. The first (warm-up) run of each benchmark fills the cache.
    """
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["NO_PROXY"] = env["no_proxy"] = f"{LOOPBACK},localhost"
    env["PYTHONPYCACHEPREFIX"] = str(pycache_dir())
    env.update(extra or {})
    return env


def gate_cmd(*args: str) -> list[str]:
    """`eval-gate check ARGS`, run as `python -m gate` with this interpreter."""
    return [PYTHON, "-m", "gate", "check", *args]


def write_online_config(directory: Path) -> Path:
    """A small config for fetching from the stand-in: workspace ws, one split-level rule."""
    path = directory / "eval-gate.yml"
    path.write_text(f'version: 1\nworkspace: {WORKSPACE}\nrules:\n  - "map50 >= 0.1"\n')
    return path


def eval_ids(count: int) -> list[str]:
    """The stand-in's eval ids: eval-0001, eval-0002, ..."""
    return [f"eval-{index:04d}" for index in range(1, count + 1)]


def online_gate_cmd(config: Path, ids: Sequence[str], json_out: Path) -> list[str]:
    """`eval-gate check` fetching `ids` from the API with that many requests in flight."""
    args = ["--config", str(config)]
    for eval_id in ids:
        args += ["--eval", eval_id]
    return gate_cmd(*args, "--concurrency", str(len(ids)), "--json", str(json_out))


def checks_in(json_path: Path) -> int:
    """How many checks a `--json` output file holds."""
    document: Any = json.loads(json_path.read_text(encoding="utf-8"))
    return int(document["counts"]["total"])


@contextmanager
def standin(
    *, latency: float, evals: int, classes: int = 3, version: str | None = None
) -> Iterator[str]:
    """The stand-in Roboflow API in a child process on a free 127.0.0.1 port; yields its URL.

    `version`: every populated eval is on that dataset version.

    Port 0 lets the kernel pick a free port atomically; the stand-in prints the URL it got.
    The child is stopped (SIGTERM, then SIGKILL) however the block is left, and on Linux it
    also gets SIGTERM if this process dies without running the `finally` (PR_SET_PDEATHSIG,
    set in the child before exec by calling a libc function loaded beforehand, nothing else).
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "tests.roboflow_standin",
                "--host",
                LOOPBACK,
                "--port",
                "0",
                "--latency",
                str(latency),
                "--evals",
                str(evals),
                "--classes",
                str(classes),
                "--api-key",
                API_KEY,
                "--workspace",
                WORKSPACE,
                *(["--version", version] if version is not None else []),
            ],
            cwd=REPO,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            preexec_fn=functools.partial(_die_with_parent, _prctl()),  # noqa: PLW1509 - see docstring
        )
        try:
            url = _read_url(proc, err)
            yield url
        finally:
            stop(proc)


def _read_url(proc: subprocess.Popen[bytes], err: Any) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], STANDIN_START_TIMEOUT)
    line = proc.stdout.readline().decode().strip() if ready else ""
    if not line.startswith(f"http://{LOOPBACK}:"):
        err.seek(0)
        tail = (err.read().decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"the stand-in did not start (got {line!r}): {tail}")
    return line


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a child we started: terminate, wait a little, then kill."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout is not None:
        proc.stdout.close()


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| Benchmark | Measured | Target | Met |", "|---|---|---|:-:|"]
    for row in rows:
        met = "n/a" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.benchmark} | {row.measured} | {row.target} | {met} |")
    return "\n".join(lines)


def cpu_probe() -> float:
    """Seconds a fixed pure-Python loop takes now (best of 3): how fast this CPU is right now.

    On a shared VM the same work can take 1.5x longer when the host is busy, which no load
    average inside the VM shows; compare numbers taken at similar probe values.
    """
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for value in range(1_000_000):
            total += value * value
        best = min(best, time.perf_counter() - start)
    return best


def machine() -> str:
    """One line about where the numbers came from (high load or probe: noisy numbers)."""
    load = os.getloadavg()[0]
    python = sys.version.split()[0]
    return (
        f"{os.cpu_count()} CPUs, load {load:.2f}, CPU probe {cpu_probe() * 1000:.0f} ms, "
        f"Python {python}, {sys.platform}"
    )


def bench_main(name: str, doc: str, run: Any, *, default_runs: int, runs_help: str) -> int:
    """The command line every single benchmark script shares: --runs, then a table or one error."""
    import argparse  # noqa: PLC0415 - only the scripts' entry points need it

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=default_runs, help=f"{runs_help} (default {default_runs})"
    )
    args = parser.parse_args()
    handle_termination()
    try:
        rows = run(max(1, args.runs))
    except BenchError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    print(table(rows))
    return 0


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (for a child that takes --port)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def opener() -> urllib.request.OpenerDirector:
    """urllib without proxies: loopback traffic never goes through one."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def healthy(url: str) -> bool:
    """Whether the service at `url` answers GET /healthz with 200."""
    try:
        with opener().open(f"{url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
