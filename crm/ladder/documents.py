"""Readiness sheets (认定准备情况表): one PDF per enterprise and tier, and batches of them as a ZIP.

    pdf = readiness_sheet_pdf(enterprise, "high_tech", user=current_user, lang="zh")
    batch = new_batch(current_user, "high_tech", "zh", region_id, ids); db.session.commit()
    start_batch(app, batch.id)          # a thread of the web process (synchronous when testing)

A sheet is templates/ladder/sheet.html (a standalone A4 document, static/css/sheet.css) rendered
by core.pdf (static-only fetcher, the shared font configuration), every label through Flask-Babel
inside force_locale, the rules engine's texts in the same language. Renders are serialised with a
process-wide lock: WeasyPrint/Pango make no promise about two threads sharing a font configuration.

A batch is built in its own app context (its own session), writes instance/sheet-batches/<id>.zip
(through a .part file renamed at the end), commits its progress every few sheets and records a
sheet that fails without losing the others. A batch whose process died stays "running" in the
database; batch_view() shows it as failed once it has made no progress for STALE_AFTER.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import logging
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from flask import current_app, render_template
from flask_babel import force_locale, format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.core import clock
from crm.core.db import utcnow
from crm.core.i18n import fmt_datetime, fmt_money
from crm.core.pdf import StaticOnlyFetcher, document_fonts, render_pdf
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import region_breadcrumb
from crm.extensions import db
from crm.ladder import queries
from crm.ladder.display import STATUS_LABELS, format_measure, status_label, verdict_label
from crm.ladder.engine import TIERS, missing_data
from crm.ladder.engine import evaluate as evaluate_tier
from crm.ladder.models import JUDGEMENT_MAX as _JM
from crm.ladder.models import SheetBatch, SheetBatchStatus
from crm.ladder.profile import CLASS_I_KINDS, TECH_DOMAINS, parse_profile
from crm.ladder.tiers import tier_label

log = logging.getLogger(__name__)

SHEET_TEMPLATE = "ladder/sheet.html"
LANGS = ("zh", "en")
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
# What ?lang= may say: the engine's codes and the interface's language codes.
_LANG_ALIASES = {"": "zh", "zh": "zh", "zh_cn": "zh", "zh-cn": "zh", "zh_hans_cn": "zh", "en": "en"}

BATCH_LIMIT = 500  # enterprises in one batch
STALE_AFTER = timedelta(minutes=10)  # a queued/running batch without progress for this long is shown failed
COMMIT_EVERY = 5  # sheets between progress commits (and at least every COMMIT_SECONDS)
COMMIT_SECONDS = 2.0
_CHUNK = 25  # enterprises whose profiles are read at once while building a batch
KEEP_ZIPS = timedelta(days=7)  # a batch's ZIP is deleted this long after it was written

_RENDER_LOCK = threading.Lock()
_SLOTS = threading.BoundedSemaphore(2)  # batches building at once in this process
_THREADS: dict[int, threading.Thread] = {}

STATUS_MARKS = {"pass": "✓", "fail": "×", "unknown": "?", "borderline": "≈"}
_OP_SIGNS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}

# The rows of the figures table: the profile's field, its label, and whether it counts people.
FIGURE_ROWS = (
    ("revenue", _l("Revenue"), False),
    ("hightech_revenue", _l("High-tech product/service revenue"), False),
    ("total_income", _l("Total income"), False),
    ("rd_expense", _l("R&D expense"), False),
    ("rd_expense_domestic", _l("Domestic R&D expense"), False),
    ("total_cost", _l("Total cost and expenses"), False),
    ("total_assets", _l("Total assets"), False),
    ("net_assets", _l("Net assets"), False),
    ("employees", _l("Employees"), True),
    ("tech_staff", _l("Tech staff"), True),
    ("rd_staff", _l("R&D staff"), True),
)
# Shown only when one of the three years has it (it is optional; revenue stands in).
_OPTIONAL_ROWS = frozenset({"total_income"})

FLAG_ROWS = (
    ("resident", _l("Resident enterprise registered in mainland China")),
    ("restricted_industry", _l("Products in a prohibited, restricted or eliminated catalogue")),
    ("clean_record", _l("Clean record (no major accident, violation or misconduct)")),
    ("national_award_top3_5y", _l("National S&T award in the last five years (first three units)")),
    ("provincial_rd_institution", _l("Recognised provincial-or-higher R&D institution")),
    ("led_standard_5y", _l("Led a national or industry standard in the last five years")),
)
JUDGEMENT_ROWS = (
    ("ip_advancement", _l("IP: technical advancement (0–%(n)s)", n=_JM["ip_advancement"])),
    ("ip_core_support", _l("IP: core support to the main products (0–%(n)s)", n=_JM["ip_core_support"])),
    ("ip_acquisition", _l("IP: how it was obtained (0–%(n)s)", n=_JM["ip_acquisition"])),
    ("ip_standards_bonus", _l("IP: standards bonus (0–%(n)s)", n=_JM["ip_standards_bonus"])),
    ("management", _l("R&D organisation and management (0–%(n)s)", n=_JM["management"])),
)
# The IP classes an ip_count criterion may name (its actual / required are then {class: count}).
IP_CLASS_LABELS = {"class1": _l("Class I"), "class2": _l("Class II"), "total": _l("In all")}
# Kinds whose single number is a minimum though the rule data names no operator.
_MINIMUM_KINDS = frozenset({"ip_count"})
# The score parts of the two scored tiers (the engine's part ids), named as on the readiness panel.
SCORE_PART_LABELS = {
    "sme_tech_staff": _l("Tech staff"),
    "sme_rd": _l("R&D investment"),
    "sme_ip": _l("Intellectual property"),
    "ht_score_ip": _l("Intellectual property"),
    "ht_score_conversion": _l("Technology conversion"),
    "ht_score_management": _l("R&D management"),
    "ht_score_growth": _l("Growth"),
}
BATCH_STATUS_LABELS = {
    SheetBatchStatus.QUEUED: _l("Waiting to start"),
    SheetBatchStatus.RUNNING: _l("Building"),
    SheetBatchStatus.DONE: _l("Done"),
    SheetBatchStatus.FAILED: _l("Failed"),
}


# ------------------------------------------------------------------------------- small helpers


def parse_lang(value: str | None) -> str | None:
    """The sheet language, "zh" or "en", from a ?lang= value (absent: zh); None for anything else."""
    return _LANG_ALIASES.get((value or "").strip().lower())


def default_tier(enterprise: Enterprise) -> str:
    """The tier a sheet is for when none is asked: the next tier (the top tier for an enterprise holding it)."""
    state = queries.ladder_state(enterprise)
    return state.next_tier or state.current or TIERS[0]


def sheet_filename(uscc: str, tier: str, lang: str) -> str:
    """认定准备情况表-<uscc>-<tier>.pdf (readiness-sheet-… in English)."""
    stem = "认定准备情况表" if lang == "zh" else "readiness-sheet"
    return f"{stem}-{uscc}-{tier}.pdf"


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment header with an ASCII name and the real one as RFC 5987 filename*."""
    safe = "".join(c for c in fallback if c.isascii() and (c.isalnum() or c in "-_.")) or "download"
    return f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _number(value) -> str:
    d = Decimal(str(value))
    return f"{d.normalize():f}" if d == d.to_integral_value() else f"{d:f}"


