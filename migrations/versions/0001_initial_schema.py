"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-03 18:59:55.815331
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "rank_version", sa.BigInteger(), server_default="0", nullable=False
        ),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "action_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("length", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    with op.batch_alter_table("action_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_reports_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "action_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "kind", "target_id", "day"),
    )
    with op.batch_alter_table("action_states", schema=None) as batch_op:
        batch_op.create_index("ix_action_states_day", ["day"], unique=False)
        batch_op.create_index(
            "ix_action_states_user_day", ["user_id", "day"], unique=False
        )

    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["goals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "custom_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("custom_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custom_actions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "daily_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("actions_total", sa.Integer(), nullable=False),
        sa.Column("actions_completed", sa.Integer(), nullable=False),
        sa.Column("actions_snoozed", sa.Integer(), nullable=False),
        sa.Column("actions_dismissed", sa.Integer(), nullable=False),
        sa.Column("customactions_total", sa.Integer(), nullable=False),
        sa.Column("customactions_completed", sa.Integer(), nullable=False),
        sa.Column("customactions_snoozed", sa.Integer(), nullable=False),
        sa.Column("customactions_dismissed", sa.Integer(), nullable=False),
        sa.Column("engagement_15_days", sa.Float(), nullable=False),
        sa.Column("engagement_30_days", sa.Float(), nullable=False),
        sa.Column("engagement_60_days", sa.Float(), nullable=False),
        sa.Column("engagement_rank", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("updated_on", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "day"),
    )
    op.create_table(
        "user_goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["goals.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "goal_id"),
    )
    op.create_table(
        "checkins",
        sa.Column("progress_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["progress_id"],
            ["daily_progress.id"],
        ),
        sa.PrimaryKeyConstraint("progress_id", "goal_id"),
    )
    op.create_table(
        "user_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["actions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "action_id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("user_actions")
    op.drop_table("checkins")
    op.drop_table("user_goals")
    op.drop_table("daily_progress")
    with op.batch_alter_table("custom_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_actions_user_id"))

    op.drop_table("custom_actions")
    op.drop_table("actions")
    with op.batch_alter_table("action_states", schema=None) as batch_op:
        batch_op.drop_index("ix_action_states_user_day")
        batch_op.drop_index("ix_action_states_day")

    op.drop_table("action_states")
    with op.batch_alter_table("action_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_reports_user_id"))

    op.drop_table("action_reports")
    op.drop_table("users")
    op.drop_table("goals")
