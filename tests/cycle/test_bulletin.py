"""The monthly bulletin (督查通报): commentary kept per region and month, the PDF (text checked with pdftotext)
and the Excel workbook with targets and lights, the ranking, the month's movements."""
import subprocess
from datetime import date
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.cycle.models import Bulletin
from crm.pipeline.models import Target
from tests import factories
from tests.helpers import text


def _pdf_text(body: bytes, tmp_path) -> str:
    path = tmp_path / "bulletin.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_bulletin_pdf_and_excel(client, login_as, world, db, tmp_path):
    for region, value in ((world.county_x, 4), (world.county_y, 2)):
        db.session.add(Target(year=2025, region_id=region.id, metric="new_certs", tier="high_tech",
                              value=Decimal(value)))
    factories.certification(world.ent_x, "high_tech", issued_on=date(2025, 10, 9))
    factories.certification(world.ent_y, "high_tech", issued_on=date(2025, 3, 9))
    db.session.commit()
    login_as("manager", region=world.city)
    bad = client.post("/cycle/bulletins/new", data={"region_id": world.city.id, "year": "2025", "month": "13"})
    assert bad.status_code == 422 and db.session.scalar(select(func.count()).select_from(Bulletin)) == 0
    commentary = "兴庆区本月新增高企1家，西夏区进度滞后。"
    response = client.post("/cycle/bulletins/new", data={
        "region_id": world.city.id, "year": "2025", "month": "10", "commentary": commentary})
    assert response.status_code == 303
    bulletin = db.session.scalar(select(Bulletin))
    assert "2025-10" in text(client.get("/cycle/bulletins"))

    pdf = client.get(f"/cycle/bulletins/{bulletin.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    words = _pdf_text(pdf.data, tmp_path)
    for expected in ("银川市", "兴庆区", "西夏区", "兴庆区本月新增高企1家，西夏区进度滞后。"):
        assert expected in words, expected

    xlsx = client.get(f"/cycle/bulletins/{bulletin.id}.xlsx")
    wb = load_workbook(BytesIO(xlsx.data))
    assert len(wb.sheetnames) == 4
    ranking = list(wb.worksheets[1].iter_rows(min_row=2, values_only=True))
    # 兴庆区 1 of 4 (25 %), 西夏区 1 of 2 (50 %): 西夏区 ranks first
    assert [(r[0], r[1]) for r in ranking] == [(1, "西夏区"), (2, "兴庆区")]
    movements = {r[0]: r[1:] for r in wb.worksheets[2].iter_rows(min_row=2, values_only=True)}
    high_tech_gained = 2 * 2  # (gained, lost) per tier, high_tech the third tier
    assert movements["兴庆区"][high_tech_gained] == 1 and movements["西夏区"][high_tech_gained] == 0

    login_as("manager", region=world.other_city)
    assert client.get(f"/cycle/bulletins/{bulletin.id}.pdf").status_code == 404
    login_as("officer", region=world.county_x)
    assert client.get("/cycle/bulletins").status_code == 403
