"""Access matrix: every route of the app × every role, from one table.

A route missing from ROUTES fails the test, so a new route cannot be forgotten. Forbidden
writes must change nothing: every write records an audit event, so the trail must not grow.
"""
import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.enterprises.models import Contact
from tests import factories

ROLES = ["anon", "admin", "manager_city", "manager_other", "officer_x", "officer_y", "enterprise_own",
         "enterprise_other"]
OK, REDIRECT, FORBIDDEN, MISSING = 200, 302, 403, 404

# For GET routes: the status each role gets on a record of county X (ent_x and its children).
# "anon" gets 302 to the sign-in page unless the route is public.
_registry = {"admin": OK, "manager_city": OK, "manager_other": OK, "officer_x": OK, "officer_y": OK,
             "enterprise_own": FORBIDDEN, "enterprise_other": FORBIDDEN}
_edit_x = {"admin": OK, "manager_city": FORBIDDEN, "manager_other": FORBIDDEN, "officer_x": OK,
           "officer_y": MISSING, "enterprise_own": FORBIDDEN, "enterprise_other": FORBIDDEN}
_admin_only = {"admin": OK, **{r: FORBIDDEN for r in ROLES[2:]}}
_everyone = {r: OK for r in ROLES[1:]}
# A batch of readiness sheets: its creator ("someone", tested in tests/ladder/test_sheets.py) or an admin.
_batch_owner = {"admin": OK, **{r: MISSING for r in ROLES[2:6]}, "enterprise_own": FORBIDDEN,
                "enterprise_other": FORBIDDEN}

GET_ROUTES = {
    "main.healthz": ("/healthz", {"anon": OK, **_everyone}),
    "auth.login": ("/login", {"anon": OK, **{r: REDIRECT for r in ROLES[1:]}}),
    "auth.account": ("/account", _everyone),
    "main.home": ("/", {r: REDIRECT for r in ROLES[1:]}),
    "enterprises.index": ("/enterprises", _registry),
    "enterprises.new": ("/enterprises/new", {"admin": OK, "manager_city": FORBIDDEN, "manager_other": FORBIDDEN,
                                             "officer_x": OK, "officer_y": OK, "enterprise_own": FORBIDDEN,
                                             "enterprise_other": FORBIDDEN}),
    "enterprises.detail": ("/enterprises/{ent}", {"admin": OK, "manager_city": OK, "manager_other": MISSING,
                                                  "officer_x": OK, "officer_y": MISSING, "enterprise_own": OK,
                                                  "enterprise_other": MISSING}),
    "enterprises.edit": ("/enterprises/{ent}/edit", _edit_x),
    "enterprises.contact_form": ("/enterprises/{ent}/contacts/{contact}/edit", _edit_x),
    "enterprises.figures_form": ("/enterprises/{ent}/figures/{figures}/edit", _edit_x),
    "enterprises.ip_form": ("/enterprises/{ent}/ip/{ip}/edit", _edit_x),
    "enterprises.audit_trail": ("/enterprises/{ent}/audit", _admin_only),
    "ladder.certification_form": ("/enterprises/{ent}/certifications/{cert}/edit", _edit_x),
    "ladder.readiness_inputs": ("/enterprises/{ent}/readiness/inputs", _edit_x),
    # the readiness panel reads like the enterprise page (its what-if needs the edit rule: test_readiness_panel)
    "ladder.readiness": ("/enterprises/{ent}/readiness?tier=high_tech", {
        "admin": OK, "manager_city": OK, "manager_other": MISSING, "officer_x": OK, "officer_y": MISSING,
        "enterprise_own": OK, "enterprise_other": MISSING}),
    "candidates.index": ("/candidates?tier=high_tech", _registry),
    "candidates.export": ("/candidates/export.xlsx?tier=tech_sme", _registry),
    # readiness sheets: a sheet reads like the enterprise page; a batch is its creator's
    "ladder.readiness_sheet": ("/enterprises/{ent}/readiness/sheet.pdf?tier=tech_sme", {
        "admin": OK, "manager_city": OK, "manager_other": MISSING, "officer_x": OK, "officer_y": MISSING,
        "enterprise_own": OK, "enterprise_other": MISSING}),
    "candidates.sheet_batch": ("/candidates/sheets/{batch}", _batch_owner),
    "candidates.sheet_batch_download": ("/candidates/sheets/{batch}/download", _batch_owner),
    "admin.users": ("/admin/users", _admin_only),
    "admin.user_new": ("/admin/users/new", _admin_only),
    "admin.user_edit": ("/admin/users/{user}/edit", _admin_only),
    "admin.audit": ("/admin/audit", _admin_only),
    "regions.regions": ("/admin/regions", _admin_only),
    "regions.region_form": ("/admin/regions/{region}/edit", _admin_only),
    "rules.index": ("/admin/rules", _admin_only),
    "rules.edit": ("/admin/rules/little_giant/edit", _admin_only),
    "rules.version": ("/admin/rules/little_giant/versions/1", _admin_only),
    "static": ("/static/css/app.css", {"anon": OK, **_everyone}),
    # assignments (包保关系): managers and admins; each manager sees the officers of their own scope
    "service.load": ("/assignments", {"admin": OK, "manager_city": OK, "manager_other": OK,
                                      **{r: FORBIDDEN for r in ROLES[4:]}}),
    # the policy list (政策库): every bureau user reads it; managers and admins keep it (it has no region)
    "policies.index": ("/policies", _registry),
    "policies.new": ("/policies/new", _policies_manage := {"admin": OK, "manager_city": OK, "manager_other": OK,
                                                           **{r: FORBIDDEN for r in ROLES[4:]}}),
    "policies.edit": ("/policies/{policy}/edit", _policies_manage),
}
# Endpoints that also answer on a second URL (the "new" form of an edit route) are covered above.

