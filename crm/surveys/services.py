"""Writes of survey campaigns: questions (versioned), campaigns and their launch, responses and their rules.

Services validate, flush and audit; they never commit (the view's unit of work does).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit, clock
from crm.core.db import utcnow
from crm.core.policy import Role
from crm.core.validation import ValidationFailed
from crm.cycle.models import FLAG_LABELS
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import subtree_ids
from crm.extensions import db
from crm.ladder.tiers import TIER_LABELS
from crm.service.models import NEED_CATEGORY_LABELS, Visit
from crm.surveys import queries
from crm.surveys.models import (
    CHOICE_KINDS,
    QUESTION_KIND_LABELS,
    CampaignStatus,
    QuestionKind,
    SurveyAnswer,
    SurveyCampaign,
    SurveyCampaignQuestion,
    SurveyOption,
    SurveyQuestion,
    SurveyQuestionVersion,
    SurveyRaisedNeed,
    SurveyResponse,
    SurveyTarget,
)

MAX_OPTIONS = 20


def _actor_id(actor):
    return getattr(actor, "id", None)


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _in_scope(actor, region_id: int | None) -> bool:
    if isinstance(actor, str) or actor.role == Role.ADMIN:
        return True
    return region_id is not None and region_id in subtree_ids(actor.region_id)


# --- questions ---------------------------------------------------------------------------------------

def _clean_options(kind: str, options: list[dict]) -> list[dict]:
    """Validate a question's options and their rules; choice questions need two or more, others none."""
    rows = [o for o in options if (o.get("label") or "").strip()]
    errors: dict = {}
    if kind in CHOICE_KINDS and len(rows) < 2:
        errors["options"] = [_l("A choice question needs at least two options.")]
    if kind not in CHOICE_KINDS and rows:
        errors["options"] = [_l("Only choice questions have options.")]
    if len(rows) > MAX_OPTIONS:
        errors["options"] = [_l("At most %(n)d options.", n=MAX_OPTIONS)]
    labels = [o["label"].strip() for o in rows]
    if len(set(labels)) != len(labels):
        errors["options"] = [_l("Two options have the same text.")]
    cleaned = []
    for o in rows:
        category = (o.get("need_category") or "").strip()
        flag = (o.get("flag_kind") or "").strip()
        title = (o.get("need_title") or "").strip()
        if category and category not in NEED_CATEGORY_LABELS:
            errors["options"] = [_l("Choose a need category from the list.")]
        if flag and flag not in FLAG_LABELS:
            errors["options"] = [_l("Choose a flag from the list.")]
        cleaned.append({"label": o["label"].strip()[:100], "need_category": category,
                        "need_title": (title or (o["label"].strip() if category else ""))[:120], "flag_kind": flag})
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _options_text(options: list[dict]) -> str:
    return " | ".join(o["label"] + (f" → {o['need_category']}" if o["need_category"] else "")
                      + (f" ⚑{o['flag_kind']}" if o["flag_kind"] else "") for o in options)


def _new_version(question: SurveyQuestion, number: int, data: dict, options: list[dict]) -> SurveyQuestionVersion:
    version = SurveyQuestionVersion(question_id=question.id, version=number, kind=data["kind"],
                                    text=data["text"], unit=data.get("unit") or "")
    version.options = [SurveyOption(position=i, **o) for i, o in enumerate(options)]
    db.session.add(version)
    return version


