"""Sign-in, sign-out, the own account, language, and user administration."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from crm.auth import queries, services
from crm.auth.forms import LanguageForm, LoginForm, PasswordChangeForm, SetPasswordForm, UserForm, role_choices
from crm.auth.models import User
from crm.core.audit import client_ip, register_field_labels
from crm.core.policy import public, require, signed_in
from crm.core.security import bearer_token, is_safe_next
from crm.core.uow import unit_of_work
from crm.core.validation import form_status
from crm.core.web import paginate
from crm.enterprises.queries import region_choices
from crm.extensions import db

bp = Blueprint("auth", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")

register_field_labels("users", UserForm, enterprise_id=_l("Enterprise"))  # the trail's field names (core.audit)


def load_user(session_id: str):
    """Flask-Login's user loader (an API request with a bearer token ignores the session)."""
    if bearer_token() is not None:
        return None
    return queries.load_session_user(session_id)


def load_token_user(request_):
    """Flask-Login's request loader: the user of an API request's bearer token (/api/ only).

    Noting the token's use (last_used_at, at most once a minute) is this unit of work's write,
    committed here: the API views themselves only read.
    """
    token = bearer_token()
    if not token:
        return None
    user = services.user_for_token(token)
    if db.session.dirty:
        db.session.commit()
    return user


def unauthorized():
    """Anonymous request to a signed-in page: JSON 401 for the API, HX-Redirect for htmx, else a redirect."""
    from flask import jsonify

    from crm.core.htmx import is_htmx

    login_url = url_for("auth.login", next=request.full_path if request.query_string else request.path)
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": 401, "message": _("Please sign in to open this page.")}}), 401
    if is_htmx():  # a 302 would put the sign-in page inside the fragment's target
        return "", 401, {"HX-Redirect": login_url}
    flash(_("Please sign in to open this page."), "warning")
    return redirect(login_url)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with user name and password; the error never says which of the two was wrong."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        attempt = services.attempt_sign_in(form.username.data, form.password.data, ip=client_ip())
        user = attempt.user
        if user is None:
            db.session.commit()  # the failed attempt counts towards the throttle
            if attempt.locked:  # said alike for every user name, existing or not
                form.form_errors.append(_("Too many failed sign-ins. Please try again later."))
                return render_template("auth/login.html", form=form), 429
            form.form_errors.append(_("User name or password is not correct."))
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session on sign-in
            if lang:
                session["lang"] = lang
                user.locale = user.locale or lang
            login_user(user)
            session.permanent = True
            db.session.commit()
            target = form.next.data
            return redirect(target if is_safe_next(target) else url_for("main.home"), code=303)
    return render_template("auth/login.html", form=form), form_status(form)


