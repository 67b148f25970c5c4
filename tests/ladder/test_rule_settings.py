"""Rule settings: admins change thresholds and options; every change is a version, in force at once,
named in every result; old versions stay readable and reproduce the results computed with them."""
from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.ladder import queries, services
from crm.ladder.display import ruleset_version_label
from crm.ladder.engine import RuleSet, evaluate, shipped_ruleset_dicts
from crm.ladder.models import RuleSetVersion
from crm.ladder.profile import parse_profile
from tests import factories
from tests.helpers import en, text, zh
from tests.ladder import strong

SHIPPED = shipped_ruleset_dicts()


def name(tier: str, criterion: str, param: str) -> str:
    """The settings form's field of a criterion's parameter ("lg_revenue", "value" → "c2_value")."""
    index = [c["id"] for c in SHIPPED[tier]["criteria"]].index(criterion)
    return f"c{index}_{param}"


class _Forms(HTMLParser):
    """The forms of a page as a browser would submit them (checked boxes only, textarea text)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.current: dict | None = None
        self.textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {"class": a.get("class", ""), "action": a.get("action"), "fields": []}
            self.forms.append(self.current)
        elif self.current is not None and tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.current["fields"].append((a["name"], a.get("value", "y" if kind == "checkbox" else "")))
        elif self.current is not None and tag == "textarea":
            self.textarea = [a.get("name"), ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self.textarea is not None:
            value = self.textarea[1]
            self.current["fields"].append((self.textarea[0], value[2:] if value.startswith("\r\n") else
                                           value[1:] if value.startswith("\n") else value))
            self.textarea = None
        elif tag == "form":
            self.current = None


def page_form(response, marker: str) -> dict:
    """The fields of the page's form whose class or fields contain `marker`, as a dict."""
    parser = _Forms()
    parser.feed(response.get_data(as_text=True))
    for form in parser.forms:
        names = [n for n, _ in form["fields"]]
        if marker in form["class"] or marker in names:
            return dict(form["fields"])
    raise AssertionError(f"no form with {marker!r}")


@pytest.fixture
def admin(login_as):
    return login_as(factories.user("admin", name="王管理", locale="en"))


def settings(client, tier: str = "little_giant") -> dict:
    response = client.get(f"/admin/rules/{tier}/edit")
    assert response.status_code == 200
    return page_form(response, "rules-form")


def json_settings(client, tier: str = "little_giant") -> dict:
    return page_form(client.get(f"/admin/rules/{tier}/edit"), "json-ruleset")


def versions(db, tier: str = "little_giant") -> list[RuleSetVersion]:
    return list(db.session.scalars(select(RuleSetVersion).where(RuleSetVersion.tier == tier)
                                   .order_by(RuleSetVersion.version)))


def audit_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def criterion(data: dict, cid: str) -> dict:
    return next(c for c in data["criteria"] if c["id"] == cid)


def lg_profile(revenue=2500) -> dict:
    """Ready for little_giant with the shipped rules: latest revenue 2500 (threshold 2000)."""
    data = strong()
    for row, value in zip(data["figures"], (2000, 2200, revenue), strict=True):
        row["revenue"] = row["total_income"] = value
    return data


def lg_result(lang="zh") -> dict:
    return evaluate(parse_profile(lg_profile()), "little_giant", queries.active_rulesets(), lang=lang)


def status_of(result: dict, cid: str) -> str | None:
    return next((c["status"] for c in result["criteria"] if c["id"] == cid), None)


# ------------------------------------------------------------------------------ the list page

def test_list_page_shows_every_tier_with_the_rule_set_in_force(client, admin, db):
    page = text(client.get("/admin/rules"))
    for label in ("Tech-based SME", "Tech little giant", "National high-tech enterprise", "Gazelle enterprise",
                  "Innovation demonstration enterprise"):
        assert en(label) in page
    assert "cn-national · 2022" in page and "cn-national · 2016" in page
    assert page.count("regional-default · 1") == 3
    assert page.count("regional default — check against your region's current measure") == 3
    assert en("Never: the rules shipped with the system are in force.") in page
    assert "Miaopu regional default (modelled on common provincial measures for tech little giants)" in page
    assert en("A valid high-tech certificate qualifies directly (the 2017 text)") in page  # tech_sme's option


