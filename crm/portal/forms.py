"""Forms of the enterprise portal, of enterprise accounts and of the officers' review.

The figures and IP forms are the registry's own (crm.enterprises.forms.FiguresForm, IPForm): the same
fields, labels and input rules for an enterprise as for an officer.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Email, Regexp

from crm.core.forms import choices, max_length, optional, options, required, strip
from crm.enterprises.forms import FiguresForm, IPForm
from crm.service.models import NEED_CATEGORY_LABELS

__all__ = ["FiguresForm", "IPForm", "PortalNeedForm", "CommentForm", "RatingForm", "AccountForm",
           "ReviewForm", "UploadForm"]


class PortalNeedForm(FlaskForm):
    """A need the enterprise raises: what kind, in a few words, and the details."""

    category = SelectField(_l("Category"), choices=lambda: options(NEED_CATEGORY_LABELS), validators=[required()])
    title = StringField(_l("Your request in a few words"), [required(), max_length(120)], filters=[strip])
    description = TextAreaField(_l("Details"), [optional(), max_length(4000)], filters=[strip],
                                description=_l("What you need, by when, and whom we may call about it."))


class CommentForm(FlaskForm):
    """A comment on a need (the bureau's may be internal)."""

    body = TextAreaField(_l("Comment"), [required(), max_length(2000)], filters=[strip])
    internal = BooleanField(_l("Internal note: not shown to the enterprise"))


class RatingForm(FlaskForm):
    """The enterprise's satisfaction with a closed need."""

    satisfaction = RadioField(_l("How satisfied are you with how this was handled?"),
                              choices=choices((n, str(n)) for n in range(1, 6)), validators=[required()])


class AccountForm(FlaskForm):
    """A new enterprise user: a contact person of the enterprise."""

    username = StringField(
        _l("User name"),
        [required(), max_length(64), Regexp(r"^[A-Za-z0-9_.@-]+$", message=_l("Letters, digits and _ . @ - only."))],
        filters=[strip], description=_l("What the contact types to sign in, e.g. a phone number."))
    name = StringField(_l("Full name"), [required(), max_length(60)], filters=[strip])
    phone = StringField(_l("Phone"), [optional(), max_length(32)], filters=[strip])
    email = StringField(_l("E-mail"), [optional(), max_length(120), Email(message=_l("Not an e-mail address."))],
                        filters=[strip])


class ReviewForm(FlaskForm):
    """An officer's decision on a submission."""

    version = HiddenField()
    comment = TextAreaField(_l("Comment to the enterprise"), [optional(), max_length(2000)], filters=[strip],
                            description=_l("Required when you return the submission: say what to correct."))
    overwrite = BooleanField(_l("Apply the submission over the changes made since"))


class UploadForm(FlaskForm):
    """An upload of the Excel template (the file is read from request.files by the view; its content decides
    its type, not its name)."""
