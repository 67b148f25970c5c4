"""E-mail of notifications, as an outbox: the runner mails committed notifications, each at most once.

Nothing is mailed from inside a unit of work: a notification exists only once its transaction
committed, and the runner's delivery job picks it up (every minute). A row is claimed (emailed_at
set and committed) before its message is sent, so a crash between the two loses one e-mail rather
than sending it twice; a failure is recorded on the row.
"""
from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from crm.auth.models import User
from crm.core.db import utcnow
from crm.core.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE
from crm.extensions import db
from crm.notify.messages import render
from crm.notify.models import Notification

# Older notifications are not mailed (a server that gets SMTP settings today does not mail last year's).
MAIL_WINDOW = timedelta(days=2)
BATCH = 200


def enabled() -> bool:
    """Whether the server may send e-mail (MAIL_SERVER set, or the in-memory backend of the tests)."""
    return bool(current_app.config.get("MAIL_SERVER")) or current_app.config.get("MAIL_BACKEND") == "memory"


def _message(user: User, notification: Notification) -> EmailMessage:
    with force_locale(BABEL_LOCALES.get(user.locale or DEFAULT_LANGUAGE, "zh_Hans_CN")):
        title, body = render(notification.kind, notification.params)
        brand = str(current_app.config.get("MAIL_SUBJECT_PREFIX", "[苗圃]"))
    message = EmailMessage()
    message["Subject"] = f"{brand} {title}"
    message["From"] = current_app.config.get("MAIL_DEFAULT_SENDER", "miaopu@localhost")
    message["To"] = user.email
    link = f"{current_app.config.get('SERVER_URL', '').rstrip('/')}{notification.link}" if notification.link else ""
    message.set_content(f"{body}\n\n{link}".strip() + "\n")
    return message


def _send(messages: list[EmailMessage]) -> None:
    config = current_app.config
    if config.get("MAIL_BACKEND") == "memory":
        current_app.extensions.setdefault("mail_outbox", []).extend(messages)
        return
    smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], int(config.get("MAIL_PORT", 25)), timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        for message in messages:
            smtp.send_message(message)


def deliver_pending() -> str | None:
    """Mail the committed, not yet mailed notifications of users who want e-mail; what it did, None if nothing."""
    if not enabled():
        return None
    since = utcnow() - MAIL_WINDOW
    rows = db.session.execute(
        select(Notification, User).join(User, User.id == Notification.user_id)
        .where(Notification.emailed_at.is_(None), Notification.created_at >= since, User.active.is_(True),
               User.email_notifications.is_(True), User.email != "")
        .order_by(Notification.id).limit(BATCH)).all()
    claimed = []
    for notification, user in rows:
        # the claim: only one runner's UPDATE matches a row whose emailed_at is still empty
        result = db.session.execute(update(Notification).where(
            Notification.id == notification.id, Notification.emailed_at.is_(None)).values(emailed_at=utcnow()))
        if result.rowcount:
            claimed.append((notification, user))
    db.session.commit()
    sent = failed = 0
    for notification, user in claimed:
        try:
            _send([_message(user, notification)])
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            notification.email_error = str(exc)[:255]
            failed += 1
    db.session.commit()
    if not claimed:
        return None
    return _("%(sent)s e-mails sent, %(failed)s failed", sent=sent, failed=failed)


def send_direct(user: User, subject: str, body: str) -> bool:
    """Mail one message now, outside the inbox (for what must not be stored, e.g. a set-password link).

    Callers send after their commit. False when e-mail is off, the user has no address, or sending failed.
    """
    if not enabled() or not user.email:
        return False
    message = EmailMessage()
    message["Subject"] = f"{current_app.config.get('MAIL_SUBJECT_PREFIX', '[苗圃]')} {subject}"
    message["From"] = current_app.config.get("MAIL_DEFAULT_SENDER", "miaopu@localhost")
    message["To"] = user.email
    message.set_content(body)
    try:
        _send([message])
    except (OSError, smtplib.SMTPException):
        current_app.logger.warning("could not mail %s to user %s", subject, user.id)
        return False
    return True
