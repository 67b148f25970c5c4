"""The columns of each import and the form that checks one row, built from the registry's own form fields.

One place for a rule: a row of an enterprises file is checked by the very fields of EnterpriseForm
(name, USCC with its check digit, industry code, date), a row of figures by FiguresForm's AmountField and
CountField (thousands separators, full-width digits, two places), and so on; the services then apply
the rules that need the database (uniqueness, region, cross-field checks) exactly as for the pages.

Headers are matched by name in any order: the column's code, its label in Chinese or English, and the
usual variants (aliases), compared after normalising full-width forms, spaces, a unit suffix such as
（万元） and a required-column star.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.fields.core import Field
from wtforms.validators import StopValidation, ValidationError

from crm.core.forms import max_length, optional, options, required, strip
from crm.enterprises.forms import EnterpriseForm, FiguresForm, IPForm
from crm.enterprises.models import FIGURE_SOURCE_LABELS, IMPORT_SOURCES, IP_KIND_LABELS, TECH_DOMAIN_LABELS
from crm.io.models import IMPORT_KIND_LABELS, ImportKind
from crm.ladder.forms import CertificationForm
from crm.ladder.models import CERTIFICATION_STATUS_LABELS
from crm.ladder.tiers import TIER_LABELS

LOCALES = ("zh_Hans_CN", "en")

# --- the cell vocabulary ---------------------------------------------------------------------------

YES_WORDS = {"是", "yes", "y", "true", "1", "√", "✓", "有", "对"}
NO_WORDS = {"否", "no", "n", "false", "0", "×", "x", "无", "不是"}


def normalize_word(text: str) -> str:
    """Full-width → half-width, no spaces, lower case (for headers and code-list values)."""
    text = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"\s+", "", text).lower()


_UNIT = re.compile(r"\((万元|元|人|个|项|件|%|年|yyyy-mm-dd|[a-z0-9 ./-]+)\)$")


def normalize_header(text: str) -> str:
    """A header as matched: "营业收入（万元）" and "营业收入 " → "营业收入"; a leading or trailing * dropped."""
    word = normalize_word(text).strip("*")
    return _UNIT.sub("", word) or word


class ChoiceTextField(StringField):
    """A code-list value typed as its code or its label in either language (e.g. 电子信息 or electronic_information)."""

    def __init__(self, label=None, validators=None, labels: dict | None = None, default_code=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.labels = labels or {}
        self.default_code = default_code

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "") or ""
        self.raw = text
        if not text.strip():
            self.data = self.default_code
            return
        code = lookup_code(id(self.labels), self.labels).get(normalize_word(text))
        if code is None:
            raise ValueError(_l("Not one of the listed values."))
        self.data = code


_LOOKUPS: dict[int, dict[str, str]] = {}


def lookup_code(key: int, labels: dict) -> dict[str, str]:
    """{normalised code or label (Chinese or English): code} for a code list (built once per list)."""
    table = _LOOKUPS.get(key)
    if table is None:
        table = {}
        for code, label in labels.items():
            table[normalize_word(str(code))] = str(code)
            for locale in LOCALES:
                with force_locale(locale):
                    table[normalize_word(str(label))] = str(code)
        _LOOKUPS[key] = table
    return table


class YesNoField(StringField):
    """是/否 (also yes/no, Y/N, 1/0, √/×); an empty cell gives `default_value`."""

    def __init__(self, label=None, validators=None, default_value=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.default_value = default_value

    def process_formdata(self, valuelist):
        word = normalize_word(valuelist[0] if valuelist else "")
        if not word:
            self.data = self.default_value
        elif word in YES_WORDS:
            self.data = True
        elif word in NO_WORDS:
            self.data = False
        else:
            raise ValueError(_l("Enter 是 (yes) or 否 (no)."))


def _region_code_format(form, field) -> None:
    if field.data and not re.fullmatch(r"[0-9A-Za-z-]{4,12}", field.data):
        raise ValidationError(_l("A region code has six digits (GB/T 2260), or a park's code."))


# --- columns ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A column of an import: the row form's field it fills, its header, how it is typed, its note."""

    field: str
    label: object  # lazy string: the header in the user's language
    aliases: tuple[str, ...] = ()
    required: bool = False
    type: str = "text"  # text, date, amount, count, year, bool, choice, region, park
    note: object = ""
    choices: dict | None = field(default=None, hash=False, compare=False)
    info: bool = False  # read for the reader's benefit (an export's extra column), never imported
    example: object = ""

    def names(self) -> set[str]:
        """Every normalised header this column answers to."""
        names = {normalize_header(self.field), *(normalize_header(a) for a in self.aliases)}
        for locale in LOCALES:
            with force_locale(locale):
                names.add(normalize_header(str(self.label)))
        return names


