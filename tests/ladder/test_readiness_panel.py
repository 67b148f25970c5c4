"""The readiness panel on the enterprise page (and ladder.readiness for htmx), and its what-if."""
import re
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import delete, event, func, select

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.enterprises.models import AnnualFigures, IntellectualProperty
from crm.ladder.engine import evaluate
from crm.ladder.models import ReadinessInputs
from crm.ladder.profile import parse_profile
from crm.ladder.queries import active_rulesets, apply_additions, profile_of
from tests import factories
from tests.helpers import text

Y = clock.today().year - 1  # the latest complete accounting year: what the rules read as "last year"
HX = {"HX-Request": "true"}
GAP = "近三年研发费用合计需再增加 150.0 万元"


def ui(msgid: str, **kwargs) -> str:
    """A message as a zh_CN user sees it (the English text until the catalogue has it)."""
    with force_locale("zh_Hans_CN"):
        return gettext(msgid, **kwargs)


def near_high_tech(enterprise, *, inputs: bool = True, years: tuple = (Y - 2, Y - 1, Y)):
    """Every high-tech criterion met but R&D: 3 × 100 of 3 × 3000 万元 is 3.33%, 5% needs 150 万元 more.

    With `inputs` the facts and all judgement items are entered (score 75–80 > 70); without, the
    clean-record criterion is unknown and the score 32–80 is borderline.
    """
    for year in years:
        factories.figures(enterprise, year, revenue=Decimal("3000.00"), hightech_revenue=Decimal("2300.00"),
                          rd_expense=Decimal("100.00"), rd_expense_domestic=Decimal("100.00"), conversions=5)
    factories.ip(enterprise)  # one valid invention patent (class I)
    if inputs:
        factories.db.session.add(ReadinessInputs(
            enterprise_id=enterprise.id, resident=True, restricted_industry=False, clean_record=True,
            national_award_top3_5y=False, provincial_rd_institution=False, led_standard_5y=False,
            ip_advancement=Decimal(8), ip_core_support=Decimal(8), ip_acquisition=Decimal(6),
            ip_standards_bonus=Decimal(2), management=Decimal(20)))
    factories.db.session.commit()
    return enterprise


def _panel(client, enterprise, **params):
    response = client.get(f"/enterprises/{enterprise.id}/readiness", query_string=params, headers=HX)
    assert response.status_code == 200, response.status_code
    return text(response)


def _verdict(page: str) -> str:
    return re.search(r'data-verdict="(\w+)"', page).group(1)


def _tier_shown(page: str) -> str:
    return re.search(r'<div class="readiness-tier">(.*?)</div>', page).group(1)


def _row(page: str, criterion: str) -> str:
    return re.search(rf'<tr class="([^"]*)" id="criterion-{criterion}">(.*?)</tr>', page, re.S).group(0)


# --- which tier, what it shows ---------------------------------------------------------------


def test_a_candidate_sees_the_first_tier_on_its_page(client, login_as, world):
    login_as("officer", region=world.county_x)
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert 'id="readiness"' in page and 'id="readiness-body"' in page
    assert _tier_shown(page) == ui("Tech-based SME")
    assert 'aria-current="page">' + ui("Tech-based SME") in page
    # the five tiers as tabs, each loading its readiness into the card with htmx, the URL unchanged
    for tier in ("tech_sme", "little_giant", "high_tech", "gazelle", "demonstration"):
        url = f"/enterprises/{world.ent_x.id}/readiness?tier={tier}"
        assert f'href="{url}" hx-get="{url}" hx-target="#readiness-body"' in page
    assert page.count('hx-push-url="false"') >= 5
    # the printed sheet of the tier shown, in the user's language and the other
    assert f'href="/enterprises/{world.ent_x.id}/readiness/sheet.pdf?tier=tech_sme&lang=zh"' in page
    assert f'href="/enterprises/{world.ent_x.id}/readiness/sheet.pdf?tier=tech_sme&lang=en"' in page


