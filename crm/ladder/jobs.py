"""Scheduled work of the ladder: expire certifications, warn of coming expiries (idempotent)."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.ladder.models import Certification, CertificationStatus
from crm.ladder.services import expire_due_certifications

# Days before expiry at which officers and the enterprise are warned; one warning per threshold crossed.
EXPIRY_WARNINGS = (180, 90, 30)


def expire_certifications(today: date) -> str:
    """Mark certifications past their expiry as expired (their tier events and current tiers follow)."""
    return _("%(n)s certifications expired", n=expire_due_certifications(today, actor="scheduler"))


def threshold_for(days_left: int) -> int | None:
    """The tightest warning threshold that `days_left` has reached (30, 90 or 180), else None."""
    reached = [t for t in EXPIRY_WARNINGS if days_left <= t]
    return min(reached) if reached else None


def expiring(today: date, within: int = max(EXPIRY_WARNINGS)) -> list[Certification]:
    """Valid certifications expiring from today to `within` days ahead, with their enterprises."""
    return list(db.session.scalars(select(Certification).options(joinedload(Certification.enterprise)).where(
        Certification.status == CertificationStatus.ACTIVE, Certification.expires_on.is_not(None),
        Certification.expires_on >= today, Certification.expires_on <= today + timedelta(days=within))
        .order_by(Certification.expires_on, Certification.id)))


def expiry_warnings(today: date) -> str:
    """Warn the enterprise's officer and its enterprise users at 180, 90 and 30 days before expiry, once each."""
    from crm.notify.services import notify, path_for
    from crm.service.queries import current_assignment, enterprise_users

    sent = 0
    for cert in expiring(today):
        days = (cert.expires_on - today).days
        threshold = threshold_for(days)
        enterprise = cert.enterprise
        if threshold is None or enterprise.archived_at is not None:
            continue
        current = current_assignment(enterprise)
        people = ([current.officer] if current else []) + enterprise_users(enterprise)
        params = {"enterprise": enterprise.name, "tier": cert.tier, "certificate_no": cert.certificate_no,
                  "expires_on": cert.expires_on.isoformat(), "days": days}
        staff_link = path_for("enterprises.detail", enterprise_id=enterprise.id)
        for user in people:
            # the enterprise's own contacts read their certificates in the portal, not on the bureau's pages
            link = path_for("portal.home") if user.role == "enterprise" else staff_link
            if notify(user, "cert_expiry", params, link=link,
                      dedupe_key=f"cert_expiry:{cert.id}:{threshold}:{user.id}") is not None:
                sent += 1
    return _("%(n)s expiry warnings", n=sent)



def refresh_all_ranks(today: date) -> str:
    """Rebuild every stored candidate rank nightly: time passing changes some (a certificate expires, an
    enterprise comes of age, a year's figures become the last full year), and rows written outside the services
    are caught up."""
    from crm.ladder.services import refresh_ranks

    n = refresh_ranks(today=today)
    return _("%(n)s enterprise × tier ranks recomputed", n=n)


def refresh_stale_ranks(today: date) -> str | None:
    """Every few minutes: rank the enterprises missing from the stored ranks or ranked under an older rule set."""
    from crm.ladder.services import refresh_stale_ranks as refresh

    n = refresh(today=today)
    return _("%(n)s enterprise × tier ranks recomputed", n=n) if n else None  # quiet: no history row
