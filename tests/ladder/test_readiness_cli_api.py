"""`flask readiness check` and POST /api/v1/readiness/check: the documented formats, errors and exit codes."""
import json
import re

import pytest

PROFILE = {
    "name": "银川某某智能装备有限公司", "uscc": "91640100MA76ABCD24", "established_on": "2018-03-12",
    "assessment_date": "2025-06-30", "tech_domain": "advanced_manufacturing",
    "figures": [
        {"year": 2022, "revenue": 3200, "hightech_revenue": 2300, "rd_expense": 180, "rd_expense_domestic": 180,
         "total_cost": 2800, "total_income": 3260, "total_assets": 4100, "net_assets": 2100, "employees": 85,
         "tech_staff": 14, "rd_staff": 10},
        {"year": 2023, "revenue": 3900, "hightech_revenue": 2900, "rd_expense": 190, "rd_expense_domestic": 185,
         "total_cost": 3300, "total_assets": 4600, "net_assets": 2500, "employees": 90, "tech_staff": 15,
         "rd_staff": 11},
        {"year": 2024, "revenue": 4700, "hightech_revenue": 3500, "rd_expense": 200, "rd_expense_domestic": 200,
         "total_cost": 4000, "total_assets": 5200, "net_assets": 2900, "employees": 96, "tech_staff": 16,
         "rd_staff": 12},
    ],
    "ip": [{"kind": "invention_patent", "count": 1},
           {"kind": "utility_model", "count": 6, "used_in_earlier_application": 2}],
    "conversions_last_3_years": 7,
    "flags": {"resident": True, "restricted_industry": False, "clean_record": True},
    "judgement": {"ip_advancement": 6, "ip_core_support": 6, "ip_acquisition": 5, "ip_standards_bonus": 0,
                  "management": 14},
    "certifications": [{"tier": "tech_sme", "issued_on": "2024-05-10", "expires_on": "2024-12-31"}],
}
TOP_KEYS = {"tier", "ruleset", "verdict", "criteria"}
CRITERION_KEYS = {"id", "status", "actual", "required", "unit", "label", "source"}


def _check_result(result):
    assert TOP_KEYS <= set(result)
    assert set(result["ruleset"]) >= {"id", "version"}
    assert result["verdict"] in {"ready", "not_ready", "incomplete"}
    for c in result["criteria"]:
        assert CRITERION_KEYS <= set(c)
        assert ("gap" in c) == (c["status"] == "fail")
        if "gap" in c:
            assert {"amount", "unit", "text"} <= set(c["gap"])


@pytest.fixture
def profile_file(tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(PROFILE, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_one_tier_json(app, profile_file):
    result = app.test_cli_runner().invoke(args=["readiness", "check", str(profile_file), "--tier", "high_tech"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    _check_result(data)
    assert data["tier"] == "high_tech" and data["ruleset"] == {"id": "cn-national", "version": "2016"}
    rd = next(c for c in data["criteria"] if c["id"] == "ht_rd_ratio")
    assert rd["status"] == "fail" and rd["gap"]["unit"] == "万元"
    assert re.search(r"近三年研发费用合计需再增加 [\d.]+ 万元", rd["gap"]["text"])
    assert data["score"]["threshold"] == 70


def test_cli_every_tier_lowest_first(app, profile_file):
    result = app.test_cli_runner().invoke(args=["readiness", "check", str(profile_file)])
    data = json.loads(result.stdout)
    assert [r["tier"] for r in data] == ["tech_sme", "little_giant", "high_tech", "gazelle", "demonstration"]
    for r in data:
        _check_result(r)
    assert "notice" in data[1] and "地方标准默认值" in data[1]["notice"]


def test_cli_text_format_in_english(app, profile_file):
    result = app.test_cli_runner().invoke(args=["readiness", "check", str(profile_file), "--tier", "high_tech",
                                                "--format", "text", "--lang", "en"])
    assert result.exit_code == 0
    assert "ht_rd_ratio" in result.stdout and "Not ready yet" in result.stdout
    assert "needs another" in result.stdout


@pytest.mark.parametrize("content,reason", [
    ("{not json", "cannot read"),
    ('{"bogus": 1}', "bogus"),
    ('{"uscc": "91640100MA76ABCD25", "assessment_date": "2025-06-30"}', "uscc"),
])
def test_cli_unreadable_profile_exits_2(app, tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["readiness", "check", str(path)])
    assert result.exit_code == 2
    assert reason in result.stderr and result.stdout == ""


def test_api_check(client, login_as, world):
    login_as("officer", region=world.county_x)
    response = client.post("/api/v1/readiness/check?tier=high_tech", json=PROFILE)
    assert response.status_code == 200
    _check_result(response.json)
    everything = client.post("/api/v1/readiness/check", json=PROFILE)
    assert [r["tier"] for r in everything.json][0] == "tech_sme"


@pytest.mark.parametrize("body,status", [("{not json", 400), ("[1, 2]", 400), ('{"bogus": 1}', 422)])
def test_api_bad_input_is_4xx_json(client, login_as, world, body, status):
    login_as("officer", region=world.county_x)
    response = client.post("/api/v1/readiness/check", data=body, content_type="application/json")
    assert response.status_code == status and response.is_json
    assert response.json["error"]["message"]


def test_api_unknown_tier(client, login_as, world):
    login_as("officer", region=world.county_x)
    response = client.post("/api/v1/readiness/check?tier=unicorn", json=PROFILE)
    assert response.status_code == 400 and "unicorn" in response.json["error"]["message"]


def test_api_needs_csrf_token_with_a_session(app, client, login_as, world):
    login_as("officer", region=world.county_x)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/api/v1/readiness/check", json=PROFILE)
        assert refused.status_code == 400 and refused.is_json
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
