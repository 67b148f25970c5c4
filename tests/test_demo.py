"""`flask --app wsgi demo load`: valid, consistent, deterministic and idempotent demo data."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.auth.models import User
from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.security import verify_password
from crm.core.uscc import is_valid_uscc
from crm.demo import ladder as demo_ladder
from crm.demo import registry
from crm.demo.accounts import DEMO_PASSWORD
from crm.enterprises.industries import parse_industry_code
from crm.enterprises.models import AMOUNT_FIELDS, AnnualFigures, Enterprise, IntellectualProperty, Region
from crm.ladder.models import JUDGEMENT_MAX, Certification, ReadinessInputs, TierEvent
from crm.ladder.services import compute_expiry, current_tier_of
from crm.ladder.tiers import Tier
from tests.conftest import empty_tables

COUNT = 40


def _load(app, count: int = COUNT):
    result = app.test_cli_runner().invoke(args=["demo", "load", "--count", str(count)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


# A load takes seconds (tens on PostgreSQL), so the read_only tests share one: it is kept while the tests
# after it only read (the db fixture fails a read_only test that writes) and loaded again after any other.
_shared_load: dict[str, object] = {"count": None, "output": ""}


def _shared(app, db, count: int) -> str:
    """The output of `demo load --count <count>`, loaded now unless the database still holds that load."""
    if _shared_load["count"] != count or not db.session.scalar(sa.select(sa.func.count(Enterprise.id))):
        empty_tables()
        _shared_load.update(count=count, output=_load(app, count).output)
    return _shared_load["output"]


@pytest.fixture(scope="module", autouse=True)
def _empty_after_the_module(app):
    """The next module starts from empty tables even when this one ended on a read_only test."""
    yield
    with app.app_context():
        empty_tables()
    _shared_load.update(count=None, output="")


@pytest.fixture
def loaded(app, db):
    """The output of one `demo load --count 40`."""
    return _shared(app, db, COUNT)


def _counts(db) -> dict[str, int]:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@pytest.mark.read_only
def test_load_prints_the_summary_accounts_and_password(loaded):
    assert f"enterprises: {COUNT} created, 0 existing" in loaded
    assert DEMO_PASSWORD in loaded
    for username in ("admin", "manager", "officer", "enterprise"):
        assert f"  {username} " in loaded


@pytest.mark.read_only
def test_usccs_are_valid_and_unique_and_industry_codes_parse(loaded, db):
    enterprises = db.session.scalars(sa.select(Enterprise)).all()
    assert len(enterprises) == COUNT
    assert all(is_valid_uscc(e.uscc) for e in enterprises)
    assert len({e.uscc for e in enterprises}) == COUNT
    assert len({e.name for e in enterprises}) == COUNT
    assert all(parse_industry_code(e.industry_code) for e in enterprises)
    # The registration area in the code is the enterprise's county (a park's parent county).
    assert all(e.uscc[2:8] == registry.county_of(e.region.code).code for e in enterprises)


@pytest.mark.read_only
def test_figures_are_consistent_decimals(loaded, db):
    rows = db.session.scalars(sa.select(AnnualFigures)).all()
    assert len(rows) >= 3 * COUNT * 0.8
    for f in rows:
        for name in AMOUNT_FIELDS:
            value = getattr(f, name)
            assert value is None or isinstance(value, Decimal), name
        assert f.hightech_revenue <= f.revenue
        assert f.rd_expense_domestic <= f.rd_expense
        assert f.rd_staff <= f.tech_staff <= f.employees
        assert Decimal("200") <= f.revenue <= Decimal("60000")
        assert f.verified == (f.verified_at is not None)
        assert f.verified_at is None or f.verified_at.tzinfo is not None
    assert max(f.year for f in rows) == registry.LAST_YEAR


@pytest.mark.read_only
def test_ip_numbers_are_unique_per_enterprise_and_kind(loaded, db):
    keys = db.session.execute(sa.select(
        IntellectualProperty.enterprise_id, IntellectualProperty.kind, IntellectualProperty.number)).all()
    assert keys and len(set(keys)) == len(keys)
    patents = [number for _, kind, number in keys if number.startswith("ZL")]
    assert all(len(number) == 16 and number[14] == "." for number in patents)


@pytest.mark.read_only
def test_demo_users_have_their_roles_and_bindings(loaded, db):
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    assert users["admin"].role == "admin" and users["admin"].region_id is None
    assert (users["manager"].role, users["manager"].region.code) == ("manager", "640100")
    assert (users["officer"].role, users["officer"].region.code) == ("officer", "640106")
    company = users["enterprise"].enterprise
    assert users["enterprise"].role == "enterprise" and company is not None
    assert company.region.code == "640106" and company.figures and company.ip_items
    assert company.archived_at is None
    assert verify_password(users["officer"].password_hash, DEMO_PASSWORD)


@pytest.mark.read_only
def test_region_paths_follow_the_tree(loaded, db):
    regions = db.session.scalars(sa.select(Region)).all()
    assert {r.code for r in regions} == {spec.code for spec in registry.REGIONS}
    for region in regions:
        if region.parent is None:
            assert region.path == f"/{region.id}/"
        else:
            assert region.path == f"{region.parent.path}{region.id}/"


@pytest.mark.read_only
def test_one_audit_event_for_the_load_besides_the_service_work(loaded, db):
    """The load itself is one event; visits (and the policy pushes their explained policies start), needs,
    follow-ups, policies and the portal's requests, comments and submissions are written and audited by
    services, by the officers and the enterprises' contacts."""
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert [e.action for e in events if e.action == "demo_load"] == ["demo_load"]
    others = [e for e in events if e.action != "demo_load"]
    assert others and {e.entity_type for e in others} == {"policies", "visits", "needs", "follow_ups",
                                                          "need_comments", "submissions", "policy_pushes",
                                                          "cycle_batches", "applications", "enterprise_flags",
                                                          "bulletins", "referrals", "need_callbacks", "visit_plans",
                                                          "attachments", "tags", "enterprise_tags", "partners",
                                                          "partner_referrals", "events", "event_attendees",
                                                          "reserve_pool_entries", "survey_questions",
                                                          "survey_campaigns", "survey_responses", "credit_lists",
                                                          "readiness_inputs", "figure_reports", "annual_figures"}
    people = {u.id for u in db.session.scalars(sa.select(User).where(
        User.role.in_(("officer", "enterprise", "department"))))}
    # the manager sets the certification cycle's batch and writes the bulletin, visited one enterprise an officer
    # plans to visit (crm.demo.evidence: the 14-day warning), keeps the tags and partners, organises the events
    # and records their attendance (which informs the attendees of the policies presented), and fills the reserve
    # pool (its coaching follow-ups); the scheduler escalates referrals; an admin keeps the survey question bank and
    # the manager launches the survey campaigns (crm.demo.surveys; the officers fill them); an admin imports the
    # negative list, which sets its enterprises' clean record (crm.demo.credit)
    manager = db.session.scalar(sa.select(User.id).where(User.username == "manager"))
    assert all(e.actor_id in people for e in others if e.entity_type not in (
        "policies", "cycle_batches", "bulletins", "tags", "partners", "events", "event_attendees", "policy_pushes",
        "survey_questions", "survey_campaigns", "credit_lists", "readiness_inputs")
               and e.action != "escalate" and not (e.entity_type == "visits" and e.actor_id == manager)
               and not (e.actor_id == manager and e.entity_type in ("reserve_pool_entries", "follow_ups",
                                                                    "assignments")))
    assert all(e.actor_id in people | {manager} for e in others if e.entity_type == "policy_pushes")