def save_question(data: dict, options: list[dict], *, actor, question: SurveyQuestion | None = None) -> SurveyQuestion:
    """Create a question or change it: in place while no launched campaign asks it, else as a new version."""
    data = {"kind": data.get("kind"), "text": (data.get("text") or "").strip()[:200],
            "unit": (data.get("unit") or "").strip()[:20], "region_id": data.get("region_id")}
    errors: dict = {}
    if data["kind"] not in QUESTION_KIND_LABELS:
        errors["kind"] = [_l("Choose how the question is answered.")]
    if not data["text"]:
        errors["text"] = [_l("Write the question.")]
    if not _in_scope(actor, data["region_id"]):
        errors["region_id"] = [_l("Choose a region within yours.")]
    if errors:
        raise ValidationFailed(errors)
    if data["kind"] != QuestionKind.NUMBER:
        data["unit"] = ""
    cleaned = _clean_options(data["kind"], options)
    if question is None:
        question = SurveyQuestion(region_id=data["region_id"], current_version=1, created_by_id=_actor_id(actor))
        db.session.add(question)
        db.session.flush()
        _new_version(question, 1, data, cleaned)
        db.session.flush()
        audit.record(db.session, "create", question, actor=actor, summary=data["text"],
                     changes={"text": [None, data["text"]], "kind": [None, data["kind"]],
                              "options": [None, _options_text(cleaned)]})
        return question
    current = question.current
    before = {"text": current.text, "kind": current.kind, "unit": current.unit,
              "options": _options_text([{"label": o.label, "need_category": o.need_category,
                                         "flag_kind": o.flag_kind} for o in current.options])}
    after = {"text": data["text"], "kind": data["kind"], "unit": data["unit"], "options": _options_text(cleaned)}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if question.region_id != data["region_id"]:
        changes["region_id"] = [question.region_id, data["region_id"]]
        question.region_id = data["region_id"]
    if not changes:
        return question
    if queries.version_in_launched_use(current):
        # answers keep the version they answered: a launched campaign's version is never rewritten
        number = max(v.version for v in question.versions) + 1
        _new_version(question, number, data, cleaned)
        question.current_version = number
        changes["version"] = [current.version, number]
    else:
        current.kind, current.text, current.unit = data["kind"], data["text"], data["unit"]
        current.options = [SurveyOption(position=i, **o) for i, o in enumerate(cleaned)]
    db.session.flush()
    db.session.expire(question, ["versions"])
    audit.record(db.session, "update", question, actor=actor, changes=changes, summary=data["text"])
    return question


# --- campaigns ---------------------------------------------------------------------------------------

CAMPAIGN_FIELDS = ("title", "region_id", "opens_on", "closes_on", "target_region_id", "target_tier", "target_tag_id")


def save_campaign(data: dict, question_ids: list[int], *, actor, campaign: SurveyCampaign | None = None,
                  usable: dict[int, SurveyQuestion] | None = None) -> SurveyCampaign:
    """Create or change a draft campaign: title, region, period, target filter, and its questions in order."""
    if campaign is not None and campaign.is_launched:
        raise ValidationFailed.one("", _l("A launched campaign cannot be changed."))
    errors: dict = {}
    if not (data.get("title") or "").strip():
        errors["title"] = [_l("Name the campaign.")]
    if not data.get("region_id") or not _in_scope(actor, data["region_id"]):
        errors["region_id"] = [_l("Choose a region within yours.")]
    opens, closes = data.get("opens_on"), data.get("closes_on")
    if opens and closes and closes < opens:
        errors["closes_on"] = [_l("The campaign cannot close before it opens.")]
    target_region = data.get("target_region_id")
    if target_region and data.get("region_id") and target_region not in subtree_ids(data["region_id"]):
        errors["target_region_id"] = [_l("Choose a region within the campaign's region.")]
    if data.get("target_tier") and data["target_tier"] not in {*TIER_LABELS, "candidate"}:
        errors["target_tier"] = [_l("Choose a tier from the list.")]
    usable = usable or {}
    chosen = [usable[i] for i in question_ids if i in usable]
    if not chosen:
        errors["question_ids"] = [_l("Choose at least one question of the bank.")]
    if errors:
        raise ValidationFailed(errors)
    values = {k: data.get(k) for k in CAMPAIGN_FIELDS}
    values["title"] = values["title"].strip()[:120]
    values["target_tier"] = values["target_tier"] or ""
    if campaign is None:
        campaign = SurveyCampaign(status=CampaignStatus.DRAFT, created_by_id=_actor_id(actor), **values)
        db.session.add(campaign)
        changes = {k: [None, v] for k, v in values.items() if v not in (None, "")}
        action = "create"
    else:
        changes = audit.apply_changes(campaign, values)
        action = "update"
    before = [cq.question_id for cq in campaign.questions]
    after = [q.id for q in chosen]
    if before != after:
        campaign.questions = [SurveyCampaignQuestion(question_id=q.id, question_version_id=q.current.id, position=i)
                              for i, q in enumerate(chosen)]
        changes["questions"] = [before or None, after]
    db.session.flush()
    if changes:
        plain = {k: [_plain(a), _plain(b)] for k, (a, b) in changes.items()}
        audit.record(db.session, action, campaign, actor=actor, changes=plain, summary=campaign.title)
    return campaign


