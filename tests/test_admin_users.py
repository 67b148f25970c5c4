"""User administration at /admin/users: list, search, create, edit, deactivate, reset, access."""
import re

import pytest
from sqlalchemy import func, select

from crm.auth.models import User
from crm.core.audit import AuditEvent
from tests import factories
from tests.helpers import text, zh

NEW_PASSWORD = "Fresh-Passw0rd"


def _form(**overrides):
    """A complete user form as the page posts it (the checkbox sends "y" when ticked)."""
    data = {"username": "wangfang", "name": "王芳", "email": "", "phone": "", "role": "officer",
            "region_id": "", "enterprise_uscc": "", "password": NEW_PASSWORD, "active": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _form_of(user, **overrides):
    """The edit form of an existing user, unchanged unless overridden (password empty = keep)."""
    data = {"username": user.username, "name": user.name, "email": user.email or "", "phone": user.phone or "",
            "role": user.role, "region_id": str(user.region_id or ""),
            "enterprise_uscc": user.enterprise.uscc if user.enterprise else "", "password": "",
            "active": "y" if user.active else None}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _user_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def _by_name(db, username) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def _listed(response) -> list[str]:
    """The user names listed on a /admin/users page, in order."""
    return re.findall(r'<a href="/admin/users/\d+/edit">([^<]+)</a>', response.get_data(as_text=True))


def _sign_in(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


# --- the list -----------------------------------------------------------------------------


def test_list_shows_users_with_their_binding(client, login_as, world):
    admin = login_as("admin", username="root")
    factories.user("manager", region=world.city, username="chen", name="陈主任")
    factories.user("enterprise", enterprise=world.ent_y, username="xixia")
    response = client.get("/admin/users")
    assert response.status_code == 200
    assert _listed(response) == ["chen", admin.username, "xixia"]
    page = text(response)
    assert "陈主任" in page and "银川市" in page and "西夏生物科技有限公司" in page


def test_search_matches_user_name_full_name_and_phone(client, login_as, world):
    login_as("admin", username="root")
    factories.user("officer", region=world.county_x, username="lixm", name="李晓梅", phone="13800001111")
    factories.user("officer", region=world.county_y, username="zhaoq", name="赵强", phone="13900002222")
    assert _listed(client.get("/admin/users?q=LIX")) == ["lixm"]  # case-insensitive
    assert _listed(client.get("/admin/users?q=赵")) == ["zhaoq"]
    assert _listed(client.get("/admin/users?q=0000222")) == ["zhaoq"]
    assert _listed(client.get("/admin/users?q=nobody")) == []


def test_search_treats_like_wildcards_literally(client, login_as, world):
    """"_" is a legal user-name character; searching for it must not match any character."""
    login_as("admin", username="root")
    factories.user("officer", region=world.county_x, username="li_na")
    factories.user("officer", region=world.county_x, username="lixna")
    assert _listed(client.get("/admin/users?q=li_na")) == ["li_na"]
    assert _listed(client.get("/admin/users?q=%25")) == []


def test_role_filter(client, login_as, world):
    login_as("admin", username="root")
    factories.user("manager", region=world.city, username="m1")
    factories.user("officer", region=world.county_x, username="o1")
    factories.user("officer", region=world.county_y, username="o2")
    assert _listed(client.get("/admin/users?role=officer")) == ["o1", "o2"]
    assert _listed(client.get("/admin/users?role=manager")) == ["m1"]
    assert _listed(client.get("/admin/users?role=officer&q=o2")) == ["o2"]


def test_list_pages_by_fifty(client, login_as, world):
    login_as("admin", username="zz-admin")
    for n in range(60):
        factories.user("officer", region=world.county_x, username=f"u{n:03d}")
    first = _listed(client.get("/admin/users"))
    second = _listed(client.get("/admin/users?page=2"))
    assert first == [f"u{n:03d}" for n in range(50)]
    assert second == [f"u{n:03d}" for n in range(50, 60)] + ["zz-admin"]
    assert _listed(client.get("/admin/users?page=3")) == []


# --- creating users -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "officer"])
def test_admin_creates_a_regional_user(client, login_as, world, db, role):
    admin = login_as("admin")
    response = client.post("/admin/users/new", data=_form(role=role, region_id=str(world.city.id),
                                                           enterprise_uscc=world.ent_x.uscc))
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    user = _by_name(db, "wangfang")
    assert (user.role, user.region_id, user.enterprise_id, user.active) == (role, world.city.id, None, True)
    assert factories.PASSWORD not in user.password_hash and NEW_PASSWORD not in user.password_hash
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "users"))
    assert (event.action, event.entity_id, event.actor_id, event.actor_label) == (
        "create", user.id, admin.id, admin.username)
    assert event.changes["role"] == [None, role] and event.changes["region_id"] == [None, world.city.id]
    assert "password_hash" not in event.changes


