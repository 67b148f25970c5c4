"""How readiness values read: one place for the panel, the sheet and the CLI's text output."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.core.i18n import fmt_money

VERDICT_LABELS = {
    "ready": _l("Ready to apply"),
    "not_ready": _l("Not ready yet"),
    "incomplete": _l("Information incomplete"),
}
STATUS_LABELS = {
    "pass": _l("Met"),
    "fail": _l("Not met"),
    "unknown": _l("Unknown"),
    "borderline": _l("Borderline"),
}
STATUS_MARKS = {"pass": "✓", "fail": "✗", "unknown": "?", "borderline": "~"}


def _number(value) -> str:
    d = Decimal(str(value))
    return f"{d.normalize():f}" if d == d.to_integral() else f"{d:f}"


def format_measure(value, unit: str | None) -> str:
    """A criterion's actual or required value with its unit, in the user's language."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (list, tuple)):
        return "、".join(format_measure(v, unit) for v in value)
    if isinstance(value, str):
        from crm.enterprises.models import TECH_DOMAIN_LABELS
        from crm.ladder.tiers import TIER_LABELS

        return str(TECH_DOMAIN_LABELS.get(value) or TIER_LABELS.get(value) or value)
    if unit == "ratio":
        return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.01'))}%"
    if unit == "万元":
        return _("%(amount)s (10k CNY)", amount=fmt_money(Decimal(str(value))))
    if unit == "persons":
        return _("%(n)s persons", n=_number(value))
    if unit == "days":
        return _("%(n)s days", n=_number(value))
    if unit == "items":
        return _("%(n)s items", n=_number(value))
    if unit == "points":
        return _("%(n)s points", n=_number(value))
    return _number(value) if isinstance(value, (int, float, Decimal)) else str(value)


def verdict_label(verdict: str) -> str:
    """The verdict in the user's language."""
    return str(VERDICT_LABELS.get(verdict, verdict))


def status_label(status: str) -> str:
    """A criterion status in the user's language."""
    return str(STATUS_LABELS.get(status, status))


def result_text(result: dict) -> str:
    """A result as plain text (the CLI's --format text)."""
    ruleset = result["ruleset"]
    lines = [f"{result['tier']} — {verdict_label(result['verdict'])} ({result['verdict']})  "
             f"[{ruleset['id']} {ruleset['version']}]"]
    if result.get("notice"):
        lines.append(f"  {result['notice']}")
    for c in result["criteria"]:
        line = (f"  {STATUS_MARKS.get(c['status'], '?')} {c['id']:<22} {c['label']}: "
                f"{format_measure(c.get('actual'), c.get('unit'))} / {format_measure(c.get('required'), c.get('unit'))}")
        if c.get("gap"):
            line += f" — {c['gap']['text']}"
        lines.append(line)
    score = result.get("score")
    if score:
        lines.append(f"  {score['id']}: {_number(score['min'])}–{_number(score['max'])} "
                     f"({score.get('comparison', '')} {_number(score['threshold'])})")
    return "\n".join(lines)


def register_jinja(app) -> None:
    """Filters for templates."""
    app.jinja_env.filters.update(measure=format_measure, verdict=verdict_label, criterion_status=status_label)