def test_a_tech_sme_holder_sees_little_giant_with_the_regional_notice(client, login_as, world):
    factories.certification(world.ent_x, "tech_sme")
    factories.db.session.commit()
    login_as("officer", region=world.county_x)
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert _tier_shown(page) == ui("Tech little giant")
    assert "地方标准默认值，请按本地区现行认定办法核对" in page
    assert "regional-default · 1" in page  # the rule set and its version
    # the fragment without a tier answers the same tier
    assert _tier_shown(_panel(client, world.ent_x)) == ui("Tech little giant")


def test_every_status_renders(client, login_as, world):
    near_high_tech(world.ent_x, inputs=False)
    login_as("officer", region=world.county_x)
    page = _panel(client, world.ent_x, tier="high_tech")
    assert _verdict(page) == "not_ready"
    assert "criterion-pass" in _row(page, "ht_registered")
    fail = _row(page, "ht_rd_ratio")
    assert "criterion-fail" in fail and "✗" in fail and ui("Not met") in fail
    unknown = _row(page, "ht_clean_record")
    assert "criterion-unknown" in unknown and "?" in unknown and ui("Unknown") in unknown
    borderline = _row(page, "ht_innovation_score")
    assert "criterion-borderline" in borderline and "~" in borderline and ui("Borderline") in borderline
    passed = _row(page, "ht_tech_staff")
    assert "✓" in passed and ui("Met") in passed
    # the source in small text, a note where the engine gives one (revenue standing in for total income)
    assert "国科发火〔2016〕32号 第十一条（五）" in fail
    assert f"{Y} 年未填总收入，以营业收入代替" in _row(page, "ht_hightech_revenue")


def test_the_gap_of_a_failing_rd_ratio_is_shown_with_its_amount(client, login_as, world):
    near_high_tech(world.ent_x)
    login_as("officer", region=world.county_x)
    page = _panel(client, world.ent_x, tier="high_tech")
    row = _row(page, "ht_rd_ratio")
    assert GAP in row
    assert "3.33%" in row and "5.00%" in row  # actual (rounded down) and required
    assert _verdict(page) == "not_ready"
    assert page.count("criterion-fail") == 1


def test_a_base_tier_gap_links_to_that_tiers_readiness(client, login_as, world):
    login_as("officer", region=world.county_x)
    page = _panel(client, world.ent_x, tier="little_giant")
    row = _row(page, "lg_base_tier")
    url = f"/enterprises/{world.ent_x.id}/readiness?tier=tech_sme"
    assert f'href="{url}" hx-get="{url}"' in row


def test_a_full_page_for_direct_links(client, login_as, world):
    login_as("officer", region=world.county_x)
    response = client.get(f"/enterprises/{world.ent_x.id}/readiness?tier=gazelle")
    page = text(response)
    assert response.status_code == 200 and "<html" in page and 'id="readiness-body"' in page
    assert _tier_shown(page) == ui("Gazelle enterprise")
    fragment = _panel(client, world.ent_x, tier="gazelle")
    assert "<html" not in fragment
    assert "HX-Request" in response.headers.get("Vary", "")


def test_an_unknown_tier_is_not_found(client, login_as, world):
    login_as("officer", region=world.county_x)
    assert client.get(f"/enterprises/{world.ent_x.id}/readiness?tier=unicorn").status_code == 404


# --- missing data ------------------------------------------------------------------------------