@pytest.mark.read_only
def test_the_demo_officers_edit_the_enterprises_they_serve(app, loaded, db):
    from crm.core.policy import Role
    from crm.enterprises.queries import can_edit_enterprise

    enterprises = db.session.scalars(sa.select(Enterprise)).all()
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    officer = users["officer"]
    editable = [e for e in enterprises if can_edit_enterprise(officer, e)]
    assert editable and all(e.region.path.startswith(officer.region.path) for e in editable)
    # the demo story: the `officer` account coaches the `enterprise` account's showcase enterprise
    assert can_edit_enterprise(officer, db.session.get(Enterprise, users["enterprise"].enterprise_id))
    # ...and reads, but does not edit, the enterprises of the district nobody assigned to them
    assert any(not can_edit_enterprise(officer, e) for e in enterprises if e.region_id == officer.region_id)
    for user in users.values():
        if user.role == Role.OFFICER:
            assert any(can_edit_enterprise(user, e) for e in enterprises), user.username


@pytest.mark.read_only
def test_policies_have_windows_around_today(loaded, db):
    from crm.policies.models import Policy, WindowState

    policies = db.session.scalars(sa.select(Policy)).all()
    assert 8 <= len(policies) <= 13 and all(p.issuer and p.document_no and p.summary for p in policies)
    states = {p.window_state(clock.today()) for p in policies}
    assert states == {WindowState.OPEN, WindowState.CLOSED, WindowState.NOT_YET_OPEN}
    assert any(not p.active for p in policies)
    assert any("2023年第7号" in p.document_no for p in policies)


