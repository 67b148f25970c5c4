"""Credit screening (信用筛查): importing a negative list (all or nothing, unmatched rows kept), the clean-record
flag with its source read by the engine and by policy eligibility, lifting, the refusals of an application, a
policy push and the reserve pool for a listed enterprise, the officer told once, the pages' scope."""
from __future__ import annotations

from datetime import date
from io import BytesIO
from types import SimpleNamespace

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.credit import queries, services
from crm.credit.models import CreditList, CreditListEntry
from crm.extensions import db as _db
from crm.io.documents import FileRefused
from crm.ladder.models import ReadinessInputs
from crm.notify.models import Notification
from tests import factories
from tests.helpers import text

HEADERS = ("统一社会信用代码（必填）", "企业名称", "列入日期", "列入原因")


def _xlsx(rows, headers=HEADERS, title=None) -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


META = {"kind": "serious_breach", "source": "宁夏回族自治区发展和改革委员会", "received_on": date(2025, 6, 1),
        "filename": "失信名单.xlsx"}


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def people(world, db):
    p = {"admin": factories.user("admin"), "manager": factories.user("manager", region=world.city),
         "other_manager": factories.user("manager", region=world.other_city),
         "officer": factories.user("officer", region=world.county_x, serves=[world.ent_x])}
    db.session.commit()
    return p


def _import(world, people, db, rows=None, **meta):
    rows = rows if rows is not None else [
        (world.ent_x.uscc, "兴庆智能装备有限公司", date(2025, 5, 20), "拒不履行法院判决"),
        (factories.uscc("640104"), "不在库企业有限公司", "2025-05-21", "欠缴税款")]
    report = services.import_list(_xlsx(rows), {**META, **meta}, actor=people["admin"])
    db.session.commit()
    return report


def test_import_matches_sets_the_flag_with_its_source_and_keeps_unmatched_rows(world, people, db):
    _db.session.add(ReadinessInputs(enterprise_id=world.ent_x.id, clean_record=True))
    db.session.commit()
    before = _count(db, AuditEvent)
    report = _import(world, people, db)
    assert (report.rows, report.matched, report.unmatched, report.rejected) == (2, 1, 1, [])
    credit_list = db.session.scalar(select(CreditList))
    assert (credit_list.rows_total, credit_list.matched, credit_list.unmatched) == (2, 1, 1)
    assert credit_list.imported_by_id == people["admin"].id
    entries = {e.uscc: e for e in db.session.scalars(select(CreditListEntry))}
    assert entries[world.ent_x.uscc].enterprise_id == world.ent_x.id
    assert entries[world.ent_x.uscc].listed_on == date(2025, 5, 20)
    assert entries[world.ent_x.uscc].reason == "拒不履行法院判决"
    unmatched = next(e for e in entries.values() if e.uscc != world.ent_x.uscc)
    assert unmatched.enterprise_id is None and unmatched.listed_on == date(2025, 5, 21)
    inputs = db.session.get(ReadinessInputs, world.ent_x.id)
    db.session.refresh(inputs)
    assert inputs.clean_record is False
    assert inputs.clean_record_on == date(2025, 5, 20)
    assert "严重失信主体名单" in inputs.clean_record_source and "发展和改革委员会" in inputs.clean_record_source
    assert inputs.clean_record_before_list is True
    # one audit of the import, one of the flag
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(before)))
    assert [(e.entity_type, e.action) for e in events] == [("credit_lists", "create"), ("readiness_inputs", "update")]
    assert events[0].changes["matched"] == [None, 1] and events[0].changes["unmatched"] == [None, 1]
    assert events[1].enterprise_id == world.ent_x.id and events[1].changes["clean_record"] == [True, False]
    assert queries.blocking_entries([world.ent_x.id, world.ent_y.id]).keys() == {world.ent_x.id}


def test_rejected_rows_are_all_reported_and_nothing_is_written(world, people, db):
    before = (_count(db, AuditEvent), _count(db, CreditList), _count(db, CreditListEntry))
    rows = [(world.ent_x.uscc, "兴庆", "2025-05-20", ""),
            ("91640104MA00000000", "坏校验位", "2025-05-20", ""),  # wrong check digit
            (world.ent_y.uscc, "西夏", "2025-13-40", ""),  # impossible date
            (world.ent_x.uscc.lower(), "重复", "2025-05-20", ""),  # the same USCC twice
            (world.ent_z.uscc, "=HYPERLINK(\"x\")", "2025-05-20", ""),  # a formula
            (world.ent_park.uscc, "园区", "2025-07-01", "")]  # listed after the list was received
    report = services.import_list(_xlsx(rows), META, actor=people["admin"])
    _db.session.rollback()
    assert [n for n, _reason in report.rejected] == [3, 4, 5, 6, 7]
    reasons = dict(report.rejected)
    assert "校验" in reasons[3] or "Check digit" in reasons[3]
    assert "2" in reasons[5]  # names the first row with that USCC
    assert report.credit_list is None
    assert (_count(db, AuditEvent), _count(db, CreditList), _count(db, CreditListEntry)) == before
    assert db.session.get(ReadinessInputs, world.ent_x.id) is None


