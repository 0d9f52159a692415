"""Running `eval-gate` in tests: in this process (`cli`, `cli_async`: `gate.cli.main.run` with
the I/O passed in; the default for a behaviour test) or as a real process (`run_cli`,
`run_cli_async`: only for what a process proves, such as its imports, stdin or its exit).

Both give a `Proc` (exit code, stdout, stderr) and take the same arguments, so a test moves
from one to the other without touching its assertions."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@dataclass(frozen=True)
class Proc:
    code: int
    out: str
    err: str


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any Roboflow/GitHub settings, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ROBOFLOW_", "GITHUB_", "INPUT_", "EVAL_GATE_"))
    }
    env.update(extra)
    return env


def cli(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> Proc:
    """`eval-gate ARGS` in this process (`gate.cli.main.run`), with the environment `env`
    (default: this process's without Roboflow/GitHub settings) and the working directory `cwd`.
    The structlog configuration the command sets is put back after."""
    import structlog  # noqa: PLC0415 - only the in-process runs need it

    from gate.cli.main import run  # noqa: PLC0415 - as the process would, at the call

    out, err = io.StringIO(), io.StringIO()
    saved = structlog.get_config()
    try:
        code = run(
            list(args),
            environ=env if env is not None else clean_env(),
            cwd=cwd,
            out=out,
            err=err,
        )
    finally:
        structlog.configure(**saved)
    return Proc(code, out.getvalue(), err.getvalue())


async def cli_async(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> Proc:
    """Same, in a thread: the test's event loop stays free, so a stand-in it serves answers
    (the command runs its own event loop, as the process does)."""
    return await asyncio.wait_for(asyncio.to_thread(cli, *args, cwd=cwd, env=env), timeout=60)


def run_cli(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> Proc:
    """Run `python -m gate ARGS` as a subprocess (blocking)."""
    done = subprocess.run(
        [sys.executable, "-m", "gate", *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Proc(done.returncode, done.stdout, done.stderr)


async def run_cli_async(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> Proc:
    """Same, without blocking the event loop (so an in-process stand-in server can answer)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gate",
        *args,
        cwd=cwd,
        env=env if env is not None else clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return Proc(proc.returncode, out.decode(), err.decode())


def imported_modules(stderr: str) -> set[str]:
    """The modules `-X importtime` (PYTHONPROFILEIMPORTTIME) reported on stderr."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
