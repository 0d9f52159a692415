"""Settings of `eval-gate serve`, from an environ mapping and the command line, validated at once.

Declared once (`SETTINGS`, one environment variable a row): the reader, the environment part of
`eval-gate serve --help` (`settings_help`) and docs/service/settings.md's table
(`settings_table`) all come from it.

Pure: values in, a `ServerSettings` out (or one `UsageError` naming every problem). The only
I/O is reading the files the settings name: the tokens file, the Roboflow keys per workspace,
and the GitHub App's private key (read once, here, and kept as a loaded key, never as text).
The database's settings are declared with the store (gate.store.settings) and read here too.
Secrets (bearer tokens, the Roboflow keys, the GitHub token, the callback secret, the App's key,
the webhook secret) are kept out of `repr` and out of every message.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.api.bounds import DEFAULT_MAX_CHECKS, DEFAULT_MAX_RESAMPLED, Limits
from gate.core.errors import UsageError
from gate.fetch import MIN_POLL_INTERVAL
from gate.github.app_key import AppAuth, AppKeyError, read_app_key
from gate.local.options import Option, markdown_table, read_options
from gate.roboflow.api import DEFAULT_API_URL
from gate.store.settings import DatabaseSettings, database_settings
from gate.worker.callback_allow import AllowList
from gate.worker.credentials import MAX_KEYS_FILE_BYTES, parse_keys_file

__all__ = [
    "DEFAULT_GITHUB_API_URL",
    "DEFAULT_MAX_CHECKS",
    "DEFAULT_MAX_RESAMPLED",
    "DEFAULT_PORT",
    "MIN_TOKEN_LENGTH",
    "MIN_UI_SECRET_LENGTH",
    "SETTINGS",
    "ServerSettings",
    "build_server_settings",
    "github_web_url",
    "settings_help",
    "settings_table",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MAX_MAX_CHECKS = 10_000_000
MAX_MAX_RESAMPLED = 100_000_000_000
MAX_SECONDS = 86_400.0  # no duration setting needs more than a day
MAX_WORK_THREADS = 64
DEFAULT_GITHUB_API_URL = "https://api.github.com"
MIN_TOKEN_LENGTH = 16  # a bearer token (or a webhook secret) shorter than this is guessable
MIN_UI_SECRET_LENGTH = 32  # the history pages' cookie-signing key
MIN_LEASE_SECONDS = 2.0  # a lease shorter than this is lost to a slow database round trip
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
    # images x resamples one request's confidence intervals may cost [EVAL_GATE_MAX_RESAMPLED]
    max_resampled: int = DEFAULT_MAX_RESAMPLED
    # durable gates: a worker's hold on a gate, renewed while it works [EVAL_GATE_LEASE_SECONDS]
    lease_seconds: float = 30.0
    retention_days: int = 90  # finished durable gates are kept [EVAL_GATE_RETENTION_DAYS]
    # durable gates post to GitHub with it [EVAL_GATE_GITHUB_TOKEN]
    github_token: str | None = field(default=None, repr=False)
    roboflow_keys_file: str | None = None  # [EVAL_GATE_ROBOFLOW_KEYS_FILE], read at start
    roboflow_keys: Mapping[str, str] = field(default_factory=dict, repr=False)  # its keys
    public_url: str | None = None  # absolute URLs of durable gates [EVAL_GATE_PUBLIC_URL]
    # where durable gates are kept [EVAL_GATE_DATABASE_URL(_PASSWORD_FILE)]; None: they are off
    database: DatabaseSettings | None = None
    # signs durable gates' callbacks [EVAL_GATE_CALLBACK_SECRET]
    callback_secret: str | None = field(default=None, repr=False)
    # URL prefixes callbacks may go to; none: every callback refused [EVAL_GATE_CALLBACK_ALLOW]
    callback_allow: AllowList = field(default_factory=AllowList)
    # the GitHub App: its id and private key [EVAL_GATE_GITHUB_APP_ID, _PRIVATE_KEY_FILE]
    github_app: AppAuth | None = field(default=None, repr=False)
    # HMAC key of the App's webhook deliveries [EVAL_GATE_GITHUB_WEBHOOK_SECRET]
    github_webhook_secret: str | None = field(default=None, repr=False)
    # GitHub's web pages, for the history pages' links [EVAL_GATE_GITHUB_WEB_URL]
    github_web: str | None = None  # None: derived from github_api_url (`github_web_url`)
    ui_secret: str | None = field(default=None, repr=False)  # [EVAL_GATE_UI_SECRET]
    ui_trust_proxy: bool = False  # X-Forwarded-Proto/-For are a proxy's [EVAL_GATE_UI_TRUST_PROXY]

    @property
    def auth_enabled(self) -> bool:
        return not self.insecure_no_auth

    @property
    def limits(self) -> Limits:
        """What one gate may cost (gate.api.bounds)."""
        return Limits(self.request_deadline, self.max_checks, self.max_resampled)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret the server itself holds, for redaction."""
        held = (
            *self.tokens,
            self.roboflow_api_key,
            self.github_token,
            *self.roboflow_keys.values(),
            self.callback_secret,
            self.github_webhook_secret,
            self.ui_secret,
        )
        return tuple(s for s in held if s)

    @property
    def github_web_url(self) -> str:
        """GitHub's web address: the setting, else derived from the API's (`github_web_url`)."""
        return self.github_web or github_web_url(self.github_api_url)


