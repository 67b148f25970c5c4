"""Forms of service work: the visit (with its needs and next follow-up), needs, follow-ups, departments."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from crm.core.forms import AmountField, CountField, DateField, choices, max_length, optional, options, required, strip
from crm.service.models import NEED_CATEGORY_LABELS, NEED_STATUS_LABELS, VISIT_MODE_LABELS

# The visit form offers this many need slots (blank ones are ignored): one shown, the rest folded.
NEED_SLOTS = 3


def _int_or_none(value):
    # at most 9 digits: a longer id exists nowhere, and would overflow the database's INTEGER (a 500)
    text = str(value) if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


class NeedEntryForm(Form):
    """One need raised during a visit; all blank means "no need"."""

    category = SelectField(_l("Category"), choices=[SelectChoice(value="", label="—"), *options(NEED_CATEGORY_LABELS)],
                           validate_choice=False)
    title = StringField(_l("Need"), filters=[strip], validators=[max_length(120)])
    description = TextAreaField(_l("Details"), filters=[strip], validators=[max_length(4000)])

    def is_blank(self) -> bool:
        """Whether nothing was entered in this slot."""
        return not (self.category.data or self.title.data or self.description.data)

    def validate_title(self, field):
        """A need that has anything in it needs a category and a title."""
        if self.is_blank():
            return
        if not field.data:
            raise ValidationError(_l("Name the need in a few words."))

    def validate_category(self, field):
        """The category must come from the list when the slot is used."""
        if self.is_blank():
            return
        if field.data not in NEED_CATEGORY_LABELS:
            raise ValidationError(_l("Choose a category."))


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (the policies explained)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VisitForm(FlaskForm):
    """Log a visit: who, when, how, what was said; needs raised and the next follow-up in the same form."""

    enterprise_id = SelectField(_l("Enterprise"), coerce=_int_or_none, validate_choice=False)
    visited_on = DateField(_l("Date"), validators=[required()])
    mode = RadioField(_l("Mode"), choices=options(VISIT_MODE_LABELS), default="onsite",
                      validators=[required()])
    people_met = StringField(_l("People met"), filters=[strip], validators=[max_length(200)],
                             description=_l("Names and titles, e.g. 张总（总经理）、李工（研发负责人）"))
    summary = TextAreaField(_l("Visit summary"), filters=[strip], validators=[required(), max_length(4000)])
    policy_ids = MultiCheckboxField(_l("Policies explained"), coerce=int, validate_choice=False)
    needs = FieldList(FormField(NeedEntryForm), min_entries=NEED_SLOTS, max_entries=NEED_SLOTS)
    follow_up_on = DateField(_l("Follow-up date"), validators=[optional()])
    follow_up_action = StringField(_l("What to do then"), filters=[strip], validators=[max_length(200)])

    def validate_enterprise_id(self, field):
        """The enterprise is required (the view checks the user may record for it)."""
        if not field.data:
            raise ValidationError(_l("Choose the enterprise you visited."))

    def need_entries(self) -> list[dict]:
        """The needs entered, as dicts for the service (blank slots left out)."""
        return [{"category": e.category.data, "title": e.title.data, "description": e.description.data}
                for e in (entry.form for entry in self.needs) if not e.is_blank()]


class VisitEditForm(FlaskForm):
    """Correct a visit (its needs and follow-ups are changed on their own pages)."""

    visited_on = DateField(_l("Date"), validators=[required()])
    mode = RadioField(_l("Mode"), choices=options(VISIT_MODE_LABELS), validators=[required()])
    people_met = StringField(_l("People met"), filters=[strip], validators=[max_length(200)])
    summary = TextAreaField(_l("Visit summary"), filters=[strip], validators=[required(), max_length(4000)])
    policy_ids = MultiCheckboxField(_l("Policies explained"), coerce=int, validate_choice=False)


class NeedForm(FlaskForm):
    """Raise or edit a need."""

    category = SelectField(_l("Category"), choices=options(NEED_CATEGORY_LABELS), validators=[required()])
    title = StringField(_l("Need"), filters=[strip], validators=[required(), max_length(120)])
    description = TextAreaField(_l("Details"), filters=[strip], validators=[max_length(4000)])
    raised_on = DateField(_l("Raised on"), validators=[optional()])
    due_on = DateField(_l("Due on"), validators=[optional()],
                       description=_l("Left empty: set by the category (e.g. 7 days for a policy question)."))
    owner_id = SelectField(_l("Owner"), coerce=_int_or_none, validate_choice=False)
    version = HiddenField()


class NeedStatusForm(FlaskForm):
    """Move a need to another status (the allowed ones only)."""

    status = SelectField(_l("New status"), validators=[required()], validate_choice=False)
    resolution = TextAreaField(_l("Resolution"), filters=[strip], validators=[max_length(4000)],
                               description=_l("Required to close: what was done, by whom, with what result."))
    department_id = SelectField(_l("Referred to"), coerce=_int_or_none, validate_choice=False)
    satisfaction = SelectField(_l("Enterprise's satisfaction"), coerce=_int_or_none, validate_choice=False,
                               choices=choices([("", _l("Not asked")), *[(i, i) for i in range(5, 0, -1)]]))
    # what came of it (closing): summed per category in the needs analytics (crm.performance)
    financing_wan = AmountField(_l("Financing obtained (10k CNY)"))
    people_recruited = CountField(_l("People recruited"))
    contracts_signed = CountField(_l("Contracts signed"), message=_l("Enter a whole number, e.g. 2."))
    contracts_wan = AmountField(_l("Value of the contracts (10k CNY)"))
    version = HiddenField()

    def outcome(self) -> dict:
        """The outcome fields filled in (crm.service.services.OUTCOME_FIELDS)."""
        return {name: getattr(self, name).data for name in ("financing_wan", "people_recruited", "contracts_signed",
                                                            "contracts_wan")}

    def set_statuses(self, allowed) -> None:
        """Offer only the transitions allowed from the current status."""
        self.status.choices = choices((s, NEED_STATUS_LABELS[s]) for s in allowed)


class FollowUpForm(FlaskForm):
    """Plan or change a follow-up."""

    action = StringField(_l("What to do"), filters=[strip], validators=[required(), max_length(200)])
    due_on = DateField(_l("By when"), validators=[required()])
    assignee_id = SelectField(_l("Who"), coerce=_int_or_none, validate_choice=False)


class FollowUpDoneForm(FlaskForm):
    """Mark a follow-up done, with what came of it."""

    note = TextAreaField(_l("Note"), filters=[strip], validators=[max_length(2000)])


class DepartmentForm(FlaskForm):
    """A department needs can be referred to."""

    name = StringField(_l("Name"), filters=[strip], validators=[required(), max_length(60)])
    position = CountField(_l("Order"), maximum=999, validators=[optional()])
    active = BooleanField(_l("In use"), default=True)


class NeedCommentForm(FlaskForm):
    """A comment on a need by the bureau: shown to the enterprise in its portal unless marked internal."""

    body = TextAreaField(_l("Comment"), [required(), max_length(2000)], filters=[strip])
    internal = BooleanField(_l("Internal note: not shown to the enterprise"), default=True)
