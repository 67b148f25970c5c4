"""/api/v1 endpoints, for a signed-in user or an API token.

Session users send the CSRF token in X-CSRFToken (Flask-WTF checks it). A caller with
`Authorization: Bearer mp_…` (`flask users token create`) is that token's user: the session is
then ignored and no CSRF token is needed (crm.auth.views.load_token_user, crm._csrf_protect).
"""
from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from functools import wraps

from flask import Blueprint, jsonify, make_response, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.core.policy import Role, can, public, require
from crm.core.security import bearer_token
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import RegistryFilter, registry_query, scope_enterprises
from crm.extensions import db
from crm.ladder import queries as ladder_queries
from crm.ladder.engine import evaluate, evaluate_all
from crm.ladder.profile import ProfileError, parse_profile
from crm.ladder.tiers import Tier

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, message: str, **extra):
    """A JSON error body with its status."""
    return jsonify({"error": {"code": status, "message": message, **extra}}), status


def api_signed_in(view):
    """401 JSON (not a redirect to the sign-in page) for anonymous callers and bad tokens."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            if bearer_token() is not None:
                return error(401, _("The API token is not valid or has been revoked."))
            return error(401, "sign in first")
        if current_user.role == Role.DEPARTMENT:  # a department's contact answers its referrals and nothing else
            return error(403, "not allowed")
        return view(*args, **kwargs)

    wrapped.capability = "signed_in"
    return wrapped


@bp.post("/readiness/check")
@api_signed_in
def readiness_check():
    """Evaluate a posted profile (readiness-profile.md): one tier with ?tier=, else all, lowest first."""
    try:
        data = json.loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
    except ValueError as exc:
        return error(400, f"not JSON: {exc}")
    if not isinstance(data, dict):
        return error(400, "the body must be a JSON object (a readiness profile)")
    tier = request.args.get("tier") or None
    if tier is not None and tier not in {t.value for t in Tier}:
        return error(400, f"unknown tier {tier!r}", tiers=[t.value for t in Tier])
    lang = "en" if request.args.get("lang") == "en" else "zh"
    try:
        profile = parse_profile(data)
    except ProfileError as exc:
        return error(422, str(exc))
    rulesets = ladder_queries.active_rulesets()
    result = evaluate(profile, tier, rulesets, lang=lang) if tier else evaluate_all(profile, rulesets, lang)
    return jsonify(result)


# --- the registry, certifications, figures, needs and visits (read; needs also create) -----------------

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def api_require(capability: str, *also: str):
    """Signed in (401 JSON), then 403 JSON unless the user holds `capability` (or one of `also`)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not any(can(current_user, c) for c in (capability, *also)):
                return error(403, _("You do not have permission to do this."))
            return view(*args, **kwargs)

        return api_signed_in(wrapped)

    return decorator


class BadRequest(ValueError):
    """A query parameter the API cannot use (answered 400 with the reason)."""


def _limit() -> int:
    raw = request.args.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw[:6]) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _cursor() -> int:
    """The id after which the page starts (0 for the first page), from the opaque `cursor` parameter."""
    raw = request.args.get("cursor", "")
    if not raw:
        return 0
    try:
        value = base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)).decode("ascii")
        if not value.startswith("i") or not value[1:].isdigit() or len(value) > 19:
            raise ValueError
        return int(value[1:])
    except (ValueError, UnicodeError, binascii.Error):
        raise BadRequest("cursor is not one this API gave out") from None


def _next_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"i{last_id}".encode("ascii")).decode("ascii").rstrip("=")


