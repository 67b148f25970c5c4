"""Rule sets as data: validation, overrides, the result format, English, missing data, ranking, speed."""
from __future__ import annotations

import copy
import json

import pytest

from crm.ladder.engine import (
    KINDS,
    RuleSet,
    RuleSetError,
    evaluate,
    evaluate_all,
    load_rulesets,
    missing_data,
    rank_key,
    shipped_ruleset_dicts,
)
from crm.ladder.profile import parse_profile, with_changes
from crm.ladder.tiers import Tier
from tests.ladder import RULES, TIERS, crit, drop_year, run, set_year, strong


@pytest.fixture(autouse=True)
def db():
    """The engine needs no app and no database: this replaces the suite's autouse database fixture."""
    yield None


def lg_data() -> dict:
    return copy.deepcopy(RULES["little_giant"].to_dict())


# ------------------------------------------------------------------------------- shipped files

def test_shipped_rule_sets():
    assert list(RULES) == list(TIERS)
    ids = {t: (rs.id, rs.version) for t, rs in RULES.items()}
    assert ids == {"tech_sme": ("cn-national", "2022"), "high_tech": ("cn-national", "2016"),
                   "little_giant": ("regional-default", 1), "gazelle": ("regional-default", 1),
                   "demonstration": ("regional-default", 1)}
    for tier, rs in RULES.items():
        assert rs.label["zh"] and rs.label["en"]
        for c in rs.criteria:
            assert c.label["zh"] and c.label["en"] and c.source["zh"], (tier, c.id)


def test_to_dict_round_trips_and_is_json():
    for tier, data in shipped_ruleset_dicts().items():
        again = RuleSet.from_dict(json.loads(json.dumps(data, ensure_ascii=False)))
        assert again.to_dict() == data
        assert [c.id for c in again.criteria] == [c.id for c in RULES[tier].criteria]


def test_to_dict_is_a_copy():
    data = RULES["gazelle"].to_dict()
    data["criteria"].clear()
    assert RULES["gazelle"].to_dict()["criteria"]


def test_every_regional_criterion_uses_a_generic_kind():
    generic = {"flag", "age_days", "metric", "ratio", "cagr", "ip_count", "base_tier", "domain_in"}
    for tier in ("little_giant", "gazelle", "demonstration"):
        assert {c.kind for c in RULES[tier].criteria} <= generic


# ------------------------------------------------------------------------------- overrides

def test_a_changed_threshold_changes_the_verdict():
    data = lg_data()
    next(c for c in data["criteria"] if c["id"] == "lg_revenue")["value"] = 20000
    data["version"] = 2
    rules = load_rulesets({"little_giant": data})
    r = run("little_giant", strong(), rules)
    assert r["verdict"] == "not_ready" and r["ruleset"]["version"] == 2
    c = crit(r, "lg_revenue")
    assert c["required"] == 20000 and c["gap"]["amount"] == 8000
    assert run("little_giant", strong())["verdict"] == "ready"  # the shipped set is untouched


def test_a_disabled_criterion_disappears():
    profile = strong()
    profile["flags"]["clean_record"] = False
    assert run("little_giant", profile)["verdict"] == "not_ready"
    data = lg_data()
    next(c for c in data["criteria"] if c["id"] == "lg_clean_record")["enabled"] = False
    r = run("little_giant", profile, load_rulesets({"little_giant": data}))
    assert "lg_clean_record" not in [c["id"] for c in r["criteria"]]
    assert r["verdict"] == "ready"


