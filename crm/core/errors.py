"""Error pages (HTML) and error bodies (JSON for /api/ and JSON clients)."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
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
        500: _("Something went wrong on our side. The error has been logged."),
    }


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

    @app.errorhandler(HTTPException)
    def http_error(e):
        # Unhandled exceptions arrive here as InternalServerError after Flask has logged them;
        # the session is rolled back by Flask-SQLAlchemy's teardown.
        return render(e.code or 500)
