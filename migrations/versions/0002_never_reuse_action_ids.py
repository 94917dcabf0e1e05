"""never reuse user action and custom action ids

Recorded states name their action by id and outlive the action, so a
new action must never get the id of a deleted one. SQLite hands out the
highest id again unless the table is AUTOINCREMENT; PostgreSQL's
sequences never reuse ids, so only SQLite tables are rebuilt.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 19:20:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("user_actions", "custom_actions")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table,
            recreate="always",
            table_kwargs={"sqlite_autoincrement": autoincrement},
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