@pytest.mark.read_only
def test_demo_has_pushes_in_every_state_grades_and_a_reserve_pool(loaded, db):
    from crm.policies.models import EnterpriseGrade, Policy, PolicyPush, ReservePoolEntry

    states = set(db.session.scalars(sa.select(PolicyPush.status)))
    assert states == {"informed", "applied", "granted", "not_granted"}
    assert any(p.conditions for p in db.session.scalars(sa.select(Policy)))
    assert set(db.session.scalars(sa.select(EnterpriseGrade.grade))) <= {"A", "B", "C", "D"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EnterpriseGrade)) > 0
    assert 0 < db.session.scalar(sa.select(sa.func.count()).select_from(ReservePoolEntry)) <= 5


@pytest.mark.read_only
def test_every_year_has_its_reports_and_the_bureaus_data_disagree_somewhere(loaded, db):
    from crm.enterprises.models import FigureReport
    from crm.enterprises.queries import disagreements

    figures = db.session.scalars(sa.select(AnnualFigures)).all()
    reports = db.session.scalars(sa.select(FigureReport)).all()
    years = {(r.enterprise_id, r.year) for r in reports}
    assert all((f.enterprise_id, f.year) in years for f in figures)
    bureaus = [r for r in reports if r.source in ("tax", "statistics")]
    assert bureaus and all(r.file_name.endswith("数据.xlsx") for r in bureaus)
    disputed = set()
    for key in {(r.enterprise_id, r.year) for r in bureaus}:
        disputed |= set(disagreements([r for r in reports if (r.enterprise_id, r.year) == key], "0.01"))
    assert {"revenue", "employees"} <= disputed
    tax = {(r.enterprise_id, r.year): r for r in reports if r.source == "tax"}
    assert all(f.revenue == tax[(f.enterprise_id, f.year)].revenue for f in figures if (f.enterprise_id, f.year) in tax)



def test_second_run_creates_nothing(app, loaded, db):
    before = _counts(db)
    output = _load(app).output
    assert _counts(db) == before
    assert f"enterprises: 0 created, {COUNT} existing" in output


def test_a_larger_count_extends_the_same_data(app, loaded, db):
    first = set(db.session.scalars(sa.select(Enterprise.uscc)))
    output = _load(app, COUNT + 5).output
    assert "enterprises: 5 created, 40 existing" in output
    assert first < set(db.session.scalars(sa.select(Enterprise.uscc)))


def test_missing_rows_of_an_existing_enterprise_are_restored(app, loaded, db):
    db.session.execute(sa.delete(AnnualFigures).where(AnnualFigures.year == registry.LAST_YEAR))
    db.session.commit()
    output = _load(app).output
    restored = db.session.scalar(
        sa.select(sa.func.count()).select_from(AnnualFigures).where(AnnualFigures.year == registry.LAST_YEAR))
    assert restored > 0 and f"annual figures: {restored} created" in output


