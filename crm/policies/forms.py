"""Forms of the policy catalogue."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField

from crm.core.forms import DateField, max_length, optional, required, strip


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

    FIELDS = ("title", "issuer", "document_no", "summary", "opens_on", "closes_on", "active")
