"""The policy catalogue's pages: the list every bureau user reads, the forms managers and admins keep it with."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import clock
from crm.core.audit import register_field_labels
from crm.core.policy import can, require
from crm.core.security import is_safe_next
from crm.core.uow import unit_of_work
from crm.core.validation import ValidationFailed, form_status
from crm.core.web import list_page, paginate
from crm.extensions import db
from crm.ladder.tiers import Tier, tier_label
from crm.ladder.views import engine_lang
from crm.policies import queries, services
from crm.policies.forms import ConditionsForm, PolicyForm, PushForm
from crm.policies.models import PUSH_STATUS_LABELS, PUSH_TRANSITIONS, WINDOW_STATE_LABELS, Policy

bp = Blueprint("policies", __name__, url_prefix="/policies")

register_field_labels("policies", PolicyForm)  # the trail names the fields in words (core.audit)


@bp.get("")
@require("service.read")
def index():
    """The catalogue: search by title or document no., active/inactive/all, 50 a page, with visits citing each."""
    f = queries.parse_filter(request.args)
    page = paginate(queries.policy_list(f))
    counts = queries.citation_counts(current_user, [p.id for p in page.items])
    return render_template("policies/index.html", page=page, f=f, counts=counts, today=clock.today(),
                           window_labels=WINDOW_STATE_LABELS)


def _data(form: PolicyForm) -> dict:
    return {name: form[name].data for name in PolicyForm.FIELDS}


@bp.route("/new", methods=["GET", "POST"])
@require("policies.manage")
def new():
    """Add a policy to the catalogue."""
    form = PolicyForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            policy = services.create_policy(_data(form), actor=current_user)
        if work.ok:
            flash(_("%(title)s has been added to the policy list.", title=policy.title), "success")
            return redirect(url_for("policies.index"), code=303)
    return render_template("policies/form.html", form=form, policy=None), form_status(form)


@bp.route("/<int:policy_id>/edit", methods=["GET", "POST"])
@require("policies.manage")
def edit(policy_id: int):
    """Change a policy (visits that cited it show the new wording)."""
    policy = db.get_or_404(Policy, policy_id)
    form = PolicyForm(obj=policy)
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.update_policy(policy, _data(form), actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("policies.index"), code=303)
    return render_template("policies/form.html", form=form, policy=policy), form_status(form)


@bp.post("/<int:policy_id>/deactivate")
@require("policies.manage")
def deactivate(policy_id: int):
    """No longer offer the policy on visits (it stays on the visits that cited it)."""
    policy = db.get_or_404(Policy, policy_id)
    if services.deactivate_policy(policy, actor=current_user):
        db.session.commit()
        flash(_("%(title)s is no longer offered on visits.", title=policy.title), "success")
    return redirect(url_for("policies.index", state="all"), code=303)


@bp.post("/<int:policy_id>/reactivate")
@require("policies.manage")
def reactivate(policy_id: int):
    """Offer the policy on visits again."""
    policy = db.get_or_404(Policy, policy_id)
    if services.reactivate_policy(policy, actor=current_user):
        db.session.commit()
        flash(_("%(title)s is offered on visits again.", title=policy.title), "success")
    return redirect(url_for("policies.index", state="all"), code=303)


# --- eligibility, matching and the push (定向推送) ------------------------------------------------------------

PUSH_TABS = {"not_informed": ("",), "informed": ("informed",), "applied": ("applied",),
             "granted": ("granted",), "not_granted": ("not_granted",)}


@bp.get("/<int:policy_id>")
@require("service.read")
def detail(policy_id: int):
    """A policy against the enterprises in scope: eligible, maybe (data missing), the push and its three rates."""
    policy = db.get_or_404(Policy, policy_id)
    matching = queries.match(policy, current_user, lang=engine_lang())
    tab = request.args.get("tab", "not_informed")
    tab = tab if tab in (*PUSH_TABS, "maybe") else "not_informed"
    rows = matching.maybe if tab == "maybe" else [m for m in matching.eligible if m.status in PUSH_TABS[tab]]
    return render_template(
        "policies/detail.html", policy=policy, m=matching, tab=tab, page=list_page(rows),
        criteria=queries.criteria_of(policy.conditions), lang=engine_lang(), today=clock.today(),
        window_labels=WINDOW_STATE_LABELS, status_labels=PUSH_STATUS_LABELS, transitions=PUSH_TRANSITIONS,
        can_push=can(current_user, "service.write"), push_form=PushForm(formdata=None))


@bp.route("/<int:policy_id>/conditions", methods=["GET", "POST"])
@require("policies.manage")
def conditions(policy_id: int):
    """Who qualifies, as conditions the ladder's engine checks; each save is a new, audited version."""
    policy = db.get_or_404(Policy, policy_id)
    form = ConditionsForm(data=policy.conditions if request.method == "GET" else None)
    form.tiers_held.choices = [(t.value, str(tier_label(t.value))) for t in Tier]
    if form.validate_on_submit():
        values = {name: form[name].data for name in queries.CONDITION_FIELDS}
        values = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()}
        with unit_of_work(form) as work:
            changed = services.save_conditions(policy, values, actor=current_user)
        if work.ok:
            flash(_("The conditions are saved (version %(n)s).", n=policy.conditions_version) if changed
                  else _("Nothing changed."), "success" if changed else "info")
            return redirect(url_for("policies.detail", policy_id=policy.id), code=303)
    return render_template("policies/conditions.html", form=form, policy=policy), form_status(form)


