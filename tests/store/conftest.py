"""The store's contract suite runs on both backends: `store` is a fresh, migrated store on a
SQLite file and on a real PostgreSQL.

PostgreSQL: `EVAL_GATE_TEST_POSTGRES_URL` (a superuser's URL; .ci/run starts a throwaway
cluster and sets it), else this session starts its own throwaway cluster when PostgreSQL's
binaries are installed (tests/postgres_cluster.py), else the PostgreSQL cases skip — except
under CI (`CI` set), where a missing PostgreSQL fails them: in CI they always run.
One database is created and migrated per session; each test starts from emptied tables.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text

from gate.store import Store, open_store
from gate.store.settings import parse_database_url
from tests import postgres_cluster

BACKENDS = ["sqlite", "postgresql"]
START_MS = 1_800_000_000_000  # 2027-01-15, a fixed "now" for the fake clock


@dataclass
class FakeClock:
    """Milliseconds since the epoch, moved by the test."""

    now: int = START_MS

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


@dataclass(frozen=True)
class Postgres:
    """A reachable PostgreSQL: `admin_url` a superuser's (database `postgres`)."""

    admin_url: str

    def url(self, database: str) -> str:
        parsed = parse_database_url(self.admin_url)
        host = f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host
        password = f":{parsed.password}" if parsed.password else ""
        return f"postgresql://{parsed.username}{password}@{host}/{database}"

    def create_database(self) -> str:
        """A new empty database's URL."""
        name = f"eval_gate_test_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres | None]:
    """The session's PostgreSQL, or None (not installed, outside CI)."""
    url = os.environ.get("EVAL_GATE_TEST_POSTGRES_URL", "").strip()
    if url:
        yield Postgres(url)
        return
    if postgres_cluster.find_bin() is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI is set but there is no PostgreSQL: set EVAL_GATE_TEST_POSTGRES_URL or "
                "install PostgreSQL (apt-get install postgresql); .ci/run does both"
            )
        yield None
        return
    cluster = postgres_cluster.start()
    try:
        yield Postgres(cluster.url)
    finally:
        postgres_cluster.stop(cluster.directory)


def need_postgres(postgres: Postgres | None) -> Postgres:
    if postgres is None:
        pytest.skip("PostgreSQL is not installed (set EVAL_GATE_TEST_POSTGRES_URL to run these)")
    return postgres


@pytest.fixture(scope="session")
def postgres_database(postgres: Postgres | None) -> str | None:
    """The session's migrated test database (URL), or None without PostgreSQL."""
    if postgres is None:
        return None
    url = postgres.create_database()

    async def migrate() -> None:
        store = open_store(url)
        try:
            await store.upgrade()
        finally:
            await store.close()

    asyncio.run(migrate())
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, postgres: Postgres | None, request) -> str:
    """The URL of an empty, migrated database on `backend` (SQLite: migrated by `store`)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/gates.db"
    need_postgres(postgres)
    url = request.getfixturevalue("postgres_database")
    assert url is not None
    return url


@pytest.fixture
async def store(backend: str, store_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    """A migrated store with empty tables on `backend`, on the fake `clock`."""
    store = open_store(store_url, clock=clock)
    try:
        if backend == "sqlite":
            await store.upgrade()
        else:
            async with store.engine.begin() as conn:
                await conn.execute(
                    text(
                        "TRUNCATE gate_watches, watches, gates, deliveries, pull_heads, "
                        "replaced_heads, redeliveries"
                    )
                )
        yield store
    finally:
        await store.close()
