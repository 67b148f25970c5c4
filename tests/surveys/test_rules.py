"""Survey rules: versioned questions, one response per enterprise, needs raised once, flags, scoping."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.cycle.models import EnterpriseFlag
from crm.extensions import db
from crm.service.models import Need
from crm.surveys import queries, services
from crm.surveys.models import SurveyAnswer, SurveyRaisedNeed, SurveyResponse, SurveyTarget
from tests import factories
from tests.surveys.conftest import launch, make_bank, option


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- versioning ------------------------------------------------------------------------------------

def test_editing_an_unused_question_changes_it_in_place(bank):
    barrier = bank[0]
    services.save_question({"kind": "single", "text": "最主要的障碍"},
                           [{"label": "融资难"}, {"label": "招工难"}], actor="test", question=barrier)
    db.session.commit()
    assert barrier.current_version == 1 and len(barrier.versions) == 1
    assert barrier.current.text == "最主要的障碍" and [o.label for o in barrier.current.options] == ["融资难", "招工难"]


def test_editing_a_launched_question_makes_a_new_version_and_answers_keep_theirs(world, bank):
    barrier = bank[0]
    campaign = launch([barrier], world.city)
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    v1 = barrier.current
    services.save_response(campaign, world.ent_x, {f"q{barrier.id}": [option(barrier, "招工难").id]}, actor=officer)
    db.session.commit()
    services.save_question({"kind": "single", "text": "当前最主要的障碍"},
                           [{"label": "融资难"}, {"label": "招工难"}, {"label": "用地难"}], actor="test",
                           question=barrier)
    db.session.commit()
    db.session.refresh(barrier)
    assert barrier.current_version == 2 and [v.version for v in barrier.versions] == [1, 2]
    assert v1.text == "最主要障碍" and len(v1.options) == 3  # the asked version is untouched
    answer = db.session.scalar(select(SurveyAnswer))
    assert answer.question_version_id == v1.id
    assert campaign.questions[0].question_version_id == v1.id
    # the change is audited with the version step
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "survey_questions",
                                                       AuditEvent.action == "update"))
    assert event.changes["version"] == [1, 2]
    # a campaign launched now asks version 2, and a draft is pinned to the current version at launch
    later = launch([barrier], world.city, title="二次摸排")
    assert later.questions[0].question_version.version == 2


def test_a_draft_is_pinned_to_the_current_version_at_launch(world, bank):
    barrier = bank[0]
    first = launch([barrier], world.city)
    draft = services.save_campaign({"title": "草稿", "region_id": world.city.id, "opens_on": clock.today(),
                                    "closes_on": clock.today()}, [barrier.id], actor="test",
                                   usable={barrier.id: barrier})
    assert draft.questions[0].question_version.version == 1
    services.save_question({"kind": "single", "text": "新措辞"}, [{"label": "甲"}, {"label": "乙"}], actor="test",
                           question=barrier)
    db.session.flush()
    services.launch_campaign(draft, actor="test")
    assert draft.questions[0].question_version.version == 2
    assert first.questions[0].question_version.version == 1


def test_question_validation(db, world):
    with pytest.raises(ValidationFailed) as one:
        services.save_question({"kind": "single", "text": "只有一个选项"}, [{"label": "甲"}], actor="test")
    assert "options" in one.value.errors
    with pytest.raises(ValidationFailed) as numbers:
        services.save_question({"kind": "number", "text": "数字"}, [{"label": "甲"}], actor="test")
    assert "options" in numbers.value.errors
    with pytest.raises(ValidationFailed):
        services.save_question({"kind": "single", "text": "x"}, [{"label": "甲", "need_category": "nonsense"},
                                                                 {"label": "乙"}], actor="test")
    manager = factories.user("manager", region=world.county_y)
    with pytest.raises(ValidationFailed) as scope:
        services.save_question({"kind": "text", "text": "越权", "region_id": world.county_x.id}, [], actor=manager)
    assert "region_id" in scope.value.errors


# --- one response per enterprise ---------------------------------------------------------------------

def test_one_response_per_enterprise_changed_and_audited(world, bank):
    barrier, wants, spend, advice = bank
    campaign = launch(bank, world.city)
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    services.save_response(campaign, world.ent_x, {f"q{spend.id}": "120.5", f"q{advice.id}": "多组织培训"},
                           actor=officer)
    db.session.commit()
    services.save_response(campaign, world.ent_x, {f"q{spend.id}": "130", f"q{advice.id}": "多组织培训"},
                           actor=officer)
    db.session.commit()
    assert _count(SurveyResponse) == 1
    answer = db.session.scalar(select(SurveyAnswer).where(SurveyAnswer.question_id == spend.id))
    assert str(answer.number_value) == "130.00"
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "survey_responses")
                                     .order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].changes == {"研发投入": ["120.50", "130.00"]}
    # saving the same answers again writes no audit event
    services.save_response(campaign, world.ent_x, {f"q{spend.id}": "130", f"q{advice.id}": "多组织培训"},
                           actor=officer)
    db.session.commit()
    assert _count(AuditEvent, AuditEvent.entity_type == "survey_responses") == 2
    # the database refuses a second response too
    db.session.add(SurveyResponse(campaign_id=campaign.id, enterprise_id=world.ent_x.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_closed_campaign_and_non_target_and_bad_input_are_refused(world, bank):
    barrier, wants, spend, advice = bank
    today = clock.today()
    campaign = launch(bank, world.city, target_region_id=world.county_x.id)
    officer = factories.user("officer", region=world.city)
    # ent_y is not asked (the target is county X)
    assert not queries.is_target(campaign, world.ent_y)
    with pytest.raises(ValidationFailed):
        services.save_response(campaign, world.ent_y, {f"q{spend.id}": "1"}, actor=officer)
    with pytest.raises(ValidationFailed) as bad:
        services.save_response(campaign, world.ent_x, {f"q{spend.id}": "many"}, actor=officer)
    assert f"q{spend.id}" in bad.value.errors
    with pytest.raises(ValidationFailed) as two:
        services.save_response(campaign, world.ent_x, {f"q{barrier.id}": [o.id for o in barrier.current.options]},
                               actor=officer)
    assert f"q{barrier.id}" in two.value.errors
    with pytest.raises(ValidationFailed):
        services.save_response(campaign, world.ent_x, {}, actor=officer)
    campaign.closes_on = today - timedelta(days=1)
    campaign.opens_on = today - timedelta(days=10)
    db.session.flush()
    with pytest.raises(ValidationFailed):
        services.save_response(campaign, world.ent_x, {f"q{spend.id}": "1"}, actor=officer)
    assert _count(SurveyResponse) == 0


def test_launch_fixes_the_targets_by_region_tier_and_tag(world, bank):
    from crm.tags.models import EnterpriseTag, Tag

    factories.certification(world.ent_x, "high_tech")
    world.ent_x.current_tier = "high_tech"
    tag = Tag(name="专精特新", region_id=world.city.id, kind="manual")
    db.session.add(tag)
    db.session.flush()
    db.session.add(EnterpriseTag(enterprise_id=world.ent_y.id, tag_id=tag.id))
    db.session.flush()
    by_tier = launch(bank[:1], world.city, target_tier="high_tech")
    by_tag = launch(bank[:1], world.city, target_tag_id=tag.id)
    by_region = launch(bank[:1], world.city, target_region_id=world.county_x.id)
    everyone = launch(bank[:1], world.province)

    def targets(c):
        return set(db.session.scalars(select(SurveyTarget.enterprise_id).where(SurveyTarget.campaign_id == c.id)))

    assert targets(by_tier) == {world.ent_x.id}
    assert targets(by_tag) == {world.ent_y.id}
    assert targets(by_region) == {world.ent_x.id, world.ent_park.id}
    assert targets(everyone) == {world.ent_x.id, world.ent_park.id, world.ent_y.id, world.ent_z.id}
    with pytest.raises(ValidationFailed):
        services.launch_campaign(by_tier, actor="test")


# --- rules: needs and flags ------------------------------------------------------------------------

def test_a_chosen_option_raises_its_need_once_and_sets_the_flag(world, bank):
    barrier, wants, spend, advice = bank
    campaign = launch(bank, world.city)
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    visit = factories.visit(world.ent_x, officer)
    finance = option(barrier, "融资难").id
    talent = option(wants, "人才").id
    answers = {f"q{barrier.id}": [finance], f"q{wants.id}": [talent, option(wants, "资金").id]}
    response = services.save_response(campaign, world.ent_x, answers, actor=officer, visit=visit)
    db.session.commit()
    needs = list(db.session.scalars(select(Need).order_by(Need.category)))
    assert [(n.category, n.title) for n in needs] == [("finance", "融资需求"), ("talent", "人才")]
    assert all(n.owner_id == officer.id and n.visit_id == visit.id and n.status == "open" for n in needs)
    assert all(n.due_on > n.raised_on for n in needs)
    assert response.visit_id == visit.id
    flag = db.session.scalar(select(EnterpriseFlag))
    assert (flag.kind, flag.active) == ("difficulties", True)
    # saved again, changed, the option unchosen and chosen again: still one need per option
    services.save_response(campaign, world.ent_x, answers, actor=officer)
    services.save_response(campaign, world.ent_x, {f"q{barrier.id}": [option(barrier, "招工难").id]}, actor=officer)
    services.save_response(campaign, world.ent_x, answers, actor=officer)
    db.session.commit()
    assert _count(Need) == 2 and _count(SurveyRaisedNeed) == 2 and _count(EnterpriseFlag) == 1
    assert _count(AuditEvent, AuditEvent.entity_type == "needs", AuditEvent.action == "create") == 2


def test_the_portal_contact_fills_their_own_and_raises_the_need(world, bank):
    barrier = bank[0]
    campaign = launch(bank, world.city)
    contact = factories.user("enterprise", enterprise=world.ent_x)
    other = factories.user("enterprise", enterprise=world.ent_y)
    assert queries.can_fill(contact, campaign, world.ent_x)
    assert not queries.can_fill(other, campaign, world.ent_x)
    services.save_response(campaign, world.ent_x, {f"q{barrier.id}": [option(barrier, "融资难").id]}, actor=contact)
    db.session.commit()
    assert _count(Need, Need.category == "finance") == 1
    assert db.session.scalar(select(EnterpriseFlag.active)) is True


# --- scoping ---------------------------------------------------------------------------------------

def test_a_county_manager_sees_their_county_only(world, bank):
    barrier, wants, spend, advice = bank
    campaign = launch(bank, world.city)
    admin = factories.user("admin")
    for ent, label in [(world.ent_x, "融资难"), (world.ent_park, "招工难"), (world.ent_y, "融资难")]:
        services.save_response(campaign, ent, {f"q{barrier.id}": [option(barrier, label).id]}, actor=admin)
    db.session.commit()
    county_y = factories.user("manager", region=world.county_y)
    city = factories.user("manager", region=world.city)
    other = factories.user("manager", region=world.other_city)
    assert queries.get_campaign_for(county_y, campaign.id) is not None  # a city campaign reaches its counties
    assert queries.get_campaign_for(other, campaign.id) is None
    mine = queries.results(county_y, campaign)[0]
    assert mine.answered == 1 and {o.label: o.count for o in mine.options}["融资难"] == 1
    assert queries.results(city, campaign)[0].answered == 3
    assert queries.progress(county_y, [campaign.id])[campaign.id].targeted == 1
    assert queries.progress(city, [campaign.id])[campaign.id].answered == 3
    assert len(queries.raised_needs(county_y, campaign, barrier.id).rows) == 1
    assert len(queries.raised_needs(city, campaign, barrier.id).rows) == 2
    # officers fill only what they may record for
    officer_y = factories.user("officer", region=world.county_y)
    assert not queries.can_fill(officer_y, campaign, world.ent_x)
    assert queries.can_fill(officer_y, campaign, world.ent_y)


def test_manager_may_not_manage_another_regions_campaign(world, bank):
    campaign = launch(bank[:1], world.county_x)
    assert queries.can_manage_campaign(factories.user("manager", region=world.city), campaign)
    assert not queries.can_manage_campaign(factories.user("manager", region=world.county_y), campaign)
    assert not queries.can_manage_campaign(factories.user("officer", region=world.county_x), campaign)


def test_make_bank_is_reusable_for_a_region(world):
    questions = make_bank(region_id=world.county_x.id)
    assert all(q.region_id == world.county_x.id for q in questions)
