"""Every write in every service leaves an audit event — proven two ways.

1. A walk over every public function of every `crm/<feature>/services.py`: each one reaches
   `audit.record` (directly or through the functions it calls), or is listed below as writing
   nothing (and the walk checks it indeed adds, deletes, flushes and assigns nothing) or as a write
   that is deliberately not audited, with the reason. A new service function that is in none of
   these fails the test.
2. The main writes called for real with factories: each adds an audit event for its record.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import crm
from crm.core.audit import AuditEvent
from tests import factories

# Functions that compute, check or read: they must not write (checked below).
WRITES_NOTHING = {
    "crm.auth.services": {"authenticate", "sign_in_locked", "hash_token", "live_password_link"},
    "crm.credit.services": {"source_text"},
    "crm.cycle.services": {"coaching_due_on"},
    "crm.enterprises.services": {"check_figures", "check_ip", "check_enterprise", "round_amounts"},
    "crm.evidence.services": {"attachments_root", "sniff", "stored_path"},
    "crm.io.services": {"map_columns", "cell_text", "parse_table", "parse_upload", "import_dir", "job_path",
                        "check_upload"},
    "crm.ladder.services": {"compute_expiry", "current_tier_of", "inputs_for", "plain_number", "unit_name",
                            "rule_criteria", "rule_form_base", "apply_rule_settings", "ruleset_diff",
                            "describe_changes", "relabel_warnings", "explain_ruleset_error", "parse_ruleset_json",
                            "without_options", "stale_message"},
    "crm.notify.services": {"path_for"},
    "crm.pipeline.services": {"month_end", "previous_month_end", "can_manage_targets"},
    "crm.portal.services": {"can_manage_accounts", "send_password_link"},
    "crm.referrals.services": {"department_users"},
    "crm.service.services": {"default_due_on"},
    "crm.surveys.services": {"today_open"},
}
# Writes that are not audit events, and why.
NOT_AUDITED = {
    "crm.auth.services": {
        # user_for_token: touches the token's last_used_at at most once a minute (a usage stamp, not a change)
        "user_for_token",
    },
    "crm.notify.services": {
        "notify",  # a message to a user; the notification row is its own record (who, what, when, dedupe key)
        "mark_read", "mark_all_read",  # the reader's own inbox state
    },
    "crm.io.services": {
        "new_job",  # the upload is the import history's row (user, file, hash, time); audit_import records the import
        "record_report",  # the counts on that row, written by the run that audit_import records
    },
    "crm.enterprises.services": {
        # a year written without reports (bulk-loaded demo or bench data, rows from before provenance) is adopted
        # as its own source's report on first read: a re-statement of what is on record, as migration 0023 does
        "year_reports",
        "backfill_reports",  # the same for rows bulk-loaded without reports (the demo, the bench): one INSERT … SELECT
    },
    "crm.ladder.services": {
        "refresh_current_tier",  # derived from the certifications; called by the audited writes that change them
        # the stored candidate ranks: derived from the figures, certifications and rule sets by the audited writes
        # that change them (or the scheduler's jobs, whose runs record them)
        "refresh_ranks", "rerank_enterprises", "ranks_deferred", "refresh_stale_ranks",
    },
    "crm.pipeline.services": {
        "compute_snapshot", "backfill",  # derived monthly statistics, recomputed from the history; the JobRun records each run
        # the dashboards' roll-ups: counts and rankings recomputed whole from the records; the JobRun records each run
        "refresh_activity", "refresh_forecast", "refresh_at_risk",
    },
    "crm.policies.services": {
        # the stored policy matches: derived from the figures, certifications and conditions by the audited writes
        # that change them (or the scheduler's jobs, whose runs record them)
        "refresh_matches", "rematch_enterprises", "matches_deferred", "refresh_stale_matches", "fill_missing",
        "save_grades",  # the nightly grades, recomputed whole from the figures by the model; the JobRun records each run
    },
}
AUDIT_CALLS = {"record", "record_many", "audit_import"}  # record_many: a bulk write's events (an import's)
WRITE_CALLS = {"add", "add_all", "flush", "delete", "merge", "apply_changes", "setattr", "bulk_save_objects"}


def _service_modules():
    for info in pkgutil.iter_modules(crm.__path__):
        try:
            yield importlib.import_module(f"crm.{info.name}.services")
        except ModuleNotFoundError as exc:
            if exc.name != f"crm.{info.name}.services":
                raise


def _function_nodes():
    """{function name: [ast node, …]} of every function (public or not) in every services module."""
    nodes: dict[str, list] = {}
    for module in _service_modules():
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.FunctionDef):
                nodes.setdefault(node.name, []).append(node)
    return nodes


def _called(node) -> set[str]:
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            names.add(n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", ""))
    return names


def _reaches_audit(name: str, nodes, seen: set) -> bool:
    if name in seen:
        return False
    seen.add(name)
    for node in nodes.get(name, []):
        called = _called(node)
        if called & AUDIT_CALLS or any(_reaches_audit(c, nodes, seen) for c in called if c in nodes):
            return True
    return False


def _writes(node) -> list[str]:
    """What in a function's own body writes: session adds/deletes/flushes, UPDATE/INSERT/DELETE, attribute assignments."""
    found = []
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            # a bare name is a local helper (check_figures' add()), unless it is setattr / apply_changes
            name = n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
            if name in WRITE_CALLS and (not isinstance(n.func, ast.Name) or name in {"setattr", "apply_changes"}):
                found.append(f"{name}()")
            if name == "execute" and n.args and isinstance(n.args[0], ast.Call) and \
                    getattr(n.args[0].func, "id", "") in {"update", "insert", "delete"}:
                found.append(f"execute({n.args[0].func.id})")
        targets = n.targets if isinstance(n, ast.Assign) else [n.target] if isinstance(n, ast.AugAssign) else []
        for target in targets:
            for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                if isinstance(t, ast.Attribute):
                    found.append(f"assigns .{t.attr}")
    return found