def test_missing_data_links_to_where_it_is_entered_for_an_editor(client, login_as, world):
    near_high_tech(world.ent_x, inputs=False, years=(Y - 2, Y))  # no row for the middle year
    latest = factories.db.session.scalar(select(AnnualFigures).where(AnnualFigures.year == Y))
    latest.total_assets = None
    factories.db.session.commit()
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    eid = world.ent_x.id

    page = _panel(client, world.ent_x, tier="high_tech")
    assert f'<a href="/enterprises/{eid}/figures/new?year={Y - 1}">缺少 {Y - 1} 年研发费用</a>' in page
    assert f'<a href="/enterprises/{eid}/readiness/inputs">缺少有无重大事故或失信记录</a>' in page
    # a form for that year opens on that year
    form = text(client.get(f"/enterprises/{eid}/figures/new?year={Y - 1}"))
    assert re.search(rf'<input[^>]*name="year"[^>]*value="{Y - 1}"', form)

    page = _panel(client, world.ent_x, tier="tech_sme")
    assert f'<a href="/enterprises/{eid}/figures/{latest.id}/edit">缺少 {Y} 年资产总额</a>' in page
    assert f'<a href="/enterprises/{eid}/readiness/inputs">缺少是否居民企业</a>' in page


def test_missing_data_is_plain_text_for_a_manager(client, login_as, world):
    near_high_tech(world.ent_x, inputs=False, years=(Y - 2, Y))
    login_as("manager", region=world.city)
    page = _panel(client, world.ent_x, tier="high_tech")
    assert f"<li>缺少 {Y - 1} 年研发费用</li>" in page
    assert "<li>缺少有无重大事故或失信记录</li>" in page
    assert "/figures/new" not in page and "/readiness/inputs" not in page


# --- the score --------------------------------------------------------------------------------


def _score(page: str) -> str:
    return re.search(r'<span class="score-range">(.*?)</span>', page).group(1)


def test_the_score_range_narrows_once_the_judgement_items_are_entered(client, login_as, world, db):
    near_high_tech(world.ent_x, inputs=False)
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    page = _panel(client, world.ent_x, tier="high_tech")
    assert _score(page) == "32–80"
    assert ui("(needs %(op)s %(threshold)s)", op=">", threshold="70") in page
    # borderline: the judgement items are named in the missing data, each linking to the inputs form
    assert f'<a href="/enterprises/{world.ent_x.id}/readiness/inputs">缺少知识产权技术先进程度（评分）</a>' in page
    assert _verdict(page) == "not_ready"

    response = client.post(f"/enterprises/{world.ent_x.id}/readiness/inputs", data={
        "resident": "yes", "restricted_industry": "no", "clean_record": "yes", "ip_advancement": "8",
        "ip_core_support": "8", "ip_acquisition": "6", "ip_standards_bonus": "2", "management": "20"})
    assert response.status_code == 303 and response.headers["Location"].endswith("#readiness")

    page = _panel(client, world.ent_x, tier="high_tech")
    assert _score(page) == "75–80"
    assert "score-judgement" not in page
    assert "criterion-pass" in _row(page, "ht_innovation_score")


def test_a_failing_score_names_the_judgement_items_not_entered(client, login_as, world, db):
    near_high_tech(world.ent_x, inputs=False)
    for row in db.session.scalars(select(AnnualFigures)):
        row.conversions = 0  # 7–50 points: short of 70 whatever the judgement items will be
    db.session.commit()
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    page = _panel(client, world.ent_x, tier="high_tech")
    assert _score(page) == "7–50" and "criterion-fail" in _row(page, "ht_innovation_score")
    named = re.search(r'<p class="small mb-1 score-judgement">(.*?)</p>', page, re.S).group(1)
    assert "知识产权技术先进程度（评分）" in named and "研究开发组织管理水平（评分）" in named
    assert f'href="/enterprises/{world.ent_x.id}/readiness/inputs"' in named


def test_an_incomplete_verdict_explains_the_borderline_score(client, login_as, world, db):
    near_high_tech(world.ent_x, inputs=False, years=(Y - 2, Y - 1, Y))
    for row in db.session.scalars(select(AnnualFigures)):
        row.rd_expense = row.rd_expense_domestic = Decimal("200.00")  # R&D met: only the unknowns remain
    db.session.add(ReadinessInputs(enterprise_id=world.ent_x.id, clean_record=True))
    db.session.commit()
    login_as("officer", region=world.county_x)
    page = _panel(client, world.ent_x, tier="high_tech")
    assert _verdict(page) == "incomplete"
    assert ui("Until they are known the verdict stays “information incomplete”: the range reaches both sides of "
              "the threshold.") in page
    assert "缺少知识产权技术先进程度（评分）" in page


