"""From `DatabaseSettings` to a SQLAlchemy async engine, one per backend.

SQLite (`sqlite+aiosqlite`): every connection sets `journal_mode=WAL` (readers never wait on
the writer), `synchronous=NORMAL` (in WAL mode a commit survives a crash of the process; only
an operating-system crash or power loss may lose the last commits, never corrupt the file),
`busy_timeout=10000` and `foreign_keys=ON`. The driver's own implicit BEGIN is turned off and
the store emits its own: `BEGIN IMMEDIATE` for write transactions, so the write lock is taken
at the start (another process waits up to the busy timeout, or fails; never a deadlock
half-way), plain `BEGIN` for reads.

PostgreSQL (`postgresql+psycopg`, psycopg 3): the password from the URL, else from
`EVAL_GATE_DATABASE_PASSWORD_FILE`; connections are checked before use (a restarted server
costs no failed transaction).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import URL, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gate.store.settings import DatabaseSettings, read_password_file

__all__ = ["IMMEDIATE", "build_engine", "sqlalchemy_url"]

IMMEDIATE = "eval_gate_immediate"
"""Execution option: this connection's transaction writes (SQLite: BEGIN IMMEDIATE)."""
SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 10


def sqlalchemy_url(settings: DatabaseSettings) -> URL:
    """The driver URL, built from parts (a password is never pasted into a string)."""
    url = settings.url
    if url.backend == "sqlite":
        return URL.create("sqlite+aiosqlite", database=url.path)
    password = url.password
    if password is None and settings.password_file is not None:
        password = read_password_file(settings.password_file)
    return URL.create(
        "postgresql+psycopg",
        username=url.username,
        password=password,
        host=url.host,
        port=url.port,
        database=url.database,
        query=dict(url.query),
    )


def build_engine(settings: DatabaseSettings) -> AsyncEngine:
    url = sqlalchemy_url(settings)
    if settings.url.backend == "sqlite":
        engine = create_async_engine(url)
        _sqlite_events(engine)
        return engine
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )


def _wal(cursor: Any) -> None:
    """`PRAGMA journal_mode = WAL`, waiting out another connection that holds the lock the
    switch needs: SQLite answers that at once with "database is locked" (the busy handler is
    not called for it), as when several stores open a new file together. On the driver's
    thread, never the event loop."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
        else:
            return


def _sqlite_events(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN: the store says BEGIN
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 10000")  # SQLITE_BUSY_TIMEOUT_MS
            _wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
