"""Forms of the certification cycle: batches, filing and moving applications, flags, bulletins."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from crm.core.forms import DateField, YearField, max_length, optional, options, required, strip
from crm.cycle.models import FLAG_LABELS, NOT_PASSED_REASON_LABELS
from crm.ladder.tiers import TIER_LABELS


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") and str(value).isdigit() and len(str(value)) <= 9 else None


class BatchForm(FlaskForm):
    """A batch: region, year, tier and the last day to reach each stage."""

    region_id = SelectField(_l("Region"), coerce=_int_or_none, validate_choice=False, validators=[required()])
    year = YearField(_l("Year"), validators=[required()])
    tier = SelectField(_l("Tier"), choices=options(TIER_LABELS), validators=[required()])
    coaching_by = DateField(_l("Coaching by"), validators=[optional()])
    materials_by = DateField(_l("Materials ready by"), validators=[optional()])
    submitted_by = DateField(_l("Online submission by"), validators=[optional()])
    review_by = DateField(_l("Review by"), validators=[optional()])
    public_notice_by = DateField(_l("Public notice by"), validators=[optional()])
    certified_by = DateField(_l("Certification by"), validators=[optional()])
    note = StringField(_l("Note"), filters=[strip], validators=[max_length(255)])


class FileForm(FlaskForm):
    """File an enterprise's intent to apply in a batch."""

    enterprise_id = SelectField(_l("Enterprise"), coerce=_int_or_none, validate_choice=False,
                                validators=[required()])


class MoveForm(FlaskForm):
    """Move an application; certified asks for the certificate, not passed for the reason."""

    stage = HiddenField(validators=[required()])
    version = HiddenField()
    on = DateField(_l("Date"), validators=[optional()], description=_l("Left empty: today."))
    certificate_no = StringField(_l("Certificate no."), filters=[strip], validators=[max_length(40)])
    issued_on = DateField(_l("Issued on"), validators=[optional()])
    reason = SelectField(_l("Why it did not pass"), validate_choice=False,
                         choices=[SelectChoice(value="", label="—"), *options(NOT_PASSED_REASON_LABELS)])
    weak_criterion = StringField(_l("Weak criterion"), filters=[strip], validators=[max_length(120)],
                                 description=_l("For a failed review: the criterion the experts found weak."))
    note = TextAreaField(_l("Details"), filters=[strip], validators=[max_length(2000)])


class FlagForm(FlaskForm):
    """Raise or lower an officer's flag on an enterprise."""

    kind = SelectField(_l("Flag"), choices=options(FLAG_LABELS), validators=[required()])
    active = BooleanField(_l("Raised"), default=True)
    note = StringField(_l("Note"), filters=[strip], validators=[max_length(255)])


class BulletinForm(FlaskForm):
    """The month's bulletin of a region and the manager's commentary."""

    region_id = SelectField(_l("Region"), coerce=_int_or_none, validate_choice=False, validators=[required()])
    year = YearField(_l("Year"), validators=[required()])
    month = SelectField(_l("Month"), coerce=_int_or_none, validators=[required()],
                        choices=[SelectChoice(value=str(m), label=str(m)) for m in range(1, 13)])
    commentary = TextAreaField(_l("Commentary"), filters=[strip], validators=[max_length(8000)],
                               description=_l("Printed at the end of the bulletin."))