def _page(stmt, id_column, serialize) -> dict:
    """One page of `stmt` in id order after the cursor, with the next cursor when there is more."""
    limit = _limit()
    rows = list(db.session.scalars(stmt.where(id_column > _cursor()).order_by(None).order_by(id_column)
                                   .limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [serialize(r) for r in rows], "next_cursor": _next_cursor(rows[-1].id) if more else None}


def _bad_request(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except BadRequest as exc:
            return error(400, str(exc))

    return wrapped


def _day(value) -> str | None:
    return value.isoformat() if value else None


def _money(value) -> str | None:
    return None if value is None else format(value, "f")


def enterprise_json(e: Enterprise) -> dict:
    """An enterprise as the API shows it (codes, not labels; amounts as decimal strings)."""
    return {"uscc": e.uscc, "name": e.name, "region": {"code": e.region.code, "name": e.region.name},
            "industry_code": e.industry_code, "tech_domain": e.tech_domain, "established_on": _day(e.established_on),
            "is_above_scale": e.is_above_scale, "status": e.status, "current_tier": e.current_tier,
            "address": e.address, "archived": e.archived_at is not None}


def figures_json(f) -> dict:
    """A year's figures: amounts in 万元 as decimal strings (exact), head counts as integers."""
    from crm.enterprises.models import AMOUNT_FIELDS, COUNT_FIELDS

    return {"year": f.year, **{name: _money(getattr(f, name)) for name in AMOUNT_FIELDS},
            **{name: getattr(f, name) for name in COUNT_FIELDS}, "source": f.source, "verified": f.verified}


def certification_json(c) -> dict:
    """A certification."""
    return {"tier": c.tier, "certificate_no": c.certificate_no, "issued_on": _day(c.issued_on),
            "expires_on": _day(c.expires_on), "status": c.status, "issuer": c.issuer}


def need_json(n) -> dict:
    """A need."""
    return {"id": n.id, "uscc": n.enterprise.uscc, "category": n.category, "title": n.title,
            "description": n.description, "status": n.status, "raised_on": _day(n.raised_on),
            "due_on": _day(n.due_on), "owner": n.owner.name if n.owner else None, "closed_on": _day(n.closed_on),
            "resolution": n.resolution, "visit_id": n.visit_id, "version": n.version}


def visit_json(v) -> dict:
    """A visit."""
    return {"id": v.id, "uscc": v.enterprise.uscc, "visited_on": _day(v.visited_on), "officer": v.officer.name,
            "mode": v.mode, "people_met": v.people_met, "summary": v.summary,
            "policies": [p.title for p in v.policies]}


def _registry_filter() -> RegistryFilter:
    from crm.enterprises.models import ENTERPRISE_STATUS_LABELS, TECH_DOMAIN_LABELS, Region
    from crm.ladder.tiers import CANDIDATE, TIER_LABELS

    args = request.args
    f = RegistryFilter(q=args.get("q", "").strip()[:100])
    if args.get("region"):
        region_id = db.session.scalar(select(Region.id).where(Region.code == args["region"].strip().upper()[:12]))
        if region_id is None:
            raise BadRequest("unknown region code")
        f.region_id = region_id
    for name, attr, allowed in (("tier", "tier", {CANDIDATE, *TIER_LABELS}), ("domain", "tech_domain", TECH_DOMAIN_LABELS),
                                ("status", "status", ENTERPRISE_STATUS_LABELS), ("above", "above_scale", ("yes", "no"))):
        value = args.get(name, "")
        if value:
            if value not in allowed:
                raise BadRequest(f"{name} must be one of: {', '.join(sorted(map(str, allowed)))}")
            setattr(f, attr, value)
    return f


def _enterprise_by_uscc(uscc: str) -> Enterprise | None:
    from crm.core.uscc import normalize_uscc

    stmt = scope_enterprises(select(Enterprise).options(joinedload(Enterprise.region)), current_user).where(
        Enterprise.uscc == normalize_uscc(uscc)[:18])
    return db.session.scalar(stmt)


@bp.get("/enterprises")
@api_require("registry.read", "portal.use")
@_bad_request
def enterprises():
    """Enterprises in the token owner's scope: filters q, region (code), tier, domain, status, above; by cursor."""
    stmt = registry_query(current_user, _registry_filter())
    return jsonify(_page(stmt, Enterprise.id, enterprise_json))


@bp.get("/enterprises/<uscc>")
@api_require("registry.read", "portal.use")
def enterprise(uscc: str):
    """One enterprise by its USCC (404 outside the scope)."""
    e = _enterprise_by_uscc(uscc)
    if e is None:
        return error(404, _("The page or record was not found."))
    return jsonify(enterprise_json(e))


@bp.get("/enterprises/<uscc>/certifications")
@api_require("registry.read", "portal.use")
def enterprise_certifications(uscc: str):
    """An enterprise's certifications, oldest first."""
    from crm.ladder.models import Certification

    e = _enterprise_by_uscc(uscc)
    if e is None:
        return error(404, _("The page or record was not found."))
    certs = db.session.scalars(select(Certification).where(Certification.enterprise_id == e.id)
                               .order_by(Certification.issued_on, Certification.id))
    return jsonify({"uscc": e.uscc, "items": [certification_json(c) for c in certs]})


@bp.get("/enterprises/<uscc>/figures")
@api_require("registry.read", "portal.use")
def enterprise_figures(uscc: str):
    """An enterprise's annual figures, latest year first (amounts in 万元)."""
    from crm.enterprises.models import AnnualFigures

    e = _enterprise_by_uscc(uscc)
    if e is None:
        return error(404, _("The page or record was not found."))
    rows = db.session.scalars(select(AnnualFigures).where(AnnualFigures.enterprise_id == e.id)
                              .order_by(AnnualFigures.year.desc()))
    return jsonify({"uscc": e.uscc, "items": [figures_json(f) for f in rows]})


def _enterprise_param():
    """The `enterprise` (USCC) parameter as an enterprise in scope; BadRequest when it names none."""
    uscc = request.args.get("enterprise", "")
    if not uscc:
        return None
    e = _enterprise_by_uscc(uscc)
    if e is None:
        raise BadRequest("no enterprise with this USCC in your scope")
    return e


@bp.get("/needs")
@api_require("service.read")
@_bad_request
def needs():
    """Needs of enterprises in scope: filters status (open, closed or one status), category, enterprise (USCC)."""
    from crm.service.models import NEED_CATEGORY_LABELS, NEED_STATUS_LABELS, Need
    from crm.service.queries import NeedFilter, needs_query

    status, category = request.args.get("status", ""), request.args.get("category", "")
    if status not in ("", "open", "closed", *NEED_STATUS_LABELS):
        raise BadRequest("status must be open, closed or one of: " + ", ".join(NEED_STATUS_LABELS))
    if category not in ("", *NEED_CATEGORY_LABELS):
        raise BadRequest("category must be one of: " + ", ".join(NEED_CATEGORY_LABELS))
    e = _enterprise_param()
    f = NeedFilter(status=status, category=category, enterprise_id=e.id if e else None)
    return jsonify(_page(needs_query(current_user, f), Need.id, need_json))


@bp.post("/needs")
@api_require("service.write")
def need_create():
    """Raise a need: {"uscc", "category", "title", "description"?, "due_on"?} → 201 with the need."""
    from datetime import date

    from crm.core.validation import ValidationFailed
    from crm.service.queries import can_record
    from crm.service.services import raise_need

    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error(400, "the body must be a JSON object")
    e = _enterprise_by_uscc(str(data.get("uscc") or ""))
    if e is None:
        return error(404, _("The page or record was not found."))
    if not can_record(current_user, e):
        return error(403, _("You do not have permission to do this."))
    fields = {"category": data.get("category"), "title": data.get("title"),
              "description": data.get("description") or ""}
    if not all(isinstance(v, str) for v in fields.values() if v is not None):
        return error(422, "category, title and description must be text")
    if fields["title"] and len(fields["title"]) > 120:
        return error(422, "title: at most 120 characters", fields={"title": ["at most 120 characters"]})
    if data.get("due_on") is not None:
        try:
            fields["due_on"] = date.fromisoformat(str(data["due_on"]))
        except ValueError:
            return error(422, "due_on must be a date YYYY-MM-DD")
    try:
        need = raise_need(e, fields, actor=current_user)
    except ValidationFailed as failure:
        db.session.rollback()
        return error(422, "; ".join(f"{k or 'need'}: {m}" for k, ms in failure.errors.items() for m in ms),
                     fields={k: [str(m) for m in ms] for k, ms in failure.errors.items()})
    db.session.commit()
    return jsonify(need_json(need)), 201


@bp.patch("/needs/<int:need_id>")
@api_require("service.write")
def need_update(need_id: int):
    """Change a need: {"version" (required: the one read), "category"?, "title"?, "description"?, "due_on"?}.

    409 when the need was changed since that version (nothing written): read it again, then retry.
    """
    from datetime import date

    from crm.core.concurrency import StaleVersion
    from crm.core.validation import ValidationFailed
    from crm.service.models import Need
    from crm.service.queries import can_read_service, can_work_need
    from crm.service.services import update_need

    need = db.session.get(Need, need_id)
    if need is None or not can_read_service(current_user, need.enterprise):
        return error(404, _("The page or record was not found."))
    if not can_work_need(current_user, need):
        return error(403, _("You do not have permission to do this."))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error(400, "the body must be a JSON object")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        return error(422, "version: the need's version as read (an integer) is required")
    fields = {"category": data.get("category", need.category), "title": data.get("title", need.title),
              "description": data.get("description", need.description)}
    if not all(isinstance(v, str) for v in fields.values()):
        return error(422, "category, title and description must be text")
    if len(fields["title"]) > 120:
        return error(422, "title: at most 120 characters", fields={"title": ["at most 120 characters"]})
    fields["due_on"] = need.due_on
    if data.get("due_on") is not None:
        try:
            fields["due_on"] = date.fromisoformat(str(data["due_on"]))
        except ValueError:
            return error(422, "due_on must be a date YYYY-MM-DD")
    try:
        update_need(need, fields, actor=current_user, version=version)
    except StaleVersion as failure:
        db.session.rollback()
        return error(409, "; ".join(str(m) for ms in failure.errors.values() for m in ms),
                     version=db.session.get(Need, need_id).version)
    except ValidationFailed as failure:
        db.session.rollback()
        return error(422, "; ".join(f"{k or 'need'}: {m}" for k, ms in failure.errors.items() for m in ms),
                     fields={k: [str(m) for m in ms] for k, ms in failure.errors.items()})
    db.session.commit()
    return jsonify(need_json(need))


@bp.get("/visits")
@api_require("service.read")
@_bad_request
def visits():
    """Visits to enterprises in scope: filters enterprise (USCC), from, to (dates); newest id last, by cursor."""
    from datetime import date

    from crm.io.queries import VisitFilter, visits_query
    from crm.service.models import Visit

    def day(name):
        raw = request.args.get(name, "")
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise BadRequest(f"{name} must be a date YYYY-MM-DD") from None

    e = _enterprise_param()
    f = VisitFilter(enterprise_id=e.id if e else None, date_from=day("from"), date_to=day("to"))
    return jsonify(_page(visits_query(current_user, f), Visit.id, visit_json))


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 document of this API (it matches the endpoints: tests/test_api.py checks)."""
    from crm.api.openapi import document

    return jsonify(document())


# --- the admins' pages for API tokens ------------------------------------------------------------------

tokens_bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")


def _tokens_page(plaintext: str | None = None, created=None, errors=None, status: int = 200):
    from flask import render_template

    from crm.auth.models import ApiToken, User

    tokens = db.session.scalars(select(ApiToken).options(joinedload(ApiToken.user))
                                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc()))
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    response = make_response(render_template("api/tokens.html", tokens=list(tokens), users=list(users),
                                             plaintext=plaintext, created=created, errors=errors or []), status)
    response.headers["Cache-Control"] = "no-store"  # the page may show a new token once
    return response


@tokens_bp.get("", endpoint="index")
@require("api_tokens.manage")
def tokens_index():
    """Every API token (owner, name, prefix, created, last used, revoked) and the form to issue one."""
    return _tokens_page()


@tokens_bp.post("", endpoint="create")
@require("api_tokens.manage")
def tokens_create():
    """Issue a token to a user: shown once on the answering page, only its hash is kept."""
    from crm.auth import services as auth_services
    from crm.auth.models import User
    from crm.core.validation import ValidationFailed

    raw = request.form.get("user_id", "")
    user = db.session.get(User, int(raw)) if raw.isdigit() and len(raw) <= 9 else None
    if user is None or not user.is_active:
        return _tokens_page(errors=[_("Choose an active user.")], status=422)
    try:
        token, plaintext = auth_services.create_api_token(user, request.form.get("name", ""), actor=current_user)
    except ValidationFailed as failure:
        db.session.rollback()
        return _tokens_page(errors=[str(m) for ms in failure.errors.values() for m in ms], status=422)
    db.session.commit()
    return _tokens_page(plaintext=plaintext, created=token)


@tokens_bp.post("/<int:token_id>/revoke", endpoint="revoke")
@require("api_tokens.manage")
def tokens_revoke(token_id: int):
    """Revoke a token: it stops working at once."""
    from flask import abort, flash, redirect, url_for

    from crm.auth import services as auth_services
    from crm.auth.models import ApiToken

    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    if auth_services.revoke_api_token(token, actor=current_user):
        db.session.commit()
        flash(_("The token has been revoked."), "success")
    return redirect(url_for("api_tokens.index"), code=303)
