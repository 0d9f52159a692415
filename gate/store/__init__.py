"""The durable gates' store: the only package that knows SQL.

SQLAlchemy 2 Core (async) over SQLite (`sqlite+aiosqlite`, the default, one process) or
PostgreSQL (`postgresql+psycopg`, any number of replicas); Alembic migrations shipped in the
package and run by `Store.upgrade()` (`eval-gate db upgrade`). It imports nothing of eval-gate
but `gate.core` (values, errors) and `gate.local.options` (.importlinter keeps it so): no face, no
engine, no adapter.

Names are loaded on first use: `gate.store.settings` (the database settings, standard library
only) can be read without importing SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BadCursor": "gate.store.errors",
    "IdempotencyConflict": "gate.store.errors",
    "StoreError": "gate.store.errors",
    "StoreUnavailable": "gate.store.errors",
    "ACTIVE": "gate.store.values",
    "FINISHED": "gate.store.values",
    "MAX_LIMIT": "gate.store.values",
    "STATUSES": "gate.store.values",
    "GateQuery": "gate.store.values",
    "GateRow": "gate.store.values",
    "Inserted": "gate.store.values",
    "NewGate": "gate.store.values",
    "Page": "gate.store.values",
    "WatchRow": "gate.store.values",
    "WatchSpec": "gate.store.values",
    "DATABASE_SETTINGS": "gate.store.settings",
    "DEFAULT_DATABASE_URL": "gate.store.settings",
    "DatabaseSettings": "gate.store.settings",
    "DatabaseUrl": "gate.store.settings",
    "database_settings": "gate.store.settings",
    "read_password_file": "gate.store.settings",
    "Clock": "gate.store.store",
    "Store": "gate.store.store",
    "open_store": "gate.store.store",
    "system_clock": "gate.store.store",
    "Transaction": "gate.store.transaction",
}

__all__ = [
    "ACTIVE",
    "DATABASE_SETTINGS",
    "DEFAULT_DATABASE_URL",
    "FINISHED",
    "MAX_LIMIT",
    "STATUSES",
    "BadCursor",
    "Clock",
    "DatabaseSettings",
    "DatabaseUrl",
    "GateQuery",
    "GateRow",
    "IdempotencyConflict",
    "Inserted",
    "NewGate",
    "Page",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Transaction",
    "WatchRow",
    "WatchSpec",
    "database_settings",
    "open_store",
    "read_password_file",
    "system_clock",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)

if TYPE_CHECKING:
    from gate.store.errors import BadCursor, IdempotencyConflict, StoreError, StoreUnavailable
    from gate.store.settings import (
        DATABASE_SETTINGS,
        DEFAULT_DATABASE_URL,
        DatabaseSettings,
        DatabaseUrl,
        database_settings,
        read_password_file,
    )
    from gate.store.store import Clock, Store, open_store, system_clock
    from gate.store.transaction import Transaction
    from gate.store.values import (
        ACTIVE,
        FINISHED,
        MAX_LIMIT,
        STATUSES,
        GateQuery,
        GateRow,
        Inserted,
        NewGate,
        Page,
        WatchRow,
        WatchSpec,
    )
