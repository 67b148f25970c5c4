"""The stored match (policy_matches): equal to the on-demand evaluation, refreshed by the writes that change what
the engine sees (or by the 5-minute job for rows written around the services), read by the rates with a constant
number of queries."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update

from crm.core import clock
from crm.enterprises import services as enterprise_services
from crm.enterprises.models import Enterprise
from crm.extensions import db as _db
from crm.ladder import services as ladder_services
from crm.policies import jobs, queries, services
from crm.policies.models import Policy, PolicyMatch
from tests import factories
from tests.helpers import count_queries

LAST_YEAR = clock.today().year - 1


def _stored() -> dict[tuple[int, int], tuple[str, list, int]]:
    return {(m.policy_id, m.enterprise_id): (m.verdict, m.missing, m.conditions_version)
            for m in _db.session.scalars(select(PolicyMatch))}


@pytest.fixture
def data(world, db):
    """Five operating enterprises with different figures and certificates, one archived; four policies."""
    e1 = factories.enterprise(world.county_x, name="一号科技有限公司")
    e2 = factories.enterprise(world.county_y, name="二号科技有限公司", established_on=date(clock.today().year, 1, 1))
    gone = factories.enterprise(world.county_y, name="注销科技有限公司", status="closed")
    for e, revenue, rd, staff, tech in ((world.ent_x, "5000", "200", 100, 20), (world.ent_y, "1000", "10", 100, 5),
                                        (e1, "3000", "90", 50, 5)):
        factories.figures(e, LAST_YEAR, revenue=Decimal(revenue), hightech_revenue=Decimal(revenue) / 2,
                          rd_expense=Decimal(rd), rd_expense_domestic=Decimal(rd), employees=staff, tech_staff=tech)
    policies = [factories.policy("无条件"),
                factories.policy("研发投入", conditions={"min_rd_ratio": "3"}),
                factories.policy("规模", conditions={"min_revenue": "2000", "min_tech_staff_ratio": "10"}),
                factories.policy("高企", conditions={"tiers_held": ["high_tech"], "min_age_years": 3})]
    for p in policies:
        p.conditions_version = 1
    db.session.commit()
    factories.certification(world.ent_x, "high_tech")
    db.session.commit()
    return {"e1": e1, "e2": e2, "gone": gone, "policies": policies}


def _operating() -> list[Enterprise]:
    return list(_db.session.scalars(queries.operating(select(Enterprise)).order_by(Enterprise.id)))


def test_the_stored_verdicts_equal_the_on_demand_evaluation(world, data, db):
    services.refresh_matches()
    db.session.commit()
    enterprises = _operating()
    expected = queries.verdicts(data["policies"], enterprises, reasons_as="id")
    stored = _stored()
    assert len(stored) == len(data["policies"]) * len(enterprises)
    assert {k: (v, m) for k, (v, m, _n) in stored.items()} == {
        (pid, eid): (verdict, missing) for pid, by in expected.items() for eid, (verdict, missing) in by.items()}
    assert {v for v, _m, _n in stored.values()} == {"ready", "incomplete", "not_ready"}  # the set covers all three
    assert {n for _v, _m, n in stored.values()} == {1}
    # "maybe" names what is missing, as criterion ids read back as the labels of the reader's language
    e2_rd = stored[(data["policies"][1].id, data["e2"].id)]
    assert e2_rd[0] == "incomplete" and e2_rd[1] == ["p_min_rd_ratio"]
    m = queries.match(data["policies"][1], factories.user("admin"), lang="en")
    assert [r.reasons for r in m.maybe if r.enterprise.id == data["e2"].id] == [
        ["R&D expense / revenue at least 3%"]]


def test_the_readers_read_the_table(world, data, db):
    """A verdict forced in the table is what the rates and the policy page show (they do not re-evaluate)."""
    services.refresh_matches()
    rd = data["policies"][1]
    manager = factories.user("manager", region=world.city)
    before = queries.rate_report(manager, "policy", rd.id).total.eligible
    db.session.execute(update(PolicyMatch).where(PolicyMatch.policy_id == rd.id,
                                                 PolicyMatch.enterprise_id == world.ent_y.id).values(verdict="ready"))
    assert queries.rate_report(manager, "policy", rd.id).total.eligible == before + 1
    assert world.ent_y in [r.enterprise for r in queries.match(rd, manager).eligible]


def test_saving_figures_refreshes_that_enterprise_only(world, data, db):
    services.refresh_matches()
    db.session.commit()
    rd = data["policies"][1]
    at = {(p, e): m.computed_at for m in db.session.scalars(select(PolicyMatch)) for p, e in
          [(m.policy_id, m.enterprise_id)]}
    assert _stored()[(rd.id, world.ent_y.id)][0] == "not_ready"
    figures = world.ent_y.figures[0]
    data = {name: getattr(figures, name) for name in enterprise_services.FIGURE_FIELDS}
    data.update(rd_expense=Decimal("50"), rd_expense_domestic=Decimal("50"))
    enterprise_services.save_figures(world.ent_y, data, actor="test", figures=figures)
    db.session.commit()
    stored = _stored()
    assert stored[(rd.id, world.ent_y.id)][0] == "ready"
    new_at = {(m.policy_id, m.enterprise_id): m.computed_at for m in db.session.scalars(select(PolicyMatch))}
    changed = {k for k in at if new_at[k] != at[k]}
    assert changed == {(p.id, world.ent_y.id) for p in db.session.scalars(select(Policy))}


def test_a_certification_refreshes_the_enterprise(world, data, db):
    services.refresh_matches()
    high_tech = data["policies"][3]
    assert _stored()[(high_tech.id, data["e1"].id)][0] == "not_ready"
    cert = ladder_services.record_certification(data["e1"], {
        "tier": "high_tech", "certificate_no": "GR202664000001", "issued_on": date(clock.today().year, 1, 1)},
        actor="test")
    assert _stored()[(high_tech.id, data["e1"].id)][0] == "ready"
    ladder_services.revoke_certification(cert, actor="test")
    assert _stored()[(high_tech.id, data["e1"].id)][0] == "not_ready"


def test_saving_a_policys_conditions_refreshes_that_policy(world, data, db):
    services.refresh_matches()
    free = data["policies"][0]
    assert {v for (p, _e), (v, _m, _n) in _stored().items() if p == free.id} == {"ready"}
    assert services.save_conditions(free, {"min_revenue": "4000"}, actor="test")
    stored = {e: (v, n) for (p, e), (v, _m, n) in _stored().items() if p == free.id}
    assert stored[world.ent_x.id] == ("ready", free.conditions_version)
    assert stored[world.ent_y.id] == ("not_ready", free.conditions_version)
    assert stored[world.ent_park.id][0] == "incomplete"  # no figures: might be
    assert len(stored) == len(_operating())


def test_a_new_policy_is_matched_when_created(world, data, db):
    policy = services.create_policy({"title": "新政策", "opens_on": None, "closes_on": None}, actor="test")
    assert db.session.scalar(select(func.count()).select_from(PolicyMatch).where(
        PolicyMatch.policy_id == policy.id, PolicyMatch.verdict == "ready")) == len(_operating())


def test_the_job_refreshes_what_was_written_around_the_services(world, data, db):
    services.refresh_matches()
    db.session.commit()
    assert jobs.refresh_stale_matches(clock.today()) is None  # nothing to do: quiet
    late = factories.enterprise(world.county_x, name="后来科技有限公司")  # created around the services
    rd = data["policies"][1]
    rd.conditions, rd.conditions_version = {"min_rd_ratio": "1"}, 2  # changed around save_conditions
    data["e1"].status = "moved_out"
    db.session.commit()
    line = jobs.refresh_stale_matches(clock.today())
    assert line and _count_in(line) != 0
    stored = _stored()
    assert (rd.id, late.id) in stored and {n for (p, _e), (_v, _m, n) in stored.items() if p == rd.id} == {2}
    assert stored[(rd.id, world.ent_y.id)][0] == "ready"  # 1% now
    assert not any(e == data["e1"].id for _p, e in stored)  # no longer operating: its rows dropped
    assert jobs.refresh_stale_matches(clock.today()) is None
    assert _count_in(jobs.refresh_all_matches(clock.today())) == len(stored)


def test_a_reader_computes_the_missing_rows_in_the_request(world, data, db):
    """Nothing stored yet: the rates are computed (and flushed) in the request, then read from the table."""
    db.session.execute(delete(PolicyMatch))
    assert not _stored()
    manager = factories.user("manager", region=world.city)
    report = queries.rate_report(manager, "policy")
    assert report.total.eligible > 0
    city = {world.city.id, world.county_x.id, world.county_y.id, world.park_x.id}
    in_city = [e for e in _operating() if e.region_id in city]
    assert {e for _p, e in _stored()} == {e.id for e in in_city}
    assert len(_stored()) == len(data["policies"]) * len(in_city)


def test_the_rates_page_reads_the_table_in_a_fixed_number_of_queries(client, login_as, world, data, db):
    services.refresh_matches()
    manager = factories.user("manager", region=world.city)
    db.session.commit()
    login_as(manager)
    paths = ("/policies/rates", "/policies/rates?by=officer", "/policies/rates?by=region")
    pinned = {path: count_queries(client, path) for path in paths}
    for n in range(15):
        e = factories.enterprise(world.county_x if n % 2 else world.county_y)
        factories.figures(e, LAST_YEAR, employees=100, tech_staff=30)
        if n % 3 == 0:
            factories.user("officer", region=world.county_x, serves=[e])
    db.session.commit()
    services.refresh_matches()
    db.session.commit()
    assert {path: count_queries(client, path) for path in paths} == pinned
    # the policies, the missing-rows check, one grouped read, the officers' or regions' names and the page's own
    # (user, navigation, the policy filter): no profile is read when the table is complete
    assert pinned == {"/policies/rates": 8, "/policies/rates?by=officer": 9, "/policies/rates?by=region": 9}


def test_an_import_re_matches_once_at_its_end(world, data, db, monkeypatch):
    services.refresh_matches()
    calls = []
    real = services.refresh_matches
    monkeypatch.setattr(services, "refresh_matches", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    with services.matches_deferred():
        for e in (world.ent_x, world.ent_y):
            ladder_services.save_readiness_inputs(e, {"clean_record": True}, actor="test")
        assert calls == []
    assert calls == [({world.ent_x.id, world.ent_y.id},)]
    with pytest.raises(RuntimeError), services.matches_deferred():
        ladder_services.save_readiness_inputs(data["e1"], {"clean_record": True}, actor="test")
        raise RuntimeError  # the caller rolls back: nothing to re-match
    assert len(calls) == 1


def _count_in(line: str) -> int:
    """The first number of a job's run line (the line is in the bureau's language)."""
    import re

    return int(re.search(r"\d+", line.replace(",", "")).group())


def test_missing_pairs_are_none_when_the_counts_add_up_and_exactly_those_gone_or_stale_otherwise(world, data, db):
    from crm.policies.queries import missing_matches

    queries.ensure_matches([p.id for p in data["policies"]], [e.id for e in _operating()])
    policies = [p.id for p in data["policies"]]
    mine = select(Enterprise.id).where(Enterprise.region_id == world.county_x.id).order_by(Enterprise.name)
    ids = list(db.session.scalars(mine))
    assert ids and missing_matches(policies, mine) == set() == missing_matches(policies, ids)
    gone, stale = (policies[0], ids[0]), (policies[-1], ids[-1])
    db.session.execute(delete(PolicyMatch).where(PolicyMatch.policy_id == gone[0], PolicyMatch.enterprise_id == gone[1]))
    db.session.execute(update(PolicyMatch).where(PolicyMatch.policy_id == stale[0], PolicyMatch.enterprise_id == stale[1])
                       .values(conditions_version=PolicyMatch.conditions_version - 1))
    assert missing_matches(policies, mine) == {gone, stale} == missing_matches(policies, ids + [10 ** 6])