@pytest.mark.read_only
def test_specs_are_deterministic():
    first, again = registry.build_enterprises(10), registry.build_enterprises(10)
    assert [(s.uscc, s.name, s.figures, s.ip) for s in first] == [(s.uscc, s.name, s.figures, s.ip) for s in again]


# --- the ladder -----------------------------------------------------------------------------

LADDER_COUNT = 60


@pytest.fixture
def ladder_loaded(app, db):
    """The output of one `demo load --count 60`."""
    return _shared(app, db, LADDER_COUNT)


def _certifications(db) -> list[Certification]:
    return db.session.scalars(sa.select(Certification).order_by(Certification.id)).all()


def _held_on(certs, day) -> dict[int, set[str]]:
    held: dict[int, set[str]] = defaultdict(set)
    for cert in certs:
        if cert.is_valid_on(day):
            held[cert.enterprise_id].add(cert.tier)
    return held


@pytest.mark.read_only
def test_ladder_summary_lines(ladder_loaded):
    for label in ("certifications", "tier events", "readiness inputs"):
        assert re.search(rf"^{label}: [1-9]\d* created, 0 existing$", ladder_loaded, re.M), label


@pytest.mark.read_only
def test_certifications_of_every_tier_and_status(ladder_loaded, db):
    certs = _certifications(db)
    assert {c.tier for c in certs} == {t.value for t in Tier}
    assert {c.status for c in certs} >= {"active", "expired"}
    held = _held_on(certs, demo_ladder.TODAY)
    for tier in Tier:
        assert any(tier.value in tiers for tiers in held.values()), tier


@pytest.mark.read_only
def test_certificate_numbers_have_their_shapes(ladder_loaded, db):
    certs = _certifications(db)
    usccs = dict(db.session.execute(sa.select(Enterprise.id, Enterprise.uscc)).all())
    for cert in certs:
        if cert.tier == "tech_sme":
            # 入库登记编号: year, the enterprise's county (as in its USCC), a letter, seven digits.
            assert re.fullmatch(r"20\d{2}64\d{4}[A-Z]\d{7}", cert.certificate_no), cert.certificate_no
            assert cert.certificate_no[:4] == str(cert.issued_on.year)
            assert cert.certificate_no[4:10] == usccs[cert.enterprise_id][2:8]
            assert cert.expires_on == date(cert.issued_on.year, 12, 31) and not cert.expiry_overridden
        elif cert.tier == "high_tech":
            assert re.fullmatch(r"GR20\d{2}64\d{6}", cert.certificate_no), cert.certificate_no
            assert cert.certificate_no[2:6] == str(cert.issued_on.year)
            assert cert.expires_on == compute_expiry("high_tech", cert.issued_on) and not cert.expiry_overridden
        else:  # regional tiers: three years, typed in
            assert cert.expires_on is not None and cert.expiry_overridden
    assert len({(c.tier, c.certificate_no) for c in certs}) == len(certs)


@pytest.mark.read_only
def test_statuses_follow_the_dates(ladder_loaded, db):
    today = demo_ladder.TODAY
    for cert in _certifications(db):
        assert cert.issued_on <= today
        if cert.status == "expired":
            assert cert.expires_on < today
        elif cert.status == "active":
            assert cert.expires_on is None or cert.expires_on >= today
        else:
            assert cert.status == "revoked" and cert.note and cert.status_changed_on <= today
    this_year = [c for c in _certifications(db) if c.tier == "tech_sme" and c.issued_on.year == today.year]
    assert this_year and all(c.status == "active" and 3 <= c.issued_on.month <= 5 for c in this_year)


