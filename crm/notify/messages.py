"""What each kind of notification says, worded when it is read or mailed, in the reader's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.cycle.models import STAGE_LABELS
from crm.ladder.tiers import tier_label
from crm.service.models import NEED_STATUS_LABELS

# kind → (title, body); bodies are %-formatted with the notification's params (after `_prepare`).
MESSAGES = {
    "follow_up_digest": (
        _l("Follow-ups to do"),
        _l("%(overdue)s overdue, %(today)s due today, %(tomorrow)s due tomorrow: %(actions)s")),
    "need_overdue": (
        _l("A need is past its due date"),
        _l("“%(title)s” of %(enterprise)s was due on %(due_on)s.")),
    "need_escalation": (
        _l("A need is overdue by %(days)s days"),
        _l("“%(title)s” of %(enterprise)s was due on %(due_on)s; owner: %(owner)s.")),
    "cert_expiry": (
        _l("A certificate expires in %(days)s days"),
        _l("%(enterprise)s: %(tier)s certificate %(certificate_no)s expires on %(expires_on)s.")),
    "recert_follow_up": (
        _l("Prepare the re-certification"),
        _l("%(enterprise)s: its high-tech certificate expires on %(expires_on)s; a follow-up to prepare the "
           "re-certification has been planned for you.")),
    "weekly_summary": (
        _l("Weekly summary of %(region)s"),
        _l("%(start)s to %(end)s: %(visits)s visits, %(needs_opened)s needs raised, %(needs_closed)s closed, "
           "%(overdue)s overdue now; certifications gained %(gained)s, lost %(lost)s; %(behind)s targets behind "
           "pace.")),
    "referral_new": (
        _l("A need is referred to %(department)s"),
        _l("“%(title)s” of %(enterprise)s: please answer by %(due_on)s.")),
    "referral_answered": (
        _l("%(department)s has answered"),
        _l("“%(title)s” of %(enterprise)s: the department's answer is on the need; decide whether it is resolved.")),
    "referral_extended": (
        _l("%(department)s asks for more time"),
        _l("“%(title)s” of %(enterprise)s is now due on %(due_on)s: %(reason)s")),
    "referral_returned": (
        _l("%(department)s has sent a need back"),
        _l("“%(title)s” of %(enterprise)s is in progress with you again: %(reason)s")),
    "referral_escalation": (
        _l("Overdue referral escalated (level %(level)s)"),
        _l("“%(title)s” of %(enterprise)s, referred to %(department)s, was due on %(due_on)s: %(days)s working "
           "days late.")),
    "policy_window_open": (
        _l("Applications open: %(policy)s"),
        _l("%(policy)s is open for applications (%(opens_on)s to %(closes_on)s). %(n)s of your enterprises "
           "qualify and have not been told: %(enterprises)s")),
    "policy_window_closing": (
        _l("Applications close in %(days)s days: %(policy)s"),
        _l("%(policy)s closes on %(closes_on)s. %(n)s of your enterprises were told and have not applied: "
           "%(enterprises)s")),
    "cycle_deadline_soon": (
        _l("An application stage is due in %(days)s days"),
        _l("%(enterprise)s, %(tier)s %(year)s: “%(stage)s” is due on %(due_on)s; the application is at "
           "“%(current)s”.")),
    "cycle_deadline_late": (
        _l("An application is %(days)s days behind its deadline"),
        _l("%(enterprise)s, %(tier)s %(year)s: “%(stage)s” was due on %(due_on)s; the application is still at "
           "“%(current)s”.")),
    "credit_listed": (
        _l("An enterprise you serve is on a negative list"),
        _l("%(enterprise)s is on the %(credit_list)s since %(listed_on)s (%(source)s): it cannot be proposed for a "
           "tier, a policy or the reserve pool until the entry is lifted.")),
    "need_status": (
        _l("Your request has a new status"),
        _l("“%(title)s”: %(old)s → %(new)s.")),
}


def _prepare(params: dict) -> dict:
    """Turn stored codes (tier, statuses) into words of the current language."""
    out = dict(params)
    out.setdefault("behind", 0)  # summaries written before targets existed
    if "tier" in out:
        out["tier"] = tier_label(out["tier"])
    for key in ("old", "new"):
        if key in out:
            out[key] = NEED_STATUS_LABELS.get(out[key], out[key])
    for key in ("stage", "current"):  # application stages (crm.cycle)
        if key in out:
            out[key] = STAGE_LABELS.get(out[key], out[key])
    if "credit_list" in out:
        from crm.credit.models import CREDIT_LIST_KIND_LABELS

        out["credit_list"] = CREDIT_LIST_KIND_LABELS.get(out["credit_list"], out["credit_list"])
    if isinstance(out.get("enterprises"), list):
        out["enterprises"] = "、".join(out["enterprises"]) if out["enterprises"] else "—"
    if isinstance(out.get("actions"), list):
        out["actions"] = "；".join(out["actions"]) if out["actions"] else "—"
    return out


def render(kind: str, params: dict) -> tuple[str, str]:
    """(title, body) of a notification in the current locale; unknown kinds show their code."""
    title, body = MESSAGES.get(kind, (kind, ""))
    values = _prepare(params or {})
    try:
        return str(title) % values if "%(" in str(title) else str(title), str(body) % values if body else ""
    except (KeyError, TypeError, ValueError):  # a message changed since the row was written: say what we can
        return str(title).split("%(")[0].strip(), ""