def test_list_page_names_the_local_version_its_author_and_time(client, admin, db):
    data = copy.deepcopy(SHIPPED["gazelle"])
    criterion(data, "gz_revenue")["value"] = 1500
    row = services.save_ruleset_version("gazelle", data, "按2025年办法调整", actor=admin)
    db.session.commit()
    page = text(client.get("/admin/rules"))
    assert en("%(id)s · local version %(n)s", id="regional-default", n=1) in page
    assert "王管理" in page and "按2025年办法调整" in page
    shanghai = (row.created_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")  # shown in Asia/Shanghai
    assert shanghai in page
    assert page.count("regional-default · 1") == 2


def test_nav_links_the_rule_sets_for_admins_only(client, login_as, admin, world):
    assert 'href="/admin/rules"' in client.get("/admin/rules").get_data(as_text=True)
    login_as("manager", region=world.city)
    assert 'href="/admin/rules"' not in client.get("/enterprises").get_data(as_text=True)


# ------------------------------------------------------------------------------ editing thresholds

def test_raising_lg_revenue_creates_version_1_with_its_diff_in_the_audit(client, admin, db):
    form = settings(client)
    assert form[name("little_giant", "lg_revenue", "value")] == "2000"
    assert form["based_on"] == "0"
    form[name("little_giant", "lg_revenue", "value")] = "3000"
    form["note"] = "按本地区2025年认定办法，营业收入门槛提高到3000万元"
    response = client.post("/admin/rules/little_giant/edit", data=form)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/rules/little_giant/versions/1")

    [row] = versions(db)
    assert (row.version, row.created_by_id, row.note) == (1, admin.id, form["note"])
    assert row.data["id"] == "regional-default+local" and row.data["version"] == 1
    assert criterion(row.data, "lg_revenue")["value"] == 3000
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "ruleset_versions")).one()
    assert (event.action, event.actor_id, event.entity_id) == ("create", admin.id, row.id)
    assert event.changes == {"lg_revenue.value": ["2000", "3000"]}
    assert abs(event.at - row.created_at) < timedelta(seconds=5)

    page = text(client.get(response.headers["Location"]))
    assert en("Saved as local version %(n)s of the rule set; it is in force from now on.", n=1) in page
    # the name still quotes 2000: the admin is asked to check it
    assert "lg_revenue" in page and "but not their names" in page


def test_a_readiness_result_flips_and_names_the_new_version(client, admin, db):
    before = lg_result()
    assert status_of(before, "lg_revenue") == "pass" and before["verdict"] == "ready"
    assert before["ruleset"] == {"id": "regional-default", "version": 1}

    form = settings(client)
    form[name("little_giant", "lg_revenue", "value")] = "3000"
    form["note"] = "raise"
    assert client.post("/admin/rules/little_giant/edit", data=form).status_code == 303

    after = lg_result()  # the cache of the rule sets in force notices the new version at once
    assert status_of(after, "lg_revenue") == "fail" and after["verdict"] == "not_ready"
    assert after["ruleset"] == {"id": "regional-default+local", "version": 1}
    gap = next(c for c in after["criteria"] if c["id"] == "lg_revenue")["gap"]
    assert gap["amount"] == 500
    assert ruleset_version_label(after["ruleset"]) == zh("%(id)s · local version %(n)s", id="regional-default", n=1)

    # the API answers with the same version
    response = client.post("/api/v1/readiness/check?tier=little_giant", json=lg_profile())
    assert response.get_json()["ruleset"] == {"id": "regional-default+local", "version": 1}
    assert status_of(response.get_json(), "lg_revenue") == "fail"

    # both results can be reproduced from the data their version names, after yet another version
    data = copy.deepcopy(versions(db)[0].data)
    criterion(data, "lg_revenue")["value"] = 2400
    services.save_ruleset_version("little_giant", data, "lower again", actor=admin)
    db.session.commit()
    assert lg_result()["ruleset"] == {"id": "regional-default+local", "version": 2}
    assert status_of(lg_result(), "lg_revenue") == "pass"
    profile = parse_profile(lg_profile())
    for old in (before, after):
        ruleset = queries.ruleset_of_result(old)
        assert ruleset is not None
        assert ruleset.evaluate(profile, "zh", queries.active_rulesets()) == old


