"""pipeline roll-ups: the scheduler's province-wide count of the year's visits and needs

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-25 15:10:07.420104

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    # One row per (kind, year), replaced in place by the pipeline.refresh_activity job (crm.pipeline.services).
    op.create_table('pipeline_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_rollups')),
    sa.UniqueConstraint('kind', 'year', name='uq_pipeline_rollups_kind_year')
    )


def downgrade():
    op.drop_table('pipeline_rollups')
