"""Forms of the ladder: a certification, the readiness inputs."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, SelectField, StringField, ValidationError

from crm.core.forms import (
    AmountField,
    CountField,
    DateField,
    input_required,
    max_length,
    optional,
    options,
    required,
    strip,
)
from crm.ladder.models import CERTIFICATION_STATUS_LABELS, JUDGEMENT_MAX
from crm.ladder.tiers import TIER_LABELS


class CertificationForm(FlaskForm):
    """A certification of one tier."""

    tier = SelectField(_l("Tier"), choices=lambda: options(TIER_LABELS), validators=[required()])
    certificate_no = StringField(_l("Certificate or registration no."), [required(), max_length(40)],
                                 filters=[strip])
    issued_on = DateField(_l("Issued on"), [input_required()])
    expires_on = DateField(_l("Valid until"),
                           description=_l("Leave empty to compute it: high-tech 3 years, tech SME the end of the year."))
    issuer = StringField(_l("Issuer"), [optional(), max_length(120)], filters=[strip])
    status = SelectField(_l("Status"), choices=lambda: options(CERTIFICATION_STATUS_LABELS))
    note = StringField(_l("Note"), [optional(), max_length(255)], filters=[strip])
    version = HiddenField()  # the version the form was opened at (crm.core.concurrency)


def PointsField(label, *, top: int):  # noqa: N802 - reads like a field class
    """Judgement points between 0 and `top`, one decimal place (experts may give half points)."""

    def within(form, field):
        if field.data is not None and field.data > top:
            raise ValidationError(_l("Between 0 and %(max)s points.", max=top))

    return AmountField(label, [within], places=1)


_M = JUDGEMENT_MAX
YES_NO_UNKNOWN = {"": _l("Not known"), "yes": _l("Yes"), "no": _l("No")}


def _tristate(value):
    return {"yes": True, "no": False}.get(value) if isinstance(value, str) else value


class TristateField(SelectField):
    """Yes / no / not known, stored as True / False / None."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, choices=lambda: options(YES_NO_UNKNOWN), coerce=str, **kwargs)

    def process_data(self, value):
        self.data = {True: "yes", False: "no"}.get(value, "")

    @property
    def value(self) -> bool | None:
        """The answer as True / False / None."""
        return _tristate(self.data)


class ReadinessInputsForm(FlaskForm):
    """The facts the rules read that no figure holds, and the 高企 judgement items."""

    resident = TristateField(_l("Resident enterprise registered in mainland China"))
    restricted_industry = TristateField(_l("Products in a prohibited, restricted or eliminated catalogue"))
    clean_record = TristateField(_l("Clean record (no major accident, violation or misconduct)"))
    national_award_top3_5y = TristateField(_l("National S&T award in the last five years (first three units)"))
    provincial_rd_institution = TristateField(_l("Recognised provincial-or-higher R&D institution"))
    led_standard_5y = TristateField(_l("Led a national or industry standard in the last five years"))
    ip_advancement = PointsField(_l("IP: technical advancement (0–%(n)s)", n=_M["ip_advancement"]),
                                 top=_M["ip_advancement"])
    ip_core_support = PointsField(_l("IP: core support to the main products (0–%(n)s)", n=_M["ip_core_support"]),
                                  top=_M["ip_core_support"])
    ip_acquisition = PointsField(_l("IP: how it was obtained (0–%(n)s)", n=_M["ip_acquisition"]),
                                 top=_M["ip_acquisition"])
    ip_standards_bonus = PointsField(_l("IP: standards bonus (0–%(n)s)", n=_M["ip_standards_bonus"]),
                                     top=_M["ip_standards_bonus"])
    management = PointsField(_l("R&D organisation and management (0–%(n)s)", n=_M["management"]),
                             top=_M["management"])

    FLAGS = ("resident", "restricted_industry", "clean_record", "national_award_top3_5y",
             "provincial_rd_institution", "led_standard_5y")
    JUDGEMENT = ("ip_advancement", "ip_core_support", "ip_acquisition", "ip_standards_bonus", "management")


# --- the readiness panel's what-if ---


def WholeNumberField(label):  # noqa: N802 - reads like a field class
    """A whole number ≥ 0 (people, IP items); empty means none."""
    return CountField(label, message=_l("Enter a whole number of 0 or more, e.g. 3."), maximum=999_999)


