"""Every user-facing string has a zh_CN translation; placeholders survive translation."""
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "crm" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the code and templates now (what `make extract` would write)."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
        "--no-location", "-o", str(pot), str(ROOT),
    ])
    with pot.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def zh_catalogue():
    """The zh_CN catalogue: the one place a translation lives (a message outside it fails the test below)."""
    with CATALOGUE.open("rb") as f:
        return read_po(f)


def test_extraction_finds_the_messages(extracted):
    ids = {m.id for m in extracted if m.id}
    assert "Enterprise registry" in ids and "Check digit is wrong." in ids
    assert len(ids) > 300


def test_every_message_has_a_chinese_translation(extracted, zh_catalogue):
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = zh_catalogue.get(message.id)
        strings = translated.string if translated else None
        if isinstance(strings, tuple):
            strings = strings[0]
        if not translated or not strings or translated.fuzzy:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    assert missing == [], f"{len(missing)} messages lack a zh_CN translation (run `make extract`, then translate): {missing[:20]}"


def test_placeholders_are_kept(zh_catalogue):
    broken = []
    for message in zh_catalogue:
        if not message.id or not message.string:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        target = message.string if isinstance(message.string, str) else message.string[0]
        if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(target)):
            broken.append(source)
    assert broken == []


def test_no_raw_chinese_in_templates():
    """Chinese in templates must go through _(); otherwise English users see it untranslated."""
    cjk = re.compile(r"[\u4e00-\u9fff]")
    hits = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if cjk.search(line) and not re.search(r"_\(|gettext|\{%-?\s*trans", line):
                hits.append(f"{path.relative_to(ROOT)}:{n}")
    assert hits == []