def test_headers_in_english_below_a_title_row_and_the_example_row_skipped(world, people, db):
    from crm.io.documents import example_uscc

    data = _xlsx([(example_uscc(), "示例", "2025-01-01", ""), (world.ent_y.uscc, "西夏", 45800, "abnormal")],
                 headers=("Reason", "USCC", "Enterprise name", "Listed on")[1:] + ("Reason",),
                 title="2025年经营异常名录")
    report = services.import_list(data, {**META, "kind": "abnormal_operation"}, actor=people["admin"])
    db.session.commit()
    assert (report.rows, report.matched, report.skipped_example) == (1, 1, 1)
    entry = db.session.scalar(select(CreditListEntry))
    assert entry.listed_on == date(2025, 5, 23)  # an Excel serial day
    assert entry.reason == "abnormal"


def test_files_that_cannot_be_read_are_refused(world, people, db):
    for data in (b"", b"%PDF-1.4 not a workbook", _xlsx([("x",)], headers=("企业名称", "备注"))):
        with pytest.raises(FileRefused):
            services.import_list(data, META, actor=people["admin"])
    with pytest.raises(ValidationFailed) as refused:
        services.import_list(_xlsx([]), {**META, "source": "", "kind": "nonsense"}, actor=people["admin"])
    assert set(refused.value.errors) == {"source", "kind"}
    _db.session.rollback()
    assert _count(db, CreditList) == 0


def test_the_engine_and_policy_eligibility_read_the_flag_and_lifting_restores_it(world, people, db):
    from crm.ladder.queries import readiness_panel
    from crm.policies.models import PolicyMatch
    from crm.policies.services import refresh_matches

    _db.session.add(ReadinessInputs(enterprise_id=world.ent_x.id, clean_record=True))
    policy = factories.policy("科技型企业贷款贴息", conditions={"clean_record": True}, conditions_version=1)
    refresh_matches()
    db.session.commit()

    def verdict():
        return db.session.scalar(select(PolicyMatch.verdict).where(PolicyMatch.policy_id == policy.id,
                                                                   PolicyMatch.enterprise_id == world.ent_x.id))

    def criterion(tier, cid):
        result = readiness_panel(world.ent_x, tier).result
        return next(c["status"] for c in result["criteria"] if c["id"] == cid)

    assert verdict() == "ready"
    assert criterion("high_tech", "ht_clean_record") == "pass"
    _import(world, people, db)
    assert verdict() == "not_ready"  # re-matched in the import's unit of work
    assert criterion("high_tech", "ht_clean_record") == "fail"
    assert criterion("tech_sme", "sme_clean_record") == "fail"
    # a second list of another kind: lifting the first leaves the enterprise listed
    _import(world, people, db, rows=[(world.ent_x.uscc, "兴庆", "2025-05-25", "安全生产事故")],
            kind="major_accident", source="银川市应急管理局")
    first, second = db.session.scalars(select(CreditListEntry).where(
        CreditListEntry.enterprise_id == world.ent_x.id).order_by(CreditListEntry.id)).all()
    assert services.lift_entry(first, actor=people["admin"], on=date(2025, 6, 10), note="信用修复")
    db.session.commit()
    inputs = db.session.get(ReadinessInputs, world.ent_x.id)
    db.session.refresh(inputs)
    assert inputs.clean_record is False and "重大安全/环保事故" in inputs.clean_record_source
    assert inputs.clean_record_on == date(2025, 5, 25)
    assert verdict() == "not_ready"
    assert services.lift_entry(second, actor=people["admin"]) is True
    assert services.lift_entry(second, actor=people["admin"]) is False  # already lifted
    db.session.commit()
    db.session.refresh(inputs)
    assert (inputs.clean_record, inputs.clean_record_source, inputs.clean_record_on) == (True, "", None)
    assert verdict() == "ready"
    assert criterion("high_tech", "ht_clean_record") == "pass"
    assert queries.blocking_entries([world.ent_x.id]) == {}


def test_an_officer_cannot_mark_a_listed_enterprise_clean(world, people, db):
    from crm.ladder.services import save_readiness_inputs

    _import(world, people, db)
    with pytest.raises(ValidationFailed) as refused:
        save_readiness_inputs(world.ent_x, {"clean_record": True}, actor=people["officer"])
    assert "clean_record" in refused.value.errors
    _db.session.rollback()
    save_readiness_inputs(world.ent_x, {"clean_record": False, "resident": True}, actor=people["officer"])
    db.session.commit()


