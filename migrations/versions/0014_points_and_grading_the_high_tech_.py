"""points and grading: the high_tech reserve pool, enterprise grades, tax paid, land and energy use on the annual figures

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 15:24:12.426911

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # Each enterprise's A/B/C/D grade (亩均效益综合评价) per accounting year, recomputed by the grading job.
    op.create_table('enterprise_grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('grade', sa.String(length=1), nullable=False),
    sa.Column('model_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("grade IN ('A', 'B', 'C', 'D')", name=op.f('ck_enterprise_grades_grade_known')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_enterprise_grades_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_grades')),
    sa.UniqueConstraint('enterprise_id', 'year', name='uq_enterprise_grades_enterprise_id_year')
    )
    with op.batch_alter_table('enterprise_grades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_grades_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index('ix_enterprise_grades_year_grade', ['year', 'grade'], unique=False)

    # The high_tech reserve pool (后备库) filled from the innovation points: one row per enterprise and tier,
    # with its one coaching officer and the follow-up created for it.
    op.create_table('reserve_pool_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('model_version', sa.Integer(), nullable=False),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_reserve_pool_entries_added_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_reserve_pool_entries_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_ups.id'], name=op.f('fk_reserve_pool_entries_follow_up_id_follow_ups')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_reserve_pool_entries_officer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_pool_entries')),
    sa.UniqueConstraint('enterprise_id', 'tier', name='uq_reserve_pool_entries_enterprise_id_tier')
    )
    with op.batch_alter_table('reserve_pool_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_pool_entries_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reserve_pool_entries_officer_id'), ['officer_id'], unique=False)

    # Optional yearly fields of the grading: 实缴税金 万元, 用地面积 亩, 综合能耗 吨标煤.
    with op.batch_alter_table('annual_figures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_paid', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('land_mu', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('energy_tce', sa.Numeric(precision=14, scale=2), nullable=True))



def downgrade():
    with op.batch_alter_table('annual_figures', schema=None) as batch_op:
        batch_op.drop_column('energy_tce')
        batch_op.drop_column('land_mu')
        batch_op.drop_column('tax_paid')

    with op.batch_alter_table('reserve_pool_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserve_pool_entries_officer_id'))
        batch_op.drop_index(batch_op.f('ix_reserve_pool_entries_enterprise_id'))

    op.drop_table('reserve_pool_entries')
    with op.batch_alter_table('enterprise_grades', schema=None) as batch_op:
        batch_op.drop_index('ix_enterprise_grades_year_grade')
        batch_op.drop_index(batch_op.f('ix_enterprise_grades_enterprise_id'))

    op.drop_table('enterprise_grades')
