"""Applications (申报): the stage machine, certification exactly once, not passed with a reason and a coaching
follow-up, optimistic versions, the board (htmx, no N+1), the list, conversion, the timeline, access."""
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.cycle import queries, services
from crm.cycle.models import Application, allowed_moves
from crm.ladder.models import Certification, TierEvent
from crm.service.models import FollowUp
from tests import factories
from tests.cycle.helpers import application, batch
from tests.helpers import text

HX = {"HX-Request": "true"}


def _count(model):
    from crm.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def test_allowed_moves():
    assert allowed_moves("intent") == ("coaching", "not_passed")
    assert allowed_moves("materials") == ("submitted", "coaching", "not_passed")
    assert allowed_moves("public_notice") == ("certified", "review", "not_passed")
    assert allowed_moves("certified") == () and allowed_moves("not_passed") == ()


def test_forward_back_and_refused_skip(world, db):
    b = batch(world.city)
    a = application(b, world.ent_x, "materials")
    assert (a.stage, a.intent_on, a.coaching_on, a.materials_on) == ("materials", clock.today(), clock.today(),
                                                                     clock.today())
    with pytest.raises(ValidationFailed) as refused:
        services.move_application(a, "review", actor="test")  # two steps ahead
    assert "stage" in refused.value.errors
    services.move_application(a, "coaching", actor="test")  # a correction: back one step
    assert a.stage == "coaching" and a.materials_on is None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "applications")
                                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["create", "status", "status", "status"]
    assert events[-1].changes["stage"] == ["materials", "coaching"] and events[-1].enterprise_id == world.ent_x.id


def test_certified_records_the_certification_once(world, db):
    b = batch(world.city, "high_tech")
    a = application(b, world.ent_x, "public_notice")
    with pytest.raises(ValidationFailed) as refused:
        services.move_application(a, "certified", actor="test")
    assert set(refused.value.errors) == {"certificate_no", "issued_on"}
    issued = clock.today() - timedelta(days=3)
    services.move_application(a, "certified", actor="test", certificate_no="GR202564000123", issued_on=issued)
    cert = db.session.get(Certification, a.certification_id)
    assert (cert.tier, cert.certificate_no, cert.issued_on) == ("high_tech", "GR202564000123", issued)
    assert cert.expires_on is not None  # the ladder computes it (three years for high_tech)
    assert world.ent_x.current_tier == "high_tech"
    assert _count(TierEvent) == 1
    with pytest.raises(ValidationFailed):  # certified is final: never a second certification
        services.move_application(a, "certified", actor="test", certificate_no="GR2", issued_on=issued)
    assert _count(Certification) == 1


