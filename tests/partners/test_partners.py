"""Partners and referrals: consent before a referral, the status steps and the outcome, results per year and
their Excel, scoped by region."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.partners import queries, services
from crm.partners.models import Partner, PartnerReferral
from tests import factories
from tests.helpers import text


@pytest.fixture
def people(world, db):
    p = {"admin": factories.user("admin"), "manager": factories.user("manager", region=world.city),
         "other_manager": factories.user("manager", region=world.other_city),
         "officer": factories.user("officer", region=world.county_x, serves=[world.ent_x]),
         "officer_y": factories.user("officer", region=world.county_y)}
    db.session.commit()
    return p


@pytest.fixture
def bank(world, people, db):
    partner = services.create_partner({"name": "宁夏银行银川分行", "kind": "bank", "region_id": world.city.id,
                                       "contact_name": "马经理", "phone": "0951-1234567",
                                       "specialities": ["finance", "nonsense"]}, actor=people["manager"])
    db.session.commit()
    return partner


def test_a_partner_keeps_known_specialities_and_is_seen_below_its_region(world, people, bank, db):
    assert bank.specialities == ["finance"]
    assert queries.get_partner_for(people["officer"], bank.id) is bank  # the city's bank serves county X
    assert queries.get_partner_for(people["other_manager"], bank.id) is None
    assert queries.can_manage_partner(people["manager"], bank)
    assert not queries.can_manage_partner(people["other_manager"], bank)


def test_a_referral_needs_the_enterprises_consent(client, login_as, world, people, bank, db):
    need = factories.need(world.ent_x, owner=people["officer"], category="finance", title="流动资金贷款500万元")
    db.session.commit()
    login_as(people["officer"])
    assert "宁夏银行银川分行" in text(client.get(f"/needs/{need.id}/refer"))
    refused = client.post(f"/needs/{need.id}/refer", data={"partner_id": bank.id, "consent_mode": "phone",
                                                           "consent_on": clock.today().isoformat()})
    assert refused.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(PartnerReferral)) == 0
    future = client.post(f"/needs/{need.id}/refer", data={
        "partner_id": bank.id, "consent_by": "张总", "consent_mode": "phone",
        "consent_on": (clock.today() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422
    ok = client.post(f"/needs/{need.id}/refer", data={"partner_id": bank.id, "consent_by": "张总（总经理）",
                                                      "consent_mode": "phone", "consent_on": clock.today().isoformat()})
    assert ok.status_code == 303
    referral = db.session.scalar(select(PartnerReferral))
    assert (referral.status, referral.consent_by, referral.consent_mode, referral.consent_recorded_by_id) == (
        "proposed", "张总（总经理）", "phone", people["officer"].id)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "partner_referrals"))
    assert event.enterprise_id == world.ent_x.id and "张总" in event.changes["consent"][1]
    assert need.status == "open"  # the need's own status is the officer's, not the partner's
    page = text(client.get(f"/needs/{need.id}"))
    assert 'id="referrals"' in page and "宁夏银行银川分行" in page
    # the same partner twice: refused
    again = client.post(f"/needs/{need.id}/refer", data={"partner_id": bank.id, "consent_by": "张总",
                                                         "consent_mode": "phone",
                                                         "consent_on": clock.today().isoformat()})
    assert again.status_code == 422 and db.session.scalar(select(func.count()).select_from(PartnerReferral)) == 1


def _referral(world, people, bank, on=None, **kw):
    need = factories.need(world.ent_x, owner=people["officer"], category="finance")
    return services.refer_need(need, bank, consent_by="张总", consent_on=on or clock.today(), consent_mode="written",
                               actor=people["officer"], today=on, **kw)


def test_the_status_steps_and_the_outcome(world, people, bank, db):
    referral = _referral(world, people, bank)
    with pytest.raises(ValidationFailed):
        services.move_referral(referral, "succeeded", actor=people["officer"], loan_amount=Decimal("300"))
    services.move_referral(referral, "accepted", actor=people["officer"])
    services.move_referral(referral, "in_progress", actor=people["officer"])
    with pytest.raises(ValidationFailed):  # success without any outcome
        services.move_referral(referral, "succeeded", actor=people["officer"])
    with pytest.raises(ValidationFailed):
        services.move_referral(referral, "succeeded", actor=people["officer"], loan_amount=Decimal("-1"))
    services.move_referral(referral, "succeeded", actor=people["officer"], loan_amount=Decimal("300.50"))
    assert (referral.status, referral.loan_amount, referral.closed_on) == ("succeeded", Decimal("300.50"),
                                                                           clock.today())
    with pytest.raises(ValidationFailed):  # the end is the end
        services.move_referral(referral, "failed", actor=people["officer"], outcome_note="x")
    other = _referral(world, people, services.create_partner(
        {"name": "宁夏大学", "kind": "university", "region_id": world.city.id}, actor=people["admin"]))
    with pytest.raises(ValidationFailed):  # failing needs a reason
        services.move_referral(other, "failed", actor=people["officer"])
    services.move_referral(other, "failed", actor=people["officer"], outcome_note="企业暂无合作意向")
    assert other.closed_on == clock.today()


def test_the_status_form_refuses_and_then_moves(client, login_as, world, people, bank, db):
    referral = _referral(world, people, bank)
    db.session.commit()
    login_as(people["officer_y"])
    assert client.get(f"/partner-referrals/{referral.id}/status").status_code == 404
    login_as(people["officer"])
    assert client.post(f"/partner-referrals/{referral.id}/status", data={"status": "succeeded"}).status_code == 422
    assert client.post(f"/partner-referrals/{referral.id}/status", data={"status": "accepted"}).status_code == 303
    db.session.refresh(referral)
    assert referral.status == "accepted"


def test_results_per_year_and_their_excel(client, login_as, world, people, bank, db):
    year = clock.today().year
    ok = _referral(world, people, bank, on=date(year, 1, 10))
    for step in ("accepted", "in_progress"):
        services.move_referral(ok, step, actor=people["officer"])
    services.move_referral(ok, "succeeded", actor=people["officer"], loan_amount=Decimal("300"),
                           contract_amount=Decimal("50.5"))
    ko = _referral(world, people, bank, on=date(year, 2, 1))
    services.move_referral(ko, "failed", actor=people["officer"], outcome_note="不符合授信条件")
    _referral(world, people, bank, on=date(year, 3, 1))  # still open
    _referral(world, people, bank, on=date(year - 1, 12, 31))  # last year
    db.session.commit()
    [row] = queries.results(people["manager"], year)
    assert (row.referrals, row.succeeded, row.failed, row.open) == (3, 1, 1, 1)
    assert row.success_rate == Decimal("50.0") and row.loans == Decimal("300") and row.contracts == Decimal("50.5")
    assert queries.results(people["other_manager"], year) == []  # another city's manager: none of it
    login_as(people["manager"])
    assert "宁夏银行银川分行" in text(client.get(f"/partners/results?year={year}"))
    response = client.get(f"/partners/results.xlsx?year={year}")
    sheet = load_workbook(BytesIO(response.data)).active
    values = [c.value for c in sheet[2]]
    assert values[0] == "宁夏银行银川分行" and values[3:8] == [3, 1, 1, 1, 50.0] and values[8] == 300
    assert float(values[9]) == 50.5


def test_partner_pages_and_filters(client, login_as, world, people, bank, db):
    services.create_partner({"name": "宁夏大学", "kind": "university", "region_id": world.county_x.id,
                             "specialities": ["technology"]}, actor=people["admin"])
    db.session.commit()
    login_as(people["officer"])
    page = text(client.get("/partners?speciality=finance"))
    assert "宁夏银行银川分行" in page and "宁夏大学" not in page
    assert "宁夏大学" in text(client.get("/partners?kind=university"))
    login_as(people["officer_y"])  # county Y sees the city's bank, not county X's university
    page = text(client.get("/partners"))
    assert "宁夏银行银川分行" in page and "宁夏大学" not in page
    login_as(people["manager"])
    response = client.post("/partners/new", data={"name": "", "kind": "bank", "region_id": world.city.id})
    assert response.status_code == 422 and db.session.scalar(select(func.count()).select_from(Partner)) == 2
    response = client.post("/partners/new", data={"name": "科技特派员 李工", "kind": "tech_commissioner",
                                                  "region_id": world.other_city.id})
    assert response.status_code == 403  # outside the manager's region
