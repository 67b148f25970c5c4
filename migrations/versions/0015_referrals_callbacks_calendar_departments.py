"""referrals, call-backs, the working-day calendar, department users, need outcomes

Needs closed across departments (issue 12): the admin's calendar of public holidays and make-up working days,
referrals of needs to departments (deadline, answer, more time, sent back, escalation), call-backs on resolved
needs, the `department` role (users.department_id), call-back follow-ups, and the outcome fields of a need.

Revision ID: 0015
Revises: 0014

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_calendar_days_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_days')),
    sa.UniqueConstraint('day', name=op.f('uq_calendar_days_day'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('referred_by_id', sa.Integer(), nullable=True),
    sa.Column('referred_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=False),
    sa.Column('extensions', sa.Integer(), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('escalated_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'answered', 'returned')", name=op.f('ck_referrals_status_known')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_referrals_answered_by_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_referrals_department_id_departments')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_referrals_need_id_needs')),
    sa.ForeignKeyConstraint(['referred_by_id'], ['users.id'], name=op.f('fk_referrals_referred_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_department_status', ['department_id', 'status', 'due_on'], unique=False)
        batch_op.create_index('ix_referrals_need', ['need_id'], unique=False)
        batch_op.create_index('ix_referrals_status_due', ['status', 'due_on'], unique=False)

    op.create_table('need_callbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=True),
    sa.Column('satisfied', sa.Boolean(), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('satisfaction >= 1 AND satisfaction <= 5', name=op.f('ck_need_callbacks_satisfaction_range')),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_ups.id'], name=op.f('fk_need_callbacks_follow_up_id_follow_ups')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_need_callbacks_need_id_needs')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_need_callbacks_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_need_callbacks'))
    )
    with op.batch_alter_table('need_callbacks', schema=None) as batch_op:
        batch_op.create_index('ix_need_callbacks_need', ['need_id', 'recorded_at'], unique=False)

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('financing_wan', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('people_recruited', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contracts_signed', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contracts_wan', sa.Numeric(precision=14, scale=2), nullable=True))

    # the fifth role: a department's contact, bound to a department
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_department_id_departments'), 'departments',
                                    ['department_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role_known'),
                                         "role IN ('admin', 'manager', 'officer', 'enterprise', 'department')")

    # call-backs (回访) on resolved needs are follow-ups of their own source
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_follow_ups_source_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_follow_ups_source_known'),
                                         "source IN ('manual', 'visit', 'need', 'readiness', 'expiry', 'callback')")


def downgrade():
    op.execute("UPDATE follow_ups SET source = 'need' WHERE source = 'callback'")
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_follow_ups_source_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_follow_ups_source_known'),
                                         "source IN ('manual', 'visit', 'need', 'readiness', 'expiry')")

    # users are never deleted (the audit trail names them): department users are kept, deactivated, as officers
    op.execute("UPDATE users SET active = false, role = 'officer' WHERE role = 'department'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_users_role_known'),
                                         "role IN ('admin', 'manager', 'officer', 'enterprise')")
        batch_op.drop_constraint(batch_op.f('fk_users_department_id_departments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_department_id'))
        batch_op.drop_column('department_id')

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_column('contracts_wan')
        batch_op.drop_column('contracts_signed')
        batch_op.drop_column('people_recruited')
        batch_op.drop_column('financing_wan')

    with op.batch_alter_table('need_callbacks', schema=None) as batch_op:
        batch_op.drop_index('ix_need_callbacks_need')

    op.drop_table('need_callbacks')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_status_due')
        batch_op.drop_index('ix_referrals_need')
        batch_op.drop_index('ix_referrals_department_status')

    op.drop_table('referrals')
    op.drop_table('calendar_days')
