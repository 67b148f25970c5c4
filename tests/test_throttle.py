"""The sign-in throttle: per user name and per address, stored in login_attempts, on a controlled clock."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.auth import services
from crm.auth.models import LoginAttempt
from crm.core.db import utcnow
from tests import factories
from tests.helpers import en, text

WRONG = "wrong-passw0rd"
LOCKED = "Too many failed sign-ins. Please try again later."
INCORRECT = "User name or password is not correct."


class Clock:
    """The throttle's clock (crm.auth.services.utcnow), moved by hand."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += timedelta(**kw)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(services, "utcnow", c)
    return c


@pytest.fixture
def li(world, db):
    user = factories.user("officer", region=world.county_x, username="li")
    db.session.commit()
    return user


def _login(client, username, password, ip="10.0.0.1"):
    with client.session_transaction() as session:
        session["lang"] = "en"
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def _fail(client, username, times, ip="10.0.0.1"):
    for _ in range(times):
        response = _login(client, username, WRONG, ip)
        assert response.status_code == 422 and en(INCORRECT) in text(response)


def test_five_failures_lock_the_account_even_for_the_right_password(client, li, clock, db):
    _fail(client, "li", 5)
    response = _login(client, "li", factories.PASSWORD)
    assert response.status_code == 429
    assert en(LOCKED) in text(response) and en(INCORRECT) not in text(response)
    assert client.get("/enterprises").status_code == 302  # not signed in
    attempts = db.session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [(a.username, a.ip, a.success, a.locked) for a in attempts] == (
        [("li", "10.0.0.1", False, False)] * 5 + [("li", "10.0.0.1", False, True)])


def test_the_lock_holds_from_another_address_and_for_any_spelling(client, li, clock):
    _fail(client, "li", 5, ip="10.0.0.1")
    assert _login(client, "li", factories.PASSWORD, ip="10.9.9.9").status_code == 429
    assert _login(client, " LI ", factories.PASSWORD, ip="10.9.9.9").status_code == 429


def test_the_lock_expires(client, li, clock):
    _fail(client, "li", 5)
    clock.advance(minutes=14)
    assert _login(client, "li", factories.PASSWORD).status_code == 429  # a refused try does not extend the lock
    clock.advance(minutes=1, seconds=1)
    assert _login(client, "li", factories.PASSWORD).status_code == 303


def test_failures_age_out_of_the_window(client, li, clock):
    _fail(client, "li", 4)
    clock.advance(minutes=16)
    _fail(client, "li", 4)
    assert _login(client, "li", factories.PASSWORD).status_code == 303


def test_a_success_resets_the_count(client, li, clock):
    _fail(client, "li", 4)
    assert _login(client, "li", factories.PASSWORD).status_code == 303
    client.post("/logout")
    clock.advance(seconds=1)
    _fail(client, "li", 4)
    assert _login(client, "li", factories.PASSWORD).status_code == 303


def test_an_unknown_user_name_is_locked_exactly_alike(client, li, clock):
    """Same statuses, same words, for a name that exists and one that does not."""
    answers = {}
    for name in ("li", "nobody"):
        seen = []
        for _ in range(5):
            response = _login(client, name, WRONG, ip=f"10.1.0.{len(answers) + 1}")
            seen.append((response.status_code, en(INCORRECT) in text(response)))
        response = _login(client, name, WRONG, ip=f"10.1.0.{len(answers) + 1}")
        seen.append((response.status_code, en(LOCKED) in text(response)))
        answers[name] = seen
    assert answers["li"] == answers["nobody"] == [(422, True)] * 5 + [(429, True)]


def test_the_address_limit_spans_user_names(client, li, clock, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_IP_MAX_FAILURES", 6)
    for n in range(6):
        _fail(client, f"guess{n}", 1, ip="10.2.0.1")
    # li never failed, yet this address is refused; another address signs li in
    assert _login(client, "li", factories.PASSWORD, ip="10.2.0.1").status_code == 429
    assert _login(client, "li", factories.PASSWORD, ip="10.2.0.2").status_code == 303
    client.post("/logout")
    clock.advance(minutes=16)
    assert _login(client, "li", factories.PASSWORD, ip="10.2.0.1").status_code == 303


def test_the_address_limit_is_20_by_default(client, li, clock):
    for n in range(20):
        _fail(client, f"guess{n}", 1, ip="10.3.0.1")
    assert _login(client, "li", factories.PASSWORD, ip="10.3.0.1").status_code == 429


def test_limits_are_configurable_and_zero_turns_them_off(client, li, clock, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 0)
    monkeypatch.setitem(app.config, "LOGIN_IP_MAX_FAILURES", 0)
    _fail(client, "li", 30)
    assert _login(client, "li", factories.PASSWORD).status_code == 303
    client.post("/logout")
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 2)
    monkeypatch.setitem(app.config, "LOGIN_LOCK_MINUTES", 60)
    clock.advance(seconds=1)  # after the success, which resets the count
    _fail(client, "li", 2)
    clock.advance(minutes=59)
    assert _login(client, "li", factories.PASSWORD).status_code == 429
    clock.advance(minutes=2)
    assert _login(client, "li", factories.PASSWORD).status_code == 303


def test_admins_see_recent_failed_sign_ins(client, li, clock, login_as, world):
    _fail(client, "li", 5, ip="10.4.0.1")
    _login(client, "li", WRONG, ip="10.4.0.1")  # refused: locked
    _fail(client, "<b>nobody</b>", 1, ip="10.4.0.2")
    login_as("admin")
    body = client.get("/admin/users").get_data(as_text=True)
    assert 'id="failed-sign-ins"' in body
    assert "10.4.0.1" in body and "&lt;b&gt;nobody&lt;/b&gt;" in body
    row = body[body.index("10.4.0.1"):].split("</tr>")[0]
    assert '<td class="text-end">6</td>' in row and '<td class="text-end">1</td>' in row
