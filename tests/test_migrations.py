"""The models and the migrations agree (what `flask db check` checks), on this run's database."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm import _include_object


def test_models_match_migrations(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _include_object, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_scheduler_table_is_left_alone():
    assert _include_object(None, "apscheduler_jobs", "table", True, None) is False
    assert _include_object(None, "enterprises", "table", True, None) is True
