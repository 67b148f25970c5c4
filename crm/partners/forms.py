"""Forms of partners and referrals."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from crm.core.forms import AmountField, DateField, max_length, optional, options, required, strip
from crm.partners.models import CONSENT_MODE_LABELS, PARTNER_KIND_LABELS
from crm.service.forms import MultiCheckboxField


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") and str(value).isdigit() else None


class PartnerForm(FlaskForm):
    """A partner: who, what kind, where, whom to call, which needs it handles."""

    name = StringField(_l("Partner name"), [required(), max_length(120)], filters=[strip])
    kind = SelectField(_l("Kind"), choices=options(PARTNER_KIND_LABELS))
    region_id = SelectField(_l("Region"), coerce=_int_or_none, validate_choice=False)
    contact_name = StringField(_l("Contact person"), [optional(), max_length(60)], filters=[strip])
    phone = StringField(_l("Phone"), [optional(), max_length(32)], filters=[strip])
    email = StringField(_l("E-mail"), [optional(), max_length(120)], filters=[strip])
    specialities = MultiCheckboxField(_l("Specialities (need categories)"), validate_choice=False)
    note = TextAreaField(_l("Note"), [optional(), max_length(2000)], filters=[strip])
    active = BooleanField(_l("In use"), default=True)

    FIELDS = ("name", "kind", "region_id", "contact_name", "phone", "email", "specialities", "note", "active")


class ReferralForm(FlaskForm):
    """Refer a need to a partner, with the enterprise's consent."""

    partner_id = SelectField(_l("Partner"), coerce=_int_or_none, validate_choice=False)
    consent_by = StringField(_l("Consent given by"), [required(), max_length(60)], filters=[strip],
                             description=_l("Who at the enterprise agreed that the partner may contact them."))
    consent_on = DateField(_l("Consent given on"), [required()])
    consent_mode = SelectField(_l("Consent given"), choices=options(CONSENT_MODE_LABELS))


class ReferralStatusForm(FlaskForm):
    """Move a referral: the next status and, at the end, its outcome."""

    status = SelectField(_l("New status"), validate_choice=False)
    loan_amount = AmountField(_l("Loan granted (10k CNY)"), [optional()])
    contract_amount = AmountField(_l("Contract signed (10k CNY)"), [optional()])
    outcome_note = TextAreaField(_l("Outcome"), [optional(), max_length(2000)], filters=[strip])