def test_disabling_a_criterion_removes_it_from_results(client, admin, db):
    form = settings(client)
    del form[name("little_giant", "lg_revenue", "enabled")]  # the switch turned off: the browser sends nothing
    form["note"] = "本地区不设营业收入门槛"
    assert client.post("/admin/rules/little_giant/edit", data=form).status_code == 303
    assert criterion(versions(db)[0].data, "lg_revenue")["enabled"] is False
    result = evaluate(parse_profile(lg_profile(revenue=100)), "little_giant", queries.active_rulesets())
    assert "lg_revenue" not in [c["id"] for c in result["criteria"]]
    assert [e.changes for e in db.session.scalars(select(AuditEvent))] == [{"lg_revenue.enabled": [True, False]}]
    # the page shows it off, and switching it back on is a change too
    form = settings(client)
    assert name("little_giant", "lg_revenue", "enabled") not in form
    form[name("little_giant", "lg_revenue", "enabled")] = "y"
    form["note"] = "恢复"
    assert client.post("/admin/rules/little_giant/edit", data=form).status_code == 303
    assert status_of(lg_result(), "lg_revenue") == "pass"


def test_the_demonstration_option_switches_on(client, admin, db):
    form = settings(client, "demonstration")
    field = name("demonstration", "dm_led_standard", "enabled")
    assert field not in form  # off by default
    form[field] = "y"
    form["note"] = "本地区要求主导制定标准"
    assert client.post("/admin/rules/demonstration/edit", data=form).status_code == 303
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.changes == {"dm_led_standard.enabled": [False, True]}
    result = evaluate(parse_profile(strong()), "demonstration", queries.active_rulesets())
    assert status_of(result, "dm_led_standard") == "fail"


@pytest.mark.parametrize("typed, stored", [("3", "0.03"), ("12.5", "0.125"), ("3%", "0.03"), ("0.5", "0.005")])
def test_percentages_are_typed_as_percent_and_stored_as_fractions(client, admin, db, typed, stored):
    form = settings(client)
    assert form[name("little_giant", "lg_tech_staff", "value")] == "10"
    form[name("little_giant", "lg_tech_staff", "value")] = typed
    form["note"] = "科技人员比例"
    assert client.post("/admin/rules/little_giant/edit", data=form).status_code == 303
    row = versions(db)[0]
    value = criterion(row.data, "lg_tech_staff")["value"]
    assert Decimal(str(value)) == Decimal(stored)
    assert f'"value": {stored}' in json.dumps(criterion(row.data, "lg_tech_staff"))
    assert RuleSet.from_dict(row.data).criteria[6].value == Decimal(stored)  # exact, for the engine
    assert settings(client)[name("little_giant", "lg_tech_staff", "value")] == typed.rstrip("%")


def test_band_values_have_an_input_each(client, admin, db):
    form = settings(client, "gazelle")
    below, low, high = (name("gazelle", "gz_growth", p) for p in ("bands_0_below", "bands_0_value", "bands_1_value"))
    assert (form[below], form[low], form[high]) == ("10000", "20", "10")
    form[low], form[high] = "25", "12"
    form["note"] = "增长率门槛"
    assert client.post("/admin/rules/gazelle/edit", data=form).status_code == 303
    data = versions(db, "gazelle")[0].data
    assert [Decimal(str(b["value"])) for b in criterion(data, "gz_growth")["bands"]] == [Decimal("0.25"),
                                                                                          Decimal("0.12")]
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.changes == {"gz_growth.bands[0].value": ["0.2", "0.25"], "gz_growth.bands[1].value": ["0.1", "0.12"]}


# ------------------------------------------------------------------------------ refusals

