"""Survey pages: the bank and a new version, drafting and launching, filling from a visit and in the portal."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.core import clock
from crm.extensions import db
from crm.service.models import Need
from crm.surveys.models import SurveyCampaign, SurveyQuestion, SurveyResponse
from tests import factories
from tests.helpers import zh
from tests.surveys.conftest import launch, option

EN = {"Accept-Language": "en"}


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_manager_writes_a_question_and_a_campaign_and_launches_it(client, login_as, world):
    login_as("manager", region=world.city)
    bad = client.post("/surveys/questions/new", data={"kind": "single", "text": "最主要障碍", "region_id": world.city.id,
                                                      "options-0-label": "融资难"})
    assert bad.status_code == 422 and _count(SurveyQuestion) == 0
    ok = client.post("/surveys/questions/new", data={
        "kind": "single", "text": "最主要障碍", "region_id": world.city.id,
        "options-0-label": "融资难", "options-0-need_category": "finance", "options-0-need_title": "融资需求",
        "options-1-label": "招工难"})
    assert ok.status_code == 303
    question = db.session.scalar(select(SurveyQuestion))
    assert [o.label for o in question.current.options] == ["融资难", "招工难"]
    today = clock.today()
    form = {"title": "2026年需求摸排", "region_id": world.city.id, "opens_on": today.isoformat(),
            "closes_on": (today + timedelta(days=20)).isoformat(), "target_region_id": world.county_x.id,
            "target_tier": "", "target_tag_id": ""}
    assert client.post("/surveys/new", data=form).status_code == 422  # no question chosen
    created = client.post("/surveys/new", data={**form, f"pos_{question.id}": "1"})
    assert created.status_code == 303
    campaign = db.session.scalar(select(SurveyCampaign))
    page = client.get(f"/surveys/{campaign.id}", headers=EN)
    assert zh("Draft: %(n)d enterprises match its filter now.", n=2) in page.text
    assert client.post(f"/surveys/{campaign.id}/launch").status_code == 303
    db.session.refresh(campaign)
    assert campaign.is_launched
    assert client.get(f"/surveys/{campaign.id}/edit").status_code == 303  # launched: no more edits
    # editing the launched question now makes version 2
    client.post(f"/surveys/questions/{question.id}/edit", data={
        "kind": "single", "text": "当前最主要障碍", "region_id": world.city.id,
        "options-0-label": "融资难", "options-1-label": "招工难"})
    db.session.refresh(question)
    assert question.current_version == 2
    listing = client.get("/surveys", headers=EN)
    assert "0 / 2" in listing.text


def test_officer_fills_from_the_visit_and_the_need_appears(client, login_as, world, bank):
    barrier, wants, spend, advice = bank
    campaign = launch(bank, world.city)
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    visit = factories.visit(world.ent_x, officer)
    db.session.commit()
    login_as(officer)
    visit_page = client.get(f"/visits/{visit.id}", headers=EN)
    link = f"/surveys/{campaign.id}/enterprises/{world.ent_x.id}/fill?visit={visit.id}"
    assert link in visit_page.text.replace("&amp;", "&")
    assert zh("Fill the campaign questionnaire") in visit_page.text
    form = client.get(link, headers=EN)
    assert form.status_code == 200 and "最主要障碍" in form.text
    bad = client.post(link, data={f"q{spend.id}": "lots"}, headers=EN)
    assert bad.status_code == 422 and zh("Enter a number.") in bad.text and _count(SurveyResponse) == 0
    saved = client.post(link, data={f"q{barrier.id}": str(option(barrier, "融资难").id), f"q{spend.id}": "35",
                                    "visit": visit.id})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/visits/{visit.id}")
    response = db.session.scalar(select(SurveyResponse))
    assert response.visit_id == visit.id and response.filled_by_id == officer.id
    need = db.session.scalar(select(Need))
    assert (need.category, need.visit_id, need.owner_id) == ("finance", visit.id, officer.id)
    again = client.get(f"/visits/{visit.id}", headers=EN)
    assert "融资需求" in again.text and zh("Change the campaign questionnaire") in again.text
    # another officer of county Y cannot open ent_x's questionnaire at all
    login_as("officer", region=world.county_y)
    assert client.get(link).status_code == 404


def test_the_enterprise_contact_fills_in_the_portal_while_open(client, login_as, world, bank):
    barrier = bank[0]
    campaign = launch(bank, world.city)
    contact = factories.user("enterprise", enterprise=world.ent_x)
    db.session.commit()
    login_as(contact)
    home = client.get("/portal", headers=EN, follow_redirects=True)
    assert f"/portal/surveys/{campaign.id}" in home.text
    saved = client.post(f"/portal/surveys/{campaign.id}", data={f"q{barrier.id}": option(barrier, "招工难").id})
    assert saved.status_code == 303
    assert db.session.scalar(select(SurveyResponse.filled_by_id)) == contact.id
    campaign.closes_on = clock.today() - timedelta(days=1)
    campaign.opens_on = clock.today() - timedelta(days=5)
    db.session.commit()
    assert client.get(f"/portal/surveys/{campaign.id}").status_code == 403
    login_as("enterprise", enterprise=world.ent_z)  # not asked by 银川's campaign
    assert client.get(f"/portal/surveys/{campaign.id}").status_code == 404


def test_pages_run_a_fixed_number_of_queries(client, login_as, world, bank):
    from tests.helpers import count_queries

    barrier, wants, spend, advice = bank
    extra = [factories.enterprise(world.county_x) for _ in range(3)]
    for e in extra:
        factories.user("officer", region=world.county_x, serves=[e])
    campaign = launch(bank, world.city, opens_on=clock.today() - timedelta(days=400),
                      closes_on=clock.today() + timedelta(days=5))
    admin = factories.user("admin")

    def answer(enterprise):
        from crm.surveys import services

        services.save_response(campaign, enterprise, {f"q{barrier.id}": [option(barrier, "招工难").id],
                                                      f"q{spend.id}": "5"}, actor=admin)
        db.session.commit()

    login_as("manager", region=world.city)
    answer(world.ent_x)
    urls = [f"/surveys/{campaign.id}", f"/surveys/{campaign.id}/results", "/surveys",
            f"/surveys/{campaign.id}/questions/{barrier.id}/needs"]
    before = [count_queries(client, u) for u in urls]
    for e in extra:
        answer(e)
    assert [count_queries(client, u) for u in urls] == before


def test_enterprise_page_links_to_the_open_campaign(client, login_as, world, bank):
    campaign = launch(bank, world.city)
    login_as("officer", region=world.county_x)
    page = client.get(f"/enterprises/{world.ent_x.id}", headers=EN)
    assert f"/surveys/{campaign.id}/enterprises/{world.ent_x.id}/fill" in page.text
    assert zh("Not answered") in page.text


def test_a_county_manager_keeps_to_their_county(client, login_as, world, bank):
    barrier = bank[0]
    campaign = launch(bank, world.city)
    admin = factories.user("admin")
    from crm.surveys import services

    services.save_response(campaign, world.ent_x, {f"q{barrier.id}": [option(barrier, "融资难").id]}, actor=admin)
    services.save_response(campaign, world.ent_y, {f"q{barrier.id}": [option(barrier, "招工难").id]}, actor=admin)
    db.session.commit()
    login_as("manager", region=world.county_y)
    today = clock.today()
    refused = client.post("/surveys/new", data={
        "title": "越权", "region_id": world.county_x.id, "opens_on": today.isoformat(),
        "closes_on": today.isoformat(), f"pos_{barrier.id}": "1"})
    assert refused.status_code == 403 and _count(SurveyCampaign) == 1
    page = client.get(f"/surveys/{campaign.id}/results", headers=EN)
    assert zh("%(answered)d of %(targeted)d enterprises answered (in your region)", answered=1, targeted=1) in page.text
    needs = client.get(f"/surveys/{campaign.id}/questions/{barrier.id}/needs")
    assert world.ent_x.name not in needs.text
    assert client.get(f"/surveys/{campaign.id}/edit").status_code == 403  # the city's campaign is not theirs