def test_an_added_criterion_of_a_known_kind_is_evaluated():
    data = lg_data()
    data["criteria"].append({
        "id": "lg_assets", "kind": "metric", "field": "total_assets", "year": "latest", "op": ">=",
        "value": 20000, "unit": "万元", "label": {"zh": "资产总额不低于 2 亿元", "en": "Total assets ≥ 200 m CNY"},
        "source": "某市科技小巨人企业认定办法 第五条",
    })
    data["criteria"].append({
        "id": "lg_rd_staff", "kind": "ratio", "numerator": "rd_staff", "denominator": "employees", "value": 0.25,
        "label": {"zh": "研发人员占比不低于 25%", "en": "R&D staff at least 25%"},
        "gap_text": {"zh": "需再增加 {amount} 名研发人员", "en": "needs {amount} more R&D staff"},
    })
    rules = load_rulesets({"little_giant": data})
    r = run("little_giant", strong(), rules)
    assets = crit(r, "lg_assets")
    assert assets["status"] == "fail" and assets["gap"]["amount"] == 5000
    assert assets["gap"]["text"] == "2024 年资产总额需再增加 5000.0 万元"  # the kind's default text
    staff = crit(r, "lg_rd_staff")  # 60 of 300: (75 − 60) ÷ 0.75 = 20
    assert staff["status"] == "fail" and staff["gap"]["text"] == "需再增加 20 名研发人员"
    assert r["verdict"] == "not_ready"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["criteria"][0].update(kind="horoscope"), "criteria[0].kind: unknown kind 'horoscope'"),
    (lambda d: d["criteria"][2].update(value="lots"), "criteria[2].value: not a number"),
    (lambda d: d["criteria"][2].update(op="≈"), "criteria[2].op: '≈' is not one of"),
    (lambda d: d["criteria"][2].update(field="profit"), "criteria[2].field: 'profit' is not one of"),
    (lambda d: d["criteria"][2].update(colour="red"), "criteria[2].colour: unknown key"),
    (lambda d: d["criteria"][2].pop("value"), "criteria[2].value: required"),
    (lambda d: d["criteria"][2].pop("label"), "criteria[2].label: required"),
    (lambda d: d["criteria"][2].update(label={"zh": "营业收入"}), "criteria[2].label.en: required"),
    (lambda d: d["criteria"][2].update(enabled="yes"), "criteria[2].enabled: not true or false"),
    (lambda d: d["criteria"][2].update(id="LG Revenue"), "criteria[2].id: use lower-case"),
    (lambda d: d["criteria"][3].update(id="lg_revenue"), "criteria[3].id: 'lg_revenue' appears twice"),
    (lambda d: d["criteria"][1].update(any_of=["unicorn"]), "criteria[1].any_of[0]: 'unicorn' is not one of"),
    (lambda d: d["criteria"][1].update(any_of=[]), "criteria[1].any_of: must not be empty"),
    (lambda d: d["criteria"][0].update(min_days=-3), "criteria[0].min_days: not a whole number"),
    (lambda d: d["criteria"][0].pop("min_days"), "criteria[0]: give min_days, max_days or both"),
    (lambda d: d["criteria"][3].update(value=1.5, numerator="rd_staff", denominator="employees"),
     "criteria[3]: a share of a whole must be below 1"),
    (lambda d: d["criteria"][3].update(bands=[{"value": 0.03}]), "criteria[3]: give value or bands"),
    (lambda d: d["criteria"][4].update(years=5), "criteria[4].years: 5 is not"),
    (lambda d: d["criteria"][5].pop("class1_min") and d["criteria"][5].pop("class2_min"),
     "criteria[5]: give class1_min, class2_min or total_min"),
    (lambda d: d["criteria"][7].update(flag="is_nice"), "criteria[7].flag: 'is_nice' is not one of"),
    (lambda d: d["criteria"][2].update(gap_text={"zh": "差 {lots} 万元", "en": "x"}),
     "criteria[2].gap_text.zh: unknown placeholder {lots}"),
    (lambda d: d.update(tier="unicorn"), "tier: 'unicorn' is not one of"),
    (lambda d: d.pop("version"), "version: required"),
    (lambda d: d.update(version=True), "version: not a string or a whole number"),
    (lambda d: d.update(criteria="all of them"), "criteria: not a list"),
    (lambda d: d.update(extra=1), "extra: unknown key"),
])
def test_rule_set_validation(mutate, message):
    data = lg_data()
    mutate(data)
    with pytest.raises(RuleSetError) as info:
        RuleSet.from_dict(data)
    assert isinstance(info.value, ValueError)
    assert message in str(info.value)


def test_gz_growth_band_validation():
    data = copy.deepcopy(RULES["gazelle"].to_dict())
    growth = next(c for c in data["criteria"] if c["id"] == "gz_growth")
    growth["bands"] = [{"below": 10000, "value": 0.2}]
    with pytest.raises(RuleSetError, match="the last band must have no limit"):
        RuleSet.from_dict(data)
    growth["bands"] = [{"below": 10000, "value": 0.2}, {"max": 5000, "value": 0.3}, {"value": 0.1}]
    with pytest.raises(RuleSetError, match="limits must rise"):
        RuleSet.from_dict(data)