def _public_functions():
    for module in _service_modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and fn.__module__ == module.__name__:
                yield module.__name__, name, fn


def test_every_public_service_function_is_audited_or_listed():
    nodes = _function_nodes()
    unaccounted = []
    for module, name, _fn in _public_functions():
        listed = name in WRITES_NOTHING.get(module, set()) | NOT_AUDITED.get(module, set())
        if not listed and not _reaches_audit(name, nodes, set()):
            unaccounted.append(f"{module}.{name}")
    assert not unaccounted, ("these service functions neither reach audit.record nor are listed as writing "
                             f"nothing / deliberately not audited: {unaccounted}")


def test_the_functions_said_to_write_nothing_write_nothing():
    writers = {}
    for module, name, fn in _public_functions():
        if name in WRITES_NOTHING.get(module, set()):
            node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
            # objects built locally and returned unsaved (inputs_for) are not writes; session calls are
            found = [w for w in _writes(node) if not w.startswith("assigns .")]
            if found:
                writers[f"{module}.{name}"] = found
    assert not writers


def test_the_lists_name_only_functions_that_exist():
    public = {(m, n) for m, n, _ in _public_functions()}
    for table in (WRITES_NOTHING, NOT_AUDITED):
        for module, names in table.items():
            for name in names:
                assert (module, name) in public, f"{module}.{name} is listed but does not exist"


# --- the main writes, called for real ----------------------------------------------------------