# Managers and enterprise users lack the capability (403 before any lookup); an officer of
# another county gets 404, as if the record did not exist.
_write_x = {"admin": "allowed", "manager_city": FORBIDDEN, "manager_other": FORBIDDEN, "officer_x": "allowed",
            "officer_y": MISSING, "enterprise_own": FORBIDDEN, "enterprise_other": FORBIDDEN}
_assign_x = {"admin": "allowed", "manager_city": "allowed", "manager_other": MISSING,
             **{r: FORBIDDEN for r in ROLES[4:]}}
POST_ROUTES = {
    "auth.logout": ("/logout", {r: "allowed" for r in ROLES[1:]}),
    "auth.language": ("/language", {"anon": "allowed", **{r: "allowed" for r in ROLES[1:]}}),
    "enterprises.archive": ("/enterprises/{ent}/archive", _write_x),
    "enterprises.restore": ("/enterprises/{ent}/restore", _write_x),
    "enterprises.contact_delete": ("/enterprises/{ent}/contacts/{contact}/delete", _write_x),
    "enterprises.figures_verify": ("/enterprises/{ent}/figures/{figures}/verify", _write_x),
    "enterprises.ip_delete": ("/enterprises/{ent}/ip/{ip}/delete", _write_x),
    "ladder.certification_revoke": ("/enterprises/{ent}/certifications/{cert}/revoke", _write_x),
    # restoring the shipped defaults over the fixture's local version (ids) is a new, audited version
    "rules.restore": ("/admin/rules/little_giant/restore", {"admin": "allowed", **{r: FORBIDDEN for r in ROLES[2:]}}),
    # officers, managers and admins start a batch of sheets for the pool in their scope (not audited: a read)
    "candidates.sheet_batch_new": ("/candidates/sheets?tier=tech_sme", {
        **{r: "allowed" for r in ROLES[1:6]}, "enterprise_own": FORBIDDEN, "enterprise_other": FORBIDDEN}),
    # assignments: managers and admins (a manager of another city: 404); officers may not assign. Posted without
    # an officer these answer 303 with a message and write nothing (tests/service/test_assignments.py writes).
    "service.assign": ("/enterprises/{ent}/assignment", _assign_x),
    "service.end": ("/enterprises/{ent}/assignment/end", _assign_x),
    "service.bulk_assign": ("/assignments/bulk", {"admin": "allowed", "manager_city": "allowed",
                                                  "manager_other": "allowed", **{r: FORBIDDEN for r in ROLES[4:]}}),
    # the policy list: managers and admins (deactivate first, so that reactivating changes something too)
    "policies.deactivate": ("/policies/{policy}/deactivate", _manage_policies := {
        "admin": "allowed", "manager_city": "allowed", "manager_other": "allowed",
        **{r: FORBIDDEN for r in ROLES[4:]}}),
    "policies.reactivate": ("/policies/{policy}/reactivate", _manage_policies),
}


def local_ruleset_version():
    """An admin's version 1 of little_giant (lg_revenue 3000), as the settings page saves it."""
    from crm.ladder.engine import shipped_ruleset_dicts
    from crm.ladder.models import RuleSetVersion

    data = shipped_ruleset_dicts()["little_giant"]
    data.update(id="regional-default+local", version=1)
    next(c for c in data["criteria"] if c["id"] == "lg_revenue")["value"] = 3000
    return RuleSetVersion(tier="little_giant", version=1, data=data, note="matrix")


