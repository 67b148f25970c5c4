"""Writes of the enterprise portal: enterprise accounts and their links, submissions and their review.

Validate, flush, audit; the caller commits. The rules on figures and IP are crm.enterprises.services' own
(check_figures, check_ip, save_figures, save_ip): a submission is checked with them when it is made, and
accepting it writes through them, so one rule lives in one place.
"""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from crm.auth import services as auth_services
from crm.auth.models import User
from crm.core import audit, clock
from crm.core.db import utcnow
from crm.core.policy import Role, can
from crm.core.validation import ValidationFailed
from crm.enterprises import services as enterprise_services
from crm.enterprises.models import FigureSource
from crm.enterprises.queries import can_edit_enterprise
from crm.extensions import db
from crm.io import services as io_services
from crm.io.documents import FileRefused
from crm.portal import queries
from crm.portal.models import Submission, SubmissionKind, SubmissionStatus
from crm.service.queries import is_own_enterprise

# --- enterprise accounts -------------------------------------------------------------------------------


def can_manage_accounts(user, enterprise) -> bool:
    """An admin, or the officer who serves the enterprise now."""
    return can(user, "portal_accounts.manage") and can_edit_enterprise(user, enterprise)


def _refuse_unless_manager(actor, enterprise) -> None:
    if not isinstance(actor, str) and not can_manage_accounts(actor, enterprise):
        raise ValidationFailed.one("", _l("Only the enterprise's service officer or an administrator can manage "
                                          "its accounts."))


def create_enterprise_account(enterprise, data: dict, *, actor) -> tuple[User, str]:
    """A new enterprise user (a contact person) for `enterprise`, and the token of its first set-password link.

    The account gets a random password nobody knows: the contact signs in only after setting theirs by the link.
    `data`: username, name, phone, email. An enterprise may have several contacts.
    """
    _refuse_unless_manager(actor, enterprise)
    values = {"username": data.get("username") or "", "name": data.get("name") or "", "email": data.get("email") or "",
              "phone": data.get("phone") or "", "role": Role.ENTERPRISE, "region_id": None,
              "enterprise_uscc": enterprise.uscc, "active": True,
              "password": secrets.token_urlsafe(24) + "a1"}  # nobody's: replaced through the link
    user = auth_services.create_user(values, actor=actor)
    _link, token = auth_services.issue_password_link(user, actor=actor)
    return user, token


def reissue_password_link(user: User, *, actor) -> str:
    """A new set-password link for an enterprise contact (first use or a forgotten password); older links stop."""
    if user.role != Role.ENTERPRISE or user.enterprise is None:
        raise ValidationFailed.one("", _l("Links are issued to enterprise users only."))
    _refuse_unless_manager(actor, user.enterprise)
    if not user.is_active:
        raise ValidationFailed.one("", _l("This account is deactivated."))
    _link, token = auth_services.issue_password_link(user, actor=actor)
    return token


def send_password_link(user: User, url: str) -> bool:
    """E-mail a set-password link to the contact, in their language, when the server has SMTP and the
    contact an address (called after the commit); False otherwise: the page shows the link to hand over."""
    from flask import current_app
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from crm.core.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE
    from crm.notify.mail import send_direct

    days = current_app.config["PASSWORD_LINK_DAYS"]
    with force_locale(BABEL_LOCALES.get(user.locale or DEFAULT_LANGUAGE, "zh_Hans_CN")):
        subject = _("Set your password")
        body = _("Hello %(name)s,\n\nyour account %(username)s is ready. Open this link to choose your password "
                 "(it works once, for %(days)s days):\n\n%(url)s\n", name=user.name, username=user.username,
                 days=days, url=url)
    return send_direct(user, subject, body)


# --- submissions -------------------------------------------------------------------------------------------


def _refuse_unless_own(actor, enterprise) -> None:
    if not isinstance(actor, str) and not is_own_enterprise(actor, enterprise):
        raise ValidationFailed.one("", _l("You can submit for your own enterprise only."))


