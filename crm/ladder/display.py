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
    if isinstance(value, (list, tuple)):  # tiers, domains: the enumeration comma of the user's language
        from crm.core.i18n import current_language

        return ("、" if current_language() != "en" else ", ").join(format_measure(v, unit) for v in value)
    if isinstance(value, dict):  # IP counts by class: {"class1": 0, "class2": 3}
        names = {"class1": _("Class I"), "class2": _("Class II"), "total": _("In all")}
        return " / ".join(f"{names.get(k, k)} {format_measure(v, unit)}" for k, v in value.items())
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


# --- rule settings: how a rule set's version reads ---

# An admin's version of a rule set (ladder.services.save_ruleset_version) is stamped with the id it was
# derived from plus this suffix, and with its local version number (1, 2, …): a result naming
# {"id": "regional-default+local", "version": 3} was computed with RuleSetVersion(tier, version=3).
# Shipped rule sets keep their own id and version ("regional-default" 1, "cn-national" "2022").
LOCAL_RULESET_SUFFIX = "+local"


def is_local_ruleset(ruleset_id: str | None) -> bool:
    """Whether a rule-set id names an admin's version (rather than the shipped data)."""
    return isinstance(ruleset_id, str) and ruleset_id.endswith(LOCAL_RULESET_SUFFIX)


def shipped_ruleset_id(ruleset_id: str) -> str:
    """The id without the local suffix ("regional-default+local" → "regional-default")."""
    return ruleset_id[:-len(LOCAL_RULESET_SUFFIX)] if is_local_ruleset(ruleset_id) else ruleset_id


def ruleset_version_label(ruleset) -> str:
    """A result's rule set in words: "regional-default · 1", or "regional-default · 本地第 3 版" for an admin's.

    `ruleset` is a result's {"id", "version"} (or a RuleSet, or a rule-set dict).
    """
    if isinstance(ruleset, dict):
        rs_id, version = ruleset.get("id"), ruleset.get("version")
    else:
        rs_id, version = getattr(ruleset, "id", None), getattr(ruleset, "version", None)
    if is_local_ruleset(rs_id):
        return _("%(id)s · local version %(n)s", id=shipped_ruleset_id(rs_id), n=version)
    return f"{rs_id} · {version}"