# --- languages --------------------------------------------------------------------------------


def test_english_users_read_english_rules(client, login_as, world):
    near_high_tech(world.ent_x)
    login_as("officer", region=world.county_x, locale="en")
    page = _panel(client, world.ent_x, tier="high_tech")
    expected = evaluate(parse_profile(profile_of(world.ent_x)), "high_tech", active_rulesets(), lang="en")
    rd = next(c for c in expected["criteria"] if c["id"] == "ht_rd_ratio")
    assert rd["gap"]["text"] in page and rd["label"] in page and rd["source"] in page
    assert "150" in rd["gap"]["text"]
    assert "Not ready yet" in page and "National high-tech enterprise" in page and "Not met" in page
    assert "研发费用" not in page and "近三年" not in page  # no engine text left in Chinese (sources cite
    # Chinese documents by their names in both languages)


# --- the what-if ------------------------------------------------------------------------------


def _snapshot(db) -> dict:
    """Every table's rows (as tuples), so a test can prove nothing was written."""
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            out[table.name] = sorted(map(repr, conn.execute(table.select()).all()))
    return out


def test_a_whatif_that_adds_exactly_the_gap_turns_the_verdict_and_saves_nothing(client, login_as, world, db):
    near_high_tech(world.ent_x)
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    before = _snapshot(db)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))

    page = _panel(client, world.ent_x, tier="high_tech", whatif="1", rd_expense="150")
    assert _verdict(page) == "ready"
    assert 'id="whatif-banner"' in page and ui("What-if calculation, not saved") in page
    assert ui("before: %(verdict)s", verdict=ui("Not ready yet")) in page
    row = _row(page, "ht_rd_ratio")
    assert "criterion-changed" in row and "criterion-pass" in row
    assert ui("before: %(status)s", status=ui("Not met")) in row
    assert "criterion-changed" not in _row(page, "ht_tech_staff")
    # the change listed, and a reset link back to the saved figures
    assert ui("R&D expense") in page and ui("%(year)s figures", year=Y) in page
    reset = f"/enterprises/{world.ent_x.id}/readiness?tier=high_tech"
    assert f'href="{reset}" hx-get="{reset}"' in page
    assert 'value="150"' in page  # the form keeps what was typed

    # one tenth of a 万元 less is not enough
    assert _verdict(_panel(client, world.ent_x, tier="high_tech", whatif="1", rd_expense="149.9")) == "not_ready"

    assert _snapshot(db) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    # and the panel on the saved figures is as it was
    assert _verdict(_panel(client, world.ent_x, tier="high_tech")) == "not_ready"