def _css_string(text: str) -> str:
    """A CSS string literal (quotes, backslashes and '<' escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ").replace("\n", " ") + '"'


def page_counter_css(template: str) -> str:
    """CSS `content` for "第 X 页 共 Y 页" from a translated "Page %(page)s of %(pages)s"."""
    marker_page, marker_pages = "\x00P\x00", "\x00Q\x00"
    text = template % {"page": marker_page, "pages": marker_pages}
    parts = []
    for i, piece in enumerate(text.split(marker_page)):
        if i:
            parts.append("counter(page)")
        for j, bit in enumerate(piece.split(marker_pages)):
            if j:
                parts.append("counter(pages)")
            if bit:
                parts.append(_css_string(bit))
    return " ".join(parts)


# ------------------------------------------------------------------------------- one sheet


@dataclass
class CriterionRow:
    """A row of the criteria table, in the sheet's language."""

    number: int
    id: str
    label: str
    source: str
    note: str
    actual: str
    required: str
    status: str
    status_text: str
    mark: str
    gap: str


def _criterion_objects(ruleset) -> dict:
    return {c.id: c for c in getattr(ruleset, "criteria", ())}


def _measure(value, unit: str | None, sign: str = "") -> str:
    """format_measure, and {IP class: count} as "Class I 1 / Class II 5"."""
    if isinstance(value, dict):
        return " / ".join(f"{IP_CLASS_LABELS.get(key, key)} {sign}{_measure(v, unit)}" for key, v in value.items())
    if isinstance(value, list | tuple):  # tiers, domains: the enumeration comma of the language
        comma = "、" if str(get_locale() or "").startswith("zh") else ", "
        return comma.join(_measure(v, unit) for v in value)
    text = format_measure(value, unit)
    return f"{sign}{text}" if sign and value is not None else text


