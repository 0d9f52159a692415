"""Settings of `eval-gate serve`, from an environ mapping and the command line, validated at once.

Pure: values in, a `ServerSettings` out (or one `UsageError` naming every problem). The only
I/O is reading the tokens file the caller names. Secrets (bearer tokens, the Roboflow key)
are kept out of `repr` and out of every message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gate.core.errors import UsageError
from gate.roboflow.api import DEFAULT_API_URL

__all__ = [
    "DEFAULT_GITHUB_API_URL",
    "DEFAULT_MAX_CHECKS",
    "DEFAULT_PORT",
    "MIN_TOKEN_LENGTH",
    "ServerSettings",
    "build_server_settings",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_CHECKS = 20_000  # ~1 s of evaluating, rendering and encoding on one core
MAX_MAX_CHECKS = 10_000_000
MAX_SECONDS = 86_400.0  # no duration setting needs more than a day
MAX_WORK_THREADS = 64
DEFAULT_GITHUB_API_URL = "https://api.github.com"
MIN_TOKEN_LENGTH = 16  # a bearer token shorter than this is guessable
_TOKEN_SPLIT = re.compile(r"[\s,]+")
_GENERATE_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything `eval-gate serve` is configured with (env var in brackets)."""

    host: str = DEFAULT_HOST  # [EVAL_GATE_HOST]
    port: int = DEFAULT_PORT  # [EVAL_GATE_PORT]
    tokens: tuple[str, ...] = field(default=(), repr=False)  # [EVAL_GATE_TOKENS(_FILE)]
    insecure_no_auth: bool = False
    roboflow_api_key: str | None = field(default=None, repr=False)  # [ROBOFLOW_API_KEY]
    api_url: str = DEFAULT_API_URL  # [ROBOFLOW_API_URL]
    workspace: str | None = None  # [ROBOFLOW_WORKSPACE] when neither request nor config says
    max_body: int = 1024 * 1024  # bytes [EVAL_GATE_MAX_BODY]
    request_deadline: float = 120.0  # seconds [EVAL_GATE_REQUEST_DEADLINE]
    max_concurrent_gates: int = 16  # [EVAL_GATE_MAX_CONCURRENT_GATES]
    upstream_concurrency: int = 32  # connections, all requests [EVAL_GATE_UPSTREAM_CONCURRENCY]
    upstream_timeout: float = 30.0  # seconds per upstream request [EVAL_GATE_UPSTREAM_TIMEOUT]
    poll_interval: float = 5.0  # seconds between looks at a running eval [EVAL_GATE_POLL_INTERVAL]
    cache_bytes: int = 256 * 1024 * 1024  # [EVAL_GATE_CACHE_BYTES]
    grace: float = 30.0  # seconds to finish in-flight gates on shutdown [EVAL_GATE_GRACE]
    github_api_url: str = DEFAULT_GITHUB_API_URL  # [EVAL_GATE_GITHUB_API_URL]
    max_checks: int = (
        DEFAULT_MAX_CHECKS  # checks one request may expand into [EVAL_GATE_MAX_CHECKS]
    )
    work_threads: int = 2  # threads for CPU work (parse, evaluate, render) [EVAL_GATE_WORK_THREADS]

    @property
    def auth_enabled(self) -> bool:
        return not self.insecure_no_auth

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret the server itself holds, for redaction."""
        return tuple(s for s in (*self.tokens, self.roboflow_api_key) if s)


class _Problems:
    """Collects problems while reading values, so every one is reported in one go."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.items: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def integer(self, name: str, default: int, *, low: int, high: int | None = None) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            self.items.append(f"{name} must be a whole number, got {raw[:40]!r}")
            return default  # "inf", "nan" and "1e3" land here: int() takes digits only
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.items.append(f"{name} must be {bound}, got {value}")
            return default
        return value

    def seconds(self, name: str, default: float, *, allow_zero: bool = False) -> float:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.items.append(f"{name} must be a number of seconds, got {raw[:40]!r}")
            return default
        if (
            not math.isfinite(value)
            or value < 0
            or (value == 0 and not allow_zero)
            or value > MAX_SECONDS
        ):
            low = ">= 0" if allow_zero else "> 0"
            self.items.append(
                f"{name} must be a finite number of seconds {low} and at most {MAX_SECONDS:,.0f} "
                f"(a day), got {raw[:40]!r}"
            )
            return default
        return value

    def api_key(self, name: str) -> str | None:
        """A Roboflow API key: printable ASCII without spaces (never echoed)."""
        key = self.get(name)
        if key is not None and not (key.isascii() and key.isprintable() and " " not in key):
            self.items.append(
                f"{name} contains spaces, control or non-ASCII characters; set it to the key "
                "exactly as Roboflow shows it"
            )
            return None
        return key

    def url(self, name: str, default: str) -> str:
        raw = self.get(name)
        if raw is None:
            return default
        from yarl import URL  # noqa: PLC0415 - only when a URL is configured

        try:
            url = URL(raw)
        except (TypeError, ValueError):
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            self.items.append(f"{name} must be an http(s) URL with a host, e.g. {default}")
            return default
        if url.user is not None or url.password is not None or url.raw_query_string:
            # Never echo it: it may hold credentials.
            self.items.append(f"{name} must not contain credentials or a query string")
            return default
        return raw.rstrip("/")


