"""`eval-gate submit` and `eval-gate status`: a durable gate on an eval-gate service, submitted
now and read later.

`submit` reads and checks the config here (its problems located in the file, before anything is
sent), sends it with the evaluations named by the flags to `POST /v1/gates` and prints the gate's
id and URL. `status` reads `GET /v1/gates/{id}`, waiting up to `--wait` seconds for it to
finish, prints its status and, once finished, its report, and exits like `check` (the gate's
own exit code), or with the code of how it ended (see `ExitCode`).

The flags are declared in `gate.cli.remote_flags`. The bearer token is read from
`EVAL_GATE_TOKEN` only (never a flag), and masked in every line printed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import structlog

from gate.cli.settings import find_config
from gate.config.loader import load_config
from gate.core.errors import ConfigError, Problem, UsageError
from gate.core.strict_json import JSONDocumentError, decode_utf8
from gate.local.files import MAX_CONFIG_BYTES, read_capped_file
from gate.local.sources import cleartext_key_warning
from gate.remote import TOKEN_VARIABLE
from gate.remote.api import (
    GateState,
    GitHubCoordinates,
    Submitted,
    check_gate_id,
    exit_code_of,
    status_line,
    submit_body,
)
from gate.remote.client import ServiceClient

__all__ = [
    "RemoteSettings",
    "remote_settings",
    "run_status",
    "run_submit",
    "status_text",
    "submission",
    "submitted_text",
]

REQUEST_TIMEOUT = 30.0  # seconds a request may take
SLACK = 120.0  # seconds of requests (and their retries) allowed beyond --wait

# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteSettings:
    """What `submit` and `status` share: the service and its token (kept out of `repr`)."""

    server: str
    token: str | None = field(default=None, repr=False)
    as_json: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,) if self.token else ()


def remote_settings(
    server: str | None, environ: Mapping[str, str], *, as_json: bool = False
) -> RemoteSettings:
    """The service's URL (required) and the token from the environment (None: not set, for a
    service without authentication; a warning when it would travel unencrypted)."""
    if server is None or not server.strip():
        raise UsageError(
            "--server is required: the eval-gate service's base URL, e.g. "
            "--server https://gates.example.com"
        )
    token = environ.get(TOKEN_VARIABLE, "").strip() or None
    warning = None
    if token and cleartext_key_warning(server.strip(), where="--server") is not None:
        warning = (
            f"--server is plain http:// to another machine: {TOKEN_VARIABLE} will be sent "
            "unencrypted; use https:// (plain http is only safe to a loopback address)"
        )
    return RemoteSettings(server.strip().rstrip("/"), token, as_json, (warning,) if warning else ())


def _client(settings: RemoteSettings, transport: Any, *, deadline: float) -> ServiceClient:
    return ServiceClient(
        transport,
        server_url=settings.server,
        token=settings.token,
        timeout=REQUEST_TIMEOUT,
        deadline=deadline,
    )


# --- submit ---------------------------------------------------------------------------------


def submission(
    values: Mapping[str, Any],
    *,
    cwd: Path,
    config: str | None,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """The body to submit: the config file read and checked here (its problems located in it),
    sent as its text, with the flags' evaluations and settings (the workspace: `--workspace`,
    else ROBOFLOW_WORKSPACE, as for `check`; else the config's, then the service's)."""
    path = find_config(config, cwd)
    data = read_capped_file(  # once: --config may name a pipe
        path,
        limit=MAX_CONFIG_BYTES,
        what="config file",
        flag="--config",
        hint="create it (see the README) or point to it with --config",
    )
    try:
        text = decode_utf8(data)
    except JSONDocumentError as exc:
        problem = Problem(
            f"{exc.problem}; save the config as UTF-8", str(path), exc.line, exc.column
        )
        raise ConfigError([problem]) from None
    load_config(text, str(path))  # every problem now, at the file's lines, before anything is sent
    repository, sha, pull = values["repository"], values["sha"], values["pull_number"]
    if repository is None and (sha is not None or pull is not None):
        raise UsageError(
            "--sha and --pull-number say where to report on GitHub: give --repository "
            "OWNER/NAME too"
        )
    github = GitHubCoordinates(repository, pull, sha) if repository is not None else None
    return submit_body(
        config=text,
        eval_ids=_unique(values["eval_ids"]),
        models=_unique(values["models"]),
        versions=_unique(values["versions"]),
        baseline=_clean(values["baseline"]),
        workspace=_clean(values["workspace"]) or _clean(environ.get("ROBOFLOW_WORKSPACE")),
        fail_on=values["fail_on"],
        title=values["title"],
        max_wait=values["max_wait"],
        callback_url=_clean(values["callback_url"]),
        github=github,
    )


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values or () if v.strip()))


def submitted_text(submitted: Submitted, server: str) -> str:
    """What `submit` prints: the gate's id and status, its URL, and how to follow it."""
    again = "" if submitted.created else " (already submitted with this --idempotency-key)"
    return (
        f"submitted gate {submitted.id} ({submitted.status}){again}\n"
        f"url: {submitted.url}\n"
        f"follow it: eval-gate status --server {server} {submitted.id} --wait 3600\n"
    )


