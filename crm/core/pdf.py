"""PDF rendering with WeasyPrint, locked down: only files under static/ may be fetched.

Data in a sheet (an enterprise name, a note) is user input; a fetcher that followed any URL
would let `<img src="file:///etc/passwd">` or an intranet http address leak into a PDF.
The CJK font is the system's Noto Sans CJK SC (Debian's fonts-noto-cjk, installed by the
set-up), named explicitly so Chinese never falls back to Japanese glyph forms.
"""
from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)
STATIC_ROOT = Path(__file__).resolve().parents[2] / "static"
CJK_FONT_FAMILY = "Noto Sans CJK SC"

# One font configuration for the process: WeasyPrint caches font lookups in it.
_FONT_CONFIG: FontConfiguration | None = None


class StaticOnlyFetcher(URLFetcher):
    """Serve file:// URLs inside one folder; refuse everything else (http, data leaks, ../)."""

    def __init__(self, root: Path = STATIC_ROOT, **kwargs):
        super().__init__(**kwargs)
        self.root = Path(root).resolve()
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        path = Path(unquote(parts.path)).resolve() if parts.scheme == "file" else None
        if path is None or not path.is_relative_to(self.root) or not path.is_file():
            self.refused.append(url)
            raise ValueError(f"refused: {url[:200]}")
        # WeasyPrint goes by the content type: without one a stylesheet is "text/plain" and ignored.
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mime.startswith("text/"):
            mime += "; charset=utf-8"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})


def font_config() -> FontConfiguration:
    """The shared font configuration."""
    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        _FONT_CONFIG = FontConfiguration()
    return _FONT_CONFIG


def render_pdf(html: str, *, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Render HTML (from our own templates) to PDF bytes; relative URLs resolve under static/."""
    fetcher = fetcher or StaticOnlyFetcher()
    document = HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=fetcher)
    pdf = document.write_pdf(font_config=font_config())
    if fetcher.refused:
        log.warning("PDF render refused %d URL(s): %s", len(fetcher.refused), fetcher.refused[:3])
    return pdf
