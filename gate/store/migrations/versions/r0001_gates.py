"""gates, watches, gate_watches, deliveries

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gates",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("repository", sa.String(200), nullable=True),
        sa.Column("pull_number", sa.Integer(), nullable=True),
        sa.Column("sha", sa.String(40), nullable=True),
        sa.Column("gate_name", sa.String(100), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("deadline_at", sa.BigInteger(), nullable=False),
        sa.Column("next_run_at", sa.BigInteger(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=False),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("waiting_for", sa.Text(), nullable=True),
        sa.Column("verdict", sa.String(8), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("callback_delivery", sa.String(36), nullable=True),
        sa.Column("callback_state", sa.String(12), nullable=True),
        sa.Column("callback_attempts", sa.Integer(), nullable=False),
        sa.Column("callback_next_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("superseded_by", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gates"),
        sa.UniqueConstraint("idempotency_key", name="uq_gates_idempotency_key"),
    )
    op.create_index("ix_gates_created", "gates", ["created_at", "id"])
    op.create_index("ix_gates_repo_created", "gates", ["repository", "created_at", "id"])
    op.create_index(
        "ix_gates_repo_pr_created", "gates", ["repository", "pull_number", "created_at", "id"]
    )
    op.create_index("ix_gates_sha_created", "gates", ["sha", "created_at", "id"])
    op.create_index("ix_gates_status_created", "gates", ["status", "created_at", "id"])
    op.create_index(
        "ix_gates_due",
        "gates",
        ["next_run_at"],
        postgresql_where=sa.text("next_run_at IS NOT NULL"),
        sqlite_where=sa.text("next_run_at IS NOT NULL"),
    )
    op.create_index("ix_gates_finished", "gates", ["finished_at"])

    op.create_table(
        "watches",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("workspace", sa.String(200), nullable=False),
        sa.Column("by", sa.String(8), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("eval_id", sa.String(200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.BigInteger(), nullable=True),
        sa.Column("next_poll_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_watches"),
    )
    op.create_index("ix_watches_next_poll", "watches", ["next_poll_at"])

    op.create_table(
        "gate_watches",
        sa.Column("gate_id", sa.String(40), nullable=False),
        sa.Column("watch_key", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name="fk_gate_watches_gate_id_gates", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["watch_key"], ["watches.key"], name="fk_gate_watches_watch_key_watches"
        ),
        sa.PrimaryKeyConstraint("gate_id", "watch_key", name="pk_gate_watches"),
    )
    op.create_index("ix_gate_watches_watch_key", "gate_watches", ["watch_key"])

    op.create_table(
        "deliveries",
        sa.Column("guid", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guid", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_received", "deliveries", ["received_at"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("gate_watches")
    op.drop_table("watches")
    op.drop_table("gates")
