"""The access policy's single table: which role holds which capability.

Record-level rules (is this enterprise in the user's region?) live beside each feature's
queries as `can_*` functions and `scope_*` query filters; this module decides only what a
role may do at all. Templates ask the same `can()` to show or hide a control.
"""
from __future__ import annotations

from enum import StrEnum
from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user


class Role(StrEnum):
    """The five roles of DESIGN §1."""

    ADMIN = "admin"
    MANAGER = "manager"
    OFFICER = "officer"
    ENTERPRISE = "enterprise"
    DEPARTMENT = "department"


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.MANAGER: _l("Manager"),
    Role.OFFICER: _l("Service officer"),
    Role.ENTERPRISE: _l("Enterprise user"),
    Role.DEPARTMENT: _l("Department contact"),
}

# Roles whose user belongs to a region and sees that region's subtree.
REGIONAL_ROLES = frozenset({Role.MANAGER, Role.OFFICER})

_A, _M, _O, _E, _D = Role.ADMIN, Role.MANAGER, Role.OFFICER, Role.ENTERPRISE, Role.DEPARTMENT

CAPABILITIES: dict[str, frozenset[Role]] = {
    # the enterprise registry
    "registry.read": frozenset({_A, _M, _O}),
    "enterprise.create": frozenset({_A, _O}),
    "enterprise.edit": frozenset({_A, _O}),
    "enterprise.archive": frozenset({_A, _O}),
    # the enterprise portal (crm.portal): an enterprise user works on exactly one enterprise, their own, always
    # loaded from the signed-in user (never from the URL); the bureau's pages are closed to them
    "portal.use": frozenset({_E}),
    # enterprise accounts and their one-time set-password links: an admin, or the officer who serves the enterprise
    "portal_accounts.manage": frozenset({_A, _O}),
    # figures and IP submitted in the portal: reviewed by the serving officer (or an admin)
    "submissions.review": frozenset({_A, _O}),
    # assignments (包保关系): who serves which enterprise (crm.service)
    "assignment.manage": frozenset({_A, _M}),
    # service work: visits, needs, follow-ups, the timeline and the workbench (object rules in service.queries)
    "service.read": frozenset({_A, _M, _O}),
    "service.write": frozenset({_A, _M, _O}),
    # the policy catalogue (政策库) and the departments needs are referred to (转办)
    "policies.manage": frozenset({_A, _M}),
    "departments.manage": frozenset({_A}),
    # a department's contact (协办部门) answers the needs referred to their department, and sees nothing else
    "referrals.answer": frozenset({_D}),
    # overdue referrals escalated (督办): managers over the region, admins
    "referrals.oversee": frozenset({_A, _M}),
    # the working-day calendar (holidays and 调休 make-up days) every deadline in working days counts with
    "calendar.manage": frozenset({_A}),
    # the pipeline: dashboards, targets with traffic lights, the indicator table (scoped to the region)
    "pipeline.read": frozenset({_A, _M}),
    "targets.manage": frozenset({_A, _M}),
    # officer performance and needs analytics over the user's region (crm.performance)
    "performance.read": frozenset({_A, _M}),
    # the certification cycle (crm.cycle): applications on the board (officers their enterprises, managers their
    # region), the batches and their deadlines, the monthly bulletins
    "applications.read": frozenset({_A, _M, _O}),
    "applications.write": frozenset({_A, _M, _O}),
    "batches.manage": frozenset({_A, _M}),
    "bulletins.manage": frozenset({_A, _M}),
    # tags (crm.tags): managers and admins keep the tag list (a region's or everyone's); officers tag the
    # enterprises they may edit (the record rule, crm.enterprises.queries.can_edit_enterprise)
    "tags.manage": frozenset({_A, _M}),
    # partners and referrals (crm.partners): bureau users read the partners near their region; managers and
    # admins keep them; referring a need follows the need's record rule (service.write); results per year
    "partners.read": frozenset({_A, _M, _O}),
    "partners.manage": frozenset({_A, _M}),
    "partners.results": frozenset({_A, _M}),
    # events and training (crm.events): bureau users read them; managers and admins organise them and record
    # sign-up and attendance
    "events.read": frozenset({_A, _M, _O}),
    "events.manage": frozenset({_A, _M}),
    # survey campaigns (crm.surveys, 需求摸排): managers and admins keep the question bank and launch campaigns;
    # bureau users read the campaigns that reach their region and fill them for the enterprises they may record
    # for (an enterprise's own contact fills its own in the portal, portal.use); results for managers and admins
    "surveys.read": frozenset({_A, _M, _O}),
    "surveys.fill": frozenset({_A, _M, _O}),
    "surveys.manage": frozenset({_A, _M}),
    "surveys.results": frozenset({_A, _M}),
    # credit screening (crm.credit, 信用筛查): an admin imports the negative lists and lifts entries; managers read
    # them (the matched entries of their region's subtree)
    "credit.read": frozenset({_A, _M}),
    "credit.manage": frozenset({_A}),
    # the scheduler's jobs: their schedules, history, and running one by hand
    "jobs.manage": frozenset({_A}),
    # Excel/CSV imports (crm.io), row by row within the importer's scope: admins everywhere, managers their
    # region (the section loads its lists), officers new enterprises in their region and the ones they serve
    "io.import": frozenset({_A, _M, _O}),
    # the JSON API's tokens (crm.api): an admin issues and revokes them for any user
    "api_tokens.manage": frozenset({_A}),
    # administration
    "users.manage": frozenset({_A}),
    "regions.manage": frozenset({_A}),
    "audit.read": frozenset({_A}),
    # the rule sets' thresholds and options, versioned (ladder.views rules_bp)
    "rules.manage": frozenset({_A}),
}


def can(user, capability: str) -> bool:
    """Whether `user` holds `capability` (unknown capabilities are a programming error)."""
    roles = CAPABILITIES[capability]
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_active and user.role in roles


def require(capability: str):
    """Route decorator: sign-in required, then 403 unless the user holds `capability`."""
    if capability not in CAPABILITIES:
        raise KeyError(capability)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from crm.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not can(current_user, capability):
                abort(403)
            return view(*args, **kwargs)

        wrapped.capability = capability
        return wrapped

    return decorator


def signed_in(view):
    """Route decorator for pages every signed-in user may open (own account, language)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        from crm.extensions import login_manager

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    wrapped.capability = "signed_in"
    return wrapped


def public(view):
    """Mark a route as open to anonymous users (sign-in page, health check, static)."""
    view.capability = "public"
    return view


class _System:
    """The actor of the command line and of scheduled counts: sees everything, like an administrator."""

    id = None
    username = "cli"
    role = Role.ADMIN
    region_id = None
    enterprise_id = None
    is_authenticated = True
    is_active = True


SYSTEM = _System()
