"""Held tiers at risk (保级预警): the held tier's criteria on today's figures, year-on-year drops, officers' flags,
within 18 months of expiry; scoped; the workbench's count."""
from datetime import date, timedelta
from decimal import Decimal

from crm.core import clock
from crm.cycle import queries, services
from tests import factories
from tests.helpers import text
from tests.ladder.test_readiness_panel import Y, near_high_tech


def _high_tech(enterprise, employees: int, tech_staff: int, issued_on: date | None = None):
    """A 高企 meeting every criterion (R&D 160 of 3000 a year) with the latest year's staff as given."""
    near_high_tech(enterprise)
    for f in enterprise.figures:
        f.rd_expense = f.rd_expense_domestic = Decimal("160.00")
        if f.year == clock.today().year - 1:
            f.employees, f.tech_staff = employees, tech_staff
    issued = issued_on or clock.today() - timedelta(days=365 * 2)
    return factories.certification(enterprise, "high_tech", issued_on=issued)


def _reasons(user, enterprise):
    found = [r for r in queries.at_risk(user, lang="en") if r.enterprise.id == enterprise.id]
    return found[0] if found else None


def test_the_tech_staff_boundary(world, db):
    assert Y == clock.today().year - 1
    admin = factories.user("admin")
    _high_tech(world.ent_x, employees=1000, tech_staff=100)  # exactly 10 %: stays
    _high_tech(world.ent_y, employees=1000, tech_staff=99)  # 9.9 %: listed
    db.session.commit()
    assert _reasons(admin, world.ent_x) is None
    risky = _reasons(admin, world.ent_y)
    assert risky is not None and risky.tier == "high_tech" and len(risky.failing) == 1
    assert "staff" in risky.failing[0].lower()


def test_only_within_18_months_of_expiry(world, db):
    admin = factories.user("admin")
    # issued this year: expires in about three years, outside the window whatever its figures
    _high_tech(world.ent_x, employees=1000, tech_staff=50, issued_on=clock.today() - timedelta(days=10))
    db.session.commit()
    assert _reasons(admin, world.ent_x) is None


def test_drops_and_flags(world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    _high_tech(world.ent_x, employees=1000, tech_staff=200)
    latest = clock.today().year - 1
    previous = next(f for f in world.ent_x.figures if f.year == latest - 1)
    previous.revenue = Decimal("4000.00")  # 3000 now: a fall of 25 %
    services.set_flag(world.ent_x, "courted", True, actor=officer, note="银川以外园区接洽")
    db.session.commit()
    risky = _reasons(officer, world.ent_x)
    assert risky.flags == ["courted"]
    assert [name for name, _share in risky.drops] == ["revenue"] and risky.drops[0][1] == Decimal("0.25")
    # scoped: an officer of another county sees nothing of it
    assert _reasons(factories.user("officer", region=world.county_y), world.ent_x) is None


def test_page_and_workbench(client, login_as, world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    _high_tech(world.ent_x, employees=1000, tech_staff=99)
    db.session.commit()
    login_as(officer)
    page = text(client.get("/cycle/at-risk"))
    assert world.ent_x.name in page and "risk-criterion" in page
    workbench = text(client.get("/workbench"))
    assert 'id="wb-at-risk"' in workbench and '<span class="badge text-bg-danger">1</span>' in workbench
    login_as("enterprise", enterprise=world.ent_x)
    assert client.get("/cycle/at-risk").status_code == 403


def test_a_high_tech_due_for_re_certification_without_an_application(client, login_as, world, db):
    from crm.service.jobs import recertification_follow_ups
    from tests.cycle.helpers import application, batch

    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x, world.ent_park])
    today = clock.today()
    # issued three years less 100 days ago: expires in about 100 days, meets every criterion
    _high_tech(world.ent_x, employees=1000, tech_staff=200, issued_on=today - timedelta(days=3 * 365 - 100))
    _high_tech(world.ent_park, employees=1000, tech_staff=200, issued_on=today - timedelta(days=3 * 365 - 100))
    # 200 days left: outside the re-certification window
    _high_tech(world.ent_y, employees=1000, tech_staff=200, issued_on=today - timedelta(days=3 * 365 - 200))
    db.session.commit()
    x = _reasons(officer, world.ent_x)
    assert x.recert_due and x.reasons == 1 and x.recert_follow_up_on is None and not x.failing
    assert _reasons(factories.user("admin"), world.ent_y) is None
    # the scheduler's 180-day job plans the follow-up: the list shows when it is due
    recertification_follow_ups(today)
    db.session.commit()
    assert _reasons(officer, world.ent_x).recert_follow_up_on == today + timedelta(days=30)
    # filing the re-certification takes the park off the list
    application(batch(world.city, "high_tech"), world.ent_park, "materials")
    db.session.commit()
    assert _reasons(officer, world.ent_park) is None
    login_as(officer)
    page = text(client.get("/cycle/at-risk"))
    assert world.ent_x.name in page and world.ent_park.name not in page
    assert (today + timedelta(days=30)).isoformat() in page
