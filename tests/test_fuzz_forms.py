"""Form fuzzing: hostile values posted to every form route of the URL map (and sent to the API's POST and PATCH), as a real browser session
would (signed in, CSRF token sent). No answer may be a 500; a refusal (4xx) writes nothing.

Values: very long strings, NUL bytes, control characters, astral unicode, markup, negative / huge / non-finite
numbers, impossible dates, wrong types (lists for scalars, text for ids), missing fields. A fixed seed makes
every run post the same values; SEEDS × ROUNDS requests per route.
"""
from __future__ import annotations

import json
import random
import re

import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.extensions import db as _db
from tests import factories
from tests.forms import forms_of
from tests.test_access_matrix import ids, officer_x  # noqa: F401 - fixtures: the matrix's records of county X

SEED = 20261125
ROUNDS = 6

HOSTILE = [
    "", " ", "\t\n", "a" * 5000, "长" * 3000, "\x00", "ab\x00cd", "\x1b[31m\x07\x08", "\ud7ff\ue000\uffff",
    "😀🇨🇳𝕳𝖊𝖑𝖑𝖔", "e\u0301\u200b\u202e", "<script>alert(1)</script>", "' OR 1=1 --", "%s%n%x", "{{7*7}}",
    "-1", "-0", "0", "1", "-99999999999999999999", "99999999999999999999999999", "1e309", "-1e309", "NaN",
    "Infinity", "3.14159265358979323846264338327950288", "0x10", "1_000", "１２３", "٣", "2026-02-30",
    "0000-00-00", "9999-12-31", "1900-01-01", "2026-13-01", "yesterday", "true", "null", "[]", "{}", "y", "on",
    "../../etc/passwd", "640104", "91640104MA00000000", "high_tech", "active", "closed", "finance",
]
# Fields every route gets a try at, besides those of its form (POST-only routes have no form to read).
EXTRA_FIELDS = ["id", "status", "note", "comment", "stage", "officer_id", "version", "year", "tier", "next",
                "enterprise_id", "user_id", "amount", "lang", "q", "resolution", "reason"]

# The URL map's arguments, per endpoint where it matters, else by name.
ARG_IDS = {"enterprise_id": "ent", "contact_id": "contact", "figures_id": "figures", "ip_id": "ip",
           "region_id": "region", "cert_id": "cert", "visit_id": "visit", "need_id": "need",
           "follow_up_id": "follow_up", "department_id": "department", "policy_id": "policy",
           "notification_id": "notification", "token_id": "token", "submission_id": "submission",
           "application_id": "application", "bulletin_id": "bulletin", "batch_id": "cycle_batch",
           "job_id": "import_job", "user_id": "user", "event_id": "event", "attachment_id": "attachment",
           "plan_id": "visit_plan", "day_id": "calendar_day", "partner_id": "partner", "view_id": "saved_view",
           "tag_id": "tag", "referral_id": "referral", "question_id": "survey_question",
           "campaign_id": "survey_campaign", "list_id": "credit_list", "entry_id": "credit_entry",
           "report_id": "figure_report"}
ARG_BY_ENDPOINT = {("portal_accounts.new_link", "user_id"): "contact_user",
                   ("notify.run_job", "job_id"): "=ladder.expire_certifications",
                   ("auth.set_password", "token"): "=not-a-token", ("rules.edit", "tier"): "=little_giant",
                   ("rules.restore", "tier"): "=little_giant",
                   ("partners.referral_status", "referral_id"): "partner_referral",
                   ("evidence.upload", "kind"): "=visit", ("evidence.upload", "parent_id"): "visit",
                   ("tags.refresh", "tag_id"): "rule_tag",
                   ("surveys.campaign_edit", "campaign_id"): "survey_draft",
                   ("surveys.launch", "campaign_id"): "survey_draft"}
PUBLIC = {"auth.login", "auth.set_password"}  # posted signed out
SKIP = {"auth.logout": "ends the session; its body is ignored (tested in test_sessions)"}


def _url(rule, records):
    values = {}
    for arg in rule.arguments:
        key = ARG_BY_ENDPOINT.get((rule.endpoint, arg)) or ARG_IDS.get(arg)
        assert key is not None, f"{rule.endpoint}: add the argument {arg!r} to ARG_IDS"
        values[arg] = key[1:] if key.startswith("=") else records[key]
    return rule.build(values, append_unknown=False)[1]


def _targets(app, records):
    seen = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.methods & {"POST", "PATCH"} or rule.endpoint in SKIP:
            continue
        url = _url(rule, records)
        if url not in seen:
            seen.add(url)
            yield rule.endpoint, url, "PATCH" if "PATCH" in rule.methods else "POST"


