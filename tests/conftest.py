"""Fixtures: app (on a migrated database), db (emptied after every test), client, login_as, world.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set
(`make test` does both). The schema is built by the real Alembic migrations, so every run
also proves the migrations on that database.
"""
from __future__ import annotations

import contextvars
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from crm import create_app
from crm.extensions import db as _db
from tests import factories


def _worker_database(url: str, worker: str, create: bool) -> str:
    """Under pytest-xdist each worker has its own PostgreSQL database: <TEST_DATABASE_URL's>_<worker>."""
    base = sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def pytest_configure(config):
    """Give an xdist worker its own PostgreSQL database (SQLite files are per worker already)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if worker and url.startswith("postgresql"):
        config.worker_database = (url, worker)
        # the tests that make scratch databases name them after this one, so they do not collide either
        os.environ["TEST_DATABASE_URL"] = _worker_database(url, worker, create=True)


def pytest_unconfigure(config):
    """Drop the worker's database at the end of its run."""
    if getattr(config, "worker_database", None):
        _worker_database(*config.worker_database, create=False)


def _test_database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    # A file, not :memory:, so the browser tests' server thread sees the same data.
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def font_subset_dir():
    """The PDFs' font subset as `flask pdf-fonts` builds it (crm.core.fonts), in the checkout's instance/fonts:
    `make test` builds it first (`make fonts`); a plain pytest builds it here once (about 25 s)."""
    from crm.core import fonts

    folder = Path(__file__).resolve().parents[1] / "instance" / "fonts"
    if not fonts.subset_faces(folder):
        fonts.build(folder)
    return folder


@pytest.fixture(scope="session")
def app(tmp_path_factory, font_subset_dir):
    """The app on a fresh database whose schema comes from `flask db upgrade`; its PDFs in the font subset, as
    a server's after `flask pdf-fonts`."""
    from flask_migrate import upgrade

    url = _test_database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        _reset_postgres(url)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, PDF_FONT_DIR=str(font_subset_dir),
                     SHEET_BATCH_DIR=str(tmp_path_factory.mktemp("sheet-batches")),
                     IMPORT_DIR=str(tmp_path_factory.mktemp("imports")),
                     ATTACHMENTS_DIR=str(tmp_path_factory.mktemp("attachments")))
    with app.app_context():
        upgrade()
        # Every test starts from empty tables, including the first (the migrations seed a few lists).
        _empty_tables()
        _db.engine.dispose()
    return app


@pytest.fixture(autouse=True)
def db(app, request):
    """The database, inside an app context; every table is emptied after the test.

    A test marked `read_only` keeps the rows (a module's later tests read them again, see test_demo's
    shared loads) and fails if it wrote any.
    """
    ctx = app.app_context()
    ctx.push()
    read_only = request.node.get_closest_marker("read_only") is not None
    if read_only:
        request.node.writes = []  # filled while the test runs (pytest_runtest_call), not by its fixtures
    yield _db
    _db.session.remove()
    if read_only:
        assert not request.node.writes, f"a read_only test wrote: {request.node.writes[:3]}"
    else:
        _empty_tables()
    ctx.pop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Record the writes of a read_only test's body (its fixtures may load the rows it reads)."""
    writes = getattr(item, "writes", None)
    if writes is None:
        return (yield)

    def _record(conn, cursor, statement, *args):
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement.split("\n", 1)[0])

    engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", _record)
    try:
        return (yield)
    finally:
        sa.event.remove(engine, "before_cursor_execute", _record)


def empty_tables() -> None:
    """Delete every row: for fixtures that keep rows across the read_only tests of a module."""
    _db.session.remove()
    _empty_tables()


def _empty_tables() -> None:
    """Delete every row and restart the ids."""
    tables = [t for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # DELETE, children first, in one round trip: TRUNCATE gives every table a new file and took
            # 0.5 s per test here against 10 ms, most tables being empty. The sequences restart as
            # SQLite's ids do.
            conn.exec_driver_sql("; ".join(
                [str(t.delete().compile(dialect=conn.dialect)) for t in tables]
                + ["SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                   " WHERE c.relkind = 'S' AND n.nspname = current_schema()"]))
        else:
            for table in tables:
                conn.execute(table.delete())


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Flask reuses an app context that is already pushed (the test's), which would share `g`,
    the signed-in user and the database session between requests. The test's pending work
    is committed first (the request must see it) and its objects are expired afterwards
    (so the test sees what the request wrote).
    """

    def open(self, *args, **kwargs):
        _db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        _db.session.expire_all()
        return response


@pytest.fixture
def client(app):
    """A test client (cookies kept between requests)."""
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def world(db):
    """A small region tree with enterprises: city C with counties X and Y, a park in X."""
    return factories.build_world()


@pytest.fixture
def login_as(client):
    """Sign the test client in as a user: login_as(user) or login_as("officer", region=...)."""

    def _login(user_or_role, **kwargs):
        user = user_or_role
        if isinstance(user_or_role, str):
            user = factories.user(user_or_role, **kwargs)
            _db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user

    return _login
