"""Sign-in, sign-out, own password, language, deactivation, safe redirects."""
import pytest
from sqlalchemy import select

from crm.auth.models import User
from crm.core.audit import AuditEvent
from crm.core.security import is_safe_next
from tests import factories
from tests.helpers import text, zh


def _login(client, username, password, next_=""):
    return client.post("/login", data={"username": username, "password": password, "next": next_})


def test_sign_in_and_out(client, world, db):
    factories.user("officer", region=world.county_x, username="li")
    response = _login(client, "li", factories.PASSWORD)
    assert response.status_code == 303
    assert client.get("/enterprises").status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login"))
    assert event.actor_label == "li" and event.ip == "127.0.0.1"
    assert client.get("/logout").status_code == 405  # a link cannot sign anyone out
    assert client.post("/logout").status_code == 303
    assert client.get("/enterprises").status_code == 302


@pytest.mark.parametrize("username,password", [("li", "wrong-password1"), ("nobody", factories.PASSWORD)])
def test_failed_sign_in_says_the_same_whatever_was_wrong(client, world, username, password):
    factories.user("officer", region=world.county_x, username="li")
    response = _login(client, username, password)
    assert response.status_code == 422
    assert zh("User name or password is not correct.") in text(response)
    assert client.get("/enterprises").status_code == 302


def test_user_name_is_case_insensitive(client, world):
    factories.user("officer", region=world.county_x, username="LiXiaomei")
    assert _login(client, "lixiaomei", factories.PASSWORD).status_code == 303


def test_deactivated_user_cannot_sign_in_and_is_signed_out(client, world, login_as, db):
    user = login_as("officer", region=world.county_x)
    assert client.get("/enterprises").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/enterprises").status_code == 302
    assert _login(client, user.username, factories.PASSWORD).status_code == 422


def test_next_redirect_is_followed_only_within_the_site(client, world):
    factories.user("officer", region=world.county_x, username="li")
    assert _login(client, "li", factories.PASSWORD, "/enterprises?q=x").headers["Location"] == "/enterprises?q=x"
    client.post("/logout")
    assert _login(client, "li", factories.PASSWORD, "https://evil.example/").headers["Location"] == "/"


@pytest.mark.parametrize("target,safe", [
    ("/enterprises", True), ("/enterprises?page=2", True), ("//evil.example", False),
    ("https://evil.example", False), ("/\\evil.example", False), ("javascript:alert(1)", False),
    ("", False), (None, False), ("/ok\n", False),
])
def test_is_safe_next(target, safe):
    assert is_safe_next(target) is safe


def test_anonymous_is_sent_to_sign_in_with_next(client):
    response = client.get("/enterprises?q=abc")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_password_change_ends_other_sessions(app, client, world, db):
    user = factories.user("officer", region=world.county_x, username="li")
    other = app.test_client()
    _login(client, "li", factories.PASSWORD)
    _login(other, "li", factories.PASSWORD)
    response = client.post("/account", data={"current_password": factories.PASSWORD,
                                              "new_password": "NewPassw0rd", "confirm": "NewPassw0rd"})
    assert response.status_code == 303
    assert client.get("/enterprises").status_code == 200  # this session continues
    assert other.get("/enterprises").status_code == 302  # the other one has ended
    db.session.refresh(user)
    client.post("/logout")
    assert _login(client, "li", "NewPassw0rd").status_code == 303


@pytest.mark.parametrize("current,new,confirm,field_msg", [
    ("wrong", "NewPassw0rd", "NewPassw0rd", "The current password is not correct."),
    (factories.PASSWORD, "short1", "short1", None),
    (factories.PASSWORD, "onlyletters", "onlyletters", "Use both letters and digits."),
    (factories.PASSWORD, "NewPassw0rd", "Different1", "The two passwords differ."),
])
def test_password_change_errors(client, login_as, world, db, current, new, confirm, field_msg):
    user = login_as("officer", region=world.county_x)
    old_hash = user.password_hash
    response = client.post("/account", data={"current_password": current, "new_password": new, "confirm": confirm})
    assert response.status_code == 422
    if field_msg:
        assert zh(field_msg) in text(response)
    else:
        assert zh("Use at least %(n)d characters.", n=8) in text(response)
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_language_is_remembered_per_user(client, login_as, world, db):
    user = login_as("officer", region=world.county_x)
    assert zh("Enterprise registry") in text(client.get("/enterprises"))
    response = client.post("/language", data={"lang": "en", "next": "/enterprises"})
    assert response.status_code == 303 and response.headers["Location"] == "/enterprises"
    assert "Enterprise registry" in text(client.get("/enterprises"))
    db.session.refresh(user)
    assert user.locale == "en"
    # a new session of the same user is in English too
    client.post("/logout")
    with client.session_transaction() as s:
        s.clear()
    client.post("/login", data={"username": user.username, "password": factories.PASSWORD})
    assert '<html lang="en">' in text(client.get("/enterprises"))


def test_default_language_is_chinese(client, login_as, world):
    login_as("officer", region=world.county_x)
    page = text(client.get("/enterprises"))
    assert '<html lang="zh-CN">' in page
    assert zh("Enterprise registry") in page


def test_unknown_language_is_refused(client):
    assert client.post("/language", data={"lang": "fr"}).status_code == 400


def test_anonymous_can_switch_language_on_the_sign_in_page(client):
    client.post("/language", data={"lang": "en", "next": "/login"})
    assert "Sign in" in text(client.get("/login"))


def test_passwords_are_hashed(app, world, db):
    user = factories.user("officer", region=world.county_x)
    assert factories.PASSWORD not in user.password_hash
    prod = app.config["PASSWORD_HASH_METHOD"]
    assert prod.startswith("pbkdf2")  # testing speed-up; production uses scrypt:
    from config import Config

    assert Config.PASSWORD_HASH_METHOD == "scrypt"


def test_session_cookie_flags(client, world):
    factories.user("officer", region=world.county_x, username="li")
    response = _login(client, "li", factories.PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_account_page_shows_the_user(client, login_as, world):
    user = login_as("officer", region=world.county_x, name="李晓梅")
    page = text(client.get("/account"))
    assert "李晓梅" in page and user.username in page and "兴庆区" in page


def test_user_model_session_id_includes_nonce(world, db):
    user = factories.user("officer", region=world.county_x)
    assert user.get_id() == f"{user.id}:{user.session_nonce}"
    assert db.session.scalar(select(User).where(User.id == user.id)) is user
