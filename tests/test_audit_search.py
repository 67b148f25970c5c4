"""The admin's audit search (user, enterprise, kind, action, dates), its Excel export, fields named in words."""
from datetime import UTC, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from crm.core.audit import AuditEvent, field_label
from tests import factories
from tests.helpers import en, text


def _event(at, actor="li", action="update", entity="enterprises", entity_id=None, enterprise_id=None, **kw):
    event = AuditEvent(at=at, actor_label=actor, action=action, entity_type=entity, entity_id=entity_id,
                       enterprise_id=enterprise_id, summary=kw.pop("summary", ""), changes=kw.pop("changes", {}))
    factories.db.session.add(event)
    return event


@pytest.fixture
def trail(world, db):
    """Events of two users over three days (Asia/Shanghai), about two enterprises and a user."""
    x, z = world.ent_x, world.ent_z
    utc = UTC
    _event(datetime(2026, 3, 1, 2, tzinfo=utc), entity_id=x.id, enterprise_id=x.id, summary="E1",
           changes={"name": ["旧名", "新名"], "mystery_field": [1, 2]})
    _event(datetime(2026, 3, 1, 17, tzinfo=utc), entity="needs", entity_id=7, enterprise_id=x.id, summary="E2",
           action="create", changes={"title": [None, "=HYPERLINK(\"http://evil\")"]})  # 01:00 on 2 March in Shanghai
    _event(datetime(2026, 3, 3, 4, tzinfo=utc), actor="Wang", entity_id=z.id, enterprise_id=z.id, summary="E3",
           changes={"address": ["", "大武口"]})
    _event(datetime(2026, 3, 3, 5, tzinfo=utc), actor="wang", action="login", entity="users", entity_id=1,
           summary="E4")
    db.session.commit()
    return world


@pytest.fixture
def admin(login_as):
    return login_as("admin", locale="en")


def _shown(client, query=""):
    response = client.get(f"/admin/audit{query}")
    assert response.status_code == 200
    page = text(response)
    return {m for m in ("E1", "E2", "E3", "E4") if f"· {m}" in page}


def test_search_by_each_filter(client, trail, admin):
    x, z = trail.ent_x, trail.ent_z
    assert _shown(client) == {"E1", "E2", "E3", "E4"}
    assert _shown(client, "?actor=WANG") == {"E3", "E4"}  # the user name, any case
    assert _shown(client, "?enterprise=兴庆智能") == {"E1", "E2"}  # part of the name
    assert _shown(client, f"?enterprise={z.uscc.lower()}") == {"E3"}  # the USCC, as typed
    assert _shown(client, "?entity=needs") == {"E2"}
    assert _shown(client, "?action=login") == {"E4"}
    # dates are the bureau's (Asia/Shanghai): E2 at 17:00 UTC on 1 March is 2 March there
    assert _shown(client, "?from=2026-03-02") == {"E2", "E3", "E4"}
    assert _shown(client, "?to=2026-03-01") == {"E1"}
    assert _shown(client, "?from=2026-03-02&to=2026-03-02") == {"E2"}
    assert _shown(client, f"?actor=li&enterprise={x.uscc}&from=2026-03-01&to=2026-03-01") == {"E1"}
    assert _shown(client, "?from=not-a-date&to=2026-13-40") == {"E1", "E2", "E3", "E4"}  # garbage is ignored
    assert _shown(client, "?enterprise=%25") == set()  # a LIKE wildcard is a character


def test_the_list_is_paginated_and_keeps_the_search(client, world, admin, app, db, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for n in range(5):
        _event(datetime(2026, 3, 1, n, tzinfo=UTC), summary=f"P{n}", actor="li")
    db.session.commit()
    first = text(client.get("/admin/audit?actor=li"))
    assert "· P4" in first and "· P3" in first and "· P2" not in first
    assert "actor=li&amp;page=2" in client.get("/admin/audit?actor=li").get_data(as_text=True)
    third = text(client.get("/admin/audit?actor=li&page=3"))
    assert "· P0" in third and "· P1" not in third


def test_fields_are_named_in_words_with_the_code_as_fallback(client, trail, admin):
    page = client.get("/admin/audit?entity=enterprises").get_data(as_text=True)
    assert f'<span class="audit-field" title="name">{en("Enterprise name")}</span>: 旧名 → 新名' in page
    assert "<code>mystery_field</code>: 1 → 2" in page
    assert trail.ent_x.name in page  # the enterprise column


@pytest.mark.parametrize("entity,field", [
    ("enterprises", "uscc"), ("annual_figures", "rd_expense"), ("needs", "title"), ("needs", "status"),
    ("visits", "people_met"), ("follow_ups", "action"), ("certifications", "expires_on"),
    ("enterprise_contacts", "phone"), ("intellectual_property", "granted_on"),
])
def test_the_main_records_have_field_labels(app, entity, field):
    assert str(field_label(entity, field)) != field


def test_export_is_the_filtered_trail_in_words_and_formula_safe(client, trail, admin):
    response = client.get("/admin/audit.xlsx?actor=li")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == (en("Time"), en("User"), en("IP address"), en("Action"))
    assert [r[7] for r in rows[1:]] == ["E2", "E1"]  # li's only, newest first
    e2, e1 = rows[1], rows[2]
    assert e2[0] == "2026-03-02 01:00"  # in the bureau's zone
    assert e2[6] == trail.ent_x.name and e2[4] == en("Need")
    assert e2[8] == f"{en('Need')}: — → =HYPERLINK(\"http://evil\")"
    assert e1[8].splitlines() == [f"{en('Enterprise name')}: 旧名 → 新名", "mystery_field: 1 → 2"]
    assert load_workbook(BytesIO(client.get("/admin/audit.xlsx?from=2026-03-03").data)).active.max_row == 3


def test_export_cells_never_start_a_formula(client, world, admin, db):
    _event(datetime(2026, 3, 1, tzinfo=UTC), actor="=1+1", summary="=HYPERLINK(\"http://evil\")")
    db.session.commit()
    row = list(load_workbook(BytesIO(client.get("/admin/audit.xlsx").data)).active.iter_rows(values_only=True))[1]
    assert (row[1], row[7]) == ("'=1+1", "'=HYPERLINK(\"http://evil\")")


def test_only_admins_search_and_export(client, login_as, world):
    login_as("manager", region=world.city)
    assert client.get("/admin/audit?actor=li").status_code == 403
    assert client.get("/admin/audit.xlsx").status_code == 403

