"""htmx helpers: tell an htmx request from a full page load."""
from flask import render_template, request


def is_htmx() -> bool:
    """True when htmx sent the request (and a fragment is wanted), not for history restores."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render_page_or_fragment(full_template: str, fragment: str, **context) -> str:
    """Render the fragment for htmx, else the whole page (which includes the fragment)."""
    return render_template(fragment if is_htmx() else full_template, **context)