def submit_figures(enterprise, data: dict, *, actor) -> Submission:
    """Submit a year's figures for review (the registry's rules apply); a pending one of that year is replaced."""
    _refuse_unless_own(actor, enterprise)
    errors = enterprise_services.check_figures(data, this_year=clock.today().year)
    if errors:
        raise ValidationFailed(errors)
    year = data["year"]
    values = {name: queries.plain_value(data.get(name)) for name in queries.VALUE_FIELDS}
    base = queries.figures_snapshot(queries.accepted_figures(enterprise, year))
    if base and values == base:
        raise ValidationFailed.one("", _l("These are the figures of %(year)s already on record: nothing to submit.",
                                          year=year))
    pending = queries.pending_figures(enterprise, year)
    if pending is not None:
        pending.status = SubmissionStatus.SUPERSEDED
        _flush()
        audit.record(db.session, "status", pending, actor=actor, enterprise_id=enterprise.id,
                     changes={"status": [SubmissionStatus.PENDING.value, SubmissionStatus.SUPERSEDED.value]},
                     summary=f"{enterprise.name} {year}")
    sub = Submission(enterprise_id=enterprise.id, kind=SubmissionKind.FIGURES, year=year, data=values, base=base,
                     revision=queries.next_revision(enterprise, SubmissionKind.FIGURES, year),
                     status=SubmissionStatus.PENDING, submitted_by_id=getattr(actor, "id", None), submitted_at=utcnow())
    db.session.add(sub)
    db.session.flush()
    audit.record(db.session, "create", sub, actor=actor, enterprise_id=enterprise.id,
                 changes={name: [base.get(name), value] for name, value in values.items() if base.get(name) != value},
                 summary=f"{enterprise.name} {year} r{sub.revision}")
    return sub


IP_SUBMITTED_FIELDS = ("kind", "title", "number", "granted_on", "is_valid", "used_in_earlier_application")


def submit_ip(enterprise, data: dict, *, actor) -> Submission:
    """Report an IP item for review (the registry's rules apply: known kind, no duplicate, not granted in future)."""
    _refuse_unless_own(actor, enterprise)
    values = {name: data.get(name) for name in IP_SUBMITTED_FIELDS}
    values["is_valid"] = bool(values["is_valid"])
    values["used_in_earlier_application"] = bool(values["used_in_earlier_application"])
    enterprise_services.check_ip(enterprise, values)
    plain = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}
    sub = Submission(enterprise_id=enterprise.id, kind=SubmissionKind.IP, year=None, data=plain, base={},
                     revision=1, status=SubmissionStatus.PENDING, submitted_by_id=getattr(actor, "id", None),
                     submitted_at=utcnow())
    db.session.add(sub)
    db.session.flush()
    audit.record(db.session, "create", sub, actor=actor, enterprise_id=enterprise.id,
                 changes={k: [None, v] for k, v in plain.items()}, summary=f"{enterprise.name} {values['number']}")
    return sub


# --- an upload of the Excel template -------------------------------------------------------------------------

UPLOAD_MAX_ROWS = 20  # an enterprise's file has a row per year or per item: a handful


class RowsRejected(Exception):
    """Rows of an upload were rejected, so nothing of it was submitted: `rejects` lists {"row", "column", "reason"}."""

    def __init__(self, rejects: list[dict]):
        super().__init__(f"{len(rejects)} rejection(s)")
        self.rejects = rejects


def submit_figures_file(enterprise, data: bytes, *, actor) -> list[Submission]:
    """Submit the figures of an uploaded annual-figures file (the io template): a pending submission per row (year).

    The file is read and its rows checked by crm.io (file checks, headers, cells, FiguresForm's fields); every row
    must carry the enterprise's own USCC, and each is submitted by submit_figures. A column left out of the file
    keeps the figure on record. All or nothing: FileRefused for the file, RowsRejected for its rows — the
    submissions already flushed are then the caller's to roll back.
    """
    from crm.io.models import ImportKind

    def submit(number: int, row: dict) -> Submission | None:
        given = {name: row[name] for name in queries.VALUE_FIELDS if name in row}
        if all(value is None for value in given.values()):
            parsed.reject(number, "year", _l("No figures in this row: fill in the year's figures."))
            return None
        current = queries.accepted_figures(enterprise, row["year"])
        on_record = {name: getattr(current, name) for name in queries.VALUE_FIELDS} if current else {}
        return submit_figures(enterprise, {"year": row["year"], **on_record, **given}, actor=actor)

    parsed = io_services.parse_upload(ImportKind.FIGURES, data, max_rows=UPLOAD_MAX_ROWS)
    return _submit_rows(enterprise, parsed, submit, "year")


def _ip_defaults() -> dict:
    """What an empty 是/否 cell means for a new item: the registry form's defaults (valid: yes; used: no)."""
    from crm.enterprises.forms import IPForm

    return {name: bool(getattr(IPForm, name).kwargs.get("default", False))
            for name in ("is_valid", "used_in_earlier_application")}


