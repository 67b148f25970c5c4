"""Scheduled work of the policy push: when a policy's window opens, each officer is told which of their
enterprises qualify and have not been informed; some days before it closes, which were informed and have not
applied. Idempotent: each notification's dedupe key names the policy, the window's date and the officer."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from crm.auth.models import User
from crm.extensions import db
from crm.notify.services import notify, path_for
from crm.policies import queries
from crm.policies.models import Policy

# A window that opened this many days ago still announces itself (a runner down for a few days, a policy
# entered after its window opened); older windows are left alone, their officers see them on the workbench.
OPENING_LOOKBACK_DAYS = 7
NAMES_LISTED = 10  # enterprises named in a message; the link leads to the rest


def window_notifications(today: date) -> str:
    """Tell each officer once per window: "opened, tell these enterprises" and "closing soon, these have not
    applied" (the reminder `POLICY_REMINDER_DAYS` before the window closes)."""
    remind = int(current_app.config.get("POLICY_REMINDER_DAYS", 14))
    active = select(Policy).where(Policy.active.is_(True))
    opening = list(db.session.scalars(active.where(
        Policy.opens_on.between(today - timedelta(days=OPENING_LOOKBACK_DAYS), today),
        (Policy.closes_on.is_(None)) | (Policy.closes_on >= today)).order_by(Policy.id)))
    closing = list(db.session.scalars(active.where(
        Policy.closes_on.between(today, today + timedelta(days=remind)),
        (Policy.opens_on.is_(None)) | (Policy.opens_on <= today)).order_by(Policy.id)))
    if not opening and not closing:
        return _("%(opened)s window-opening notifications, %(closing)s closing reminders",
                 opened=0, closing=0)
    found = queries.eligible_served([p.id for p in opening + closing], today)
    officer_ids = {o for rows in found.values() for o, _n, _s in rows}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(officer_ids)))}

    def per_officer(policy: Policy, wanted) -> dict[int, list[str]]:
        out: dict[int, list[str]] = defaultdict(list)
        for officer_id, name, status in found.get(policy.id, ()):
            if wanted(status):
                out[officer_id].append(name)
        return out

    opened = reminded = 0
    for policy in opening:
        for officer_id, names in per_officer(policy, lambda status: status == "").items():
            if notify(users.get(officer_id), "policy_window_open",
                      {"policy": policy.title, "opens_on": policy.opens_on.isoformat(),
                       "closes_on": policy.closes_on.isoformat() if policy.closes_on else "—",
                       "n": len(names), "enterprises": names[:NAMES_LISTED]},
                      link=path_for("service.workbench"),
                      dedupe_key=f"policy_window_open:{policy.id}:{policy.opens_on.isoformat()}:{officer_id}"):
                opened += 1
    for policy in closing:
        for officer_id, names in per_officer(policy, lambda status: status == "informed").items():
            if notify(users.get(officer_id), "policy_window_closing",
                      {"policy": policy.title, "closes_on": policy.closes_on.isoformat(),
                       "days": (policy.closes_on - today).days, "n": len(names),
                       "enterprises": names[:NAMES_LISTED]},
                      link=path_for("policies.detail", policy_id=policy.id, tab="informed"),
                      dedupe_key=f"policy_window_closing:{policy.id}:{policy.closes_on.isoformat()}:{officer_id}"):
                reminded += 1
    return _("%(opened)s window-opening notifications, %(closing)s closing reminders",
             opened=opened, closing=reminded)


def grade_enterprises(today: date) -> str:
    """Grade every enterprise A/B/C/D on last year's figures (亩均效益); safe to run again (it recomputes)."""
    from crm.policies.services import save_grades

    year, rows = queries.compute_grades(today)
    counts = save_grades(year, rows, model_version=queries.grading_model().version)
    return _("%(year)s: %(n)s enterprises graded (%(added)s new, %(changed)s changed, %(removed)s removed)",
             year=year, n=len(rows), **counts)


def refresh_all_matches(today: date) -> str:
    """Rebuild every stored policy verdict (policy_matches) nightly: time passing changes some (a certificate
    expires, an enterprise comes of age), and rows written outside the services are caught up."""
    from crm.policies.services import refresh_matches

    n = refresh_matches(today=today)
    return _("%(n)s enterprise × policy verdicts recomputed", n=n)


def refresh_stale_matches(today: date) -> str | None:
    """Every few minutes: compute the stored verdicts that are missing or were computed for older conditions."""
    from crm.policies.services import refresh_stale_matches as refresh

    n = refresh(today=today)
    return _("%(n)s enterprise × policy verdicts recomputed", n=n) if n else None  # quiet: no history row
