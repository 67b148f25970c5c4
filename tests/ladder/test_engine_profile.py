"""The readiness profile: parsing exactly per readiness-profile.md, the inverse, the what-if helper."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from crm.ladder.profile import (
    CLASS_I_KINDS,
    IP_KINDS,
    JUDGEMENT_MAX,
    TECH_DOMAINS,
    Figures,
    ProfileError,
    parse_profile,
    profile_to_dict,
    with_changes,
)
from tests.ladder import strong


@pytest.fixture(autouse=True)
def db():
    """The engine needs no app and no database: this replaces the suite's autouse database fixture."""
    yield None


def error_of(data) -> str:
    with pytest.raises(ProfileError) as info:
        parse_profile(data)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_the_documented_example_parses():
    p = parse_profile(strong())
    assert p.uscc == "91640100MA76ABCD24"
    assert p.established_on == date(2018, 3, 12)
    assert p.assessment_date == date(2025, 6, 30)
    assert p.latest_year == 2024
    assert [f.year for f in p.figures] == [2022, 2023, 2024]
    assert p.figures_for(2024).revenue == Decimal("12000")
    assert p.ip[1].kind == "utility_model" and p.ip[1].used_in_earlier_application == 2
    assert p.flags.provincial_rd_institution is True
    assert p.judgement.management == Decimal(16)
    assert p.certifications[1].tier == "high_tech"


def test_numbers_are_exact_decimals_whatever_json_gave():
    data = strong()
    data["figures"][0]["revenue"] = Decimal("3200.10")  # json.load(parse_float=Decimal)
    data["figures"][1]["revenue"] = 0.1  # a float goes through its text, not its binary value
    data["figures"][2]["revenue"] = "4700.05"
    p = parse_profile(data)
    assert p.figures[0].revenue == Decimal("3200.10")
    assert p.figures[1].revenue == Decimal("0.1")
    assert p.figures[2].revenue == Decimal("4700.05")
    assert all(isinstance(f.revenue, Decimal) for f in p.figures)


def test_json_text_with_parse_float_decimal():
    text = json.dumps({"assessment_date": "2025-06-30", "figures": [{"year": 2024, "revenue": 1234.56}]})
    p = parse_profile(json.loads(text, parse_float=Decimal))
    assert p.figures[0].revenue == Decimal("1234.56")


def test_null_and_absent_are_none():
    p = parse_profile({"assessment_date": "2025-06-30", "figures": [{"year": 2024, "revenue": None}],
                       "flags": {"resident": None}})
    assert p.figures[0].revenue is None and p.figures[0].employees is None
    assert p.flags.resident is None and p.flags.clean_record is None
    assert p.ip is None and p.certifications is None and p.established_on is None and p.tech_domain is None
    assert p.conversions_last_3_years is None and p.judgement.management is None


def test_empty_lists_differ_from_absent_lists():
    p = parse_profile({"assessment_date": "2025-06-30", "ip": [], "certifications": []})
    assert p.ip == () and p.certifications == ()


def test_assessment_date_defaults_to_today():
    from crm.core.clock import today

    assert parse_profile({}).assessment_date == today()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(colour="red"), "colour: unknown key"),
    (lambda d: d["figures"][1].update(profit=1), "figures[1].profit: unknown key"),
    (lambda d: d["ip"][0].update(valid=True), "ip[0].valid: unknown key"),
    (lambda d: d["flags"].update(is_nice=True), "flags.is_nice: unknown key"),
    (lambda d: d["judgement"].update(vibes=3), "judgement.vibes: unknown key"),
    (lambda d: d["certifications"][0].update(status="active"), "certifications[0].status: unknown key"),
    (lambda d: d["figures"][1].update(revenue="lots"), "figures[1].revenue: not a number"),
    (lambda d: d["figures"][1].update(revenue=True), "figures[1].revenue: not a number"),
    (lambda d: d["figures"][1].update(revenue="NaN"), "figures[1].revenue: not a finite number"),
    (lambda d: d["figures"][1].update(revenue=-1), "figures[1].revenue: must not be negative"),
    (lambda d: d["figures"][1].update(year=2022), "figures[1].year: 2022 appears twice"),
    (lambda d: d["figures"][1].pop("year"), "figures[1].year: required"),
    (lambda d: d["figures"][1].update(year=2023.5), "figures[1].year: not a whole number"),
    (lambda d: d.update(figures={"year": 2024}), "figures: not a list"),
    (lambda d: d.update(uscc="91640100MA76ABCD25"), "uscc: Check digit is wrong"),
    (lambda d: d.update(uscc="91640100MA76ABCD2"), "uscc: A unified social credit code has 18 characters"),
    (lambda d: d.update(uscc=916401), "uscc: not a string"),
    (lambda d: d.update(tech_domain="quantum"), "tech_domain: 'quantum' is not one of"),
    (lambda d: d["ip"][0].update(kind="trademark"), "ip[0].kind: 'trademark' is not one of"),
    (lambda d: d["ip"][0].pop("kind"), "ip[0].kind: required"),
    (lambda d: d["ip"][1].update(used_in_earlier_application=6), "ip[1].used_in_earlier_application: greater than"),
    (lambda d: d["ip"][0].update(count=1.5), "ip[0].count: not a whole number"),
    (lambda d: d.update(established_on="2018/03/12"), "established_on: not a date"),
    (lambda d: d.update(established_on="2018-02-30"), "established_on: not a date"),
    (lambda d: d.update(assessment_date="20250630"), "assessment_date: not a date"),
    (lambda d: d.update(established_on="2026-01-01"), "established_on: after assessment_date"),
    (lambda d: d["certifications"][0].update(issued_on="yesterday"), "certifications[0].issued_on: not a date"),
    (lambda d: d["certifications"][0].update(tier="unicorn"), "certifications[0].tier: 'unicorn' is not one of"),
    (lambda d: d["certifications"][0].update(expires_on="2020-01-01"), "certifications[0].expires_on: before"),
    (lambda d: d["flags"].update(resident="yes"), "flags.resident: not true, false or null"),
    (lambda d: d["judgement"].update(management=21), "judgement.management: at most 20"),
    (lambda d: d["judgement"].update(ip_advancement=-1), "judgement.ip_advancement: must not be negative"),
    (lambda d: d.update(conversions_last_3_years="many"), "conversions_last_3_years: not a number"),
    (lambda d: d.update(name=5), "name: not a string"),
])
def test_validation_names_the_key_path(mutate, message):
    data = strong()
    mutate(data)
    assert message in error_of(data)