@pytest.mark.parametrize("value, message", [
    ("-5", "Must not be negative."),
    ("abc", "Enter a number, e.g. 1234.5."),
    ("", "This field is required."),
    ("3.123", "At most two decimal places (amounts are in 10k CNY)."),
])
def test_invalid_numbers_are_refused_next_to_the_field(client, admin, db, value, message):
    form = settings(client)
    form[name("little_giant", "lg_revenue", "value")] = value
    form["note"] = "x"
    response = client.post("/admin/rules/little_giant/edit", data=form)
    assert response.status_code == 422
    page = text(response)
    if message.startswith("At most two"):
        message = en("At most %(n)d decimal place(s).", n=2)
    assert en(message) in page
    assert versions(db) == [] and audit_count(db) == 0


def test_whole_numbers_stay_whole(client, admin, db):
    form = settings(client)
    form[name("little_giant", "lg_registered", "min_days")] = "730.5"
    form["note"] = "x"
    response = client.post("/admin/rules/little_giant/edit", data=form)
    assert response.status_code == 422 and en("Enter a whole number, e.g. 730.") in text(response)
    assert versions(db) == []


def test_a_note_is_required(client, admin, db):
    form = settings(client)
    form[name("little_giant", "lg_revenue", "value")] = "3000"
    form["note"] = "   "
    response = client.post("/admin/rules/little_giant/edit", data=form)
    assert response.status_code == 422 and en("This field is required.") in text(response)
    assert versions(db) == [] and audit_count(db) == 0


def test_a_save_that_changes_nothing_is_refused(client, admin, db):
    form = settings(client)
    form["note"] = "nothing"
    response = client.post("/admin/rules/little_giant/edit", data=form)
    assert response.status_code == 422
    assert en("Nothing changed: this is the rule set already in force.") in text(response)
    assert versions(db) == []


def test_a_share_of_a_whole_must_stay_below_100_percent(client, admin, db):
    form = settings(client)
    form[name("little_giant", "lg_tech_staff", "value")] = "100"
    form["note"] = "x"
    response = client.post("/admin/rules/little_giant/edit", data=form)
    assert response.status_code == 422
    page = text(response)
    assert "lg_tech_staff" in page and "below 100%" in page and "criteria[6]" in page
    assert versions(db) == []


def test_an_age_window_must_not_close_before_it_opens(client, admin, db):
    form = settings(client, "gazelle")
    form[name("gazelle", "gz_age", "max_days")] = "1000"
    form["note"] = "x"
    response = client.post("/admin/rules/gazelle/edit", data=form)
    assert response.status_code == 422
    assert "gz_age" in text(response) and "max_days" in text(response)


# ------------------------------------------------------------------------------ the JSON section

def post_json(client, data, note="JSON", tier="little_giant"):
    """Post the JSON section (national tiers do not show it: post what a hand-made form would)."""
    form = json_settings(client, tier) if tier in ("little_giant", "gazelle", "demonstration") else {
        "json-based_on": str(queries.current_ruleset_version(tier))}
    form["json-ruleset"] = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    form["json-note"] = note
    return client.post(f"/admin/rules/{tier}/edit", data=form)


def test_json_adds_a_criterion_of_a_known_kind(client, admin, db):
    data = json.loads(json_settings(client)["json-ruleset"])
    assert data == SHIPPED["little_giant"]
    data["criteria"].append({"id": "lg_employees", "kind": "metric", "field": "employees", "op": ">=", "value": 50,
                             "label": {"zh": "职工总数不少于 50 人", "en": "At least 50 employees"},
                             "source": {"zh": "本地区办法第五条", "en": "local measure, art. 5"}})
    response = post_json(client, data, "增加职工人数条件")
    assert response.status_code == 303
    row = versions(db)[0]
    assert criterion(row.data, "lg_employees")["value"] == 50
    assert status_of(lg_result(), "lg_employees") == "pass"
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.changes["lg_employees.kind"] == [None, "metric"]
    assert event.changes["lg_employees.value"] == [None, "50"]


