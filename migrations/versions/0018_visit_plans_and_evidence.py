"""visit plans and evidence: attachments, check-ins, joint visits, visit plans

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25 15:09:52.332332

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_type', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("parent_type IN ('visit', 'need', 'certification')", name=op.f('ck_attachments_parent_known')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_attachments_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('stored_name', name='uq_attachments_stored_name')
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index('ix_attachments_parent', ['parent_type', 'parent_id'], unique=False)

    op.create_table('visit_departments',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_visit_departments_department_id_departments')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_departments_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', 'department_id', name=op.f('pk_visit_departments'))
    )
    op.create_table('visit_officers',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_visit_officers_user_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_officers_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', 'user_id', name=op.f('pk_visit_officers'))
    )
    with op.batch_alter_table('visit_officers', schema=None) as batch_op:
        batch_op.create_index('ix_visit_officers_user', ['user_id'], unique=False)

    op.create_table('visit_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=True),
    sa.Column('planned_week', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('planned_week IS NULL OR (planned_week >= 1 AND planned_week <= 5)', name=op.f('ck_visit_plans_week_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_visit_plans_created_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_visit_plans_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_visit_plans_officer_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_plans_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_plans')),
    sa.UniqueConstraint('officer_id', 'enterprise_id', 'month', name='uq_visit_plans_officer_enterprise_month')
    )
    with op.batch_alter_table('visit_plans', schema=None) as batch_op:
        batch_op.create_index('ix_visit_plans_enterprise_month', ['enterprise_id', 'month'], unique=False)
        batch_op.create_index('ix_visit_plans_month_officer', ['month', 'officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_plans_visit_id'), ['visit_id'], unique=False)

    op.create_table('visit_check_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('accuracy_m', sa.Integer(), nullable=True),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)', name=op.f('ck_visit_check_ins_latitude_range')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)', name=op.f('ck_visit_check_ins_longitude_range')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_visit_check_ins_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_visit_check_ins_officer_id_users')),
    sa.ForeignKeyConstraint(['plan_id'], ['visit_plans.id'], name=op.f('fk_visit_check_ins_plan_id_visit_plans')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_check_ins_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_check_ins')),
    sa.UniqueConstraint('visit_id', name='uq_visit_check_ins_visit_id')
    )
    with op.batch_alter_table('visit_check_ins', schema=None) as batch_op:
        batch_op.create_index('ix_visit_check_ins_officer_at', ['officer_id', 'checked_in_at'], unique=False)



def downgrade():
    with op.batch_alter_table('visit_check_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_check_ins_officer_at')

    op.drop_table('visit_check_ins')
    with op.batch_alter_table('visit_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_plans_visit_id'))
        batch_op.drop_index('ix_visit_plans_month_officer')
        batch_op.drop_index('ix_visit_plans_enterprise_month')

    op.drop_table('visit_plans')
    with op.batch_alter_table('visit_officers', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_officers_user')

    op.drop_table('visit_officers')
    op.drop_table('visit_departments')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_parent')
        batch_op.drop_index(batch_op.f('ix_attachments_enterprise_id'))

    op.drop_table('attachments')
