"""The stored candidate ranks: the pool's pages read them in the live order, the services keep them current, the
jobs fill what is missing, and a page's query count does not grow with the pool."""
from __future__ import annotations

import copy
from decimal import Decimal

from flask_login import login_user
from sqlalchemy import delete, func, select, update

from crm.core import clock
from crm.enterprises import services as enterprise_services
from crm.extensions import db as _db
from crm.ladder import jobs, queries, services
from crm.ladder.engine import shipped_ruleset_dicts
from crm.ladder.models import CandidateRank, ReadinessInputs
from tests import factories
from tests.helpers import count_queries, text


def _figures(enterprise, *, revenue, rd, tech_staff):
    """A year of figures and the inputs that make tech_sme decidable; the gap to it grows as `rd` falls."""
    latest = clock.today().year - 1
    factories.figures(enterprise, latest, revenue=Decimal(revenue), rd_expense=Decimal(rd),
                      rd_expense_domestic=Decimal(rd), total_cost=Decimal("4000"), total_assets=Decimal("6000"),
                      employees=100, tech_staff=tech_staff, rd_staff=10)
    _db.session.add(ReadinessInputs(enterprise_id=enterprise.id, resident=True, restricted_industry=False,
                                    clean_record=True))


def _many(world, n: int):
    """`n` more enterprises in county X, with figures spread from ready to far, some with none (incomplete)."""
    made = []
    for i in range(n):
        e = factories.enterprise(world.county_x, name=f"候选企业{i:03d}有限公司")
        if i % 4:
            _figures(e, revenue=3000 + 50 * i, rd=20 + 13 * i, tech_staff=5 + i)
        if i % 5 == 0:
            factories.ip(e, "invention_patent")
        made.append(e)
    _db.session.commit()
    return made


def _ids(page) -> list[int]:
    return [c.enterprise.id for c in page.items]


def _as(app, user):
    """A request context signed in as `user` (the queries read the current page number from the request)."""
    ctx = app.test_request_context("/candidates?page=1")
    ctx.push()
    login_user(user)
    return ctx


def test_stored_order_is_the_live_order(app, world, db):
    _many(world, 30)
    admin = factories.user("admin")
    db.session.commit()
    services.refresh_ranks()
    db.session.commit()
    ctx = _as(app, admin)
    failing_seen = 0
    try:
        for tier in ("tech_sme", "high_tech", "little_giant"):
            live = queries.candidate_pool(admin, tier)
            page, counts = queries.candidate_page(admin, tier)
            assert _ids(page) == [c.enterprise.id for c in live[:50]]
            assert [c.rank for c in page.items] == list(range(1, len(page.items) + 1))
            assert [(c.verdict, c.failing, c.gaps) for c in page.items] == [
                (c.verdict, c.failing, c.gaps) for c in live[:50]]
            assert counts == {v: sum(1 for c in live if c.verdict == v) for v in ("ready", "incomplete", "not_ready")}
            assert page.total == len(live)
            # judged only (the forecast): the same order, verdicts and counts, no gap texts
            judged = queries.candidate_pool(admin, tier, gaps=False)
            assert [(c.enterprise.id, c.verdict, c.failing, c.unknown, c.key) for c in judged] == [
                (c.enterprise.id, c.verdict, c.failing, c.unknown, c.key) for c in live]
            assert all(c.gaps == [] for c in judged)
            failing_seen += sum(1 for c in live if c.failing)
    finally:
        ctx.pop()
    assert failing_seen  # the comparison covered candidates with failing criteria


def test_gap_texts_are_stored_in_both_languages_and_evaluated_when_missing(app, world, db):
    """The page shows the texts stored with each rank in the user's language; rows stored before the texts were
    kept (NULL) are evaluated in the request, with the same result."""
    _many(world, 12)
    admin = factories.user("admin")
    db.session.commit()
    services.refresh_ranks()
    db.session.commit()
    stored = db.session.scalars(select(CandidateRank).where(CandidateRank.failing > 0)).all()
    assert stored and all(set(r.gaps) == {"zh", "en"} and 0 < len(r.gaps["zh"]) == len(r.gaps["en"]) <= 3
                          for r in stored)
    assert all(r.gaps == {"zh": [], "en": []} for r in db.session.scalars(
        select(CandidateRank).where(CandidateRank.failing == 0)))
    ctx = _as(app, admin)
    try:
        for lang in ("zh", "en"):
            live = queries.candidate_pool(admin, "high_tech", lang=lang)
            page, _counts = queries.candidate_page(admin, "high_tech", lang=lang)
            assert [c.gaps for c in page.items] == [c.gaps for c in live[:50]]
            assert any(c.gaps for c in page.items)
        db.session.execute(update(CandidateRank).values(gaps=None))
        for lang in ("zh", "en"):
            live = queries.candidate_pool(admin, "high_tech", lang=lang)
            page, _counts = queries.candidate_page(admin, "high_tech", lang=lang)
            assert [c.gaps for c in page.items] == [c.gaps for c in live[:50]]
    finally:
        ctx.pop()


