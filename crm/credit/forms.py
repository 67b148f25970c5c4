"""Forms of the credit screening: the upload of a list, one row of it, lifting an entry."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, Form, SelectField, StringField

from crm.core.forms import DateField, max_length, optional, options, required, strip, uscc_validator
from crm.credit.models import CREDIT_LIST_KIND_LABELS


class CreditListForm(FlaskForm):
    """A negative list received by the bureau: its kind, issuing body, date received, the Excel file."""

    kind = SelectField(_l("List"), choices=options(CREDIT_LIST_KIND_LABELS))
    source = StringField(_l("Issued by"), [required(), max_length(160)], filters=[strip],
                         description=_l("The body that issued the list, e.g. 宁夏回族自治区发展和改革委员会."))
    received_on = DateField(_l("Received on"), [required()])
    note = StringField(_l("Note"), [optional(), max_length(255)], filters=[strip])
    replaces_previous = BooleanField(
        _l("This list replaces the previous list of the same kind from the same body"),
        description=_l("Entries of the earlier list that are not on this one are lifted."))
    file = FileField(_l("List (.xlsx)"))


class EntryRowForm(Form):
    """One row of a list file: 统一社会信用代码 (checked), 企业名称, 列入日期, 列入原因."""

    uscc = StringField(_l("Unified social credit code"), [uscc_validator])
    name = StringField(_l("Enterprise name"), [optional(), max_length(200)], filters=[strip])
    listed_on = DateField(_l("Listed on"), [optional()])
    reason = StringField(_l("Reason for listing"), [optional(), max_length(500)], filters=[strip])


class LiftForm(FlaskForm):
    """Lift an entry: the enterprise is off the list (from a given day), with a note."""

    removed_on = DateField(_l("Lifted on"), [optional()])
    removed_note = StringField(_l("Note"), [optional(), max_length(255)], filters=[strip])