@pytest.mark.read_only
def test_every_certification_has_its_events(ladder_loaded, db):
    events: dict[int, list[TierEvent]] = defaultdict(list)
    for event in db.session.scalars(sa.select(TierEvent)):
        events[event.certification_id].append(event)
    for cert in _certifications(db):
        kinds = {e.kind: e for e in events[cert.id]}
        assert len(kinds) == len(events[cert.id]), cert.certificate_no  # one of each kind
        assert kinds["gained"].occurred_on == cert.issued_on
        assert all(e.tier == cert.tier and e.enterprise_id == cert.enterprise_id for e in kinds.values())
        if cert.status == "expired":
            assert set(kinds) == {"gained", "expired"}
            assert kinds["expired"].occurred_on == cert.expires_on + timedelta(days=1)
        elif cert.status == "revoked":
            assert set(kinds) == {"gained", "revoked"}
            assert kinds["revoked"].occurred_on == cert.status_changed_on
        else:
            assert set(kinds) == {"gained"}


@pytest.mark.read_only
def test_current_tier_is_the_highest_valid_one(ladder_loaded, db):
    by_enterprise: dict[int, list[Certification]] = defaultdict(list)
    for cert in _certifications(db):
        by_enterprise[cert.enterprise_id].append(cert)
    enterprises = db.session.scalars(sa.select(Enterprise)).all()
    assert sum(1 for e in enterprises if e.current_tier) > LADDER_COUNT / 3
    for enterprise in enterprises:
        assert enterprise.current_tier == current_tier_of(by_enterprise[enterprise.id], clock.today())


@pytest.mark.read_only
def test_higher_tiers_stand_on_their_base(ladder_loaded, db):
    held = _held_on(_certifications(db), demo_ladder.TODAY)
    for tiers in held.values():
        if tiers & {"gazelle", "demonstration"}:
            assert "high_tech" in tiers
        if "little_giant" in tiers:
            assert tiers & {"tech_sme", "high_tech"}


@pytest.mark.read_only
def test_high_tech_holders_mostly_fit_the_criteria():
    specs = registry.build_enterprises(300)
    plans = demo_ladder.build_ladder(specs, registry.showcase_of(specs))
    fits = [demo_ladder.fit_of(s) for s, p in zip(specs, plans, strict=True) if p.valid("high_tech")]
    active = sum(1 for s in specs if demo_ladder.fit_of(s).active)
    assert 0.15 <= len(fits) / active <= 0.21
    assert sum(f.ht_figures_ok for f in fits) >= 0.85 * len(fits)
    sme = sum(1 for p in plans if p.valid("tech_sme"))
    assert 0.35 <= sme / active <= 0.45


@pytest.mark.read_only
def test_readiness_inputs_of_most_active_enterprises(ladder_loaded, db):
    rows = db.session.scalars(sa.select(ReadinessInputs)).all()
    active = db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise).where(
        Enterprise.status == "active", Enterprise.archived_at.is_(None)))
    assert len(rows) >= 0.75 * active
    assert all(r.resident is True and r.restricted_industry is False for r in rows)
    # the officers' answers (an enterprise on the demo's negative list keeps its officer's answer aside, crm.credit)
    answers = [r.clean_record_before_list if r.clean_record_source else r.clean_record for r in rows]
    assert sum(a is True for a in answers) >= 0.9 * len(rows)
    assert 0 < sum(bool(r.clean_record_source) and r.clean_record is False for r in rows) <= 2
    judged = [r for r in rows if r.ip_advancement is not None]
    assert 0 < len(judged) < len(rows) / 2
    for r in judged:
        for name, top in JUDGEMENT_MAX.items():
            value = getattr(r, name)
            assert isinstance(value, Decimal) and 0 <= value <= top and value == value.quantize(Decimal("0.1"))


@pytest.mark.read_only
def test_the_showcase_holds_tech_sme_and_is_close_to_high_tech(ladder_loaded, db):
    company = db.session.scalar(sa.select(User).where(User.username == "enterprise")).enterprise
    certs = db.session.scalars(sa.select(Certification).where(Certification.enterprise_id == company.id)).all()
    tech_sme = [c for c in certs if c.tier == "tech_sme" and c.is_valid_on(demo_ladder.TODAY)]
    assert tech_sme and tech_sme[0].issued_on.year == demo_ladder.TODAY.year
    assert not any(c.tier == "high_tech" for c in certs)
    spec = registry.showcase_of(registry.build_enterprises(1))
    assert demo_ladder.fit_of(spec).near_ht  # one criterion short, by a small gap
    conversions = [f.conversions for f in company.figures]
    assert conversions and all(c is not None and 0 <= c <= 8 for c in conversions)


