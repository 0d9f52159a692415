"""Durable gates served by real `eval-gate serve` processes: the stand-ins in this process, the
database a SQLite file or a fresh database on the session's PostgreSQL (the store's fixture: in
CI it is always there)."""

from __future__ import annotations

from tests.durable.test_durable_process import stage  # noqa: F401 - the stand-ins, shared
from tests.store.conftest import postgres  # noqa: F401 - the session's PostgreSQL, shared
