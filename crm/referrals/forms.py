"""Forms of referrals (the department's answer, more time, sending back) and of the call-back (回访)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField

from crm.core.forms import CountField, choices, max_length, required, strip


class AnswerForm(FlaskForm):
    """The department's reply to the need."""

    answer = TextAreaField(_l("Answer"), filters=[strip], validators=[required(), max_length(4000)],
                           description=_l("What the department did or decided; the need's owner sees it."))


class ExtendForm(FlaskForm):
    """More time for the department: how many more working days, and why."""

    days = CountField(_l("More working days"), validators=[required()],
                      message=_l("Enter a whole number of working days, e.g. 5."), maximum=30)
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[required(), max_length(4000)])


class ReturnForm(FlaskForm):
    """Send the need back to its owner (not the department's matter, or not enough to act on)."""

    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[required(), max_length(4000)])


def _yes_no(value):
    return {"yes": True, "no": False}.get(value, value)


class CallbackForm(FlaskForm):
    """The call-back (回访) on a resolved need."""

    satisfied = RadioField(_l("Is the enterprise satisfied?"), choices=choices([("yes", _l("Satisfied")),
                                                                                ("no", _l("Not satisfied"))]),
                           validators=[required()])
    satisfaction = SelectField(_l("Satisfaction (1–5)"), coerce=lambda v: int(v) if str(v).isdigit() else None,
                               choices=choices([(i, i) for i in range(5, 0, -1)]), validators=[required()])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[max_length(4000)],
                         description=_l("Required when not satisfied: the need is reopened with this reason."))

    def values(self) -> dict:
        """The form's data for crm.referrals.services.record_callback."""
        return {"satisfied": _yes_no(self.satisfied.data), "satisfaction": self.satisfaction.data,
                "note": self.note.data}
