"""Excluded phrases: words and phrases admins leave out of discovery

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('excluded_phrases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phrase', sa.String(length=120), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('added_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_excluded_phrases')),
    sa.UniqueConstraint('key', name=op.f('uq_excluded_phrases_key'))
    )


def downgrade():
    op.drop_table('excluded_phrases')
