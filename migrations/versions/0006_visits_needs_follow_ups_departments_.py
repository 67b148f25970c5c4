"""visits, needs, follow-ups, departments, policies

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:13:30.279638

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

DEPARTMENTS = ["发展改革委", "工业和信息化局", "人力资源和社会保障局", "财政局", "金融办/地方金融监管局",
               "市场监管局（知识产权）", "自然资源局", "税务局", "园区管委会", "其他"]


def upgrade():
    # Departments a need is referred to (转办); the glossary's list is the default, the admin edits it.
    departments = op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('name', name=op.f('uq_departments_name'))
    )
    op.bulk_insert(departments, [{"name": name, "position": i, "active": True} for i, name in enumerate(DEPARTMENTS)])
    # The policy catalogue: what officers explain on visits (eligibility rules come with issue 10).
    op.create_table('policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('issuer', sa.String(length=120), nullable=False),
    sa.Column('document_no', sa.String(length=80), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=True),
    sa.Column('closes_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('closes_on IS NULL OR opens_on IS NULL OR closes_on >= opens_on', name=op.f('ck_policies_closes_after_opens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policies'))
    )
    # Visits, needs (optimistic `version`), follow-ups; indexes answer the workbench and the needs board.
    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('mode', sa.String(length=12), nullable=False),
    sa.Column('people_met', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("mode IN ('onsite', 'phone', 'video', 'event', 'walk_in')", name=op.f('ck_visits_mode_known')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_visits_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_visits_officer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_enterprise_date', ['enterprise_id', 'visited_on'], unique=False)
        batch_op.create_index('ix_visits_officer_date', ['officer_id', 'visited_on'], unique=False)

    op.create_table('needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('finance', 'talent', 'technology', 'platform', 'commercialisation', 'policy', 'certification', 'ip', 'cooperation', 'premises', 'other')", name=op.f('ck_needs_category_known')),
    sa.CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'referred', 'cannot_resolve')", name=op.f('ck_needs_status_known')),
    sa.CheckConstraint('due_on >= raised_on', name=op.f('ck_needs_due_after_raised')),
    sa.CheckConstraint('satisfaction IS NULL OR (satisfaction >= 1 AND satisfaction <= 5)', name=op.f('ck_needs_satisfaction_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_needs_created_by_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_needs_department_id_departments')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_needs_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_needs_owner_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_needs_updated_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_needs_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_needs'))
    )
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index('ix_needs_enterprise', ['enterprise_id', 'raised_on'], unique=False)
        batch_op.create_index('ix_needs_owner_status_due', ['owner_id', 'status', 'due_on'], unique=False)
        batch_op.create_index('ix_needs_status_due', ['status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index('ix_needs_enterprise_board', ['enterprise_id', 'category', 'status'], unique=False)
        batch_op.create_index('ix_needs_open_due', ['due_on', 'id'], unique=False, sqlite_where=sa.text("status IN ('open', 'in_progress')"), postgresql_where=sa.text("status IN ('open', 'in_progress')"))

    op.create_table('visit_policies',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name=op.f('fk_visit_policies_policy_id_policies')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_policies_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', 'policy_id', name=op.f('pk_visit_policies'))
    )
    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('action', sa.String(length=200), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_note', sa.Text(), nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('manual', 'visit', 'need', 'readiness')", name=op.f('ck_follow_ups_source_known')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_follow_ups_assignee_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_follow_ups_created_by_id_users')),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_follow_ups_done_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_follow_ups_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_follow_ups_need_id_needs')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_follow_ups_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_assignee_open_due', ['assignee_id', 'done_at', 'due_on'], unique=False)
        batch_op.create_index('ix_follow_ups_enterprise', ['enterprise_id', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_visit_id'), ['visit_id'], unique=False)

    # One current assignment per enterprise, now kept by the database as well as the service.
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('uq_assignments_one_current', ['enterprise_id'], unique=True, sqlite_where=sa.text('ends_on IS NULL'), postgresql_where=sa.text('ends_on IS NULL'))



def downgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('uq_assignments_one_current', sqlite_where=sa.text('ends_on IS NULL'), postgresql_where=sa.text('ends_on IS NULL'))

    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_visit_id'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_need_id'))
        batch_op.drop_index('ix_follow_ups_enterprise')
        batch_op.drop_index('ix_follow_ups_assignee_open_due')

    op.drop_table('follow_ups')
    op.drop_table('visit_policies')
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index('ix_needs_open_due', sqlite_where=sa.text("status IN ('open', 'in_progress')"), postgresql_where=sa.text("status IN ('open', 'in_progress')"))
        batch_op.drop_index('ix_needs_enterprise_board')
        batch_op.drop_index(batch_op.f('ix_needs_visit_id'))
        batch_op.drop_index('ix_needs_status_due')
        batch_op.drop_index('ix_needs_owner_status_due')
        batch_op.drop_index('ix_needs_enterprise')

    op.drop_table('needs')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_officer_date')
        batch_op.drop_index('ix_visits_enterprise_date')

    op.drop_table('visits')
    op.drop_table('policies')
    op.drop_table('departments')
