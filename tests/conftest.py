"""Fixtures: app (on a migrated database), db (emptied after every test), client, login_as, world.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set
(`make test` does both). The schema is built by the real Alembic migrations, so every run
also proves the migrations on that database.
"""
from __future__ import annotations

import contextvars
import os

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from crm import create_app
from crm.extensions import db as _db
from tests import factories


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
def app(tmp_path_factory):
    """The app on a fresh database whose schema comes from `flask db upgrade`."""
    from flask_migrate import upgrade

    url = _test_database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        _reset_postgres(url)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url,
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
def db(app):
    """The database, inside an app context; every table is emptied after the test."""
    ctx = app.app_context()
    ctx.push()
    yield _db
    _db.session.remove()
    _empty_tables()
    ctx.pop()


def _empty_tables() -> None:
    """Delete every row (on PostgreSQL also restart the ids)."""
    tables = [t for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
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