def launch_campaign(campaign: SurveyCampaign, *, actor) -> int:
    """Launch a draft: pin each question to its current version and fix the enterprises asked; returns their count."""
    if campaign.is_launched:
        raise ValidationFailed.one("", _l("This campaign has been launched already."))
    ids = queries.matching_enterprise_ids(campaign)
    if not ids:
        raise ValidationFailed.one("", _l("No enterprise matches this campaign's filter."))
    for cq in campaign.questions:
        cq.question_version = cq.question.current
    db.session.add_all([SurveyTarget(campaign_id=campaign.id, enterprise_id=i) for i in ids])
    campaign.status = CampaignStatus.LAUNCHED
    campaign.launched_at = utcnow()
    db.session.flush()
    audit.record(db.session, "launch", campaign, actor=actor, summary=campaign.title,
                 changes={"status": [CampaignStatus.DRAFT.value, CampaignStatus.LAUNCHED.value],
                          "targets": [None, len(ids)]})
    return len(ids)


# --- responses ---------------------------------------------------------------------------------------

def _parse(version: SurveyQuestionVersion, raw) -> tuple[list[int], Decimal | None, str]:
    """Shape one raw answer (a list of option ids, a number text, a text) or raise with the question's key."""
    key = f"q{version.question_id}"
    if version.is_choice:
        allowed = {o.id for o in version.options}
        picked = []
        for value in raw if isinstance(raw, (list, tuple)) else ([raw] if raw not in (None, "") else []):
            if not str(value).isdigit() or int(value) not in allowed:
                raise ValidationFailed.one(key, _l("Choose among the question's options."))
            if int(value) not in picked:
                picked.append(int(value))
        if version.kind == QuestionKind.SINGLE and len(picked) > 1:
            raise ValidationFailed.one(key, _l("Choose one option."))
        return picked, None, ""
    if version.kind == QuestionKind.NUMBER:
        text = str(raw or "").strip().replace(",", "")
        if not text:
            return [], None, ""
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= Decimal("1e12"):
            raise ValidationFailed.one(key, _l("Enter a number."))
        return [], number.quantize(Decimal("0.01")), ""
    text = str(raw or "").strip()
    if len(text) > 2000:
        raise ValidationFailed.one(key, _l("At most %(n)d characters.", n=2000))
    return [], None, text


def _shown(version: SurveyQuestionVersion, option_ids, number, text):
    if version.is_choice:
        labels = {o.id: o.label for o in version.options}
        return "、".join(labels[i] for i in option_ids) or None
    if version.kind == QuestionKind.NUMBER:
        return None if number is None else str(number)
    return text or None


