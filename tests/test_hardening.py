"""Edge cases found in review: races, number formats, pagination and query-string abuse, escaping, headers."""
import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.core.uow import unit_of_work
from crm.enterprises.forms import FiguresForm
from crm.enterprises.models import AnnualFigures, Contact
from tests import factories
from tests.helpers import text, zh

FIGURES = {"year": "2024", "revenue": "3200", "employees": "85", "tech_staff": "14"}


def test_a_lost_uniqueness_race_becomes_a_field_error(app, world, db):
    """The service's check passed in both requests; the database refuses the second insert."""
    factories.figures(world.ent_x, 2024)
    db.session.commit()
    with app.test_request_context(method="POST"):
        form = FiguresForm(meta={"csrf": False})
        with unit_of_work(form) as work:
            db.session.add(AnnualFigures(enterprise_id=world.ent_x.id, year=2024))
            db.session.flush()
        assert not work.ok
        assert form.year.errors == [zh("Figures for this year already exist; edit that year instead.")]
    assert db.session.scalar(select(func.count()).select_from(AnnualFigures)) == 1


@pytest.mark.parametrize("raw,ok,stored", [
    ("1,234.5", True, "1234.50"), ("3200", True, "3200.00"), ("３２００", True, "3200.00"),
    ("3200,5", False, None), ("1e5", False, None), ("NaN", False, None), ("12,34", False, None),
])
def test_amount_formats(client, login_as, world, db, raw, ok, stored):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new", data={**FIGURES, "revenue": raw})
    assert response.status_code == (303 if ok else 422)
    if ok:
        assert str(db.session.scalar(select(AnnualFigures.revenue))) == stored
    else:
        assert zh("Enter a number, e.g. 1234.5.") in text(response)


@pytest.mark.parametrize("field,raw", [("employees", "²"), ("year", "２０２４x"), ("employees", "٣")])
def test_non_ascii_digits_get_a_clear_message(client, login_as, world, raw, field):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new", data={**FIGURES, field: raw})
    assert response.status_code == 422
    assert "invalid literal" not in text(response)


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page=-1", "page=abc", "page=9223372036854775807",
                                   "endpoint=x", "_external=1&_anchor=x", "enterprise_id=5"])
def test_lists_survive_odd_query_strings(client, login_as, world, query):
    login_as("admin")
    for url in ("/enterprises", "/admin/users", "/admin/audit", f"/enterprises/{world.ent_x.id}/audit"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, url
        assert "http://" not in text(response).split("<main", 1)[1]  # no absolute links injected


def test_user_input_in_messages_is_escaped(client, login_as, world):
    login_as("officer", region=world.county_x)
    response = client.post("/enterprises/new", data={"name": "x", "uscc": "<script>alert(1)</script>",
                                                     "region_id": world.county_x.id, "industry_code": "C35",
                                                     "status": "active"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body.upper().replace("<SCRIPT SRC", "")  # only our own script tags
    assert "&lt;" in body


def test_language_chosen_before_sign_in_is_kept(client, world, db):
    user = factories.user("officer", region=world.county_x, username="li")
    db.session.commit()
    client.post("/language", data={"lang": "en", "next": "/login"})
    client.post("/login", data={"username": "li", "password": factories.PASSWORD})
    assert '<html lang="en">' in text(client.get("/enterprises"))
    db.session.refresh(user)
    assert user.locale == "en"


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_request_after_the_session_ended_redirects_the_whole_page(client):
    response = client.get("/enterprises?q=x", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_a_new_primary_contact_demotes_the_old_one_on_the_record(client, login_as, world, db):
    db.session.add(Contact(enterprise_id=world.ent_x.id, name="张伟", is_primary=True))
    db.session.commit()
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    client.post(f"/enterprises/{world.ent_x.id}/contacts/new", data={"name": "王芳", "is_primary": "y"})
    demoted = db.session.scalar(select(AuditEvent).where(AuditEvent.summary == "张伟"))
    assert demoted.changes == {"is_primary": [True, False]}


def test_create_admin_cli_checks_the_user_name(app, db):
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "bad name!", "--password", "Abcdefg123"])
    assert result.exit_code == 2
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "alice", "--password", "Abcdefg123"])
    assert result.exit_code == 0, result.output