def test_not_passed_needs_a_reason_and_plans_coaching(world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    b = batch(world.city, "high_tech")
    a = application(b, world.ent_x, "review")
    for kwargs, field in (({}, "reason"), ({"reason": "failed_review"}, "weak_criterion"),
                          ({"reason": "other"}, "note")):
        with pytest.raises(ValidationFailed) as refused:
            services.move_application(a, "not_passed", actor=officer, **kwargs)
        assert field in refused.value.errors
    services.move_application(a, "not_passed", actor=officer, reason="failed_review", weak_criterion="研发费用占比")
    assert (a.stage, a.not_passed_reason, a.weak_criterion, a.not_passed_on) == (
        "not_passed", "failed_review", "研发费用占比", clock.today())
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.assignee_id == officer.id and follow_up.source == "manual"
    assert follow_up.due_on > clock.today() and "研发费用占比" in follow_up.action
    assert allowed_moves(a.stage) == ()


def test_a_move_based_on_an_old_version_is_refused(world, db):
    b = batch(world.city)
    a = application(b, world.ent_x)
    old = a.version
    services.move_application(a, "coaching", actor="test", version=old)
    with pytest.raises(ValidationFailed) as refused:
        services.move_application(a, "materials", actor="test", version=old)
    assert "" in refused.value.errors and a.stage == "coaching"


def test_one_application_per_enterprise_tier_and_year(world, db):
    b = batch(world.city)
    application(b, world.ent_x)
    with pytest.raises(ValidationFailed):
        services.file_application(b, world.ent_x, actor="test")
    with pytest.raises(ValidationFailed):  # outside the batch's region
        services.file_application(b, world.ent_z, actor="test")


# --- pages ------------------------------------------------------------------------------------------

def test_officer_moves_a_card_with_htmx(client, login_as, world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    b = batch(world.city)
    a = application(b, world.ent_x)
    db.session.commit()
    login_as(officer)
    page = text(client.get(f"/cycle/batches/{b.id}"))
    assert world.ent_x.name in page and 'data-move="coaching"' in page
    response = client.post(f"/cycle/applications/{a.id}/move", data={"stage": "coaching", "version": a.version},
                           headers=HX)
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="board">') and "<html" not in body
    db.session.refresh(a)
    assert a.stage == "coaching"
    # the same click again (an old version): refused, the fresh board comes back, nothing written
    before = _count(AuditEvent)
    response = client.post(f"/cycle/applications/{a.id}/move", data={"stage": "materials", "version": 1},
                           headers=HX)
    assert response.status_code == 422 and "alert-danger" in text(response)
    assert _count(AuditEvent) == before and db.session.get(Application, a.id).stage == "coaching"


def test_not_passed_form_asks_the_reason(client, login_as, world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    b = batch(world.city)
    a = application(b, world.ent_x, "submitted")
    db.session.commit()
    login_as(officer)
    form = client.get(f"/cycle/applications/{a.id}/move?stage=not_passed", headers=HX)
    assert form.status_code == 200 and 'name="reason"' in text(form)
    before = _count(AuditEvent)
    refused = client.post(f"/cycle/applications/{a.id}/move", data={"stage": "not_passed", "version": a.version},
                          headers=HX)
    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == f"#move-{a.id}"
    assert 'is-invalid' in text(refused) and _count(AuditEvent) == before
    ok = client.post(f"/cycle/applications/{a.id}/move", headers=HX,
                     data={"stage": "not_passed", "version": a.version, "reason": "withdrawn"})
    assert ok.status_code == 200 and db.session.get(Application, a.id).stage == "not_passed"


def test_certified_without_htmx_redirects(client, login_as, world, db):
    manager = factories.user("manager", region=world.city)
    b = batch(world.city, "tech_sme")
    a = application(b, world.ent_x, "public_notice")
    db.session.commit()
    login_as(manager)
    response = client.post(f"/cycle/applications/{a.id}/move", data={
        "stage": "certified", "version": a.version, "certificate_no": "2025640100A0001",
        "issued_on": clock.today().isoformat()})
    assert response.status_code == 303
    assert db.session.scalar(select(Certification.certificate_no)) == "2025640100A0001"
    detail = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert "2025640100A0001" in detail


def test_who_may_move(client, login_as, world, db):
    b = batch(world.city)
    a = application(b, world.ent_x)
    db.session.commit()
    data = {"stage": "coaching", "version": a.version}
    login_as("officer", region=world.county_x)  # reads county X, does not serve ent_x
    assert client.get(f"/cycle/batches/{b.id}").status_code == 200
    assert client.post(f"/cycle/applications/{a.id}/move", data=data).status_code == 403
    login_as("officer", region=world.county_y)
    assert client.post(f"/cycle/applications/{a.id}/move", data=data).status_code == 404
    assert world.ent_x.name not in text(client.get(f"/cycle/batches/{b.id}"))
    login_as("enterprise", enterprise=world.ent_x)
    assert client.get(f"/cycle/batches/{b.id}").status_code == 403
    assert client.post(f"/cycle/applications/{a.id}/move", data=data).status_code == 403
    login_as("manager", region=world.other_city)
    assert client.get(f"/cycle/batches/{b.id}").status_code == 404
    assert db.session.get(Application, a.id).stage == "intent"


def test_board_has_no_n_plus_one(client, login_as, world, db):
    b = batch(world.city)
    login_as("manager", region=world.city)
    counter = {"n": 0}

    def count(*args):
        counter["n"] += 1

    def run():
        counter["n"] = 0
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/cycle/batches/{b.id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return counter["n"]

    officer = factories.user("officer", region=world.county_x)
    application(b, world.ent_x, "coaching")
    factories.assignment(world.ent_x, officer)
    db.session.commit()
    few = run()
    for stage in ["intent", "coaching", "materials", "submitted", "review"] * 4:
        e = factories.enterprise(world.county_y)
        factories.assignment(e, officer)
        application(b, e, stage)
    db.session.commit()
    assert run() == few


def test_file_from_the_board_and_bad_input(client, login_as, world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    b = batch(world.city)
    db.session.commit()
    login_as(officer)
    assert world.ent_x.name in text(client.get(f"/cycle/batches/{b.id}"))  # offered in the form
    refused = client.post(f"/cycle/batches/{b.id}/applications", data={"enterprise_id": ""})
    assert refused.status_code == 422 and _count(Application) == 0
    ok = client.post(f"/cycle/batches/{b.id}/applications", data={"enterprise_id": world.ent_x.id})
    assert ok.status_code == 303 and _count(Application) == 1
    again = client.post(f"/cycle/batches/{b.id}/applications", data={"enterprise_id": world.ent_x.id})
    assert again.status_code == 422 and _count(Application) == 1


def test_batches_are_set_by_managers(client, login_as, world, db):
    login_as("manager", region=world.city)
    year = clock.today().year
    bad = client.post("/cycle/batches/new", data={"region_id": world.county_x.id, "year": year, "tier": "high_tech",
                                                  "submitted_by": f"{year}-06-30", "materials_by": f"{year}-07-31"})
    assert bad.status_code == 422 and "is-invalid" in text(bad)
    outside = client.post("/cycle/batches/new", data={"region_id": world.county_z.id, "year": year,
                                                      "tier": "high_tech"})
    assert outside.status_code == 422
    ok = client.post("/cycle/batches/new", data={"region_id": world.county_x.id, "year": year, "tier": "high_tech",
                                                 "materials_by": f"{year}-05-31", "submitted_by": f"{year}-06-30"})
    assert ok.status_code == 303
    assert queries.batches_query(factories.user("officer", region=world.county_x)) is not None
    login_as("officer", region=world.county_x)
    assert client.get("/cycle/batches/new").status_code == 403
    assert "兴庆区" in text(client.get("/cycle/batches"))


def test_list_and_conversion(client, login_as, world, db):
    b = batch(world.city)
    application(b, world.ent_x, "submitted")
    application(b, world.ent_y, "materials")
    a = application(b, world.ent_park, "coaching")
    services.move_application(a, "not_passed", actor="test", reason="incomplete")
    db.session.commit()
    login_as("manager", region=world.city)
    page = text(client.get("/cycle/applications?stage=materials"))
    assert world.ent_y.name in page and world.ent_x.name not in page
    rows = queries.conversion(factories.user("manager", region=world.city), queries.AppFilter(year=b.year),
                              world.city)
    top = rows[0]
    assert top.reached["intent"] == 3 and top.reached["coaching"] == 3 and top.reached["materials"] == 2
    assert top.reached["submitted"] == 1 and top.not_passed == 1
    by_region = {r.region.id: r for r in rows[1:]}
    assert by_region[world.county_x.id].started == 2 and by_region[world.county_y.id].started == 1
    assert client.get("/cycle/conversion").status_code == 200


def test_timeline_shows_the_moves(client, login_as, world, db):
    b = batch(world.city)
    application(b, world.ent_x, "coaching")
    db.session.commit()
    login_as("manager", region=world.city)
    page = text(client.get(f"/enterprises/{world.ent_x.id}/timeline?kind=application"))
    assert page.count('data-kind="application"') == 2


def test_enterprise_card_and_flags(client, login_as, world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    db.session.commit()
    login_as(officer)
    card = client.get(f"/enterprises/{world.ent_x.id}/cycle", headers=HX)
    assert card.status_code == 200 and 'name="kind"' in text(card)
    response = client.post(f"/enterprises/{world.ent_x.id}/flags", headers=HX,
                           data={"kind": "relocation", "active": "y", "note": "考虑迁往西安"})
    assert response.status_code == 200 and "考虑迁往西安" in text(response)
    assert queries.flags_of(world.ent_x)["relocation"].active
    client.post(f"/enterprises/{world.ent_x.id}/flags", headers=HX, data={"kind": "relocation"})
    assert not queries.flags_of(world.ent_x)["relocation"].active
    login_as("officer", region=world.county_x)  # reads, does not serve
    assert client.post(f"/enterprises/{world.ent_x.id}/flags", data={"kind": "courted", "active": "y"}
                       ).status_code == 403


def test_coaching_due_date():
    from types import SimpleNamespace

    a = SimpleNamespace(year=2025)
    assert services.coaching_due_on(a, date(2025, 11, 1)) == date(2026, 3, 1)
    assert services.coaching_due_on(a, date(2026, 4, 1)) == date(2026, 5, 1)