def _actual_text(c: dict) -> str:
    if "range" in c and c["range"] and c["range"][0] != c["range"][1]:
        lo, hi = c["range"]
        return _("%(min)s–%(max)s points", min=_number(lo), max=_number(hi))
    return _measure(c.get("actual"), c.get("unit"))


def _required_text(c: dict, criterion) -> str:
    required, unit = c.get("required"), c.get("unit")
    if required is None:
        return "—"
    if isinstance(required, list):
        if unit == "days" and len(required) == 2 and all(isinstance(v, int | float) for v in required):
            return _("%(min)s–%(max)s days", min=_number(required[0]), max=_number(required[1]))
        if set(required) == set(TECH_DOMAINS):
            return _("Any of the eight supported high-tech domains")
        return format_measure(required, unit)
    op = getattr(criterion, "comparison", None) or getattr(criterion, "op", None)
    kind = getattr(criterion, "kind", "")
    if kind in _MINIMUM_KINDS:
        op = ">="
    elif kind == "age_days" and isinstance(required, int | float):
        op = ">=" if getattr(criterion, "min_days", None) is not None else "<="
    if isinstance(required, dict):  # alternatives: any one suffices
        word = " " + _("or") + " "
        return word.join(f"{IP_CLASS_LABELS.get(k, k)} {_measure(v, unit, '≥ ')}" for k, v in required.items())
    if isinstance(required, bool) or op not in _OP_SIGNS:
        return format_measure(required, unit)
    return _measure(required, unit, _OP_SIGNS[op] + " ")


def _criteria_rows(result: dict, ruleset) -> list[CriterionRow]:
    objects = _criterion_objects(ruleset)
    rows = []
    for i, c in enumerate(result["criteria"], 1):
        status = c["status"]
        rows.append(CriterionRow(
            number=i, id=c["id"], label=c.get("label") or c["id"], source=c.get("source") or "",
            note=c.get("note") or "", actual=_actual_text(c), required=_required_text(c, objects.get(c["id"])),
            status=status, status_text=status_label(status), mark=STATUS_MARKS.get(status, "?"),
            gap=(c.get("gap") or {}).get("text") or "",
        ))
    return rows


def _score_maxima(criterion) -> dict:
    """The most points each part can give, read from the compiled score criterion (when it is one)."""
    if criterion is None:
        return {}
    kind = getattr(criterion, "kind", "")
    try:
        if kind == "ht_innovation_score":
            return {"ht_score_ip": criterion.ip_cap, "ht_score_conversion": criterion.max_conversion,
                    "ht_score_management": criterion.management_max,
                    "ht_score_growth": criterion.max_growth * len(criterion.growth_fields)}
        if kind == "sme_score":
            return {"sme_tech_staff": criterion.max_tech,
                    "sme_rd": max(criterion.max_rd_revenue, criterion.max_rd_cost), "sme_ip": criterion.max_ip}
    except AttributeError:  # a criterion class that changed shape: the sheet simply leaves the column empty
        return {}
    return {}


def _points(pair) -> str:
    lo, hi = pair
    return _number(lo) if lo == hi else f"{_number(lo)}–{_number(hi)}"