@bp.post("/<int:policy_id>/enterprises/<int:enterprise_id>/push")
@require("service.write")
def push(policy_id: int, enterprise_id: int):
    """Record where an eligible enterprise stands: informed, applied, granted (with the amount) or not granted."""
    from crm.enterprises.queries import get_enterprise_for
    from crm.service.queries import can_record

    policy = db.get_or_404(Policy, policy_id)
    enterprise = get_enterprise_for(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    if not can_record(current_user, enterprise):
        abort(403)
    form = PushForm()
    back = redirect(request.form.get("next") if is_safe_next(request.form.get("next", "")) else
                    url_for("policies.detail", policy_id=policy.id), code=303)
    if not form.validate_on_submit():
        flash(_("Enter the amount as a number, e.g. 30."), "danger")
        return back
    try:
        services.set_push(policy, enterprise, form.status.data, actor=current_user, amount=form.amount.data)
    except ValidationFailed as failure:
        db.session.rollback()
        for messages in failure.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return back
    db.session.commit()
    flash(_("%(name)s: %(status)s.", name=enterprise.name, status=PUSH_STATUS_LABELS[form.status.data]), "success")
    return back


# --- the three rates per policy, region and officer; the drill-down; the export ------------------------------

def _report_args() -> tuple[str, int | None]:
    by = request.args.get("by", "policy")
    raw = request.args.get("policy", "")
    return (by if by in queries.GROUPINGS else "policy",
            int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None)


def _group_label(by: str, row) -> str:
    return row.label if row.label is not None else _("No officer")


@bp.get("/rates")
@require("performance.read")
def rates():
    """知晓率、申报率、享受率 and the amount granted, by policy, sub-region or officer, in the reader's scope."""
    by, policy_id = _report_args()
    report = queries.rate_report(current_user, by, policy_id)
    policy = db.session.get(Policy, policy_id) if policy_id else None
    return render_template("policies/rates.html", report=report, by=by, policy=policy,
                           policies=queries.active_policies(), group_label=_group_label)


@bp.get("/rates/enterprises")
@require("performance.read")
def rates_enterprises():
    """The enterprises behind one number of the rates (filters: policy, region, officer, measure)."""
    measure = request.args.get("measure", "eligible")
    measure = measure if measure in queries.MEASURES else "eligible"
    _by, policy_id = _report_args()
    officer = request.args.get("officer", "")[:12]
    pairs, officers, regions = queries.eligible_pairs(current_user, policy_id, measure=measure, officer=officer)
    rows = queries.drill(pairs, measure, region=request.args.get("region", "")[:12], officer=officer)
    return render_template("policies/rates_enterprises.html", page=list_page(rows), measure=measure,
                           measure_labels=_measure_labels(), officers=officers, regions=regions,
                           status_labels=PUSH_STATUS_LABELS, total=len(rows))


def _measure_labels() -> dict:
    return {"eligible": _("Eligible"), "not_informed": _("Not informed"), "informed": _("Informed"),
            "applied": _("Applied"), "granted": _("Granted")}


@bp.get("/rates.xlsx")
@require("performance.read")
def rates_export():
    """The rates as Excel: the grouped table, then every eligible enterprise × policy with its push."""
    from crm.core.xlsx import workbook_sheets_bytes

    by, policy_id = _report_args()
    report = queries.rate_report(current_user, by, policy_id)
    group = {"policy": _("Policy"), "region": _("Region"), "officer": _("Officer")}[by]
    headers = [group, _("Eligible"), _("Informed"), _("Awareness rate (%)"), _("Applied"),
               _("Application rate (%)"), _("Granted"), _("Benefit rate (%)"), _("Amount granted (10k CNY)")]

    def line(label, t):
        return [label, t.eligible, t.informed, t.awareness, t.applied, t.application, t.granted, t.benefit,
                t.amount]

    summary = [line(_group_label(by, r), r.tally) for r in report.rows] + [line(_("Total"), report.total)]
    detail = [[p.policy.title, p.enterprise.name, p.enterprise.uscc,
               report.regions[p.region_id].name if p.region_id in report.regions else "",
               report.officers[p.officer_id].name if p.officer_id in report.officers else "",
               str(PUSH_STATUS_LABELS[p.status]), p.amount] for p in report.pairs]
    body = workbook_sheets_bytes([
        (_("Rates"), headers, summary),
        (_("Enterprises"), [_("Policy"), _("Enterprise"), _("USCC"), _("Region"), _("Officer"), _("Status"),
                            _("Amount granted (10k CNY)")], detail)])
    from urllib.parse import quote

    from flask import Response

    name = _("policy-rates") + f"-{clock.today().isoformat()}.xlsx"
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=policy-rates.xlsx; "
                                                    f"filename*=UTF-8''{quote(name)}"})