def test_admin_creates_an_enterprise_user_by_uscc(client, login_as, world, db):
    login_as("admin")
    response = client.post("/admin/users/new", data=_form(role="enterprise", region_id=str(world.county_x.id),
                                                           enterprise_uscc=" " + world.ent_y.uscc.lower()))
    assert response.status_code == 303
    user = _by_name(db, "wangfang")
    assert (user.role, user.enterprise_id, user.region_id) == ("enterprise", world.ent_y.id, None)


def test_admin_creates_an_admin_without_binding(client, login_as, world, db):
    login_as("admin")
    response = client.post("/admin/users/new", data=_form(role="admin", region_id=str(world.city.id),
                                                           enterprise_uscc=world.ent_x.uscc))
    assert response.status_code == 303
    user = _by_name(db, "wangfang")
    assert (user.role, user.region_id, user.enterprise_id) == ("admin", None, None)


def test_new_user_can_sign_in(app, client, login_as, world):
    login_as("admin")
    client.post("/admin/users/new", data=_form(role="officer", region_id=str(world.county_x.id)))
    other = app.test_client()
    assert _sign_in(other, "wangfang", NEW_PASSWORD).status_code == 303
    assert other.get("/enterprises").status_code == 200


@pytest.mark.parametrize("overrides,field,message", [
    ({"name": ""}, "name", ("This field is required.", {})),
    ({"username": "li xiao"}, "username", ("Letters, digits and _ . @ - only.", {})),
    ({"username": "王芳"}, "username", ("Letters, digits and _ . @ - only.", {})),
    ({"username": "LIXIAOMEI"}, "username", ("This user name is taken.", {})),
    ({"region_id": ""}, "region_id", ("Managers and officers must belong to a region.", {})),
    ({"role": "manager", "region_id": ""}, "region_id", ("Managers and officers must belong to a region.", {})),
    ({"role": "enterprise", "region_id": "", "enterprise_uscc": factories.uscc("640104")}, "enterprise_uscc",
     ("No enterprise has this unified social credit code.", {})),
    ({"role": "enterprise", "region_id": "", "enterprise_uscc": ""}, "enterprise_uscc",
     ("An enterprise user must belong to an enterprise.", {})),
    ({"password": ""}, "password", ("Set a first password for the new user.", {})),
    ({"password": "abc12"}, "password", ("Use at least %(n)d characters.", {"n": 8})),
    ({"password": "onlyletters"}, "password", ("Use both letters and digits.", {})),
    ({"password": "wangfang2024"}, "password", ("Do not include your user name.", {})),
])
def test_invalid_new_user_is_refused_and_nothing_written(client, login_as, world, db, overrides, field, message):
    login_as("admin")
    factories.user("officer", region=world.county_x, username="LiXiaomei")
    before = _user_count(db)
    data = _form(region_id=str(world.county_x.id))
    data.update(overrides)
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 422
    assert re.search(rf'class="[^"]*is-invalid[^"]*" id="{field}"', text(response))  # marked next to the field
    assert _user_count(db) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    msgid, kwargs = message
    assert zh(msgid, **kwargs) in text(response)


def test_form_shows_again_with_the_typed_values(client, login_as, world):
    login_as("admin")
    response = client.post("/admin/users/new", data=_form(name="", username="keepme", phone="13811112222"))
    assert response.status_code == 422
    page = text(response)
    assert 'value="keepme"' in page and 'value="13811112222"' in page
    assert NEW_PASSWORD not in page  # a password is never echoed back


# --- editing users ------------------------------------------------------------------------


