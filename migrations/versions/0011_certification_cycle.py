"""certification cycle

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 13:40:19.676664

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # Monthly bulletins (督查通报): the manager's commentary; the figures are read from the data when printed.
    op.create_table('bulletins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('commentary', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('month BETWEEN 1 AND 12', name=op.f('ck_bulletins_month_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_bulletins_created_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_bulletins_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletins')),
    sa.UniqueConstraint('region_id', 'year', 'month', name='uq_bulletins_region_month')
    )
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletins_region_id'), ['region_id'], unique=False)

    # Application rounds (申报批次): one per region, year and tier, with the deadline of each stage.
    op.create_table('cycle_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('coaching_by', sa.Date(), nullable=True),
    sa.Column('materials_by', sa.Date(), nullable=True),
    sa.Column('submitted_by', sa.Date(), nullable=True),
    sa.Column('review_by', sa.Date(), nullable=True),
    sa.Column('public_notice_by', sa.Date(), nullable=True),
    sa.Column('certified_by', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')", name=op.f('ck_cycle_batches_tier_known')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_cycle_batches_year_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_cycle_batches_created_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_cycle_batches_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle_batches')),
    sa.UniqueConstraint('region_id', 'year', 'tier', name='uq_cycle_batches_region_year_tier')
    )
    with op.batch_alter_table('cycle_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cycle_batches_region_id'), ['region_id'], unique=False)

    # Officers' flags on enterprises at risk (外迁意向, 经营困难, 被外地招引); history in the audit trail.
    op.create_table('enterprise_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('relocation', 'difficulties', 'courted')", name=op.f('ck_enterprise_flags_kind_known')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_enterprise_flags_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_enterprise_flags_set_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_flags')),
    sa.UniqueConstraint('enterprise_id', 'kind', name='uq_enterprise_flags_enterprise_kind')
    )
    with op.batch_alter_table('enterprise_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_flags_enterprise_id'), ['enterprise_id'], unique=False)

    # Applications (申报): one per enterprise, tier and year; the day each stage was reached; an optimistic
    # version; the certification recorded on reaching "certified" (at most once: unique).
    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('intent_on', sa.Date(), nullable=False),
    sa.Column('coaching_on', sa.Date(), nullable=True),
    sa.Column('materials_on', sa.Date(), nullable=True),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.Column('public_notice_on', sa.Date(), nullable=True),
    sa.Column('certified_on', sa.Date(), nullable=True),
    sa.Column('not_passed_on', sa.Date(), nullable=True),
    sa.Column('not_passed_reason', sa.String(length=16), nullable=True),
    sa.Column('weak_criterion', sa.String(length=120), nullable=False),
    sa.Column('not_passed_note', sa.Text(), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("not_passed_reason IS NULL OR not_passed_reason IN ('incomplete', 'failed_review', 'withdrawn', 'other')", name=op.f('ck_applications_reason_known')),
    sa.CheckConstraint("stage IN ('intent', 'coaching', 'materials', 'submitted', 'review', 'public_notice', 'certified', 'not_passed')", name=op.f('ck_applications_stage_known')),
    sa.CheckConstraint("tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')", name=op.f('ck_applications_tier_known')),
    sa.ForeignKeyConstraint(['batch_id'], ['cycle_batches.id'], name=op.f('fk_applications_batch_id_cycle_batches')),
    sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'], name=op.f('fk_applications_certification_id_certifications')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_applications_created_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_applications_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_applications_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('certification_id', name='uq_applications_certification_id'),
    sa.UniqueConstraint('enterprise_id', 'tier', 'year', name='uq_applications_enterprise_tier_year')
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_batch_stage', ['batch_id', 'stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index('ix_applications_year_tier_stage', ['year', 'tier', 'stage'], unique=False)



def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_year_tier_stage')
        batch_op.drop_index(batch_op.f('ix_applications_enterprise_id'))
        batch_op.drop_index('ix_applications_batch_stage')

    op.drop_table('applications')
    with op.batch_alter_table('enterprise_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprise_flags_enterprise_id'))

    op.drop_table('enterprise_flags')
    with op.batch_alter_table('cycle_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cycle_batches_region_id'))

    op.drop_table('cycle_batches')
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletins_region_id'))

    op.drop_table('bulletins')
