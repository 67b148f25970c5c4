"""API tokens: `flask users token ...`, Authorization: Bearer on /api/v1, never on HTML pages."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.auth import services
from crm.auth.models import ApiToken
from crm.core.audit import AuditEvent
from crm.core.db import utcnow
from tests import factories
from tests.ladder.test_readiness_cli_api import PROFILE, _check_result

URL = "/api/v1/readiness/check?tier=high_tech"


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["users", "token", *args])


def _create(app, username, name="ERP"):
    result = _cli(app, "create", username, "--name", name)
    assert result.exit_code == 0, result.output
    return re.search(r"^(mp_\S+)$", result.stdout, re.M).group(1)


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def officer(world, db):
    user = factories.user("officer", region=world.county_x, username="wang")
    db.session.commit()
    return user


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_cli_create_prints_the_token_once_and_stores_only_its_hash(app, officer, db):
    result = _cli(app, "create", "wang", "--name", "ERP nightly")
    assert result.exit_code == 0, result.output
    token = re.search(r"^(mp_\S+)$", result.stdout, re.M).group(1)
    assert len(token) > 40 and "Store this token now" in result.stderr
    row = db.session.scalar(select(ApiToken))
    assert row.user_id == officer.id and row.name == "ERP nightly" and row.prefix == token[:8]
    assert row.token_hash == services.hash_token(token) and token not in row.token_hash
    assert row.last_used_at is None and row.revoked_at is None


def test_cli_list_and_revoke(app, officer, db):
    token = _create(app, "wang", "ERP")
    row = db.session.scalar(select(ApiToken))
    listed = _cli(app, "list", "wang")
    assert listed.exit_code == 0 and row.prefix in listed.stdout and "ERP" in listed.stdout
    assert token not in listed.stdout
    assert str(row.id) in _cli(app, "list").stdout
    revoked = _cli(app, "revoke", str(row.id))
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    db.session.expire_all()
    assert row.revoked_at is not None
    assert _cli(app, "revoke", str(row.id)).exit_code == 0  # idempotent


@pytest.mark.parametrize("args,reason", [
    (["create", "nobody", "--name", "x"], "no user named"),
    (["list", "nobody"], "no user named"),
    (["revoke", "999"], "no token with id 999"),
])
def test_cli_unknown_user_or_id_exits_2(app, officer, args, reason):
    result = _cli(app, *args)
    assert result.exit_code == 2 and reason in result.stderr


def test_api_with_a_token(app, client, officer, db):
    token = _create(app, "wang")
    response = client.post(URL, json=PROFILE, headers=_bearer(token))
    assert response.status_code == 200
    _check_result(response.json)
    everything = client.post("/api/v1/readiness/check", json=PROFILE, headers=_bearer(token))
    assert everything.status_code == 200 and everything.json[0]["tier"] == "tech_sme"
    assert "Set-Cookie" not in response.headers  # no session is started


def test_last_used_at_is_noted_at_most_once_a_minute(app, client, officer, db):
    token = _create(app, "wang")
    assert client.post(URL, json=PROFILE, headers=_bearer(token)).status_code == 200
    row = db.session.scalar(select(ApiToken))
    first = row.last_used_at
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    client.post(URL, json=PROFILE, headers=_bearer(token))
    db.session.refresh(row)
    assert row.last_used_at == first
    row.last_used_at = first - timedelta(minutes=5)
    db.session.commit()
    client.post(URL, json=PROFILE, headers=_bearer(token))
    db.session.refresh(row)
    assert row.last_used_at > first


@pytest.mark.parametrize("header", ["Bearer mp_wrong", "Bearer ", "Bearer not-even-ours", "Basic d2FuZzp4"])
def test_a_wrong_token_is_401_json(client, officer, header):
    response = client.post(URL, json=PROFILE, headers={"Authorization": header})
    assert response.status_code == 401 and response.is_json
    assert response.json["error"]["message"]


def test_a_revoked_token_is_401_json(app, client, officer, db):
    token = _create(app, "wang")
    assert client.post(URL, json=PROFILE, headers=_bearer(token)).status_code == 200
    _cli(app, "revoke", str(db.session.scalar(select(ApiToken.id))))
    response = client.post(URL, json=PROFILE, headers=_bearer(token))
    assert response.status_code == 401 and response.is_json


def test_an_inactive_users_token_is_401(app, client, officer, db):
    token = _create(app, "wang")
    officer.active = False
    db.session.commit()
    response = client.post(URL, json=PROFILE, headers=_bearer(token))
    assert response.status_code == 401 and response.is_json


def test_a_token_signs_no_one_in_on_html_pages(app, client, officer):
    token = _create(app, "wang")
    response = client.get("/enterprises", headers=_bearer(token))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_bad_token_is_not_rescued_by_a_session(app, client, login_as, officer):
    """A bearer request is its token's, never the session's (else a token would skip CSRF for a session)."""
    login_as(officer)
    assert client.post(URL, json=PROFILE).status_code == 200
    assert client.post(URL, json=PROFILE, headers=_bearer("mp_wrong")).status_code == 401


def test_token_needs_no_csrf_while_a_session_does(app, client, login_as, officer, world, csrf_on, db):
    token = _create(app, "wang")
    assert client.post(URL, json=PROFILE, headers=_bearer(token)).status_code == 200
    assert client.post(URL, json=PROFILE, headers=_bearer("mp_wrong")).status_code == 401
    login_as(officer)
    refused = client.post(URL, json=PROFILE)
    assert refused.status_code == 400 and refused.is_json
    # HTML forms stay protected, with or without a bearer header
    for headers in ({}, _bearer(token)):
        assert client.post(f"/enterprises/{world.ent_x.id}/archive", headers=headers).status_code == 400
    db.session.refresh(world.ent_x)
    assert world.ent_x.archived_at is None


def test_create_and_revoke_are_audited_without_the_token(app, officer, db):
    token = _create(app, "wang", "ERP")
    _cli(app, "revoke", str(db.session.scalar(select(ApiToken.id))))
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "api_tokens")
                                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["create", "revoke"]
    assert all(e.actor_label == "cli" for e in events)
    for event in events:
        assert token not in f"{event.summary} {event.changes}"
        assert token[len("mp_"):][:12] not in f"{event.summary} {event.changes}"
    assert "wang" in events[0].summary and "ERP" in events[0].summary


def test_service_refuses_an_empty_name(officer):
    from crm.core.validation import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.create_api_token(officer, "  ", actor="test")