def _events(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _ent_fields(e):
    from crm.enterprises.services import ENTERPRISE_FIELDS

    return {name: getattr(e, name) for name in ENTERPRISE_FIELDS}


def _cases():
    from crm.auth import services as auth
    from crm.credit import services as credit
    from crm.enterprises import services as ent
    from crm.ladder import services as ladder
    from crm.notify import services as notify
    from crm.policies import services as policies
    from crm.service import services as svc

    def contact(w, a):
        return ent.add_contact(w.ent_x, {"name": "张三", "title": "", "phone": "", "email": "", "is_primary": False},
                               actor=a)

    def figures(w, a):
        return factories.figures(w.ent_x, 2023)

    def need(w, a):
        return factories.need(w.ent_x, owner=a)

    def stale_figures(w, a):  # a report whose value the year's figures do not hold yet
        f = figures(w, a)
        ent.year_reports(w.ent_x.id, 2023, f)[0].revenue = Decimal("4000.00")
        return ent.resolve_figures(w.ent_x, 2023, actor=a, figures=f)

    return {
        "create_enterprise": lambda w, a: ent.create_enterprise(
            {**_ent_fields(w.ent_x), "uscc": factories.uscc("640104"), "name": "新企业"}, actor=a),
        "update_enterprise": lambda w, a: ent.update_enterprise(w.ent_x, {**_ent_fields(w.ent_x), "address": "路1号"},
                                                                actor=a, version=w.ent_x.version),
        "archive_enterprise": lambda w, a: ent.archive_enterprise(w.ent_x, actor=a),
        "add_contact": contact,
        "update_contact": lambda w, a: ent.update_contact(contact(w, a), {"name": "李四"}, actor=a),
        "remove_contact": lambda w, a: ent.remove_contact(contact(w, a), actor=a),
        "save_figures": lambda w, a: ent.save_figures(w.ent_x, {"year": 2022, "revenue": Decimal("100")}, actor=a),
        "save_figures (update)": lambda w, a: ent.save_figures(
            w.ent_x, {"year": 2023, "revenue": Decimal("5000")}, actor=a, figures=figures(w, a)),
        "verify_figures": lambda w, a: ent.verify_figures(figures(w, a), actor=a),
        "save_report": lambda w, a: ent.save_report(w.ent_x, 2022, "tax", {"revenue": Decimal("100")}, actor=a),
        "resolve_figures": lambda w, a: stale_figures(w, a),
        "confirm_report": lambda w, a: ent.confirm_report(ent.year_reports(w.ent_x.id, 2023, figures(w, a))[0],
                                                          actor=a),
        "save_ip": lambda w, a: ent.save_ip(w.ent_x, {"kind": "invention_patent", "title": "装置",
                                                      "number": "ZL1", "granted_on": date(2022, 1, 1)}, actor=a),
        "remove_ip": lambda w, a: ent.remove_ip(factories.ip(w.ent_x), actor=a),
        "update_region": lambda w, a: ent.update_region(w.county_x, {"code": w.county_x.code, "name": "兴庆区（新）",
                                                                     "level": "county", "parent_id": w.city.id},
                                                        actor=a),
        "record_certification": lambda w, a: factories.certification(w.ent_x),
        "revoke_certification": lambda w, a: ladder.revoke_certification(factories.certification(w.ent_x), actor=a),
        "expire_due_certifications": lambda w, a: (
            factories.certification(w.ent_x, tier="tech_sme", issued_on=date(2020, 3, 1)),
            ladder.expire_due_certifications(date(2026, 6, 1), actor=a)),
        "assign_enterprise": lambda w, a: svc.assign_enterprise(
            w.ent_y, factories.user("officer", region=w.county_y), actor=a),
        "record_visit": lambda w, a: svc.record_visit(
            w.ent_x, {"visited_on": date.today() - timedelta(days=1), "mode": "onsite", "people_met": "",
                      "summary": "走访"}, actor=factories.user("officer", region=w.county_x, serves=[w.ent_x])),
        "raise_need": lambda w, a: svc.raise_need(w.ent_x, {"category": "finance", "title": "贷款"}, actor=a),
        "update_need": lambda w, a: svc.update_need(
            (n := need(w, a)), {"category": n.category, "title": "改", "due_on": n.due_on}, actor=a),
        "change_need_status": lambda w, a: svc.change_need_status(need(w, a), "in_progress", actor=a),
        "add_follow_up": lambda w, a: svc.add_follow_up(
            w.ent_x, {"action": "回访", "due_on": date.today() + timedelta(days=3)},
            actor=factories.user("officer", region=w.county_x, serves=[w.ent_x])),
        "create_department": lambda w, a: svc.create_department({"name": "财政局"}, actor=a),
        "create_user": lambda w, a: auth.create_user(
            {"username": "new_officer", "name": "新", "email": "", "phone": "", "role": "officer",
             "region_id": w.county_x.id, "active": True, "password": "long-enough-1"}, actor=a),
        "update_user": lambda w, a: auth.update_user(
            (u := factories.user("officer", region=w.county_x)),
            {"username": u.username, "name": "改名", "email": "", "phone": "", "role": "officer",
             "region_id": w.county_x.id, "active": True}, actor=a),
        "set_language": lambda w, a: auth.set_language(a, "en"),
        "sign_out": lambda w, a: auth.sign_out(a),
        "create_api_token": lambda w, a: auth.create_api_token(a, "script", actor=a),
        "set_email_preference": lambda w, a: notify.set_email_preference(a, not a.email_notifications, actor=a),
        "import_list": lambda w, a: credit.import_list(_credit_xlsx(w), _CREDIT_META, actor=a),
        "lift_entry": lambda w, a: credit.lift_entry(
            credit.import_list(_credit_xlsx(w), _CREDIT_META, actor=a).credit_list and _credit_entry(), actor=a),
        "create_policy": lambda w, a: factories.policy() and policies.create_policy(
            {"title": "新政策", "issuer": "科技厅", "document_no": "宁科发1号", "summary": "支持",
             "opens_on": date(2026, 1, 1), "closes_on": date(2026, 12, 31), "active": True}, actor=a),
    }


_CREDIT_META = {"kind": "serious_breach", "source": "宁夏发改委", "received_on": date(2025, 6, 1)}


def _credit_xlsx(w) -> bytes:
    """A negative list naming ent_x."""
    from io import BytesIO

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["统一社会信用代码", "企业名称", "列入日期"])
    wb.active.append([w.ent_x.uscc, w.ent_x.name, "2025-05-20"])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _credit_entry():
    from crm.credit.models import CreditListEntry
    from crm.extensions import db

    return db.session.scalar(select(CreditListEntry))


CASES = list(_cases())


@pytest.mark.parametrize("case", CASES)
def test_each_main_write_leaves_an_audit_event(case, world, db):
    admin = factories.user("admin")
    db.session.commit()
    before = _events(db)
    setup_only = {"update_contact": 1, "remove_contact": 1, "revoke_certification": 1, "expire_due_certifications": 1,
                  "save_figures (update)": 0, "verify_figures": 0, "resolve_figures": 0, "confirm_report": 0,
                  "update_need": 0, "change_need_status": 0,
                  "remove_ip": 0, "update_user": 0, "lift_entry": 2}
    _cases()[case](world, admin)
    db.session.commit()
    # a case whose set-up is itself an audited write (a contact added before it is changed) adds one more
    assert _events(db) >= before + 1 + setup_only.get(case, 0), case
