"""The store: one database (SQLite or PostgreSQL), its migrations, its transactions.

    store = open_store("sqlite:///eval-gate.db")          # builds the engine; no I/O yet
    await store.upgrade()                                  # migrate to head (eval-gate db upgrade)
    await store.check()                                    # StoreUnavailable(reason) if unusable
    async with store.transaction() as tx:                  # one write transaction
        inserted = await tx.insert_gate(NewGate(...))
    async with store.read() as tx:                         # one read transaction
        page = await tx.list_gates(GateQuery(repository="o/r"))
    await store.close()

SQLite is one process: the store runs one write transaction at a time (an asyncio lock, then
`BEGIN IMMEDIATE`); reads run beside it (WAL). PostgreSQL takes any number of processes.
A database that cannot be reached, opened or written is `StoreUnavailable`, one line naming the
database (its password masked) and the reason (any password redacted).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path

from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gate.core.redact import redact
from gate.store import migrate
from gate.store.connect import IMMEDIATE, build_engine
from gate.store.errors import StoreUnavailable
from gate.store.paging import explain
from gate.store.settings import DatabaseSettings, parse_database_url
from gate.store.settle import settle
from gate.store.transaction import Transaction
from gate.store.values import GateQuery

__all__ = ["Clock", "Store", "open_store", "system_clock"]

Clock = Callable[[], int]
"""Milliseconds since the Unix epoch, UTC."""


def system_clock() -> int:
    return time.time_ns() // 1_000_000


def open_store(
    database: DatabaseSettings | str,
    *,
    password_file: Path | None = None,
    clock: Clock = system_clock,
) -> Store:
    """A store on `database` (settings, or a URL: a relative SQLite path is relative to the
    working directory). Builds the engine (reading the password file, if any); connects
    only when used, and never migrates by itself."""
    if isinstance(database, str):
        database = DatabaseSettings(
            url=parse_database_url(database).resolved(Path.cwd()), password_file=password_file
        )
    return Store(database, clock=clock)


class Store:
    """A database of durable gates; see the module's docstring."""

    def __init__(self, settings: DatabaseSettings, *, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.backend = settings.url.backend
        self.shown_url = settings.shown()
        self._engine: AsyncEngine = build_engine(settings)
        self._clock = clock
        self._secrets = tuple(
            s for s in (self._engine.url.password, settings.url.password) if isinstance(s, str)
        )
        self._write_lock = asyncio.Lock()
        self._path_checked = False  # SQLite: its path checked and a connection opened once

    def __repr__(self) -> str:
        return f"Store({self.shown_url!r})"

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for benches and tests; the application uses transactions)."""
        return self._engine

    @contextmanager
    def _unavailable(self) -> Iterator[None]:
        """Database errors (unreachable, unopenable, locked, read-only) as StoreUnavailable."""
        try:
            yield
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise StoreUnavailable(self._reason(error.orig or error)) from None
        except exc.DatabaseError as error:
            if type(error) is not exc.DatabaseError:  # integrity, programming, data: bugs
                raise
            # the plain kind: "file is not a database", "database disk image is malformed"
            raise StoreUnavailable(self._reason(error.orig or error)) from None
        except OSError as error:
            raise StoreUnavailable(self._reason(error)) from None

    def _reason(self, error: BaseException) -> str:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = redact(lines[0] if lines else type(error).__name__, self._secrets)[:300]
        hint = ""
        if self.backend == "sqlite" and ("unable to open" in detail or "readonly" in detail):
            hint = "; check that its directory exists and this process may write there"
        return f"database {self.shown_url} is unavailable: {detail}{hint}"

    def _sqlite_precheck(self) -> None:
        """A SQLite path that cannot be a database file, said before connecting (clearer than
        SQLite's "unable to open database file", and no driver thread is left behind:
        aiosqlite's worker may outlive a failed connect, omnilib/aiosqlite#241)."""
        path = Path(self.settings.url.path or "")
        if path.is_dir():
            raise StoreUnavailable(
                f"database {self.shown_url} is unavailable: {path} is a directory; "
                "name a file in it (sqlite:///DIR/eval-gate.db)"
            )
        if not path.parent.is_dir():
            raise StoreUnavailable(
                f"database {self.shown_url} is unavailable: directory {path.parent} does not "
                "exist; create it or mount the volume there"
            )

    @asynccontextmanager
    async def _connection(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        if self.backend == "sqlite" and not self._path_checked:
            self._sqlite_precheck()  # until a connection opened: not two stat calls a statement
        async with AsyncExitStack() as stack:
            if write and self.backend == "sqlite":
                await stack.enter_async_context(self._write_lock)
            with self._unavailable():
                connection = self._engine.connect()
                try:
                    await settle(connection.start())
                except asyncio.CancelledError:
                    await settle(connection.close())
                    raise
                self._path_checked = True
                try:
                    if write:
                        await settle(connection.execution_options(**{IMMEDIATE: True}))
                    transaction = connection.begin()
                    try:
                        await settle(transaction.start())
                        yield connection
                    except BaseException:
                        if transaction.is_active:
                            await settle(transaction.rollback())
                        raise
                    await settle(transaction.commit())
                finally:
                    await settle(connection.close())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction: committed when the block ends, rolled back on an error."""
        async with self._connection(write=True) as connection:
            yield Transaction(connection, self._clock)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Transaction]:
        """One read-only transaction (SQLite: beside the writer, never waiting for it)."""
        async with self._connection(write=False) as connection:
            yield Transaction(connection, self._clock)

    async def upgrade(self) -> str:
        """Migrate the database to this eval-gate's head; the revision it is at."""
        async with self._connection(write=True) as connection:
            return await connection.run_sync(migrate.upgrade)

    async def current(self) -> str | None:
        """The database's revision; None when it was never migrated."""
        async with self._connection(write=False) as connection:
            return await connection.run_sync(migrate.current_revision)

    async def check(self) -> None:
        """StoreUnavailable(reason) unless the database is reachable, migrated to this
        eval-gate's head and writable."""
        current = await self.current()
        head = migrate.head_revision()
        if current is None:
            raise StoreUnavailable(
                f"database {self.shown_url} has no eval-gate tables: run `eval-gate db upgrade`"
            )
        if current != head:
            if migrate.known_revision(current):
                raise StoreUnavailable(
                    f"database {self.shown_url} is at revision {current}, this eval-gate needs "
                    f"{head}: run `eval-gate db upgrade`"
                )
            raise StoreUnavailable(
                f"database {self.shown_url} is at revision {current}, which this eval-gate "
                f"does not know (a newer eval-gate migrated it): run that version"
            )
        with self._unavailable():
            async with self._engine.connect() as connection:
                await connection.execution_options(**{IMMEDIATE: True})
                transaction = await connection.begin()
                try:
                    await connection.execute(
                        text("UPDATE alembic_version SET version_num = version_num")
                    )
                finally:
                    await transaction.rollback()

    async def explain(self, query: GateQuery) -> list[str]:
        """The database's plan for `query`'s page (see `paging.explain`)."""
        async with self._connection(write=False) as connection:
            return await explain(connection, query)

    async def close(self) -> None:
        await self._engine.dispose()
