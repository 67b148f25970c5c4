"""Attachments: recognised by content, size-limited, stored outside static/ at random names, streamed only to
those who may read the record, deleted by their uploader or an admin (audited)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crm.evidence import services
from crm.evidence.models import Attachment
from tests import factories
from tests.evidence.conftest import DOCX, HTML, XLSX, office_bytes, png_bytes
from tests.helpers import text, zh
from tests.service.conftest import audit_events, count


@pytest.fixture
def visit(world, staff, db):
    v = factories.visit(world.ent_x, staff["officer_x"])
    db.session.commit()
    return v


def _files(app) -> list[Path]:
    return [p for p in Path(app.config["ATTACHMENTS_DIR"]).rglob("*") if p.is_file()]


def test_a_photo_is_stored_outside_static_at_a_random_sharded_name_and_streamed_back(
        app, client, login_as, staff, visit, upload, db):
    login_as(staff["officer_x"])
    content = png_bytes()
    response = upload("visit", visit.id, ("工厂 门口.PNG", content, "text/html"))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/visits/{visit.id}#attachments")
    [a] = db.session.scalars(select(Attachment)).all()
    # the type comes from the bytes, not from the client's claim
    assert (a.parent_type, a.parent_id, a.mime, a.size, a.original_name) == (
        "visit", visit.id, "image/png", len(content), "工厂 门口.PNG")
    assert a.enterprise_id == visit.enterprise_id and a.uploaded_by_id == staff["officer_x"].id
    path = services.stored_path(a.stored_name)
    assert path.read_bytes() == content
    root = Path(app.config["ATTACHMENTS_DIR"])
    assert path.relative_to(root).parts == (a.stored_name[:2], a.stored_name[2:4], a.stored_name)
    assert len(a.stored_name) == 32 and "PNG" not in a.stored_name
    assert "static" not in path.parts
    [event] = audit_events(db, "attachments", "create")
    assert event.enterprise_id == visit.enterprise_id and event.changes["original_name"][1] == "工厂 门口.PNG"

    # another officer of the region reads the visit, so the photo too: inline, with its stored type, nosniff
    login_as(staff["officer_x2"])
    got = client.get(f"/attachments/{a.id}")
    assert got.status_code == 200 and got.data == content
    assert got.mimetype == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert not got.headers.get("Content-Disposition", "").startswith("attachment")
    assert "default-src 'none'" in got.headers["Content-Security-Policy"]
    page = client.get(f"/visits/{visit.id}")
    assert f"/attachments/{a.id}" in text(page)


def test_an_html_file_renamed_jpg_is_refused_and_nothing_is_kept(app, client, login_as, staff, visit, upload, db):
    login_as(staff["officer_x"])
    before = len(_files(app))
    response = upload("visit", visit.id, ("photo.jpg", HTML, "image/jpeg"))
    assert response.status_code == 422
    assert "photo.jpg" in text(response)
    assert count(db, Attachment) == 0 and len(_files(app)) == before
    assert audit_events(db, "attachments") == []
    # a ZIP that is no Office file, and an empty file, are refused too
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.html", HTML)
    assert upload("visit", visit.id, ("report.docx", buffer.getvalue())).status_code == 422
    assert upload("visit", visit.id, ("empty.png", b"")).status_code == 422
    assert count(db, Attachment) == 0


def test_a_refused_batch_leaves_no_file_behind(app, client, login_as, staff, visit, upload, db):
    """The first file was written before the second was refused: the rollback deletes it."""
    login_as(staff["officer_x"])
    before = len(_files(app))
    response = upload("visit", visit.id, ("good.png", png_bytes()), ("bad.jpg", HTML, "image/jpeg"))
    assert response.status_code == 422 and "bad.jpg" in text(response)
    assert count(db, Attachment) == 0 and len(_files(app)) == before


def test_a_file_over_the_limit_is_refused(app, client, login_as, staff, visit, upload, db, monkeypatch):
    login_as(staff["officer_x"])
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1024)
    big = png_bytes(64, 64, (1, 2, 3)) + b"\x00" * 2048
    response = upload("visit", visit.id, ("big.png", big))
    assert response.status_code == 422 and "big.png" in text(response)
    assert count(db, Attachment) == 0
    # a request body over MAX_CONTENT_LENGTH is refused by Flask before any view: the 413 page
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    response = upload("visit", visit.id, ("big.png", big))
    assert response.status_code == 413 and zh("The upload is too large.") in text(response)
    assert count(db, Attachment) == 0


def test_the_default_limits(app):
    assert app.config["ATTACHMENT_MAX_BYTES"] == 10 * 1024 * 1024
    assert app.config["MAX_CONTENT_LENGTH"] >= app.config["ATTACHMENT_MAX_BYTES"]


def test_pdf_and_office_files_are_downloads_and_recognised_by_their_parts(client, login_as, staff, visit, upload, db):
    login_as(staff["officer_x"])
    files = [("minutes.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), ("纪要.docx", office_bytes(DOCX)),
             ("figures.xlsx", office_bytes(XLSX))]
    assert upload("visit", visit.id, *files).status_code == 303
    found = {a.original_name: a for a in db.session.scalars(select(Attachment))}
    assert found["minutes.pdf"].mime == "application/pdf"
    assert found["纪要.docx"].mime.endswith("wordprocessingml.document")
    assert found["figures.xlsx"].mime.endswith("spreadsheetml.sheet")
    got = client.get(f"/attachments/{found['minutes.pdf'].id}")
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_another_regions_officer_gets_404_and_the_enterprise_user_403(client, login_as, staff, visit, upload, db):
    login_as(staff["officer_x"])
    assert upload("visit", visit.id, ("a.png", png_bytes())).status_code == 303
    a = db.session.scalars(select(Attachment)).one()
    login_as(staff["officer_y"])
    assert client.get(f"/attachments/{a.id}").status_code == 404
    assert upload("visit", visit.id, ("b.png", png_bytes())).status_code == 404
    assert client.post(f"/attachments/{a.id}/delete").status_code == 404
    login_as(staff["manager_other"])
    assert client.get(f"/attachments/{a.id}").status_code == 404
    # the enterprise's own contact may not read the bureau's attachments
    login_as(staff["firm"])
    assert client.get(f"/attachments/{a.id}").status_code == 403
    assert client.get(f"/attachments/visit/{visit.id}").status_code == 403
    assert upload("visit", visit.id, ("c.png", png_bytes())).status_code == 403
    assert count(db, Attachment) == 1


def test_delete_by_the_uploader_or_an_admin_audited(app, client, login_as, staff, visit, upload, db):
    login_as(staff["officer_x"])
    upload("visit", visit.id, ("a.png", png_bytes()), ("b.png", png_bytes(2, 2)))
    a, b = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    path_a = services.stored_path(a.stored_name)
    login_as(staff["officer_x2"])  # reads the visit, did not upload
    assert client.post(f"/attachments/{a.id}/delete").status_code == 403
    login_as(staff["officer_x"])
    assert client.post(f"/attachments/{a.id}/delete").status_code == 303
    assert not path_a.exists()
    login_as(staff["admin"])
    assert client.post(f"/attachments/{b.id}/delete").status_code == 303
    assert count(db, Attachment) == 0
    deleted = audit_events(db, "attachments", "delete")
    assert [e.changes["original_name"][0] for e in deleted] == ["a.png", "b.png"]


def test_a_needs_files_follow_the_needs_rules(client, login_as, staff, world, upload, db):
    need = factories.need(world.ent_x, owner=staff["officer_x"])
    db.session.commit()
    login_as(staff["officer_x3"])  # reads the need, may not work it
    assert upload("need", need.id, ("a.png", png_bytes())).status_code == 403
    login_as(staff["officer_x"])
    assert upload("need", need.id, ("a.png", png_bytes())).status_code == 303
    a = db.session.scalars(select(Attachment)).one()
    assert client.get(f"/needs/{need.id}").status_code == 200
    login_as(staff["manager"])
    assert client.get(f"/attachments/{a.id}").status_code == 200
    login_as(staff["officer_z"])
    assert client.get(f"/attachments/{a.id}").status_code == 404


def test_a_certifications_files_follow_the_enterprise_pages_rules(client, login_as, staff, world, upload, db):
    cert = factories.certification(world.ent_x, "high_tech")
    serving = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    db.session.commit()
    login_as(staff["officer_x"])  # reads ent_x, does not serve it: may not add
    assert upload("certification", cert.id, ("cert.pdf", b"%PDF-1.4 x")).status_code == 403
    login_as(serving)
    assert upload("certification", cert.id, ("cert.pdf", b"%PDF-1.4 x")).status_code == 303
    page = client.get(f"/attachments/certification/{cert.id}")
    assert page.status_code == 200 and "cert.pdf" in text(page)
    a = db.session.scalars(select(Attachment)).one()
    login_as(staff["officer_y"])
    assert client.get(f"/attachments/{a.id}").status_code == 404
    assert client.get(f"/attachments/certification/{cert.id}").status_code == 404
    login_as(staff["firm"])
    assert client.get(f"/attachments/{a.id}").status_code == 403


def test_unknown_kinds_and_missing_records_are_404(client, login_as, staff, upload):
    login_as(staff["admin"])
    assert client.get("/attachments/enterprise/1").status_code == 404
    assert client.get("/attachments/visit/999999").status_code == 404
    assert client.get("/attachments/999999").status_code == 404


@pytest.mark.parametrize(("head", "expected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"%PDF-1.4\n", "application/pdf"),
    (b"GIF89a", None),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", None),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
    (b"PK\x03\x04not really a zip", None),
])
def test_sniff_by_content(head, expected):
    import io

    assert services.sniff(io.BytesIO(head + b"\x00" * 32)) == expected


def test_office_files_by_their_content_types_entry():
    import io

    assert services.sniff(io.BytesIO(office_bytes(XLSX))).endswith("spreadsheetml.sheet")
    assert services.sniff(io.BytesIO(office_bytes("application/vnd.ms-excel.sheet.macroEnabled.main+xml"))) is None
    import openpyxl

    real = io.BytesIO()
    openpyxl.Workbook().save(real)
    assert services.sniff(real) == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_stored_names_cannot_leave_the_folder():
    with pytest.raises(ValueError):
        services.stored_path("../../etc/passwd")