async def run_submit(
    settings: RemoteSettings, body: Mapping[str, Any], key: str | None, out: TextIO
) -> int:
    """Submit `body`; print the gate's id and URL (or the service's JSON answer)."""
    from gate.http.aiohttp_transport import SessionOnDemand  # noqa: PLC0415 - aiohttp on demand

    transport = SessionOnDemand()
    try:
        loop = asyncio.get_running_loop()
        client = _client(settings, transport, deadline=loop.time() + SLACK)
        # A key of its own for each run: the client's retries of this POST return the gate its
        # first try made, and running the command again submits a new gate.
        key = key or f"eval-gate-cli-{uuid.uuid4()}"
        submitted = await client.submit(body, idempotency_key=key)
    finally:
        await transport.aclose()
    if settings.as_json:
        out.write(json.dumps(submitted.document(), indent=2) + "\n")
    else:
        out.write(submitted_text(submitted, settings.server))
    return 0


# --- status ---------------------------------------------------------------------------------


def status_text(state: GateState, *, waited: float | None, quiet: bool) -> str:
    """What `status` prints: one status line, then (once finished, unless `quiet`) the report."""
    text = status_line(state, waited=waited) + "\n"
    if state.finished and state.report and not quiet:
        text += "\n" + state.report.rstrip("\n") + "\n"
    return text


async def run_status(
    settings: RemoteSettings,
    gate_id: str,
    *,
    wait: float,
    interval: float,
    quiet: bool,
    out: TextIO,
) -> int:
    """Read the gate (waiting up to `wait` seconds for it to finish), print it, and return its
    exit code (`exit_code_of`)."""
    from gate.http.aiohttp_transport import SessionOnDemand  # noqa: PLC0415 - aiohttp on demand

    problem = check_gate_id(gate_id)
    if problem is not None:
        raise UsageError(f"ID: {problem}")
    log = structlog.get_logger("gate.cli.status")
    shown: list[str] = []

    def on_look(state: GateState) -> None:
        line = status_line(state)
        if wait > 0 and not state.finished and (not shown or shown[-1] != line):
            log.info("gate.waiting", message=line)
        shown.append(line)

    transport = SessionOnDemand()
    try:
        loop = asyncio.get_running_loop()
        client = _client(settings, transport, deadline=loop.time() + wait + SLACK)
        state, waited = await client.wait(gate_id, wait=wait, interval=interval, on_look=on_look)
    finally:
        await transport.aclose()
    if settings.as_json:
        out.write(json.dumps(state.document, indent=2, allow_nan=False) + "\n")
    else:
        out.write(status_text(state, waited=waited if wait > 0 else None, quiet=quiet))
    return exit_code_of(state)
