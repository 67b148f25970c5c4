"""The bureau's calendar: 'today' is a date in the bureau's time zone, not the server's."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def zone() -> ZoneInfo:
    """The configured time zone (Asia/Shanghai unless MIAOPU_TIMEZONE says otherwise)."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    return ZoneInfo(name)


def today() -> date:
    """Today's date in the bureau's zone."""
    return datetime.now(zone()).date()


def local_date(moment: datetime) -> date:
    """The date of a (UTC-aware) timestamp in the bureau's zone."""
    return moment.astimezone(zone()).date()
