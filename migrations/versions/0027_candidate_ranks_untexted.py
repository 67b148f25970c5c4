"""candidate ranks: a partial index on the ranks stored without gap texts (a bulk import's), which the 5-minute
job fills

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-26 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    # not in batch mode: an index needs no copy of the table on SQLite
    untexted = sa.text("gaps IS NULL")
    op.create_index('ix_candidate_ranks_untexted', 'candidate_ranks', ['enterprise_id'], unique=False,
                    postgresql_where=untexted, sqlite_where=untexted)


def downgrade():
    op.drop_index('ix_candidate_ranks_untexted', table_name='candidate_ranks')
