"""Forms of evidence: files on a record, a check-in, a visit's joint officers, a planned visit."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import ValidationError

from crm.core.forms import DateField, choices, max_length, optional, strip
from crm.service.forms import MultiCheckboxField

WEEK_CHOICES = choices([("", _l("Any week")), *[(i, _l("Week %(n)s", n=i)) for i in range(1, 6)]])


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") and str(value).isdigit() and len(str(value)) <= 9 else None


class AttachmentForm(FlaskForm):
    """Add photos or files to a record."""

    files = MultipleFileField(_l("Photos or files"))


class CheckInForm(FlaskForm):
    """Check in on arrival: the server keeps the time; the position comes from the browser, if the user allows."""

    enterprise_id = HiddenField()
    plan_id = HiddenField()
    latitude = HiddenField()
    longitude = HiddenField()
    accuracy = HiddenField()


class VisitEvidenceForm(FlaskForm):
    """The visit form's additions: joint officers and departments, the check-in, photos (read beside VisitForm)."""

    class Meta:
        csrf = False  # the visit form's own token protects the request

    joint_officer_ids = MultiCheckboxField(_l("Joint visit with"), coerce=int, validate_choice=False)
    department_ids = MultiCheckboxField(_l("Departments taking part"), coerce=int, validate_choice=False)
    check_in_id = HiddenField()
    files = MultipleFileField(_l("Photos or files"))


class VisitPlanForm(FlaskForm):
    """Plan a visit: the enterprise, the month, a date or a week, what for."""

    enterprise_id = SelectField(_l("Enterprise"), coerce=_int_or_none, validate_choice=False)
    month = StringField(_l("Month"), filters=[strip], description=_l("e.g. 2026-12"))
    planned_on = DateField(_l("Date"), validators=[optional()], description=_l("Optional: the day, if you know it."))
    planned_week = SelectField(_l("Week"), coerce=_int_or_none, choices=WEEK_CHOICES, validate_choice=False)
    purpose = StringField(_l("Purpose"), filters=[strip], validators=[max_length(200)],
                          description=_l("e.g. 高企申报辅导、了解研发投入"))

    def validate_enterprise_id(self, field):
        """The enterprise is required (the service checks the scope)."""
        if not field.data:
            raise ValidationError(_l("Choose the enterprise to visit."))

    def validate_month(self, field):
        """YYYY-MM."""
        raw = field.data or ""
        ok = len(raw) == 7 and raw[4] == "-" and raw[:4].isdigit() and raw[5:].isdigit() and 1 <= int(raw[5:]) <= 12
        if not ok:
            raise ValidationError(_l("Enter the month as YYYY-MM."))