def github_web_url(api_url: str) -> str:
    """GitHub's web address for its API's: `https://api.github.com` -> `https://github.com`,
    GitHub Enterprise Server's `https://HOST/api/v3` -> `https://HOST`, GitHub Enterprise
    Cloud's `https://api.NAME.ghe.com` -> `https://NAME.ghe.com`."""
    from urllib.parse import urlsplit  # noqa: PLC0415 - only when a page links to GitHub

    parts = urlsplit(api_url.rstrip("/"))
    host = parts.netloc
    if parts.path.rstrip("/").endswith("/api/v3"):
        return f"{parts.scheme}://{host}{parts.path.rstrip('/')[: -len('/api/v3')]}"
    host = host.removeprefix("api.")
    return f"{parts.scheme}://{host}"


# --- converters: raw text (stripped, not empty) -> value, or ValueError(what is wrong) --------


def _text(raw: str) -> str:
    return raw


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    def convert(raw: str) -> int:
        try:
            value = int(raw.replace("_", ""))
        except ValueError:  # "inf", "nan" and "1e3" land here: int() takes digits only
            raise ValueError(f"must be a whole number, got {raw[:40]!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ValueError(f"must be {bound}, got {value}")
        return value

    return convert


def _seconds(*, allow_zero: bool = False, least: float | None = None) -> Callable[[str], float]:
    def convert(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {raw[:40]!r}") from None
        if (
            not math.isfinite(value)
            or value < 0
            or (value == 0 and not allow_zero)
            or (least is not None and value < least)
            or value > MAX_SECONDS
        ):
            low = f">= {least:g}" if least is not None else ">= 0" if allow_zero else "> 0"
            raise ValueError(
                f"must be a finite number of seconds {low} and at most {MAX_SECONDS:,.0f} "
                f"(a day), got {raw[:40]!r}"
            )
        return value

    return convert


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"must be true or false, got {raw[:40]!r}")


def _ui_secret(raw: str) -> str:
    """The cookie-signing key: long enough not to be guessed (never echoed)."""
    if len(raw) < MIN_UI_SECRET_LENGTH:
        raise ValueError(
            f"is shorter than {MIN_UI_SECRET_LENGTH} characters; generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return raw


def _api_key(raw: str) -> str:
    """A Roboflow API key: printable ASCII without spaces (never echoed)."""
    if not (raw.isascii() and raw.isprintable() and " " not in raw):
        raise ValueError(
            "contains spaces, control or non-ASCII characters; set it to the key exactly as "
            "Roboflow shows it"
        )
    return raw


def _days(raw: str) -> int:
    return _integer(1, 36_500)(raw)


def _callback_secret(raw: str) -> str:
    """The key callbacks are signed with: long enough not to be guessed (never echoed)."""
    if not (raw.isascii() and raw.isprintable()) or any(ch.isspace() for ch in raw):
        raise ValueError("contains spaces, control or non-ASCII characters")
    if len(raw) < MIN_TOKEN_LENGTH:
        raise ValueError(f"is shorter than {MIN_TOKEN_LENGTH} characters; {_GENERATE_HINT}")
    return raw


def _app_id(raw: str) -> int:
    """A GitHub App's id: the number on its settings page (`App ID`), not its client id."""
    if not raw.isdigit() or raw.startswith("0") or len(raw) > 18:
        raise ValueError(
            "must be the App's numeric id (App ID on its settings page), not its client id"
        )
    return int(raw)


def _webhook_secret(raw: str) -> str:
    """The App's webhook secret: at least 16 characters (never echoed)."""
    if len(raw) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"is shorter than {MIN_TOKEN_LENGTH} characters; {_GENERATE_HINT}, and set it as "
            "the App's webhook secret too"
        )
    return raw


def _url(default: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        from yarl import URL  # noqa: PLC0415 - only when a URL is configured

        try:
            url = URL(raw)
        except (TypeError, ValueError):
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"must be an http(s) URL with a host, e.g. {default}")
        if url.user is not None or url.password is not None or url.raw_query_string:
            # Never echo it: it may hold credentials.
            raise ValueError("must not contain credentials or a query string")
        return raw.rstrip("/")

    return convert


# --- the declaration: one environment variable a row, in the docs' order ---------------------

_MIB = 1024 * 1024

SETTINGS: tuple[Option[Any], ...] = (
    Option(
        "EVAL_GATE_TOKENS",
        "tokens",
        _text,
        None,
        "bearer tokens clients must send, separated by commas or spaces (this or "
        "`EVAL_GATE_TOKENS_FILE` is required, unless `--insecure-no-auth`)",
        shown_default="— (required)",
    ),
    Option(
        "EVAL_GATE_TOKENS_FILE",
        "tokens_file",
        _text,
        None,
        "a file of bearer tokens, one a line (`#` starts a comment)",
        also="`--tokens-file`",
    ),
    Option(
        "EVAL_GATE_HOST",
        "host",
        _text,
        DEFAULT_HOST,
        "address to listen on (`0.0.0.0` in a container)",
        also="`--host`",
    ),
    Option(
        "EVAL_GATE_PORT",
        "port",
        _integer(0, 65535),
        DEFAULT_PORT,
        "port to listen on",
        also="`--port`",
    ),
    Option(
        "ROBOFLOW_API_KEY",
        "roboflow_api_key",
        _api_key,
        None,
        "the server's key; else each request sends `X-Roboflow-Api-Key`",
    ),
    Option(
        "ROBOFLOW_API_URL",
        "api_url",
        _url(DEFAULT_API_URL),
        DEFAULT_API_URL,
        "the Roboflow API",
    ),
    Option(
        "ROBOFLOW_WORKSPACE",
        "workspace",
        _text,
        None,
        "the workspace when neither the request nor its config names one",
    ),
    Option("EVAL_GATE_MAX_BODY", "max_body", _integer(1024), _MIB, "request body cap, bytes"),
    Option(
        "EVAL_GATE_REQUEST_DEADLINE",
        "request_deadline",
        _seconds(),
        120.0,
        "seconds per gate request",
    ),
    Option(
        "EVAL_GATE_MAX_CONCURRENT_GATES",
        "max_concurrent_gates",
        _integer(1),
        16,
        "gates running at once; more get 429",
    ),
    Option(
        "EVAL_GATE_UPSTREAM_CONCURRENCY",
        "upstream_concurrency",
        _integer(1),
        32,
        "connections to Roboflow, shared by all requests",
    ),
    Option(
        "EVAL_GATE_UPSTREAM_TIMEOUT",
        "upstream_timeout",
        _seconds(),
        30.0,
        "seconds per upstream request",
    ),
    Option(
        "EVAL_GATE_POLL_INTERVAL",
        "poll_interval",
        _seconds(least=MIN_POLL_INTERVAL),
        5.0,
        f"seconds between looks at a running evaluation (at least {MIN_POLL_INTERVAL:g})",
    ),
    Option(
        "EVAL_GATE_CACHE_BYTES",
        "cache_bytes",
        _integer(0),
        256 * _MIB,
        "results cache size (estimated in-memory bytes)",
    ),
    Option(
        "EVAL_GATE_GRACE",
        "grace",
        _seconds(allow_zero=True),
        30.0,
        "seconds in-flight gates get after SIGTERM",
    ),
    Option(
        "EVAL_GATE_MAX_CHECKS",
        "max_checks",
        _integer(1, MAX_MAX_CHECKS),
        DEFAULT_MAX_CHECKS,
        "checks one request may expand into; more is a 400 `too_many_checks`",
    ),
    Option(
        "EVAL_GATE_MAX_RESAMPLED",
        "max_resampled",
        _integer(1, MAX_MAX_RESAMPLED),
        DEFAULT_MAX_RESAMPLED,
        "paired images x resamples one request's confidence intervals may cost; more is a "
        "400 `too_much_resampling`",
    ),
    Option(
        "EVAL_GATE_WORK_THREADS",
        "work_threads",
        _integer(1, MAX_WORK_THREADS),
        2,
        "threads for requests' CPU work (parse, evaluate, render, encode)",
    ),
    Option(
        "EVAL_GATE_GITHUB_API_URL",
        "github_api_url",
        _url(DEFAULT_GITHUB_API_URL),
        DEFAULT_GITHUB_API_URL,
        "GitHub (Enterprise) API for `github` posting",
    ),
    Option(
        "EVAL_GATE_LEASE_SECONDS",
        "lease_seconds",
        _seconds(least=MIN_LEASE_SECONDS),
        30.0,
        "durable gates: how long a worker holds a gate before another may take it over (it "
        f"renews the hold while it works; at least {MIN_LEASE_SECONDS:g})",
    ),
    Option(
        "EVAL_GATE_RETENTION_DAYS",
        "retention_days",
        _days,
        90,
        "durable gates: days a finished gate is kept, then purged",
    ),
    Option(
        "EVAL_GATE_GITHUB_TOKEN",
        "github_token",
        _api_key,
        None,
        "durable gates: the token they post check runs, statuses and comments with (a job's "
        "token expires with its job, so a request's is refused)",
    ),
    Option(
        "EVAL_GATE_ROBOFLOW_KEYS_FILE",
        "roboflow_keys_file",
        _text,
        None,
        "durable gates: a file of `workspace=KEY` lines, a Roboflow key per workspace "
        "(`ROBOFLOW_API_KEY` serves the others)",
    ),
    Option(
        "EVAL_GATE_PUBLIC_URL",
        "public_url",
        _url("https://eval-gate.example.com"),
        None,
        "durable gates: the server's address as clients reach it, for absolute gate URLs "
        "(`Location`, check runs' details); default: the request's Host",
    ),
    Option(
        "EVAL_GATE_CALLBACK_SECRET",
        "callback_secret",
        _callback_secret,
        None,
        "the key durable gates' callbacks are signed with (`X-Eval-Gate-Signature-256`), at "
        f"least {MIN_TOKEN_LENGTH} characters; required with `EVAL_GATE_CALLBACK_ALLOW`",
    ),
    Option(
        "EVAL_GATE_CALLBACK_ALLOW",
        "callback_allow",
        AllowList.parse,
        AllowList(),
        "URL prefixes durable gates may call back, comma or space separated "
        "([which match](#allowing-callback-urls))",
        shown_default="— (every callback refused)",
    ),
    Option(
        "EVAL_GATE_GITHUB_APP_ID",
        "github_app_id",
        _app_id,
        None,
        "the GitHub App's id (App ID on its settings page); with the private key, the service "
        "acts as the App: installation tokens, no `EVAL_GATE_GITHUB_TOKEN` needed",
    ),
    Option(
        "EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE",
        "github_app_private_key_file",
        _text,
        None,
        "the App's private key (the `.pem` GitHub gave), read once at start",
    ),
    Option(
        "EVAL_GATE_GITHUB_WEBHOOK_SECRET",
        "github_webhook_secret",
        _webhook_secret,
        None,
        "the App's webhook secret, at least 16 characters: turns on "
        "`POST /v1/github/webhook` (each delivery's `X-Hub-Signature-256` is checked with it)",
    ),
    Option(
        "EVAL_GATE_GITHUB_WEB_URL",
        "github_web",
        _url("https://github.com"),
        None,
        "GitHub's web address, for the history pages' links to pull requests and check runs",
        shown_default="from the API URL",
    ),
    Option(
        "EVAL_GATE_UI_SECRET",
        "ui_secret",
        _ui_secret,
        None,
        "the key that signs the history pages' session cookie (at least "
        f"{MIN_UI_SECRET_LENGTH} characters; the same on every replica)",
        shown_default="derived from the tokens",
    ),
    Option(
        "EVAL_GATE_UI_TRUST_PROXY",
        "ui_trust_proxy",
        _boolean,
        False,  # noqa: FBT003 - Option's default, positional like every other row's
        "trust `X-Forwarded-Proto` and `X-Forwarded-For` (set it behind a proxy that sets "
        "them): the session cookie is `Secure` over https, logins are throttled per client",
        shown_default="false",
    ),
)

# Declared settings read into another field (or several into one): not ServerSettings fields.
_READ_INTO = ("tokens", "tokens_file", "github_app_id", "github_app_private_key_file")

LOG_FLAGS_ROW = ("—", "`--log-format`, `--log-level`", "`json`, `info`", "logs on stderr")
"""The service's logging is set by flags only (the command line owns them)."""


def _shown_default(option: Option[Any]) -> str:
    """The docs' default: numbers plain, text in code style, `—` for none."""
    if option.shown_default:
        return option.shown_default
    if option.default is None:
        return "—"
    if isinstance(option.default, int | float):
        return f"{option.default:g}" if isinstance(option.default, float) else str(option.default)
    return f"`{option.default}`"


def settings_table() -> str:
    """docs/service/settings.md's table of the service's settings."""
    rows = [(f"`{o.name}`", o.also or "—", _shown_default(o), o.help) for o in SETTINGS]
    rows.append(LOG_FLAGS_ROW)
    return markdown_table(("variable", "flag", "default", "meaning"), rows)


def settings_help() -> str:
    """The environment part of `eval-gate serve --help`."""
    parts = []
    for o in SETTINGS:
        default = (
            ""
            if o.default is None or str(o.default) == ""  # none, or an empty allow-list
            else f" (default {o.default:g})"
            if isinstance(o.default, float)
            else f" (default {o.default})"
        )
        parts.append(f"{o.name}{default}")
    return textwrap.fill("environment: " + ", ".join(parts) + ".", width=95)


def _read_tokens_file(path: Path, problems: list[str], origin: str) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{origin}: tokens file {path} not found")
        return []
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{origin}: cannot read tokens file {path} ({type(exc).__name__})")
        return []
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _tokens(
    problems: list[str],
    inline: str | None,
    tokens_file: str | None,
    env_file: str | None,
    cwd: Path | None,
) -> tuple[str, ...]:
    found: list[str] = []
    found.extend(t for t in _TOKEN_SPLIT.split(inline or "") if t)
    origin = "--tokens-file" if tokens_file else "EVAL_GATE_TOKENS_FILE"
    file_name = tokens_file or env_file
    if file_name:
        path = Path(file_name)
        if cwd is not None and not path.is_absolute():
            path = cwd / path
        found.extend(_read_tokens_file(path, problems, origin))
    short = [i for i, t in enumerate(found, start=1) if len(t) < MIN_TOKEN_LENGTH]
    if short:
        which = ", ".join(f"#{i}" for i in short)
        problems.append(
            f"bearer token {which} is shorter than {MIN_TOKEN_LENGTH} characters; {_GENERATE_HINT}"
        )
    odd = [i for i, t in enumerate(found, start=1) if not (t.isascii() and t.isprintable())]
    if odd:
        which = ", ".join(f"#{i}" for i in odd)
        problems.append(f"bearer token {which} has non-ASCII or control characters")
    return tuple(dict.fromkeys(found))


def _keys_file(problems: list[str], name: str | None, cwd: Path | None) -> dict[str, str]:
    """The keys of EVAL_GATE_ROBOFLOW_KEYS_FILE (read once, at start); none if unset."""
    if name is None:
        return {}
    path = Path(name)
    if cwd is not None and not path.is_absolute():
        path = cwd / path
    origin = f"EVAL_GATE_ROBOFLOW_KEYS_FILE ({path})"
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEYS_FILE_BYTES + 1)
    except OSError as error:
        problems.append(f"{origin}: cannot read it ({error.strerror or type(error).__name__})")
        return {}
    if len(data) > MAX_KEYS_FILE_BYTES:
        problems.append(f"{origin}: larger than {MAX_KEYS_FILE_BYTES:,} bytes")
        return {}
    try:
        return parse_keys_file(data.decode("utf-8"), origin)
    except UnicodeDecodeError:
        problems.append(f"{origin}: not UTF-8 text")
    except UsageError as error:
        problems.append(str(error))
    return {}


