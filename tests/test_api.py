"""The JSON API: scoped by the token owner's role and region, cursor pagination, needs created, the OpenAPI
document matching the endpoints, and hypothesis over its parameters finding no 500."""
from __future__ import annotations

import re
import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm.auth import services as auth_services
from crm.service.models import Need
from tests import factories


def bearer(db, user, name="ERP"):
    _token, plaintext = auth_services.create_api_token(user, name, actor="test")
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def manager_city(world, db):
    user = factories.user("manager", region=world.city, username="m_city")
    db.session.commit()
    return user


def test_list_is_scoped_and_paged_by_cursor(client, world, db, manager_city):
    for i in range(7):
        factories.enterprise(world.county_y, name=f"翻页企业{i}")
    db.session.commit()
    headers = bearer(db, manager_city)
    seen, cursor = [], None
    while True:
        url = "/api/v1/enterprises?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=headers).get_json()
        seen += [e["uscc"] for e in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3 + 7  # the city's three and the new seven; not the other city's
    assert world.ent_z.uscc not in seen
    body = client.get("/api/v1/enterprises?region=640105&tier=candidate", headers=headers).get_json()
    assert len(body["items"]) == 8


def test_one_enterprise_figures_and_certifications(client, world, db, manager_city):
    factories.figures(world.ent_x, 2023)
    factories.certification(world.ent_x, "tech_sme")
    db.session.commit()
    headers = bearer(db, manager_city)
    body = client.get(f"/api/v1/enterprises/{world.ent_x.uscc.lower()}", headers=headers).get_json()
    assert body["name"] == world.ent_x.name and body["current_tier"] == "tech_sme"
    figures = client.get(f"/api/v1/enterprises/{world.ent_x.uscc}/figures", headers=headers).get_json()
    assert figures["items"][0]["revenue"] == "3200.00" and figures["items"][0]["employees"] == 85
    certs = client.get(f"/api/v1/enterprises/{world.ent_x.uscc}/certifications", headers=headers).get_json()
    assert certs["items"][0]["tier"] == "tech_sme"
    assert client.get(f"/api/v1/enterprises/{world.ent_z.uscc}", headers=headers).status_code == 404


def test_enterprise_token_sees_only_its_own_enterprise(client, world, db):
    user = factories.user("enterprise", enterprise=world.ent_x)
    db.session.commit()
    headers = bearer(db, user)
    body = client.get("/api/v1/enterprises", headers=headers).get_json()
    assert [e["uscc"] for e in body["items"]] == [world.ent_x.uscc]
    assert client.get(f"/api/v1/enterprises/{world.ent_y.uscc}", headers=headers).status_code == 404
    assert client.get("/api/v1/needs", headers=headers).status_code == 403


def test_needs_and_visits_read_and_create(client, world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    factories.visit(world.ent_x, officer)
    factories.need(world.ent_y, title="西夏的需求")
    db.session.commit()
    headers = bearer(db, officer)
    created = client.post("/api/v1/needs", headers=headers, json={
        "uscc": world.ent_x.uscc, "category": "finance", "title": "贷款贴息", "due_on": "2099-01-01"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "open"
    assert db.session.scalar(select(Need).where(Need.title == "贷款贴息")).enterprise_id == world.ent_x.id
    needs = client.get("/api/v1/needs?status=", headers=headers).get_json()
    assert [n["title"] for n in needs["items"]] == ["贷款贴息"]  # not county Y's
    visits = client.get(f"/api/v1/visits?enterprise={world.ent_x.uscc}", headers=headers).get_json()
    assert len(visits["items"]) == 1
    refused = client.post("/api/v1/needs", headers=headers, json={"uscc": world.ent_x.uscc, "category": "x",
                                                                  "title": ""})
    assert refused.status_code == 422 and set(refused.get_json()["error"]["fields"]) == {"category", "title"}
    outside = client.post("/api/v1/needs", headers=headers, json={"uscc": world.ent_y.uscc, "category": "finance",
                                                                  "title": "t"})
    assert outside.status_code == 404


def test_revoked_token_and_bad_parameters(client, world, db, manager_city):
    token, plaintext = auth_services.create_api_token(manager_city, "ERP", actor="test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/enterprises?limit=0", headers=headers).status_code == 400
    assert client.get("/api/v1/enterprises?cursor=!!", headers=headers).status_code == 400
    assert client.get("/api/v1/enterprises?region=999999", headers=headers).status_code == 400
    assert client.get("/api/v1/enterprises?tier=gold", headers=headers).status_code == 400
    auth_services.revoke_api_token(token, actor="test")
    db.session.commit()
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 401


def test_openapi_document_matches_the_endpoints(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    actual = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)  # <int:need_id> → {need_id}
            actual |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == actual
    for ops in doc["paths"].values():  # every $ref resolves
        for op in ops.values():
            for response in op["responses"].values():
                for media in response.get("content", {}).values():
                    ref = media["schema"].get("$ref")
                    if ref:
                        assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]


_text = st.text(alphabet=string.printable + "企业宁夏０１２", max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["q", "region", "tier", "domain", "status", "above", "cursor", "limit",
                                               "enterprise", "from", "to", "category"]), _text, max_size=5),
       path=st.sampled_from(["/api/v1/enterprises", "/api/v1/needs", "/api/v1/visits",
                             "/api/v1/enterprises/{u}", "/api/v1/enterprises/{u}/figures",
                             "/api/v1/enterprises/{u}/certifications"]),
       uscc=_text)
def test_fuzzed_parameters_never_500(client, world, db, manager_city, params, path, uscc):
    headers = bearer(db, manager_city)
    # percent-encoded as a client sends it (a raw newline in a path is not a URL: werkzeug redirected it)
    url = path.replace("{u}", quote(uscc.replace("/", "").replace(".", "") or "x", safe=""))
    response = client.get(url, query_string=params, headers=headers)
    assert response.status_code in (200, 400, 404), (url, params, response.get_data(as_text=True)[:200])
    assert response.is_json


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.none(), st.lists(st.integers(), max_size=2), st.dictionaries(
    st.sampled_from(["uscc", "category", "title", "description", "due_on"]),
    st.one_of(_text, st.integers(), st.none(), st.lists(st.integers(), max_size=2)), max_size=5)))
def test_fuzzed_need_bodies_never_500(client, world, db, manager_city, body):
    headers = bearer(db, manager_city)
    if isinstance(body, dict) and body.get("uscc") == "":
        body["uscc"] = world.ent_x.uscc
    response = client.post("/api/v1/needs", json=body, headers=headers)
    assert response.status_code in (201, 400, 403, 404, 422), response.get_data(as_text=True)[:300]
