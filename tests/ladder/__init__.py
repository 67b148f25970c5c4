"""Tests of the rules engine (crm.ladder.engine / crm.ladder.profile): pure Python, no app, no database.

`strong()` is a profile that is ready for all five tiers with the shipped rule sets (assessed on
2025-06-30, so the latest year is 2024); each test changes the one thing it is about.
"""
from __future__ import annotations

import copy
from decimal import Decimal

from crm.ladder.engine import evaluate, load_rulesets
from crm.ladder.profile import parse_profile

RULES = load_rulesets()
TIERS = ("tech_sme", "little_giant", "high_tech", "gazelle", "demonstration")
VERDICT_ORDER = {"not_ready": 0, "incomplete": 1, "ready": 2}


def strong() -> dict:
    """A profile ready for every tier (a fresh copy each call)."""
    return copy.deepcopy({
        "name": "银川某某智能装备有限公司",
        "uscc": "91640100MA76ABCD24",
        "established_on": "2018-03-12",
        "assessment_date": "2025-06-30",
        "tech_domain": "advanced_manufacturing",
        "figures": [
            {"year": 2022, "revenue": 9000, "hightech_revenue": 6500, "rd_expense": 450, "rd_expense_domestic": 450,
             "total_cost": 7500, "total_income": 9000, "total_assets": 12000, "net_assets": 5000,
             "employees": 280, "tech_staff": 80, "rd_staff": 50},
            {"year": 2023, "revenue": 11000, "hightech_revenue": 8000, "rd_expense": 550, "rd_expense_domestic": 550,
             "total_cost": 9000, "total_income": 11000, "total_assets": 13500, "net_assets": 6000,
             "employees": 290, "tech_staff": 85, "rd_staff": 55},
            {"year": 2024, "revenue": 12000, "hightech_revenue": 9000, "rd_expense": 600, "rd_expense_domestic": 600,
             "total_cost": 10000, "total_income": 12000, "total_assets": 15000, "net_assets": 7500,
             "employees": 300, "tech_staff": 90, "rd_staff": 60},
        ],
        "ip": [
            {"kind": "invention_patent", "count": 6},
            {"kind": "utility_model", "count": 5, "used_in_earlier_application": 2},
            {"kind": "software_copyright", "count": 3},
        ],
        "conversions_last_3_years": 15,
        "flags": {"resident": True, "restricted_industry": False, "clean_record": True,
                  "national_award_top3_5y": False, "provincial_rd_institution": True, "led_standard_5y": False},
        "judgement": {"ip_advancement": 7, "ip_core_support": 7, "ip_acquisition": 5, "ip_standards_bonus": 1,
                      "management": 16},
        "certifications": [
            {"tier": "tech_sme", "issued_on": "2025-03-01", "expires_on": "2025-12-31"},
            {"tier": "high_tech", "issued_on": "2023-11-01", "expires_on": "2026-10-31"},
        ],
    })


def year(data: dict, y: int) -> dict:
    """The figures dict of year `y` in a profile dict (created when missing)."""
    for row in data["figures"]:
        if row["year"] == y:
            return row
    row = {"year": y}
    data["figures"].append(row)
    return row


def set_year(data: dict, y: int, **values) -> dict:
    year(data, y).update(values)
    return data


def drop_year(data: dict, y: int) -> dict:
    data["figures"] = [row for row in data["figures"] if row["year"] != y]
    return data


def run(tier: str, data: dict, rules=None, lang: str = "zh") -> dict:
    return evaluate(parse_profile(data), tier, rules or RULES, lang=lang)


def crit(result: dict, cid: str) -> dict:
    for entry in result["criteria"]:
        if entry["id"] == cid:
            return entry
    raise AssertionError(f"{cid} not in {[e['id'] for e in result['criteria']]}")


def status(tier: str, data: dict, cid: str, rules=None) -> str:
    return crit(run(tier, data, rules), cid)["status"]


def dec(value) -> Decimal:
    return Decimal(str(value))