def test_a_bulk_rerank_stores_no_texts_and_the_job_fills_them(app, world, db, monkeypatch):
    """A re-rank of more than INLINE_TEXTS enterprises (an import's) stores SQL NULL texts; the 5-minute job
    fills up to TEXT_FILL enterprises a run, and the page shows the same texts before and after."""
    made = _many(world, 12)
    admin = factories.user("admin")
    db.session.commit()
    monkeypatch.setattr(services, "INLINE_TEXTS", 5)
    with services.ranks_deferred():
        services.rerank_enterprises([e.id for e in made[:4]])  # 4: within INLINE_TEXTS, texts written
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CandidateRank).where(
        CandidateRank.gaps.is_(None))) == 0
    with services.ranks_deferred():
        services.rerank_enterprises([e.id for e in made])  # 12: a bulk re-rank
    db.session.commit()
    bulk = {e.id for e in made}
    assert queries.untexted_ranks(100) == sorted(bulk)  # SQL NULL (the partial index's condition), not JSON null
    assert queries.untexted_ranks(3) == sorted(bulk)[:3]
    ctx = _as(app, admin)
    try:
        before = [c.gaps for c in queries.candidate_page(admin, "high_tech", lang="zh")[0].items]
        assert any(before)
        monkeypatch.setattr(services, "TEXT_FILL", 5)
        assert jobs.refresh_stale_ranks(clock.today())  # 5 enterprises × 5 tiers
        db.session.commit()
        assert queries.untexted_ranks(100) == sorted(bulk)[5:]
        services.refresh_stale_ranks()
        services.refresh_stale_ranks()
        db.session.commit()
        assert queries.untexted_ranks(100) == []
        assert jobs.refresh_stale_ranks(clock.today()) is None  # nothing left: quiet
        stored = db.session.scalars(select(CandidateRank).where(CandidateRank.enterprise_id.in_(bulk),
                                                                CandidateRank.failing > 0)).all()
        assert stored and all(0 < len(r.gaps["zh"]) == len(r.gaps["en"]) <= 3 for r in stored)
        assert [c.gaps for c in queries.candidate_page(admin, "high_tech", lang="zh")[0].items] == before
    finally:
        ctx.pop()


def test_second_page_continues_the_ranking(app, client, login_as, world, db, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 10)
    _many(world, 25)
    admin = login_as("admin")
    services.refresh_ranks()
    db.session.commit()
    live = queries.candidate_pool(admin, "tech_sme")
    ctx = app.test_request_context("/candidates?page=2")
    ctx.push()
    try:
        login_user(admin)
        page, _counts = queries.candidate_page(admin, "tech_sme")
    finally:
        ctx.pop()
    assert page.page == 2 and page.pages == 3 and page.total == len(live) == 29
    assert _ids(page) == [c.enterprise.id for c in live[10:20]]
    assert [c.rank for c in page.items] == list(range(11, 21))
    body = text(client.get("/candidates?tier=tech_sme&page=3"))
    assert all(c.enterprise.name in body for c in live[20:])
    assert live[0].enterprise.name not in body


