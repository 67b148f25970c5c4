"""candidate pool's page: the ranks keep the first three gap texts in both languages (shown without evaluating);
the operating enterprises of a region counted from a partial index

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-26 00:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: rows stored before keep NULL, and the page evaluates those until the nightly rebuild fills them.
    with op.batch_alter_table('candidate_ranks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gaps', sa.JSON(), nullable=True))
    # not in batch mode: an index needs no copy of the table on SQLite
    operating = sa.text("archived_at IS NULL AND status = 'active'")
    op.create_index('ix_enterprises_operating_region', 'enterprises', ['region_id'], unique=False,
                    postgresql_where=operating, sqlite_where=operating)


def downgrade():
    op.drop_index('ix_enterprises_operating_region', table_name='enterprises')
    with op.batch_alter_table('candidate_ranks', schema=None) as batch_op:
        batch_op.drop_column('gaps')
