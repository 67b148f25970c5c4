"""Small request helpers: links that keep the current query string, safe pagination."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, request

MAX_PAGE = 100_000


def url_with(**changes) -> str:
    """The current page's URL with some query arguments replaced (None or "" removes one).

    Built from the path and the query string only: user-supplied keys never reach url_for.
    """
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return request.path + ("?" + urlencode(args) if args else "")


def page_number() -> int:
    """The requested page, clamped to 1…MAX_PAGE (garbage and huge numbers never reach the database)."""
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 1
    return min(max(page, 1), MAX_PAGE)


def paginate(stmt, *, count: bool = True):
    """A page of `stmt`, PER_PAGE rows (50), the page number from the query string."""
    from crm.extensions import db

    return db.paginate(stmt, page=page_number(), per_page=current_app.config["PER_PAGE"], error_out=False,
                       count=count)


def register_jinja(app) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals.update(url_with=url_with)
