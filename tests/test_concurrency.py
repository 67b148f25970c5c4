"""Optimistic versions: two people edit the same record from two sessions; the later save is refused
(409, the form shown again with a message), nothing of it is written — a lost update is impossible
for enterprises, annual figures, certifications and needs."""
from __future__ import annotations

from decimal import Decimal

import pytest

from crm.core.concurrency import StaleVersion, check_version
from crm.enterprises import services as enterprise_services
from crm.enterprises.models import AnnualFigures, Enterprise
from crm.extensions import db as _db
from crm.ladder.models import Certification
from crm.service.models import Need
from tests import factories
from tests.forms import post_form_of
from tests.helpers import en


@pytest.fixture
def two_officers(app, world, db):
    """Two test clients, ent_x's officer and an admin (two sessions, two cookie jars)."""
    from tests.conftest import IsolatedClient

    app.test_client_class = IsolatedClient
    clients = []
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x], username="o1", locale="en")
    admin = factories.user("admin", username="a1", locale="en")
    db.session.commit()
    for person in (officer, admin):
        c = app.test_client()
        with c.session_transaction() as session:
            session["_user_id"] = person.get_id()
            session["_fresh"] = True
        clients.append(c)
    return clients


def _records(world):
    e = world.ent_x
    f = factories.figures(e, 2024)
    c = factories.certification(e)
    officer = _db.session.scalar(_db.select(factories.User).where(factories.User.username == "o1"))
    n = factories.need(e, owner=officer)
    _db.session.commit()
    return {
        "enterprise": (f"/enterprises/{e.id}/edit", Enterprise, e.id, "address", "name"),
        "figures": (f"/enterprises/{e.id}/figures/{f.id}/edit", AnnualFigures, f.id, "revenue", "revenue"),
        "certification": (f"/enterprises/{e.id}/certifications/{c.id}/edit", Certification, c.id, "note",
                          "note"),
        "need": (f"/needs/{n.id}/edit", Need, n.id, "title", "title"),
    }


@pytest.mark.parametrize("kind", ["enterprise", "figures", "certification", "need"])
def test_a_lost_update_is_impossible(kind, two_officers, world, db):
    url, model, record_id, field_a, field_b = _records(world)[kind]
    alice, bob = two_officers
    v0 = db.session.get(model, record_id).version
    page_a = alice.get(url)
    page_b = bob.get(url)
    assert page_a.status_code == page_b.status_code == 200, url
    form_a = post_form_of(page_a.get_data(as_text=True))
    form_b = post_form_of(page_b.get_data(as_text=True))
    assert form_a["version"] == form_b["version"] == str(v0)

    value_a = "4321.00" if kind == "figures" else "Alice change"
    value_b = "5678.00" if kind == "figures" else "Bob change"
    form_a[field_a] = value_a
    first = alice.post(url, data=form_a)
    assert first.status_code == 303, first.get_data(as_text=True)[:2000]

    form_b[field_b] = value_b
    second = bob.post(url, data=form_b)
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "after you opened it" in page  # the message says why (English: the officers chose English)
    assert value_b in page  # Bob's typing is kept on the re-rendered form

    db.session.expire_all()
    row = db.session.get(model, record_id)
    assert row.version == v0 + 1
    saved = getattr(row, field_a)
    assert (saved == Decimal(value_a)) if kind == "figures" else (saved == value_a)
    if field_b != field_a:
        assert getattr(row, field_b) != value_b

    # Reloading shows Alice change and the new version; Bob's second try then goes through.
    form_b = post_form_of(bob.get(url).get_data(as_text=True))
    assert form_b["version"] == str(v0 + 1)
    form_b[field_b] = value_b
    assert bob.post(url, data=form_b).status_code == 303
    db.session.expire_all()
    assert db.session.get(model, record_id).version == v0 + 2


