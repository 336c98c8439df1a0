"""Debrief import key: what makes re-importing a history file add nothing

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("debriefs") as batch:
        batch.add_column(sa.Column("import_key", sa.String(length=80), nullable=True))
        batch.create_index(batch.f("ix_debriefs_import_key"), ["import_key"], unique=True)


def downgrade():
    with op.batch_alter_table("debriefs") as batch:
        batch.drop_index(batch.f("ix_debriefs_import_key"))
        batch.drop_column("import_key")
