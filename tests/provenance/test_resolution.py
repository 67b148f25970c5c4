"""Figure provenance, the rules: each figure from the best-ranked source that gives it, a part within its whole,
disagreements beyond the tolerance. Pure functions over reports (no database)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from crm.enterprises import queries

D = Decimal
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DEFAULT = ("tax", "statistics", ("officer", "enterprise", "import"))
RANKS = queries.source_ranks(DEFAULT)


def report(source: str, minutes: int = 0, **values):
    blank = dict.fromkeys(queries.FIGURE_VALUE_FIELDS)
    return SimpleNamespace(source=source, reported_at=NOW + timedelta(minutes=minutes), confirmed_at=None,
                           **(blank | values))


def test_the_default_priority_is_the_configured_one(app):
    assert app.config["FIGURE_SOURCE_PRIORITY"] == DEFAULT
    assert queries.source_ranks() == {"officer": 2, "enterprise": 2, "import": 2, "tax": 0, "statistics": 1}


def test_each_field_comes_from_the_best_ranked_report_that_gives_it():
    tax = report("tax", revenue=D("3000.00"))
    statistics = report("statistics", revenue=D("3100.00"), employees=90)
    officer = report("officer", 10, revenue=D("3200.00"), employees=85, rd_expense=D("180.00"))
    resolved = queries.resolve_reports([officer, statistics, tax], RANKS)
    assert (resolved.values["revenue"], resolved.sources["revenue"]) == (D("3000.00"), "tax")
    assert (resolved.values["employees"], resolved.sources["employees"]) == (90, "statistics")
    assert (resolved.values["rd_expense"], resolved.sources["rd_expense"]) == (D("180.00"), "officer")
    assert resolved.values["total_assets"] is None and "total_assets" not in resolved.sources
    assert resolved.main_source == "tax"  # one field each: the better-ranked
    assert [r.source for r in resolved.winners] == ["tax", "statistics", "officer"]


@pytest.mark.parametrize("later", ["statistics", "officer", "enterprise", "import"])
def test_a_lower_ranked_report_never_overrides_a_higher_one_however_recent(later):
    tax = report("tax", 0, revenue=D("3000.00"), employees=80)
    newer = report(later, 600, revenue=D("9999.00"), employees=99, total_cost=D("10.00"))
    resolved = queries.resolve_reports([newer, tax], RANKS)
    assert resolved.values["revenue"] == D("3000.00") and resolved.values["employees"] == 80
    assert resolved.values["total_cost"] == D("10.00")  # what the better one does not give still counts


def test_within_one_rank_the_latest_report_wins():
    officer = report("officer", 0, revenue=D("3200.00"))
    imported = report("import", 5, revenue=D("3300.00"))
    assert queries.resolve_reports([officer, imported], RANKS).sources["revenue"] == "import"
    correction = report("officer", 10, revenue=D("3250.00"))
    assert queries.resolve_reports([correction, imported], RANKS).sources["revenue"] == "officer"


def test_a_strict_priority_can_be_configured():
    strict = queries.source_ranks(("tax", "statistics", "import", "officer", "enterprise"))
    imported = report("import", 0, revenue=D("3300.00"))
    officer = report("officer", 60, revenue=D("3200.00"))
    assert queries.resolve_reports([officer, imported], strict).sources["revenue"] == "import"
    assert queries.source_ranks(("tax",))["officer"] == 1  # a source left out ranks last


def test_a_part_never_exceeds_its_resolved_whole():
    tax = report("tax", revenue=D("1000.00"), employees=40)
    officer = report("officer", 10, revenue=D("1200.00"), hightech_revenue=D("1100.00"), employees=50,
                     tech_staff=45, rd_staff=20)
    enterprise = report("enterprise", 0, hightech_revenue=D("900.00"), tech_staff=12)
    resolved = queries.resolve_reports([tax, officer, enterprise], RANKS)
    assert (resolved.values["hightech_revenue"], resolved.sources["hightech_revenue"]) == (D("900.00"), "enterprise")
    assert (resolved.values["tech_staff"], resolved.sources["tech_staff"]) == (12, "enterprise")
    assert resolved.values["rd_staff"] == 20  # within the 40 employees: the officer's stands
    alone = queries.resolve_reports([tax, officer], RANKS)
    assert alone.values["hightech_revenue"] is None and "hightech_revenue" not in alone.sources


def test_disagreement_needs_more_than_the_tolerance_on_amounts_and_any_difference_on_counts():
    tax = report("tax", revenue=D("1000.00"), employees=85, net_assets=D("-20.00"))
    within = report("officer", revenue=D("1010.00"), employees=85, net_assets=D("-20.20"))  # 1 % of the larger
    assert queries.disagreements([tax, within], "0.01") == {}
    beyond = report("officer", revenue=D("1010.11"), employees=86, net_assets=D("-21.00"))
    assert set(queries.disagreements([tax, beyond], "0.01")) == {"revenue", "employees", "net_assets"}
    assert set(queries.disagreements([tax, beyond], "0.05")) == {"employees"}
    only_one = report("statistics", total_assets=D("5000.00"))
    assert queries.disagreements([tax, only_one], "0.01") == {}  # a figure one source gives is no disagreement


def test_the_priority_is_read_from_the_environment(monkeypatch):
    import config

    monkeypatch.setenv("FIGURE_SOURCE_PRIORITY", "statistics, tax ,import|officer| enterprise,")
    assert config._priority("FIGURE_SOURCE_PRIORITY", "tax") == ("statistics", "tax",
                                                                 ("import", "officer", "enterprise"))
    monkeypatch.delenv("FIGURE_SOURCE_PRIORITY")
    assert config._priority("FIGURE_SOURCE_PRIORITY", "tax,statistics,officer|enterprise|import") == DEFAULT
