"""The registry list: scoping by role, search, filters, sort, pagination, htmx fragments."""
import re

import pytest
from sqlalchemy import update

from crm.enterprises.models import Enterprise
from tests import factories
from tests.helpers import text


def names(response):
    page = text(response)
    return {n for n in ["兴庆智能装备有限公司", "园区新材料有限公司", "西夏生物科技有限公司", "大武口光伏科技有限公司"]
            if n in page}


ALL = {"兴庆智能装备有限公司", "园区新材料有限公司", "西夏生物科技有限公司", "大武口光伏科技有限公司"}


@pytest.mark.parametrize("role,region_attr,expected", [
    ("officer", "county_x", {"兴庆智能装备有限公司", "园区新材料有限公司"}),  # county X and its park
    ("officer", "county_y", {"西夏生物科技有限公司"}),
    ("manager", "city", {"兴庆智能装备有限公司", "园区新材料有限公司", "西夏生物科技有限公司"}),
    ("manager", "province", ALL),
    ("officer", "county_z", {"大武口光伏科技有限公司"}),
])
def test_regional_users_see_their_subtree_only(client, login_as, world, role, region_attr, expected):
    login_as(role, region=getattr(world, region_attr))
    assert names(client.get("/enterprises")) == expected


def test_admin_sees_everything(client, login_as, world):
    login_as("admin")
    assert names(client.get("/enterprises")) == ALL


def test_enterprise_user_has_no_registry(client, login_as, world):
    login_as("enterprise", enterprise=world.ent_x)
    assert client.get("/enterprises").status_code == 403


def test_filtering_by_a_region_outside_scope_shows_nothing(client, login_as, world):
    login_as("officer", region=world.county_x)
    assert names(client.get(f"/enterprises?region={world.county_z.id}")) == set()


def test_search_by_name_and_by_uscc_prefix(client, login_as, world):
    login_as("admin")
    assert names(client.get("/enterprises?q=生物")) == {"西夏生物科技有限公司"}
    prefix = world.ent_z.uscc[:10]
    assert names(client.get(f"/enterprises?q={prefix}")) == {"大武口光伏科技有限公司"}
    assert names(client.get(f"/enterprises?q={world.ent_z.uscc.lower()}")) == {"大武口光伏科技有限公司"}


def test_filters(client, login_as, world, db):
    login_as("admin")
    world.ent_x.tech_domain = "electronic_information"
    world.ent_x.industry_code = "I6513"
    world.ent_y.is_above_scale = True
    world.ent_z.status = "moved_out"
    world.ent_park.current_tier = "high_tech"
    db.session.commit()
    assert names(client.get(f"/enterprises?region={world.city.id}")) == ALL - {"大武口光伏科技有限公司"}
    assert names(client.get("/enterprises?domain=electronic_information")) == {"兴庆智能装备有限公司"}
    assert names(client.get("/enterprises?industry=I65")) == {"兴庆智能装备有限公司"}
    assert names(client.get("/enterprises?above=yes")) == {"西夏生物科技有限公司"}
    assert "西夏生物科技有限公司" not in names(client.get("/enterprises?above=no"))
    assert names(client.get("/enterprises?status=moved_out")) == {"大武口光伏科技有限公司"}
    assert names(client.get("/enterprises?tier=high_tech")) == {"园区新材料有限公司"}
    assert names(client.get("/enterprises?tier=candidate")) == ALL - {"园区新材料有限公司"}
    # combined: search + two filters
    assert names(client.get(f"/enterprises?q=园区&region={world.county_x.id}&tier=high_tech")) == {"园区新材料有限公司"}


def test_unknown_filter_values_are_ignored(client, login_as, world):
    login_as("admin")
    response = client.get("/enterprises?tier=bogus&domain=x&above=maybe&status=zzz&sort=drop&region=abc&page=-3")
    assert response.status_code == 200
    assert names(response) == ALL


def test_archived_are_hidden_unless_asked_for(client, login_as, world, db):
    login_as("admin")
    db.session.execute(update(Enterprise).where(Enterprise.id == world.ent_y.id).values(archived_at=db.func.now()))
    db.session.commit()
    assert "西夏生物科技有限公司" not in names(client.get("/enterprises"))
    assert names(client.get("/enterprises?archived=only")) == {"西夏生物科技有限公司"}
    assert names(client.get("/enterprises?archived=include")) == ALL


def test_candidate_tier_column_is_shown(client, login_as, world):
    login_as("admin")
    from tests.helpers import zh

    assert zh("Candidate") in text(client.get("/enterprises"))


def test_sort_by_name_both_ways(client, login_as, world):
    login_as("admin")
    asc = text(client.get("/enterprises?sort=uscc"))
    desc = text(client.get("/enterprises?sort=uscc&desc=1"))
    codes = sorted(e.uscc for e in [world.ent_x, world.ent_y, world.ent_z, world.ent_park])
    assert asc.index(codes[0]) < asc.index(codes[-1])
    assert desc.index(codes[0]) > desc.index(codes[-1])


def test_pagination_50_a_page(client, login_as, world, db):
    login_as("admin")
    for i in range(56):
        factories.enterprise(world.county_y, name=f"分页企业{i:03d}有限公司")
    db.session.commit()
    first = text(client.get("/enterprises?q=分页企业"))
    second = text(client.get("/enterprises?q=分页企业&page=2"))
    row = re.compile(r">分页企业\d{3}有限公司</a>")
    assert len(row.findall(first)) == 50
    assert len(row.findall(second)) == 6
    assert "分页企业055" in second and "分页企业000" in first


def test_htmx_request_gets_only_the_results(client, login_as, world):
    login_as("admin")
    response = client.get("/enterprises?q=生物", headers={"HX-Request": "true"})
    body = text(response)
    assert "<html" not in body and "西夏生物科技有限公司" in body
    assert "<html" in text(client.get("/enterprises?q=生物"))


def test_empty_states(client, login_as, world):
    from tests.helpers import zh

    login_as("admin")
    assert zh("No enterprise matches these filters.") in text(client.get("/enterprises?q=不存在的企业"))


def test_no_n_plus_one_on_the_list(client, login_as, world, db):
    """The list costs the same number of queries for 4 rows as for 54."""
    from sqlalchemy import event

    login_as("admin")
    counter = {"n": 0}

    def count(*args):
        counter["n"] += 1

    def run():
        counter["n"] = 0
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/enterprises").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return counter["n"]

    few = run()
    for _ in range(50):
        factories.enterprise(world.county_y)
    db.session.commit()
    assert run() == few