def _github_app(
    problems: list[str], app_id: int | None, key_file: str | None, cwd: Path | None
) -> AppAuth | None:
    """The App's id and loaded key, both or neither; a problem (one line, no key material)
    for one without the other or a key that cannot be used."""
    if app_id is None and key_file is None:
        return None
    if app_id is None and any(p.startswith("EVAL_GATE_GITHUB_APP_ID ") for p in problems):
        return None  # the id is refused already: one problem is enough
    if app_id is None or key_file is None:
        given, missing = (
            ("EVAL_GATE_GITHUB_APP_ID", "EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE")
            if key_file is None
            else ("EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE", "EVAL_GATE_GITHUB_APP_ID")
        )
        problems.append(
            f"{given} is set but {missing} is not: the service acts as a GitHub App with both "
            "(its id and its private key), or neither"
        )
        return None
    path = Path(key_file)
    if cwd is not None and not path.is_absolute():
        path = cwd / path
    try:
        return AppAuth(app_id, read_app_key(path))
    except AppKeyError as error:
        problems.append(f"EVAL_GATE_GITHUB_APP_PRIVATE_KEY_FILE: {error}")
        return None


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

    def get(name: str) -> str | None:
        value = environ.get(name, "").strip()
        return value or None

    read = read_options(SETTINGS, get)
    problems: list[str] = []
    tokens = _tokens(problems, read["tokens"], tokens_file, read["tokens_file"], cwd)
    if not tokens and not insecure_no_auth:
        problems.append(
            "no bearer token configured: set EVAL_GATE_TOKENS (comma or space separated) or "
            "EVAL_GATE_TOKENS_FILE (one per line), or pass --insecure-no-auth to serve without "
            f"authentication (never on a shared network); {_GENERATE_HINT}"
        )
    if read["callback_allow"].prefixes and get("EVAL_GATE_CALLBACK_SECRET") is None:
        problems.append(
            "EVAL_GATE_CALLBACK_ALLOW is set but EVAL_GATE_CALLBACK_SECRET is not: callbacks are "
            f"always signed; set it to at least {MIN_TOKEN_LENGTH} characters; {_GENERATE_HINT}"
        )
    if tokens and insecure_no_auth:
        problems.append(
            "--insecure-no-auth was given but bearer tokens are configured: drop one of them"
        )
    problems.extend(read.problems)
    if port is not None and not 0 <= port <= 65535:
        problems.append(f"--port must be between 0 and 65535, got {port}")
        port = None
    fields = {o.field: read[o.field] for o in SETTINGS if o.field not in _READ_INTO}
    fields["github_app"] = _github_app(
        problems, read["github_app_id"], read["github_app_private_key_file"], cwd
    )
    fields["host"] = (host or "").strip() or read["host"]
    if port is not None:
        fields["port"] = port
    fields["roboflow_keys"] = _keys_file(problems, read["roboflow_keys_file"], cwd)
    try:
        fields["database"] = database_settings(environ, cwd=cwd or Path.cwd())
    except UsageError as error:
        problems.append(str(error))
    settings = ServerSettings(tokens=tokens, insecure_no_auth=insecure_no_auth, **fields)
    if problems:
        raise UsageError("; ".join(problems))
    return settings
