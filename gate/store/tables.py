"""The durable gates' tables (SQLAlchemy Core), as migrations 0001 and 0002 (the webhooks'
pull_heads, replaced_heads, redeliveries) create them.

Every time is an integer of milliseconds since the Unix epoch, UTC (`*_at`): the same order
and comparison on SQLite and PostgreSQL, and no time zone to get wrong. JSON documents are
text, written by the store (canonical, compact). tests/store/test_migrations.py checks that the
migrations build exactly these tables on both backends.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "deliveries",
    "gate_watches",
    "gates",
    "metadata",
    "pull_heads",
    "redeliveries",
    "replaced_heads",
    "watches",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

gates = Table(
    "gates",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("request", Text, nullable=False),
    Column("repository", String(200), nullable=True),
    Column("pull_number", Integer, nullable=True),
    Column("sha", String(40), nullable=True),
    Column("gate_name", String(100), nullable=True),
    Column("installation_id", BigInteger, nullable=True),
    Column("deadline_at", BigInteger, nullable=False),
    Column("next_run_at", BigInteger, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("published_version", Integer, nullable=False),
    Column("check_run_id", BigInteger, nullable=True),
    Column("comment_id", BigInteger, nullable=True),
    Column("waiting_for", Text, nullable=True),
    Column("verdict", String(8), nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("headline", Text, nullable=True),
    Column("result", Text, nullable=True),
    Column("report", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("callback_url", Text, nullable=True),
    Column("callback_delivery", String(36), nullable=True),
    Column("callback_state", String(12), nullable=True),
    Column("callback_attempts", Integer, nullable=False),
    Column("callback_next_at", BigInteger, nullable=True),
    Column("finished_at", BigInteger, nullable=True),
    Column("runs", Integer, nullable=False),
    Column("superseded_by", String(40), nullable=True),
    UniqueConstraint("idempotency_key", name="uq_gates_idempotency_key"),
    # History, newest first, paged by (created_at, id): one index per filter the list takes.
    Index("ix_gates_created", "created_at", "id"),
    Index("ix_gates_repo_created", "repository", "created_at", "id"),
    Index("ix_gates_repo_pr_created", "repository", "pull_number", "created_at", "id"),
    Index("ix_gates_sha_created", "sha", "created_at", "id"),
    Index("ix_gates_status_created", "status", "created_at", "id"),
    # What a worker claims: only rows with something to do are in it.
    Index(
        "ix_gates_due",
        "next_run_at",
        postgresql_where="next_run_at IS NOT NULL",
        sqlite_where="next_run_at IS NOT NULL",
    ),
    Index("ix_gates_finished", "finished_at"),
)

watches = Table(
    "watches",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("workspace", String(200), nullable=False),
    Column("by", String(8), nullable=False),
    Column("ref", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("eval_id", String(200), nullable=True),
    Column("detail", Text, nullable=True),
    Column("checked_at", BigInteger, nullable=True),
    Column("next_poll_at", BigInteger, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Index("ix_watches_next_poll", "next_poll_at"),
)

gate_watches = Table(
    "gate_watches",
    metadata,
    Column(
        "gate_id",
        String(40),
        ForeignKey("gates.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("watch_key", String(64), ForeignKey("watches.key"), primary_key=True),
    Index("ix_gate_watches_watch_key", "watch_key"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("guid", String(64), primary_key=True),
    Column("event", String(64), nullable=False),
    Column("action", String(64), nullable=True),
    Column("received_at", BigInteger, nullable=False),
    Index("ix_deliveries_received", "received_at"),
)

# --- issue 19's webhooks (migration 0002); repositories are kept lower case (GitHub's names
# are case-insensitive).

pull_heads = Table(
    "pull_heads",
    metadata,
    Column("repository", String(200), primary_key=True),
    Column("pull_number", Integer, primary_key=True),
    Column("head_sha", String(40), nullable=False),
    Column("head_at", BigInteger, nullable=False),  # the pull request's updated_at it said
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_pull_heads_updated", "updated_at"),
)

replaced_heads = Table(
    "replaced_heads",
    metadata,
    Column("repository", String(200), primary_key=True),
    Column("pull_number", Integer, primary_key=True),
    Column("sha", String(40), primary_key=True),
    Column("replaced_by", String(40), nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Index("ix_replaced_heads_recorded", "recorded_at"),
)

redeliveries = Table(
    "redeliveries",
    metadata,
    Column("guid", String(64), primary_key=True),
    Column("delivery_id", BigInteger, nullable=False),
    Column("asked_at", BigInteger, nullable=False),
    Index("ix_redeliveries_asked", "asked_at"),
)
