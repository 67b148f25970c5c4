"""Forms of the working-day calendar: one date, or a year's file."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField

from crm.core.forms import DateField, YearField, max_length, options, required, strip
from crm.core.workdays import DAY_KIND_LABELS


class CalendarDayForm(FlaskForm):
    """A public holiday or a make-up working day."""

    day = DateField(_l("Date"), validators=[required()])
    kind = SelectField(_l("Kind"), choices=lambda: options(DAY_KIND_LABELS), validators=[required()])
    name = StringField(_l("Name"), filters=[strip], validators=[max_length(40)],
                       description=_l("The holiday it belongs to, e.g. Spring Festival."))


class CalendarImportForm(FlaskForm):
    """A year's calendar from .xlsx or .csv (replaces that year's entries)."""

    year = YearField(_l("Year"), validators=[required()])
    file = FileField(_l("File (.xlsx or .csv)"), validators=[required()])
