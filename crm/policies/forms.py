"""Forms of the policy catalogue."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from crm.core.forms import AmountField, CountField, DateField, max_length, optional, required, strip
from crm.service.forms import MultiCheckboxField


class PolicyForm(FlaskForm):
    """A policy: what it is, who issued it, its document number and application window."""

    title = StringField(_l("Title"), [required(), max_length(160)], filters=[strip])
    issuer = StringField(_l("Issued by"), [optional(), max_length(120)], filters=[strip],
                         description=_l("E.g. the Ministry of Finance and the State Taxation Administration."))
    document_no = StringField(_l("Document no."), [optional(), max_length(80)], filters=[strip])
    summary = TextAreaField(_l("Summary"), [optional(), max_length(4000)], filters=[strip],
                            description=_l("Who qualifies and what they get, in a few lines officers can explain."))
    opens_on = DateField(_l("Applications open on"),
                         description=_l("Leave both dates empty for a policy that applies all year."))
    closes_on = DateField(_l("Applications close on"))
    active = BooleanField(_l("Offered on visits"), default=True,
                          description=_l("Inactive policies stay on the visits that cited them."))
    benefit = TextAreaField(_l("Benefit"), [optional(), max_length(2000)], filters=[strip],
                            description=_l("What an eligible enterprise gets, in words."))
    cap_amount = AmountField(_l("Cap (10k CNY)"), [optional()],
                             description=_l("The most one enterprise can get, where the benefit is an amount."))

    FIELDS = ("title", "issuer", "document_no", "summary", "opens_on", "closes_on", "active", "benefit",
              "cap_amount")


class ConditionsForm(FlaskForm):
    """Who qualifies: each filled condition becomes one criterion the ladder's engine checks."""

    tiers_held = MultiCheckboxField(_l("Holds a valid certification of"), validate_choice=False)
    min_age_years = CountField(_l("Operating for at least (years)"), maximum=100, validators=[optional()],
                               message=_l("Enter a whole number of years, e.g. 2."))
    min_revenue = AmountField(_l("Revenue at least (10k CNY)"), [optional()])
    max_revenue = AmountField(_l("Revenue at most (10k CNY)"), [optional()])
    min_rd_ratio = AmountField(_l("R&D expense / revenue at least (%)"), [optional()], places=1)
    min_tech_staff_ratio = AmountField(_l("Tech staff / employees at least (%)"), [optional()], places=1)
    clean_record = BooleanField(_l("No serious breach of trust on record"))
    resident = BooleanField(_l("A resident enterprise registered here"))


class PushForm(FlaskForm):
    """Move one enterprise's push: informed, applied, granted (with the amount) or not granted."""

    status = SelectField(_l("Status"), validate_choice=False)
    amount = AmountField(_l("Amount granted (10k CNY)"), [optional()])
