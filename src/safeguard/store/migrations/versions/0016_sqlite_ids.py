"""On SQLite, bank and content ids are never used twice (AUTOINCREMENT).

Without it SQLite gives a new row the highest id in use plus one, so deleting the newest
bank or content item and adding another handed out the same id again: a case item, a match
record, a paused entry or a published feed that named the old one would then name the new
one. PostgreSQL's sequences never reuse ids; nothing changes there. The tables are rebuilt
with their rows (ids kept); an id deleted before this migration may still come back once.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TABLES = ("banks", "bank_content")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in reversed(TABLES):
        with op.batch_alter_table(table, recreate="always"):
            pass
