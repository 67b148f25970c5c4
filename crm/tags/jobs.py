"""Scheduled work of tags: refresh the rule tags every night (idempotent: a second run changes nothing)."""
from __future__ import annotations

from datetime import date

from crm.tags import services


def refresh_rule_tags(today: date) -> str:
    """Re-evaluate every rule tag over the enterprises' figures; a summary line for the job's history."""
    added, removed = services.refresh_all(actor="scheduler", today=today)
    return f"rule tags: {added} added, {removed} removed"
