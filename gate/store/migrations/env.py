"""Alembic's environment: run the migrations on the connection `gate.store.migrate` passes
(inside its transaction, under its lock), never on a connection of its own."""

from __future__ import annotations

from alembic import context

from gate.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run the store's migrations with `eval-gate db upgrade` (gate.store.migrate)"
    )

context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