def test_score_kind_validation():
    data = copy.deepcopy(RULES["high_tech"].to_dict())
    score = next(c for c in data["criteria"] if c["id"] == "ht_innovation_score")
    score["growth_bands"][0]["points"] = [10, 9]
    with pytest.raises(RuleSetError, match=r"growth_bands\[0\].points: points must satisfy"):
        RuleSet.from_dict(data)
    score["growth_bands"][0] = {"min": 0.35, "above": 0.3, "points": 10}
    with pytest.raises(RuleSetError, match=r"growth_bands\[0\]: needs exactly one of min, above"):
        RuleSet.from_dict(data)


def test_overrides_are_checked():
    with pytest.raises(RuleSetError, match="unknown tier"):
        load_rulesets({"unicorn": lg_data()})
    with pytest.raises(RuleSetError, match="the rule set is for 'little_giant'"):
        load_rulesets({"gazelle": lg_data()})
    # a compiled RuleSet is accepted as it is
    rs = RuleSet.from_dict(lg_data())
    assert load_rulesets({"little_giant": rs})["little_giant"] is rs


def test_every_kind_is_known():
    assert set(KINDS) == {"flag", "age_days", "metric", "ratio", "cagr", "growth", "ip_count", "base_tier", "domain_in",
                          "sme_score", "ht_innovation_score"}


# ------------------------------------------------------------------------------- the result format

def test_result_has_exactly_the_documented_keys():
    data = strong()
    set_year(data, 2024, rd_expense=100)
    for r in evaluate_all(parse_profile(data), RULES):
        required = {"tier", "ruleset", "verdict", "criteria"} | ({"score"} if "score" in r else set())
        assert set(r) - {"notice"} == required
        assert set(r["ruleset"]) == {"id", "version"}
        assert r["verdict"] in {"ready", "not_ready", "incomplete"}
        for c in r["criteria"]:
            assert {"id", "status", "actual", "required", "unit", "label", "source"} <= set(c)
            assert c["status"] in {"pass", "fail", "unknown", "borderline"}
            assert ("gap" in c) == (c["status"] == "fail")
            if "gap" in c:
                assert {"amount", "unit", "text"} <= set(c["gap"])
        json.dumps(r, ensure_ascii=False)  # JSON-ready without a custom encoder
    ht = evaluate(parse_profile(data), "high_tech", RULES)
    assert ht["score"]["id"] == "ht_innovation_score"
    assert "score" not in evaluate(parse_profile(data), "gazelle", RULES)


def test_borderline_only_for_scores():
    data = strong()
    data["judgement"] = None
    data["figures"] = []
    data["flags"] = None
    data["ip"] = None
    data["certifications"] = None
    data["tech_domain"] = None
    data["established_on"] = None
    data["conversions_last_3_years"] = None
    for r in evaluate_all(parse_profile(data), RULES):
        assert r["verdict"] == "incomplete"
        for c in r["criteria"]:
            assert c["status"] in ({"unknown", "borderline"} if c["id"].endswith("score") else {"unknown"})


def test_evaluate_all_lowest_tier_first_and_accepts_tier_enum():
    p = parse_profile(strong())
    assert [r["tier"] for r in evaluate_all(p, RULES)] == list(TIERS)
    assert evaluate(p, Tier.GAZELLE, RULES)["tier"] == "gazelle"
    with pytest.raises(ValueError, match="no rule set for tier 'unicorn'"):
        evaluate(p, "unicorn", RULES)
    with pytest.raises(ValueError, match="lang must be one of zh, en"):
        evaluate(p, "gazelle", RULES, lang="fr")


def test_english_output():
    data = strong()
    set_year(data, 2024, tech_staff=20, employees=300)
    r = run("high_tech", data, lang="en")
    c = crit(r, "ht_tech_staff")
    assert c["label"] == "Tech staff at least 10% of employees"
    assert c["gap"]["text"] == "needs 12 more tech staff"  # (30 − 20) ÷ 0.9 = 11.1 → 12
    zh = crit(run("high_tech", data), "ht_tech_staff")
    assert zh["label"] == "科技人员占职工总数的比例不低于 10%" and zh["gap"]["text"] == "需再增加 12 名科技人员"
    r = run("gazelle", set_year(strong(), 2024, revenue=900, rd_expense=30), lang="en")
    assert crit(r, "gz_revenue")["gap"]["text"] == "2024 revenue needs another 100.0 (10k CNY)"
    assert r["notice"] == "regional default — check against your region's current measure"


