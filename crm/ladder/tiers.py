"""The five tiers of DESIGN §2, lowest first; their codes are stable interface."""
from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Tier(StrEnum):
    """A tier of the ladder, in ladder order."""

    TECH_SME = "tech_sme"
    LITTLE_GIANT = "little_giant"
    HIGH_TECH = "high_tech"
    GAZELLE = "gazelle"
    DEMONSTRATION = "demonstration"

    @property
    def order(self) -> int:
        """1 for tech_sme … 5 for demonstration."""
        return list(Tier).index(self) + 1

    @property
    def label(self):
        """The tier's name in the user's language."""
        return TIER_LABELS[self]


TIER_LABELS = {
    Tier.TECH_SME: _l("Tech-based SME"),
    Tier.LITTLE_GIANT: _l("Tech little giant"),
    Tier.HIGH_TECH: _l("National high-tech enterprise"),
    Tier.GAZELLE: _l("Gazelle enterprise"),
    Tier.DEMONSTRATION: _l("Innovation demonstration enterprise"),
}

# An enterprise holding no active certification is a candidate (培育库 / 苗子企业).
CANDIDATE = "candidate"
CANDIDATE_LABEL = _l("Candidate")


def tier_label(code: str | None):
    """The label of a tier code, or "candidate" for none."""
    return TIER_LABELS[Tier(code)] if code else CANDIDATE_LABEL