AMOUNT_NOTE = _l("Amount in 10k CNY (万元), up to two decimal places; thousands separators are fine.")
COUNT_NOTE = _l("Number of people, a whole number.")
DATE_NOTE = _l("A date: an Excel date, or text such as 2018-03-12 or 2018/3/12.")
YES_NO_NOTE = _l("是 (yes) or 否 (no).")
USCC_NOTE = _l("18 characters, GB 32100-2015; the check digit is verified.")
NAME_INFO_NOTE = _l("For reading only: the enterprise is found by its unified social credit code.")

USCC = Column("uscc", _l("Unified social credit code"), ("统一社会信用代码", "社会信用代码", "信用代码", "USCC"),
              required=True, note=USCC_NOTE)  # the example row's code is crm.io.documents.example_uscc()
NAME_INFO = Column("name", _l("Enterprise name"), ("企业名称", "单位名称", "企业"), info=True, note=NAME_INFO_NOTE)

ENTERPRISE_COLUMNS = (
    Column("name", _l("Enterprise name"), ("企业名称", "单位名称"), required=True,
           note=_l("The registered name, at most 200 characters."), example="宁夏示例智能装备有限公司"),
    USCC,
    Column("region_code", _l("Region code"), ("行政区划代码", "区划代码", "所属区县代码"), required=True, type="region",
           note=_l("The county or district's six-digit GB/T 2260 code (see the list sheet)."), example="640106"),
    Column("park", _l("Park"), ("园区", "所在园区"), type="park",
           note=_l("Optional: the park's code or name; it must lie in the region."), example=""),
    Column("established_on", _l("Established on"), ("成立日期", "成立时间", "注册日期"), type="date", note=DATE_NOTE,
           example="2016-05-18"),
    Column("industry_code", _l("Industry code"), ("行业代码", "国民经济行业代码", "行业分类代码"), required=True,
           note=_l("GB/T 4754-2017, e.g. C3511 (class) or C35 (division)."), example="C3511"),
    Column("tech_domain", _l("Technology domain"), ("技术领域", "高新技术领域"), type="choice", choices=TECH_DOMAIN_LABELS,
           note=_l("One of the eight supported high-tech domains, by name or code."), example="先进制造与自动化"),
    Column("is_above_scale", _l("Above designated size"), ("是否规上", "规上企业", "规上"), type="bool",
           note=YES_NO_NOTE, example="否"),
    Column("address", _l("Address"), ("地址", "注册地址", "通讯地址"), note=_l("Optional, at most 255 characters."),
           example="银川市金凤区示例路 88 号"),
    # an export's extra columns: shown to the reader, never imported (the ladder and the status have their pages)
    Column("region_name", _l("Region"), ("所属区域",), info=True),
    Column("current_tier", _l("Current tier"), ("当前梯次",), info=True),
    Column("status", _l("Status"), ("状态", "经营状态"), info=True),
)

FIGURE_COLUMNS = (
    USCC, NAME_INFO,
    Column("year", _l("Year"), ("年度", "年份", "会计年度"), required=True, type="year",
           note=_l("The accounting year, four digits."), example="2024"),
    Column("revenue", _l("Revenue"), ("营业收入", "销售收入"), type="amount", note=AMOUNT_NOTE, example="3,200.50"),
    Column("hightech_revenue", _l("High-tech product/service revenue"),
           ("高新技术产品（服务）收入", "高新技术产品收入", "高品收入"), type="amount", note=AMOUNT_NOTE, example="2300"),
    Column("rd_expense", _l("R&D expense"), ("研发费用", "研发投入", "研究开发费用"), type="amount", note=AMOUNT_NOTE,
           example="180"),
    Column("rd_expense_domestic", _l("Domestic R&D expense"), ("境内研发费用", "境内研究开发费用"), type="amount",
           note=AMOUNT_NOTE, example="180"),
    Column("total_cost", _l("Total cost and expenses"), ("成本费用总额",), type="amount", note=AMOUNT_NOTE,
           example="2800"),
    Column("total_income", _l("Total income"), ("总收入", "收入总额"), type="amount", note=AMOUNT_NOTE, example=""),
    Column("total_assets", _l("Total assets"), ("资产总额", "总资产"), type="amount", note=AMOUNT_NOTE, example="4100"),
    Column("net_assets", _l("Net assets"), ("净资产",), type="amount",
           note=_l("Amount in 10k CNY (万元); may be negative."), example="2100"),
    Column("employees", _l("Employees"), ("职工总数", "从业人员", "员工总数", "从业人数"), type="count", note=COUNT_NOTE,
           example="85"),
    Column("tech_staff", _l("Tech staff"), ("科技人员", "科技人员数"), type="count", note=COUNT_NOTE, example="14"),
    Column("rd_staff", _l("R&D staff"), ("研发人员", "研发人员数"), type="count", note=COUNT_NOTE, example="10"),
    Column("conversions", _l("Technology conversions"), ("科技成果转化数", "成果转化数", "科技成果转化"), type="count",
           note=_l("Number of R&D results turned into products, services or licences this year."), example="3"),
)

