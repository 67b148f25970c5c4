"""/api/v1 endpoints, for a signed-in user or an API token.

Session users send the CSRF token in X-CSRFToken (Flask-WTF checks it). A caller with
`Authorization: Bearer mp_…` (`flask users token create`) is that token's user: the session is
then ignored and no CSRF token is needed (crm.auth.views.load_token_user, crm._csrf_protect).
"""
from __future__ import annotations

import json
from decimal import Decimal
from functools import wraps

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.security import bearer_token
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
