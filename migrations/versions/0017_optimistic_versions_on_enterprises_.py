"""optimistic versions on enterprises, figures, certifications

Revision ID: 0017
Revises: 0016
Optimistic locks (crm.core.concurrency): every UPDATE checks and bumps `version`.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('annual_figures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))



def downgrade():
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('annual_figures', schema=None) as batch_op:
        batch_op.drop_column('version')