def test_whatif_staff_revenue_and_ip(client, login_as, world, db):
    near_high_tech(world.ent_x)
    # tech staff: employees grow by as many, so the share needs the nested gap
    latest = db.session.scalar(select(AnnualFigures).where(AnnualFigures.year == Y))
    latest.tech_staff = 5  # 5 / 85 < 10%: 4 more makes 9 / 89 ≥ 10%, 3 more 8 / 88 does not
    db.session.commit()
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    page = _panel(client, world.ent_x, tier="high_tech")
    assert "需再增加 4 名科技人员" in _row(page, "ht_tech_staff")
    assert "criterion-fail" in _row(_panel(client, world.ent_x, tier="high_tech", whatif="1", tech_staff="3"),
                                    "ht_tech_staff")
    assert "criterion-pass" in _row(_panel(client, world.ent_x, tier="high_tech", whatif="1", tech_staff="4"),
                                    "ht_tech_staff")
    # little giant: five class II items or one class I; the revenue growth criterion reads revenue
    page = _panel(client, world.ent_x, tier="little_giant")
    assert "criterion-fail" in _row(page, "lg_growth")
    gap = re.search(r"再增加 ([\d.]+) 万元", _row(page, "lg_growth")).group(1)
    page = _panel(client, world.ent_x, tier="little_giant", whatif="1", revenue=gap)
    assert "criterion-pass" in _row(page, "lg_growth") and "criterion-changed" in _row(page, "lg_growth")
    # IP: without the patent, one class I item or five class II items are needed
    db.session.execute(delete(IntellectualProperty))
    factories.ip(world.ent_x, "utility_model")
    db.session.commit()
    page = _panel(client, world.ent_x, tier="little_giant")
    assert "需再取得 1 件Ⅰ类知识产权或 4 件Ⅱ类知识产权" in _row(page, "lg_ip")
    for extra, status in ({"ip_class2": "3"}, "fail"), ({"ip_class2": "4"}, "pass"), ({"ip_class1": "1"}, "pass"):
        page = _panel(client, world.ent_x, tier="little_giant", whatif="1", **extra)
        assert f"criterion-{status}" in _row(page, "lg_ip"), extra


def test_apply_additions_grows_the_companion_figures_and_leaves_unknowns_unknown(world, db):
    near_high_tech(world.ent_x)
    latest = db.session.scalar(select(AnnualFigures).where(AnnualFigures.year == Y))
    latest.total_income = Decimal("3100.00")
    latest.total_assets = None
    db.session.commit()
    profile = parse_profile(profile_of(world.ent_x))
    changed, changes = apply_additions(profile, {"rd_expense": Decimal("10"), "tech_staff": 2,
                                                 "hightech_revenue": Decimal("100"), "revenue": Decimal("50"),
                                                 "ip_class1": 1, "ip_class2": 3})
    old, new = profile.figures_for(Y), changed.figures_for(Y)
    assert (new.rd_expense, new.rd_expense_domestic) == (old.rd_expense + 10, old.rd_expense_domestic + 10)
    assert (new.tech_staff, new.employees) == (old.tech_staff + 2, old.employees + 2)
    assert new.hightech_revenue == old.hightech_revenue + 100
    assert new.revenue == old.revenue + 150 and new.total_income == Decimal("3250.00")
    assert changed.figures_for(Y - 1) == profile.figures_for(Y - 1)
    assert sum(i.count for i in changed.ip) == sum(i.count for i in profile.ip) + 4
    assert all(c.applied for c in changes)
    assert profile.figures_for(Y).rd_expense == Decimal("100.00")  # the original is unchanged
    # an unknown figure stays unknown: nothing to add to
    latest.rd_expense = None
    db.session.commit()
    profile = parse_profile(profile_of(world.ent_x))
    changed, changes = apply_additions(profile, {"rd_expense": Decimal("10")})
    assert changed.figures_for(Y).rd_expense is None and not changes[0].applied


@pytest.mark.parametrize("field,value,message", [
    ("rd_expense", "-5", "Must not be negative."),
    ("rd_expense", "abc", "Enter a number, e.g. 1234.5."),
    ("revenue", "1.234", "At most two decimal places (amounts are in 10k CNY)."),
    ("tech_staff", "1.5", "Enter a whole number of 0 or more, e.g. 3."),
    ("ip_class2", "-1", "Enter a whole number of 0 or more, e.g. 3."),
])
def test_invalid_whatif_input_shows_the_error_next_to_the_field(client, login_as, world, field, value, message):
    near_high_tech(world.ent_x)
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    params = {"tier": "high_tech", "whatif": "1", "rd_expense": "150", field: value}
    response = client.get(f"/enterprises/{world.ent_x.id}/readiness", query_string=params, headers=HX)
    assert response.status_code == 200  # htmx swaps only 2xx answers: the errors must come with a 200
    assert response.headers["HX-Reswap"] == "innerHTML show:#whatif:top"  # the fields stay in view
    page = text(response)
    field_html = re.search(rf'<input[^>]*id="whatif-{field}"[^>]*>\s*<span class="input-group-text">[^<]*</span>\s*'
                           r'<div class="invalid-feedback">(.*?)</div>', page, re.S)
    assert field_html and field_html.group(1) == ui(message)
    assert re.search(rf'class="[^"]*is-invalid[^"]*"[^>]*id="whatif-{field}"|id="whatif-{field}"[^>]*is-invalid',
                     page)
    assert _verdict(page) == "not_ready" and 'id="whatif-banner"' not in page  # the saved figures' result
    assert f'value="{value}"' in page  # what was typed stays to be corrected
    # without htmx: the whole page, 422
    response = client.get(f"/enterprises/{world.ent_x.id}/readiness", query_string=params)
    assert response.status_code == 422 and ui(message) in text(response)


