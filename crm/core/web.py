"""Small request helpers for templates: links that keep the current query string."""
from __future__ import annotations

from flask import request, url_for


def url_with(**changes) -> str:
    """The current page's URL with some query arguments replaced (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register_jinja(app) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals.update(url_with=url_with)
