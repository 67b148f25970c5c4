"""Reads of saved views: a user's views of one list page, the pages that offer them."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.saved_views.models import SavedView

# The list pages whose filters can be saved (GET routes without path arguments), with their names.
SAVEABLE = {
    "enterprises.index": _l("Enterprise registry"),
    "service.needs": _l("Needs"),
    "service.follow_ups": _l("Follow-ups"),
    "candidates.index": _l("Candidate pool"),
    "cycle.applications": _l("Applications"),
    "policies.index": _l("Policies"),
    "partners.index": _l("Partners"),
    "partners.referrals": _l("Referrals"),
    "events.index": _l("Events"),
}
# query arguments that are not filters: a saved view always opens on its first page
_NOT_FILTERS = {"page", "csrf_token"}


def clean_query(query: str) -> str:
    """The filters of a query string, normalised (no page number, no leading ?), at most 1000 characters."""
    pairs = [(k, v) for k, v in parse_qsl((query or "").lstrip("?"), keep_blank_values=False)
             if k not in _NOT_FILTERS and v != ""]
    return urlencode(pairs)[:1000]


def views_for(user, endpoint: str) -> list[SavedView]:
    """`user`'s saved views of a list page, by name (none for anonymous users)."""
    if user is None or not getattr(user, "is_authenticated", False) or endpoint not in SAVEABLE:
        return []
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id,
                                                           SavedView.endpoint == endpoint).order_by(SavedView.name)))


def url_of(view: SavedView) -> str:
    """Where a saved view opens: its list page with its filters."""
    base = url_for(view.endpoint)
    return f"{base}?{view.query}" if view.query else base
