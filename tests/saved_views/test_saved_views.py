"""Saved views: a user names the filters of a list page, reopens them in one tap; private to the user."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.saved_views.models import SavedView
from crm.saved_views.queries import SAVEABLE
from tests import factories
from tests.helpers import text


@pytest.fixture
def officer(world, db):
    u = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    db.session.commit()
    return u


def test_save_then_reopen_from_the_list_page(client, login_as, world, officer, db):
    login_as(officer)
    response = client.post("/saved-views", data={"endpoint": "enterprises.index", "name": "高企",
                                                 "query": "tier=high_tech&page=3&q="})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/enterprises?tier=high_tech")  # first page, no empty filters
    view = db.session.scalar(select(SavedView))
    assert (view.user_id, view.query) == (officer.id, "tier=high_tech")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "saved_views")).action == "create"
    page = text(client.get("/enterprises"))
    assert 'href="/enterprises?tier=high_tech">高企</a>' in page
    # the same name again replaces the filters instead of adding a second view
    client.post("/saved-views", data={"endpoint": "enterprises.index", "name": "高企", "query": "tier=gazelle"})
    assert db.session.scalar(select(func.count()).select_from(SavedView)) == 1
    db.session.refresh(view)
    assert view.query == "tier=gazelle"


@pytest.mark.parametrize("endpoint", sorted(SAVEABLE))
def test_every_saveable_list_page_shows_the_macro(client, login_as, world, db, endpoint):
    from flask import url_for

    login_as("admin")
    with client.application.test_request_context():
        url = url_for(endpoint)
    page = text(client.get(url + ("?tier=high_tech" if endpoint == "candidates.index" else "")))
    assert 'id="saved-views"' in page and f'value="{endpoint}"' in page


def test_views_are_private(client, login_as, world, officer, db):
    other = factories.user("officer", region=world.county_x)
    view = SavedView(user_id=officer.id, endpoint="service.needs", name="我的逾期清单", query="state=overdue")
    db.session.add(view)
    db.session.commit()
    login_as(other)
    assert "我的逾期清单" not in text(client.get("/needs"))
    assert client.post(f"/saved-views/{view.id}/delete").status_code == 404
    login_as(officer)
    assert "我的逾期清单" in text(client.get("/needs"))
    assert client.post(f"/saved-views/{view.id}/delete").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(SavedView)) == 0


@pytest.mark.parametrize("data", [{"endpoint": "admin.users", "name": "x"}, {"endpoint": "enterprises.index",
                                                                              "name": " "},
                                  {"endpoint": "enterprises.index", "name": "x" * 41}])
def test_bad_input_writes_nothing(client, login_as, world, officer, db, data):
    login_as(officer)
    assert client.post("/saved-views", data=data).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(SavedView)) == 0
