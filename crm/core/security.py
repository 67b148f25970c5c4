"""Password hashing and strength, safe redirects."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash


def hash_password(password: str) -> str:
    """Hash with the configured method (scrypt in production)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(pw_hash: str | None, password: str) -> bool:
    """Constant-time check of `password` against a stored hash."""
    return bool(pw_hash) and check_password_hash(pw_hash, password)


def password_problems(password: str, *, username: str | None = None) -> list:
    """Reasons a new password is too weak; an empty list means it is acceptable."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(_l("Use at least %(n)d characters.", n=minimum))
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append(_l("Use both letters and digits."))
    if username and username.lower() in password.lower():
        problems.append(_l("Do not include your user name."))
    return problems


def is_safe_next(target: str | None) -> bool:
    """True for a same-site path such as /enterprises?page=2; never another host or scheme."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


# No inline script or style, nothing from another host, never framed (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # Bootstrap draws its form icons as data: SVGs
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def register_security_headers(app) -> None:
    """Send the security headers with every response; fragments vary with HX-Request."""

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # htmx fragments and full pages share URLs: caches (and Back) must tell them apart.
        response.vary.add("HX-Request")
        return response


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer …` header on an /api/ request, else None.

    Bearer tokens are honoured on the JSON API only: an HTML page never signs anyone in by one.
    Such a request is authenticated by its token alone (never by a session cookie), so it
    needs no CSRF token.
    """
    if not request.path.startswith("/api/"):
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()
