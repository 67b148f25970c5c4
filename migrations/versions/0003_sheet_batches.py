"""sheet batches: readiness sheets built in the background as a ZIP (progress, failures, timing)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:55:48.447283

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sheet_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('lang', sa.String(length=2), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('enterprise_ids', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('failures', sa.JSON(), nullable=False),
    sa.Column('elapsed_ms', sa.Integer(), nullable=False),
    sa.CheckConstraint("lang IN ('zh', 'en')", name=op.f('ck_sheet_batches_lang_known')),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_sheet_batches_status_known')),
    sa.CheckConstraint('done >= 0 AND failed >= 0 AND done <= total AND failed <= done', name=op.f('ck_sheet_batches_counts_sane')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sheet_batches_created_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_sheet_batches_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sheet_batches'))
    )
    with op.batch_alter_table('sheet_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sheet_batches_created_by_id'), ['created_by_id'], unique=False)



def downgrade():
    with op.batch_alter_table('sheet_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sheet_batches_created_by_id'))

    op.drop_table('sheet_batches')
