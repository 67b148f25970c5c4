"""Reads on the ladder: an enterprise's certifications and timeline, the ladder graphic's state."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from crm.core import clock
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.ladder.models import Certification, TierEvent
from crm.ladder.tiers import Tier


@dataclass
class LadderState:
    """What the enterprise page shows of the ladder."""

    certifications: list[Certification]
    events: list[TierEvent]
    held: set[str]
    current: str | None
    next_tier: str | None
    today: date

    def step(self, tier: Tier) -> str:
        """'held', 'next' or '' for the ladder graphic."""
        if tier.value in self.held:
            return "held"
        return "next" if tier.value == self.next_tier else ""


def next_tier_after(current: str | None) -> str | None:
    """The tier above `current` (tech_sme for a candidate; None at the top)."""
    tiers = list(Tier)
    if current is None:
        return tiers[0].value
    index = tiers.index(Tier(current))
    return tiers[index + 1].value if index + 1 < len(tiers) else None


def ladder_state(enterprise: Enterprise) -> LadderState:
    """Certifications (newest first), the timeline and the graphic's state of one enterprise."""
    today = clock.today()
    certs = list(db.session.scalars(select(Certification).where(Certification.enterprise_id == enterprise.id)
                                    .order_by(Certification.issued_on.desc(), Certification.id.desc())))
    events = list(db.session.scalars(select(TierEvent).where(TierEvent.enterprise_id == enterprise.id)
                                     .order_by(TierEvent.occurred_on.desc(), TierEvent.id.desc())))
    held = {c.tier for c in certs if c.is_valid_on(today)}
    current = max(held, key=lambda t: Tier(t).order) if held else None
    return LadderState(certs, events, held, current, next_tier_after(current), today)
