"""Sessions end on the server: signing out kills every copy of the user's cookies; sessions expire."""
from sqlalchemy import select

from crm.core.audit import AuditEvent
from tests import factories


def _login(client, username="li"):
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 303
    return client.get_cookie("session").value


def test_a_copied_cookie_dies_when_its_user_signs_out(app, client, world, db):
    factories.user("officer", region=world.county_x, username="li")
    stolen = _login(client)
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/enterprises").status_code == 200  # the copy works while the session lives
    assert client.post("/logout").status_code == 303
    assert thief.get("/enterprises").status_code == 302  # replayed after sign-out: refused
    client.set_cookie("session", stolen)  # even in the browser that signed out
    assert client.get("/enterprises").status_code == 302


def test_signing_out_ends_the_users_sessions_on_every_device(app, client, world, db):
    factories.user("officer", region=world.county_x, username="li")
    factories.user("officer", region=world.county_x, username="wang")
    phone, colleague = app.test_client(), app.test_client()
    _login(client)
    _login(phone)
    _login(colleague, "wang")
    client.post("/logout")
    assert phone.get("/enterprises").status_code == 302
    assert colleague.get("/enterprises").status_code == 200  # another user's session is untouched
    _login(phone)  # signing in again works, with a new session
    assert phone.get("/enterprises").status_code == 200
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "logout")).all()
    assert [e.actor_label for e in events] == ["li"]


def test_the_session_lasts_the_configured_lifetime(app, client, world, db, monkeypatch):
    from itsdangerous import TimestampSigner

    factories.user("officer", region=world.county_x, username="li")
    assert app.permanent_session_lifetime.total_seconds() == app.config["PERMANENT_SESSION_LIFETIME"] == 8 * 3600
    client.post("/login", data={"username": "li", "password": factories.PASSWORD})
    cookie = client.get_cookie("session")
    assert cookie.expires is not None  # a permanent session: the browser drops it after the lifetime
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 8 * 3600 - 60)
    assert client.get("/enterprises").status_code == 200  # each request renews it (an idle limit)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 2 * 8 * 3600)
    assert client.get("/enterprises").status_code == 302  # unused for longer than the lifetime: refused
