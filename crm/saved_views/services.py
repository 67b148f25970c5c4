"""Writes on saved views: save (a name already used is overwritten with the new filters) and delete. Callers commit."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit
from crm.core.validation import ValidationFailed
from crm.extensions import db
from crm.saved_views.models import SavedView
from crm.saved_views.queries import SAVEABLE, clean_query


def save_view(user, endpoint: str, name: str, query: str) -> SavedView:
    """Save the filters of a list page under a name, private to `user`; the same name again replaces them."""
    name = (name or "").strip()
    if endpoint not in SAVEABLE:
        raise ValidationFailed.one("endpoint", _l("This page cannot keep saved views."))
    if not name:
        raise ValidationFailed.one("name", _l("Name the view."))
    if len(name) > 40:
        raise ValidationFailed.one("name", _l("At most %(max)d characters.", max=40))
    query = clean_query(query)
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == user.id, SavedView.endpoint == endpoint,
                                                     SavedView.name == name))
    if view is None:
        view = SavedView(user_id=user.id, endpoint=endpoint, name=name, query=query)
        db.session.add(view)
        db.session.flush()
        audit.record(db.session, "create", view, actor=user, summary=f"{endpoint} · {name}",
                     changes=audit.snapshot(view, ["endpoint", "name", "query"]))
    elif view.query != query:
        changes = audit.apply_changes(view, {"query": query})
        db.session.flush()
        audit.record(db.session, "update", view, actor=user, summary=f"{endpoint} · {name}", changes=changes)
    return view


def delete_view(view: SavedView, *, actor) -> None:
    """Forget a saved view."""
    audit.record(db.session, "delete", view, actor=actor, summary=f"{view.endpoint} · {view.name}",
                 changes={"name": [view.name, None], "query": [view.query, None]})
    db.session.delete(view)
    db.session.flush()
