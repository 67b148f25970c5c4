"""Locale and time-zone selection, and the display filters (money in 万元, ratios, local times)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app, g, has_request_context, session
from flask_babel import get_locale, to_user_timezone
from flask_login import current_user

# The language codes users pick, and the Babel locale each maps to. Babel parses "zh_CN"
# as zh_Hans_CN, so the catalogue folder is zh_Hans_CN (see shared/notes/toolchain.md §6).
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
BABEL_LOCALES = {"zh_CN": "zh_Hans_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh_CN"


def current_language() -> str:
    """The user's language code: their saved choice, else the session's, else zh_CN (and outside requests)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    lang = g.get("language")  # set when the user cannot be asked (the database is unreachable: core.errors)
    if not lang and current_user and current_user.is_authenticated:
        lang = current_user.locale
    lang = lang or session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def select_locale() -> str:
    """Babel's locale selector."""
    return BABEL_LOCALES[current_language()]


def select_timezone() -> str:
    """Babel's time-zone selector: the bureau's zone for everyone."""
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def html_lang() -> str:
    """The <html lang> value; zh-CN makes browsers and WeasyPrint pick Simplified glyphs."""
    return "zh-CN" if current_language() == "zh_CN" else "en"


def fmt_money(value: Decimal | None, places: int = 2) -> str:
    """An amount in 万元 with thousands separators, or an em dash when missing."""
    if value is None:
        return "—"
    q = Decimal(1).scaleb(-places)
    return f"{Decimal(value).quantize(q, rounding=ROUND_HALF_UP):,}"


def fmt_ratio(value: Decimal | None, places: int = 1) -> str:
    """A fraction shown as a percentage (0.0523 → 5.2%), or an em dash."""
    if value is None:
        return "—"
    q = Decimal(1).scaleb(-places)
    return f"{(Decimal(value) * 100).quantize(q, rounding=ROUND_HALF_UP)}%"


def fmt_int(value: int | None) -> str:
    """A count with thousands separators, or an em dash."""
    return "—" if value is None else f"{value:,}"


def fmt_datetime(value: datetime | None) -> str:
    """A UTC timestamp shown in the bureau's zone, minutes precision."""
    if value is None:
        return "—"
    return to_user_timezone(value).strftime("%Y-%m-%d %H:%M")


def fmt_date(value: date | None) -> str:
    """A date as YYYY-MM-DD, or an em dash."""
    return "—" if value is None else value.isoformat()


def fmt_month(value: date | None) -> str:
    """A month as YYYY-MM."""
    return "—" if value is None else f"{value.year}-{value.month:02d}"


def fmt_number(value) -> str:
    """A count or amount: whole numbers without decimals, others with up to two; separators; — for none."""
    if value is None:
        return "—"
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}".rstrip("0").rstrip(".")


def fmt_percent(value) -> str:
    """A value already in percent (62.5 → "62.5%"); — for none."""
    return "—" if value is None else f"{fmt_number(value)}%"


def register_jinja(app) -> None:
    """Make the filters and language helpers available in templates."""
    app.jinja_env.filters.update(
        money=fmt_money, ratio=fmt_ratio, int=fmt_int, datetime=fmt_datetime, date=fmt_date, month=fmt_month,
        num=fmt_number, pct=fmt_percent,
    )
    from crm.core.audit import action_label, entity_label, field_label

    app.jinja_env.globals.update(
        action_label=action_label, entity_label=entity_label, field_label=field_label, LANGUAGES=LANGUAGES,
        current_language=current_language, html_lang=html_lang,
        get_locale=get_locale,
    )