@pytest.mark.read_only
def test_conversions_only_where_there_is_ip(ladder_loaded, db):
    rows = db.session.execute(sa.select(AnnualFigures.conversions, sa.func.count(IntellectualProperty.id))
                              .outerjoin(IntellectualProperty,
                                         IntellectualProperty.enterprise_id == AnnualFigures.enterprise_id)
                              .group_by(AnnualFigures.id, AnnualFigures.conversions)).all()
    assert all((conversions is not None) == (ip > 0) for conversions, ip in rows)
    assert all(0 <= conversions <= 8 for conversions, _ in rows if conversions is not None)


def test_second_ladder_run_creates_nothing(app, ladder_loaded, db):
    before = _counts(db)
    tiers = dict(db.session.execute(sa.select(Enterprise.id, Enterprise.current_tier)).all())
    output = _load(app, LADDER_COUNT).output
    assert _counts(db) == before
    assert dict(db.session.execute(sa.select(Enterprise.id, Enterprise.current_tier)).all()) == tiers
    for label in ("certifications", "tier events", "readiness inputs"):
        assert re.search(rf"^{label}: 0 created, [1-9]\d* existing$", output, re.M), label
    assert _counts(db)["audit_events"] == before["audit_events"]


def test_an_earlier_load_without_the_ladder_is_completed(app, ladder_loaded, db):
    """A database loaded before the ladder existed: conversions are filled in, the ladder added."""
    for table in (TierEvent, Certification, ReadinessInputs, AuditEvent):
        db.session.execute(sa.delete(table))
    db.session.execute(sa.update(AnnualFigures).values(conversions=None))
    db.session.execute(sa.update(Enterprise).values(current_tier=None))
    db.session.commit()
    output = _load(app, LADDER_COUNT).output
    filled = db.session.scalar(sa.select(sa.func.count()).select_from(AnnualFigures)
                               .where(AnnualFigures.conversions.is_not(None)))
    assert filled and f"{filled} completed" in output
    assert re.search(r"^certifications: [1-9]\d* created", output, re.M)
    assert [e.action for e in db.session.scalars(sa.select(AuditEvent))] == ["demo_load"]
    assert "completed" not in _load(app, LADDER_COUNT).output


@pytest.mark.read_only
def test_ladder_plans_are_deterministic_and_independent_of_the_count():
    specs = registry.build_enterprises(LADDER_COUNT)
    plans = demo_ladder.build_ladder(specs, registry.showcase_of(specs))
    again = demo_ladder.build_ladder(specs, registry.showcase_of(specs))
    assert plans == again
    fewer = registry.build_enterprises(25)
    assert demo_ladder.build_ladder(fewer, registry.showcase_of(fewer)) == plans[:25]


def test_most_active_enterprises_are_assigned_to_their_county_officer(app, loaded, db):
    from crm.core.policy import Role
    from crm.service.models import Assignment

    officer_counties = {u.region.code for u in db.session.scalars(sa.select(User).where(User.role == Role.OFFICER))}
    assignments = db.session.scalars(sa.select(Assignment)).all()
    assert assignments and all(a.ends_on is None for a in assignments)
    assert len({a.enterprise_id for a in assignments}) == len(assignments)  # one current per enterprise
    for a in assignments:
        assert a.officer.role == Role.OFFICER
        assert a.officer.region.code == registry.county_of(a.enterprise.region.code).code
        assert a.starts_on <= clock.today()
    active = db.session.scalars(sa.select(Enterprise).where(Enterprise.status == "active",
                                                            Enterprise.archived_at.is_(None))).all()
    covered = [e for e in active if registry.county_of(e.region.code).code in officer_counties]
    assigned = {a.enterprise_id for a in assignments}
    assert len(assigned) >= 0.7 * len(covered)
    assert all(e.id not in assigned for e in active if e not in covered)  # no officer in the county: unassigned
    output = _load(app).output
    assert re.search(rf"^assignments: 0 created, {len(assignments)} existing$", output, re.M)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == len(assignments)


