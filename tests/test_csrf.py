"""CSRF protection on every state-changing form (the test config turns it off elsewhere for brevity)."""
import re

import pytest

from tests import factories


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_posts_without_a_token_are_refused(client, login_as, world, csrf_on, db):
    login_as("officer", region=world.county_x)
    eid = world.ent_x.id
    for url in ("/logout", "/language", f"/enterprises/{eid}/archive", f"/enterprises/{eid}/figures/new",
                "/account", "/enterprises/new"):
        assert client.post(url, data={"lang": "en"}).status_code == 400, url
    db.session.refresh(world.ent_x)
    assert world.ent_x.archived_at is None


def test_sign_in_needs_the_token_from_the_form(client, world, csrf_on):
    factories.user("officer", region=world.county_x, username="li")
    assert client.post("/login", data={"username": "li", "password": factories.PASSWORD}).status_code == 400
    token = _token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "li", "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 303


def test_a_token_from_the_page_works(client, login_as, world, csrf_on, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    page = client.get(f"/enterprises/{world.ent_x.id}").get_data(as_text=True)
    response = client.post(f"/enterprises/{world.ent_x.id}/archive", data={"csrf_token": _token(page)})
    assert response.status_code == 303
