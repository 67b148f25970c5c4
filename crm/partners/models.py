"""Partners (合作机构) and referrals (推荐对接): a need handed to a partner with the enterprise's consent."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, TimestampMixin
from crm.core.uow import register_unique
from crm.enterprises.models import Enterprise, Region


class PartnerKind(StrEnum):
    """What kind of body a partner is."""

    BANK = "bank"
    SERVICE_FIRM = "service_firm"
    UNIVERSITY = "university"
    INSTITUTE = "institute"
    TECH_COMMISSIONER = "tech_commissioner"


PARTNER_KIND_LABELS = {
    PartnerKind.BANK: _l("Bank"),
    PartnerKind.SERVICE_FIRM: _l("Service firm"),
    PartnerKind.UNIVERSITY: _l("University"),
    PartnerKind.INSTITUTE: _l("Research institute"),
    PartnerKind.TECH_COMMISSIONER: _l("Science and technology commissioner"),
}


class Partner(TimestampMixin, Base):
    """A partner: kind, region, contact, the need categories it handles (specialities)."""

    __tablename__ = "partners"
    __table_args__ = (sa.UniqueConstraint("name", "region_id", name="uq_partners_name_region_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(20))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(60), default="")
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    email: Mapped[str] = mapped_column(sa.String(120), default="")
    specialities: Mapped[list[str]] = mapped_column(sa.JSON, default=list, server_default="[]")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region] = relationship()

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return PARTNER_KIND_LABELS.get(self.kind, self.kind)


class PartnerReferralStatus(StrEnum):
    """proposed → accepted → in progress → succeeded | failed."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


PARTNER_REFERRAL_STATUS_LABELS = {
    PartnerReferralStatus.PROPOSED: _l("Proposed"),
    PartnerReferralStatus.ACCEPTED: _l("Accepted"),
    PartnerReferralStatus.IN_PROGRESS: _l("In progress"),
    PartnerReferralStatus.SUCCEEDED: _l("Succeeded"),
    PartnerReferralStatus.FAILED: _l("Failed"),
}
# the steps a referral may take; a partner may decline at any open step (failed)
REFERRAL_TRANSITIONS = {
    PartnerReferralStatus.PROPOSED: (PartnerReferralStatus.ACCEPTED, PartnerReferralStatus.FAILED),
    PartnerReferralStatus.ACCEPTED: (PartnerReferralStatus.IN_PROGRESS, PartnerReferralStatus.FAILED),
    PartnerReferralStatus.IN_PROGRESS: (PartnerReferralStatus.SUCCEEDED, PartnerReferralStatus.FAILED),
    PartnerReferralStatus.SUCCEEDED: (),
    PartnerReferralStatus.FAILED: (),
}
CLOSED_REFERRAL_STATUSES = (PartnerReferralStatus.SUCCEEDED, PartnerReferralStatus.FAILED)


class ConsentMode(StrEnum):
    """How the enterprise agreed to be referred."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    WRITTEN = "written"
    PORTAL = "portal"


CONSENT_MODE_LABELS = {
    ConsentMode.IN_PERSON: _l("In person"),
    ConsentMode.PHONE: _l("By phone"),
    ConsentMode.WRITTEN: _l("In writing"),
    ConsentMode.PORTAL: _l("In the portal"),
}


class PartnerReferral(TimestampMixin, Base):
    """A need referred to a partner: the consent (who, when, how), the status, the outcome (万元)."""

    __tablename__ = "partner_referrals"
    __table_args__ = (
        sa.UniqueConstraint("need_id", "partner_id", name="uq_partner_referrals_need_id_partner_id"),
        sa.CheckConstraint("status IN ('proposed', 'accepted', 'in_progress', 'succeeded', 'failed')",
                           name="status_known"),
        sa.CheckConstraint("loan_amount IS NULL OR loan_amount >= 0", name="loan_not_negative"),
        sa.CheckConstraint("contract_amount IS NULL OR contract_amount >= 0", name="contract_not_negative"),
        sa.Index("ix_partner_referrals_partner_referred", "partner_id", "referred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id"), index=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=PartnerReferralStatus.PROPOSED)
    referred_on: Mapped[date]
    closed_on: Mapped[date | None]
    # the enterprise's consent: who agreed, on which day, how; and the officer who recorded it
    consent_by: Mapped[str] = mapped_column(sa.String(60))
    consent_on: Mapped[date]
    consent_mode: Mapped[str] = mapped_column(sa.String(12))
    consent_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    loan_amount: Mapped[Decimal | None]
    contract_amount: Mapped[Decimal | None]
    outcome_note: Mapped[str] = mapped_column(sa.Text, default="")

    partner: Mapped[Partner] = relationship()
    enterprise: Mapped[Enterprise] = relationship()

    @property
    def status_label(self):
        """The status in the user's language."""
        return PARTNER_REFERRAL_STATUS_LABELS.get(self.status, self.status)

    @property
    def consent_mode_label(self):
        """How consent was given, in the user's language."""
        return CONSENT_MODE_LABELS.get(self.consent_mode, self.consent_mode)


register_unique("uq_partners_name_region_id", "name", _l("This region already has a partner of that name."))
register_unique("uq_partner_referrals_need_id_partner_id", "partner_id",
                _l("This need has already been referred to that partner."))
ENTITY_LABELS.update({"partners": _l("Partner"), "partner_referrals": _l("Partner referral")})