# --- service work: departments, policies, visits, needs, follow-ups --------------------------


@pytest.fixture
def full(app, db):
    """The output of one default `demo load` (300 enterprises), as `make run` does it."""
    return _shared(app, db, 300)


def _open_follow_ups(db, officer_id: int, today: date) -> dict[str, int]:
    from crm.service.models import FollowUp

    rows = db.session.scalars(sa.select(FollowUp).where(FollowUp.assignee_id == officer_id,
                                                        FollowUp.done_at.is_(None))).all()
    return {"today": sum(f.due_on == today for f in rows), "overdue": sum(f.due_on < today for f in rows),
            "week": sum(today < f.due_on <= today + timedelta(days=7) for f in rows)}


@pytest.mark.read_only
def test_service_work_of_the_default_load(app, full, db):
    from crm.service.models import (
        FollowUp,
        Need,
        NeedCategory,
        NeedStatus,
        Visit,
        VisitMode,
        visit_policies,
    )

    today = clock.today()
    counts = _counts(db)
    callbacks = db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp).where(FollowUp.source == "callback"))
    from crm.surveys.models import SurveyRaisedNeed

    surveyed = db.session.scalar(sa.select(sa.func.count()).select_from(SurveyRaisedNeed))  # crm.demo.surveys
    assert 600 <= counts["visits"] <= 900 and 250 <= counts["needs"] - surveyed <= 380
    assert 200 <= counts["follow_ups"] - callbacks <= 320  # besides one call-back (回访) per resolved need
    for label in ("visits", "needs", "follow-ups"):
        assert re.search(rf"^{label}: [1-9]\d* created, 0 existing$", full, re.M), label
    visits = db.session.scalars(sa.select(Visit)).all()
    assert {v.mode for v in visits} == {m.value for m in VisitMode}
    assert all(today - timedelta(days=366) <= v.visited_on <= today for v in visits)
    assert all(v.summary and v.people_met for v in visits)
    assert len({v.summary for v in visits}) > 0.9 * len(visits)  # built from parts, hardly ever the same
    assert counts["visit_policies"] > counts["visits"] / 2
    # the officers who serve more enterprises visit more
    per_officer = dict(db.session.execute(sa.select(User.username, sa.func.count(Visit.id))
                                          .join(Visit, Visit.officer_id == User.id).group_by(User.username)).all())
    assert per_officer["officer"] > 2 * per_officer["officer_yuanzhou"]

    needs = db.session.scalars(sa.select(Need)).all()
    assert {n.category for n in needs} == {c.value for c in NeedCategory}
    assert {n.status for n in needs} == {s.value for s in NeedStatus}
    resolved = [n for n in needs if n.status == NeedStatus.RESOLVED]
    assert len(resolved) > len(needs) / 2
    assert all(n.resolution and 3 <= n.satisfaction <= 5 and n.raised_on <= n.closed_on <= today for n in resolved)
    assert all(n.department is not None for n in needs if n.status == NeedStatus.REFERRED)
    assert all(n.raised_on <= today and n.owner is not None for n in needs)
    assert any(n.is_overdue(today) for n in needs)
    assert all(n.visit_id is None or n.visit.visited_on == n.raised_on for n in needs)

    follow_ups = db.session.scalars(sa.select(FollowUp)).all()
    done = [f for f in follow_ups if f.is_done]
    assert len(done) > len(follow_ups) / 2 and any(f.done_note for f in done)
    assert all(clock.local_date(f.done_at) <= today for f in done)
    assert any(f.is_overdue(today) for f in follow_ups)
    # the history is dated in the story, not on the day of the load
    assert min(v.created_at for v in visits) < datetime.now(UTC) - timedelta(days=200)
    cited = db.session.execute(sa.select(visit_policies.c.policy_id).distinct()).scalars().all()
    assert len(cited) >= 10