def _score_view(result: dict, ruleset) -> dict | None:
    score = result.get("score")
    if not score:
        return None
    maxima = _score_maxima(_criterion_objects(ruleset).get(score["id"]))
    parts = [{"label": str(SCORE_PART_LABELS.get(pid, pid)), "points": _points(pair),
              "max": _number(maxima[pid]) if pid in maxima else "—"}
             for pid, pair in score.get("parts", {}).items()]
    total_max = sum(Decimal(str(m)) for m in maxima.values()) if maxima else None
    comparison = _OP_SIGNS.get(score.get("comparison", ">="), "≥")
    return {"parts": parts, "total": _points((score["min"], score["max"])),
            "total_max": _number(total_max) if total_max is not None else "—",
            "required": f"{comparison} {_number(score['threshold'])}",
            "open": score["min"] != score["max"],
            # the officer's judgement items feed this score (high_tech): shown beside it
            "judgement": any(name in score.get("details", {}) for name, _label in JUDGEMENT_ROWS)}


def _figures_view(profile) -> dict:
    last = profile.latest_year
    years = [last - 2, last - 1, last]
    rows_by_year = {y: profile.figures_for(y) for y in years}
    rows = []
    for name, label, people in FIGURE_ROWS:
        values = [getattr(rows_by_year[y], name) if rows_by_year[y] is not None else None for y in years]
        if name in _OPTIONAL_ROWS and all(v is None for v in values):
            continue
        cells = ["—" if v is None else (_number(v) if people else fmt_money(v)) for v in values]
        rows.append({"label": str(label), "cells": cells, "people": people})
    return {"years": years, "rows": rows}


def _ip_view(profile) -> dict:
    if profile.ip is None:
        return {"known": False}
    c1 = sum(i.count or 0 for i in profile.ip if i.kind in CLASS_I_KINDS)
    c2 = sum(i.count or 0 for i in profile.ip if i.kind not in CLASS_I_KINDS)
    used = sum(i.used_in_earlier_application or 0 for i in profile.ip if i.kind not in CLASS_I_KINDS)
    return {"known": True, "class1": c1, "class2": c2, "class2_used": used}


def _ruleset_label(ruleset: dict) -> str:
    """The rule set and its version as the pages name it ("cn-national · 2016", an admin's "… · local version 3")."""
    from crm.ladder import display

    label = getattr(display, "ruleset_version_label", None)
    if label is not None:
        return label(ruleset)
    return f"{ruleset['id']} · {_('version %(version)s', version=ruleset['version'])}"


def _yes_no(value) -> str:
    if value is None:
        return _("Not known")
    return _("Yes") if value else _("No")


def sheet_context(enterprise: Enterprise, tier: str, *, lang: str = "zh", prepared_by: str = "",
                  rulesets=None, profile_data: dict | None = None, breadcrumb: list | None = None,
                  day: date | None = None, enterprise_view: bool = False) -> dict:
    """Everything sheet.html shows; call inside force_locale (the labels are evaluated here).

    `enterprise_view`: the enterprise's own copy from the portal, without the criterion notes meant for officers.
    """
    day = day or clock.today()
    rulesets = rulesets if rulesets is not None else queries.active_rulesets()
    ruleset = rulesets[tier]
    profile = parse_profile(profile_data if profile_data is not None else queries.profile_of(enterprise, day))
    result = evaluate_tier(profile, tier, rulesets, lang=lang)
    missing = missing_data(profile, tier, rulesets, lang=lang) if any(
        c["status"] in ("unknown", "borderline") for c in result["criteria"]) else []
    counts = {s: sum(1 for c in result["criteria"] if c["status"] == s) for s in STATUS_LABELS}
    if breadcrumb is None:
        breadcrumb = [r.name for r in region_breadcrumb(enterprise.region)] if enterprise.region else []
    flags = [(str(label), _yes_no(getattr(profile.flags, name))) for name, label in FLAG_ROWS]
    judgement = []
    for name, label in JUDGEMENT_ROWS:
        value = getattr(profile.judgement, name)
        judgement.append((str(label), _("Not known") if value is None else _number(value)))
    tier_name = ruleset.label[lang]
    return {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        **document_fonts(),
        "title": _("%(tier)s readiness sheet", tier=tier_name),
        "tier": tier,
        "tier_name": tier_name,
        "enterprise": enterprise,
        "region_path": " / ".join(breadcrumb) or "—",
        "current_tier": str(tier_label(enterprise.current_tier)),
        "tech_domain": str(enterprise.tech_domain_label) if enterprise.tech_domain else "—",
        "established_on": format_date(enterprise.established_on, "long") if enterprise.established_on else "—",
        "prepared_by": prepared_by,
        "date_text": format_date(day, "long"),
        "generated_at": fmt_datetime(utcnow()),
        "ruleset": {"id": result["ruleset"]["id"], "version": result["ruleset"]["version"],
                    "label": _ruleset_label(result["ruleset"]), "source": (ruleset.source or {}).get(lang, "")},
        "notice": result.get("notice") or "",
        "verdict": result["verdict"],
        "verdict_text": verdict_label(result["verdict"]),
        "counts": counts,
        "criteria": [dataclasses.replace(row, note="") if enterprise_view else row
                     for row in _criteria_rows(result, ruleset)],
        "score": _score_view(result, ruleset),
        "figures": _figures_view(profile),
        "ip": _ip_view(profile),
        "conversions": "—" if profile.conversions_last_3_years is None else str(profile.conversions_last_3_years),
        "flags": flags,
        "judgement": judgement,
        "missing": [m["text"] for m in missing],
        "page_counter": page_counter_css(_("Page %(page)s of %(pages)s")),
        "result": result,
    }


