"""Forms of sign-in, the own account and user administration."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import Email, EqualTo, Regexp

from crm.core.forms import max_length, optional, options, required, strip
from crm.core.i18n import LANGUAGES
from crm.core.policy import ROLE_LABELS, Role


class LoginForm(FlaskForm):
    """User name and password."""

    username = StringField(_l("User name"), [required(), max_length(64)], filters=[strip])
    password = PasswordField(_l("Password"), [required(), max_length(128)])
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    """Change one's own password (ends every other session)."""

    current_password = PasswordField(_l("Current password"), [required()])
    new_password = PasswordField(_l("New password"), [required(), max_length(128)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        [required(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class SetPasswordForm(FlaskForm):
    """Set one's password through a one-time link (a new enterprise contact, or a reset)."""

    new_password = PasswordField(_l("New password"), [required(), max_length(128)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        [required(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class LanguageForm(FlaskForm):
    """Pick the interface language."""

    lang = SelectField(_l("Language"), choices=dict(LANGUAGES))
    next = HiddenField()


def role_choices():
    """The roles as <select> options."""
    return options({r.value: ROLE_LABELS[r] for r in Role})


class UserForm(FlaskForm):
    """Create or edit a user (admins only)."""

    username = StringField(
        _l("User name"),
        [required(), max_length(64),
         Regexp(r"^[A-Za-z0-9_.@-]+$", message=_l("Letters, digits and _ . @ - only."))],
        filters=[strip],
    )
    name = StringField(_l("Full name"), [required(), max_length(60)], filters=[strip])
    email = StringField(_l("E-mail"), [optional(), max_length(120), Email(message=_l("Not an e-mail address."))],
                        filters=[strip])
    phone = StringField(_l("Phone"), [optional(), max_length(32)], filters=[strip])
    role = SelectField(_l("Role"), choices=role_choices, validators=[required()])
    region_id = SelectField(_l("Region"), coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                            validate_choice=True)
    department_id = SelectField(_l("Department"), coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                                validate_choice=True,
                                description=_l("For department users only: the department whose referrals they answer."))
    enterprise_uscc = StringField(
        _l("Enterprise (unified social credit code)"), [optional(), max_length(40)], filters=[strip],
        description=_l("For enterprise users only: the enterprise this account belongs to."),
    )
    password = PasswordField(
        _l("Password"), [optional(), max_length(128)],
        description=_l("Required for a new user; leave empty to keep the current password."),
    )
    active = BooleanField(_l("Active"), default=True)
