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


# --- the font subset (crm.core.fonts): built once, named first, the system font behind it -----------------------

def _page_with_fonts(body: str) -> str:
    """A page naming the fonts as the documents do (document_fonts())."""
    from flask import render_template_string

    from crm.core.pdf import document_fonts

    return render_template_string(
        '{% import "macros/pdf.html" as pdf %}<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
        "@page { size: A6; margin: 8mm; } {{ pdf.font_rules(fonts) }} "
        "body { font-family: {{ pdf.font_family(fonts) }}; font-size: 28pt; }</style></head><body>{{ body|safe }}</body></html>",
        body=body, **document_fonts())


def _png(pdf: bytes, tmp_path, name: str) -> bytes:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-singlefile", str(path), str(tmp_path / name)], check=True)
    return (tmp_path / f"{name}.png").read_bytes()


def test_the_subset_keeps_gb2312_and_the_symbols_the_documents_use():
    from crm.core.fonts import charset

    kept = charset()
    hanzi = [c for c in kept if 0x4E00 <= c <= 0x9FFF]
    assert len(hanzi) == 6763  # GB2312's 汉字, levels 1 and 2
    assert {ord(c) for c in "认定准备情况表万元≥≤×✓■●○—…（）：；「」①ＡＢ"} <= kept
    assert ord("珺") not in kept and ord("堃") not in kept  # outside GB2312: drawn by the system font


def test_a_built_subset_is_embedded_in_place_of_the_system_font(app, font_subset_dir, tmp_path):
    app.config["PDF_FONT_DIR"] = str(font_subset_dir)
    pdf = render_pdf(_page_with_fonts("认定准备情况表 <b>研发费用 101.4 万元</b>"))
    fonts = _fonts(pdf, tmp_path)
    assert "Miaopu-SC " in fonts and "Miaopu-SC-Bold" in fonts, fonts  # both weights, from the subset
    assert "Noto-Sans-CJK" not in fonts, fonts  # nothing left for the system font
    assert all(" yes " in line for line in fonts.splitlines() if "Miaopu" in line), fonts
    assert "认定准备情况表研发费用101.4万元" in "".join(_text(pdf, tmp_path).split())


def test_the_subset_draws_the_simplified_forms_of_the_system_font(app, font_subset_dir, tmp_path):
    """The same glyphs as Noto Sans CJK SC, pixel for pixel; its Japanese face draws these characters otherwise."""
    body = "骨直角 将写"  # the characters whose JP and SC forms differ
    app.config["PDF_FONT_DIR"] = str(font_subset_dir)
    subset = _png(render_pdf(_page_with_fonts(body)), tmp_path, "subset")
    system = _png(render_pdf(PAGE.format(font="Noto Sans CJK SC", extra="").replace(
        "<h1>认定准备情况表</h1><p>国家高新技术企业 研发费用 101.4 万元</p>", body).replace(
        "size: A4; margin: 18mm;", "size: A6; margin: 8mm;").replace(
        '"Noto Sans CJK SC", sans-serif;', '"Noto Sans CJK SC", sans-serif; font-size: 28pt;')), tmp_path, "system")
    japanese = _png(render_pdf(PAGE.format(font="Noto Sans CJK JP", extra="").replace(
        "<h1>认定准备情况表</h1><p>国家高新技术企业 研发费用 101.4 万元</p>", body).replace(
        "size: A4; margin: 18mm;", "size: A6; margin: 8mm;").replace(
        '"Noto Sans CJK JP", sans-serif;', '"Noto Sans CJK JP", sans-serif; font-size: 28pt;').replace(
        'lang="zh-CN"', 'lang="ja"')), tmp_path, "jp")
    assert subset == system
    assert japanese != system  # the comparison can tell the forms apart


def test_a_character_outside_the_subset_is_drawn_by_the_system_font(app, font_subset_dir, tmp_path):
    app.config["PDF_FONT_DIR"] = str(font_subset_dir)
    pdf = render_pdf(_page_with_fonts("宁夏珺堃科技有限公司"))
    fonts = _fonts(pdf, tmp_path)
    assert "Miaopu-SC" in fonts and "Noto-Sans-CJK-SC" in fonts, fonts
    assert "宁夏珺堃科技有限公司" in "".join(_text(pdf, tmp_path).split())


def test_without_the_subset_the_system_font_is_embedded(app, tmp_path):
    from crm.core.pdf import document_fonts

    app.config["PDF_FONT_DIR"] = str(tmp_path / "none")
    assert document_fonts()["fonts"] == {"faces": [], "families": ["Noto Sans CJK SC"], "subset_family": "Miaopu SC"}
    fonts = _fonts(render_pdf(_page_with_fonts("认定准备情况表")), tmp_path)
    assert "Noto-Sans-CJK-SC" in fonts and "Miaopu" not in fonts, fonts


def test_only_the_subset_files_are_served_from_the_font_folder(app, font_subset_dir, tmp_path):
    from crm.core.fonts import subset_faces

    fetcher = StaticOnlyFetcher()
    fetcher.allow(subset_faces(font_subset_dir).values())
    regular = subset_faces(font_subset_dir)[400]
    assert fetcher.fetch(regular.as_uri())
    with pytest.raises(ValueError):
        fetcher.fetch((font_subset_dir / "other.otf").as_uri())
    with pytest.raises(ValueError):
        fetcher.fetch(font_subset_dir.parent.as_uri() + "/miaopu.db")
    assert len(fetcher.refused) == 2


def test_the_command_builds_the_subset_once_and_says_what_is_missing(app, tmp_path, monkeypatch):
    from crm.core import fonts

    app.config["PDF_FONT_DIR"] = str(tmp_path / "fonts")
    monkeypatch.setattr(fonts, "FONT_DIRS", (tmp_path / "no-fonts",))
    result = app.test_cli_runner().invoke(args=["pdf-fonts"])
    assert result.exit_code == 1 and "install Debian's fonts-noto-cjk" in result.output
    assert not (tmp_path / "fonts").exists() or not list((tmp_path / "fonts").iterdir())
    built = []
    monkeypatch.setattr(fonts, "build", lambda folder: built.append(folder) or [])
    (tmp_path / "fonts").mkdir(exist_ok=True)
    for _weight, (_source, name) in fonts.FACES.items():
        (tmp_path / "fonts" / name).write_bytes(b"")
    result = app.test_cli_runner().invoke(args=["pdf-fonts"])
    assert result.exit_code == 0 and "already built" in result.output and built == []
