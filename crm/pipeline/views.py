"""The manager's pipeline: the dashboard, targets with traffic lights and forecasts, the indicator table."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import clock
from crm.core.policy import require
from crm.core.uow import unit_of_work
from crm.core.validation import form_status
from crm.core.web import paginate
from crm.core.xlsx import xlsx_response
from crm.enterprises.queries import region_choices
from crm.extensions import db
from crm.ladder.tiers import TIER_LABELS, tier_label
from crm.pipeline import queries, services
from crm.pipeline.forms import grid_form
from crm.pipeline.models import INDICATOR_LABELS, METRIC_LABELS, PERCENT_METRICS

bp = Blueprint("pipeline", __name__, url_prefix="/pipeline")


def _region():
    """The region asked for (?region=), within the user's scope; 404 for one outside it."""
    raw = request.args.get("region", "")
    requested = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    region = queries.scope_region(current_user, requested)
    if requested and (region is None or region.id != requested):
        abort(404)
    if region is None and current_user.role != "admin":
        abort(403)
    return region


def _year() -> int:
    raw = request.args.get("year", "")
    today = clock.today()
    year = int(raw) if raw.isdigit() and len(raw) == 4 else today.year
    return year if today.year - 10 <= year <= today.year + 5 else today.year


def _scope_choices():
    return region_choices(within=current_user.region_id if current_user.role != "admin" else None)


def _margin() -> Decimal:
    return Decimal(str(current_app.config["PIPELINE_YELLOW_MARGIN"]))


@bp.get("", endpoint="dashboard")
@require("pipeline.read")
def dashboard():
    """Enterprises by tier (a funnel) and sub-region, this year's movement, the monthly trend, expiries ahead."""
    from crm.policies.queries import grade_counts  # the A/B/C/D grading (crm.policies)

    region, today = _region(), clock.today()
    tree = queries.RegionTree.load()
    counts = queries.tier_counts_by_region(region)
    since = date(today.year - 2, today.month, 1)
    months, trend = queries.monthly_trend(region, since)
    board = queries.target_board(region, today.year, today, _margin(), tree, targeted_only=True)
    lights = [board.cells[(region.id if region else None, m, t)] for m, t in board.metrics]
    funnel, subregions = queries.funnel(counts), queries.by_subregion(counts, region, tree)
    at_risk, at_risk_as_of = queries.at_risk_counts(region, tree)
    charts = {
        "funnel": {"type": "hbar", "labels": True, "categories": [str(tier_label(t)) for t, _n in funnel],
                   "series": [{"name": _("Enterprises"), "data": [n for _t, n in funnel]}]},
        "regions": {"type": "bar", "stack": True, "categories": [r.name for r, _c in subregions],
                    "series": [{"name": str(tier_label(t)), "data": [c[t] for _r, c in subregions]}
                               for t in queries.TIERS]},
        "trend": {"type": "line", "categories": [f"{m.year}-{m.month:02d}" for m in months],
                  "series": [{"name": str(tier_label(t)), "data": trend[t]} for t in queries.TIERS]},
    }
    return render_template(
        "pipeline/dashboard.html", region=region, today=today, funnel=funnel, charts=charts,
        subregions=subregions, movement=queries.movement(region, today.year, tree),
        months=months, trend=trend, expiring=queries.expiring_by_month(region, today),
        lights=[p for p in lights if p.target is not None], activity_as_of=board.activity_as_of,
        tiers=queries.TIERS, regions=_scope_choices(),
        metric_labels=METRIC_LABELS, percent=PERCENT_METRICS, tier_label=tier_label,
        grades=grade_counts(region.id if region else None), at_risk=at_risk, at_risk_as_of=at_risk_as_of)


@bp.get("/regions.xlsx", endpoint="regions_export")
@require("pipeline.read")
def regions_export():
    """The dashboard's table by sub-region, as Excel."""
    region = _region()
    rows = queries.by_subregion(queries.tier_counts_by_region(region), region)
    headers = [_("Region"), tier_label(None), *[tier_label(t) for t in queries.TIERS], _("Total")]
    body = [[r.name, c[None], *[c[t] for t in queries.TIERS], sum(c.values())] for r, c in rows]
    return xlsx_response(_("Enterprises by region and tier") + ".xlsx", _("By region"), headers, body)