def readiness_sheet_html(enterprise: Enterprise, tier: str, *, lang: str = "zh", prepared_by: str = "",
                         **kwargs) -> str:
    """The sheet's HTML in `lang` (zh or en)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be zh or en, not {lang!r}")
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}")
    with force_locale(LOCALES[lang]):
        context = sheet_context(enterprise, tier, lang=lang, prepared_by=prepared_by, **kwargs)
        return render_template(SHEET_TEMPLATE, **context)


def readiness_sheet_pdf(enterprise: Enterprise, tier: str | None = None, *, user=None, lang: str = "zh",
                        prepared_by: str | None = None, fetcher: StaticOnlyFetcher | None = None,
                        **kwargs) -> bytes:
    """The readiness sheet of `enterprise` for `tier` (default: its next tier) as PDF bytes.

    `user` is who prepared it (their name is printed as 填表人 until assignments exist);
    kwargs (rulesets, profile_data, breadcrumb, day) let a batch reuse what it has read.
    """
    tier = tier or default_tier(enterprise)
    if prepared_by is None:
        prepared_by = getattr(user, "name", "") or ""
    html = readiness_sheet_html(enterprise, tier, lang=lang, prepared_by=prepared_by, **kwargs)
    with _RENDER_LOCK:
        return render_pdf(html, fetcher=fetcher)


# ------------------------------------------------------------------------------- batches


def batch_dir() -> Path:
    """Where batch ZIPs are written (SHEET_BATCH_DIR, default instance/sheet-batches)."""
    configured = current_app.config.get("SHEET_BATCH_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "sheet-batches"


def batch_path(batch_id: int) -> Path:
    """The ZIP of a batch."""
    return batch_dir() / f"{int(batch_id)}.zip"


def batch_filename(batch: SheetBatch) -> tuple[str, str]:
    """(the ZIP's name, an ASCII fallback) for the download."""
    stamp = batch.created_at.astimezone(clock.zone()).strftime("%Y%m%d")
    if batch.lang == "zh":
        name = f"认定准备情况表-{batch.tier}-{stamp}-{batch.id}.zip"
    else:
        name = f"readiness-sheets-{batch.tier}-{stamp}-{batch.id}.zip"
    return name, f"readiness-sheets-{batch.tier}-{stamp}-{batch.id}.zip"


def new_batch(user, tier: str, lang: str, region_id: int | None, enterprise_ids: list[int]) -> SheetBatch:
    """A queued batch (flushed, not committed: the view commits, then starts it)."""
    if tier not in TIERS or lang not in LANGS:
        raise ValueError("unknown tier or language")
    if len(enterprise_ids) > BATCH_LIMIT:
        raise ValueError(f"a batch holds at most {BATCH_LIMIT} enterprises")
    now = utcnow()
    batch = SheetBatch(created_by_id=user.id, created_at=now, updated_at=now, tier=tier, lang=lang,
                       region_id=region_id, enterprise_ids=[int(i) for i in enterprise_ids],
                       total=len(enterprise_ids), done=0, failed=0, status=SheetBatchStatus.QUEUED, error="",
                       failures=[], elapsed_ms=0)
    db.session.add(batch)
    db.session.flush()
    return batch


def prune_batch_files(now: float | None = None) -> int:
    """Delete ZIPs older than KEEP_ZIPS (and .part files a dead process left); the rows stay. Returns the count."""
    folder = batch_dir()
    if not folder.is_dir():
        return 0
    cutoff = (now or time.time()) - KEEP_ZIPS.total_seconds()
    removed = 0
    for path in folder.iterdir():
        if path.suffix in (".zip", ".part") and path.is_file():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another process pruned it first
                continue
    return removed


def _save_progress(batch_id: int, **values) -> None:
    values["updated_at"] = utcnow()
    db.session.execute(SheetBatch.__table__.update().where(SheetBatch.__table__.c.id == batch_id).values(**values))
    db.session.commit()


def build_batch(batch_id: int) -> None:
    """Build a queued batch's ZIP in the current app context, committing progress as it goes.

    A sheet that fails is recorded in `failures` and the batch goes on; an error outside one sheet
    (the disk, the database) fails the batch with `error` set. Running it twice builds it once.
    """
    from crm.auth.models import User

    batch = db.session.get(SheetBatch, batch_id)
    if batch is None or batch.status != SheetBatchStatus.QUEUED:
        return
    ids, tier, lang = list(batch.enterprise_ids), batch.tier, batch.lang
    creator = db.session.get(User, batch.created_by_id)
    prepared_by = creator.name if creator else ""
    _save_progress(batch_id, status=SheetBatchStatus.RUNNING, started_at=utcnow())
    path = batch_path(batch_id)
    part = path.with_name(path.name + ".part")
    done = failed = 0
    failures: list[dict] = []
    elapsed = 0.0
    last_commit = time.monotonic()
    index = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prune_batch_files()
        rulesets = queries.active_rulesets()
        day = clock.today()
        breadcrumbs: dict[int, list[str]] = {}
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start:start + _CHUNK]
                found = {e.id: e for e in db.session.scalars(
                    select(Enterprise).options(joinedload(Enterprise.region)).where(Enterprise.id.in_(chunk)))}
                profiles = queries.profiles_of(list(found.values()), day)
                for enterprise_id in chunk:
                    enterprise = found.get(enterprise_id)
                    began = time.perf_counter()
                    try:
                        if enterprise is None:
                            raise LookupError(f"enterprise {enterprise_id} not found")
                        if enterprise.region_id not in breadcrumbs:
                            breadcrumbs[enterprise.region_id] = [r.name for r in region_breadcrumb(enterprise.region)]
                        pdf = readiness_sheet_pdf(enterprise, tier, lang=lang, prepared_by=prepared_by,
                                                  rulesets=rulesets, profile_data=profiles[enterprise.id],
                                                  breadcrumb=breadcrumbs[enterprise.region_id], day=day)
                        name = sheet_filename(enterprise.uscc, tier, lang)
                        zf.writestr(name, pdf)
                        index.append((name, enterprise.name, enterprise.uscc,
                                      " / ".join(breadcrumbs[enterprise.region_id]), ""))
                    except Exception as exc:  # one sheet: record it and go on with the others
                        log.exception("sheet batch %s: enterprise %s failed", batch_id, enterprise_id)
                        db.session.rollback()
                        failed += 1
                        reason = f"{type(exc).__name__}: {exc}"[:300]
                        failures.append({"enterprise_id": enterprise_id,
                                         "name": getattr(enterprise, "name", ""),
                                         "uscc": getattr(enterprise, "uscc", ""), "error": reason})
                        index.append(("", getattr(enterprise, "name", ""), getattr(enterprise, "uscc", ""), "", reason))
                    elapsed += time.perf_counter() - began
                    done += 1
                    if done % COMMIT_EVERY == 0 or time.monotonic() - last_commit >= COMMIT_SECONDS:
                        _save_progress(batch_id, done=done, failed=failed, failures=list(failures),
                                       elapsed_ms=round(elapsed * 1000))
                        last_commit = time.monotonic()
            zf.writestr("index.csv", _index_csv(index, lang))
        part.replace(path)
    except Exception as exc:
        log.exception("sheet batch %s failed", batch_id)
        db.session.rollback()
        part.unlink(missing_ok=True)
        _save_progress(batch_id, status=SheetBatchStatus.FAILED, finished_at=utcnow(), done=done, failed=failed,
                       failures=list(failures), elapsed_ms=round(elapsed * 1000),
                       error=f"{type(exc).__name__}: {exc}"[:500])
        return
    _save_progress(batch_id, status=SheetBatchStatus.DONE, finished_at=utcnow(), done=done, failed=failed,
                   failures=list(failures), elapsed_ms=round(elapsed * 1000))
    if done:
        log.info("sheet batch %s: %d sheets (%d failed), %.0f ms per sheet", batch_id, done, failed,
                 elapsed * 1000 / done)