@pytest.mark.read_only
def test_every_officer_has_a_desk_to_work_on(app, full, db):
    from crm.service.models import OPEN_NEED_STATUSES, Assignment, Need, Visit

    today = clock.today()
    officers = db.session.scalars(sa.select(User).where(User.role == "officer")).all()
    assert {o.username for o in officers} >= {"officer", "officer_xingqing"}
    for officer in officers:
        desk = _open_follow_ups(db, officer.id, today)
        assert desk["today"] >= 2 and desk["overdue"] >= 2 and desk["week"] >= 2, (officer.username, desk)
        open_needs = db.session.scalar(sa.select(sa.func.count()).select_from(Need).where(
            Need.owner_id == officer.id, Need.status.in_(OPEN_NEED_STATUSES)))
        assert open_needs >= 3, officer.username
    officer = next(o for o in officers if o.username == "officer")
    last_visits = db.session.execute(
        sa.select(Assignment.enterprise_id, sa.func.max(Visit.visited_on))
        .outerjoin(Visit, Visit.enterprise_id == Assignment.enterprise_id)
        .where(Assignment.officer_id == officer.id, Assignment.ends_on.is_(None))
        .group_by(Assignment.enterprise_id)).all()
    stale = [e for e, last in last_visits if last is None or last < today - timedelta(days=90)]
    assert 0 < len(stale) < len(last_visits) / 2


def test_service_work_is_loaded_once(app, loaded, db):
    from crm.service.models import Department

    before = _counts(db)
    output = _load(app).output
    assert _counts(db) == before
    for label in ("departments", "policies", "visits", "needs", "follow-ups"):
        assert re.search(rf"^{label}: 0 created, [1-9]\d* existing$", output, re.M), label
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Department)) == 10


def test_departments_are_restored_without_duplicates(app, db):
    from crm.service.models import Department

    db.session.add(Department(name="税务局", position=7))
    db.session.commit()
    output = _load(app).output
    names = db.session.scalars(sa.select(Department.name)).all()
    assert len(names) == len(set(names)) == 10
    assert "departments: 9 created, 1 existing" in output


def test_demo_has_notifications_read_and_unread_job_history_and_snapshots(app, full, db):
    from crm.notify.models import JobRun, Notification
    from crm.pipeline.models import TierSnapshot

    runs = db.session.scalars(sa.select(JobRun)).all()
    assert runs and all(r.outcome == "ok" for r in runs)
    notes = db.session.scalars(sa.select(Notification)).all()
    read = [n for n in notes if n.read_at is not None]
    assert notes and 0 < len(read) < len(notes)
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    assert any(n.user_id == users["officer"].id and n.read_at is None for n in notes)
    assert any(n.user_id == users["manager"].id for n in notes)
    assert len({s.month_end for s in db.session.scalars(sa.select(TierSnapshot))}) == 24
    assert re.search(r"^notifications: [1-9]\d* created$", full, re.M)
    # a second load runs no job again and writes no notification
    before = len(notes)
    assert re.search(r"^notifications: 0 created$", _load(app, 300).output, re.M)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == before


def test_portal_demo_contacts_requests_and_submissions(app, loaded, db):
    from crm.portal.models import Submission
    from crm.service.models import Need, NeedComment

    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.role == "enterprise"))}
    assert {"enterprise", "enterprise2", "enterprise3", "enterprise4", "enterprise5"} <= set(users)
    assert len({u.enterprise_id for u in users.values()}) == len(users)
    statuses = [s.status for s in db.session.scalars(sa.select(Submission))]
    assert statuses.count("pending") >= 3 and "returned" in statuses
    portal_needs = db.session.scalars(sa.select(Need).where(Need.created_by_id.in_([u.id for u in users.values()])))
    assert all(n.owner is not None and n.owner.role == "officer" for n in portal_needs)
    comments = db.session.scalars(sa.select(NeedComment)).all()
    assert any(not c.visible_to_enterprise for c in comments) and any(c.visible_to_enterprise for c in comments)
    before = _counts(db)
    output = _load(app).output
    assert _counts(db) == before
    assert re.search(r"^submissions: 0 created, [1-9]\d* existing$", output, re.M)