IP_COLUMNS = (
    USCC, NAME_INFO,
    Column("kind", _l("Kind"), ("类型", "知识产权类型", "类别"), required=True, type="choice", choices=IP_KIND_LABELS,
           note=_l("The kind of intellectual property, by name or code (see the list sheet)."), example="发明专利"),
    Column("title", _l("Title"), ("名称", "知识产权名称", "专利名称"), required=True,
           note=_l("At most 200 characters."), example="一种示例装置"),
    Column("number", _l("Number"), ("编号", "专利号", "登记号", "授权号"), required=True,
           note=_l("Patent or registration number; with the kind it identifies the item."), example="ZL202110000001.X"),
    Column("granted_on", _l("Granted on"), ("授权日期", "授权公告日", "登记日期"), type="date", note=DATE_NOTE,
           example="2022-03-01"),
    Column("is_valid", _l("Valid"), ("是否有效", "有效"), type="bool", note=YES_NO_NOTE, example="是"),
    Column("used_in_earlier_application", _l("Used in an earlier high-tech application"),
           ("已用于高企申报", "是否已用于高企申报"), type="bool", note=YES_NO_NOTE, example="否"),
)

CERTIFICATION_COLUMNS = (
    USCC, NAME_INFO,
    Column("tier", _l("Tier"), ("梯次", "资质", "资质类型", "认定类型"), required=True, type="choice", choices=TIER_LABELS,
           note=_l("One of the five tiers, by name or code (see the list sheet)."), example="国家高新技术企业"),
    Column("certificate_no", _l("Certificate or registration no."), ("证书编号", "入库登记编号", "证书号", "登记编号"),
           required=True, note=_l("At most 40 characters; with the tier it identifies the certification."),
           example="GR202464000123"),
    Column("issued_on", _l("Issued on"), ("发证日期", "认定日期", "入库日期"), required=True, type="date", note=DATE_NOTE,
           example="2024-11-20"),
    Column("expires_on", _l("Valid until"), ("有效期至", "到期日期", "有效期"), type="date",
           note=_l("Leave empty to compute it: high-tech 3 years, tech SME the end of the year."), example=""),
    Column("issuer", _l("Issuer"), ("发证机关", "认定机构"), note=_l("Optional, at most 120 characters."),
           example="宁夏回族自治区科学技术厅"),
    Column("status", _l("Status"), ("状态", "证书状态"), type="choice", choices=CERTIFICATION_STATUS_LABELS,
           note=_l("Valid, expired or revoked; empty means valid."), example=""),
    Column("note", _l("Note"), ("备注",), note=_l("Optional, at most 255 characters."), example=""),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.ENTERPRISES: ENTERPRISE_COLUMNS,
    ImportKind.FIGURES: FIGURE_COLUMNS,
    ImportKind.IP: IP_COLUMNS,
    ImportKind.CERTIFICATIONS: CERTIFICATION_COLUMNS,
}
# The fields that identify a row (the upsert key), for messages such as "this row repeats row 12".
KEYS: dict[str, tuple[str, ...]] = {
    ImportKind.ENTERPRISES: ("uscc",),
    ImportKind.FIGURES: ("uscc", "year"),
    ImportKind.IP: ("uscc", "kind", "number"),
    ImportKind.CERTIFICATIONS: ("tier", "certificate_no"),
}


# --- the row forms ------------------------------------------------------------------------------------

class EnterpriseRowForm(Form):
    """A row of an enterprises file: EnterpriseForm's fields, the region by code, code lists as text."""

    name = EnterpriseForm.name
    uscc = EnterpriseForm.uscc
    region_code = StringField(_l("Region code"), [required(), max_length(12), _region_code_format], filters=[strip])
    park = StringField(_l("Park"), [optional(), max_length(60)], filters=[strip])
    established_on = EnterpriseForm.established_on
    industry_code = EnterpriseForm.industry_code
    tech_domain = ChoiceTextField(_l("Technology domain"), labels=TECH_DOMAIN_LABELS)
    is_above_scale = YesNoField(_l("Above designated size"))
    address = EnterpriseForm.address


class FiguresRowForm(Form):
    """A row of an annual-figures file: the enterprise's USCC and FiguresForm's fields."""

    uscc = EnterpriseForm.uscc


