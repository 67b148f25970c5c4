"""candidate ranks: every operating enterprise's standing toward each tier, stored for the candidate pool's pages
(derived data, refreshed by crm.ladder.services)

Revision ID: 0025
Revises: 0023
Create Date: 2026-11-25 18:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    # Created empty: the pool computes what is missing (in the request when it is a few enterprises, else live
    # until the 5-minute job `ladder.refresh_stale_ranks` has stored the registry).
    op.create_table('candidate_ranks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('verdict', sa.String(length=12), nullable=False),
    sa.Column('verdict_rank', sa.SmallInteger(), nullable=False),
    sa.Column('failing', sa.Integer(), nullable=False),
    sa.Column('gap_total', sa.Float(), nullable=False),
    sa.Column('unknown', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('holds', sa.Boolean(), nullable=False),
    sa.Column('ruleset_version', sa.Integer(), nullable=False),
    sa.Column('computed_on', sa.Date(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')", name=op.f('ck_candidate_ranks_tier_known')),
    sa.CheckConstraint("verdict IN ('ready', 'incomplete', 'not_ready')", name=op.f('ck_candidate_ranks_verdict_known')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_candidate_ranks_enterprise_id_enterprises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_candidate_ranks_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_candidate_ranks')),
    sa.UniqueConstraint('tier', 'enterprise_id', name='uq_candidate_ranks_tier_enterprise_id')
    )
    with op.batch_alter_table('candidate_ranks', schema=None) as batch_op:
        batch_op.create_index('ix_candidate_ranks_enterprise_id', ['enterprise_id'], unique=False)
        batch_op.create_index('ix_candidate_ranks_order', ['tier', 'holds', 'verdict_rank', 'failing', 'gap_total', 'unknown', 'name'], unique=False)
        batch_op.create_index('ix_candidate_ranks_region', ['tier', 'region_id', 'holds', 'verdict', 'ruleset_version'], unique=False)


def downgrade():
    with op.batch_alter_table('candidate_ranks', schema=None) as batch_op:
        batch_op.drop_index('ix_candidate_ranks_region')
        batch_op.drop_index('ix_candidate_ranks_order')
        batch_op.drop_index('ix_candidate_ranks_enterprise_id')

    op.drop_table('candidate_ranks')