# --- the policies of one enterprise (its page, loaded by htmx) -------------------------------------------------

@bp.get("/enterprises/<int:enterprise_id>", endpoint="enterprise_card")
@require("service.read")
def enterprise_card(enterprise_id: int):
    """The enterprise page's card: the policies it qualifies for or might, the push, the buttons to mark it."""
    from crm.enterprises.queries import get_enterprise_for
    from crm.service.queries import can_record

    enterprise = get_enterprise_for(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    return render_template("policies/_enterprise_card.html", e=enterprise,
                           rows=queries.policies_of(enterprise, lang=engine_lang()), today=clock.today(),
                           window_labels=WINDOW_STATE_LABELS, status_labels=PUSH_STATUS_LABELS,
                           transitions=PUSH_TRANSITIONS, can_push=can_record(current_user, enterprise),
                           grade=queries.grade_of(enterprise))


# --- innovation points (企业创新积分) and the high_tech reserve pool (后备库) ------------------------------------

def _region_arg() -> int | None:
    raw = request.args.get("region", "") or request.form.get("region", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


@bp.get("/points")
@require("performance.read")
def points():
    """The ranking by innovation points of the enterprises in scope not holding high_tech, and the reserve pool."""
    from crm.enterprises.queries import region_choices

    region_id = _region_arg()
    rows = queries.ranking(current_user, region_id)
    scope = current_user.region_id if current_user.role != "admin" else None
    return render_template("policies/points.html", page=list_page(rows), total=len(rows), region_id=region_id,
                           region_choices=region_choices(within=scope), model=queries.points_model(),
                           labels=queries.indicator_labels(engine_lang()), officers=_officer_names(rows),
                           pool=queries.pool_entries(current_user), can_reserve=can(current_user, "assignment.manage"))


def _officer_names(rows) -> dict:
    from sqlalchemy import select

    from crm.auth.models import User

    ids = {r.officer_id for r in rows if r.officer_id} | {r.entry.officer_id for r in rows if r.entry}
    return {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


@bp.post("/points/reserve")
@require("assignment.manage")
def reserve():
    """Put the top N of the ranking (or the enterprises ticked) in the high_tech reserve pool in one step: a
    coaching officer each (assigned when it had none) and a coaching follow-up."""
    region_id = _region_arg()
    back = redirect(url_for("policies.points", region=region_id or None), code=303)
    top = request.form.get("top", "").strip()
    ticked = {int(i) for i in request.form.getlist("enterprise_ids") if i.isascii() and i.isdigit() and len(i) <= 9}
    rows = [r for r in queries.ranking(current_user, region_id) if r.entry is None]
    if top.isascii() and top.isdigit() and 0 < int(top) <= 500:
        chosen = rows[:int(top)]
    else:
        chosen = [r for r in rows if r.enterprise.id in ticked]
    if not chosen:
        flash(_("Tick the enterprises to add, or give how many of the top to add."), "warning")
        return back
    try:
        created = services.add_to_reserve_pool(chosen, actor=current_user)
    except ValidationFailed as failure:
        db.session.rollback()
        for messages in failure.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return back
    db.session.commit()
    flash(_("%(n)s enterprises are in the high-tech reserve pool, each with a coaching officer and a follow-up.",
            n=len(created)), "success")
    return back
