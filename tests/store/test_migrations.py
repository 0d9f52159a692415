"""The migrations build exactly the tables the queries use, on both backends; upgrading is
idempotent and safe when replicas start together; `check` says what is wrong in one line."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from gate.core.errors import ExitCode
from gate.store import StoreUnavailable, open_store
from gate.store.migrate import head_revision
from gate.store.settings import parse_database_url
from gate.store.tables import metadata
from tests.cli.test_cli_db import db
from tests.store.conftest import need_postgres


@pytest.fixture
def empty_url(backend, tmp_path, postgres):
    """A database with nothing in it yet, on `backend`."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/empty.db"
    return need_postgres(postgres).create_database()


async def test_the_migrations_build_exactly_the_tables_the_queries_use(store):
    def differences(connection):
        return compare_metadata(MigrationContext.configure(connection), metadata)

    async with store.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_upgrading_a_migrated_database_again_changes_nothing(store):
    assert await store.current() == head_revision() == "0002"
    assert await store.upgrade() == "0002"
    await store.check()


async def test_check_on_a_database_never_migrated_says_to_run_db_upgrade(empty_url):
    store = open_store(empty_url)
    try:
        assert await store.current() is None
        with pytest.raises(StoreUnavailable, match="run `eval-gate db upgrade`") as caught:
            await store.check()
        assert caught.value.exit_code == ExitCode.UNAVAILABLE
        assert await store.upgrade() == head_revision()
        await store.check()
    finally:
        await store.close()


async def test_replicas_upgrading_together_migrate_once(empty_url):
    stores = [open_store(empty_url) for _ in range(8)]
    try:
        revisions = await asyncio.gather(*(s.upgrade() for s in stores))
        assert revisions == [head_revision()] * 8
        async with stores[0].engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert [v[0] for v in versions] == [head_revision()]
    finally:
        for store in stores:
            await store.close()


async def test_a_database_migrated_by_a_newer_eval_gate_is_refused(store):
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreUnavailable, match="revision 9999, which this eval-gate does not know"):
        await store.check()


def test_eval_gate_db_upgrade_migrates_postgres_with_the_password_from_a_file(tmp_path, postgres):
    server = need_postgres(postgres)
    url = parse_database_url(server.create_database())
    (tmp_path / "pw").write_text(url.password + "\n", encoding="utf-8")
    env = {
        "EVAL_GATE_DATABASE_URL": url.with_password(None).shown(),
        "EVAL_GATE_DATABASE_PASSWORD_FILE": "pw",
    }
    code, out, err = db("upgrade", cwd=tmp_path, **env)
    assert (code, err) == (0, "")
    assert out.endswith(": upgraded from empty to revision 0002 (this eval-gate's head)\n")
    assert db("check", cwd=tmp_path, **env)[0] == 0
    assert url.password not in out


async def test_a_new_sqlite_file_locked_by_another_writer_is_opened_once_the_lock_is_let_go(
    tmp_path,
):
    # Switching a file to WAL needs a lock that SQLite does not wait for (no busy handler):
    # "database is locked" at once, as when replicas open a new file together.
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO other VALUES (1)")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, holder.execute, "COMMIT")
    store = open_store(f"sqlite:///{path}")
    try:
        assert await store.upgrade() == head_revision()
    finally:
        await store.close()
        holder.close()


async def test_a_database_at_0001_upgrades_to_0002_keeping_its_gates(empty_url):
    from alembic import command  # noqa: PLC0415 - this test only
    from alembic.config import Config  # noqa: PLC0415

    from gate.store.migrate import MIGRATIONS  # noqa: PLC0415
    from tests.store.helpers import insert  # noqa: PLC0415

    def to_0001(connection):
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")

    store = open_store(empty_url)
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(to_0001)
        assert await store.current() == "0001"
        (kept,) = await insert(store)
        assert await store.upgrade() == "0002"
        async with store.read() as tx:
            assert (await tx.gate(kept)) is not None
            assert await tx.delivered(["none"]) == set()
        await store.check()
    finally:
        await store.close()
