"""Where durable gates are kept: `EVAL_GATE_DATABASE_URL` and `EVAL_GATE_DATABASE_PASSWORD_FILE`.

Declared once (`DATABASE_SETTINGS`, `gate.local.options`): the service adds them to its own
settings, `eval-gate db` reads them, docs/service/database.md's table is derived from them.

    sqlite:///eval-gate.db               the default: a file in the working directory
    sqlite:////var/lib/eval-gate/db      an absolute path (four slashes)
    postgresql://user:password@host:5432/db[?sslmode=require]

Pure: the URL is parsed with the standard library (no SQLAlchemy: the settings are read on
paths that must stay light), a relative SQLite path is resolved against the `cwd` the caller
passes. The only I/O is `read_password_file`, called when the store is opened.

A password (from the URL or the file) never appears in a `repr`, a message or a shown URL: it
is kept out of `repr` and every rendering masks it as `***`. A malformed URL is never echoed
(it may hold a password); messages name the part that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from gate.core.errors import UsageError
from gate.local.options import Option, markdown_table, read_options

__all__ = [
    "DATABASE_SETTINGS",
    "DEFAULT_DATABASE_URL",
    "DatabaseSettings",
    "DatabaseUrl",
    "database_settings",
    "database_table",
    "parse_database_url",
    "read_password_file",
]

DEFAULT_DATABASE_URL = "sqlite:///eval-gate.db"
MAX_PASSWORD_FILE_BYTES = 4096  # a password, not a document: read no more than this
Backend = Literal["sqlite", "postgresql"]

_EXAMPLES = "sqlite:///PATH or postgresql://user:password@host:port/db"
_SQLITE_SCHEMES = ("sqlite", "sqlite+aiosqlite")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
MASK = "***"


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A parsed database URL: a SQLite file, or a PostgreSQL server and database."""

    backend: Backend
    path: str | None = None  # sqlite: the file, as written (relative until `resolved`)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | None = None
    database: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    def resolved(self, cwd: Path) -> DatabaseUrl:
        """A SQLite path made absolute against `cwd`; anything else unchanged."""
        if self.backend != "sqlite" or self.path is None or Path(self.path).is_absolute():
            return self
        return replace(self, path=str(cwd / self.path))

    def with_password(self, password: str | None) -> DatabaseUrl:
        return replace(self, password=password)

    def shown(self) -> str:
        """The URL for logs and messages: the password, if any, is `***`."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.path}"
        user = ""
        if self.username is not None:
            user = quote(self.username, safe="")
            if self.password is not None:
                user += ":" + MASK
            user += "@"
        host = self.host or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        port = f":{self.port}" if self.port is not None else ""
        query = f"?{urlencode(self.query)}" if self.query else ""
        return f"postgresql://{user}{host}{port}/{quote(self.database or '', safe='')}{query}"

    def __str__(self) -> str:
        return self.shown()


def parse_database_url(raw: str) -> DatabaseUrl:
    """`raw` (stripped, not empty) as a `DatabaseUrl`, or ValueError saying what is wrong,
    without echoing it."""
    scheme, sep, rest = raw.partition(":")
    scheme = scheme.lower()
    if not sep:
        raise ValueError(f"must be a URL: {_EXAMPLES}")
    if scheme in _SQLITE_SCHEMES:
        return _sqlite(rest)
    if scheme in _POSTGRES_SCHEMES:
        return _postgres(raw)
    shown = scheme if scheme.replace("+", "").isalnum() and len(scheme) <= 30 else "?"
    raise ValueError(f"has scheme {shown!r}; use {_EXAMPLES}")


def _sqlite(rest: str) -> DatabaseUrl:
    if not rest.startswith("///"):
        raise ValueError("must name a file: sqlite:///relative/path or sqlite:////absolute/path")
    path = rest[3:]
    if not path or path.endswith("/"):
        raise ValueError("must name a file after sqlite:///, e.g. sqlite:///eval-gate.db")
    if path == ":memory:" or path.startswith("file:"):
        raise ValueError(
            "must be a file: a database in memory loses every gate when the process exits"
        )
    if "?" in path or "#" in path:
        raise ValueError("must be sqlite:///PATH without a query or fragment")
    return DatabaseUrl("sqlite", path=path)


def _postgres(raw: str) -> DatabaseUrl:
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError(
            f"is not a valid PostgreSQL URL (bad host or port); use {_EXAMPLES}"
        ) from None
    if parts.fragment:
        raise ValueError("must not have a fragment (#...)")
    database = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if not database or "/" in database:
        raise ValueError(f"must name one database after the host: {_EXAMPLES}")
    try:
        query = tuple(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise ValueError("has a malformed query string") from None
    if any(key.lower() == "password" for key, _ in query):
        raise ValueError(
            "must not carry a password in its query; put it in the URL "
            "(user:password@host) or in EVAL_GATE_DATABASE_PASSWORD_FILE"
        )
    return DatabaseUrl(
        "postgresql",
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname,
        port=port,
        database=database,
        query=query,
    )


def _text(raw: str) -> str:
    return raw


DATABASE_SETTINGS: tuple[Option[Any], ...] = (
    Option(
        "EVAL_GATE_DATABASE_URL",
        "database_url",
        parse_database_url,
        parse_database_url(DEFAULT_DATABASE_URL),
        "where durable gates are kept: `sqlite:///PATH` (relative to the working directory; "
        "one process) or `postgresql://user:password@host:port/db` (replicas)",
        shown_default=f"`{DEFAULT_DATABASE_URL}`",
    ),
    Option(
        "EVAL_GATE_DATABASE_PASSWORD_FILE",
        "database_password_file",
        _text,
        None,
        "a file holding the PostgreSQL password, used when the URL has none",
    ),
)


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """The database to open: its URL (a SQLite path made absolute) and the password file."""

    url: DatabaseUrl = field(default_factory=lambda: parse_database_url(DEFAULT_DATABASE_URL))
    password_file: Path | None = None

    def shown(self) -> str:
        return self.url.shown()


def database_settings(
    environ: Mapping[str, str], *, cwd: Path, prefix: str = ""
) -> DatabaseSettings:
    """The database settings in `environ`, or one `UsageError` naming every problem."""
    read = read_options(DATABASE_SETTINGS, lambda name: _get(environ, name), prefix=prefix)
    problems = list(read.problems)
    url: DatabaseUrl = read["database_url"].resolved(cwd)
    password_file = read["database_password_file"]
    path = None if password_file is None else cwd / password_file
    if path is not None and url.backend == "sqlite":
        problems.append(
            f"{prefix}EVAL_GATE_DATABASE_PASSWORD_FILE is set but EVAL_GATE_DATABASE_URL is "
            "SQLite, which has no password: unset one of them"
        )
    if problems:
        raise UsageError("; ".join(problems))
    return DatabaseSettings(url=url, password_file=path)


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def read_password_file(path: Path) -> str:
    """The password in `path`: its first line, without the line break. A missing, unreadable,
    empty, oversized or multi-line file is a `UsageError` naming the file (never its content)."""
    where = f"EVAL_GATE_DATABASE_PASSWORD_FILE ({path})"
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PASSWORD_FILE_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(
            f"{where}: no such file; set it to the file holding the password"
        ) from None
    except OSError as error:
        raise UsageError(
            f"{where}: cannot read it ({error.strerror or type(error).__name__})"
        ) from None
    if len(data) > MAX_PASSWORD_FILE_BYTES:
        raise UsageError(
            f"{where}: larger than {MAX_PASSWORD_FILE_BYTES} bytes; it must hold the password only"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text") from None
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise UsageError(f"{where}: empty; write the password on its first line")
    if "\n" in password or "\r" in password:
        raise UsageError(f"{where}: more than one line; it must hold the password only")
    return password


def database_table() -> str:
    """docs/service/database.md's table of the database settings."""
    rows = [
        (f"`{o.name}`", o.shown_default or ("—" if o.default is None else f"`{o.default}`"), o.help)
        for o in DATABASE_SETTINGS
    ]
    return markdown_table(("variable", "default", "meaning"), rows)
