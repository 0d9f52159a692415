"""pull_heads, replaced_heads, redeliveries: what the App's webhooks remember

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

A pull request's newest head as its `synchronize` deliveries said (`pull_heads`: the latest
by the pull request's `updated_at`, whatever order they arrived in), every head a push
replaced (`replaced_heads`: a gate submitted for one later is superseded at once), and the
redeliveries the reconciler asked GitHub for (`redeliveries`: asked once, by one replica).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pull_heads",
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("pull_number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(40), nullable=False),
        sa.Column("head_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("repository", "pull_number", name="pk_pull_heads"),
    )
    op.create_index("ix_pull_heads_updated", "pull_heads", ["updated_at"])
    op.create_table(
        "replaced_heads",
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("pull_number", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(40), nullable=False),
        sa.Column("replaced_by", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("repository", "pull_number", "sha", name="pk_replaced_heads"),
    )
    op.create_index("ix_replaced_heads_recorded", "replaced_heads", ["recorded_at"])
    op.create_table(
        "redeliveries",
        sa.Column("guid", sa.String(64), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("asked_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guid", name="pk_redeliveries"),
    )
    op.create_index("ix_redeliveries_asked", "redeliveries", ["asked_at"])


def downgrade() -> None:
    op.drop_table("redeliveries")
    op.drop_table("replaced_heads")
    op.drop_table("pull_heads")
