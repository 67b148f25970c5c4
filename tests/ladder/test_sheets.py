"""Readiness sheets (认定准备情况表): the PDF's text and font, the locked-down fetcher, access, the CLI, batches."""
import re
import subprocess
import zipfile
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from crm.core import clock
from crm.core.db import utcnow
from crm.core.pdf import StaticOnlyFetcher
from crm.ladder import documents
from crm.ladder.models import ReadinessInputs, SheetBatch, SheetBatchStatus
from tests import factories
from tests.helpers import text, zh

EVIL_FILE = '<img src="file:///etc/passwd">宁夏测试'
EVIL_HTTP = '<img src="http://127.0.0.1:9/x.png"><link rel="stylesheet" href="https://example.com/x.css">宁夏测试'


def _flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _pdf_text(pdf: bytes, tmp_path, name: str = "sheet.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _pdf_pages(pdf: bytes, tmp_path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _prepare(enterprise, db, *, rd=Decimal("100")):
    """Three years of figures with R&D below 5% of revenue (high_tech's R&D criterion fails with a gap)."""
    latest = clock.today().year - 1
    for year in (latest - 2, latest - 1, latest):
        factories.figures(enterprise, year, rd_expense=rd, rd_expense_domestic=rd)
    factories.ip(enterprise, "invention_patent")
    db.session.add(ReadinessInputs(enterprise_id=enterprise.id, resident=True, restricted_industry=False,
                                   clean_record=True, ip_advancement=Decimal(6), ip_core_support=Decimal(6),
                                   ip_acquisition=Decimal(5), ip_standards_bonus=Decimal(0),
                                   management=Decimal(14)))
    db.session.commit()
    return enterprise


@pytest.fixture
def ent(world, db):
    return _prepare(world.ent_x, db)


def _sheet_url(enterprise_id, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/enterprises/{enterprise_id}/readiness/sheet.pdf" + (f"?{query}" if query else "")


# --- one sheet -------------------------------------------------------------------------------


def test_chinese_sheet_text(client, login_as, world, ent, tmp_path):
    login_as("officer", region=world.county_x, name="李晓梅")
    response = client.get(_sheet_url(ent.id, tier="high_tech"))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="readiness-sheet-{ent.uscc}-high_tech.pdf"' in disposition
    assert "filename*=UTF-8''" + quote(f"认定准备情况表-{ent.uscc}-high_tech.pdf", safe="") in disposition
    content = _pdf_text(response.data, tmp_path)
    flat = _flat(content)
    assert ent.name in content and ent.uscc in content
    assert "国家高新技术企业" in content
    assert _flat(zh("%(tier)s readiness sheet", tier="国家高新技术企业")) in flat
    assert re.search(r"近三年研发费用合计需再增加[\d.]+万元", flat)  # the gap, as the engine words it
    assert "李晓梅" in content  # prepared by
    assert "兴庆区" in content and "银川市" in content  # the region's full path
    assert "第1页" in flat
    pages = _pdf_pages(response.data, tmp_path)
    assert _flat(zh("Page %(page)s of %(pages)s", page=pages, pages=pages)) in flat
    # sheet.css was applied: the running footer repeats the USCC on every page
    assert content.count(ent.uscc) >= 2 + pages


def test_cjk_font_is_embedded(app, ent, tmp_path):
    pdf = documents.readiness_sheet_pdf(ent, "high_tech", lang="zh")
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    # the subset of Noto Sans CJK SC that `flask pdf-fonts` builds (tests/conftest.py), both weights
    cjk = [line for line in fonts.splitlines() if "Miaopu-SC" in line]
    assert len(cjk) == 2, fonts
    assert all(re.search(r"\byes\s+yes\s+yes\b", line) for line in cjk), fonts  # embedded, subset, unicode
    assert not [line for line in fonts.splitlines() if "CJK-JP" in line], fonts


def test_english_sheet(client, login_as, world, ent, tmp_path):
    login_as("manager", region=world.city)
    response = client.get(_sheet_url(ent.id, tier="high_tech", lang="en"))
    assert response.status_code == 200
    assert f'filename="readiness-sheet-{ent.uscc}-high_tech.pdf"' in response.headers["Content-Disposition"]
    content = _pdf_text(response.data, tmp_path)
    flat = _flat(content)
    for label in ("National high-tech enterprise readiness sheet", "Prepared by", "Unified social credit code",
                  "Criteria", "Score breakdown", "Missing data", "Service officer's signature", "Page 1 of"):
        assert _flat(label) in flat, label
    assert _flat("R&D expense over the last three years needs another") in flat  # the engine in English too
    assert "认定准备情况表" not in content and "第1页" not in flat
    assert ent.name in content  # data stays as recorded


def test_html_lang_follows_the_sheet_language(app, ent):
    zh_html = documents.readiness_sheet_html(ent, "high_tech", lang="zh")
    en_html = documents.readiness_sheet_html(ent, "high_tech", lang="en")
    assert '<html lang="zh-CN">' in zh_html and '<html lang="en">' in en_html
    # the Simplified-Chinese font in both languages: the subset first, the system's face behind it
    stack = 'font-family: "Miaopu SC", "Noto Sans CJK SC", sans-serif'
    assert stack in zh_html and stack in en_html


def test_regional_tier_carries_its_notice(app, ent, tmp_path):
    flat = _flat(_pdf_text(documents.readiness_sheet_pdf(ent, "gazelle", lang="zh"), tmp_path))
    assert "瞪羚企业" in flat and "地方标准默认值" in flat
    assert "regional-default" in flat


class RecordingFetcher(StaticOnlyFetcher):
    """The static-only fetcher, remembering what it served."""

    def __init__(self):
        super().__init__()
        self.served = []

    def fetch(self, url, headers=None):
        response = super().fetch(url, headers)
        self.served.append(url)
        return response


@pytest.mark.parametrize("name", [EVIL_FILE, EVIL_HTTP])
def test_markup_in_the_data_fetches_nothing(app, world, db, name, tmp_path):
    enterprise = _prepare(factories.enterprise(world.county_x, name=name, address=name), db)
    fetcher = RecordingFetcher()
    pdf = documents.readiness_sheet_pdf(enterprise, "high_tech", lang="zh", fetcher=fetcher, prepared_by=name)
    assert fetcher.refused == []  # nothing was even attempted
    assert [url.rsplit("/static/", 1)[1] for url in fetcher.served] == ["css/sheet.css"]
    assert _flat(name) in _flat(_pdf_text(pdf, tmp_path))  # shown as text


def test_page_counter_css_is_a_safe_css_value():
    css = documents.page_counter_css('第 %(page)s 页 "共" %(pages)s 页</style>')
    assert css == r'"第 " counter(page) " 页 \"共\" " counter(pages) " 页\3C /style>"'


# --- access and arguments ----------------------------------------------------------------------


@pytest.mark.parametrize("role,kwargs,status", [
    ("officer", "county_x", 200),
    ("officer", "county_y", 404),  # an officer of another county
    ("manager", "other_city", 404),
    ("enterprise", "ent_x", 403),  # its own: from the portal (/portal/readiness/sheet.pdf), not here
    ("enterprise", "ent_y", 403),  # another enterprise
    ("admin", None, 200),
])
def test_access(client, login_as, world, ent, role, kwargs, status):
    if role == "enterprise":
        login_as(role, enterprise=getattr(world, kwargs))
    elif kwargs:
        login_as(role, region=getattr(world, kwargs))
    else:
        login_as(role)
    assert client.get(_sheet_url(ent.id, tier="tech_sme")).status_code == status


def test_anonymous_is_sent_to_sign_in(client, ent):
    response = client.get(_sheet_url(ent.id))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_tier_or_language_is_a_bad_request(client, login_as, world, ent):
    login_as("officer", region=world.county_x)
    assert client.get(_sheet_url(ent.id, tier="unicorn")).status_code == 400
    assert client.get(_sheet_url(ent.id, tier="high_tech", lang="fr")).status_code == 400
    assert client.get(_sheet_url(999999, tier="high_tech")).status_code == 404


def test_tier_defaults_to_the_next_tier(client, login_as, world, ent, tmp_path):
    factories.certification(ent, "tech_sme")
    factories.certification(world.ent_y, "demonstration")
    login_as("admin")
    response = client.get(_sheet_url(ent.id))
    assert "-little_giant.pdf" in response.headers["Content-Disposition"]
    assert "科技小巨人企业" in _pdf_text(response.data, tmp_path)
    top = client.get(_sheet_url(world.ent_y.id))  # holds the top tier: its own tier
    assert "-demonstration.pdf" in top.headers["Content-Disposition"]


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_writes_a_pdf(app, ent, tmp_path):
    out = tmp_path / "sheet.pdf"
    result = app.test_cli_runner().invoke(args=["readiness", "sheet", ent.uscc, "--tier", "high_tech",
                                                "-o", str(out), "--lang", "en", "--prepared-by", "Li"])
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    content = _pdf_text(pdf, tmp_path, "cli.pdf")
    assert ent.uscc in content and "Li" in content and "readiness sheet" in content


@pytest.mark.parametrize("args,reason", [
    (["91640104MA00000000"], "no enterprise"),
    (["{uscc}", "--tier", "unicorn"], "unknown tier"),
    (["{uscc}", "--lang", "fr"], "unknown language"),
])
def test_cli_exits_2_with_a_reason(app, ent, tmp_path, args, reason):
    out = tmp_path / "sheet.pdf"
    args = [a.format(uscc=ent.uscc) for a in args]
    result = app.test_cli_runner().invoke(args=["readiness", "sheet", *args, "-o", str(out)])
    assert result.exit_code == 2
    assert reason in result.stderr
    assert not out.exists()


# --- batches -----------------------------------------------------------------------------------


@pytest.fixture
def three(world, db):
    """Three candidates for high_tech in the city (ent_z is in another city)."""
    return [_prepare(e, db) for e in (world.ent_x, world.ent_park, world.ent_y)]


def _zip_pdfs(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist() if name.endswith(".pdf")}


def test_builder_makes_a_zip_of_every_sheet(app, db, world, three):
    creator = factories.user("manager", region=world.city, name="王建国")
    batch = documents.new_batch(creator, "high_tech", "zh", None, [e.id for e in three])
    db.session.commit()
    documents.build_batch(batch.id)
    db.session.expire_all()
    assert (batch.status, batch.done, batch.failed, batch.total) == ("done", 3, 0, 3)
    assert batch.started_at and batch.finished_at and batch.elapsed_ms > 0
    path = documents.batch_path(batch.id)
    pdfs = _zip_pdfs(path.read_bytes())
    assert sorted(pdfs) == sorted(f"认定准备情况表-{e.uscc}-high_tech.pdf" for e in three)
    assert all(pdf.startswith(b"%PDF") for pdf in pdfs.values())
    with zipfile.ZipFile(path) as zf:
        index = zf.read("index.csv").decode("utf-8-sig")
    assert all(e.uscc in index for e in three)
    assert not path.with_name(path.name + ".part").exists()
    documents.build_batch(batch.id)  # a second run builds nothing
    db.session.expire_all()
    assert batch.done == 3


def test_one_failing_sheet_does_not_lose_the_others(app, db, world, three, monkeypatch):
    creator = factories.user("admin")
    batch = documents.new_batch(creator, "high_tech", "en", None, [e.id for e in three])
    db.session.commit()
    real = documents.readiness_sheet_pdf

    def flaky(enterprise, *args, **kwargs):
        if enterprise.id == three[1].id:
            raise RuntimeError("the printer caught fire")
        return real(enterprise, *args, **kwargs)

    monkeypatch.setattr(documents, "readiness_sheet_pdf", flaky)
    documents.build_batch(batch.id)
    db.session.expire_all()
    assert (batch.status, batch.done, batch.failed) == ("done", 3, 1)
    assert batch.failures[0]["uscc"] == three[1].uscc and "printer caught fire" in batch.failures[0]["error"]
    pdfs = _zip_pdfs(documents.batch_path(batch.id).read_bytes())
    assert sorted(pdfs) == sorted(f"readiness-sheet-{e.uscc}-high_tech.pdf" for e in (three[0], three[2]))


def test_the_pool_starts_a_batch_and_shows_its_progress(client, login_as, world, three, db):
    manager = login_as("manager", region=world.city)
    response = client.post("/candidates/sheets?tier=high_tech", data={"lang": "zh"})
    assert response.status_code == 303
    batch = db.session.scalar(select(SheetBatch))
    assert response.headers["Location"].endswith(f"/candidates/sheets/{batch.id}")
    assert batch.created_by_id == manager.id and sorted(batch.enterprise_ids) == sorted(e.id for e in three)
    assert batch.status == "done"  # built synchronously when testing
    page = text(client.get(f"/candidates/sheets/{batch.id}"))
    assert "3 / 3" in page and f"/candidates/sheets/{batch.id}/download" in page
    assert 'hx-trigger' not in page  # finished: no polling
    fragment = client.get(f"/candidates/sheets/{batch.id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in text(fragment) and "3 / 3" in text(fragment)
    download = client.get(f"/candidates/sheets/{batch.id}/download")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    assert len(_zip_pdfs(download.data)) == 3


def test_region_filter_and_lang(client, login_as, world, three, db):
    login_as("admin")
    response = client.post("/candidates/sheets", data={"tier": "high_tech", "region": world.county_y.id,
                                                       "lang": "en"})
    assert response.status_code == 303
    batch = db.session.scalar(select(SheetBatch))
    assert batch.enterprise_ids == [world.ent_y.id] and batch.lang == "en" and batch.region_id == world.county_y.id


def test_only_the_creator_or_an_admin_sees_a_batch(client, login_as, world, three, db):
    creator = factories.user("officer", region=world.county_x)
    batch = documents.new_batch(creator, "high_tech", "zh", None, [three[0].id])
    db.session.commit()
    documents.build_batch(batch.id)
    urls = [f"/candidates/sheets/{batch.id}", f"/candidates/sheets/{batch.id}/download"]
    login_as("officer", region=world.county_x)  # same county, another officer
    assert [client.get(u).status_code for u in urls] == [404, 404]
    login_as("manager", region=world.city)
    assert [client.get(u).status_code for u in urls] == [404, 404]
    login_as("enterprise", enterprise=world.ent_x)
    assert [client.get(u).status_code for u in urls] == [403, 403]
    login_as(creator)
    assert [client.get(u).status_code for u in urls] == [200, 200]
    login_as("admin")
    assert [client.get(u).status_code for u in urls] == [200, 200]


def test_progress_fragment_polls_while_running(client, login_as, world, three, db):
    creator = login_as("officer", region=world.county_x)
    batch = documents.new_batch(creator, "high_tech", "zh", None, [e.id for e in three])
    batch.status, batch.done = SheetBatchStatus.RUNNING, 1
    db.session.commit()
    fragment = text(client.get(f"/candidates/sheets/{batch.id}", headers={"HX-Request": "true"}))
    assert 'hx-trigger="every 1s"' in fragment and f'hx-get="/candidates/sheets/{batch.id}"' in fragment
    assert zh("Generated %(done)s / %(total)s", done=1, total=3) in fragment
    assert 'data-progress="33"' in fragment
    assert "/download" not in fragment
    assert client.get(f"/candidates/sheets/{batch.id}/download").status_code == 404  # not ready


def test_a_batch_without_progress_is_shown_failed(client, login_as, world, three, db):
    creator = login_as("officer", region=world.county_x)
    batch = documents.new_batch(creator, "high_tech", "zh", None, [e.id for e in three])
    batch.status, batch.done = SheetBatchStatus.RUNNING, 2
    batch.updated_at = utcnow() - documents.STALE_AFTER - timedelta(seconds=5)
    db.session.commit()
    view = documents.batch_view(batch)
    assert view.stalled and view.status == "failed" and not view.polling
    fragment = text(client.get(f"/candidates/sheets/{batch.id}", headers={"HX-Request": "true"}))
    assert "hx-trigger" not in fragment
    assert zh("Stopped: no progress for %(n)s minutes (the server may have been restarted). "
              "Start the batch again from the candidate pool.", n=10) in fragment


def test_the_real_thread_builds_the_batch(app, client, login_as, world, three, db, monkeypatch):
    monkeypatch.setitem(app.config, "SHEET_BATCH_BACKGROUND", True)
    login_as("manager", region=world.city)
    response = client.post("/candidates/sheets", data={"tier": "high_tech", "lang": "zh"})
    assert response.status_code == 303
    documents.wait_for_batches(120)
    assert documents._THREADS == {}
    batch = db.session.scalar(select(SheetBatch))
    db.session.refresh(batch)
    assert (batch.status, batch.done, batch.failed) == ("done", 3, 0)
    assert len(_zip_pdfs(documents.batch_path(batch.id).read_bytes())) == 3


def test_too_many_enterprises_are_refused_with_a_message(client, login_as, world, three, db, monkeypatch):
    monkeypatch.setattr(documents, "BATCH_LIMIT", 2)
    login_as("admin")
    response = client.post("/candidates/sheets", data={"tier": "high_tech"})
    assert response.status_code == 303 and response.headers["Location"] == "/candidates?tier=high_tech"
    assert zh("%(n)s enterprises match; a batch of sheets holds at most %(max)s. Narrow the filter, "
              "e.g. to one county or park.", n=4, max=2) in text(client.get(response.headers["Location"]))
    assert db.session.scalar(select(func.count()).select_from(SheetBatch)) == 0


def test_who_may_start_a_batch(client, login_as, world, three, db):
    login_as("enterprise", enterprise=world.ent_x)
    assert client.post("/candidates/sheets", data={"tier": "high_tech"}).status_code == 403
    login_as("officer", region=world.county_x)
    assert client.post("/candidates/sheets", data={"tier": "unicorn"}).status_code == 400
    assert client.post("/candidates/sheets", data={"tier": "high_tech", "region": "x"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(SheetBatch)) == 0


def test_the_pool_page_offers_the_batch(client, login_as, world, three):
    login_as("officer", region=world.county_x)
    page = text(client.get(f"/candidates?tier=high_tech&region={world.county_x.id}"))
    assert 'action="/candidates/sheets"' in page and 'name="lang" value="en"' in page
    assert f'name="region" value="{world.county_x.id}"' in page and 'name="tier" value="high_tech"' in page


def test_old_zips_are_pruned_and_the_page_says_so(client, login_as, world, three, db):
    import os
    import time

    creator = login_as("officer", region=world.county_x)
    batch = factories.sheet_batch(creator, three[:1])
    path = documents.batch_path(batch.id)
    stale = documents.batch_dir() / "999999.zip.part"
    stale.write_bytes(b"")
    week_ago = time.time() - documents.KEEP_ZIPS.total_seconds() - 60
    os.utime(stale, (week_ago, week_ago))
    assert documents.prune_batch_files() == 1 and path.is_file() and not stale.exists()
    os.utime(path, (week_ago, week_ago))
    assert documents.prune_batch_files() == 1 and not path.exists()
    page = text(client.get(f"/candidates/sheets/{batch.id}"))
    assert "/download" not in page
    assert zh("The ZIP is kept for %(n)s days and has been deleted; start the batch again from the candidate pool.",
              n=7) in page
    assert client.get(f"/candidates/sheets/{batch.id}/download").status_code == 404
