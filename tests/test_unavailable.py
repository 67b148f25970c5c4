"""A lost database connection is a clear 503 (translated page; JSON under /api), never a stack trace.

The real thing (PostgreSQL restarted under load) is tests/faults/pg_restart.py; here the driver's
error is simulated.
"""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.helpers import en, text, zh

MESSAGE = ("The database cannot be reached for a moment. Nothing was saved by this request: "
           "try again in a few seconds.")


def _down(*args, **kwargs):
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def test_a_page_answers_503_with_a_page_to_retry(app, client, login_as, world, monkeypatch):
    login_as("officer", region=world.county_x)
    monkeypatch.setitem(app.view_functions, "enterprises.index", _down)
    response = client.get("/enterprises?q=x")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = text(response)
    assert "Traceback" not in page and "OperationalError" not in page
    assert MESSAGE in page or zh(MESSAGE) in page
    assert 'href="/enterprises?q=x"' in page  # "try again" repeats the request


def _down_after_access_check(*args, **kwargs):
    """As a real view fails: its access check has loaded the signed-in user, then a query loses the server."""
    from flask_login import current_user

    assert current_user.is_authenticated
    _down()


@pytest.mark.parametrize("locale, expected", [("en", en), ("zh_CN", zh)])
def test_the_page_is_in_the_users_language(app, client, login_as, world, monkeypatch, locale, expected):
    login_as("officer", region=world.county_x, locale=locale)
    monkeypatch.setitem(app.view_functions, "enterprises.index", _down_after_access_check)
    response = client.get("/enterprises")
    assert response.status_code == 503
    assert expected(MESSAGE) in text(response)


def test_the_api_answers_503_json(app, client, login_as, world, monkeypatch):
    login_as("officer", region=world.county_x)
    monkeypatch.setitem(app.view_functions, "api.enterprises", _down)
    response = client.get("/api/v1/enterprises")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == 503
    assert response.headers["Retry-After"] == "5"


def test_the_database_gone_before_the_user_is_loaded(app, client, login_as, world, monkeypatch):
    """The first query of a request is the signed-in user's: the 503 page must not need it again."""
    login_as("officer", region=world.county_x)
    monkeypatch.setattr(app.login_manager, "_user_callback", _down)
    response = client.get("/enterprises")
    assert response.status_code == 503
    assert "Traceback" not in text(response)


def test_a_write_that_fails_is_503_and_the_next_request_works(app, client, login_as, world, monkeypatch, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    original = app.view_functions["enterprises.archive"]
    monkeypatch.setitem(app.view_functions, "enterprises.archive", _down)
    assert client.post(f"/enterprises/{world.ent_x.id}/archive").status_code == 503
    monkeypatch.setitem(app.view_functions, "enterprises.archive", original)
    assert client.post(f"/enterprises/{world.ent_x.id}/archive").status_code == 303


def test_other_database_errors_are_not_hidden_as_503(app, client, login_as, world, monkeypatch):
    def broken(*args, **kwargs):
        raise IntegrityError("INSERT", {}, Exception("a bug, not an outage"))

    login_as("officer", region=world.county_x)
    monkeypatch.setitem(app.view_functions, "enterprises.index", broken)
    with pytest.raises(IntegrityError):  # the test app propagates what would be a logged 500
        client.get("/enterprises")