def _value(rng: random.Random):
    pick = rng.random()
    if pick < 0.7:
        return rng.choice(HOSTILE)
    if pick < 0.8:
        return [rng.choice(HOSTILE) for _ in range(rng.randint(2, 4))]  # a scalar sent many times
    if pick < 0.9:
        return "".join(chr(rng.choice([rng.randint(1, 0x2FF), rng.randint(0x4E00, 0x9FFF), rng.randint(0x1F300, 0x1FAFF)]))
                       for _ in range(rng.randint(1, 300)))
    return str(rng.randint(-(2 ** 70), 2 ** 70))


def _fingerprint(endpoint: str):
    """(audit events, rows in every table): a refusal must change neither (a refused sign-in is counted
    in login_attempts: that is the throttle)."""
    tables = [t for t in _db.metadata.sorted_tables
              if not (endpoint == "auth.login" and t.name == "login_attempts")]
    counts = _db.session.execute(select(*[select(func.count()).select_from(t).scalar_subquery() for t in tables])).one()
    return _db.session.scalar(select(func.count()).select_from(AuditEvent)), tuple(counts)


def _token(client) -> str:
    page = client.get("/account").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _form_fields(client, url) -> list[str]:
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.content_type:
        return []
    names = []
    for form in forms_of(response.get_data(as_text=True)):
        if form["method"] == "post":
            names += [n for n in form["fields"] if n != "csrf_token" and n not in names]
    return names


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_hostile_values_on_every_form_route(app, client, login_as, world, officer_x, ids, csrf_on, db):  # noqa: F811
    rng = random.Random(SEED)  # noqa: S311 - reproducible test values, not secrets
    admin = factories.user("admin", username="fuzz_admin")
    contact = factories.user("enterprise", enterprise=world.ent_x, username="fuzz_contact")
    db.session.commit()
    failures, tried = [], 0
    for endpoint, url, method in _targets(app, ids):
        who = None if endpoint in PUBLIC else contact if endpoint.startswith("portal.") else admin
        if who is not None:
            login_as(who)
        else:
            with client.session_transaction() as session:
                session.clear()
        token = _token(client) if who is not None else re.search(
            r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        fields = _form_fields(client, url.split("?")[0] if endpoint.startswith("api.") else url) + EXTRA_FIELDS
        for _round in range(ROUNDS):
            data = {name: _value(rng) for name in fields if rng.random() < 0.85}  # some fields missing
            before = _fingerprint(endpoint)
            try:
                if endpoint.startswith("api."):
                    body = rng.choice([json.dumps(data), json.dumps(list(data.values())), "\x00{", "9" * 5000,
                                       json.dumps({"uscc": world.ent_x.uscc, **data})])
                    response = client.open(url, method=method, data=body, content_type="application/json",
                                           headers={"X-CSRFToken": token})
                else:
                    response = client.post(url, data={**data, "csrf_token": token})
            except Exception as exc:  # noqa: BLE001 - the test app propagates what would be a 500: collect them all
                _db.session.rollback()
                failures.append(f"{endpoint} {url}: {exc.__class__.__name__}: {str(exc)[:300]} (data {str(data)[:300]})")
                continue
            tried += 1
            status = response.status_code
            if status >= 500:
                failures.append(f"{endpoint} {url}: {status}")
            elif 400 <= status < 500 and _fingerprint(endpoint) != before:
                failures.append(f"{endpoint} {url}: {status} but something was written")
            if endpoint == "auth.language" and who is not None:
                login_as(who)
    print(f"fuzz: {tried} posts")
    assert not failures, "\n".join(failures)
    assert tried > 400


def test_nul_bytes_are_removed_on_the_way_in(client, login_as, world, officer_x, db):  # noqa: F811
    """PostgreSQL text cannot hold U+0000: the request drops it from forms, query strings and JSON."""
    from tests.forms import post_form_of

    login_as(officer_x)
    url = f"/enterprises/{world.ent_x.id}/edit"
    form = post_form_of(client.get(url).get_data(as_text=True))
    form["address"] = "银川\x00市"
    assert client.post(url, data=form).status_code == 303
    db.session.refresh(world.ent_x)
    assert world.ent_x.address == "银川市"
    assert client.get("/enterprises?q=兴庆\x00").status_code == 200
    response = client.post("/api/v1/needs", json={"uscc": world.ent_x.uscc, "category": "finance",
                                                  "title": "贷\x00款"})
    assert response.status_code == 201
    assert response.get_json()["title"] == "贷款"


@pytest.mark.parametrize("url", [
    "/enterprises?region=99999999999999999999", "/enterprises?region=²", "/candidates?tier=high_tech&region=9" + "9" * 30,
    "/admin/regions/new?parent=99999999999999999999", "/visits/new?enterprise=99999999999999999999",
    "/exports/enterprises.xlsx?region=99999999999999999999",
])
def test_huge_or_odd_ids_in_query_strings_are_ignored(client, login_as, url):
    """Digits that overflow INTEGER, or that str.isdigit() accepts but int() may not, are no id: never a 500."""
    login_as("admin")
    assert client.get(url).status_code in (200, 302, 404)
