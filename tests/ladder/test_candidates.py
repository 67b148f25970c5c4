"""The candidate pool: who is in it, the order, scope, filters, export."""
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook

from crm.core import clock
from crm.ladder.models import ReadinessInputs
from tests import factories
from tests.helpers import text, zh


def _strong_sme(enterprise, db, *, rd=Decimal("300"), tech_staff=30):
    """Figures that meet every tech_sme criterion (score: tech staff 30%, R&D 6%+, one invention patent)."""
    latest = clock.today().year - 1
    factories.figures(enterprise, latest, revenue=Decimal("5000"), rd_expense=rd, rd_expense_domestic=rd,
                      total_cost=Decimal("4000"), total_assets=Decimal("6000"), employees=100,
                      tech_staff=tech_staff, rd_staff=10)
    factories.ip(enterprise, "invention_patent")
    db.session.add(ReadinessInputs(enterprise_id=enterprise.id, resident=True, restricted_industry=False,
                                   clean_record=True))


def _names(page: str, *names):
    return [n for n in sorted(names, key=page.find) if n in page]


def test_order_scope_and_holders(client, login_as, world, db):
    _strong_sme(world.ent_x, db)  # ready
    _strong_sme(world.ent_park, db, rd=Decimal("50"), tech_staff=5)  # not ready: low score
    factories.certification(world.ent_y, "tech_sme")  # holds it: not a candidate
    db.session.commit()
    login_as("manager", region=world.city)
    page = text(client.get("/candidates?tier=tech_sme"))
    assert _names(page, "兴庆智能装备有限公司", "园区新材料有限公司") == ["兴庆智能装备有限公司", "园区新材料有限公司"]
    assert ">西夏生物科技有限公司</a>" not in page  # a holder
    assert "大武口光伏科技有限公司" not in page  # another city
    assert zh("Ready to apply") in page


def test_region_filter_and_officer_scope(client, login_as, world, db):
    login_as("officer", region=world.county_y)
    page = text(client.get("/candidates?tier=high_tech"))
    assert ">西夏生物科技有限公司</a>" in page and "兴庆智能装备有限公司" not in page
    login_as("admin")
    page = text(client.get(f"/candidates?tier=high_tech&region={world.other_city.id}"))
    assert ">大武口光伏科技有限公司</a>" in page and "西夏生物科技有限公司" not in page


def test_unknown_tier_falls_back_to_high_tech(client, login_as, world):
    login_as("admin")
    assert zh("National high-tech enterprise") in text(client.get("/candidates?tier=unicorn"))


def test_archived_and_closed_are_left_out(client, login_as, world, db):
    world.ent_x.status = "closed"
    world.ent_y.archived_at = world.ent_y.created_at
    db.session.commit()
    login_as("admin")
    page = text(client.get("/candidates?tier=tech_sme"))
    assert "兴庆智能装备有限公司" not in page and "西夏生物科技有限公司" not in page


def test_export(client, login_as, world, db):
    _strong_sme(world.ent_x, db)
    db.session.commit()
    login_as("manager", region=world.city)
    response = client.get("/candidates/export.xlsx?tier=tech_sme")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    ws = load_workbook(BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == zh("Rank")
    assert rows[1][1] == "兴庆智能装备有限公司" and rows[1][0] == 1
    assert len(rows) == 1 + 3  # the city's three enterprises, none holds tech_sme
