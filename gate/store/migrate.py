"""Alembic, run programmatically on a connection the store holds: no alembic.ini, the
migrations are read from the package (`gate/store/migrations`).

On PostgreSQL the upgrade runs in one transaction under an advisory lock
(`pg_advisory_xact_lock`), so replicas starting together migrate once: the first migrates,
the others wait for its commit and then find the schema at head. On SQLite the store's write
transaction (`BEGIN IMMEDIATE`) does the same.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

__all__ = ["ADVISORY_LOCK_KEY", "current_revision", "head_revision", "known_revision", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK_KEY = int.from_bytes(b"evalgate", "big")
"""The PostgreSQL advisory lock the upgrade holds (a bigint; 'evalgate' in ASCII)."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "gate/store/migrations has no revision"
    return head


def known_revision(revision: str) -> bool:
    """Whether this eval-gate ships `revision` (a newer one may have migrated the database)."""
    script = ScriptDirectory.from_config(_config())
    return any(s.revision == revision for s in script.walk_revisions())


def current_revision(connection: Connection) -> str | None:
    """The database's revision; None when it was never migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> str:
    """Migrate to head inside the connection's open transaction; the revision it ends at."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    command.upgrade(_config(connection), "head")
    revision = current_revision(connection)
    assert revision is not None
    return revision