def _read_tokens_file(path: Path, problems: _Problems, origin: str) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.items.append(f"{origin}: tokens file {path} not found")
        return []
    except (OSError, UnicodeDecodeError) as exc:
        problems.items.append(f"{origin}: cannot read tokens file {path} ({type(exc).__name__})")
        return []
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _tokens(problems: _Problems, tokens_file: str | None, cwd: Path | None) -> tuple[str, ...]:
    found: list[str] = []
    inline = problems.environ.get("EVAL_GATE_TOKENS", "")
    found.extend(t for t in _TOKEN_SPLIT.split(inline) if t)
    origin = "--tokens-file" if tokens_file else "EVAL_GATE_TOKENS_FILE"
    file_name = tokens_file or problems.get("EVAL_GATE_TOKENS_FILE")
    if file_name:
        path = Path(file_name)
        if cwd is not None and not path.is_absolute():
            path = cwd / path
        found.extend(_read_tokens_file(path, problems, origin))
    short = [i for i, t in enumerate(found, start=1) if len(t) < MIN_TOKEN_LENGTH]
    if short:
        which = ", ".join(f"#{i}" for i in short)
        problems.items.append(
            f"bearer token {which} is shorter than {MIN_TOKEN_LENGTH} characters; {_GENERATE_HINT}"
        )
    odd = [i for i, t in enumerate(found, start=1) if not (t.isascii() and t.isprintable())]
    if odd:
        which = ", ".join(f"#{i}" for i in odd)
        problems.items.append(f"bearer token {which} has non-ASCII or control characters")
    return tuple(dict.fromkeys(found))


def build_server_settings(
    environ: Mapping[str, str],
    *,
    host: str | None = None,
    port: int | None = None,
    tokens_file: str | None = None,
    insecure_no_auth: bool = False,
    cwd: Path | None = None,
) -> ServerSettings:
    """Flags (which win) and environment as settings; one UsageError lists every problem."""
    problems = _Problems(environ)
    tokens = _tokens(problems, tokens_file, cwd)
    if not tokens and not insecure_no_auth:
        problems.items.append(
            "no bearer token configured: set EVAL_GATE_TOKENS (comma or space separated) or "
            "EVAL_GATE_TOKENS_FILE (one per line), or pass --insecure-no-auth to serve without "
            f"authentication (never on a shared network); {_GENERATE_HINT}"
        )
    if tokens and insecure_no_auth:
        problems.items.append(
            "--insecure-no-auth was given but bearer tokens are configured: drop one of them"
        )
    env_port = problems.integer("EVAL_GATE_PORT", DEFAULT_PORT, low=0, high=65535)
    if port is not None and not 0 <= port <= 65535:
        problems.items.append(f"--port must be between 0 and 65535, got {port}")
        port = None
    chosen_host = (host or "").strip() or problems.get("EVAL_GATE_HOST") or DEFAULT_HOST
    deadline = problems.seconds("EVAL_GATE_REQUEST_DEADLINE", 120.0)
    settings = ServerSettings(
        host=chosen_host,
        port=port if port is not None else env_port,
        tokens=tokens,
        insecure_no_auth=insecure_no_auth,
        roboflow_api_key=problems.api_key("ROBOFLOW_API_KEY"),
        api_url=problems.url("ROBOFLOW_API_URL", DEFAULT_API_URL),
        workspace=problems.get("ROBOFLOW_WORKSPACE"),
        max_body=problems.integer("EVAL_GATE_MAX_BODY", 1024 * 1024, low=1024),
        request_deadline=deadline,
        max_concurrent_gates=problems.integer("EVAL_GATE_MAX_CONCURRENT_GATES", 16, low=1),
        upstream_concurrency=problems.integer("EVAL_GATE_UPSTREAM_CONCURRENCY", 32, low=1),
        upstream_timeout=problems.seconds("EVAL_GATE_UPSTREAM_TIMEOUT", 30.0),
        poll_interval=problems.seconds("EVAL_GATE_POLL_INTERVAL", 5.0),
        cache_bytes=problems.integer("EVAL_GATE_CACHE_BYTES", 256 * 1024 * 1024, low=0),
        grace=problems.seconds("EVAL_GATE_GRACE", 30.0, allow_zero=True),
        github_api_url=problems.url("EVAL_GATE_GITHUB_API_URL", DEFAULT_GITHUB_API_URL),
        max_checks=problems.integer(
            "EVAL_GATE_MAX_CHECKS", DEFAULT_MAX_CHECKS, low=1, high=MAX_MAX_CHECKS
        ),
        work_threads=problems.integer("EVAL_GATE_WORK_THREADS", 2, low=1, high=MAX_WORK_THREADS),
    )
    if problems.items:
        raise UsageError("; ".join(problems.items))
    return settings
