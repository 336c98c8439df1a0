"""Sign-ins: one row per browser session, so signing out ends that session only

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_ins",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_ins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_sign_ins")),
    )
    with op.batch_alter_table("sign_ins") as batch:
        batch.create_index(batch.f("ix_sign_ins_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("sign_ins") as batch:
        batch.drop_index(batch.f("ix_sign_ins_user_id"))
    op.drop_table("sign_ins")
