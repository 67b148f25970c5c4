"""The import's row check (crm.io.forms.RowChecker) is the row form's own: for every kind and for texts good and bad,
the same errors, in the same order, and the same data as the WTForms form bound and validated for the row."""
from __future__ import annotations

import itertools

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from crm.io.forms import ROW_FORMS, RowChecker
from tests.io.sheets import valid_uscc

GOOD_USCC = valid_uscc(9001)
TEXTS = {
    "uscc": [GOOD_USCC, GOOD_USCC.lower(), " " + GOOD_USCC[:9] + " " + GOOD_USCC[9:], GOOD_USCC[:-1] + "0", "", "123"],
    "name": ["宁夏甲科技有限公司", "", "  ", "甲" * 201],
    "region_code": ["640104", "", "64", "6401P1", "640104!"],
    "park": ["", "6401P1", "园" * 61],
    "established_on": ["2016-05-18", "2018/3/12", "", "2018-13-01", "昨天"],
    "industry_code": ["C3511", "c35", "", "C35111"],
    "tech_domain": ["", "新材料", "new_materials", "不存在的领域"],
    "is_above_scale": ["", "是", "否", "Y", "也许"],
    "address": ["", "银川市", "路" * 256],
    "year": ["2023", "", "23", "２０２３"],
    "revenue": ["3,200.50", "", "3200,5", "1.234", "-5", "１８０", "1e5"],
    "hightech_revenue": ["2300", ""],
    "net_assets": ["-20.5", ""],
    "employees": ["85", "", "八十五", "-1", "100000000"],
    "tech_staff": ["14", ""],
    "kind": ["发明专利", "invention_patent", "", "商标"],
    "title": ["一种装置", ""],
    "number": ["ZL1", ""],
    "granted_on": ["2022-03-01", "", "x"],
    "is_valid": ["是", "", "不知道"],
    "tier": ["国家高新技术企业", "tech_sme", "", "x"],
    "certificate_no": ["GR202464000001", "", "G" * 41],
    "issued_on": ["2024-11-20", ""],
    "expires_on": ["", "2027-11-19"],
    "status": ["", "有效", "x"],
}


def _rows(kind: str):
    """Texts for the kind's fields: each field's variants against the others' first (good) text, and absent fields."""
    names = list(ROW_FORMS[kind]()._fields)
    base = {n: TEXTS.get(n, [""])[0] for n in names}
    yield dict(base)
    for name in names:
        for text in TEXTS.get(name, ["", "x"]):
            yield base | {name: text}
    for absent in itertools.islice(names, 0, None, 2):
        yield {n: t for n, t in base.items() if n != absent}


@pytest.mark.parametrize("kind", list(ROW_FORMS))
def test_the_checker_answers_as_the_form(app, kind):
    checker = RowChecker(ROW_FORMS[kind])
    with force_locale("en"):
        for formdata in _rows(kind):
            form = ROW_FORMS[kind](formdata=MultiDict(formdata))
            form.validate()
            errors, data = checker.check(formdata)
            assert {n: [str(m) for m in ms] for n, ms in errors.items()} == \
                {n: [str(m) for m in ms] for n, ms in form.errors.items()}, formdata
            assert data == form.data, formdata
