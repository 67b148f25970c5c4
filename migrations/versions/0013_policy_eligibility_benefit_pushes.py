"""policy eligibility, benefit, pushes

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 13:46:44.078349

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # Where each eligible enterprise stands with a policy (no row: not informed yet); one row per pair.
    op.create_table('policy_pushes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('informed_on', sa.Date(), nullable=True),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('informed', 'applied', 'granted', 'not_granted')", name=op.f('ck_policy_pushes_status_known')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_policy_pushes_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name=op.f('fk_policy_pushes_policy_id_policies')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_policy_pushes_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_pushes')),
    sa.UniqueConstraint('policy_id', 'enterprise_id', name='uq_policy_pushes_one_per_pair')
    )
    with op.batch_alter_table('policy_pushes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_pushes_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_pushes_policy_id'), ['policy_id'], unique=False)

    # A policy's benefit, its cap (万元), and its eligibility conditions, versioned.
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('benefit', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('cap_amount', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('conditions', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('conditions_version', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_column('conditions_version')
        batch_op.drop_column('conditions')
        batch_op.drop_column('cap_amount')
        batch_op.drop_column('benefit')

    with op.batch_alter_table('policy_pushes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_pushes_policy_id'))
        batch_op.drop_index(batch_op.f('ix_policy_pushes_enterprise_id'))

    op.drop_table('policy_pushes')