@bp.get("/expiring", endpoint="expiring")
@require("pipeline.read")
def expiring():
    """Valid certifications expiring in the next months (the dashboard's drill-down), soonest first."""
    region, today = _region(), clock.today()
    tier = request.args.get("tier", "")
    tier = tier if tier in TIER_LABELS else ""
    months = request.args.get("months", "6")
    months = int(months) if months in ("1", "3", "6", "12") else 6
    page = paginate(queries.expiring_query(region, today, months, tier))
    return render_template("pipeline/expiring.html", page=page, region=region, tier=tier, months=months,
                           today=today, tiers=queries.TIERS, tier_label=tier_label)


@bp.get("/expiring.xlsx", endpoint="expiring_export")
@require("pipeline.read")
def expiring_export():
    """The expiring certificates of the filter, as Excel."""
    region, today = _region(), clock.today()
    tier = request.args.get("tier", "")
    tier = tier if tier in TIER_LABELS else ""
    months = request.args.get("months", "6")
    months = int(months) if months in ("1", "3", "6", "12") else 6
    rows = db.session.scalars(queries.expiring_query(region, today, months, tier))
    headers = [_("Enterprise"), _("Unified social credit code"), _("Region"), _("Tier"), _("Certificate number"),
               _("Expires on"), _("Days left")]
    body = [[c.enterprise.name, c.enterprise.uscc, c.enterprise.region.name, str(tier_label(c.tier)),
             c.certificate_no, c.expires_on, (c.expires_on - today).days] for c in rows]
    return xlsx_response(_("Expiring certificates") + ".xlsx", _("Expiring certificates"), headers, body)


@bp.get("/targets", endpoint="targets")
@require("pipeline.read")
def targets():
    """This year's targets with progress and lights, for the region and each sub-region; forecasts for new ones."""
    region, today, year = _region(), clock.today(), _year()
    board = queries.target_board(region, year, today, _margin())
    key = region.id if region else None
    wanted = [t for (m, t) in board.metrics if m == "new_certs" and board.cells[(key, m, t)].target]
    # the certification cycle's applications of the year by stage, and who among the ready has not started
    from crm.cycle.queries import filed_enterprises

    filed = filed_enterprises(region, year, wanted) if year == today.year else {}
    return render_template(
        "pipeline/targets.html", board=board, region=region, year=year, today=today, regions=_scope_choices(),
        forecast=queries.forecast(current_user, region, wanted, filed) if year == today.year else {},
        applications=queries.applications_by_stage(region, year, wanted),
        metric_labels=METRIC_LABELS, percent=PERCENT_METRICS, tier_label=tier_label,
        can_edit=services.can_manage_targets(current_user, region))


@bp.get("/targets.xlsx", endpoint="targets_export")
@require("pipeline.read")
def targets_export():
    """The targets table with progress, as Excel."""
    region, today, year = _region(), clock.today(), _year()
    board = queries.target_board(region, year, today, _margin())
    light_words = {"green": _("Green"), "yellow": _("Yellow"), "red": _("Red"), "": "—"}
    headers = [_("Region"), _("Metric"), _("Tier"), _("Target"), _("Done"), _("Expected by now"), _("Light")]
    body = []
    for r in board.regions:
        for metric, tier in board.metrics:
            p = board.cells[(r.id if r else None, metric, tier)]
            body.append([r.name if r else _("All regions"), str(METRIC_LABELS[metric]),
                         str(tier_label(tier)) if tier else "", p.target, p.actual, p.expected,
                         light_words[p.light]])
    return xlsx_response(_("Targets %(year)s", year=year) + ".xlsx", str(year), headers, body)


def _target_cells(board) -> list[str]:
    return [f"{m}-{t}" for m, t in board.metrics]


