"""figure provenance: a report per enterprise × year × source; the effective row names each field's source

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-25 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

VALUE_COLUMNS = ('revenue', 'hightech_revenue', 'rd_expense', 'rd_expense_domestic', 'total_cost', 'total_income',
                 'total_assets', 'net_assets', 'employees', 'tech_staff', 'rd_staff', 'conversions', 'tax_paid',
                 'land_mu', 'energy_tce')


def upgrade():
    money = sa.Numeric(precision=14, scale=2)
    op.create_table('figure_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('import_job_id', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revenue', money, nullable=True),
    sa.Column('hightech_revenue', money, nullable=True),
    sa.Column('rd_expense', money, nullable=True),
    sa.Column('rd_expense_domestic', money, nullable=True),
    sa.Column('total_cost', money, nullable=True),
    sa.Column('total_income', money, nullable=True),
    sa.Column('total_assets', money, nullable=True),
    sa.Column('net_assets', money, nullable=True),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('tech_staff', sa.Integer(), nullable=True),
    sa.Column('rd_staff', sa.Integer(), nullable=True),
    sa.Column('conversions', sa.Integer(), nullable=True),
    sa.Column('tax_paid', money, nullable=True),
    sa.Column('land_mu', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('energy_tce', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('officer', 'enterprise', 'import', 'tax', 'statistics')",
                       name=op.f('ck_figure_reports_source_known')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_figure_reports_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_figure_reports_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['import_job_id'], ['import_jobs.id'], name=op.f('fk_figure_reports_import_job_id_import_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reported_by_id'], ['users.id'], name=op.f('fk_figure_reports_reported_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_figure_reports')),
    sa.UniqueConstraint('enterprise_id', 'year', 'source', name='uq_figure_reports_enterprise_year_source')
    )
    with op.batch_alter_table('annual_figures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_sources', sa.JSON(), server_default='{}', nullable=False))
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('figure_source', sa.String(length=16), nullable=True))

    # Every existing year becomes the report of the source it was recorded from, its verification the
    # report's confirmation: one INSERT … SELECT (plain SQL both SQLite and PostgreSQL run; 250,000 rows in seconds).
    values = ', '.join(VALUE_COLUMNS)
    op.execute(
        f"INSERT INTO figure_reports (enterprise_id, year, source, file_name, reported_at, confirmed_by_id, "
        f"confirmed_at, created_at, updated_at, {values}) "
        f"SELECT enterprise_id, year, source, '', updated_at, "
        f"CASE WHEN verified THEN verified_by_id END, "
        f"CASE WHEN verified THEN COALESCE(verified_at, updated_at) END, "
        f"created_at, updated_at, {values} FROM annual_figures")


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('figure_source')
    with op.batch_alter_table('annual_figures', schema=None) as batch_op:
        batch_op.drop_column('field_sources')
    op.drop_table('figure_reports')
