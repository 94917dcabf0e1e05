"""engagement reads (user, day, state) from one covering index

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 22:25:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_action_states_user_day_state",
        "action_states",
        ["user_id", "day", "state"],
    )
    op.drop_index("ix_action_states_user_day", table_name="action_states")


def downgrade() -> None:
    op.create_index(
        "ix_action_states_user_day", "action_states", ["user_id", "day"]
    )
    op.drop_index(
        "ix_action_states_user_day_state", table_name="action_states"
    )