class WhatIfForm(Form):
    """What an officer may add to the latest year's figures to see the verdict change (a GET: nothing is saved).

    Read from the query string: WhatIfForm(request.args). Empty fields add nothing.
    """

    rd_expense = AmountField(_l("R&D expense"))
    tech_staff = WholeNumberField(_l("Tech staff"))
    hightech_revenue = AmountField(_l("High-tech product/service revenue"))
    revenue = AmountField(_l("Revenue"))
    ip_class1 = WholeNumberField(_l("Class I IP items"))
    ip_class2 = WholeNumberField(_l("Class II IP items"))

    AMOUNTS = ("rd_expense", "hightech_revenue", "revenue")
    FIELDS = ("rd_expense", "tech_staff", "hightech_revenue", "revenue", "ip_class1", "ip_class2")

    def additions(self) -> dict:
        """The non-zero additions, by field name."""
        return {name: self[name].data for name in self.FIELDS if self[name].data}


# --- rule settings ---

from wtforms import BooleanField, TextAreaField  # noqa: E402


class RuleNumberField(StringField):
    """A rule-set parameter typed by an admin: a number ≥ 0, in the unit shown beside it (a ratio in %)."""

    PLACES = {"percent": 4, "万元": 2, "points": 1, "persons": 0, "days": 0, "items": 0}

    def __init__(self, label=None, validators=None, unit: str = "万元", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.unit = unit
        self.places = self.PLACES.get(unit, 2)

    def process_formdata(self, valuelist):
        import re
        from decimal import Decimal

        from crm.core.forms import normalize_number_text

        self.data = None
        text = normalize_number_text(valuelist[0] if valuelist else "")
        if self.unit == "percent":
            text = text.rstrip("%％").strip()
        if not text:
            return
        if not re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?", text):
            if self.places == 0:
                raise ValueError(_l("Enter a whole number, e.g. 730."))
            raise ValueError(_l("Enter a number, e.g. 1234.5."))
        value = Decimal(text)
        if value < 0:
            raise ValueError(_l("Must not be negative."))
        if value.as_tuple().exponent < -self.places:
            if self.places == 0:
                raise ValueError(_l("Enter a whole number, e.g. 730."))
            raise ValueError(_l("At most %(n)d decimal place(s).", n=self.places))
        if value >= Decimal("1e9"):
            raise ValueError(_l("The number is too large."))
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return "0" if self.data == 0 else format(self.data.normalize(), "f")


class RuleSettingsForm(FlaskForm):
    """The settings of one tier's rule set; rule_settings_form() adds a field per criterion setting."""

    based_on = HiddenField()
    note = TextAreaField(_l("What changed and why"), [required(), max_length(255)], filters=[strip],
                         description=_l("Kept with the version and shown in its history, e.g. "
                                        "“Revenue threshold raised to 30 million CNY per the 2025 measure.”"))


def rule_settings_form(criteria, *, based_on: int, **kwargs) -> RuleSettingsForm:
    """The settings form of a rule set: per criterion its switch, names and numbers (editable ones only),
    and its options. `criteria` are ladder.services.rule_criteria(); kwargs go to the form (formdata=None…)."""

    class Form(RuleSettingsForm):
        pass

    data = {"based_on": str(based_on)}
    for c in criteria:
        if c.editable:
            setattr(Form, c.enabled_name, BooleanField(_l("In use")))
            data[c.enabled_name] = c.enabled
            for lang, label in (("zh", _l("Name (Chinese)")), ("en", _l("Name (English)"))):
                setattr(Form, c.label_name(lang), StringField(label, [required(), max_length(200)], filters=[strip]))
                data[c.label_name(lang)] = c.label.get(lang, "")
            for p in c.params:
                setattr(Form, p.name, RuleNumberField(p.label, [input_required()], unit=p.unit))
                data[p.name] = p.value
        for o in c.options:
            setattr(Form, o.name, BooleanField(o.label))
            data[o.name] = o.value
    return Form(data=data, **kwargs)


class RuleSetJsonForm(FlaskForm):
    """The advanced settings: the whole rule set as JSON (add a criterion of a known kind, edit texts)."""

    ruleset = TextAreaField(_l("The rule set as JSON"), [required(), max_length(200_000)])
    note = TextAreaField(_l("What changed and why"), [required(), max_length(255)], filters=[strip])
    based_on = HiddenField()
