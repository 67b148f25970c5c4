"""The enterprise page and its forms: access, validation (errors next to fields, nothing saved), saving."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.enterprises.models import AnnualFigures, Contact, Enterprise, IntellectualProperty
from tests import factories
from tests.helpers import en, text, zh

GOOD_FIGURES = {"year": "2024", "revenue": "3200", "hightech_revenue": "2300", "rd_expense": "180.5",
                "rd_expense_domestic": "170", "total_cost": "2800", "total_income": "", "total_assets": "4,100",
                "net_assets": "2100", "employees": "85", "tech_staff": "14", "rd_staff": "10"}


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- who may read and edit ----------------------------------------------------------------


@pytest.mark.parametrize("who,status", [
    ("officer_x", 200), ("officer_x_unassigned", 200), ("officer_y", 404), ("manager_city", 200),
    ("manager_other_city", 404), ("admin", 200), ("enterprise_own", 403), ("enterprise_other", 403),
])  # enterprise users read their own enterprise in the portal (tests/portal), never on the bureau's page
def test_who_reads_an_enterprise_page(client, login_as, world, who, status):
    users = {
        "officer_x": ("officer", {"region": world.county_x, "serves": [world.ent_x]}),
        "officer_x_unassigned": ("officer", {"region": world.county_x}),
        "officer_y": ("officer", {"region": world.county_y}),
        "manager_city": ("manager", {"region": world.city}),
        "manager_other_city": ("manager", {"region": world.other_city}), "admin": ("admin", {}),
        "enterprise_own": ("enterprise", {"enterprise": world.ent_x}),
        "enterprise_other": ("enterprise", {"enterprise": world.ent_y}),
    }
    role, kw = users[who]
    login_as(role, **kw)
    assert client.get(f"/enterprises/{world.ent_x.id}").status_code == status


def test_missing_enterprise_is_404(client, login_as, world):
    login_as("admin")
    assert client.get("/enterprises/999999").status_code == 404


@pytest.mark.parametrize("who,status", [
    ("officer_x", 200), ("officer_x_unassigned", 403), ("officer_y", 404), ("manager_city", 403), ("admin", 200),
    ("enterprise_own", 403),
])
def test_who_may_edit(client, login_as, world, who, status):
    users = {
        "officer_x": ("officer", {"region": world.county_x, "serves": [world.ent_x]}),
        "officer_x_unassigned": ("officer", {"region": world.county_x}),
        "officer_y": ("officer", {"region": world.county_y}),
        "manager_city": ("manager", {"region": world.city}), "admin": ("admin", {}),
        "enterprise_own": ("enterprise", {"enterprise": world.ent_x}),
    }
    role, kw = users[who]
    login_as(role, **kw)
    eid = world.ent_x.id
    for url in (f"/enterprises/{eid}/edit", f"/enterprises/{eid}/figures/new", f"/enterprises/{eid}/ip/new",
                f"/enterprises/{eid}/contacts/new"):
        assert client.get(url).status_code == status, url
    if status != 200:
        before = count(client.application.extensions["sqlalchemy"], AnnualFigures)
        assert client.post(f"/enterprises/{eid}/figures/new", data=GOOD_FIGURES).status_code == status
        assert client.post(f"/enterprises/{eid}/archive").status_code == status
        assert count(client.application.extensions["sqlalchemy"], AnnualFigures) == before


@pytest.mark.parametrize("who", ["manager", "officer"])
def test_read_only_users_see_no_edit_buttons(client, login_as, world, who):
    login_as(who, region=world.city if who == "manager" else world.county_x)  # the officer serves nothing
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert f"/enterprises/{world.ent_x.id}/edit" not in page
    assert f"/enterprises/{world.ent_x.id}/figures/new" not in page


def test_officer_cannot_move_an_enterprise_out_of_their_region(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    data = {"name": "兴庆智能装备有限公司", "uscc": world.ent_x.uscc, "region_id": str(world.county_z.id),
            "industry_code": "C3511", "status": "active"}
    response = client.post(f"/enterprises/{world.ent_x.id}/edit", data=data)
    assert response.status_code in (403, 422)
    db.session.refresh(world.ent_x)
    assert world.ent_x.region_id == world.county_x.id


# --- the page -----------------------------------------------------------------------------


def test_page_shows_profile_contacts_figures_ratios_and_ip(client, login_as, world, db):
    factories.figures(world.ent_x, 2024, revenue=Decimal("1000"), rd_expense=Decimal("52.34"),
                      hightech_revenue=Decimal("700"), employees=100, tech_staff=25, rd_staff=10,
                      rd_expense_domestic=Decimal("50"))
    factories.ip(world.ent_x, "invention_patent", number="ZL202110000001.X")
    factories.ip(world.ent_x, "utility_model", number="ZL202120000001.X")
    db.session.add(Contact(enterprise_id=world.ent_x.id, name="张伟", title="总经理", phone="13900000000",
                           is_primary=True))
    db.session.commit()
    login_as("officer", region=world.county_x)
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert "兴庆智能装备有限公司" in page and world.ent_x.uscc in page
    assert "宁夏回族自治区 / 银川市 / 兴庆区" in page
    assert "张伟" in page and "13900000000" in page
    assert "1,000.00" in page and "52.34" in page
    assert "5.2%" in page  # R&D ÷ revenue
    assert "25.0%" in page  # tech staff ÷ employees
    assert "70.0%" in page  # high-tech revenue share
    assert "ZL202110000001.X" in page and zh("Class I") in page and zh("Class II") in page
    assert zh("Candidate") in page


# --- enterprise profile form --------------------------------------------------------------


def _profile(world, **kw):
    data = {"name": "银川新注册科技有限公司", "uscc": factories.uscc("640104"), "region_id": str(world.county_x.id),
            "address": "金凤区", "industry_code": "C3985", "tech_domain": "electronic_information",
            "established_on": "2019-04-01", "status": "active"}
    data.update(kw)
    return data


def test_officer_registers_an_enterprise(client, login_as, world, db):
    login_as("officer", region=world.county_x)
    data = _profile(world)
    response = client.post("/enterprises/new", data=data)
    assert response.status_code == 303
    e = db.session.scalar(select(Enterprise).where(Enterprise.uscc == data["uscc"]))
    assert e.name == "银川新注册科技有限公司" and e.established_on == date(2019, 4, 1)


@pytest.mark.parametrize("field,value,message", [
    ("uscc", "91350100M000100Y44", ("Check digit is wrong.", {})),
    ("uscc", "9135", ("A unified social credit code has 18 characters (this one has %(n)d).", {"n": 4})),
    ("uscc", "", ("This field is required.", {})),
    ("name", "", ("This field is required.", {})),
    ("industry_code", "Z9999", ("Not a GB/T 4754 industry code (e.g. C3511 or C35).", {})),
    ("established_on", "2019-13-01", ("Enter a date as YYYY-MM-DD, e.g. 2018-03-12.", {})),
    ("established_on", "2999-01-01", ("The establishment date must be between 1900 and today.", {})),
])
def test_profile_validation(client, login_as, world, db, field, value, message):
    login_as("officer", region=world.county_x)
    before = count(db, Enterprise)
    response = client.post("/enterprises/new", data=_profile(world, **{field: value}))
    assert response.status_code == 422
    assert zh(message[0], **message[1]) in text(response)
    assert count(db, Enterprise) == before


def test_duplicate_uscc_is_refused(client, login_as, world, db):
    login_as("officer", region=world.county_x)
    response = client.post("/enterprises/new", data=_profile(world, uscc=world.ent_y.uscc))
    assert response.status_code == 422
    assert zh("Another enterprise already has this unified social credit code.") in text(response)


def test_errors_in_english_for_english_users(client, login_as, world, db):
    login_as("officer", region=world.county_x, locale="en")
    response = client.post("/enterprises/new", data=_profile(world, uscc="91350100M000100Y44"))
    assert en("Check digit is wrong.") in text(response)


# --- annual figures -----------------------------------------------------------------------


def test_figures_are_saved_as_decimal(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new", data=GOOD_FIGURES)
    assert response.status_code == 303
    f = db.session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == world.ent_x.id))
    assert f.rd_expense == Decimal("180.50") and isinstance(f.rd_expense, Decimal)
    assert f.total_assets == Decimal("4100.00")
    assert f.source == "officer" and f.verified is False


@pytest.mark.parametrize("changes,field,message", [
    ({"revenue": "-1"}, "revenue", ("Must not be negative.", {})),
    ({"revenue": "12.345"}, "revenue", ("At most two decimal places (amounts are in 10k CNY).", {})),
    ({"revenue": "abc"}, "revenue", ("Enter a number, e.g. 1234.5.", {})),
    ({"tech_staff": "86"}, "tech_staff", ("Tech staff cannot exceed employees.", {})),
    ({"rd_staff": "90"}, "rd_staff", ("R&D staff cannot exceed employees.", {})),
    ({"rd_expense_domestic": "200"}, "rd_expense_domestic", ("Domestic R&D expense cannot exceed R&D expense.", {})),
    ({"hightech_revenue": "3300"}, "hightech_revenue", ("High-tech revenue cannot exceed revenue.", {})),
    ({"employees": "8.5"}, "employees", ("Enter a whole number of people, e.g. 85.", {})),
    ({"year": "1970"}, "year", ("The year must be between %(a)d and %(b)d.", {"a": 1980, "b": date.today().year})),
    ({"year": "3000"}, "year", ("The year must be between %(a)d and %(b)d.", {"a": 1980, "b": date.today().year})),
    ({"year": "24"}, "year", ("Enter a four-digit year, e.g. 2024.", {})),
])
def test_figures_validation(client, login_as, world, db, changes, field, message):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new", data={**GOOD_FIGURES, **changes})
    assert response.status_code == 422
    page = text(response)
    assert zh(message[0], **message[1]) in page
    # the message sits next to its field
    assert f'id="{field}"' in page and "is-invalid" in page
    assert count(db, AnnualFigures) == 0


def test_net_assets_may_be_negative(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new", data={**GOOD_FIGURES, "net_assets": "-20"})
    assert response.status_code == 303


def test_one_row_per_year(client, login_as, world, db):
    factories.figures(world.ent_x, 2024)
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new", data=GOOD_FIGURES)
    assert response.status_code == 422
    assert zh("Figures for %(year)s already exist; edit that year instead.", year=2024) in text(response)


def test_editing_verified_figures_unverifies_them(client, login_as, world, db):
    f = factories.figures(world.ent_x, 2024)
    db.session.commit()
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    assert client.post(f"/enterprises/{world.ent_x.id}/figures/{f.id}/verify").status_code == 303
    db.session.refresh(f)
    assert f.verified and f.verified_at is not None
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/{f.id}/edit", data={**GOOD_FIGURES, "revenue": "3300"})
    assert response.status_code == 303
    db.session.refresh(f)
    assert f.revenue == Decimal("3300.00") and not f.verified


def test_figures_of_another_enterprise_cannot_be_reached_through_this_one(client, login_as, world, db):
    f = factories.figures(world.ent_park, 2024)
    db.session.commit()
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    assert client.get(f"/enterprises/{world.ent_x.id}/figures/{f.id}/edit").status_code == 404


# --- IP and contacts ----------------------------------------------------------------------


def test_ip_add_validate_remove(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    url = f"/enterprises/{world.ent_x.id}/ip/new"
    data = {"kind": "software_copyright", "title": "智能装备控制系统V1.0", "number": "2023SR0123456",
            "granted_on": "2023-05-06", "is_valid": "y"}
    assert client.post(url, data=data).status_code == 303
    again = client.post(url, data=data)
    assert again.status_code == 422
    assert zh("This enterprise already has an item of this kind with this number.") in text(again)
    bad = client.post(url, data={**data, "number": "X1", "kind": "nonsense"})
    assert bad.status_code == 422
    future = client.post(url, data={**data, "number": "X2", "granted_on": "2999-01-01"})
    assert zh("The grant date cannot be in the future.") in text(future)
    item = db.session.scalar(select(IntellectualProperty))
    assert item.ip_class == 2
    assert client.post(f"/enterprises/{world.ent_x.id}/ip/{item.id}/delete").status_code == 303
    assert count(db, IntellectualProperty) == 0


def test_contacts_one_primary(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    url = f"/enterprises/{world.ent_x.id}/contacts/new"
    assert client.post(url, data={"name": "张伟", "phone": "139", "is_primary": "y"}).status_code == 303
    assert client.post(url, data={"name": "王芳", "is_primary": "y"}).status_code == 303
    primaries = db.session.scalars(select(Contact.name).where(Contact.is_primary.is_(True))).all()
    assert primaries == ["王芳"]
    bad = client.post(url, data={"name": "", "email": "not-an-email"})
    assert bad.status_code == 422
    assert zh("Not an e-mail address.") in text(bad) and zh("This field is required.") in text(bad)
    assert count(db, Contact) == 2


# --- archive ------------------------------------------------------------------------------


def test_archive_and_restore(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    assert client.post(f"/enterprises/{world.ent_x.id}/archive").status_code == 303
    db.session.refresh(world.ent_x)
    assert world.ent_x.archived_at is not None
    assert ">兴庆智能装备有限公司</a>" not in text(client.get("/enterprises"))
    assert client.get(f"/enterprises/{world.ent_x.id}").status_code == 200  # still readable
    assert client.post(f"/enterprises/{world.ent_x.id}/restore").status_code == 303
    db.session.refresh(world.ent_x)
    assert world.ent_x.archived_at is None
    assert count(db, Enterprise) == 4  # never deleted