@pytest.mark.parametrize("change, words", [
    (lambda d: d["criteria"].append({"id": "lg_x", "kind": "magic", "label": "x"}),
     ["criterion 9 (lg_x)", "unknown kind 'magic'", "metric", "[criteria[8].kind]"]),
    (lambda d: d["criteria"][2].update(treshold=5),
     ["criterion 3 (lg_revenue)", "treshold", "not a known setting (check the spelling)"]),
    (lambda d: d["criteria"][3].update(value=-0.03),
     ["criterion 4 (lg_rd_ratio)", "value", "must not be negative"]),
    (lambda d: d["criteria"][3].update(value="三"), ["criterion 4 (lg_rd_ratio)", "must be a number"]),
    (lambda d: d["criteria"][0].pop("label"), ["criterion 1 (lg_registered)", "label", "required, but missing"]),
    (lambda d: d.update(tier="gazelle"), ["this page edits little_giant", "gazelle"]),
])
def test_json_errors_are_shown_in_plain_words_with_the_path(client, admin, db, change, words):
    data = copy.deepcopy(SHIPPED["little_giant"])
    change(data)
    response = post_json(client, data)
    assert response.status_code == 422
    page = text(response)
    for word in words:
        assert word in page
    assert "<details class=\"card mt-3 rules-advanced\" id=\"json\" open" in response.get_data(as_text=True)
    assert versions(db) == [] and audit_count(db) == 0


@pytest.mark.parametrize("body, words", [
    ('{"id": "x",', ["not valid JSON", "line 1, column 12"]),
    ("[1, 2]", ["one JSON object"]),
    ('{"id": "a", "id": "b"}', ["The key id appears twice"]),
    ('{"v": 0.1234567890123456789}', ["too many digits"]),
])
def test_json_that_cannot_be_read_is_refused(client, admin, db, body, words):
    response = post_json(client, body)
    assert response.status_code == 422
    for word in words:
        assert word in text(response)
    assert versions(db) == []


def test_json_needs_a_note_too(client, admin, db):
    data = copy.deepcopy(SHIPPED["little_giant"])
    criterion(data, "lg_revenue")["value"] = 2500
    response = post_json(client, data, note="")
    assert response.status_code == 422 and versions(db) == []


# ------------------------------------------------------------------------------ national tiers

def test_national_tiers_offer_their_options_only(client, admin, db):
    page = text(client.get("/admin/rules/tech_sme/edit"))
    assert en("National rules: only the options can be changed.") in page
    form = settings(client, "tech_sme")
    assert set(form) == {"based_on", "note", name("tech_sme", "sme_score", "high_tech_certificate_qualifies")} - {
        name("tech_sme", "sme_score", "high_tech_certificate_qualifies")}  # the option is off: not sent
    assert "json-ruleset" not in client.get("/admin/rules/tech_sme/edit").get_data(as_text=True)
    high_tech = text(client.get("/admin/rules/high_tech/edit"))
    assert en("This rule set has no options to change.") in high_tech


def test_the_tech_sme_option_makes_a_version_and_changes_results(client, admin, db):
    profile = strong()
    profile["figures"][-1].update(tech_staff=20)  # 20 / 300 < 10 %: no tech-staff points, the score fails
    profile["flags"]["provincial_rd_institution"] = False  # and no other direct qualification
    before = evaluate(parse_profile(profile), "tech_sme", queries.active_rulesets())
    assert status_of(before, "sme_score") == "fail"
    form = settings(client, "tech_sme")
    form[name("tech_sme", "sme_score", "high_tech_certificate_qualifies")] = "y"
    form["note"] = "按2017年文本：有效高企证书可直接认定"
    assert client.post("/admin/rules/tech_sme/edit", data=form).status_code == 303
    row = versions(db, "tech_sme")[0]
    assert row.data["id"] == "cn-national+local"
    assert db.session.scalars(select(AuditEvent)).one().changes == {
        "sme_score.high_tech_certificate_qualifies": [False, True]}
    after = evaluate(parse_profile(profile), "tech_sme", queries.active_rulesets())
    assert status_of(after, "sme_score") == "pass"
    assert after["ruleset"] == {"id": "cn-national+local", "version": 1}