def _index_csv(rows: list[tuple], lang: str) -> bytes:
    """index.csv of the ZIP (UTF-8 with BOM, so Excel reads the Chinese): every enterprise, its file or its error."""
    with force_locale(LOCALES[lang]):
        header = [_("File"), _("Enterprise name"), _("Unified social credit code"), _("Region"), _("Error")]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _run_in_thread(app, batch_id: int) -> None:
    try:
        with _SLOTS, app.app_context():
            try:
                build_batch(batch_id)
            finally:
                db.session.remove()
    finally:
        _THREADS.pop(batch_id, None)


def start_batch(app, batch_id: int) -> threading.Thread | None:
    """Build the batch in a thread of this process (SHEET_BATCH_BACKGROUND, default: not when testing).

    Synchronously otherwise, in a fresh app context (its own session) all the same.
    """
    if not app.config.get("SHEET_BATCH_BACKGROUND", not app.testing):
        with app.app_context():
            build_batch(batch_id)
        return None
    thread = threading.Thread(target=_run_in_thread, args=(app, batch_id), name=f"sheet-batch-{batch_id}",
                              daemon=True)
    _THREADS[batch_id] = thread
    thread.start()
    return thread


def wait_for_batches(timeout: float = 120.0) -> None:
    """Join the batch threads of this process (tests; a graceful shutdown)."""
    deadline = time.monotonic() + timeout
    for thread in list(_THREADS.values()):
        thread.join(max(0.0, deadline - time.monotonic()))


