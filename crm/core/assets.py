"""Static files with content-hashed URLs: `static_url('css/app.css')` → `/static/css/app.css?v=<hash>`.

The hash is of the file's content (the first 12 hex digits of its SHA-256), computed once per file and
process and kept until the file changes on disk. A URL whose `v` is the file's current hash never
changes meaning, so it is sent with `Cache-Control: public, max-age=31536000, immutable`: browsers fetch
each asset once per release. An upgrade changes the content, so the hash, so the URL. A URL without `v`
or with a stale one is revalidated every time (no-cache, with its ETag). nginx serves /static/ itself in
production with the same rule (deploy/nginx/miaopu.conf); these headers are for when Flask serves them.
"""
from __future__ import annotations

import hashlib
import os
import threading

from flask import Flask, current_app, request, url_for
from werkzeug.security import safe_join

ONE_YEAR = 365 * 24 * 3600

_hashes: dict[str, tuple[int, int, str]] = {}  # path → (mtime_ns, size, hash)
_lock = threading.Lock()


def file_hash(path: str) -> str | None:
    """The content hash of a file (cached while its mtime and size stay the same); None when it is missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    cached = _hashes.get(path)
    if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
        return cached[2]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    value = digest.hexdigest()[:12]
    with _lock:
        _hashes[path] = (stat.st_mtime_ns, stat.st_size, value)
    return value


def static_hash(filename: str) -> str | None:
    """The content hash of a file under the app's static folder (None for a missing or unsafe name)."""
    path = safe_join(current_app.static_folder, filename)
    return file_hash(path) if path else None


def static_url(filename: str) -> str:
    """The URL of a static file, versioned by its content hash (templates use it for every asset)."""
    version = static_hash(filename)
    if version is None:  # a missing file: a plain URL, whose 404 shows in the browser and the logs
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=version)


def register_assets(app: Flask) -> None:
    """The `static_url` template global, and long caching of static responses whose URL carries the current hash."""
    app.jinja_env.globals["static_url"] = static_url

    @app.after_request
    def cache_static(response):
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        version = request.args.get("v")
        filename = (request.view_args or {}).get("filename", "")
        if version and version == static_hash(filename):
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        else:
            # unversioned or outdated: the browser must ask again (a 304 when unchanged)
            response.cache_control.no_cache = True
            response.cache_control.max_age = None
        return response
