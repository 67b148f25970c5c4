"""Survey fixtures: a small bank (a single choice that raises needs and a flag, a multiple choice, a number, a
text) and helpers to draft and launch a campaign over the standard world."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.core import clock
from crm.extensions import db
from crm.surveys import services


def make_bank(actor="test", region_id=None):
    """Four questions: 最主要障碍 (single, 融资难 raises a finance need and sets the difficulties flag), 需求 (multi,
    人才 raises a talent need), 研发投入 (number, 万元), 建议 (text)."""
    barrier = services.save_question(
        {"kind": "single", "text": "最主要障碍", "region_id": region_id},
        [{"label": "融资难", "need_category": "finance", "need_title": "融资需求", "flag_kind": "difficulties"},
         {"label": "招工难"}, {"label": "没有障碍"}], actor=actor)
    wants = services.save_question(
        {"kind": "multi", "text": "需求", "region_id": region_id},
        [{"label": "资金"}, {"label": "人才", "need_category": "talent"}, {"label": "技术"}], actor=actor)
    spend = services.save_question({"kind": "number", "text": "研发投入", "unit": "万元", "region_id": region_id},
                                   [], actor=actor)
    advice = services.save_question({"kind": "text", "text": "建议", "region_id": region_id}, [], actor=actor)
    db.session.flush()
    return barrier, wants, spend, advice


def launch(questions, region, *, actor="test", opens_on=None, closes_on=None, title="需求摸排", **target):
    """Draft and launch a campaign of `region` asking `questions`, open today unless dated."""
    today = clock.today()
    campaign = services.save_campaign(
        {"title": title, "region_id": region.id, "opens_on": opens_on or today - timedelta(days=1),
         "closes_on": closes_on or today + timedelta(days=30), "target_region_id": target.get("target_region_id"),
         "target_tier": target.get("target_tier", ""), "target_tag_id": target.get("target_tag_id")},
        [q.id for q in questions], actor=actor, usable={q.id: q for q in questions})
    services.launch_campaign(campaign, actor=actor)
    db.session.flush()
    return campaign


def option(question, label):
    """The option of the question's current version with this label."""
    return next(o for o in question.current.options if o.label == label)


@pytest.fixture
def bank(db, world):
    """The four questions, committed."""
    questions = make_bank()
    db.session.commit()
    return questions