def submit_ip_file(enterprise, data: bytes, *, actor) -> list[Submission]:
    """Report the items of an uploaded IP file (the io template): a pending submission per row, by submit_ip.

    As submit_figures_file: the rows checked by crm.io, the enterprise's own USCC only, all or nothing.
    """
    from crm.io.models import ImportKind

    defaults = _ip_defaults()

    def submit(number: int, row: dict) -> Submission:
        values = {name: row.get(name) for name in IP_SUBMITTED_FIELDS}
        for name, default in defaults.items():
            if values[name] is None:
                values[name] = default
        return submit_ip(enterprise, values, actor=actor)

    parsed = io_services.parse_upload(ImportKind.IP, data, max_rows=UPLOAD_MAX_ROWS)
    return _submit_rows(enterprise, parsed, submit, "number")


def _submit_rows(enterprise, parsed, submit, key_field: str) -> list[Submission]:
    """Submit each parsed row of the enterprise's own; RowsRejected (with every reason) if any row is rejected."""
    if not parsed.rows and not parsed.rejects:
        raise FileRefused(_l("The file holds no rows to submit."))
    submissions = []
    for number, row in parsed.rows:
        if row.get("uscc") != enterprise.uscc:
            parsed.reject(number, "uscc", _l("This row is for another enterprise (unified social credit code "
                                             "%(uscc)s): you can submit your own enterprise's only.",
                                             uscc=row.get("uscc")))
            continue
        try:
            sub = submit(number, row)
        except ValidationFailed as failure:
            for name, messages in failure.errors.items():
                for message in messages:
                    parsed.reject(number, name or key_field, message)
            continue
        if sub is not None:
            submissions.append(sub)
    if parsed.rejects:
        raise RowsRejected(parsed.rejects)
    return submissions


# --- the officers' review ----------------------------------------------------------------------------------


def _refuse_unless_reviewer(sub: Submission, actor) -> None:
    if not isinstance(actor, str) and not queries.can_review(actor, sub):
        raise ValidationFailed.one("", _l("Only the enterprise's service officer or an administrator can review "
                                          "its submissions."))


def _stale():
    return ValidationFailed.one("", _l("Someone else has reviewed this submission meanwhile. Reload the page."))


def _check_pending(sub: Submission, version) -> None:
    if version is not None and str(version) != str(sub.version):
        raise _stale()
    if not sub.is_pending:
        raise ValidationFailed.one("", _l("This submission is no longer waiting for review."))


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise _stale() from None


def _close(sub: Submission, status: str, comment: str, actor) -> None:
    old = sub.status
    sub.status, sub.review_comment = status, comment
    sub.reviewed_by_id, sub.reviewed_at = getattr(actor, "id", None), utcnow()
    _flush()
    audit.record(db.session, "status", sub, actor=actor, enterprise_id=sub.enterprise_id,
                 changes={"status": [old, status], **({"review_comment": [None, comment]} if comment else {})},
                 summary=f"{sub.enterprise.name} {sub.year or sub.data.get('number', '')}")


def accept_submission(sub: Submission, *, actor, version=None, comment: str = "", overwrite: bool = False):
    """Apply a submission to the registry (figures saved and verified, or the IP item added) and mark it accepted,
    in the caller's one unit of work. Figures the bureau changed after the submission are a conflict: refused
    (with the fields named) unless the reviewer chose to overwrite them."""
    _refuse_unless_reviewer(sub, actor)
    _check_pending(sub, version)
    comment = (comment or "").strip()
    enterprise = sub.enterprise
    if sub.kind == SubmissionKind.FIGURES:
        conflict = queries.changed_since(sub)
        if conflict and not overwrite:
            raise ValidationFailed.one("overwrite", _l(
                "The figures of %(year)s were changed after the enterprise submitted these (%(n)s fields, marked "
                "below). Compare them; to apply the submission anyway, tick the box and accept again.",
                year=sub.year, n=len(conflict)))
        # the enterprise's report of the year, confirmed by its reviewer; the year's figures resolved from it
        # and the other sources' reports (FIGURE_SOURCE_PRIORITY)
        enterprise_services.save_report(enterprise, sub.year, FigureSource.ENTERPRISE,
                                        queries.typed_figures(sub.data), actor=actor, confirm=True)
    else:
        from datetime import date

        data = dict(sub.data)
        data["granted_on"] = date.fromisoformat(data["granted_on"]) if data.get("granted_on") else None
        enterprise_services.save_ip(enterprise, data, actor=actor)
    _close(sub, SubmissionStatus.ACCEPTED, comment, actor)


def return_submission(sub: Submission, comment: str, *, actor, version=None) -> None:
    """Send a submission back to the enterprise with a comment saying what to correct; nothing is applied."""
    _refuse_unless_reviewer(sub, actor)
    _check_pending(sub, version)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed.one("comment", _l("Tell the enterprise what to correct."))
    _close(sub, SubmissionStatus.RETURNED, comment, actor)