def test_edit_page_shows_the_current_values(client, login_as, world):
    login_as("admin")
    user = factories.user("enterprise", enterprise=world.ent_x, username="xingqing", name="兴庆联系人")
    response = client.get(f"/admin/users/{user.id}/edit")
    assert response.status_code == 200
    page = text(response)
    assert 'value="xingqing"' in page and 'value="兴庆联系人"' in page and f'value="{world.ent_x.uscc}"' in page


def test_edit_records_old_and_new_with_the_admin_as_actor(client, login_as, world, db):
    admin = login_as("admin", username="root")
    user = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅")
    response = client.post(f"/admin/users/{user.id}/edit",
                           data=_form_of(user, name="李晓梅（外勤）", role="manager", region_id=str(world.city.id),
                                         phone="13800001111"))
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    db.session.refresh(user)
    assert (user.name, user.role, user.region_id, user.phone) == ("李晓梅（外勤）", "manager", world.city.id, "13800001111")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
    assert (event.entity_type, event.entity_id, event.actor_id, event.actor_label, event.ip) == (
        "users", user.id, admin.id, "root", "127.0.0.1")
    assert event.changes == {
        "name": ["李晓梅", "李晓梅（外勤）"], "phone": ["", "13800001111"], "role": ["officer", "manager"],
        "region_id": [world.county_x.id, world.city.id],
    }


def test_edit_that_changes_nothing_records_nothing(client, login_as, world, db):
    login_as("admin")
    user = factories.user("enterprise", enterprise=world.ent_x, username="xingqing")
    assert client.post(f"/admin/users/{user.id}/edit", data=_form_of(user)).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_changing_the_role_clears_the_other_binding(client, login_as, world, db):
    login_as("admin")
    user = factories.user("manager", region=world.city, username="chen")
    response = client.post(f"/admin/users/{user.id}/edit",
                           data=_form_of(user, role="enterprise", enterprise_uscc=world.ent_z.uscc))
    assert response.status_code == 303
    db.session.refresh(user)
    assert (user.role, user.enterprise_id, user.region_id) == ("enterprise", world.ent_z.id, None)
    response = client.post(f"/admin/users/{user.id}/edit",
                           data=_form_of(user, role="officer", region_id=str(world.county_z.id)))
    assert response.status_code == 303
    db.session.refresh(user)
    assert (user.role, user.enterprise_id, user.region_id) == ("officer", None, world.county_z.id)


def test_edit_refuses_a_user_name_taken_in_another_case(client, login_as, world, db):
    login_as("admin")
    factories.user("officer", region=world.county_x, username="LiXiaomei")
    user = factories.user("officer", region=world.county_y, username="zhaoq")
    response = client.post(f"/admin/users/{user.id}/edit", data=_form_of(user, username="lixiaomei"))
    assert response.status_code == 422
    assert zh("This user name is taken.") in text(response)
    db.session.refresh(user)
    assert user.username == "zhaoq"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_user_may_keep_their_name_in_another_case(client, login_as, world, db):
    login_as("admin")
    user = factories.user("officer", region=world.county_y, username="zhaoq")
    assert client.post(f"/admin/users/{user.id}/edit", data=_form_of(user, username="ZhaoQ")).status_code == 303
    db.session.refresh(user)
    assert user.username == "ZhaoQ"


def test_edit_with_an_empty_password_keeps_the_password(client, login_as, world, db):
    login_as("admin")
    user = factories.user("officer", region=world.county_x)
    old_hash, old_nonce = user.password_hash, user.session_nonce
    assert client.post(f"/admin/users/{user.id}/edit", data=_form_of(user, name="新名字")).status_code == 303
    db.session.refresh(user)
    assert (user.password_hash, user.session_nonce) == (old_hash, old_nonce)


def test_unknown_user_is_404(client, login_as, world):
    login_as("admin")
    assert client.get("/admin/users/999999/edit").status_code == 404


# --- deactivation and password reset --------------------------------------------------------


