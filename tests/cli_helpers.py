"""Running the real `eval-gate` process in tests."""

from __future__ import annotations

import asyncio
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