def test_the_inputs_form_says_where_the_clean_record_comes_from(client, login_as, world, people, db):
    _import(world, people, db)
    login_as(people["officer"])
    page = text(client.get(f"/enterprises/{world.ent_x.id}/readiness/inputs"))
    assert 'id="clean-record-source"' in page and "发展和改革委员会" in page
    response = client.post(f"/enterprises/{world.ent_x.id}/readiness/inputs", data={"clean_record": "yes"})
    assert response.status_code == 422
    assert db.session.get(ReadinessInputs, world.ent_x.id).clean_record is False


def test_lifting_before_listing_or_in_the_future_is_refused(world, people, db):
    _import(world, people, db)
    entry = db.session.scalar(select(CreditListEntry).where(CreditListEntry.enterprise_id == world.ent_x.id))
    with pytest.raises(ValidationFailed):
        services.lift_entry(entry, actor=people["admin"], on=date(2025, 1, 1))
    with pytest.raises(ValidationFailed):
        services.lift_entry(entry, actor=people["admin"], on=date(2999, 1, 1))


def test_a_replacing_list_lifts_the_entries_no_longer_on_it(world, people, db):
    _import(world, people, db, rows=[(world.ent_x.uscc, "兴庆", "2025-05-20", ""),
                                     (world.ent_y.uscc, "西夏", "2025-05-20", "")])
    report = _import(world, people, db, rows=[(world.ent_y.uscc, "西夏", "2025-05-20", "")],
                     received_on=date(2025, 7, 1), replaces_previous=True)
    assert report.lifted == 2
    assert queries.blocking_entries([world.ent_x.id, world.ent_y.id]).keys() == {world.ent_y.id}
    assert db.session.get(ReadinessInputs, world.ent_x.id).clean_record is None  # the officer's unknown, back
    assert db.session.get(ReadinessInputs, world.ent_y.id).clean_record is False


def test_the_officer_is_told_once(world, people, db):
    from crm.notify.messages import render

    report = _import(world, people, db)
    assert report.notified == 1
    notes = list(db.session.scalars(select(Notification)))
    assert [(n.user_id, n.kind) for n in notes] == [(people["officer"].id, "credit_listed")]
    title, body = render(notes[0].kind, notes[0].params)
    assert "兴庆智能装备有限公司" in body and "2025-05-20" in body and "发展和改革委员会" in body
    assert notes[0].link == f"/enterprises/{world.ent_x.id}"
    again = _import(world, people, db)  # the same list re-imported
    assert again.notified == 0
    assert _count(db, Notification) == 1


def test_a_listed_enterprise_is_not_filed_pushed_or_put_in_the_reserve_pool(client, login_as, world, people, db):
    from crm.cycle.models import Application, Batch
    from crm.cycle.services import file_application
    from crm.policies.models import PolicyPush, ReservePoolEntry
    from crm.policies.services import add_to_reserve_pool, mark_informed, set_push

    batch = Batch(region_id=world.city.id, year=2025, tier="high_tech", note="")
    policy = factories.policy("研发后补助")
    _db.session.add(batch)
    db.session.commit()
    _import(world, people, db)
    before = _count(db, AuditEvent)
    # (a) an application (申报), by the service and the board's form
    with pytest.raises(ValidationFailed) as refused:
        file_application(batch, world.ent_x, actor=people["officer"])
    assert "严重失信" in str(refused.value.errors["enterprise_id"][0]) or "untrustworthy" in str(
        refused.value.errors["enterprise_id"][0])
    _db.session.rollback()
    login_as(people["officer"])
    response = client.post(f"/cycle/batches/{batch.id}/applications", data={"enterprise_id": world.ent_x.id})
    assert response.status_code == 422 and "2025-05-20" in text(response)
    # (c) a policy pushed, recorded as applying: refused with a message, nothing written
    for status in ("informed", "applied"):
        with pytest.raises(ValidationFailed):
            set_push(policy, world.ent_x, status, actor=people["officer"])
        _db.session.rollback()
    response = client.post(f"/policies/{policy.id}/enterprises/{world.ent_x.id}/push", data={"status": "informed"})
    assert response.status_code == 303
    assert "2025-05-20" in text(client.get(response.headers["Location"]))  # the refusal, flashed
    # (b) the high-tech reserve pool (proposed for the tier): the whole step refused
    row = SimpleNamespace(enterprise=world.ent_x, entry=None, officer_id=people["officer"].id, total=80)
    other = SimpleNamespace(enterprise=world.ent_y, entry=None, officer_id=None, total=90)
    with pytest.raises(ValidationFailed) as refused:
        add_to_reserve_pool([other, row], actor=people["manager"])
    assert world.ent_x.name in str(refused.value.errors[""][0])
    _db.session.rollback()
    assert _count(db, Application) == _count(db, PolicyPush) == _count(db, ReservePoolEntry) == 0
    assert _count(db, AuditEvent) == before
    # a visit or an event telling of the policy in passing is not a proposal: still recorded
    assert mark_informed(world.ent_x, [policy], actor=people["officer"], on=date(2025, 6, 2)) == 1
    # another enterprise is not held up
    assert file_application(batch, world.ent_y, actor=people["admin"]).enterprise_id == world.ent_y.id
    _db.session.rollback()


