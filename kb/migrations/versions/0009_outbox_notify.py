"""Outbox wake-up: on PostgreSQL, a transaction that adds search outbox rows
notifies channel kb_index_changes when it commits, so that every machine's
indexer (listening) applies the change at once instead of at its next look

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 14:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the indexer looks at the outbox every fraction of a second
    # One notification per statement; PostgreSQL folds those of one transaction
    # into one and delivers it at commit (never for a rolled-back one).
    op.execute(
        """
        CREATE FUNCTION kb_index_changes_notify() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('kb_index_changes', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER index_changes_notify AFTER INSERT ON index_changes "
        "FOR EACH STATEMENT EXECUTE PROCEDURE kb_index_changes_notify()"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS index_changes_notify ON index_changes")
    op.execute("DROP FUNCTION IF EXISTS kb_index_changes_notify()")
