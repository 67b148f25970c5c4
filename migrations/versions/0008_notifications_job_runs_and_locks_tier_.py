"""notifications, job runs and locks, tier snapshots, e-mail preference

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 12:46:01.095761

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # The scheduler's bookkeeping: one lock row per job (taken by a conditional UPDATE), a run per slot.
    op.create_table('job_locks',
    sa.Column('job_id', sa.String(length=60), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_job_locks'))
    )
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=60), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('runner', sa.String(length=120), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.CheckConstraint("outcome IN ('running', 'ok', 'error')", name=op.f('ck_job_runs_outcome_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_slot', ['job_id', 'scheduled_for'], unique=False)

    # Monthly snapshots of the ladder (the pipeline's trends); officer_id 0 = no officer, so the key is unique.
    op.create_table('tier_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month_end', sa.Date(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('valid', sa.Integer(), nullable=False),
    sa.Column('gained', sa.Integer(), nullable=False),
    sa.Column('lost', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')", name=op.f('ck_tier_snapshots_tier_known')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_tier_snapshots_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_snapshots')),
    sa.UniqueConstraint('month_end', 'region_id', 'tier', 'officer_id', name='uq_tier_snapshots_one_row_per_cell')
    )
    with op.batch_alter_table('tier_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tier_snapshots_month_end'), ['month_end'], unique=False)

    # The inbox: a unique dedupe key per message is what makes a re-run harmless.
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('link', sa.String(length=255), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_error', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'read_at', 'created_at'], unique=False)

    # Follow-ups planned before a certificate expires (the re-certification job) get their own source.
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_follow_ups_source_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_follow_ups_source_known'),
                                         "source IN ('manual', 'visit', 'need', 'readiness', 'expiry')")

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_notifications', sa.Boolean(), server_default=sa.true(), nullable=False))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_notifications')

    op.execute("UPDATE follow_ups SET source = 'manual' WHERE source = 'expiry'")
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_follow_ups_source_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_follow_ups_source_known'),
                                         "source IN ('manual', 'visit', 'need', 'readiness')")

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_unread')

    op.drop_table('notifications')
    with op.batch_alter_table('tier_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tier_snapshots_month_end'))

    op.drop_table('tier_snapshots')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_slot')

    op.drop_table('job_runs')
    op.drop_table('job_locks')