def test_national_thresholds_cannot_be_changed(client, admin, db):
    form = settings(client, "tech_sme")
    form[name("tech_sme", "sme_employees", "value")] = "600"  # not on the page: ignored, so nothing changes
    form["note"] = "x"
    response = client.post("/admin/rules/tech_sme/edit", data=form)
    assert response.status_code == 422 and versions(db, "tech_sme") == []
    # posted as JSON, or by a service call, it is refused by name
    data = copy.deepcopy(SHIPPED["high_tech"])
    criterion(data, "ht_tech_staff")["value"] = 0.08
    response = post_json(client, data, tier="high_tech")
    assert response.status_code == 422
    assert "only its options can be changed here" in text(response) and "ht_tech_staff.value" in text(response)
    data = copy.deepcopy(SHIPPED["tech_sme"])
    criterion(data, "sme_resident")["enabled"] = False
    with pytest.raises(ValidationFailed):
        services.save_ruleset_version("tech_sme", data, "x", actor=admin)
    assert versions(db, "high_tech") == versions(db, "tech_sme") == []


# ------------------------------------------------------------------------------ restore, history, staleness

def raise_lg_revenue(admin, db, value=3000, note="raise"):
    data = copy.deepcopy(queries.ruleset_in_force("little_giant")[1])
    criterion(data, "lg_revenue")["value"] = value
    row = services.save_ruleset_version("little_giant", data, note, actor=admin)
    db.session.commit()
    return row


def test_restore_the_shipped_defaults(client, admin, db):
    page = client.get("/admin/rules/little_giant/edit").get_data(as_text=True)
    assert "/admin/rules/little_giant/restore" not in page  # nothing to restore yet
    raise_lg_revenue(admin, db)
    page = client.get("/admin/rules/little_giant/edit").get_data(as_text=True)
    assert 'action="/admin/rules/little_giant/restore"' in page and "data-confirm=" in page
    response = client.post("/admin/rules/little_giant/restore")
    assert response.status_code == 303 and response.headers["Location"].endswith("/versions/2")
    row = versions(db)[-1]
    assert row.version == 2
    assert {**row.data, "id": "regional-default", "version": 1} == SHIPPED["little_giant"]
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "restore" and event.changes == {"lg_revenue.value": ["3000", "2000"]}
    assert status_of(lg_result(), "lg_revenue") == "pass"
    assert lg_result()["ruleset"] == {"id": "regional-default+local", "version": 2}
    # again: nothing to do, nothing saved
    response = client.post("/admin/rules/little_giant/restore")
    assert response.status_code == 303 and len(versions(db)) == 2
    assert en("The shipped defaults are already in force; nothing was saved.") in text(client.get("/admin/rules"))


def test_old_versions_stay_readable_with_their_diff(client, admin, db):
    raise_lg_revenue(admin, db, 3000, "提高到3000")
    raise_lg_revenue(admin, db, 2500, "改为2500")
    one = text(client.get("/admin/rules/little_giant/versions/1"))
    assert "提高到3000" in one and "王管理" in one and en("Not in force") in one
    assert "regional-default · " in one and "lg_revenue" in one
    assert "3000 " in one  # the threshold of that version, with its unit
    # the diff against the shipped version: 2000 → 3000
    diff = one.split(en("What changed from the version before"))[1].split(en("Criteria and thresholds of this version"))[0]
    assert "2000" in diff and "3000" in diff and "value" in diff
    two = text(client.get("/admin/rules/little_giant/versions/2"))
    diff = two.split(en("What changed from the version before"))[1].split(en("Criteria and thresholds of this version"))[0]
    assert "3000" in diff and "2500" in diff and en("In force") in two
    shipped = text(client.get("/admin/rules/little_giant/versions/0"))
    assert en("Shipped with the system: the rules of this release, used wherever no local version is in force.") in shipped
    assert "2000 " in shipped and "regional-default · 1" in shipped
    assert client.get("/admin/rules/little_giant/versions/3").status_code == 404
    assert client.get("/admin/rules/nonsense/versions/0").status_code == 404
    assert client.get("/admin/rules/nonsense/edit").status_code == 404


