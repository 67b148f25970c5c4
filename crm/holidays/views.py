"""The admin's working-day calendar: the dates of a year (public holidays off, make-up working days), add or
remove one, import a year from Excel/CSV."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm.core import clock
from crm.core.policy import require
from crm.core.uow import unit_of_work
from crm.core.workdays import CalendarDay, load_calendar
from crm.extensions import db
from crm.holidays import services
from crm.holidays.forms import CalendarDayForm, CalendarImportForm

bp = Blueprint("holidays", __name__)


def _year() -> int:
    raw = request.values.get("year", "")
    return int(raw) if raw.isdigit() and len(raw) == 4 else clock.today().year


def _render(year: int, status: int = 200, day_form=None, import_form=None):
    entries = list(db.session.scalars(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)).order_by(CalendarDay.day)))
    calendar = load_calendar()
    working = sum(1 for d in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)
                  if calendar.is_working_day(date.fromordinal(date(year, 1, 1).toordinal() + d)))
    import_form = import_form or CalendarImportForm(formdata=None, year=year)
    return render_template("holidays/calendar.html", year=year, entries=entries, working=working,
                           day_form=day_form or CalendarDayForm(formdata=None), import_form=import_form), status


@bp.get("/admin/calendar", endpoint="calendar")
@require("calendar.manage")
def calendar():
    """The year's holidays and make-up working days, and how many working days the year has."""
    return _render(_year())


@bp.post("/admin/calendar/days", endpoint="add")
@require("calendar.manage")
def add():
    """Add one date."""
    form = CalendarDayForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            entry = services.add_day({"day": form.day.data, "kind": form.kind.data, "name": form.name.data},
                                     actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("holidays.calendar", year=entry.day.year), code=303)
    return _render(form.day.data.year if form.day.data else _year(), 422, day_form=form)


@bp.post("/admin/calendar/days/<int:day_id>/delete", endpoint="delete")
@require("calendar.manage")
def delete(day_id: int):
    """Remove one date."""
    entry = db.session.get(CalendarDay, day_id)
    if entry is None:
        abort(404)
    year = entry.day.year
    services.delete_day(entry, actor=current_user)
    db.session.commit()
    flash(_("Removed."), "success")
    return redirect(url_for("holidays.calendar", year=year), code=303)


@bp.post("/admin/calendar/import", endpoint="import_year")
@require("calendar.manage")
def import_year():
    """Replace a year's calendar with an Excel/CSV file (all or nothing)."""
    form = CalendarImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        with unit_of_work(form) as work:
            written = services.import_year(form.year.data, upload.filename or "", upload.read(), actor=current_user)
        if work.ok:
            flash(_("%(n)s dates of %(year)s imported.", n=written, year=form.year.data), "success")
            return redirect(url_for("holidays.calendar", year=form.year.data), code=303)
    return _render(form.year.data or _year(), 422, import_form=form)