@dataclass
class BatchView:
    """What the batch page shows of a batch."""

    status: str  # queued, running, done, failed (stalled batches are failed)
    status_text: str
    stalled: bool
    polling: bool
    percent: int
    ms_per_sheet: int | None
    ready: bool  # done and its ZIP is there to download
    expired: bool  # done, but its ZIP has been pruned
    stale_minutes: int = int(STALE_AFTER.total_seconds() // 60)
    keep_days: int = KEEP_ZIPS.days


def batch_view(batch: SheetBatch, now: datetime | None = None) -> BatchView:
    """The batch as the page shows it; a queued or running batch without progress for STALE_AFTER is failed."""
    now = now or utcnow()
    status = batch.status
    stalled = status in (SheetBatchStatus.QUEUED, SheetBatchStatus.RUNNING) and now - batch.updated_at > STALE_AFTER
    if stalled:
        status = SheetBatchStatus.FAILED
    percent = int(batch.done * 100 / batch.total) if batch.total else 100
    ms = round(batch.elapsed_ms / batch.done) if batch.done else None
    done = batch.status == SheetBatchStatus.DONE
    present = done and batch_path(batch.id).is_file()
    return BatchView(status=str(status), status_text=str(BATCH_STATUS_LABELS[SheetBatchStatus(status)]),
                     stalled=stalled, polling=status in (SheetBatchStatus.QUEUED, SheetBatchStatus.RUNNING),
                     percent=percent, ms_per_sheet=ms, ready=present, expired=done and not present)
