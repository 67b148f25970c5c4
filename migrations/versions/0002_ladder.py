"""ladder: certifications, tier events, readiness inputs, rule-set versions, yearly conversions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:25:45.930403

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('certificate_no', sa.String(length=40), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('expiry_overridden', sa.Boolean(), nullable=False),
    sa.Column('issuer', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_changed_on', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'expired', 'revoked')", name=op.f('ck_certifications_status_known')),
    sa.CheckConstraint("tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')", name=op.f('ck_certifications_tier_known')),
    sa.CheckConstraint('expires_on IS NULL OR expires_on >= issued_on', name=op.f('ck_certifications_expires_after_issue')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_certifications_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certifications'))
    )
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certifications_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certifications_expires_on'), ['expires_on'], unique=False)
        batch_op.create_index('ix_certifications_tier_status', ['tier', 'status'], unique=False)

    op.create_table('readiness_inputs',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('resident', sa.Boolean(), nullable=True),
    sa.Column('restricted_industry', sa.Boolean(), nullable=True),
    sa.Column('clean_record', sa.Boolean(), nullable=True),
    sa.Column('national_award_top3_5y', sa.Boolean(), nullable=True),
    sa.Column('provincial_rd_institution', sa.Boolean(), nullable=True),
    sa.Column('led_standard_5y', sa.Boolean(), nullable=True),
    sa.Column('ip_advancement', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('ip_core_support', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('ip_acquisition', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('ip_standards_bonus', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('management', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ip_acquisition IS NULL OR (ip_acquisition >= 0 AND ip_acquisition <= 6)', name=op.f('ck_readiness_inputs_ip_acquisition_range')),
    sa.CheckConstraint('ip_advancement IS NULL OR (ip_advancement >= 0 AND ip_advancement <= 8)', name=op.f('ck_readiness_inputs_ip_advancement_range')),
    sa.CheckConstraint('ip_core_support IS NULL OR (ip_core_support >= 0 AND ip_core_support <= 8)', name=op.f('ck_readiness_inputs_ip_core_support_range')),
    sa.CheckConstraint('ip_standards_bonus IS NULL OR (ip_standards_bonus >= 0 AND ip_standards_bonus <= 2)', name=op.f('ck_readiness_inputs_ip_standards_bonus_range')),
    sa.CheckConstraint('management IS NULL OR (management >= 0 AND management <= 20)', name=op.f('ck_readiness_inputs_management_range')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_readiness_inputs_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_readiness_inputs_updated_by_id_users')),
    sa.PrimaryKeyConstraint('enterprise_id', name=op.f('pk_readiness_inputs'))
    )
    op.create_table('ruleset_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ruleset_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ruleset_versions')),
    sa.UniqueConstraint('tier', 'version', name='uq_ruleset_versions_tier_version')
    )
    op.create_table('tier_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('certification_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_tier_events_actor_id_users')),
    sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'], name=op.f('fk_tier_events_certification_id_certifications')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_tier_events_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_events'))
    )
    with op.batch_alter_table('tier_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tier_events_certification_id'), ['certification_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tier_events_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index('ix_tier_events_tier_occurred_on', ['tier', 'occurred_on'], unique=False)

    with op.batch_alter_table('annual_figures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conversions', sa.Integer(), nullable=True))
        # autogenerate does not see CHECK constraints on existing tables: added by hand
        batch_op.create_check_constraint(op.f('ck_annual_figures_conversions_not_negative'), 'conversions >= 0')



def downgrade():
    with op.batch_alter_table('annual_figures', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_annual_figures_conversions_not_negative'), type_='check')
        batch_op.drop_column('conversions')

    with op.batch_alter_table('tier_events', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_events_tier_occurred_on')
        batch_op.drop_index(batch_op.f('ix_tier_events_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_tier_events_certification_id'))

    op.drop_table('tier_events')
    op.drop_table('ruleset_versions')
    op.drop_table('readiness_inputs')
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_index('ix_certifications_tier_status')
        batch_op.drop_index(batch_op.f('ix_certifications_expires_on'))
        batch_op.drop_index(batch_op.f('ix_certifications_enterprise_id'))

    op.drop_table('certifications')