for _name in ("year", *FiguresForm.AMOUNTS, *FiguresForm.COUNTS):
    setattr(FiguresRowForm, _name, getattr(FiguresForm, _name))


class IPRowForm(Form):
    """A row of an IP file: the enterprise's USCC and IPForm's fields."""

    uscc = EnterpriseForm.uscc
    kind = ChoiceTextField(_l("Kind"), [required()], labels=IP_KIND_LABELS)
    title = IPForm.title
    number = IPForm.number
    granted_on = IPForm.granted_on
    is_valid = YesNoField(_l("Valid"))
    used_in_earlier_application = YesNoField(_l("Used in an earlier high-tech application"))


class CertificationRowForm(Form):
    """A row of a certifications file: the enterprise's USCC and CertificationForm's fields."""

    uscc = EnterpriseForm.uscc
    tier = ChoiceTextField(_l("Tier"), [required()], labels=TIER_LABELS)
    certificate_no = CertificationForm.certificate_no
    issued_on = CertificationForm.issued_on
    expires_on = CertificationForm.expires_on
    issuer = CertificationForm.issuer
    status = ChoiceTextField(_l("Status"), labels=CERTIFICATION_STATUS_LABELS)
    note = CertificationForm.note


ROW_FORMS: dict[str, type[Form]] = {
    ImportKind.ENTERPRISES: EnterpriseRowForm,
    ImportKind.FIGURES: FiguresRowForm,
    ImportKind.IP: IPRowForm,
    ImportKind.CERTIFICATIONS: CertificationRowForm,
}


class RowChecker:
    """Check rows with a row form's own fields — their parsers (process_formdata), filters and validators, hence
    their messages — exactly as Form.process + Form.validate do, on one form bound once, without WTForms' per-call
    bookkeeping (formdata wrapping, extra-validator dicts, chained iterators): the import checks 50,000 rows.

    A field that overrides process, pre_validate or post_validate is run through WTForms itself.
    """

    def __init__(self, form_class: type[Form]):
        self.form = form = form_class()
        self.plan = []
        for name, bound in form._fields.items():
            validators = list(bound.validators)
            inline = getattr(form_class, f"validate_{name}", None)
            if inline is not None:
                validators.append(inline)
            kind = type(bound)
            plain = (kind.process is Field.process and kind.pre_validate is Field.pre_validate
                     and kind.post_validate is Field.post_validate)
            self.plan.append((name, bound, tuple(bound.filters), tuple(validators), plain))

    def check(self, formdata: dict[str, str]) -> tuple[dict[str, list], dict]:
        """({field: [message]} of the fields that refuse their text, {field: data}) for one row's texts."""
        form, errors, data = self.form, {}, {}
        wrapped = None
        for name, bound, filters, validators, plain in self.plan:
            if not plain:
                wrapped = wrapped or MultiDict(formdata)
                bound.process(wrapped)
                if not bound.validate(form, tuple(validators[len(bound.validators):])):
                    errors[name] = bound.errors
                data[name] = bound.data
                continue
            found = []
            default = bound.default
            try:
                value = default() if callable(default) else default
            except TypeError:
                value = default
            bound.object_data = value
            try:
                bound.process_data(value)
            except ValueError as exc:
                found.append(exc.args[0])
            bound.raw_data = [formdata[bound.name]] if bound.name in formdata else []
            try:
                bound.process_formdata(bound.raw_data)
            except ValueError as exc:
                found.append(exc.args[0])
            try:
                for keep in filters:
                    bound.data = keep(bound.data)
            except ValueError as exc:
                found.append(exc.args[0])
            bound.process_errors = list(found)
            bound.errors = found
            for validator in validators:
                try:
                    validator(form, bound)
                except StopValidation as exc:
                    if exc.args and exc.args[0]:
                        bound.errors.append(exc.args[0])
                    break
                except ValidationError as exc:
                    bound.errors.append(exc.args[0])
            if bound.errors:
                errors[name] = bound.errors
            data[name] = bound.data
        return errors, data


# --- the upload page ---------------------------------------------------------------------------------

class UploadForm(FlaskForm):
    """The upload: what the file holds and whether a single rejected row stops the whole import.

    The file itself is read from request.files by the view; its content decides its type, not its name.
    """

    kind = SelectField(_l("What the file holds"), choices=lambda: options(IMPORT_KIND_LABELS))
    # figures only: where the file's figures come from (the enterprise page names the source and the file)
    figure_source = SelectField(_l("Source of the figures"), default="import",
                                choices=lambda: options({s.value: FIGURE_SOURCE_LABELS[s] for s in IMPORT_SOURCES}))
    all_or_nothing = BooleanField(_l("All or nothing: import nothing if any row is rejected"))