def test_a_save_without_a_version_still_works(client, login_as, world, db):
    """Old clients and scripts that send no version are not refused (the check needs one to compare)."""
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    url = f"/enterprises/{world.ent_x.id}/edit"
    form = post_form_of(client.get(url).get_data(as_text=True))
    form.pop("version")
    form["address"] = "新地址"
    assert client.post(url, data=form).status_code == 303
    db.session.refresh(world.ent_x)
    assert world.ent_x.address == "新地址"


def test_the_service_refuses_an_old_version(world, db):
    e = world.ent_x
    data = {name: getattr(e, name) for name in enterprise_services.ENTERPRISE_FIELDS}
    enterprise_services.update_enterprise(e, {**data, "address": "一"}, actor="test", version=1)
    db.session.commit()
    with pytest.raises(StaleVersion):
        enterprise_services.update_enterprise(e, {**data, "address": "二"}, actor="test", version=1)
    with pytest.raises(StaleVersion):
        check_version(e, "not a number")


def test_a_race_lost_at_the_update_is_refused_too(app, world, db):
    """Both read version 1 and both pass the form check; the database's WHERE version = 1 stops the second."""
    e_id = world.ent_x.id
    e = _db.session.get(Enterprise, e_id)
    assert e.version == 1
    # A second connection saves first, behind this session's back.
    with _db.engine.begin() as conn:
        conn.execute(_db.update(Enterprise.__table__).where(Enterprise.__table__.c.id == e_id)
                     .values(address="elsewhere", version=2))
    assert e.version == 1  # this session still holds the version it read
    data = {name: getattr(e, name) for name in enterprise_services.ENTERPRISE_FIELDS}
    with pytest.raises(StaleVersion):
        enterprise_services.update_enterprise(e, {**data, "address": "mine"}, actor="test", version=1)
    _db.session.rollback()
    assert _db.session.get(Enterprise, e_id).address == "elsewhere"


def test_the_api_answers_409_json_for_a_version_conflict(app, client, login_as, world, monkeypatch):
    """A StaleDataError that escapes a view (no form to show it on) is a 409 with a JSON body under /api."""
    from sqlalchemy.orm.exc import StaleDataError

    def stale(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'enterprises' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setitem(app.view_functions, "api.enterprises", stale)
    monkeypatch.setitem(app.view_functions, "enterprises.index", stale)
    login_as("officer", region=world.county_x, locale="en")
    response = client.get("/api/v1/enterprises")
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": 409, "message": en("Someone else changed this record after you opened it. Reload the page and try again.")}
    page = client.get("/enterprises")
    assert page.status_code == 409
    assert "Reload the page" in page.get_data(as_text=True)


def test_the_api_refuses_a_stale_need_change_with_409(client, login_as, world, db):
    """Two API callers read the need at the same version; the second PATCH is a 409 JSON, nothing written."""
    officer = login_as("officer", region=world.county_x, serves=[world.ent_x], locale="en")
    need = factories.need(world.ent_x, owner=officer)
    db.session.commit()
    read = client.get(f"/api/v1/needs?enterprise={world.ent_x.uscc}").get_json()["items"][0]
    assert read["version"] == 1
    first = client.patch(f"/api/v1/needs/{need.id}", json={"version": read["version"], "title": "first"})
    assert first.status_code == 200 and first.get_json()["version"] == 2
    second = client.patch(f"/api/v1/needs/{need.id}", json={"version": read["version"], "title": "second"})
    assert second.status_code == 409
    body = second.get_json()["error"]
    assert body["code"] == 409 and body["version"] == 2 and "after you opened it" in body["message"]
    db.session.expire_all()
    assert db.session.get(Need, need.id).title == "first"
    # without a version the API does not guess
    assert client.patch(f"/api/v1/needs/{need.id}", json={"title": "third"}).status_code == 422
    assert client.patch(f"/api/v1/needs/{need.id}", json={"version": 2, "title": "third"}).status_code == 200