# --- who sees what ----------------------------------------------------------------------------


def test_editors_see_the_whatif_form_managers_do_not_and_may_not_use_it(client, login_as, world, db):
    near_high_tech(world.ent_x)
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert 'name="whatif" value="1"' in page and 'id="whatif-rd_expense"' in page

    login_as("manager", region=world.city)
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert 'id="readiness-body"' in page and GAP not in page  # next tier shown: tech_sme
    assert 'name="whatif"' not in page and "whatif-" not in page
    assert GAP in _panel(client, world.ent_x, tier="high_tech")  # reads any tier
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.get(f"/enterprises/{world.ent_x.id}/readiness",
                          query_string={"tier": "high_tech", "whatif": "1", "rd_expense": "150"}, headers=HX)
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_an_enterprise_user_reads_only_their_own_panel(client, login_as, world):
    """In the portal: the same panel without the officers' tools; the bureau's URLs are closed (403)."""
    near_high_tech(world.ent_x)
    login_as("enterprise", enterprise=world.ent_x)
    page = text(client.get("/portal/readiness", query_string={"tier": "high_tech"}, headers=HX))
    assert GAP in page and 'name="whatif"' not in page
    assert "/readiness/inputs" not in page  # nothing to edit from here
    assert "coach-link" not in page and 'class="criterion-note"' not in page
    assert client.get(f"/enterprises/{world.ent_x.id}/readiness", headers=HX).status_code == 403
    assert client.get(f"/enterprises/{world.ent_y.id}/readiness?tier=high_tech").status_code == 403
    assert client.get(f"/enterprises/{world.ent_x.id}/readiness?tier=high_tech&whatif=1&rd_expense=1",
                      headers=HX).status_code == 403


def test_an_officer_of_another_county_gets_not_found(client, login_as, world):
    login_as("officer", region=world.county_y)
    assert client.get(f"/enterprises/{world.ent_x.id}/readiness", headers=HX).status_code == 404


def test_signed_out_users_are_sent_to_sign_in(client, world):
    response = client.get(f"/enterprises/{world.ent_x.id}/readiness")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- cost ---------------------------------------------------------------------------------------


def test_one_panel_costs_a_constant_number_of_queries(client, login_as, world, db):
    near_high_tech(world.ent_x)
    near_high_tech(world.ent_y, years=(Y - 6, Y - 5, Y - 4, Y - 3, Y - 2, Y - 1, Y))
    for _ in range(8):
        factories.ip(world.ent_y, "utility_model")
    factories.certification(world.ent_y, "tech_sme")
    db.session.commit()
    login_as("admin")
    _panel(client, world.ent_z, tier="high_tech")  # the rule sets in force are read once, then cached
    counts = []

    def count(conn, cursor, statement, *args):
        counts[-1] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for enterprise in (world.ent_x, world.ent_y):
            counts.append(0)
            for whatif in ({}, {"whatif": "1", "rd_expense": "10", "ip_class2": "2"}):
                _panel(client, enterprise, tier="high_tech", **whatif)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert counts[0] == counts[1] and counts[0] <= 2 * 10, counts