def test_deactivating_a_user_ends_their_session(app, client, login_as, world, db):
    login_as("admin")
    user = factories.user("officer", region=world.county_x, username="lixm")
    theirs = app.test_client()
    assert _sign_in(theirs, "lixm", factories.PASSWORD).status_code == 303
    assert theirs.get("/enterprises").status_code == 200
    response = client.post(f"/admin/users/{user.id}/edit", data=_form_of(user, active=None))
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.active is False
    response = theirs.get("/enterprises")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _sign_in(theirs, "lixm", factories.PASSWORD).status_code == 422
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
    assert event.changes == {"active": [True, False]}


def test_reactivated_user_can_sign_in_again(client, login_as, world, db):
    login_as("admin")
    user = factories.user("officer", region=world.county_x, username="lixm", active=False)
    assert client.post(f"/admin/users/{user.id}/edit", data=_form_of(user, active="y")).status_code == 303
    db.session.refresh(user)
    assert user.active is True
    client.post("/logout")
    assert _sign_in(client, "lixm", factories.PASSWORD).status_code == 303


def test_admin_cannot_deactivate_themselves(client, login_as, world, db):
    admin = login_as("admin")
    response = client.post(f"/admin/users/{admin.id}/edit", data=_form_of(admin, active=None))
    assert response.status_code == 422
    assert zh("You cannot deactivate your own account.") in text(response)
    db.session.refresh(admin)
    assert admin.active is True
    assert client.get("/admin/users").status_code == 200  # still signed in
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_password_reset_lets_the_user_sign_in_with_the_new_one(app, client, login_as, world, db):
    admin = login_as("admin")
    user = factories.user("officer", region=world.county_x, username="lixm")
    theirs = app.test_client()
    _sign_in(theirs, "lixm", factories.PASSWORD)
    response = client.post(f"/admin/users/{user.id}/edit", data=_form_of(user, password=NEW_PASSWORD))
    assert response.status_code == 303
    assert theirs.get("/enterprises").status_code == 302  # the old session has ended
    assert _sign_in(theirs, "lixm", factories.PASSWORD).status_code == 422
    assert _sign_in(theirs, "lixm", NEW_PASSWORD).status_code == 303
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
    assert event.changes == {"password": ["***", "***"]} and event.actor_id == admin.id
    assert NEW_PASSWORD not in str(event.changes)


def test_weak_password_reset_is_refused(client, login_as, world, db):
    login_as("admin")
    user = factories.user("officer", region=world.county_x, username="lixm")
    old_hash = user.password_hash
    response = client.post(f"/admin/users/{user.id}/edit", data=_form_of(user, password="short1"))
    assert response.status_code == 422
    assert zh("Use at least %(n)d characters.", n=8) in text(response)
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_admin_resetting_their_own_password_stays_signed_in(client, login_as, world, db):
    admin = login_as("admin")
    response = client.post(f"/admin/users/{admin.id}/edit", data=_form_of(admin, password=NEW_PASSWORD))
    assert response.status_code == 303
    assert client.get("/admin/users").status_code == 200


# --- access -------------------------------------------------------------------------------


def _routes(target_id):
    return [("get", "/admin/users"), ("get", "/admin/users?q=a&role=officer"), ("get", "/admin/users/new"),
            ("post", "/admin/users/new"), ("get", f"/admin/users/{target_id}/edit"),
            ("post", f"/admin/users/{target_id}/edit")]


@pytest.mark.parametrize("role", ["manager", "officer", "enterprise"])
def test_non_admins_are_forbidden_everywhere(client, login_as, world, db, role):
    binding = {"enterprise": world.ent_x} if role == "enterprise" else {"region": world.province}
    login_as(role, **binding)
    target = factories.user("officer", region=world.county_x, username="target")
    before = _user_count(db)
    for method, url in _routes(target.id):
        data = _form(username="intruder", role="admin") if "/new" in url else _form_of(target, role="admin")
        response = getattr(client, method)(url, data=data) if method == "post" else client.get(url)
        assert response.status_code == 403, (method, url)
    db.session.refresh(target)
    assert target.role == "officer" and _user_count(db) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_anonymous_is_sent_to_sign_in(client, world, db):
    target = factories.user("officer", region=world.county_x, username="target")
    for method, url in _routes(target.id):
        response = getattr(client, method)(url, data=_form()) if method == "post" else client.get(url)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login"), (method, url)
    assert _by_name(db, "wangfang") is None
