"""Forms of notifications: the e-mail preference."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField


class EmailPreferenceForm(FlaskForm):
    """Whether notifications also come by e-mail."""

    email_notifications = BooleanField(_l("Also send my notifications by e-mail"))