def save_response(campaign: SurveyCampaign, enterprise: Enterprise, raw: dict, *, actor,
                  visit: Visit | None = None) -> SurveyResponse:
    """Save the enterprise's one response (create or change it while the campaign is open), then apply the rules.

    `raw` maps "q<question id>" to the answer. A chosen option with a need rule raises that need once per response
    through the service layer (crm.service.services.raise_need: owner and due date as any need); a flag rule sets
    the enterprise's flag (crm.cycle.services.set_flag), which is already idempotent.
    """
    if not isinstance(actor, str) and not queries.can_fill(actor, campaign, enterprise):
        raise ValidationFailed.one("", _l("This campaign is not open to you for %(name)s.", name=enterprise.name))
    if visit is not None and visit.enterprise_id != enterprise.id:
        raise ValidationFailed.one("", _l("The visit is of another enterprise."))
    parsed = {}
    errors: dict = {}
    for cq in campaign.questions:
        version = cq.question_version
        try:
            parsed[cq.question_id] = (version, *_parse(version, raw.get(f"q{cq.question_id}")))
        except ValidationFailed as failed:
            errors.update(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    if not any(ids or number is not None or text for _v, ids, number, text in parsed.values()):
        raise ValidationFailed.one("", _l("Answer at least one question."))
    response = queries.response_of(campaign, enterprise)
    created = response is None
    if created:
        response = SurveyResponse(campaign_id=campaign.id, enterprise_id=enterprise.id, filled_by_id=_actor_id(actor),
                                  visit_id=visit.id if visit else None)
        db.session.add(response)
        db.session.flush()
    elif visit is not None and response.visit_id is None:
        response.visit_id = visit.id
    existing = {a.question_id: a for a in response.answers}
    changes: dict = {}
    for question_id, (version, ids, number, text) in parsed.items():
        answer = existing.get(question_id)
        old = _shown(answer.question_version, answer.option_ids, answer.number_value, answer.text_value) \
            if answer else None
        new = _shown(version, ids, number, text)
        if answer is None:
            if new is None:
                continue
            answer = SurveyAnswer(response=response, question_id=question_id, question_version_id=version.id)
            db.session.add(answer)
        answer.question_version_id = version.id
        answer.option_ids, answer.number_value, answer.text_value = ids, number, text
        if old != new:
            changes[version.text[:60]] = [old, new]
    response.updated_by_id = _actor_id(actor)
    if changes and not created:
        response.updated_at = utcnow()
    db.session.flush()
    if created or changes:
        audit.record(db.session, "create" if created else "update", response, actor=actor,
                     enterprise_id=enterprise.id, changes=changes, summary=f"{enterprise.name} · {campaign.title}")
    apply_rules(response, [(v, ids) for v, ids, _n, _t in parsed.values() if ids], actor=actor,
                visit=visit or (db.session.get(Visit, response.visit_id) if response.visit_id else None))
    return response


def apply_rules(response: SurveyResponse, chosen: list[tuple[SurveyQuestionVersion, list[int]]], *, actor,
                visit: Visit | None = None) -> int:
    """Raise the needs and set the flags the chosen options ask for; a need once per response and option.

    Returns how many needs were raised now. Unchoosing an option later leaves its need alone: it is a normal
    need by then, worked and closed like any other.
    """
    from crm.cycle.queries import can_flag
    from crm.cycle.services import set_flag
    from crm.service.services import raise_need

    enterprise = db.session.get(Enterprise, response.enterprise_id)
    campaign = db.session.get(SurveyCampaign, response.campaign_id)
    done = set(db.session.scalars(select(SurveyRaisedNeed.option_id).where(
        SurveyRaisedNeed.response_id == response.id)))
    raised = 0
    for version, ids in chosen:
        for option in version.options:
            if option.id not in ids:
                continue
            if option.need_category and option.id not in done:
                need = raise_need(enterprise, {
                    "category": option.need_category, "title": option.need_title or option.label,
                    "description": f"{campaign.title} · {version.text}: {option.label}"}, actor=actor, visit=visit)
                db.session.add(SurveyRaisedNeed(response_id=response.id, option_id=option.id, need_id=need.id))
                db.session.flush()
                done.add(option.id)
                raised += 1
            if option.flag_kind:
                # the rule is the bureau's, so an enterprise's own answer in the portal sets the flag too
                flag_actor = actor if not isinstance(actor, str) and can_flag(actor, enterprise) \
                    else f"survey:{getattr(actor, 'username', actor)}"
                set_flag(enterprise, option.flag_kind, True, actor=flag_actor,
                         note=f"{campaign.title} · {option.label}")
    return raised


def today_open(campaign: SurveyCampaign) -> bool:
    """Whether the campaign takes responses today."""
    return campaign.is_open(clock.today())
