"""PDF rendering with WeasyPrint, locked down: only files under static/ may be fetched.

Data in a sheet (an enterprise name, a note) is user input; a fetcher that followed any URL
would let `<img src="file:///etc/passwd">` or an intranet http address leak into a PDF.
The CJK font is the system's Noto Sans CJK SC (Debian's fonts-noto-cjk, installed by the
set-up), named explicitly so Chinese never falls back to Japanese glyph forms; when its subset
is built (crm.core.fonts, `flask pdf-fonts`) the documents name the subset first.
"""
from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, has_app_context
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from crm.core.fonts import SUBSET_FAMILY, SYSTEM_FAMILY, subset_faces

log = logging.getLogger(__name__)
STATIC_ROOT = Path(__file__).resolve().parents[2] / "static"
CJK_FONT_FAMILY = SYSTEM_FAMILY

# One font configuration for the process: WeasyPrint caches font lookups in it.
_FONT_CONFIG: FontConfiguration | None = None


class StaticOnlyFetcher(URLFetcher):
    """Serve file:// URLs inside one folder; refuse everything else (http, data leaks, ../)."""

    def __init__(self, root: Path = STATIC_ROOT, **kwargs):
        super().__init__(**kwargs)
        self.root = Path(root).resolve()
        self.files: set[Path] = set()  # single files outside the folder that may be read too (the font subset)
        self.refused: list[str] = []

    def allow(self, paths) -> None:
        """Serve these files too (each by its exact path, not its folder)."""
        self.files.update(Path(p).resolve() for p in paths)

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        path = Path(unquote(parts.path)).resolve() if parts.scheme == "file" else None
        if path is None or not (path.is_relative_to(self.root) or path in self.files) or not path.is_file():
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


def font_dir() -> Path:
    """Where the font subset is built: PDF_FONT_DIR, else the instance folder's fonts/."""
    if has_app_context():
        configured = current_app.config.get("PDF_FONT_DIR")
        return Path(configured) if configured else Path(current_app.instance_path) / "fonts"
    return STATIC_ROOT.parent / "instance" / "fonts"


def document_fonts() -> dict:
    """A PDF template's `fonts` (templates/macros/pdf.html): `faces`, [(weight, file URI)] of the subset when it
    is built (else none), and `families`, the families to name: the subset first, then the system's font, which
    also draws any character the subset lacks."""
    faces = sorted((weight, path.as_uri()) for weight, path in subset_faces(font_dir()).items())
    families = [SUBSET_FAMILY, SYSTEM_FAMILY] if faces else [SYSTEM_FAMILY]
    return {"fonts": {"faces": faces, "families": families, "subset_family": SUBSET_FAMILY}}


def render_pdf(html: str, *, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Render HTML (from our own templates) to PDF bytes; relative URLs resolve under static/, and the font
    subset's files may be read."""
    fetcher = fetcher or StaticOnlyFetcher()
    fetcher.allow(subset_faces(font_dir()).values())
    document = HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=fetcher)
    pdf = document.write_pdf(font_config=font_config())
    if fetcher.refused:
        log.warning("PDF render refused %d URL(s): %s", len(fetcher.refused), fetcher.refused[:3])
    return pdf
