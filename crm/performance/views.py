"""Officer performance and needs analytics: managers' and admins' pages and their Excel exports."""
from __future__ import annotations

from urllib.parse import quote

from babel.dates import get_month_names
from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import clock
from crm.core.policy import require
from crm.core.web import list_page
from crm.core.xlsx import xlsx_response
from crm.enterprises.queries import region_choices
from crm.performance import documents, queries

bp = Blueprint("performance", __name__, url_prefix="/performance")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _officer_filters() -> tuple[int | None, str, bool]:
    """(region, sort column, descending) from the query string; anything unknown falls back to the default."""
    sort = request.args.get("sort", "name")
    return (queries.valid_region(current_user, request.args.get("region")),
            sort if sort in queries.OFFICER_COLUMNS else "name", request.args.get("desc") == "1")


def _year() -> int:
    """The year asked for (four digits), else this year."""
    raw = request.args.get("year", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) == 4 and raw[0] in "12" else clock.today().year


def _months() -> list[str]:
    """The months' short names in the user's language (1月 … 12月, Jan … Dec)."""
    names = get_month_names("abbreviated", locale=get_locale())
    return [names[m] for m in range(1, 13)]


@bp.get("/officers", endpoint="officers")
@require("performance.read")
def officers():
    """Each officer in scope: served, visits, coverage, needs, days to resolve, follow-ups on time; 50 a page."""
    region_id, sort, desc = _officer_filters()
    rows = queries.officer_performance(current_user, region_id)
    median = queries.medians(rows)
    page = list_page(queries.sort_rows(rows, sort, desc))
    return render_template(
        "performance/officers.html", page=page, median=median, sort=sort, desc=desc, region_id=region_id,
        worse={r.officer.id: queries.worse_than_median(r, median) for r in page.items},
        columns=queries.OFFICER_COLUMNS, header=queries.column_header,
        directions=queries.WORSE_DIRECTION, percent=queries.PERCENT_COLUMNS, rounded=queries.rounded,
        region_choices=region_choices(within=queries.region_scope(current_user)), today=clock.today())


@bp.get("/officers.xlsx", endpoint="officers_export")
@require("performance.read")
def officers_export() -> Response:
    """The officers' table (every officer, same filters and order) as an Excel sheet."""
    region_id, sort, desc = _officer_filters()
    rows = queries.officer_performance(current_user, region_id)
    title, headers, body = documents.officers_sheet(queries.sort_rows(rows, sort, desc), queries.medians(rows))
    return xlsx_response(f"{title}-{clock.today().isoformat()}.xlsx", title, headers, body)


@bp.get("/needs", endpoint="needs")
@require("performance.read")
def needs():
    """Needs raised in a year in scope: by category and month, resolution, days to close, departments, satisfaction."""
    region_id, year = queries.valid_region(current_user, request.args.get("region")), _year()
    analytics = queries.needs_analytics(current_user, year, region_id)
    years = sorted(set(queries.need_years(current_user, region_id)) | {clock.today().year, year}, reverse=True)
    return render_template(
        "performance/needs.html", a=analytics, years=years, region_id=region_id, months=_months(),
        rounded=queries.rounded, region_choices=region_choices(within=queries.region_scope(current_user)))


@bp.get("/needs.xlsx", endpoint="needs_export")
@require("performance.read")
def needs_export() -> Response:
    """The needs analytics of the year as one workbook, one sheet per table."""
    region_id, year = queries.valid_region(current_user, request.args.get("region")), _year()
    body = documents.workbook_bytes(documents.needs_sheets(queries.needs_analytics(current_user, year, region_id),
                                                           _months()))
    name = f"{_('Needs analytics')}-{year}.xlsx"
    return Response(body, mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=export.xlsx; filename*=UTF-8''{quote(name)}"})
