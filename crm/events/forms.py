"""Forms of events: the event, one sign-up, an attendee list."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from crm.core.forms import DateField, max_length, optional, options, required, strip, uscc_validator
from crm.events.models import EVENT_KIND_LABELS
from crm.service.forms import MultiCheckboxField


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") and str(value).isdigit() else None


class EventForm(FlaskForm):
    """An event: kind, topic, date, place, the organising region, the policies presented."""

    kind = SelectField(_l("Kind"), choices=options(EVENT_KIND_LABELS))
    topic = StringField(_l("Topic"), [required(), max_length(160)], filters=[strip])
    held_on = DateField(_l("Date"), [required()])
    place = StringField(_l("Place"), [optional(), max_length(160)], filters=[strip])
    region_id = SelectField(_l("Organised by (region)"), coerce=_int_or_none, validate_choice=False)
    policy_ids = MultiCheckboxField(_l("Policies presented"), coerce=int, validate_choice=False,
                                    description=_l("Each attending enterprise is then informed of these policies."))
    note = TextAreaField(_l("Note"), [optional(), max_length(2000)], filters=[strip])

    FIELDS = ("kind", "topic", "held_on", "place", "region_id", "note")


class SignUpForm(FlaskForm):
    """Sign one enterprise up by its USCC."""

    uscc = StringField(_l("Unified social credit code"), [uscc_validator])
    person = StringField(_l("Attendee"), [optional(), max_length(60)], filters=[strip])


class AttendeeImportForm(FlaskForm):
    """An Excel list of attendees (统一社会信用代码, optionally 参会人)."""

    file = FileField(_l("Attendee list (.xlsx)"))
    attended = BooleanField(_l("They attended (mark them present)"), default=True)