def test_services_rerank_what_they_change(app, world, db):
    admin = factories.user("admin")
    db.session.commit()
    services.refresh_ranks()
    db.session.commit()
    stored = db.session.scalar(select(CandidateRank).where(CandidateRank.enterprise_id == world.ent_x.id,
                                                           CandidateRank.tier == "tech_sme"))
    assert stored.verdict == "incomplete"  # no figures yet
    before = (stored.verdict_rank, stored.failing, stored.unknown, stored.computed_at)
    enterprise_services.save_figures(world.ent_x, {
        "year": clock.today().year - 1, "revenue": Decimal("5000"), "rd_expense": Decimal("400"),
        "rd_expense_domestic": Decimal("400"), "total_cost": Decimal("4000"), "total_assets": Decimal("6000"),
        "employees": 100, "tech_staff": 40, "rd_staff": 10}, actor=admin)
    services.save_readiness_inputs(world.ent_x, {"resident": True, "restricted_industry": False,
                                                 "clean_record": True}, actor=admin)
    db.session.commit()
    db.session.expire_all()
    after = db.session.scalar(select(CandidateRank).where(CandidateRank.enterprise_id == world.ent_x.id,
                                                          CandidateRank.tier == "tech_sme"))
    assert after.computed_at > before[3]
    assert (after.verdict_rank, after.failing, after.unknown) != before[:3]
    # a rename moves the name inside the index with it
    data = {name: getattr(world.ent_x, name) for name in enterprise_services.ENTERPRISE_FIELDS}
    enterprise_services.update_enterprise(world.ent_x, {**data, "name": "兴庆智能装备股份有限公司"}, actor=admin)
    db.session.commit()
    assert db.session.scalar(select(CandidateRank.name).where(CandidateRank.enterprise_id == world.ent_x.id,
                                                              CandidateRank.tier == "high_tech")) == "兴庆智能装备股份有限公司"


def test_missing_ranks_are_computed_in_the_request(client, login_as, world, db):
    made = _many(world, 6)
    login_as("admin")
    assert db.session.scalar(select(func.count()).select_from(CandidateRank)) == 0
    body = text(client.get("/candidates?tier=tech_sme"))
    assert all(e.name in body for e in made)
    # a GET does not commit them: the 5-minute job stores them
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CandidateRank)) == 0
    assert jobs.refresh_stale_ranks(clock.today())
    db.session.commit()
    operating = 4 + len(made)
    assert db.session.scalar(select(func.count()).select_from(CandidateRank)) == operating * 5
    assert jobs.refresh_stale_ranks(clock.today()) is None  # nothing left: quiet


def test_many_missing_falls_back_to_the_live_pool(app, client, login_as, world, db, monkeypatch):
    made = _many(world, 12)
    admin = login_as("admin")
    monkeypatch.setattr(queries, "_CHUNK", 5)
    calls = []
    real = queries.candidate_pool
    monkeypatch.setattr(queries, "candidate_pool", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    body = text(client.get("/candidates?tier=tech_sme"))
    assert calls == [1]
    assert [e.name for e in made if e.name not in body] == []
    services.refresh_ranks()
    db.session.commit()
    client.get("/candidates?tier=tech_sme")
    assert calls == [1]  # stored now: read, not evaluated
    assert admin


def test_a_new_rule_set_version_makes_the_ranks_stale(app, world, db):
    _many(world, 8)
    admin = factories.user("admin")
    db.session.commit()
    services.refresh_ranks()
    db.session.commit()
    assert queries.missing_ranks(queries.operating_ids()) == []
    data = copy.deepcopy(shipped_ruleset_dicts()["gazelle"])
    next(c for c in data["criteria"] if c["id"] == "gz_revenue")["value"] = 1500
    services.save_ruleset_version("gazelle", data, "new", actor=admin)
    db.session.commit()
    stale = queries.missing_ranks(queries.operating_ids(), "gazelle")
    assert len(stale) == 12 and queries.missing_ranks(queries.operating_ids(), "tech_sme") == []
    services.refresh_stale_ranks()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CandidateRank).where(
        CandidateRank.tier == "gazelle", CandidateRank.ruleset_version == 1)) == 12


def test_enterprises_that_stop_operating_leave_the_ranks(world, db):
    services.refresh_ranks()
    db.session.commit()
    world.ent_y.status = "closed"
    db.session.commit()
    services.refresh_stale_ranks()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CandidateRank).where(
        CandidateRank.enterprise_id == world.ent_y.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(CandidateRank)) == 3 * 5


def test_nightly_rebuild_replaces_everything(world, db):
    services.refresh_ranks()
    db.session.commit()
    db.session.execute(delete(CandidateRank).where(CandidateRank.tier == "gazelle"))
    db.session.commit()
    assert "20" in jobs.refresh_all_ranks(clock.today())
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CandidateRank)) == 20


def test_page_queries_do_not_grow_with_the_pool(client, login_as, world, db):
    login_as("admin")
    _many(world, 5)
    services.refresh_ranks()
    db.session.commit()
    small = count_queries(client, "/candidates?tier=high_tech")
    _many_more = [factories.enterprise(world.county_y, name=f"追加企业{i:03d}") for i in range(60)]
    db.session.commit()
    services.refresh_ranks()
    db.session.commit()
    assert count_queries(client, "/candidates?tier=high_tech") == small
    assert len(_many_more) == 60