def test_percent_changes_read_as_percentages_on_the_version_page(client, admin, db):
    data = copy.deepcopy(SHIPPED["little_giant"])
    criterion(data, "lg_rd_ratio")["value"] = 0.04
    services.save_ruleset_version("little_giant", data, "研发投入4%", actor=admin)
    db.session.commit()
    page = text(client.get("/admin/rules/little_giant/versions/1"))
    diff = page.split(en("What changed from the version before"))[1]
    assert "3%" in diff and "4%" in diff


def test_a_stale_form_is_refused_and_shows_the_newer_version(client, admin, db, login_as):
    form = settings(client)  # based on the shipped rules (version 0)
    other = factories.user("admin", name="李另一位")
    db.session.commit()
    raise_lg_revenue(other, db, 3000, "另一位管理员的修改")
    form[name("little_giant", "lg_rd_ratio", "value")] = "4"
    form["note"] = "我的修改"
    response = client.post("/admin/rules/little_giant/edit", data=form)
    assert response.status_code == 409
    page = text(response)
    assert "Someone else saved local version 1" in page and "李另一位" in page
    assert len(versions(db)) == 1
    again = page_form(response, "rules-form")
    assert again["based_on"] == "1" and again[name("little_giant", "lg_revenue", "value")] == "3000"
    assert again[name("little_giant", "lg_rd_ratio", "value")] == "3" and again["note"] == "我的修改"
    # made again on the newer version, it is saved as version 2
    again[name("little_giant", "lg_rd_ratio", "value")] = "4"
    assert client.post("/admin/rules/little_giant/edit", data=again).status_code == 303
    assert [v.version for v in versions(db)] == [1, 2]
    assert criterion(versions(db)[1].data, "lg_revenue")["value"] == 3000


def test_a_stale_json_form_is_refused_too(client, admin, db):
    form = json_settings(client)
    raise_lg_revenue(admin, db)
    data = json.loads(form["json-ruleset"])
    criterion(data, "lg_rd_ratio")["value"] = 0.05
    form["json-ruleset"], form["json-note"] = json.dumps(data), "x"
    response = client.post("/admin/rules/little_giant/edit", data=form)
    assert response.status_code == 409 and len(versions(db)) == 1
    assert '"value": 3000' in text(response)


def test_the_service_refuses_a_stale_base_too(admin, db):
    raise_lg_revenue(admin, db)
    data = copy.deepcopy(SHIPPED["little_giant"])
    criterion(data, "lg_revenue")["value"] = 4000
    with pytest.raises(ValidationFailed):
        services.save_ruleset_version("little_giant", data, "x", actor=admin, based_on=0)
    db.session.rollback()
    assert len(versions(db)) == 1


# ------------------------------------------------------------------------------ pieces

def test_ruleset_diff():
    old = copy.deepcopy(SHIPPED["little_giant"])
    new = copy.deepcopy(old)
    new["id"], new["version"] = "regional-default+local", 4
    assert services.ruleset_diff(old, new) == {}
    criterion(new, "lg_clean_record")["enabled"] = True  # the default, written out
    assert services.ruleset_diff(old, new) == {}
    criterion(new, "lg_growth")["min"] = 0.12
    new["criteria"].pop(0)
    new["notice"]["en"] = "check it"
    diff = services.ruleset_diff(old, new)
    assert diff["lg_growth.min"] == ["0.1", "0.12"]
    assert diff["notice.en"] == ["regional default — check against your region's current measure", "check it"]
    assert diff["lg_registered.min_days"] == ["730", None]


def test_version_labels(app):
    with app.test_request_context():
        assert ruleset_version_label({"id": "cn-national", "version": "2022"}) == "cn-national · 2022"
        assert ruleset_version_label({"id": "regional-default+local", "version": 3}) == zh(
            "%(id)s · local version %(n)s", id="regional-default", n=3)


def test_ruleset_of_result_knows_shipped_and_local_versions_only(admin, db):
    assert queries.ruleset_of_result({"tier": "gazelle", "ruleset": {"id": "regional-default", "version": 1}})
    assert queries.ruleset_of_result({"tier": "gazelle", "ruleset": {"id": "regional-default", "version": 0}}) is None
    assert queries.ruleset_of_result({"tier": "gazelle",
                                      "ruleset": {"id": "regional-default+local", "version": 1}}) is None