@bp.post("/logout")
@signed_in
def logout():
    """Sign out (POST only: a link must not sign anyone out) of every session of the user, not only this one.

    The session nonce changes, so a copy of this session's cookie (or any other device's) is refused from now
    on: clearing the cookie in this browser alone would leave a copied cookie valid until it expired.
    """
    lang = session.get("lang")
    services.sign_out(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out, here and on every other device."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account():
    """The own account: details and password change."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()  # the real User, not the proxy
        with unit_of_work(form) as work:
            services.change_own_password(user, form.current_password.data, form.new_password.data)
        if work.ok:
            # The nonce changed: re-issue this session so only the other ones end.
            login_user(user)
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return redirect(url_for("auth.account"), code=303)
    return render_template("auth/account.html", form=form), form_status(form)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public
def set_password(token: str):
    """Set one's password through a one-time link; then sign in with it. A used, replaced or expired link
    answers 404 with a page that says what to do (ask the officer for a new one)."""
    from flask import make_response

    link = services.live_password_link(token)
    if link is None:
        response = make_response(render_template("auth/set_password.html", form=None, link=None), 404)
    else:
        form = SetPasswordForm()
        if form.validate_on_submit():
            with unit_of_work(form) as work:
                user = services.set_password_by_link(token, form.new_password.data)
            if work.ok:
                if current_user.is_authenticated:
                    logout_user()
                flash(_("Your password has been set. Sign in with your user name %(name)s and the new password.",
                        name=user.username), "success")
                return redirect(url_for("auth.login"), code=303)
        response = make_response(render_template("auth/set_password.html", form=form, link=link), form_status(form))
    # the token is in the URL: never cached, never sent on as a referrer
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/language")
@public
def language():
    """Switch the interface language; remembered on the user when signed in."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["lang"] = form.lang.data
    if current_user.is_authenticated:
        services.set_language(current_user, form.lang.data)
        db.session.commit()
    target = form.next.data
    return redirect(target if is_safe_next(target) else url_for("main.home"), code=303)


# --- user administration ------------------------------------------------------------------


def _user_form(user: User | None = None) -> UserForm:
    form = UserForm(obj=user)
    if user is not None and request.method == "GET":
        form.enterprise_uscc.data = user.enterprise.uscc if user.enterprise else ""
        form.region_id.data = user.region_id
        form.department_id.data = user.department_id
    form.region_id.choices = {"": "—"} | dict(region_choices())
    from crm.service.queries import departments

    form.department_id.choices = {"": "—"} | {d.id: d.name for d in departments()}
    return form


def _user_data(form: UserForm) -> dict:
    return {
        "username": form.username.data, "name": form.name.data, "email": form.email.data or "",
        "phone": form.phone.data or "", "role": form.role.data, "region_id": form.region_id.data,
        "department_id": form.department_id.data,
        "enterprise_uscc": form.enterprise_uscc.data or "", "password": form.password.data or "",
        "active": bool(form.active.data),
    }


@admin_bp.get("/users")
@require("users.manage")
def users():
    """All users, searchable, 50 a page."""
    q = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    page = paginate(queries.users_query(q=q, role=role))
    return render_template("admin/users.html", page=page, q=q, role=role, roles=role_choices(),
                           failures=queries.recent_failed_sign_ins())


@admin_bp.route("/users/new", methods=["GET", "POST"])
@require("users.manage")
def user_new():
    """Create a user."""
    form = _user_form()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            user = services.create_user(_user_data(form), actor=current_user)
        if work.ok:
            flash(_("User %(name)s has been created.", name=user.username), "success")
            return redirect(url_for("admin.users"), code=303)
    return render_template("admin/user_form.html", form=form, user=None), form_status(form)


@admin_bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@require("users.manage")
def user_edit(user_id: int):
    """Edit, reset the password of, deactivate or reactivate a user."""
    user = db.get_or_404(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit():
        if user.id == current_user.id and not form.active.data:
            form.active.errors = [_("You cannot deactivate your own account.")]
        elif user.id == current_user.id and form.role.data != user.role:
            form.role.errors = [_("You cannot change your own role.")]
        else:
            with unit_of_work(form) as work:
                changes = services.update_user(user, _user_data(form), actor=current_user)
            if work.ok:
                if user.id == current_user.id and "password" in changes:
                    login_user(user)
                flash(_("User %(name)s has been saved.", name=user.username), "success")
                return redirect(url_for("admin.users"), code=303)
    return render_template("admin/user_form.html", form=form, user=user), form_status(form)


def _audit_choices() -> dict:
    """The kinds of record and the actions to pick from, by their names in the user's language."""
    from crm.core.audit import ACTION_LABELS, ENTITY_LABELS

    def by_name(labels: dict) -> list:
        return sorted(((code, str(label)) for code, label in labels.items()), key=lambda pair: pair[1])

    return {"entities": by_name(ENTITY_LABELS), "actions": by_name(ACTION_LABELS)}


@admin_bp.get("/audit")
@require("audit.read")
def audit():
    """The whole audit trail, newest first, 50 a page; search by user, enterprise (name or USCC), kind of
    record, action and dates; the same selection exports to Excel."""
    f = queries.AuditFilters.from_args(request.args)
    page = paginate(queries.audit_query(f))
    return render_template("admin/audit.html", page=page, f=f, names=queries.enterprise_names(page.items),
                           **_audit_choices())


AUDIT_EXPORT_MAX_ROWS = 100_000


@admin_bp.get("/audit.xlsx")
@require("audit.read")
def audit_export():
    """The searched trail as an Excel sheet (at most 100,000 events, newest first), the changes in words."""
    from crm.core.audit import action_label, entity_label, field_label
    from crm.core.i18n import fmt_datetime
    from crm.core.xlsx import xlsx_response

    f = queries.AuditFilters.from_args(request.args)
    events = db.session.scalars(queries.audit_query(f).limit(AUDIT_EXPORT_MAX_ROWS)).all()
    names = queries.enterprise_names(events)

    def shown(value) -> str:
        return "—" if value is None else str(value)

    def changes(ev) -> str:
        return "\n".join(f"{field_label(ev.entity_type, field)}: {shown(pair[0])} → {shown(pair[1])}"
                         for field, pair in (ev.changes or {}).items() if isinstance(pair, list) and len(pair) == 2)

    headers = [_("Time"), _("User"), _("IP address"), _("Action"), _("Record type"), _("Record"), _("Enterprise"),
               _("Summary"), _("Changes")]
    rows = [[fmt_datetime(ev.at), ev.actor_label, ev.ip or "", str(action_label(ev.action)),
             str(entity_label(ev.entity_type)), ev.entity_id,
             names.get(ev.enterprise_id or (ev.entity_id if ev.entity_type == "enterprises" else None), ""),
             ev.summary, changes(ev)] for ev in events]
    return xlsx_response(_("Audit trail") + ".xlsx", _("Audit trail"), headers, rows)
