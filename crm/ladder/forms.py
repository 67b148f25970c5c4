"""Forms of the ladder: a certification, the readiness inputs."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, ValidationError

from crm.core.forms import AmountField, DateField, input_required, max_length, optional, options, required, strip
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
