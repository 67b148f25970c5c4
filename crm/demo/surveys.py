"""Demo data of survey campaigns (需求摸排, issue 12): a question bank (最主要障碍, 融资需求, 人才需求, 技术难题,
研发投入, 经营打算), last year's campaign of 银川市 with its answers (written as they were, without raising needs
again) and this year's, open now, with answers filled by the officers through the service layer, so the rules
raise finance and talent needs and set flags; a few of those needs are already closed and rated. The results
then show year-on-year changes. Skipped when the bank is there already, so loading twice changes nothing."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.auth.models import User
from crm.enterprises.models import Enterprise, Region
from crm.extensions import db
from crm.service.models import Assignment
from crm.surveys import services
from crm.surveys.models import SurveyAnswer, SurveyCampaign, SurveyQuestion, SurveyResponse, SurveyTarget

CITY = "640100"
BANK = [
    ("single", "当前企业发展最主要的障碍", "", [
        ("融资难、融资贵", "finance", "融资需求（摸排）", ""), ("人才短缺", "talent", "人才需求（摸排）", ""),
        ("技术瓶颈", "technology", "技术难题（摸排）", ""), ("市场开拓难", "", "", ""),
        ("用地、厂房紧张", "premises", "用地需求（摸排）", ""), ("没有明显障碍", "", "", "")]),
    ("single", "未来一年有无融资需求", "", [
        ("有，500万元以下", "finance", "融资需求（500万元以下）", ""), ("有，500万元及以上", "finance", "融资需求（500万元以上）", ""),
        ("暂无", "", "", "")]),
    ("multi", "人才需求（可多选）", "", [
        ("研发人员", "talent", "研发人才需求", ""), ("技能工人", "", "", ""), ("经营管理人员", "", "", ""), ("暂无", "", "", "")]),
    ("text", "目前面临的技术难题", "", []),
    ("number", "明年计划研发投入", "万元", []),
    ("single", "未来一年经营打算", "", [
        ("扩大规模", "", "", ""), ("维持现状", "", "", ""), ("收缩经营", "", "", "difficulties"),
        ("考虑迁出本地", "", "", "relocation")]),
]
TEXTS = ["高温合金焊接工艺不稳定", "缺少中试条件", "检测设备依赖外协", "算法模型精度不足", ""]
# last year's answers lean more to financing; this year's less (so the year-on-year change shows)
BARRIER_WEIGHTS = {"last": [40, 20, 15, 10, 5, 10], "this": [30, 25, 15, 10, 5, 15]}


def _bank(admin: User) -> list[SurveyQuestion]:
    out = []
    for kind, text, unit, options in BANK:
        out.append(services.save_question(
            {"kind": kind, "text": text, "unit": unit, "region_id": None},
            [{"label": label, "need_category": category, "need_title": title, "flag_kind": flag}
             for label, category, title, flag in options], actor=admin))
    db.session.flush()
    return out


def _campaign(title: str, city: Region, questions, opens: date, closes: date, manager: User) -> SurveyCampaign:
    campaign = services.save_campaign(
        {"title": title, "region_id": city.id, "opens_on": opens, "closes_on": closes, "target_region_id": None,
         "target_tier": "", "target_tag_id": None},
        [q.id for q in questions], actor=manager, usable={q.id: q for q in questions})
    services.launch_campaign(campaign, actor=manager)
    return campaign


def _raw(campaign: SurveyCampaign, rng: random.Random, weights: list[int]) -> dict:
    raw = {}
    for cq in campaign.questions:
        v = cq.question_version
        key = f"q{cq.question_id}"
        if v.kind == "single":
            w = weights if len(v.options) == len(weights) else [1] * len(v.options)
            raw[key] = [rng.choices(v.options, weights=w)[0].id]
        elif v.kind == "multi":
            raw[key] = [o.id for o in rng.sample(v.options[:3], rng.randint(1, 2))]
        elif v.kind == "number":
            raw[key] = str(rng.choice([50, 80, 120, 200, 300, 500]))
        else:
            raw[key] = rng.choice(TEXTS)
    return raw


def _write_directly(campaign: SurveyCampaign, enterprise_id: int, raw: dict, officer_id: int | None) -> None:
    """Last year's answers as they were recorded then (their needs were raised and worked last year)."""
    response = SurveyResponse(campaign_id=campaign.id, enterprise_id=enterprise_id, filled_by_id=officer_id)
    db.session.add(response)
    db.session.flush()
    for cq in campaign.questions:
        value = raw.get(f"q{cq.question_id}")
        kind = cq.question_version.kind
        db.session.add(SurveyAnswer(
            response_id=response.id, question_id=cq.question_id, question_version_id=cq.question_version_id,
            option_ids=value if kind in ("single", "multi") else [],
            number_value=Decimal(value) if kind == "number" and value else None,
            text_value=value if kind == "text" else ""))


