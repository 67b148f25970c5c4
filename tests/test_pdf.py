"""The PDF renderer: Chinese in an embedded CJK font, and nothing fetched from outside static/."""
import subprocess

import pytest

from crm.core.pdf import CJK_FONT_FAMILY, StaticOnlyFetcher, render_pdf

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<style>@page {{ size: A4; margin: 18mm; }} body {{ font-family: "{font}", sans-serif; }}</style></head>
<body><h1>认定准备情况表</h1><p>国家高新技术企业 研发费用 101.4 万元</p>{extra}</body></html>"""


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _fonts(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout


def test_chinese_text_in_an_embedded_simplified_chinese_font(tmp_path):
    pdf = render_pdf(PAGE.format(font=CJK_FONT_FAMILY, extra=""))
    assert pdf.startswith(b"%PDF")
    assert "认定准备情况表" in _text(pdf, tmp_path)
    fonts = _fonts(pdf, tmp_path)
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded
    assert any("Noto-Sans-CJK-SC" in line for line in cjk), fonts  # SC, not the JP face


@pytest.mark.parametrize("evil", [
    '<img src="file:///etc/passwd">',
    '<link rel="stylesheet" href="file:///etc/passwd">',
    '<img src="http://127.0.0.1:9/x.png">',
    '<img src="https://example.com/x.png">',
    '<img src="../config.py">',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
])
def test_nothing_outside_static_is_fetched(evil):
    fetcher = StaticOnlyFetcher()
    render_pdf(PAGE.format(font=CJK_FONT_FAMILY, extra=evil), fetcher=fetcher)
    assert fetcher.refused, evil


def test_files_under_static_are_served():
    fetcher = StaticOnlyFetcher()
    render_pdf(PAGE.format(font=CJK_FONT_FAMILY, extra='<link rel="stylesheet" href="css/app.css">'),
               fetcher=fetcher)
    assert fetcher.refused == []


def test_static_files_are_served_with_their_content_type():
    """WeasyPrint ignores a stylesheet whose type is not text/css."""
    from crm.core.pdf import STATIC_ROOT

    response = StaticOnlyFetcher().fetch((STATIC_ROOT / "css" / "app.css").as_uri())
    assert response.content_type == "text/css" and response.charset == "utf-8"
