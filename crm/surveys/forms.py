"""Forms of survey campaigns: a bank question with its options and rules, a campaign, a response (CSRF only)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, SelectField, StringField

from crm.core.forms import DateField, choices, max_length, optional, options, required, strip
from crm.cycle.models import FLAG_LABELS
from crm.service.models import NEED_CATEGORY_LABELS
from crm.surveys.models import QUESTION_KIND_LABELS

OPTION_ROWS = 10


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") and str(value).isdigit() else None


class OptionForm(Form):
    """One option of a choice question and its rule."""

    label = StringField(_l("Option"), [optional(), max_length(100)], filters=[strip])
    need_category = SelectField(_l("Raises a need of category"),
                                choices=choices([("", "—")]) + options(NEED_CATEGORY_LABELS), validate_choice=False)
    need_title = StringField(_l("Need title"), [optional(), max_length(120)], filters=[strip])
    flag_kind = SelectField(_l("Sets the flag"), choices=choices([("", "—")]) + options(FLAG_LABELS), validate_choice=False)


class QuestionForm(FlaskForm):
    """A question of the bank: how it is answered, its text, a unit for numbers, its options."""

    kind = SelectField(_l("Answered by"), choices=options(QUESTION_KIND_LABELS))
    text = StringField(_l("Question"), [required(), max_length(200)], filters=[strip])
    unit = StringField(_l("Unit (numbers)"), [optional(), max_length(20)], filters=[strip])
    region_id = SelectField(_l("Kept by (region)"), coerce=_int_or_none, validate_choice=False)
    options = FieldList(FormField(OptionForm), min_entries=OPTION_ROWS, max_entries=OPTION_ROWS)


class CampaignForm(FlaskForm):
    """A campaign: title, region, period, which enterprises (region, tier, tag); questions are read separately."""

    title = StringField(_l("Title"), [required(), max_length(120)], filters=[strip])
    region_id = SelectField(_l("Region"), coerce=_int_or_none, validate_choice=False)
    opens_on = DateField(_l("Opens on"), [required()])
    closes_on = DateField(_l("Closes on"), [required()])
    target_region_id = SelectField(_l("Enterprises of region"), coerce=_int_or_none, validate_choice=False)
    target_tier = SelectField(_l("Tier"), validate_choice=False)
    target_tag_id = SelectField(_l("Tag"), coerce=_int_or_none, validate_choice=False)

    FIELDS = ("title", "region_id", "opens_on", "closes_on", "target_region_id", "target_tier", "target_tag_id")


class ResponseForm(FlaskForm):
    """The questionnaire: answers are read by question from the request (`q<id>`); this carries CSRF and errors."""
