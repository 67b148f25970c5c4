"""Reads of partners and referrals, scoped by region: the partners near the user's region, the referrals of
enterprises in their scope, the results per partner and year."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, extract, func, or_, select
from sqlalchemy.orm import joinedload

from crm.core.policy import Role, can
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import nearby_region_filter, scope_enterprises, subtree_ids
from crm.extensions import db
from crm.partners.models import (
    PARTNER_KIND_LABELS,
    PARTNER_REFERRAL_STATUS_LABELS,
    Partner,
    PartnerReferral,
    PartnerReferralStatus,
)


@dataclass(frozen=True)
class PartnerFilter:
    """The partner list's search (name or contact), kind and speciality (a need category)."""

    q: str = ""
    kind: str = ""
    speciality: str = ""


def parse_filter(args) -> PartnerFilter:
    """The partner filter from a query string; unknown values are dropped."""
    from crm.service.models import NEED_CATEGORY_LABELS

    kind, spec = args.get("kind", ""), args.get("speciality", "")
    return PartnerFilter(q=args.get("q", "").strip()[:60], kind=kind if kind in PARTNER_KIND_LABELS else "",
                         speciality=spec if spec in NEED_CATEGORY_LABELS else "")


def partners_query(user, f: PartnerFilter, *, active_only: bool = False) -> Select:
    """Partners `user` sees (their region's subtree and the regions above), filtered, by name."""
    stmt = select(Partner).options(joinedload(Partner.region)).where(nearby_region_filter(Partner.region_id, user))
    if f.q:
        stmt = stmt.where(or_(Partner.name.contains(f.q, autoescape=True),
                              Partner.contact_name.contains(f.q, autoescape=True)))
    if f.kind:
        stmt = stmt.where(Partner.kind == f.kind)
    if active_only:
        stmt = stmt.where(Partner.active.is_(True))
    # the speciality is filtered in Python (with_speciality): JSON lists differ by dialect, the list is short
    return stmt.order_by(Partner.active.desc(), Partner.name, Partner.id)


def with_speciality(partners: list[Partner], speciality: str) -> list[Partner]:
    """The partners handling a need category (all when none is asked)."""
    return [p for p in partners if not speciality or speciality in (p.specialities or [])]


def get_partner_for(user, partner_id: int) -> Partner | None:
    """The partner if `user` sees it, else None (404)."""
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        return None
    if user.role == Role.ADMIN:
        return partner
    near = set(subtree_ids(user.region_id))
    from crm.enterprises.queries import ancestor_ids

    return partner if partner.region_id in near | set(ancestor_ids(user.region_id)) else None


def can_manage_partner(user, partner: Partner) -> bool:
    """Admins keep every partner; a manager those of their region's subtree."""
    if not can(user, "partners.manage"):
        return False
    return user.role == Role.ADMIN or partner.region_id in subtree_ids(user.region_id)


def partners_for_need(user, need) -> list[Partner]:
    """Active partners `user` may refer the need to: those handling its category first."""
    partners = list(db.session.scalars(partners_query(user, PartnerFilter(), active_only=True)))
    return sorted(partners, key=lambda p: (need.category not in (p.specialities or []), p.name))


def referrals_of_need(need) -> list[PartnerReferral]:
    """The need's referrals, newest first."""
    return list(db.session.scalars(select(PartnerReferral).options(joinedload(PartnerReferral.partner)).where(
        PartnerReferral.need_id == need.id).order_by(PartnerReferral.referred_on.desc(), PartnerReferral.id.desc())))


@dataclass(frozen=True)
class ReferralFilter:
    """The referral list's status, partner and year."""

    status: str = ""
    partner_id: int | None = None
    year: int | None = None


def parse_referral_filter(args) -> ReferralFilter:
    """The referral filter from a query string."""
    status, partner, year = args.get("status", ""), args.get("partner", ""), args.get("year", "")
    return ReferralFilter(status=status if status in PARTNER_REFERRAL_STATUS_LABELS else "",
                          partner_id=int(partner) if partner.isdigit() and len(partner) < 10 else None,
                          year=int(year) if year.isdigit() and len(year) == 4 else None)


def referrals_query(user, f: ReferralFilter) -> Select:
    """Referrals of the enterprises in `user`'s scope, newest first, with partner and enterprise loaded."""
    stmt = (select(PartnerReferral).join(Enterprise, Enterprise.id == PartnerReferral.enterprise_id)
            .options(joinedload(PartnerReferral.partner), joinedload(PartnerReferral.enterprise)))
    stmt = scope_enterprises(stmt, user)
    if f.status:
        stmt = stmt.where(PartnerReferral.status == f.status)
    if f.partner_id:
        stmt = stmt.where(PartnerReferral.partner_id == f.partner_id)
    if f.year:
        stmt = stmt.where(extract("year", PartnerReferral.referred_on) == f.year)
    return stmt.order_by(PartnerReferral.referred_on.desc(), PartnerReferral.id.desc())


def can_work_referral(user, referral: PartnerReferral) -> bool:
    """Whether `user` may move a referral: who may change its need (crm.service's record rule)."""
    from crm.service.models import Need
    from crm.service.queries import can_work_need

    return can_work_need(user, db.session.get(Need, referral.need_id))


@dataclass
class PartnerResult:
    """One partner's year: referrals, how they ended, the amounts (万元)."""

    partner: Partner
    referrals: int = 0
    succeeded: int = 0
    failed: int = 0
    loans: Decimal = Decimal(0)
    contracts: Decimal = Decimal(0)

    @property
    def open(self) -> int:
        """Referrals not yet ended."""
        return self.referrals - self.succeeded - self.failed

    @property
    def success_rate(self) -> Decimal | None:
        """Succeeded ÷ ended, in % with one decimal (None before any ended)."""
        ended = self.succeeded + self.failed
        return (Decimal(self.succeeded * 100) / ended).quantize(Decimal("0.1")) if ended else None


def results(user, year: int) -> list[PartnerResult]:
    """Per partner, the referrals made in `year` of enterprises in `user`'s scope (one grouped query)."""
    stmt = (select(PartnerReferral.partner_id, func.count(),
                   func.sum(func.cast(PartnerReferral.status == PartnerReferralStatus.SUCCEEDED, db.Integer)),
                   func.sum(func.cast(PartnerReferral.status == PartnerReferralStatus.FAILED, db.Integer)),
                   func.coalesce(func.sum(PartnerReferral.loan_amount), 0), func.coalesce(func.sum(PartnerReferral.contract_amount), 0))
            .join(Enterprise, Enterprise.id == PartnerReferral.enterprise_id)
            .where(extract("year", PartnerReferral.referred_on) == year).group_by(PartnerReferral.partner_id))
    rows = db.session.execute(scope_enterprises(stmt, user)).all()
    partners = {p.id: p for p in db.session.scalars(select(Partner).options(joinedload(Partner.region)).where(
        Partner.id.in_([r[0] for r in rows])))}
    out = [PartnerResult(partners[pid], n, int(ok or 0), int(ko or 0), Decimal(str(loans)), Decimal(str(contracts)))
           for pid, n, ok, ko, loans, contracts in rows]
    return sorted(out, key=lambda r: (-r.referrals, r.partner.name))