@bp.route("/targets/edit", methods=["GET", "POST"], endpoint="targets_edit")
@require("targets.manage")
def targets_edit():
    """Set the year's targets of one region (empty = no target; a parent without one sums its sub-regions)."""
    region, today, year = _region(), clock.today(), _year()
    if not services.can_manage_targets(current_user, region):
        abort(403)
    board = queries.target_board(region, year, today, _margin())
    own = queries.targets_of(year, [region.id])
    current = {f"{m}-{t}": own.get((region.id, m, t)) for m, t in board.metrics}
    form = grid_form(_target_cells(board), current if request.method == "GET" else None)
    if form.validate_on_submit():
        values = {(name.split("-", 1)[0], name.split("-", 1)[1]): form[name].data for name in _target_cells(board)}
        with unit_of_work(form) as work:
            changed = services.save_targets(region, year, values, actor=current_user)
        if work.ok:
            flash(_("%(n)s targets changed.", n=len(changed)), "success")
            return redirect(url_for("pipeline.targets", region=region.id, year=year), code=303)
    return render_template("pipeline/targets_edit.html", form=form, board=board, region=region, year=year,
                           metric_labels=METRIC_LABELS, percent=PERCENT_METRICS, tier_label=tier_label
                           ), form_status(form)


def _indicator_rows(region, year, today):
    table = queries.indicator_table(region, year, today)
    return [(code, INDICATOR_LABELS[code], table[code], code in queries.ENTERED_INDICATORS) for code in table]


@bp.get("/indicators", endpoint="indicators")
@require("pipeline.read")
def indicators():
    """The indicator table: last year, this year, targets for the next two years; counts computed, rest entered."""
    region, today, year = _region(), clock.today(), _year()
    return render_template("pipeline/indicators.html", rows=_indicator_rows(region, year, today), region=region,
                           year=year, regions=_scope_choices(),
                           can_edit=services.can_manage_targets(current_user, region))


@bp.get("/indicators.xlsx", endpoint="indicators_export")
@require("pipeline.read")
def indicators_export():
    """The indicator table in the layout a bureau files: indicator, last year, this year, next two years."""
    region, today, year = _region(), clock.today(), _year()
    name = region.name if region else _("All regions")
    headers = [_("Indicator"), str(year - 1), str(year), _("Target %(year)s", year=year + 1),
               _("Target %(year)s", year=year + 2)]
    body = [[str(label), *values] for _code, label, values, _entered in _indicator_rows(region, year, today)]
    return xlsx_response(_("Indicator table %(region)s %(year)s", region=name, year=year) + ".xlsx",
                         str(year), headers, body)


@bp.route("/indicators/edit", methods=["GET", "POST"], endpoint="indicators_edit")
@require("targets.manage")
def indicators_edit():
    """Enter the indicators that are not counted from the ladder, for four years around this one."""
    region, today, year = _region(), clock.today(), _year()
    if not services.can_manage_targets(current_user, region):
        abort(403)
    years = [year - 1, year, year + 1, year + 2]
    cells = [f"{code}-{y}" for code in queries.ENTERED_INDICATORS for y in years]
    table = queries.indicator_table(region, year, today)
    current = {f"{code}-{y}": table[code][i] for code in queries.ENTERED_INDICATORS for i, y in enumerate(years)}
    form = grid_form(cells, current if request.method == "GET" else None)
    if form.validate_on_submit():
        values = {(int(name.rsplit("-", 1)[1]), name.rsplit("-", 1)[0]): form[name].data for name in cells}
        with unit_of_work(form) as work:
            changed = services.save_indicators(region, values, actor=current_user)
        if work.ok:
            flash(_("%(n)s values changed.", n=len(changed)), "success")
            return redirect(url_for("pipeline.indicators", region=region.id, year=year), code=303)
    return render_template("pipeline/indicators_edit.html", form=form, region=region, year=year, years=years,
                           codes=queries.ENTERED_INDICATORS, labels=INDICATOR_LABELS), form_status(form)
