"""`flask --app wsgi demo load`: valid, consistent, deterministic and idempotent demo data."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.auth.models import User
from crm.core.audit import AuditEvent
from crm.core.security import verify_password
from crm.core.uscc import is_valid_uscc
from crm.demo import registry
from crm.demo.accounts import DEMO_PASSWORD
from crm.enterprises.industries import parse_industry_code
from crm.enterprises.models import AMOUNT_FIELDS, AnnualFigures, Enterprise, IntellectualProperty, Region

COUNT = 40


def _load(app, count: int = COUNT):
    result = app.test_cli_runner().invoke(args=["demo", "load", "--count", str(count)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture
def loaded(app, db):
    """The output of one `demo load --count 40`."""
    return _load(app).output


def _counts(db) -> dict[str, int]:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def test_load_prints_the_summary_accounts_and_password(loaded):
    assert f"enterprises: {COUNT} created, 0 existing" in loaded
    assert DEMO_PASSWORD in loaded
    for username in ("admin", "manager", "officer", "enterprise"):
        assert f"  {username} " in loaded


def test_usccs_are_valid_and_unique_and_industry_codes_parse(loaded, db):
    enterprises = db.session.scalars(sa.select(Enterprise)).all()
    assert len(enterprises) == COUNT
    assert all(is_valid_uscc(e.uscc) for e in enterprises)
    assert len({e.uscc for e in enterprises}) == COUNT
    assert len({e.name for e in enterprises}) == COUNT
    assert all(parse_industry_code(e.industry_code) for e in enterprises)
    # The registration area in the code is the enterprise's county (a park's parent county).
    assert all(e.uscc[2:8] == registry.county_of(e.region.code).code for e in enterprises)


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


def test_ip_numbers_are_unique_per_enterprise_and_kind(loaded, db):
    keys = db.session.execute(sa.select(
        IntellectualProperty.enterprise_id, IntellectualProperty.kind, IntellectualProperty.number)).all()
    assert keys and len(set(keys)) == len(keys)
    patents = [number for _, kind, number in keys if number.startswith("ZL")]
    assert all(len(number) == 16 and number[14] == "." for number in patents)


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


def test_region_paths_follow_the_tree(loaded, db):
    regions = db.session.scalars(sa.select(Region)).all()
    assert {r.code for r in regions} == {spec.code for spec in registry.REGIONS}
    for region in regions:
        if region.parent is None:
            assert region.path == f"/{region.id}/"
        else:
            assert region.path == f"{region.parent.path}{region.id}/"


def test_one_audit_event_for_the_load(loaded, db):
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert [e.action for e in events] == ["demo_load"]


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


def test_specs_are_deterministic():
    first, again = registry.build_enterprises(10), registry.build_enterprises(10)
    assert [(s.uscc, s.name, s.figures, s.ip) for s in first] == [(s.uscc, s.name, s.figures, s.ip) for s in again]