def _lift_url(db, world):
    entry = db.session.scalar(select(CreditListEntry).where(CreditListEntry.enterprise_id == world.ent_x.id))
    return entry, f"/credit/entries/{entry.id}/lift"


def test_pages_import_detail_scope_and_lift(client, login_as, world, people, db):
    other = factories.enterprise(world.county_z, name="大武口另一家有限公司")
    db.session.commit()
    login_as(people["admin"])
    assert client.get("/credit/import").status_code == 200
    data = _xlsx([(world.ent_x.uscc, "兴庆智能装备有限公司", "2025-05-20", "失信"),
                  (other.uscc, "大武口另一家有限公司", "2025-05-20", "失信"),
                  (factories.uscc("640104"), "不在库企业有限公司", "2025-05-20", "失信")])
    response = client.post("/credit/import", data={"kind": "serious_breach", "source": "宁夏发改委",
                                                   "received_on": "2025-06-01", "file": (BytesIO(data), "名单.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    credit_list = db.session.scalar(select(CreditList))
    page = text(client.get("/credit"))
    assert "名单.xlsx" in page and "宁夏发改委" in page
    detail = text(client.get(f"/credit/{credit_list.id}"))
    assert all(name in detail for name in ("兴庆智能装备有限公司", "大武口另一家有限公司", "不在库企业有限公司"))
    assert "不在库企业有限公司" in text(client.get(f"/credit/{credit_list.id}?state=unmatched"))
    assert "兴庆智能装备有限公司" not in text(client.get(f"/credit/{credit_list.id}?state=unmatched"))
    # the enterprise page's red notice, for staff who see it
    notice = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert "credit-notice-" in notice and "2025-05-20" in notice and "宁夏发改委" in notice
    # a manager reads the list: the matched entries of their region, and the unmatched ones
    login_as(people["manager"])
    detail = text(client.get(f"/credit/{credit_list.id}"))
    assert "兴庆智能装备有限公司" in detail and "不在库企业有限公司" in detail
    assert "大武口另一家有限公司" not in detail
    assert client.post(_lift_url(db, world)[1]).status_code == 403
    login_as(people["officer"])
    assert "credit-notice-" in text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert "credit-notice-" not in text(client.get(f"/enterprises/{world.ent_y.id}"))
    # an admin lifts the entry: the notice goes, the flag comes back
    login_as(people["admin"])
    entry, url = _lift_url(db, world)
    assert client.post(url, data={"removed_on": "2025-06-15", "removed_note": "信用修复"}).status_code == 303
    db.session.refresh(entry)
    assert entry.removed_on == date(2025, 6, 15) and entry.removed_note == "信用修复"
    assert "credit-notice-" not in text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert db.session.get(ReadinessInputs, world.ent_x.id).clean_record is None


def test_the_upload_form_reports_rejected_rows_and_writes_nothing(client, login_as, world, people, db):
    login_as(people["admin"])
    data = _xlsx([(world.ent_x.uscc, "兴庆", "2025-05-20", ""), ("91640104MA00000000", "坏", "", "")])
    response = client.post("/credit/import", data={"kind": "serious_breach", "source": "宁夏发改委",
                                                   "received_on": "2025-06-01", "file": (BytesIO(data), "x.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="import-rejects"' in text(response)
    assert _count(db, CreditList) == 0 and _count(db, CreditListEntry) == 0
    response = client.post("/credit/import", data={"kind": "serious_breach", "source": "宁夏发改委",
                                                   "received_on": "2025-06-01"}, content_type="multipart/form-data")
    assert response.status_code == 422
    template = client.get("/credit/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    # the template as downloaded imports as an empty list (its example row is skipped): refused, nothing written
    with pytest.raises(ValidationFailed):
        services.import_list(template.data, META, actor=people["admin"])
    _db.session.rollback()
    assert _count(db, CreditList) == 0