@pytest.fixture
def ids(world, db):
    contact = Contact(enterprise_id=world.ent_x.id, name="张伟")
    db.session.add(contact)
    figures = factories.figures(world.ent_x, 2024)
    item = factories.ip(world.ent_x)
    someone = factories.user("officer", region=world.county_y, username="someone")
    cert = factories.certification(world.ent_x, "tech_sme")
    db.session.add(local_ruleset_version())
    db.session.commit()
    batch = factories.sheet_batch(someone, [world.ent_y])
    policy = factories.policy()
    db.session.commit()
    return {"ent": world.ent_x.id, "contact": contact.id, "figures": figures.id, "ip": item.id,
            "user": someone.id, "region": world.county_x.id, "cert": cert.id, "batch": batch.id,
            "policy": policy.id}


def _sign_in(login_as, world, role):
    if role == "anon":
        return
    spec = {
        "admin": ("admin", {}), "manager_city": ("manager", {"region": world.city}),
        "manager_other": ("manager", {"region": world.other_city}),
        "officer_x": ("officer", {"region": world.county_x}), "officer_y": ("officer", {"region": world.county_y}),
        "enterprise_own": ("enterprise", {"enterprise": world.ent_x}),
        "enterprise_other": ("enterprise", {"enterprise": world.ent_y}),
    }[role]
    login_as(spec[0], **spec[1])


# JSON API: anonymous callers get 401 JSON; every signed-in role may evaluate a posted profile
# (it reads nothing from the database but the rule sets in force).
API_ROUTES = {
    "api.readiness_check": ("/api/v1/readiness/check?tier=tech_sme", {"anon": 401, **{r: OK for r in ROLES[1:]}}),
}


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(GET_ROUTES) - set(POST_ROUTES) - set(API_ROUTES)
    assert missing == set(), f"add these routes to the access matrix: {sorted(missing)}"


@pytest.mark.parametrize("role", ROLES)
def test_get_matrix(client, login_as, world, ids, role):
    _sign_in(login_as, world, role)
    wrong = []
    for endpoint, (url, expected) in GET_ROUTES.items():
        want = expected.get(role, REDIRECT)
        got = client.get(url.format(**ids)).status_code
        if got != want:
            wrong.append(f"{endpoint} {url}: expected {want}, got {got}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_post_matrix_forbidden_writes_change_nothing(client, login_as, world, ids, role, db):
    wrong = []
    for endpoint, (url, expected) in POST_ROUTES.items():
        _sign_in(login_as, world, role)  # logout in the table ends the session: sign in again each time
        want = expected.get(role, REDIRECT)
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        got = client.post(url.format(**ids), data={"lang": "zh_CN"}).status_code
        after = db.session.scalar(select(func.count()).select_from(AuditEvent))
        if want == "allowed":
            # allowed: the write happens and answers 303 (see-other); writes to records are audited
            audited = endpoint.startswith(("enterprises.", "ladder.", "rules.", "policies."))
            if got != 303 or (audited and after == before):
                wrong.append(f"{endpoint}: allowed, got {got} (+{after - before} events)")
        elif got != want or after != before:
            wrong.append(f"{endpoint}: expected {want} and no write, got {got} (+{after - before} events)")
    assert wrong == []


@pytest.mark.parametrize("role", ["manager_city", "officer_y", "enterprise_own"])
def test_forbidden_form_posts_change_nothing(client, login_as, world, ids, role, db):
    _sign_in(login_as, world, role)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    eid = ids["ent"]
    posts = {
        f"/enterprises/{eid}/edit": {"name": "改名", "uscc": world.ent_x.uscc, "region_id": world.county_x.id,
                                     "industry_code": "C35", "status": "active"},
        f"/enterprises/{eid}/figures/new": {"year": "2023", "revenue": "1"},
        f"/enterprises/{eid}/ip/new": {"kind": "invention_patent", "title": "t", "number": "n"},
        f"/enterprises/{eid}/contacts/new": {"name": "x"},
        "/admin/users/new": {"username": "x", "name": "x", "role": "admin", "password": "Abcdefg1"},
        "/admin/regions/new": {"code": "640199", "name": "x", "level": "county", "parent_id": world.city.id},
    }
    if role != "manager_city":  # managers keep the policy list
        posts.update({f"/policies/{ids['policy']}/edit": {"title": "改名", "active": "y"},
                      "/policies/new": {"title": "新政策"}})
    for url, data in posts.items():
        assert client.post(url, data=data).status_code in (FORBIDDEN, MISSING), url
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    db.session.refresh(world.ent_x)
    assert world.ent_x.name == "兴庆智能装备有限公司"


@pytest.mark.parametrize("role", ROLES)
def test_api_matrix(client, login_as, world, role):
    _sign_in(login_as, world, role)
    profile = {"assessment_date": "2025-06-30", "figures": []}
    for endpoint, (url, expected) in API_ROUTES.items():
        response = client.post(url, json=profile)
        assert response.status_code == expected[role], endpoint
        assert response.is_json
