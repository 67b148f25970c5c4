"""The pages: upload → preview (nothing written) → confirm (one transaction) or all or nothing; history; exports;
malformed and malicious files; the command line."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.enterprises.models import Enterprise
from crm.io.models import ImportJob
from tests import factories
from tests.io.sheets import last_years_enterprises, valid_uscc, xlsx


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def upload(client, data: bytes, name="名单.xlsx", kind="enterprises", all_or_nothing=False):
    form = {"kind": kind, "file": (io.BytesIO(data), name)}
    if all_or_nothing:
        form["all_or_nothing"] = "y"
    return client.post("/imports", data=form, content_type="multipart/form-data")


@pytest.fixture
def admin(login_as):
    return login_as("admin")


def test_preview_writes_nothing_then_confirm_writes_the_accepted_rows(client, world, admin, db):
    data, _ = last_years_enterprises()
    before_e, before_a = count(db, Enterprise), count(db, AuditEvent)
    response = upload(client, data)
    assert response.status_code == 303
    job = db.session.scalar(select(ImportJob))
    assert job.status == "previewed" and (job.created, job.rejected, job.total_rows) == (3, 3, 6)
    assert count(db, Enterprise) == before_e and count(db, AuditEvent) == before_a
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert 'class="h4 mb-0 count-created">3<' in page and "统一社会信用代码" in page
    rejects = client.get(f"/imports/{job.id}/rejects.xlsx")
    ws = load_workbook(io.BytesIO(rejects.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 4 and rows[0][1] == "企业名称"  # the file's own header, then the row number and reasons
    assert [r[-2] for r in rows[1:]] == [8, 9, 10]
    assert client.post(f"/imports/{job.id}/confirm").status_code == 303
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status == "done" and job.created == 3
    assert count(db, Enterprise) == before_e + 3
    assert count(db, AuditEvent) == before_a + 3 + 1  # three enterprises and the import itself
    # a second confirm does nothing
    client.post(f"/imports/{job.id}/confirm")
    assert count(db, Enterprise) == before_e + 3
    history = client.get("/imports").get_data(as_text=True)
    assert "名单.xlsx" in history


def test_all_or_nothing_writes_nothing_when_a_row_is_rejected(client, world, admin, db):
    data, _ = last_years_enterprises()
    before = count(db, Enterprise)
    upload(client, data, all_or_nothing=True)
    job = db.session.scalar(select(ImportJob))
    assert job.status == "previewed" and job.all_or_nothing
    # the page offers no confirmation; forcing it is refused as a whole
    client.post(f"/imports/{job.id}/confirm")
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "refused"
    assert count(db, Enterprise) == before


def test_a_failure_in_the_middle_rolls_everything_back(client, world, admin, db, monkeypatch):
    from crm.core import audit
    from crm.io import services

    rows = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码"]] + [
        [f"企业{i}", valid_uscc(9600 + i), "640104", "C35"] for i in range(5)]
    upload(client, xlsx(rows))
    job = db.session.scalar(select(ImportJob))
    real = audit.record_many
    calls = []

    def flaky(session, events):
        calls.append(1)
        if len(calls) == 2:  # the second chunk's trail, after the first chunk and the second's rows are written
            raise RuntimeError("disk full")
        return real(session, events)

    monkeypatch.setattr(services, "CHUNK", 2)
    monkeypatch.setattr(audit, "record_many", flaky)
    before = count(db, Enterprise)
    client.post(f"/imports/{job.id}/confirm")
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert len(calls) == 2
    assert job.status == "failed" and "disk full" in job.error
    assert count(db, Enterprise) == before


@pytest.mark.parametrize("name,data,reason", [
    ("x.xlsx", b"", "empty"),
    ("x.xlsx", b"%PDF-1.7 not a sheet", "not an Excel"),
    ("x.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    ("x.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "not an Excel"),
])
def test_files_refused_at_upload(client, world, admin, db, name, data, reason):
    with client.session_transaction() as s:
        s["lang"] = "en"
    response = upload(client, data, name=name)
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    assert count(db, ImportJob) == 0


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in entries.items():
            zf.writestr(name, body)
    return out.getvalue()


@pytest.mark.parametrize("data,reason", [
    (_zip({"hello.txt": b"hi"}), "ZIP archive but not an Excel workbook"),
    (_zip({"xl/workbook.xml": b"<x/>", "bomb.xml": b"\x00" * (310 * 1024 * 1024)}), "unpacks to far more"),
    (b"PK\x03\x04garbage" * 10, "damaged"),
    (_zip({"xl/workbook.xml": b"<not really/>", "[Content_Types].xml": b"<x/>"}), "damaged"),
])
def test_malicious_or_broken_workbooks_fail_clearly_and_change_nothing(client, world, admin, db, data, reason):
    with client.session_transaction() as s:
        s["lang"] = "en"
    before_a = count(db, AuditEvent)
    response = upload(client, data)
    assert response.status_code == 303
    job = db.session.scalar(select(ImportJob))
    assert job.status == "failed" and reason in job.error
    assert count(db, AuditEvent) == before_a
    assert reason in client.get(f"/imports/{job.id}").get_data(as_text=True)


def test_file_too_large_is_refused(client, world, admin, app, db):
    app.config["IMPORT_MAX_BYTES"] = 1000
    try:
        data, _ = last_years_enterprises()
        response = upload(client, data)
    finally:
        app.config["IMPORT_MAX_BYTES"] = 25 * 1024 * 1024
    assert response.status_code == 422 and count(db, ImportJob) == 0


def test_too_many_rows(client, world, admin, app, db):
    app.config["IMPORT_MAX_ROWS"] = 2
    try:
        data, _ = last_years_enterprises()
        upload(client, data)
    finally:
        app.config["IMPORT_MAX_ROWS"] = 100_000
    job = db.session.scalar(select(ImportJob))
    assert job.status == "failed" and count(db, Enterprise) == 4


def test_jobs_are_their_creators(client, world, login_as, db):
    officer = login_as("officer", region=world.county_x)
    data, _ = last_years_enterprises()
    upload(client, data)
    job = db.session.scalar(select(ImportJob))
    assert job.created_by_id == officer.id
    login_as("officer", region=world.county_x)
    assert client.get(f"/imports/{job.id}").status_code == 404
    assert client.post(f"/imports/{job.id}/confirm").status_code == 404
    login_as("admin")
    assert client.get(f"/imports/{job.id}").status_code == 200


def test_cancel(client, world, admin, db):
    data, _ = last_years_enterprises()
    upload(client, data)
    job = db.session.scalar(select(ImportJob))
    assert client.post(f"/imports/{job.id}/cancel").status_code == 303
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "cancelled"
    client.post(f"/imports/{job.id}/confirm")
    assert count(db, Enterprise) == 4


def test_background_mode_polls_until_done(client, world, admin, app, db):
    from crm.io import jobs

    app.config["IMPORT_BACKGROUND"] = True
    try:
        data, _ = last_years_enterprises()
        upload(client, data)
        jobs.wait_for_jobs()
        job = db.session.scalar(select(ImportJob))
        assert job.status == "previewed"
        client.post(f"/imports/{job.id}/confirm")
        jobs.wait_for_jobs()
    finally:
        app.config["IMPORT_BACKGROUND"] = False
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "done" and count(db, Enterprise) == 7
    fragment = client.get(f"/imports/{job.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="import-job"' in fragment and "hx-trigger" not in fragment


def test_job_view_shows_a_stalled_job_as_stopped(world, db):
    from datetime import timedelta

    from crm.core.db import utcnow
    from crm.io import jobs

    job = ImportJob(kind="enterprises", filename="x.xlsx", file_format="xlsx", status="importing",
                    updated_at=utcnow() - timedelta(minutes=30), rejects=[], changes=[], ignored_columns=[])
    db.session.add(job)
    db.session.commit()
    view = jobs.job_view(job)
    assert view.stalled and not view.polling and view.status == "failed"


# --- exports ---

def test_registry_export_keeps_the_page_filters_and_scope(client, world, login_as, db):
    login_as("manager", region=world.city)
    response = client.get(f"/exports/enterprises.xlsx?region={world.county_x.id}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(response.data)).active
    names = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted([world.ent_x.name, world.ent_park.name])
    assert ws.cell(row=1, column=1).value == "企业名称"
    everything = load_workbook(io.BytesIO(client.get("/exports/enterprises.xlsx").data)).active
    assert world.ent_z.name not in [r[0] for r in everything.iter_rows(values_only=True)]  # another city


def test_header_row_in_the_users_language(client, world, login_as):
    login_as("admin")
    with client.session_transaction() as s:
        s["lang"] = "en"
    ws = load_workbook(io.BytesIO(client.get("/exports/enterprises.xlsx").data)).active
    assert ws.cell(row=1, column=1).value == "Enterprise name"


def test_needs_visits_and_candidates_export(client, world, login_as, db):
    officer = factories.user("officer", region=world.county_x, username="o1")
    factories.visit(world.ent_x, officer, summary="=cmd|' /C calc'!A0")
    factories.need(world.ent_x, owner=officer, title="融资需求")
    factories.need(world.ent_z, title="外市需求")
    db.session.commit()
    login_as("manager", region=world.city)
    needs = load_workbook(io.BytesIO(client.get("/exports/needs.xlsx?status=").data)).active
    titles = [r[3] for r in needs.iter_rows(min_row=2, values_only=True)]
    assert titles == ["融资需求"]
    visits = load_workbook(io.BytesIO(client.get("/exports/visits.xlsx").data)).active
    summaries = [r[6] for r in visits.iter_rows(min_row=2, values_only=True)]
    assert summaries == ["'=cmd|' /C calc'!A0"]
    pool = client.get("/exports/candidates.xlsx?tier=tech_sme")
    assert pool.status_code == 200
    assert client.get("/exports/nothing.xlsx").status_code == 404


# --- the command line ---

def test_cli_import_json_and_dry_run(app, world, tmp_path, db):
    data, _ = last_years_enterprises()
    path = tmp_path / "名单.xlsx"
    path.write_bytes(data)
    runner = app.test_cli_runner()
    db.session.commit()
    result = runner.invoke(args=["import", "enterprises", str(path), "--dry-run", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0)
    assert report["rejected"][0] == {"row": 8, "column": "统一社会信用代码", "reason": "校验位错误"}
    assert count(db, Enterprise) == 4 and count(db, ImportJob) == 0
    result = runner.invoke(args=["import", "enterprises", str(path), "--all-or-nothing"])
    assert result.exit_code == 0 and "nothing written" in result.output
    assert count(db, Enterprise) == 4
    result = runner.invoke(args=["import", "enterprises", str(path)])
    assert result.exit_code == 0 and "created 3" in result.output
    assert count(db, Enterprise) == 7
    assert db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc())).status == "done"


def test_cli_import_unreadable_file_exits_2(app, world, tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"%PDF-1.4")
    result = app.test_cli_runner().invoke(args=["import", "figures", str(path)])
    assert result.exit_code == 2


def test_cli_export(app, world, tmp_path):
    out = tmp_path / "e.xlsx"
    result = app.test_cli_runner().invoke(args=["export", "enterprises", str(out), "--region", "640104"])
    assert result.exit_code == 0, result.output
    ws = load_workbook(out).active
    assert ws.max_row == 3


def test_a_manager_imports_last_years_list_fixes_the_rejected_rows_and_exports_it_back(client, world, login_as, db):
    """The issue's story: a city manager imports the county's spreadsheet, fixes the rejected rows, exports."""
    from tests.io.sheets import valid_uscc

    manager = login_as("manager", region=world.city)
    data, _ = last_years_enterprises()
    upload(client, data)
    job = db.session.scalar(select(ImportJob))
    assert (job.created, job.rejected) == (3, 3)
    client.post(f"/imports/{job.id}/confirm")
    fixed = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码", "技术领域", "是否规上"],
             ["宁夏丁电子有限公司", valid_uscc(9004), "640104", "C3911", "电子信息", "是"],
             ["宁夏戊有限公司", valid_uscc(9005), "640105", "C35", "新材料", "否"],
             ["外市企业", valid_uscc(9006, "640202"), "640202", "C35", None, None]]  # another city: refused
    upload(client, xlsx(fixed))
    job2 = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
    assert (job2.created, job2.rejected) == (2, 1) and job2.rejects[0]["column"] == "行政区划代码"
    client.post(f"/imports/{job2.id}/confirm")
    assert count(db, Enterprise) == 4 + 5
    assert db.session.scalar(select(func.count()).select_from(ImportJob).where(
        ImportJob.created_by_id == manager.id, ImportJob.status == "done")) == 2
    ws = load_workbook(io.BytesIO(client.get("/exports/enterprises.xlsx").data)).active
    assert ws.max_row == 1 + 3 + 5  # the city's three and the five imported