def load_surveys(today: date) -> dict[str, int]:
    """The bank, last year's and this year's campaigns of 银川市 with answers (flushes; the caller commits)."""
    if db.session.scalar(select(SurveyQuestion.id).limit(1)) is not None:
        return {}
    city = db.session.scalar(select(Region).where(Region.code == CITY))
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    if city is None or admin is None or manager is None:
        return {}
    questions = _bank(admin)
    rng = random.Random(20260412)
    last = _campaign(f"{today.year - 1}年度企业需求摸排", city, questions, date(today.year - 1, 3, 1),
                     date(today.year - 1, 4, 30), manager)
    opens = max(date(today.year, 1, 1), today - timedelta(days=20))
    this = _campaign(f"{today.year}年度企业需求摸排", city, questions, opens, today + timedelta(days=40), manager)
    officers = dict(db.session.execute(select(Assignment.enterprise_id, Assignment.officer_id)
                                       .where(Assignment.ends_on.is_(None))).all())
    last_ids = list(db.session.scalars(select(SurveyTarget.enterprise_id).where(SurveyTarget.campaign_id == last.id)
                                       .order_by(SurveyTarget.enterprise_id)))
    answered_last = 0
    for enterprise_id in last_ids:
        if rng.random() < 0.8:
            _write_directly(last, enterprise_id, _raw(last, rng, BARRIER_WEIGHTS["last"]), officers.get(enterprise_id))
            answered_last += 1
    this_ids = list(db.session.scalars(select(SurveyTarget.enterprise_id).where(SurveyTarget.campaign_id == this.id)
                                       .order_by(SurveyTarget.enterprise_id)))
    answered_this = 0
    for enterprise_id in this_ids:
        officer = db.session.get(User, officers[enterprise_id]) if enterprise_id in officers else None
        if officer is None or rng.random() > 0.55:
            continue
        services.save_response(this, db.session.get(Enterprise, enterprise_id),
                               _raw(this, rng, BARRIER_WEIGHTS["this"]), actor=officer)
        answered_this += 1
    db.session.flush()
    closed = _close_some(this, rng)
    return {"survey questions": len(questions), "survey campaigns": 2, "survey responses (last year)": answered_last,
            "survey responses (this year)": answered_this, "survey needs closed": closed}


def _close_some(campaign: SurveyCampaign, rng: random.Random) -> int:
    """Close a third of the finance needs the campaign raised, rated by the enterprise (the results' "done when")."""
    from crm.service.models import Need
    from crm.service.services import change_need_status
    from crm.surveys.models import SurveyRaisedNeed

    needs = list(db.session.scalars(select(Need).join(SurveyRaisedNeed, SurveyRaisedNeed.need_id == Need.id)
                                    .join(SurveyResponse, SurveyResponse.id == SurveyRaisedNeed.response_id)
                                    .where(SurveyResponse.campaign_id == campaign.id, Need.category == "finance")
                                    .order_by(Need.id)))
    closed = 0
    for need in needs[::3]:
        if need.owner is None:
            continue
        change_need_status(need, "resolved", actor=need.owner, resolution="已对接合作银行，授信额度落实。",
                           satisfaction=rng.choice([4, 5, 5, 3]))
        closed += 1
    return closed
