"""Error pages (HTML) and error bodies (JSON for /api/ and JSON clients)."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def _messages():
    return {
        400: _("The request could not be understood."),
        403: _("You do not have permission to do this."),
        404: _("The page or record was not found."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        409: _("Someone else changed this record after you opened it. Reload the page and try again."),
        500: _("Something went wrong on our side. The error has been logged."),
        503: _("The database cannot be reached for a moment. Nothing was saved by this request: "
               "try again in a few seconds."),
    }


def _rollback() -> None:
    from flask import current_app

    from crm.extensions import db

    try:
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001 - the connection may be gone; the teardown removes the session anyway
        current_app.logger.info("rollback after a database error failed too: %s", exc.__class__.__name__)


def register_error_handlers(app) -> None:
    """Install the handlers on `app`."""

    def render(code: int, message: str | None = None):
        message = message or _messages().get(code) or _("Error")
        if _wants_json():
            return jsonify({"error": {"code": code, "message": message}}), code
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return render(400, _("The form has expired or was sent from elsewhere. Reload the page and try again."))

    @app.errorhandler(StaleDataError)
    def stale_version(e):
        # A versioned UPDATE that matched no row: someone saved in between (crm.core.concurrency).
        _rollback()
        return render(409)

    @app.errorhandler(DBAPIError)
    def database_error(e):
        # A lost connection (PostgreSQL restarted, network) or a server that refuses connections: a
        # clear 503 the user can retry, not a stack trace. pool_pre_ping replaces the dead connections,
        # so the next request works again by itself. Other database errors stay 500s.
        if not (e.connection_invalidated or isinstance(e, (OperationalError, InterfaceError))):
            raise e
        app.logger.warning("database unavailable: %s", e.__class__.__name__)
        from flask import g

        from crm.extensions import login_manager

        # The user's language as loaded before the failure (read from the instance's state, never from the
        # database), so the page is still in their language once they are replaced by nobody below.
        user = g.get("_login_user")
        g.language = getattr(user, "__dict__", {}).get("locale")
        _rollback()
        # Render as nobody: the signed-in user (expired by the rollback) would need the database again.
        g._login_user = login_manager.anonymous_user()
        message = _messages()[503]
        if _wants_json():
            response = jsonify({"error": {"code": 503, "message": message}})
        else:
            # Its own page: base.html would ask the (unreachable) database who is signed in.
            response = app.make_response(render_template("errors/unavailable.html", message=message))
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def http_error(e):
        # Unhandled exceptions arrive here as InternalServerError after Flask has logged them;
        # the session is rolled back by Flask-SQLAlchemy's teardown.
        return render(e.code or 500)