def test_not_an_object():
    assert error_of([1, 2]) == "profile: not an object"
    assert "figures[0]: not an object" in error_of({"figures": [3]})


def test_every_problem_is_reported_at_once():
    data = strong()
    data["colour"] = "red"
    data["figures"][0]["revenue"] = "x"
    with pytest.raises(ProfileError) as info:
        parse_profile(data)
    assert info.value.errors == ["colour: unknown key", "figures[0].revenue: not a number"]


def test_uscc_is_normalised():
    data = strong()
    data["uscc"] = " 91640100ma76abcd24 "
    assert parse_profile(data).uscc == "91640100MA76ABCD24"
    data["uscc"] = None
    assert parse_profile(data).uscc is None


def test_net_assets_may_be_negative():
    data = strong()
    data["figures"][0]["net_assets"] = -120.5
    assert parse_profile(data).figures[0].net_assets == Decimal("-120.5")


def test_code_lists_match_the_registry_models():
    from crm.enterprises.models import AMOUNT_FIELDS, HEADCOUNT_FIELDS, IPKind, TechDomain
    from crm.enterprises.models import CLASS_I_KINDS as MODEL_CLASS_I
    from crm.ladder.models import FLAG_FIELDS as MODEL_FLAGS
    from crm.ladder.models import JUDGEMENT_MAX as MODEL_JUDGEMENT_MAX
    from crm.ladder.profile import FIGURE_FIELDS, FLAG_FIELDS, PEOPLE_FIELDS

    assert set(FIGURE_FIELDS) == {*AMOUNT_FIELDS, *HEADCOUNT_FIELDS} and PEOPLE_FIELDS == set(HEADCOUNT_FIELDS)
    assert set(IP_KINDS) == {k.value for k in IPKind}
    assert CLASS_I_KINDS == {k.value for k in MODEL_CLASS_I}
    assert set(TECH_DOMAINS) == {d.value for d in TechDomain}
    assert FLAG_FIELDS == MODEL_FLAGS
    assert {k: int(v) for k, v in JUDGEMENT_MAX.items()} == MODEL_JUDGEMENT_MAX


def test_profile_to_dict_is_the_inverse_and_json_ready():
    p = parse_profile(strong())
    data = profile_to_dict(p)
    text = json.dumps(data, ensure_ascii=False)
    assert parse_profile(json.loads(text, parse_float=Decimal)) == p
    assert parse_profile(json.loads(text)) == p  # floats read back through their text
    assert data["figures"][2]["revenue"] == 12000 and data["assessment_date"] == "2025-06-30"


def test_profile_to_dict_keeps_fractions_exact():
    data = strong()
    data["figures"][2]["rd_expense"] = "600.35"
    again = parse_profile(json.loads(json.dumps(profile_to_dict(parse_profile(data)))))
    assert again.figures_for(2024).rd_expense == Decimal("600.35")


def test_with_changes_is_a_new_profile():
    p = parse_profile(strong())
    q = with_changes(p, year=2024, rd_expense=680, tech_staff="93")
    assert q.figures_for(2024).rd_expense == Decimal(680) and q.figures_for(2024).tech_staff == Decimal(93)
    assert q.figures_for(2024).revenue == Decimal(12000)
    assert p.figures_for(2024).rd_expense == Decimal(600)  # unchanged
    assert with_changes(p, rd_expense=1).figures_for(2024).rd_expense == 1  # latest year by default
    added = with_changes(p, year=2021, revenue=10)
    assert [f.year for f in added.figures] == [2021, 2022, 2023, 2024]
    assert added.figures[0] == Figures(year=2021, revenue=Decimal(10))
    assert with_changes(p, year=2024, revenue=None).figures_for(2024).revenue is None


def test_with_changes_validates():
    p = parse_profile(strong())
    with pytest.raises(ProfileError, match="profit: unknown key"):
        with_changes(p, year=2024, profit=1)
    with pytest.raises(ProfileError, match="revenue: not a number"):
        with_changes(p, year=2024, revenue="lots")


def test_judgement_maxima():
    assert JUDGEMENT_MAX == {"ip_advancement": 8, "ip_core_support": 8, "ip_acquisition": 6,
                             "ip_standards_bonus": 2, "management": 20}
    data = strong()
    data["judgement"] = {"ip_advancement": 7.5, "management": 20}
    p = parse_profile(data)
    assert p.judgement.ip_advancement == Decimal("7.5") and p.judgement.ip_core_support is None