def test_what_if_changes_the_verdict_without_touching_the_profile():
    data = strong()
    set_year(data, 2024, rd_expense=300, rd_expense_domestic=300)  # 3 years: 1300 / 32000 = 4.06 %
    p = parse_profile(data)
    before = evaluate(p, "high_tech", RULES)
    assert crit(before, "ht_rd_ratio")["status"] == "pass"  # 4.06 % ≥ 4 % (latest revenue 12000)
    worse = with_changes(p, year=2024, rd_expense=250, rd_expense_domestic=250)
    r = evaluate(worse, "high_tech", RULES)
    assert crit(r, "ht_rd_ratio")["status"] == "fail" and r["verdict"] == "not_ready"
    gap = crit(r, "ht_rd_ratio")["gap"]["amount"]
    fixed = with_changes(worse, year=2024, rd_expense=250 + gap, rd_expense_domestic=250 + gap)
    assert evaluate(fixed, "high_tech", RULES)["verdict"] == "ready"
    assert evaluate(p, "high_tech", RULES) == before


# ------------------------------------------------------------------------------- missing data

def test_missing_data_names_what_to_enter():
    data = strong()
    data["flags"]["provincial_rd_institution"] = False
    set_year(data, 2023, rd_expense=None)
    drop_year(data, 2024)
    p = parse_profile(data)
    missing = missing_data(p, "high_tech", RULES)
    assert {"year": 2023, "field": "rd_expense", "text": "缺少 2023 年研发费用"} in missing
    assert {"year": 2024, "field": "employees", "text": "缺少 2024 年职工总数"} in missing
    assert {"year": 2024, "field": "revenue", "text": "缺少 2024 年营业收入"} in missing
    years = [m["year"] for m in missing if m["year"] is not None]
    assert years == sorted(years)
    en = missing_data(p, "high_tech", RULES, lang="en")
    assert {"year": 2023, "field": "rd_expense", "text": "Missing: R&D expense for 2023"} in en
    assert len(en) == len(missing) == len({(m["year"], m["field"]) for m in missing})


def test_missing_data_only_for_undecided_criteria():
    data = strong()
    data["flags"]["resident"] = None
    data["figures"][2]["employees"] = 501  # sme_employees fails; its figures are not "missing"
    data["figures"][2]["total_cost"] = None  # the score passes without it (best of two measures)
    missing = missing_data(parse_profile(data), "tech_sme", RULES)
    assert missing == [{"year": None, "field": "flags.resident", "text": "缺少是否居民企业"}]
    assert missing_data(parse_profile(strong()), "tech_sme", RULES) == []


def test_missing_data_for_other_inputs():
    data = strong()
    data["certifications"] = None
    data["ip"] = None
    data["tech_domain"] = None
    p = parse_profile(data)
    fields = {m["field"] for m in missing_data(p, "little_giant", RULES)}
    assert fields == {"certifications", "ip"}
    fields = {m["field"] for m in missing_data(p, "high_tech", RULES)}
    assert {"ip", "tech_domain"} <= fields


# ------------------------------------------------------------------------------- ranking

def test_rank_key_orders_candidates():
    ready = strong()
    one_small_gap = set_year(strong(), 2024, revenue=1990, rd_expense=100)
    one_big_gap = set_year(strong(), 2024, revenue=500, rd_expense=100)
    two_gaps = set_year(strong(), 2024, revenue=500, rd_expense=1)
    incomplete = strong()
    incomplete["flags"]["clean_record"] = None
    results = {name: run("little_giant", d) for name, d in [
        ("two_gaps", two_gaps), ("one_big_gap", one_big_gap), ("ready", ready), ("incomplete", incomplete),
        ("one_small_gap", one_small_gap)]}
    order = sorted(results, key=lambda n: rank_key(results[n]))
    assert order == ["ready", "incomplete", "one_small_gap", "one_big_gap", "two_gaps"]
    assert rank_key(results["ready"])[:2] == (0, 0)
