"""回访: every resolved need gets a call-back for its owner; satisfied keeps it resolved with the score, not
satisfied reopens it (退回重办) with the reason. Outcome fields are recorded on closing and summed per category."""
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from crm.referrals.models import NeedCallback
from crm.service.models import FollowUp
from tests.helpers import text


def _resolve(client, need, **outcome):
    return client.post(f"/needs/{need.id}/status", data={"status": "resolved", "resolution": "已协调解决",
                                                          "version": need.version, **outcome})


def _callbacks(db, need):
    return list(db.session.scalars(select(FollowUp).where(FollowUp.need_id == need.id,
                                                          FollowUp.source == "callback")))


def test_resolving_plans_one_call_back_for_the_owner(client, login_as, db, people):
    login_as(people.manager)  # a manager resolves the officer's need: the call-back is still the owner's
    assert _resolve(client, people.need).status_code == 303
    follow_ups = _callbacks(db, people.need)
    assert len(follow_ups) == 1 and follow_ups[0].assignee_id == people.officer.id
    assert follow_ups[0].due_on == date(2026, 10, 9)  # Sep 30, Oct 8, Oct 9


def test_satisfied_call_back_keeps_it_resolved_with_the_score(client, login_as, db, people):
    login_as(people.officer)
    _resolve(client, people.need)
    assert client.post(f"/needs/{people.need.id}/callback", data={"satisfied": "yes", "satisfaction": "5",
                                                                  "note": "企业很满意"}).status_code == 303
    db.session.refresh(people.need)
    assert people.need.status == "resolved" and people.need.satisfaction == 5
    record = db.session.scalar(select(NeedCallback))
    assert record.satisfied and record.satisfaction == 5 and record.follow_up_id is not None
    assert all(f.done_at is not None for f in _callbacks(db, people.need))
    assert "企业很满意" in text(client.get(f"/needs/{people.need.id}"))


def test_not_satisfied_reopens_the_need_with_the_reason(client, login_as, db, people):
    login_as(people.officer)
    _resolve(client, people.need)
    # the reason is required
    assert client.post(f"/needs/{people.need.id}/callback", data={"satisfied": "no",
                                                                  "satisfaction": "2"}).status_code == 422
    db.session.refresh(people.need)
    assert people.need.status == "resolved" and db.session.scalar(select(NeedCallback)) is None
    assert client.post(f"/needs/{people.need.id}/callback", data={
        "satisfied": "no", "satisfaction": "2", "note": "优惠尚未到账"}).status_code == 303
    db.session.refresh(people.need)
    assert people.need.status == "in_progress" and "优惠尚未到账" in people.need.resolution
    # a call-back is for resolved needs only; resolving again plans a new one
    assert client.post(f"/needs/{people.need.id}/callback", data={"satisfied": "yes",
                                                                  "satisfaction": "4"}).status_code == 422
    _resolve(client, people.need)
    assert len([f for f in _callbacks(db, people.need) if f.done_at is None]) == 1


def test_others_cannot_record_a_call_back(client, login_as, db, people):
    login_as(people.officer)
    _resolve(client, people.need)
    for user, status in ((people.officer_other, 403), (people.manager_other, 404), (people.tax_user, 403)):
        login_as(user)
        assert client.post(f"/needs/{people.need.id}/callback", data={
            "satisfied": "no", "satisfaction": "1", "note": "x"}).status_code == status
    db.session.refresh(people.need)
    assert people.need.status == "resolved"


def test_outcomes_are_recorded_on_closing_and_summed_per_category(client, login_as, db, world, people):
    from tests import factories

    login_as(people.officer)
    assert _resolve(client, people.need, financing_wan="-1").status_code == 422
    assert _resolve(client, people.need, financing_wan="500.5", people_recruited="3", contracts_signed="2",
                    contracts_wan="120").status_code == 303
    db.session.refresh(people.need)
    assert people.need.financing_wan == Decimal("500.50") and people.need.people_recruited == 3
    other = factories.need(world.ent_x, owner=people.officer, category="policy", raised_on=date(2026, 9, 1),
                           status="resolved", financing_wan=Decimal("99.50"), contracts_signed=1)
    factories.need(world.ent_x, owner=people.officer, category="talent", raised_on=date(2026, 9, 1),
                   status="resolved", people_recruited=7)
    db.session.commit()
    assert other.id
    from crm.performance.queries import needs_analytics

    a = needs_analytics(people.manager, 2026)
    policy = next(c for c in a.categories if c.category == "policy")
    talent = next(c for c in a.categories if c.category == "talent")
    assert (policy.financing_wan, policy.people_recruited, policy.contracts_signed, policy.contracts_wan) == (
        Decimal("600.00"), 3, 3, Decimal("120.00"))
    assert talent.people_recruited == 7 and a.outcome_total("people_recruited") == 10
    login_as(people.manager)
    page = text(client.get("/performance/needs?year=2026"))
    assert 'id="needs-outcomes"' in page and "600.00" in page
