"""assignments: which officer serves which enterprise, history kept

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 11:57:04.925021

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # One row per period an officer serves an enterprise; ends_on NULL = the current one (at most one per
    # enterprise, kept by crm.service.services). The two indexes answer "current of an enterprise / officer".
    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_assignments_ends_after_start')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_assignments_assigned_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_assignments_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_assignments_officer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_enterprise_current', ['enterprise_id', 'ends_on'], unique=False)
        batch_op.create_index('ix_assignments_officer_current', ['officer_id', 'ends_on'], unique=False)



def downgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_officer_current')
        batch_op.drop_index('ix_assignments_enterprise_current')

    op.drop_table('assignments')
