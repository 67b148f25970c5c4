"""Forms of the registry: enterprise profile, contacts, annual figures, IP, regions, the filter bar."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import Email

from crm.core.forms import (
    AmountField,
    CountField,
    DateField,
    YearField,
    input_required,
    max_length,
    optional,
    options,
    required,
    strip,
    uscc_validator,
)
from crm.enterprises.models import (
    ENTERPRISE_STATUS_LABELS,
    IP_KIND_LABELS,
    REGION_LEVEL_LABELS,
    TECH_DOMAIN_LABELS,
)


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class EnterpriseForm(FlaskForm):
    """An enterprise's profile."""

    name = StringField(_l("Enterprise name"), [required(), max_length(200)], filters=[strip])
    uscc = StringField(_l("Unified social credit code"), [uscc_validator], filters=[strip],
                       description=_l("18 characters, GB 32100-2015."))
    region_id = SelectField(_l("Region"), coerce=_int_or_none, validators=[required()])
    address = StringField(_l("Address"), [optional(), max_length(255)], filters=[strip])
    industry_code = StringField(_l("Industry code"), [required(), max_length(5)], filters=[strip],
                                description=_l("GB/T 4754-2017, e.g. C3511 (class) or C35 (division)."))
    tech_domain = SelectField(_l("Technology domain"),
                              choices=lambda: options({"": "—"} | TECH_DOMAIN_LABELS))
    established_on = DateField(_l("Established on"))
    is_above_scale = BooleanField(_l("Above designated size"))
    status = SelectField(_l("Status"), choices=lambda: options(ENTERPRISE_STATUS_LABELS))
    version = HiddenField()  # the version the form was opened at (crm.core.concurrency)


class ContactForm(FlaskForm):
    """A contact person."""

    name = StringField(_l("Name"), [required(), max_length(60)], filters=[strip])
    title = StringField(_l("Position"), [optional(), max_length(60)], filters=[strip])
    phone = StringField(_l("Phone"), [optional(), max_length(32)], filters=[strip])
    email = StringField(_l("E-mail"), [optional(), max_length(120), Email(message=_l("Not an e-mail address."))],
                        filters=[strip])
    is_primary = BooleanField(_l("Primary contact"))


class FiguresForm(FlaskForm):
    """One year's figures; amounts in 万元."""

    year = YearField(_l("Year"), [input_required()])
    revenue = AmountField(_l("Revenue"))
    hightech_revenue = AmountField(_l("High-tech product/service revenue"))
    rd_expense = AmountField(_l("R&D expense"))
    rd_expense_domestic = AmountField(_l("Domestic R&D expense"))
    total_cost = AmountField(_l("Total cost and expenses"))
    total_income = AmountField(_l("Total income"),
                               description=_l("Optional: total income less non-taxable income; revenue stands in."))
    total_assets = AmountField(_l("Total assets"))
    net_assets = AmountField(_l("Net assets"), allow_negative=True)
    employees = CountField(_l("Employees"))
    tech_staff = CountField(_l("Tech staff"))
    rd_staff = CountField(_l("R&D staff"))
    conversions = CountField(_l("Technology conversions"),
                             description=_l("Number of R&D results turned into products, services or licences this year."))
    version = HiddenField()  # the version the form was opened at (crm.core.concurrency)

    tax_paid = AmountField(_l("Tax paid"), description=_l("Optional, for the efficiency grading (10k CNY)."))
    land_mu = AmountField(_l("Land (mu)"), description=_l("Optional, for the efficiency grading."))
    energy_tce = AmountField(_l("Energy use (tce)"),
                             description=_l("Optional, for the efficiency grading: tonnes of standard coal."))

    AMOUNTS = ("revenue", "hightech_revenue", "rd_expense", "rd_expense_domestic", "total_cost",
               "total_income", "total_assets", "net_assets")
    COUNTS = ("employees", "tech_staff", "rd_staff", "conversions")
    EFFICIENCY = ("tax_paid", "land_mu", "energy_tce")


class IPForm(FlaskForm):
    """An intellectual-property item."""

    kind = SelectField(_l("Kind"), choices=lambda: options(IP_KIND_LABELS))
    title = StringField(_l("Title"), [required(), max_length(200)], filters=[strip])
    number = StringField(_l("Number"), [required(), max_length(64)], filters=[strip],
                         description=_l("Patent number, registration number, …"))
    granted_on = DateField(_l("Granted on"))
    is_valid = BooleanField(_l("Valid"), default=True)
    used_in_earlier_application = BooleanField(
        _l("Used in an earlier high-tech application"),
        description=_l("Class II items count for one application only."))


class RegionForm(FlaskForm):
    """A node of the region tree."""

    code = StringField(_l("Code"), [required(), max_length(12)], filters=[strip],
                       description=_l("GB/T 2260 six digits; a park has its own code."))
    name = StringField(_l("Name"), [required(), max_length(60)], filters=[strip])
    level = SelectField(_l("Level"), choices=lambda: options(REGION_LEVEL_LABELS))
    parent_id = SelectField(_l("Parent"), coerce=_int_or_none)
