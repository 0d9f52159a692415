"""A throwaway PostgreSQL cluster for the tests, the benches and .ci/run (standard library only).

    python3 tests/postgres_cluster.py start     # prints EVAL_GATE_TEST_POSTGRES_URL=, _DIR=
    python3 tests/postgres_cluster.py stop DIR  # stops the cluster and removes DIR

The cluster lives in a new temporary directory, listens on a free loopback port (no Unix
socket), requires a password (a random one, in the URL it prints) and is owned by an
unprivileged user when this runs as root (`nobody`: PostgreSQL refuses to run as root). The
binaries are found on PATH or under /usr/lib/postgresql/*/bin (Debian's `postgresql`).
With `fast=True` (the tests) durability is off: fsync, synchronous commit and full-page writes.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cluster", "find_bin", "start", "stop"]

UNPRIVILEGED = "nobody"
PREFIX = "eval-gate-pg-"  # every cluster's directory; `stop` removes nothing else


def find_bin() -> Path | None:
    """The directory holding PostgreSQL's server binaries (initdb, pg_ctl), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    directory: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"


def _run(args: list[str], user: str | None) -> None:
    proc = subprocess.run(
        args,
        user=user,
        extra_groups=[] if user else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        name = Path(args[0]).name
        raise RuntimeError(f"{name} failed ({proc.returncode}): {proc.stderr[-2000:]}")


def start(*, fast: bool = True) -> Cluster:
    """Create and start a cluster; raises RuntimeError (with PostgreSQL's words) if it cannot."""
    bindir = find_bin()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL's initdb was not found (on PATH or in /usr/lib/postgresql/*/bin): "
            "apt-get install postgresql"
        )
    user = UNPRIVILEGED if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix=PREFIX))
    password = secrets.token_urlsafe(18)
    data = directory / "data"
    pwfile = directory / "pwfile"
    pwfile.write_text(password + "\n", encoding="utf-8")
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    directory.chmod(0o700)
    port = _free_port()
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user,
        )
        pwfile.unlink()
        options = f"-p {port} -h 127.0.0.1 -k '' -c max_connections=100"
        if fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(directory / "log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            user,
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return Cluster(directory, port, password)


def stop(directory: Path) -> None:
    """Stop the cluster in `directory` (fast shutdown) and remove the directory. Refuses
    (ValueError) anything but an absolute directory `start` made: `stop ""` once meant the
    working directory, and removed the checkout."""
    if not directory.is_absolute() or not directory.name.startswith(PREFIX):
        raise ValueError(f"not a cluster directory made by start: {str(directory)!r}")
    bindir = find_bin()
    data = directory / "data"
    if bindir is not None and (data / "postmaster.pid").exists():
        user = UNPRIVILEGED if os.geteuid() == 0 else None
        try:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user)
        except RuntimeError:
            time.sleep(1)
    shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"]:
        cluster = start(fast="--durable" not in argv)
        sys.stdout.write(
            f"EVAL_GATE_TEST_POSTGRES_URL={cluster.url}\n"
            f"EVAL_GATE_TEST_POSTGRES_DIR={cluster.directory}\n"
        )
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        try:
            stop(Path(argv[1]))
        except ValueError as error:
            sys.stderr.write(f"postgres_cluster.py: {error}; nothing removed\n")
            return 2
        return 0
    sys.stderr.write("usage: postgres_cluster.py start [--durable] | stop DIR\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
