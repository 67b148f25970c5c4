"""Saved views: save the current filters of a list page under a name, reopen or forget them."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.policy import signed_in
from crm.core.validation import ValidationFailed
from crm.extensions import db
from crm.saved_views import queries, services
from crm.saved_views.models import SavedView

bp = Blueprint("saved_views", __name__, url_prefix="/saved-views")


def register_jinja(app) -> None:
    """The list pages' macro asks these (templates/macros/saved_views.html)."""
    app.jinja_env.globals.update(saved_views_for=lambda endpoint: queries.views_for(current_user, endpoint),
                                 saved_view_url=queries.url_of, saveable_page=lambda e: e in queries.SAVEABLE)


@bp.post("")
@signed_in
def create():
    """Save the posted filters of a list page under the posted name, then open them."""
    endpoint = request.form.get("endpoint", "")
    back = url_for(endpoint) if endpoint in queries.SAVEABLE else url_for("main.home")
    try:
        view = services.save_view(current_user, endpoint, request.form.get("name", ""), request.form.get("query", ""))
    except ValidationFailed as failure:
        db.session.rollback()
        for messages in failure.errors.values():
            for message in messages:
                flash(str(message), "warning")
        query = queries.clean_query(request.form.get("query", ""))
        return redirect(f"{back}?{query}" if query and endpoint in queries.SAVEABLE else back, code=303)
    db.session.commit()
    flash(_("View “%(name)s” saved.", name=view.name), "success")
    return redirect(queries.url_of(view), code=303)


@bp.post("/<int:view_id>/delete")
@signed_in
def delete(view_id: int):
    """Forget one of the user's saved views (another user's: 404)."""
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != current_user.id:
        abort(404)
    endpoint, name = view.endpoint, view.name
    services.delete_view(view, actor=current_user)
    db.session.commit()
    flash(_("View “%(name)s” removed.", name=name), "success")
    return redirect(url_for(endpoint), code=303)
