"""The rules engine: a readiness profile + a tier's rule set → the readiness result.

Pure Python over plain data (no Flask app, no database session), so the CLI, the API, the
pages, the PDF sheets and the batch ranking all call the same functions:

    rulesets = load_rulesets(overrides)             # shipped rules/*.json + an admin's rule sets
    result = evaluate(profile, "high_tech", rulesets, lang="zh")
    results = evaluate_all(profile, rulesets, "en")   # lowest tier first
    candidates.sort(key=lambda r: rank_key(r))
    ranks_of(profile, rulesets)                      # [(tier, verdict, rank_key)]: no entries, no texts
    missing_data(profile, "high_tech", rulesets)      # [{"year": 2023, "field": "rd_expense", "text": …}]

The result format is domain/readiness-profile.md's; the criteria are domain/tier-criteria.md's
and regional-defaults.md's. A rule set is data: each criterion has a *kind* (flag, age_days,
metric, ratio, cagr, growth, ip_count, base_tier, domain_in, sme_score, ht_innovation_score) and that
kind's parameters; thresholds, bands, labels, sources and gap texts all come from the data.

Rule-set data (rules/<tier>.json, or an admin's version of it):

    {"id": "regional-default", "version": 1, "tier": "little_giant",
     "label": {"zh": …, "en": …}, "source": {"zh": …, "en": …}, "notice": {"zh": …, "en": …},
     "criteria": [{"id": "lg_rd_ratio", "kind": "ratio", "enabled": true,
                   "label": {"zh": …, "en": …}, "source": "…", "gap_text": {"zh": "… {amount} …", "en": …},
                   "numerator": "rd_expense", "denominator": "revenue", "years": "latest", "op": ">=",
                   "value": 0.03}, …]}

Kinds and their parameters (every criterion also has id, kind, label, source, enabled, and may
replace its kind's texts: gap_text, over_text, zero_text, fallback_note, …):
  flag        flag (a profile flag), expected (true)
  age_days    min_days and/or max_days
  metric      field, year "latest", op (>=, >, <=, <), value, unit
  ratio       numerator, denominator, denominator_fallback?, years ("latest" | 3, summed), op (>=, >),
              value | bands [{"max"|"below": limit, "value": t}, …, {"value": t}] + band_by {field, year}
  cagr        field, years 3, op, min | bands + band_by
  growth      field, op (>=, >), min: year-on-year growth of the latest year over the year before
  ip_count    class1_min / class2_min / total_min (any one suffices), exclude_used_class2
  base_tier   any_of [tiers]
  domain_in   domains [codes] (default: all eight)
  sme_score   threshold, comparison, tech_staff_bands, rd_revenue_bands, rd_cost_bands, ip_bands,
              tech_staff_points_required, direct_flags, high_tech_certificate_qualifies (off)
  ht_innovation_score  threshold, comparison, ip_cap, ip_judgement_max, ip_quantity_bands,
              exclude_used_class2, conversion_bands, conversion_years, management_max, growth_bands,
              growth_fields
Score bands: [{"min"|"above"|"class1_min"|"class2_min"|"total_min": threshold, "points": n | [lo, hi]}, …],
the first that matches wins, none: 0 points.

Numbers are compared exactly (Decimal, cross-multiplied, never divided); ratios are rounded
only for display (down, so a shown ratio never seems to meet a threshold it misses). Gap
amounts are rounded up to 0.1 万元 (whole persons / items / days) and checked: applying the
shown gap makes the criterion pass, one unit less does not.

Speed (issue #14: at least 50,000 evaluations a second): a rule set is compiled once (load_rulesets, cached by
crm.ladder.queries.active_rulesets until an admin's version changes): criteria read and checked, each entry's fixed
keys prepared per language, (1 + rate)^k of growth rates computed. What several criteria read from one profile is
computed once per profile (_Facts.memo: series, a ratio's sums and shown quotient, the growth shown, a figure as
JSON); gap texts that repeat are kept. Callers that need only verdicts and rank keys (the nightly ranking of every
enterprise × tier) call ranks_of, where each criterion judges from the facts without building its entry or texts
(Criterion.judge, about twice as fast). tests/ladder/test_engine_reference.py compares every result, strictly, with
the engine as it was before (tests/ladder/reference_engine.py): a change meant to change results is made in both.
"""
from __future__ import annotations

import abc
import copy
import json
import operator
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, localcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

from crm.ladder.profile import (
    CLASS_I_KINDS,
    FIGURE_FIELDS,
    FLAG_FIELDS,
    JUDGEMENT_FIELDS,
    PEOPLE_FIELDS,
    TECH_DOMAINS,
    Profile,
    json_number,
    to_decimal,
)
from crm.ladder.tiers import Tier

RULES_DIR = Path(__file__).with_name("rules")
TIERS = tuple(t.value for t in Tier)  # ladder order, lowest first
REGIONAL_TIERS = frozenset({"little_giant", "gazelle", "demonstration"})
LANGS = ("zh", "en")
PASS, FAIL, UNKNOWN, BORDERLINE = "pass", "fail", "unknown", "borderline"
READY, NOT_READY, INCOMPLETE = "ready", "not_ready", "incomplete"
VERDICT_RANK = {READY: 0, INCOMPLETE: 1, NOT_READY: 2}
_DECIDED = frozenset({PASS, FAIL})
_STATUS = operator.itemgetter("status")
# Criterion.judge's answers that need no arithmetic: (status, the relative gap a fail adds to rank_key)
_PASSED, _UNKNOWN, _FAILED = (PASS, 0.0), (UNKNOWN, 0.0), (FAIL, 1.0)
_NO_GAP: dict = {}

# Shown on every result of a regional tier whose rule set does not bring its own notice.
REGIONAL_NOTICE = {"zh": "地方标准默认值，请按本地区现行认定办法核对",
                   "en": "regional default — check against your region's current measure"}

# Exact arithmetic: products of profile amounts stay exact at this precision (no division is compared).
_CTX = Context(prec=80)
_SHOW = Context(prec=34)  # for shown values only (a division, a square root)
_FLOOR = Context(prec=34, rounding=ROUND_FLOOR)  # _SHOW rounding down: a shown ratio's 4 decimals
_TENTH = Decimal("0.1")
_ONE = Decimal(1)
_ZERO = Decimal(0)
_RATIO_SHOWN = Decimal("0.0001")

OPS: dict[str, Callable[[Any, Any], bool]] = {">=": operator.ge, ">": operator.gt, "<=": operator.le,
                                               "<": operator.lt}
_OP_WORDS = {">=": ("不低于", "at least"), ">": ("高于", "above"), "<=": ("不超过", "at most"),
             "<": ("低于", "below")}

UNITS = ("万元", "persons", "days", "items", "ratio", "points")
UNIT_NAMES = {"万元": ("万元", "10k CNY"), "persons": ("人", "persons"), "days": ("天", "days"),
              "items": ("件", "items"), "ratio": ("", ""), "points": ("分", "points")}

# Names of the profile's inputs, for gap texts and the missing-data list.
FIELD_NAMES = {
    "revenue": ("营业收入", "revenue"),
    "hightech_revenue": ("高新技术产品（服务）收入", "high-tech product/service revenue"),
    "rd_expense": ("研发费用", "R&D expense"),
    "rd_expense_domestic": ("境内研发费用", "domestic R&D expense"),
    "total_cost": ("成本费用总额", "total cost and expenses"),
    "total_income": ("总收入", "total income"),
    "total_assets": ("资产总额", "total assets"),
    "net_assets": ("净资产", "net assets"),
    "employees": ("职工总数", "employees"),
    "tech_staff": ("科技人员", "tech staff"),
    "rd_staff": ("研发人员", "R&D staff"),
    "established_on": ("成立日期", "date of establishment"),
    "tech_domain": ("技术领域", "technology domain"),
    "ip": ("知识产权", "intellectual property"),
    "certifications": ("资质证书", "certifications"),
    "conversions_last_3_years": ("近三年科技成果转化数", "technology conversions in the last three years"),
    "flags.resident": ("是否居民企业", "resident enterprise"),
    "flags.restricted_industry": ("是否属于禁止、限制和淘汰类", "restricted or prohibited industry"),
    "flags.clean_record": ("有无重大事故或失信记录", "clean record"),
    "flags.national_award_top3_5y": ("近五年国家级科技奖励（前三名）", "national S&T award in the last five years"),
    "flags.provincial_rd_institution": ("省部级以上研发机构", "provincial-or-higher R&D institution"),
    "flags.led_standard_5y": ("近五年主导制定标准", "led a standard in the last five years"),
    "judgement.ip_advancement": ("知识产权技术先进程度（评分）", "IP technical advancement (points)"),
    "judgement.ip_core_support": ("知识产权对主要产品的核心支持作用（评分）", "IP core support to main products (points)"),
    "judgement.ip_acquisition": ("知识产权获得方式（评分）", "how the IP was obtained (points)"),
    "judgement.ip_standards_bonus": ("参与标准制定加分", "standards bonus (points)"),
    "judgement.management": ("研究开发组织管理水平（评分）", "R&D organisation and management (points)"),
}
_FIELD_ORDER = {name: i for i, name in enumerate(FIELD_NAMES)}
TIER_NAMES = {"tech_sme": ("科技型中小企业", "tech-based SME"), "little_giant": ("科技小巨人企业", "tech little giant"),
              "high_tech": ("国家高新技术企业", "national high-tech enterprise"),
              "gazelle": ("瞪羚企业", "gazelle enterprise"),
              "demonstration": ("创新型示范企业", "innovation demonstration enterprise")}


class RuleSetError(ValueError):
    """A rule set that cannot be used; the message names the key path ("criteria[2].value: …")."""


# ------------------------------------------------------------------------------------ the facts


class _Facts:
    """What every criterion reads from a profile, computed once per profile."""

    __slots__ = ("profile", "day", "latest_year", "rows", "latest", "age_days", "window", "whole_years",
                 "ip_class1", "ip_class2", "ip_class2_unused", "certs_valid", "certs_maybe", "memo")

    def __init__(self, p: Profile):
        self.profile = p
        # Values several criteria read (a series, a ratio's sums and shown value, a figure as JSON), computed once
        # per profile: they depend on the profile only, never on the language or the rule set.
        self.memo: dict = {}
        self.day = day = p.assessment_date
        self.latest_year = last = day.year - 1
        self.rows = rows = {row.year: row for row in p.figures}
        self.latest = rows.get(last)
        est = p.established_on
        if est is None:
            self.age_days = self.whole_years = None
            three = (last - 2, last - 1, last)
            # Without the date of establishment the window is known only when all three years are there.
            self.window = three if all(y in rows for y in three) else None
        else:
            self.age_days = (day - est).days
            self.whole_years = day.year - est.year - ((day.month, day.day) < (est.month, est.day))
            # Fewer than three years operated: the years it has (a year counts from the year it was founded).
            self.window = tuple(range(max(last - 2, est.year), last + 1))
        if p.ip is None:
            self.ip_class1 = self.ip_class2 = self.ip_class2_unused = None
        else:
            c1: int | None = 0
            c2: int | None = 0
            c2u: int | None = 0
            for item in p.ip:
                if item.kind in CLASS_I_KINDS:
                    c1 = None if c1 is None or item.count is None else c1 + item.count
                else:
                    c2 = None if c2 is None or item.count is None else c2 + item.count
                    if c2u is None or item.count is None or item.used_in_earlier_application is None:
                        c2u = None
                    else:
                        c2u += item.count - item.used_in_earlier_application
            self.ip_class1, self.ip_class2, self.ip_class2_unused = c1, c2, c2u
        if p.certifications is None:
            self.certs_valid = self.certs_maybe = None
        else:
            valid, maybe = set(), set()
            for cert in p.certifications:
                state = cert.valid_on(day)
                if state:
                    valid.add(cert.tier)
                elif state is None:
                    maybe.add(cert.tier)
            self.certs_valid, self.certs_maybe = frozenset(valid), frozenset(maybe - valid)


def _facts(profile: Profile) -> _Facts:
    facts = profile._facts
    if facts is None:
        facts = _Facts(profile)
        object.__setattr__(profile, "_facts", facts)
    return facts


def _latest(f: _Facts, name: str, miss: list | None) -> Decimal | None:
    row = f.latest
    value = None if row is None else getattr(row, name)
    if value is None and miss is not None:
        miss.append((f.latest_year, name))
    return value


def _series(f: _Facts, name: str, miss: list | None) -> list[Decimal] | None:
    """The field over the window (the last three years, or the years operated); None when any is missing."""
    if miss is None:
        key = ("series", name)
        memo = f.memo
        if key in memo:
            return memo[key]
        memo[key] = out = _series_of(f, name, None)
        return out
    return _series_of(f, name, miss)


def _series_of(f: _Facts, name: str, miss: list | None) -> list[Decimal] | None:
    window = f.window
    if window is None:
        if miss is not None:
            miss.append((None, "established_on"))
            for year in range(f.latest_year - 2, f.latest_year + 1):
                row = f.rows.get(year)
                if row is None or getattr(row, name) is None:
                    miss.append((year, name))
        return None
    if not window:  # founded in the assessment year: no complete accounting year yet
        if miss is not None:
            miss.append((f.latest_year, name))
        return None
    out = []
    complete = True
    for year in window:
        row = f.rows.get(year)
        value = None if row is None else getattr(row, name)
        if value is None:
            complete = False
            if miss is None:
                return None
            miss.append((year, name))
        out.append(value)
    return out if complete else None


# ------------------------------------------------------------------------------------ helpers


def _shown(value: Decimal, limit: Decimal, passed: bool) -> float:
    """A ratio for display: 4 decimals, rounded down, and never on the wrong side of its threshold."""
    return _clamped(_floor4(value), limit, passed)


def _floor4(value: Decimal) -> tuple[Decimal, float]:
    """A shown ratio before its threshold is known: 4 decimals rounded down, and that as a float."""
    shown = _FLOOR.quantize(value, _RATIO_SHOWN)
    return shown, float(shown)


def _clamped(shown: tuple[Decimal, float], limit: Decimal, passed: bool) -> float:
    """_shown() of a value already floored to 4 decimals (_floor4)."""
    if passed:
        if shown[0] < limit:
            return float(limit)
    elif shown[0] >= limit:
        return float(limit - _RATIO_SHOWN)
    return shown[1]


def _fmt(amount: Decimal, step: Decimal) -> str:
    return f"{amount:.1f}" if step == _TENTH else f"{amount:.0f}"


def _fmt_exact(amount: Decimal) -> str:
    """An amount with one decimal, or more when it has them (never rounded)."""
    if amount == amount.quantize(_TENTH):
        return f"{amount:.1f}"
    return f"{amount.normalize():f}"


def _num_text(value: Decimal | int) -> str:
    """A number for a text: no trailing zeros, no exponent."""
    if isinstance(value, int):
        return str(value)
    text = f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _pct(value: Decimal) -> str:
    return _num_text(value * 100) + "%"


def _minimal(x0: Decimal, step: Decimal, passes: Callable[[Decimal], bool]) -> Decimal | None:
    """The smallest multiple of `step`, near x0, for which passes(x) holds; x0 is the exact solution."""
    x = x0.quantize(_TENTH, rounding=ROUND_CEILING) if step == _TENTH else x0.to_integral_value(ROUND_CEILING)
    if x < step:
        x = step
    for _ in range(20):
        if passes(x):
            break
        x += step
    else:
        return None
    while x - step > 0 and passes(x - step):
        x -= step
    return x


def _relative(shortfall: Decimal, whole: Decimal) -> float:
    if whole <= 0:
        return 1.0
    return min(1.0, max(0.0, float(shortfall / whole)))


def _gap(amount: Decimal | None, unit: str | None, text: str, relative: float, step: Decimal = _TENTH) -> dict:
    if amount is not None:
        amount = amount.quantize(step) if step == _TENTH else amount.to_integral_value()
    return {"amount": json_number(amount), "unit": unit, "text": text, "relative": relative}


def _lang_index(lang: str) -> int:
    if lang == "zh":
        return 0
    if lang == "en":
        return 1
    raise ValueError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")


def _tier_name(tier: str, lang: str, rulesets: Mapping | None) -> str:
    rs = rulesets.get(tier) if rulesets else None
    if rs is not None:
        return rs.label[lang]
    return TIER_NAMES[tier][_lang_index(lang)]


# ------------------------------------------------------------------------------- reading rule data


_REQUIRED = object()
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class _Reader:
    """Reads a mapping key by key, naming the path in errors; `done()` rejects keys nobody read."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, Mapping):
            raise RuleSetError(f"{path or 'rule set'}: not an object")
        self.data, self.path, self.used = data, path, set()

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def get(self, key: str, conv: Callable[[Any, str], Any], default: Any = _REQUIRED) -> Any:
        self.used.add(key)
        value = self.data.get(key)
        if value is None:
            if default is _REQUIRED:
                raise RuleSetError(f"{self.where(key)}: required")
            return default
        try:
            return conv(value, self.where(key))
        except RuleSetError:
            raise
        except (ValueError, TypeError) as exc:
            raise RuleSetError(f"{self.where(key)}: {exc}") from None

    def done(self) -> None:
        for key in self.data:
            if key not in self.used:
                raise RuleSetError(f"{self.where(str(key))}: unknown key")


def _c_str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a non-empty string")
    return value


def _c_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true or false")
    return value


def _c_num(value: Any, path: str) -> Decimal:
    return to_decimal(value)


def _c_nonneg(value: Any, path: str) -> Decimal:
    number = to_decimal(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _c_int(value: Any, path: str) -> int:
    number = to_decimal(value)
    if number != number.to_integral_value() or number < 0:
        raise ValueError("not a whole number ≥ 0")
    return int(number)


def _c_choice(*options: str) -> Callable[[Any, str], str]:
    def conv(value: Any, path: str) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of {', '.join(options)}")
        return value
    return conv


def _c_list(conv: Callable[[Any, str], Any], *, nonempty: bool = True) -> Callable[[Any, str], list]:
    def convert(value: Any, path: str) -> list:
        if not isinstance(value, list | tuple):
            raise ValueError("not a list")
        if nonempty and not value:
            raise ValueError("must not be empty")
        out = []
        for i, item in enumerate(value):
            try:
                out.append(conv(item, f"{path}[{i}]"))
            except RuleSetError:
                raise
            except (ValueError, TypeError) as exc:
                raise RuleSetError(f"{path}[{i}]: {exc}") from None
        return out
    return convert


def _c_texts(value: Any, path: str) -> dict[str, str]:
    """{"zh": …, "en": …}; a plain string serves both languages."""
    if isinstance(value, str) and value.strip():
        return {"zh": value, "en": value}
    r = _Reader(value, path)
    out = {lang: r.get(lang, _c_str) for lang in LANGS}
    r.done()
    return out


def _c_points(value: Any, path: str) -> tuple[Decimal, Decimal]:
    """Points of a band: a number, or [lo, hi]."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError("not a number or a [low, high] pair")
        lo, hi = to_decimal(value[0]), to_decimal(value[1])
    else:
        lo = hi = to_decimal(value)
    if lo < 0 or hi < lo:
        raise ValueError("points must satisfy 0 ≤ low ≤ high")
    return _compact(lo), _compact(hi)


def _compact(value: Decimal) -> int | Decimal:
    """Whole points as int (cheap to add and to emit as JSON), others as Decimal."""
    whole = int(value)
    return whole if whole == value else value


def _c_points_limit(value: Any, path: str) -> int | Decimal:
    return _compact(_c_nonneg(value, path))


def _c_bands(*conditions: str) -> Callable[[Any, str], tuple]:
    """Score bands: [{"<condition>": threshold, "points": n | [lo, hi]}, …], first match wins."""
    def conv(value: Any, path: str) -> tuple:
        def band(item: Any, where: str):
            r = _Reader(item, where)
            present = [c for c in conditions if r.has(c)]
            if len(present) != 1:
                raise RuleSetError(f"{where}: needs exactly one of {', '.join(conditions)}")
            threshold = r.get(present[0], _c_nonneg)
            points = r.get("points", _c_points)
            r.done()
            return present[0], threshold, points[0], points[1]
        return tuple(_c_list(band)(value, path))
    return conv


def _c_limits(value: Any, path: str) -> tuple:
    """Thresholds by bands of another figure: [{"max"|"below": limit, "value": t}, …, {"value": t}]."""
    def band(item: Any, where: str):
        r = _Reader(item, where)
        limit, inclusive = None, True
        if r.has("max") and r.has("below"):
            raise RuleSetError(f"{where}: give max or below, not both")
        if r.has("max"):
            limit = r.get("max", _c_num)
        elif r.has("below"):
            limit, inclusive = r.get("below", _c_num), False
        else:
            r.get("max", _c_num, None)
            r.get("below", _c_num, None)
        threshold = r.get("value", _c_nonneg)
        r.done()
        return limit, inclusive, threshold
    bands = _c_list(band)(value, path)
    if bands[-1][0] is not None:
        raise RuleSetError(f"{path}: the last band must have no limit (it takes everything above)")
    if any(b[0] is None for b in bands[:-1]):
        raise RuleSetError(f"{path}: only the last band may have no limit")
    limits = [b[0] for b in bands[:-1]]
    if limits != sorted(limits):
        raise RuleSetError(f"{path}: limits must rise")
    return tuple(bands)


def _pick(bands: tuple, value: Decimal) -> Decimal:
    for limit, inclusive, threshold in bands:
        if limit is None or (value <= limit if inclusive else value < limit):
            return threshold
    return bands[-1][2]  # unreachable: the last band has no limit


def _c_years(value: Any, path: str) -> int:
    """"latest" (1) or 3 (the last three years, summed)."""
    if value == "latest":
        return 1
    if value == 3 and not isinstance(value, bool):
        return 3
    raise ValueError(f"{value!r} is not \"latest\" or 3")


def _c_band_by(value: Any, path: str) -> str:
    r = _Reader(value, path)
    name = r.get("field", _c_choice(*FIGURE_FIELDS))
    r.get("year", _c_choice("latest"), "latest")
    r.done()
    return name


# ------------------------------------------------------------------------------------ criteria

# Default texts of each kind, {placeholder} style; a criterion's data may replace any of them.
# Each entry: text key → ({"zh", "en"}, the placeholders it may use).
_COMMON = ("label",)
DEFAULT_TEXTS: dict[str, dict[str, tuple[dict[str, str], tuple[str, ...]]]] = {
    "flag": {"gap_text": ({"zh": "需满足：{label}", "en": "Required: {label}"}, ())},
    "domain_in": {"gap_text": ({"zh": "需满足：{label}", "en": "Required: {label}"}, ())},
    "age_days": {
        "gap_text": ({"zh": "{date} 起满足（还需 {amount} 天）", "en": "met from {date} ({amount} more days)"},
                     ("date", "amount")),
        "over_text": ({"zh": "超出年限", "en": "beyond the age limit"}, ()),
    },
    "metric": {
        "gap_text_min": ({"zh": "{year} 年{field}需再增加 {amount} {unit}",
                          "en": "{year} {field} needs another {amount} {unit}"},
                         ("year", "field", "amount", "unit", "value")),
        "gap_text_max": ({"zh": "{year} 年{field}超出上限 {amount} {unit}",
                          "en": "{year} {field} is {amount} {unit} over the limit"},
                         ("year", "field", "amount", "unit", "value")),
    },
    "ratio": {
        "gap_text": ({"zh": "{period}{numerator}需再增加 {amount} {unit}",
                      "en": "{numerator} ({period}) needs another {amount} {unit}"},
                     ("period", "numerator", "denominator", "amount", "unit", "required")),
        "zero_text": ({"zh": "{period}{denominator}为零，无法计算比例",
                       "en": "{denominator} ({period}) is zero: the ratio cannot be computed"},
                      ("period", "numerator", "denominator")),
        "fallback_note": ({"zh": "{years} 年缺少{denominator}，以{fallback}代替",
                           "en": "{fallback} stands in for {denominator} ({years})"},
                          ("years", "denominator", "fallback")),
    },
    "cagr": {
        "gap_text": ({"zh": "{year} 年{field}需达到 {target} 万元（再增加 {amount} 万元）",
                      "en": "{year} {field} must reach {target} (10k CNY), another {amount}"},
                     ("year", "field", "target", "amount", "required")),
        "zero_base_text": ({"zh": "{year} 年{field}为零或负数，无法计算增长率",
                            "en": "{year} {field} is zero or negative: no growth rate can be computed"},
                           ("year", "field")),
        "short_text": ({"zh": "经营不足两个会计年度，无法计算增长率",
                        "en": "fewer than two accounting years: no growth rate can be computed"}, ()),
    },
    "growth": {
        "gap_text": ({"zh": "{year} 年{field}需达到 {target} 万元（再增加 {amount} 万元）",
                      "en": "{year} {field} must reach {target} (10k CNY), another {amount}"},
                     ("year", "field", "target", "amount", "required")),
        "zero_base_text": ({"zh": "{year} 年{field}为零或负数，无法计算增长率",
                            "en": "{year} {field} is zero or negative: no growth rate can be computed"},
                           ("year", "field")),
    },
    "ip_count": {
        "gap_text": ({"zh": "需再取得 {items}", "en": "needs {items}"}, ("items",)),
        "item_class1": ({"zh": "{n} 件Ⅰ类知识产权", "en": "{n} more class I IP item(s)"}, ("n",)),
        "item_class2": ({"zh": "{n} 件Ⅱ类知识产权", "en": "{n} more class II IP item(s)"}, ("n",)),
        "item_total": ({"zh": "{n} 件知识产权", "en": "{n} more IP item(s)"}, ("n",)),
        "or_word": ({"zh": "或 ", "en": " or "}, ()),
    },
    "base_tier": {
        "gap_text": ({"zh": "需先取得{tiers}认定", "en": "obtain the {tiers} certification first"}, ("tiers",)),
        "or_word": ({"zh": "或", "en": " or "}, ()),
    },
    "sme_score": {
        "gap_text": ({"zh": "评价得分需再提高 {amount} 分（最高 {max} 分，须{comparison} {threshold} 分）",
                      "en": "the score must rise by {amount} points (at most {max}; must be {comparison} {threshold})"},
                     ("amount", "max", "min", "threshold", "comparison")),
        "tech_zero_text": ({"zh": "科技人员指标得分不得为 0（科技人员占职工总数比例需达到 {share}）",
                            "en": "the tech-staff item must score above 0 (tech staff at least {share} of employees)"},
                           ("share",)),
        "direct_note": ({"zh": "符合直接认定条件", "en": "qualifies directly"}, ()),
    },
    "ht_innovation_score": {
        "gap_text": ({"zh": "创新能力评价得分最高 {max} 分，须{comparison} {threshold} 分",
                      "en": "the innovation score reaches at most {max}; it must be {comparison} {threshold}"},
                     ("amount", "max", "min", "threshold", "comparison")),
    },
}
_TEXT_SAMPLE = {"label": "x", "date": "2025-01-01", "amount": "1", "year": "2024", "field": "x", "unit": "x",
                "value": "1", "period": "x", "numerator": "x", "denominator": "x", "required": "x", "years": "x",
                "fallback": "x", "target": "1", "items": "x", "n": "1", "tiers": "x", "max": "1", "min": "1",
                "threshold": "1", "comparison": "x", "share": "x"}


class Criterion(abc.ABC):
    """A compiled criterion: common data plus its kind's parameters (subclasses)."""

    kind = ""
    unit: str | None = None
    scored = False  # a score criterion: its entry carries "_score" for the result
    # text keys read from the data besides the kind's defaults (metric: "gap_text" picks min or max)
    __slots__ = ("id", "enabled", "label", "source", "texts", "_entries")

    def __init__(self, r: _Reader):
        self.id = r.get("id", _c_str)
        if not _ID_RE.match(self.id):
            raise RuleSetError(f"{r.where('id')}: use lower-case letters, digits and _ (got {self.id!r})")
        r.get("kind", _c_str)
        self.enabled = r.get("enabled", _c_bool, True)
        self.label = r.get("label", _c_texts)
        self.source = r.get("source", _c_texts, {"zh": "", "en": ""})
        self.texts: dict[str, dict[str, str]] = {}

    def _read_texts(self, r: _Reader, defaults: dict[str, str] | None = None) -> None:
        """Each text of the kind: the data's, else the default; placeholders are checked now."""
        table = DEFAULT_TEXTS.get(self.kind, {})
        wanted = defaults or {key: key for key in table}
        for data_key, default_key in wanted.items():
            default, names = table[default_key]
            texts = r.get(data_key, _c_texts, default)
            allowed = {name: _TEXT_SAMPLE[name] for name in (*names, *_COMMON)}
            for lang, text in texts.items():
                try:
                    text.format(**allowed)
                except KeyError as exc:
                    raise RuleSetError(f"{r.where(data_key)}.{lang}: unknown placeholder {{{exc.args[0]}}} "
                                       f"(allowed: {', '.join(allowed)})") from None
                except (ValueError, IndexError) as exc:
                    raise RuleSetError(f"{r.where(data_key)}.{lang}: {exc}") from None
            self.texts[default_key] = texts

    def text(self, key: str, lang: str, **values: Any) -> str:
        return self.texts[key][lang].format(label=self.label[lang], **values)

    def prepare(self) -> None:
        """Precompute what every evaluation repeats (called once the criterion is read): the entry of each
        language with its fixed keys, copied per result."""
        self._entries = {lang: {"id": self.id, "status": None, "actual": None, "required": None, "unit": self.unit,
                                "label": self.label[lang], "source": self.source[lang]} for lang in LANGS}

    def entry(self, lang: str, status: str, actual: Any, required: Any) -> dict:
        e = self._entries[lang].copy()
        e["status"] = status
        e["actual"] = actual
        e["required"] = required
        return e

    @abc.abstractmethod
    def run(self, f: _Facts, lang: str, miss: list | None, rulesets: Mapping) -> dict:
        """Judge this criterion on the profile's facts (each kind its own way)."""

    def judge(self, f: _Facts, rulesets: Mapping) -> tuple[str, float]:
        """(status, a fail's relative gap): what rank_key reads of run()'s entry, without building the entry and its
        texts. This default runs the criterion; the kinds most criteria are answer from the facts directly."""
        e = self.run(f, "zh", None, rulesets)
        status = e["status"]
        return status, e.get("gap", _NO_GAP).get("relative", 1.0) if status == FAIL else 0.0


class FlagCriterion(Criterion):
    """A yes/no fact of the profile equals the expected value."""

    kind = "flag"
    __slots__ = ("flag", "expected", "_passed")

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.flag = r.get("flag", _c_choice(*FLAG_FIELDS))
        self.expected = r.get("expected", _c_bool, True)
        self._read_texts(r)

    def prepare(self) -> None:
        super().prepare()
        self._passed = {lang: self.entry(lang, PASS, self.expected, self.expected) for lang in LANGS}

    def run(self, f, lang, miss, rulesets):
        value = getattr(f.profile.flags, self.flag)
        if value is self.expected:
            return self._passed[lang].copy()
        if value is None:
            if miss is not None:
                miss.append((None, "flags." + self.flag))
            return self.entry(lang, UNKNOWN, None, self.expected)
        if value == self.expected:
            return self.entry(lang, PASS, value, self.expected)
        e = self.entry(lang, FAIL, value, self.expected)
        e["gap"] = _gap(None, None, self.text("gap_text", lang), 1.0)
        return e

    def judge(self, f, rulesets):
        value = getattr(f.profile.flags, self.flag)
        if value is None:
            return _UNKNOWN
        return _PASSED if value == self.expected else _FAILED


class DomainCriterion(Criterion):
    """The technology domain is one of a list (default: all eight supported domains)."""

    kind = "domain_in"
    __slots__ = ("domains",)

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.domains = tuple(r.get("domains", _c_list(_c_choice(*TECH_DOMAINS)), list(TECH_DOMAINS)))
        self._read_texts(r)

    def run(self, f, lang, miss, rulesets):
        value = f.profile.tech_domain
        required = list(self.domains)
        if value is None:
            if miss is not None:
                miss.append((None, "tech_domain"))
            return self.entry(lang, UNKNOWN, None, required)
        if value in self.domains:
            return self.entry(lang, PASS, value, required)
        e = self.entry(lang, FAIL, value, required)
        e["gap"] = _gap(None, None, self.text("gap_text", lang), 1.0)
        return e

    def judge(self, f, rulesets):
        value = f.profile.tech_domain
        if value is None:
            return _UNKNOWN
        return _PASSED if value in self.domains else _FAILED


class AgeCriterion(Criterion):
    """Days from the date of establishment to the assessment date, within [min_days, max_days]."""

    kind = "age_days"
    unit = "days"
    __slots__ = ("min_days", "max_days", "_plain")

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.min_days = r.get("min_days", _c_int, None)
        self.max_days = r.get("max_days", _c_int, None)
        if self.min_days is None and self.max_days is None:
            raise RuleSetError(f"{r.path}: give min_days, max_days or both")
        if self.min_days is not None and self.max_days is not None and self.max_days < self.min_days:
            raise RuleSetError(f"{r.where('max_days')}: less than min_days")
        self._read_texts(r)

    def required(self) -> Any:
        if self.max_days is None:
            return self.min_days
        if self.min_days is None:
            return self.max_days
        return [self.min_days, self.max_days]

    def prepare(self) -> None:
        super().prepare()
        self._plain = self.min_days is None or self.max_days is None  # required is a number, not a list
        if self._plain:
            for e in self._entries.values():
                e["required"] = self.required()

    def run(self, f, lang, miss, rulesets):
        days = f.age_days
        if days is not None and self._plain and (self.min_days is None or days >= self.min_days) and \
                (self.max_days is None or days <= self.max_days):
            e = self._entries[lang].copy()
            e["status"] = PASS
            e["actual"] = days
            return e
        if days is None:
            if miss is not None:
                miss.append((None, "established_on"))
            return self.entry(lang, UNKNOWN, None, self.required())
        if self.min_days is not None and days < self.min_days:
            e = self.entry(lang, FAIL, days, self.required())
            short = self.min_days - days
            enters = f.profile.established_on + timedelta(days=self.min_days)
            e["gap"] = {"amount": short, "unit": "days", "date": enters.isoformat(),
                        "text": self.text("gap_text", lang, date=enters.isoformat(), amount=short),
                        "relative": min(1.0, short / self.min_days)}
            return e
        if self.max_days is not None and days > self.max_days:
            e = self.entry(lang, FAIL, days, self.required())
            e["gap"] = _gap(None, None, self.text("over_text", lang), 1.0)
            return e
        return self.entry(lang, PASS, days, self.required())

    def judge(self, f, rulesets):
        days = f.age_days
        if days is None:
            return _UNKNOWN
        if self.min_days is not None and days < self.min_days:
            return FAIL, min(1.0, (self.min_days - days) / self.min_days)
        if self.max_days is not None and days > self.max_days:
            return _FAILED
        return _PASSED


class MetricCriterion(Criterion):
    """One figure of the latest year compared with a value (revenue ≥ 2000, employees ≤ 500)."""

    kind = "metric"
    __slots__ = ("field", "op", "value", "unit_code", "step", "required_json", "_cmp", "_json_key", "_words")

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.field = r.get("field", _c_choice(*FIGURE_FIELDS))
        r.get("year", _c_choice("latest"), "latest")
        self.op = r.get("op", _c_choice(*OPS))
        self.value = r.get("value", _c_num)
        default_unit = "persons" if self.field in PEOPLE_FIELDS else "万元"
        self.unit_code = r.get("unit", _c_choice(*UNITS), default_unit)
        self.step = _ONE if self.field in PEOPLE_FIELDS else _TENTH
        self.required_json = json_number(self.value)
        self._read_texts(r, {"gap_text": "gap_text_min" if self.op in (">=", ">") else "gap_text_max"})

    @property
    def unit(self):  # type: ignore[override]
        return self.unit_code

    def prepare(self) -> None:
        super().prepare()
        self._cmp = OPS[self.op]
        self._json_key = "json:" + self.field
        for e in self._entries.values():
            e["required"] = self.required_json
        # the gap text's fixed words in each language: field, unit, the value
        self._words = {lang: (FIELD_NAMES[self.field][li], UNIT_NAMES[self.unit_code][li], _num_text(self.value))
                       for li, lang in enumerate(LANGS)}

    def run(self, f, lang, miss, rulesets):
        row = f.latest
        value = None if row is None else getattr(row, self.field)
        e = self._entries[lang].copy()
        if value is None:
            if miss is not None:
                miss.append((f.latest_year, self.field))
            e["status"] = UNKNOWN
            return e
        cmp = self._cmp
        actual = f.memo.get(self._json_key)
        if actual is None:
            f.memo[self._json_key] = actual = json_number(value)
        e["actual"] = actual
        if cmp(value, self.value):
            e["status"] = PASS
            return e
        e["status"] = FAIL
        if self.op in (">=", ">"):
            x0 = self.value - value
            x = _minimal(x0, self.step, lambda x: cmp(value + x, self.value))
            key = "gap_text_min"
        else:
            x0 = value - self.value
            x = _minimal(x0, self.step, lambda x: cmp(value - x, self.value))
            key = "gap_text_max"
        field, unit, shown_value = self._words[lang]
        text = self.text(key, lang, year=f.latest_year, field=field,
                         amount=_fmt(x, self.step) if x is not None else "?", unit=unit, value=shown_value)
        e["gap"] = _gap(x, self.unit_code, text, _relative(x0, abs(self.value)), self.step)
        return e

    def judge(self, f, rulesets):
        row = f.latest
        value = None if row is None else getattr(row, self.field)
        if value is None:
            return _UNKNOWN
        if self._cmp(value, self.value):
            return _PASSED
        return FAIL, _relative(self.value - value if self.op in (">=", ">") else value - self.value,
                               abs(self.value))


# Ratios whose numerator is part of the denominator: the gap adds to both.
NESTED = frozenset({("tech_staff", "employees"), ("rd_staff", "employees"), ("rd_expense_domestic", "rd_expense"),
                    ("hightech_revenue", "revenue"), ("hightech_revenue", "total_income")})


class RatioCriterion(Criterion):
    """numerator ÷ denominator of the latest year, or summed over the last three years, vs a threshold."""

    kind = "ratio"
    unit = "ratio"
    __slots__ = ("numerator", "denominator", "fallback", "years", "op", "value", "bands", "band_by", "nested",
                 "step", "required_json", "_cmp", "_key", "_shown_key", "_words", "_fixed", "_passed", "_notes",
                 "_json_t")

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.numerator = r.get("numerator", _c_choice(*FIGURE_FIELDS))
        self.denominator = r.get("denominator", _c_choice(*FIGURE_FIELDS))
        self.fallback = r.get("denominator_fallback", _c_choice(*FIGURE_FIELDS), None)
        self.years = r.get("years", _c_years, 1)
        self.op = r.get("op", _c_choice(">=", ">"), ">=")
        self.nested = (self.numerator, self.denominator) in NESTED
        if r.has("value") == r.has("bands"):
            raise RuleSetError(f"{r.path}: give value or bands (with band_by), not both nor neither")
        self.value = r.get("value", _c_nonneg, None)
        self.bands = r.get("bands", _c_limits, None)
        self.band_by = r.get("band_by", _c_band_by, None)
        if self.bands is not None and self.band_by is None:
            raise RuleSetError(f"{r.where('band_by')}: required with bands")
        if self.nested:
            for t in [self.value] if self.value is not None else [b[2] for b in self.bands]:
                if t >= 1:
                    raise RuleSetError(f"{r.path}: a share of a whole must be below 1 (got {t})")
        self.step = _ONE if self.numerator in PEOPLE_FIELDS else _TENTH
        self.required_json = json_number(self.value)
        self._read_texts(r)

    def prepare(self) -> None:
        super().prepare()
        self._cmp = OPS[self.op]
        self._key = ("ratio", self.numerator, self.denominator, self.fallback, self.years)
        self._shown_key = (*self._key, "shown")
        # the common case read without the general path: the latest year, a fixed threshold
        self._fixed = self.years == 1 and self.value is not None
        self._json_t = {id(t): json_number(t) for _limit, _inclusive, t in self.bands or ()}
        self._notes: dict = {}  # (lang, years that fell back) → the note
        self._passed = {}
        for lang, e in self._entries.items():
            self._passed[lang] = e = e.copy()
            e["status"] = PASS
            e["required"] = self.required_json
        unit = "persons" if self.step == _ONE else "万元"
        self._words = {lang: (FIELD_NAMES[self.numerator][li], FIELD_NAMES[self.denominator][li],
                              UNIT_NAMES[unit][li], FIELD_NAMES[self.fallback][li] if self.fallback else None)
                       for li, lang in enumerate(LANGS)}

    def _sums(self, f: _Facts, miss: list | None) -> tuple | None:
        """(numerator, denominator, complete, years that fell back) over the years; None when there are no years
        (the window is unknown or empty). Shared by the criteria that read the same ratio (once per profile)
        unless missing inputs are being collected."""
        if miss is None:
            memo = f.memo
            out = memo.get(self._key)
            if out is None:
                memo[self._key] = out = self._sums_of(f, None)
            return out
        return self._sums_of(f, miss)

    def _sums_of(self, f: _Facts, miss: list | None) -> tuple | None:
        if self.years == 1:
            years: tuple | None = (f.latest_year,)
        else:
            years = f.window
            if not years:
                for name in (self.numerator, self.fallback or self.denominator):
                    _series(f, name, miss)
                return None
        n = d = _ZERO
        complete = True
        fell_back = []
        rows = f.rows
        for year in years:
            row = rows.get(year)
            if row is None:
                nv = dv = None
            else:
                nv = getattr(row, self.numerator)
                dv = getattr(row, self.denominator)
                if dv is None and self.fallback is not None:
                    dv = getattr(row, self.fallback)
                    if dv is not None:
                        fell_back.append(year)
            if nv is None or dv is None:
                complete = False
                if miss is None:
                    break
                if nv is None:
                    miss.append((year, self.numerator))
                if dv is None:
                    miss.append((year, self.fallback or self.denominator))
                continue
            n += nv
            d += dv
        return n, d, complete, fell_back

    def _shown(self, f: _Facts, n: Decimal, d: Decimal) -> tuple[Decimal, float]:
        """The quotient shown (_floor4), once per profile."""
        memo = f.memo
        shown = memo.get(self._shown_key)
        if shown is None:
            memo[self._shown_key] = shown = _floor4(_SHOW.divide(n, d))
        return shown

    def run(self, f, lang, miss, rulesets):
        if self._fixed:
            # A pass on the latest year's figures (most are): the general path below gives the same entry (the
            # sums there are 0 + each figure, the same values); anything else takes it.
            row = f.latest
            if row is not None:
                n = getattr(row, self.numerator)
                d = getattr(row, self.denominator)
                if n is not None and d is not None and d > 0:
                    t = self.value
                    if self._cmp(n, t * d):
                        shown = f.memo.get(self._shown_key)  # self._shown(), inlined
                        if shown is None:
                            f.memo[self._shown_key] = shown = _floor4(_SHOW.divide(n, d))
                        e = self._passed[lang].copy()
                        e["actual"] = shown[1] if shown[0] >= t else float(t)
                        return e
                    # a fail: the general path's sums of one year (0 + each figure), nothing missing or fallen back
                    return self._failed(f, lang, _ZERO + n, _ZERO + d, t, self.required_json)
        sums = self._sums(f, miss)
        if sums is None:
            return self.entry(lang, UNKNOWN, None, json_number(self.value))
        n, d, complete, fell_back = sums
        if miss is None and complete and d > 0:
            # a pass over several years, by bands or with a fallback: the general path below, shortened
            t = self.value
            if t is None:
                row = f.latest
                by = None if row is None else getattr(row, self.band_by)
                t = None if by is None else _pick(self.bands, by)
            if t is not None and self._cmp(n, t * d):
                shown = self._shown(f, n, d)
                e = self._passed[lang].copy()
                e["actual"] = shown[1] if shown[0] >= t else float(t)
                if self.value is None:
                    required = self._json_t.get(id(t))
                    e["required"] = json_number(t) if required is None else required
                if fell_back:
                    e["note"] = self._note(lang, fell_back)
                return e
        t = self.value
        if t is None:
            row = f.latest
            by = None if row is None else getattr(row, self.band_by)
            if by is None and miss is not None:
                miss.append((f.latest_year, self.band_by))
            t = None if by is None else _pick(self.bands, by)
            required = json_number(t)
        else:
            required = self.required_json
        if not complete or t is None:
            return self.entry(lang, UNKNOWN, None, required)
        if d <= 0:
            numerator, denominator, _unit, _fallback = self._words[lang]
            e = self.entry(lang, FAIL, None, required)
            e["gap"] = _gap(None, None, self.text("zero_text", lang, period=self._period(f, lang),
                                                  numerator=numerator, denominator=denominator), 1.0)
        else:
            cmp = self._cmp
            td = t * d
            if cmp(n, td):
                e = self.entry(lang, PASS, _clamped(self._shown(f, n, d), t, True), required)
            else:
                e = self._failed(f, lang, n, d, t, required)
        if fell_back:
            e["note"] = self._note(lang, fell_back)
        return e

    def judge(self, f, rulesets):
        if self._fixed:  # run()'s first path: the latest year against a fixed threshold
            row = f.latest
            if row is not None:
                n = getattr(row, self.numerator)
                d = getattr(row, self.denominator)
                if n is not None and d is not None and d > 0:
                    td = self.value * d
                    return _PASSED if self._cmp(n, td) else (FAIL, _relative(td - n, td))
        sums = self._sums(f, None)
        if sums is None:
            return _UNKNOWN
        n, d, complete, _fell_back = sums
        t = self.value
        if t is None:
            row = f.latest
            by = None if row is None else getattr(row, self.band_by)
            t = None if by is None else _pick(self.bands, by)
        if not complete or t is None:
            return _UNKNOWN
        if d <= 0:
            return _FAILED
        td = t * d
        return _PASSED if self._cmp(n, td) else (FAIL, _relative(td - n, td))

    def _failed(self, f: _Facts, lang: str, n: Decimal, d: Decimal, t: Decimal, required: Any) -> dict:
        """The entry of a ratio below its threshold t (d > 0), with the gap."""
        cmp = self._cmp
        td = t * d
        e = self.entry(lang, FAIL, _clamped(self._shown(f, n, d), t, False), required)
        if self.nested:
            x0 = (td - n) / (1 - t)
            x = _minimal(x0, self.step, lambda x: cmp(n + x, t * (d + x)))
        else:
            x0 = td - n
            x = _minimal(x0, self.step, lambda x: cmp(n + x, td))
        unit = "persons" if self.step == _ONE else "万元"
        numerator, denominator, unit_name, _fallback = self._words[lang]
        text = self.text("gap_text", lang, period=self._period(f, lang), numerator=numerator,
                         denominator=denominator, amount=_fmt(x, self.step) if x is not None else "?",
                         unit=unit_name, required=_pct(t))
        e["gap"] = _gap(x, unit, text, _relative(td - n, td), self.step)
        return e

    def _note(self, lang: str, fell_back: list) -> str:
        """The fallback note (few distinct year lists: kept)."""
        key = (lang, *fell_back)
        note = self._notes.get(key)
        if note is None:
            _numerator, denominator, _unit, fallback = self._words[lang]
            note = self.text("fallback_note", lang, years=", ".join(map(str, fell_back)),
                             denominator=denominator, fallback=fallback)
            if len(self._notes) >= 64:
                self._notes.clear()
            self._notes[key] = note
        return note

    def _period(self, f: _Facts, lang: str) -> str:
        if self.years == 1:
            return f"{f.latest_year} 年" if lang == "zh" else str(f.latest_year)
        window = f.window or ()
        if len(window) == 3:
            return "近三年" if lang == "zh" else "last three years"
        return (f"{window[0]}–{window[-1]} 年" if lang == "zh" else f"{window[0]}–{window[-1]}") if window else ""


class CagrCriterion(Criterion):
    """Compound annual growth of a figure over the window: (last ÷ first)^(1/(n−1)) − 1 vs a rate."""

    kind = "cagr"
    unit = "ratio"
    __slots__ = ("field", "min", "bands", "band_by", "op", "_cmp", "_pow", "_json_rate", "_growth_key", "_names")

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.field = r.get("field", _c_choice(*FIGURE_FIELDS), "revenue")
        if r.get("years", _c_years, 3) != 3:
            raise RuleSetError(f"{r.where('years')}: growth is measured over 3 years")
        self.op = r.get("op", _c_choice(">=", ">"), ">=")
        if r.has("min") == r.has("bands"):
            raise RuleSetError(f"{r.path}: give min or bands (with band_by), not both nor neither")
        self.min = r.get("min", _c_num, None)
        self.bands = r.get("bands", _c_limits, None)
        self.band_by = r.get("band_by", _c_band_by, None)
        if self.bands is not None and self.band_by is None:
            raise RuleSetError(f"{r.where('band_by')}: required with bands")
        self._read_texts(r)

    def prepare(self) -> None:
        super().prepare()
        self._cmp = OPS[self.op]
        rates = [self.min] if self.min is not None else [rate for _limit, _inclusive, rate in self.bands]
        # (1 + rate) ** k of each rate (by the rate's identity) for the windows there are (k = 1, 2 years of growth),
        # computed as evaluation would (the engine's exact context)
        self._pow = {}
        with localcontext(_CTX):
            for rate in rates:
                try:
                    self._pow[id(rate)] = (None, (1 + rate) ** 1, (1 + rate) ** 2)
                except ArithmeticError:  # left to evaluation, which reports it as it always did
                    pass
        self._json_rate = {id(rate): json_number(rate) for rate in rates}
        self._growth_key = ("cagr", self.field)
        self._names = {lang: FIELD_NAMES[self.field][li] for li, lang in enumerate(LANGS)}

    def _grown(self, first: Decimal, rate: Decimal, k: int) -> Decimal:
        """first * (1 + rate) ** k"""
        pows = self._pow.get(id(rate))
        if pows is None or not 0 < k < 3:
            return first * (1 + rate) ** k
        return first * pows[k]

    def _rate(self, last: Decimal, other_by: Decimal | None) -> Decimal:
        if self.min is not None:
            return self.min
        return _pick(self.bands, last if self.band_by == self.field else other_by)

    def _passes(self, first: Decimal, last: Decimal, k: int, other_by: Decimal | None) -> bool:
        rate = self.min if self.min is not None else self._rate(last, other_by)
        pows = self._pow.get(id(rate))  # self._grown(), inlined
        return self._cmp(last, first * pows[k] if pows is not None and 0 < k < 3 else first * (1 + rate) ** k)

    def run(self, f, lang, miss, rulesets):
        values = _series(f, self.field, miss)
        other_by = None
        if self.bands is not None and self.band_by != self.field:
            other_by = _latest(f, self.band_by, miss)
            if other_by is None:
                return self.entry(lang, UNKNOWN, None, None)
        if values is None:
            required = json_number(self.min) if self.min is not None else None
            return self.entry(lang, UNKNOWN, None, required)
        first, last = values[0], values[-1]
        rate = self._rate(last, other_by)
        required = self._json_rate.get(id(rate))
        if required is None:
            required = json_number(rate)
        field = self._names[lang]
        k = len(values) - 1
        if k == 0:
            e = self.entry(lang, FAIL, None, required)
            e["gap"] = _gap(None, None, self.text("short_text", lang), 1.0)
            return e
        if first <= 0:
            e = self.entry(lang, FAIL, None, required)
            e["gap"] = _gap(None, None, self.text("zero_base_text", lang, year=f.window[0], field=field), 1.0)
            return e
        memo = f.memo
        shown = memo.get(self._growth_key)
        if shown is None:  # the growth shown, once per profile (the same for each criterion on this figure)
            growth = _SHOW.divide(last, first)
            if k == 2:
                growth = _SHOW.sqrt(growth) if growth > 0 else _ZERO
            memo[self._growth_key] = shown = _floor4(growth - 1)
        pows = self._pow.get(id(rate))
        if self._cmp(last, first * pows[k] if pows is not None and 0 < k < 3 else self._grown(first, rate, k)):
            e = self._entries[lang].copy()
            e["status"] = PASS
            e["actual"] = shown[1] if shown[0] >= rate else float(rate)  # _clamped(shown, rate, True)
            e["required"] = required
            return e
        e = self.entry(lang, FAIL, _clamped(shown, rate, False), required)
        target = self._target(first, last, k, other_by)
        x = _minimal(target - last, _TENTH, lambda x: self._passes(first, last + x, k, other_by))
        reached = self._grown(first, rate, k)
        text = self.text("gap_text", lang, year=f.latest_year, field=field,
                         target=_fmt_exact(last + x) if x is not None else "?",
                         amount=_fmt(x, _TENTH) if x is not None else "?", required=_pct(rate))
        e["gap"] = _gap(x, "万元", text, _relative(reached - last, reached))
        return e

    def judge(self, f, rulesets):
        values = _series(f, self.field, None)
        other_by = None
        if self.bands is not None and self.band_by != self.field:
            other_by = _latest(f, self.band_by, None)
            if other_by is None:
                return _UNKNOWN
        if values is None:
            return _UNKNOWN
        k = len(values) - 1
        first, last = values[0], values[-1]
        if k == 0 or first <= 0:
            return _FAILED
        rate = self._rate(last, other_by)
        pows = self._pow.get(id(rate))
        reached = first * pows[k] if pows is not None and 0 < k < 3 else self._grown(first, rate, k)
        return _PASSED if self._cmp(last, reached) else (FAIL, _relative(reached - last, reached))

    def _target(self, first: Decimal, last: Decimal, k: int, other_by: Decimal | None) -> Decimal:
        """The smallest last-year value that reaches the rate of its own band (bands by this very figure)."""
        if self.min is not None or self.band_by != self.field:
            return self._grown(first, self._rate(last, other_by), k)
        best = None
        lower = None
        for limit, inclusive, rate in self.bands:
            need = self._grown(first, rate, k)
            if lower is not None and need < lower:
                need = lower
            fits = limit is None or (need <= limit if inclusive else need < limit)
            if fits and need > last and (best is None or need < best):
                best = need
            lower = limit
        return best if best is not None else self._grown(first, self.bands[-1][2], k)


class GrowthCriterion(Criterion):
    """Year-on-year growth of a figure: the latest year over the year before it, against a rate (e.g. 0.2)."""

    kind = "growth"
    unit = "ratio"
    __slots__ = ("field", "min", "op")

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.field = r.get("field", _c_choice(*FIGURE_FIELDS), "revenue")
        self.op = r.get("op", _c_choice(">=", ">"), ">=")
        self.min = r.get("min", _c_num)
        self._read_texts(r)

    def _passes(self, before: Decimal, last: Decimal) -> bool:
        return OPS[self.op](last, before * (1 + self.min))

    def run(self, f, lang, miss, rulesets):
        required = json_number(self.min)
        years = (f.latest_year - 1, f.latest_year)
        values = [None if f.rows.get(y) is None else getattr(f.rows[y], self.field) for y in years]
        if None in values:
            if miss is not None:
                miss.extend((y, self.field) for y, v in zip(years, values, strict=True) if v is None)
            return self.entry(lang, UNKNOWN, None, required)
        before, last = values
        field = FIELD_NAMES[self.field][_lang_index(lang)]
        if before <= 0:
            e = self.entry(lang, FAIL, None, required)
            e["gap"] = _gap(None, None, self.text("zero_base_text", lang, year=years[0], field=field), 1.0)
            return e
        growth = _SHOW.divide(last, before) - 1
        if self._passes(before, last):
            return self.entry(lang, PASS, _shown(growth, self.min, True), required)
        e = self.entry(lang, FAIL, _shown(growth, self.min, False), required)
        reached = before * (1 + self.min)
        x = _minimal(reached - last, _TENTH, lambda x: self._passes(before, last + x))
        text = self.text("gap_text", lang, year=years[1], field=field,
                         target=_fmt_exact(last + x) if x is not None else "?",
                         amount=_fmt(x, _TENTH) if x is not None else "?", required=_pct(self.min))
        e["gap"] = _gap(x, "万元", text, _relative(reached - last, reached))
        return e


class IPCountCriterion(Criterion):
    """Valid IP counts: class I ≥ a, or class II ≥ b, or all ≥ c (any one alternative suffices)."""

    kind = "ip_count"
    unit = "items"
    __slots__ = ("alternatives", "exclude_used", "_gaps")

    def __init__(self, r: _Reader):
        super().__init__(r)
        alternatives = []
        for key, cls in (("class1_min", "class1"), ("class2_min", "class2"), ("total_min", "total")):
            value = r.get(key, _c_int, None)
            if value is not None:
                alternatives.append((cls, value))
        if not alternatives:
            raise RuleSetError(f"{r.path}: give class1_min, class2_min or total_min")
        self.alternatives = tuple(alternatives)
        self.exclude_used = r.get("exclude_used_class2", _c_bool, False)
        self._read_texts(r)

    def prepare(self) -> None:
        super().prepare()
        self._gaps: dict = {}  # (lang, counts) → the gap's text, amount, relative (few distinct counts)

    def _counts(self, f: _Facts) -> dict[str, int | None]:
        c1 = f.ip_class1
        c2 = f.ip_class2_unused if self.exclude_used else f.ip_class2
        total = None if c1 is None or c2 is None else c1 + c2
        return {"class1": c1, "class2": c2, "total": total}

    def _met(self, counts: dict[str, int | None]) -> bool | None:
        """True when some alternative is met; else None when a count is unknown, else False."""
        unknown = False
        for cls, need in self.alternatives:
            have = counts[cls]
            if have is None:
                unknown = True
            elif have >= need:
                return True
        return None if unknown else False

    def run(self, f, lang, miss, rulesets):
        counts = self._counts(f)
        single = len(self.alternatives) == 1
        met = self._met(counts)
        if single:
            cls, need = self.alternatives[0]
            actual, required = counts[cls], need
        else:
            actual = {cls: counts[cls] for cls, _ in self.alternatives}
            required = {cls: need for cls, need in self.alternatives}
        if met:
            return self.entry(lang, PASS, actual, required)
        if met is None:
            if miss is not None:
                miss.append((None, "ip"))
            return self.entry(lang, UNKNOWN, actual, required)
        e = self.entry(lang, FAIL, actual, required)
        key = (lang, counts["class1"], counts["class2"])
        gap = self._gaps.get(key)
        if gap is None:
            shorts = [(cls, need - counts[cls], need) for cls, need in self.alternatives]
            items = self.texts["or_word"][lang].join(
                self.text("item_" + cls, lang, n=short) for cls, short, _ in shorts)
            amount = min(short for _, short, _ in shorts)
            relative = min(short / need for _, short, need in shorts)
            gap = (self.text("gap_text", lang, items=items), amount, relative)
            if len(self._gaps) >= 512:
                self._gaps.clear()
            self._gaps[key] = gap
        e["gap"] = {"amount": gap[1], "unit": "items", "text": gap[0], "relative": gap[2]}
        return e

    def judge(self, f, rulesets):
        counts = self._counts(f)
        met = self._met(counts)
        if met:
            return _PASSED
        if met is None:
            return _UNKNOWN
        return FAIL, min((need - counts[cls]) / need for cls, need in self.alternatives)


class BaseTierCriterion(Criterion):
    """Holds a certification of one of the given tiers, valid at the assessment date."""

    kind = "base_tier"
    __slots__ = ("any_of", "_texts")

    def __init__(self, r: _Reader):
        super().__init__(r)
        tiers = r.get("any_of", _c_list(_c_choice(*TIERS)))
        self.any_of = tuple(t for t in TIERS if t in tiers)
        self._read_texts(r)

    def prepare(self) -> None:
        super().prepare()
        # the gap text by language and the rule sets naming the tiers (kept as the key: they stay alive)
        self._texts: dict = {}

    def run(self, f, lang, miss, rulesets):
        required = list(self.any_of)
        valid = f.certs_valid
        if valid is None:
            if miss is not None:
                miss.append((None, "certifications"))
            return self.entry(lang, UNKNOWN, None, required)
        if valid:
            actual = [t for t in TIERS if t in valid]
            if any(t in valid for t in self.any_of):
                return self.entry(lang, PASS, actual, required)
        else:
            actual = []
        if f.certs_maybe and any(t in f.certs_maybe for t in self.any_of):
            if miss is not None:
                miss.append((None, "certifications"))
            return self.entry(lang, UNKNOWN, actual, required)
        e = self.entry(lang, FAIL, actual, required)
        key = (lang, *map(rulesets.get, self.any_of)) if rulesets else (lang,)
        text = self._texts.get(key)
        if text is None:
            names = self.texts["or_word"][lang].join(_tier_name(t, lang, rulesets) for t in self.any_of)
            text = self.text("gap_text", lang, tiers=names)
            if len(self._texts) >= 64:
                self._texts.clear()
            self._texts[key] = text
        e["gap"] = {"amount": None, "unit": None, "text": text, "relative": 1.0, "tier": self.any_of[0]}
        return e

    def judge(self, f, rulesets):
        valid = f.certs_valid
        if valid is None:
            return _UNKNOWN
        if valid and any(t in valid for t in self.any_of):
            return _PASSED
        if f.certs_maybe and any(t in f.certs_maybe for t in self.any_of):
            return _UNKNOWN
        return _FAILED


# ------------------------------------------------------------------------------------ scores


def _band_points(bands: tuple, test: Callable[[str, Decimal], bool]) -> tuple[Decimal, Decimal]:
    for cond, threshold, lo, hi in bands:
        if test(cond, threshold):
            return lo, hi
    return 0, 0


def _bands_max(bands: tuple) -> int | Decimal:
    return max([hi for _, _, _, hi in bands] + [0])


def _ratio_points(bands: tuple, n: Decimal | None, d: Decimal | None) -> tuple[Decimal, Decimal] | None:
    """Points of n ÷ d by ≥ (min) / > (above) bands; None when an input is missing."""
    if n is None or d is None:
        return None
    if d <= 0:
        return 0, 0
    for cond, t, lo, hi in bands:  # _band_points, unrolled (this runs for every profile)
        if (n >= t * d) if cond == "min" else (n > t * d):
            return lo, hi
    return 0, 0


def _ip_points(bands: tuple, c1: int | None, c2: int | None) -> tuple[Decimal, Decimal] | None:
    if c1 is None or c2 is None:
        return None
    total = c1 + c2
    for cond, t, lo, hi in bands:  # _band_points, unrolled
        if (c1 if cond == "class1_min" else c2 if cond == "class2_min" else total) >= t:
            return lo, hi
    return 0, 0


def _pair(lo: int | Decimal, hi: int | Decimal) -> list:
    if lo.__class__ is int and hi.__class__ is int:
        return [lo, hi]
    return [lo if lo.__class__ is int else json_number(lo), hi if hi.__class__ is int else json_number(hi)]


class _ScoreCriterion(Criterion):
    unit = "points"
    scored = True
    __slots__ = ("threshold", "comparison", "_cmp", "_threshold_json")

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.threshold = _compact(r.get("threshold", _c_num))
        self.comparison = r.get("comparison", _c_choice(">=", ">"))

    def prepare(self) -> None:
        super().prepare()
        self._cmp = OPS[self.comparison]
        self._threshold_json = json_number(self.threshold)
        for e in self._entries.values():
            e["required"] = self._threshold_json

    def _judge(self, lo: Decimal, hi: Decimal) -> str:
        cmp = self._cmp
        if cmp(lo, self.threshold):
            return PASS
        if not cmp(hi, self.threshold):
            return FAIL
        return BORDERLINE

    def _score_entry(self, lang, status, lo, hi, parts, details) -> dict:
        e = self._entries[lang].copy()
        e["status"] = status
        e["actual"] = low = lo if lo.__class__ is int else json_number(lo)
        high = hi if hi.__class__ is int else json_number(hi)
        e["range"] = [low, high]
        e["_score"] = {"id": self.id, "min": low, "max": high, "threshold": self._threshold_json,
                       "comparison": self.comparison, "parts": parts, "details": details}
        return e

    def _points_gap(self, lang: str, lo: Decimal, hi: Decimal) -> tuple[str, Decimal, float]:
        amount = self.threshold - hi
        words = _OP_WORDS[self.comparison][_lang_index(lang)]
        text = self.text("gap_text", lang, amount=_num_text(amount), max=_num_text(hi), min=_num_text(lo),
                         threshold=_num_text(self.threshold), comparison=words)
        return text, amount, _relative(amount, self.threshold)


class SmeScoreCriterion(_ScoreCriterion):
    """科技型中小企业 evaluation score (科技人员 + best of two R&D measures + 科技成果), or direct qualification."""

    kind = "sme_score"
    __slots__ = ("tech_bands", "rd_revenue_bands", "rd_cost_bands", "ip_bands", "tech_required", "direct_flags",
                 "high_tech_direct", "max_tech", "max_rd_revenue", "max_rd_cost", "max_ip")

    def __init__(self, r: _Reader):
        super().__init__(r)
        ratio_bands = _c_bands("min", "above")
        self.tech_bands = r.get("tech_staff_bands", ratio_bands)
        self.rd_revenue_bands = r.get("rd_revenue_bands", ratio_bands)
        self.rd_cost_bands = r.get("rd_cost_bands", ratio_bands)
        self.ip_bands = r.get("ip_bands", _c_bands("class1_min", "class2_min", "total_min"))
        self.tech_required = r.get("tech_staff_points_required", _c_bool, True)
        self.direct_flags = tuple(r.get("direct_flags", _c_list(_c_choice(*FLAG_FIELDS), nonempty=False), []))
        # 2017 text: a valid 高企 certificate qualifies directly; the 2022 text dropped it. Off by default.
        self.high_tech_direct = r.get("high_tech_certificate_qualifies", _c_bool, False)
        self.max_tech = _bands_max(self.tech_bands)
        self.max_rd_revenue = _bands_max(self.rd_revenue_bands)
        self.max_rd_cost = _bands_max(self.rd_cost_bands)
        self.max_ip = _bands_max(self.ip_bands)
        self._read_texts(r)

    def _direct(self, f: _Facts, miss: list | None) -> bool | None:
        flags = f.profile.flags
        unknown = []
        for name in self.direct_flags:
            value = getattr(flags, name)
            if value:
                return True
            if value is None:
                unknown.append("flags." + name)
        if self.high_tech_direct:
            if f.certs_valid is None or "high_tech" in f.certs_maybe:
                unknown.append("certifications")
            elif "high_tech" in f.certs_valid:
                return True
        if unknown:
            if miss is not None:
                miss.extend((None, name) for name in unknown)
            return None
        return False

    def _points(self, f: _Facts, miss: list | None) -> tuple:
        """(lo, hi, status before a direct qualification, tech staff's points at zero, the points of each part,
        employees and tech staff) of the latest year: what run() and judge() share."""
        if miss is None:  # _latest() of each, unrolled
            row = f.latest
            if row is None:
                employees = tech = rd = revenue = cost = None
            else:
                employees, tech, rd, revenue, cost = (row.employees, row.tech_staff, row.rd_expense, row.revenue,
                                                      row.total_cost)
        else:
            employees = _latest(f, "employees", miss)
            tech = _latest(f, "tech_staff", miss)
            rd = _latest(f, "rd_expense", miss)
            revenue = _latest(f, "revenue", miss)
            cost = _latest(f, "total_cost", miss)
        tech_pts = _ratio_points(self.tech_bands, tech, employees) or (0, self.max_tech)
        by_revenue = _ratio_points(self.rd_revenue_bands, rd, revenue) or (0, self.max_rd_revenue)
        by_cost = _ratio_points(self.rd_cost_bands, rd, cost) or (0, self.max_rd_cost)
        rd_pts = (max(by_revenue[0], by_cost[0]), max(by_revenue[1], by_cost[1]))
        ip_pts = _ip_points(self.ip_bands, f.ip_class1, f.ip_class2)
        if ip_pts is None:
            ip_pts = (0, self.max_ip)
            if miss is not None:
                miss.append((None, "ip"))
        lo = tech_pts[0] + rd_pts[0] + ip_pts[0]
        hi = tech_pts[1] + rd_pts[1] + ip_pts[1]
        status = self._judge(lo, hi)
        tech_zero = False
        if self.tech_required:
            if tech_pts[1] <= 0:
                status, tech_zero = FAIL, True
            elif tech_pts[0] <= 0 and status == PASS:
                status = BORDERLINE
        return lo, hi, status, tech_zero, tech_pts, rd_pts, ip_pts, by_revenue, by_cost, employees, tech

    def _tech_zero_gap(self, employees, tech) -> tuple[Decimal, float | None]:
        # the lowest share of tech staff that scores, and the relative gap to it (None: no relative to add)
        lowest = min(t for cond, t, _, h in self.tech_bands if h > 0) if self.max_tech > 0 else _ZERO
        if employees and employees > 0 and lowest > 0:
            return lowest, _relative(lowest * employees - (tech or _ZERO), lowest * employees)
        return lowest, None

    def judge(self, f, rulesets):
        lo, hi, status, tech_zero, *_parts, employees, tech = self._points(f, None)
        if status != PASS:
            direct = self._direct(f, None)
            if direct:
                return PASS, 0.0
            if direct is None and status == FAIL:
                return UNKNOWN, 0.0
        if status != FAIL:
            return status, 0.0
        relative = 0.0
        if not self._cmp(hi, self.threshold):
            relative = _relative(self.threshold - hi, self.threshold)
        if tech_zero:
            tech_relative = self._tech_zero_gap(employees, tech)[1]
            relative = 1.0 if tech_relative is None else max(relative, tech_relative)
        return FAIL, relative

    def run(self, f, lang, miss, rulesets):
        lo, hi, status, tech_zero, tech_pts, rd_pts, ip_pts, by_revenue, by_cost, employees, tech = self._points(
            f, miss)
        parts = {"sme_tech_staff": _pair(*tech_pts), "sme_rd": _pair(*rd_pts), "sme_ip": _pair(*ip_pts)}
        details = {"sme_rd_revenue": _pair(*by_revenue), "sme_rd_cost": _pair(*by_cost)}
        note = None
        if status != PASS:
            direct = self._direct(f, miss)
            if direct:
                status, note = PASS, self.text("direct_note", lang)
            elif direct is None and status == FAIL:
                status = UNKNOWN
        e = self._score_entry(lang, status, lo, hi, parts, details)
        if note:
            e["note"] = note
        if status == FAIL:
            texts = []
            relative = 0.0
            amount = None
            if not OPS[self.comparison](hi, self.threshold):
                text, amount, relative = self._points_gap(lang, lo, hi)
                texts.append(text)
            if tech_zero:
                lowest, tech_relative = self._tech_zero_gap(employees, tech)
                texts.append(self.text("tech_zero_text", lang, share=_pct(lowest)))
                relative = 1.0 if tech_relative is None else max(relative, tech_relative)
            e["gap"] = {"amount": json_number(amount), "unit": "points" if amount is not None else None,
                        "text": "；".join(texts) if lang == "zh" else "; ".join(texts), "relative": relative}
        return e


class HtScoreCriterion(_ScoreCriterion):
    """高企 innovation capability score: IP (≤30), conversions (≤30), management (≤20), growth (≤20)."""

    kind = "ht_innovation_score"
    __slots__ = ("ip_cap", "ip_judgement_max", "quantity_bands", "exclude_used", "conversion_bands",
                 "conversion_years", "management_max", "growth_bands", "growth_fields", "max_quantity",
                 "max_conversion", "max_growth", "_ip_judged", "_growth_names")

    def __init__(self, r: _Reader):
        super().__init__(r)
        self.ip_cap = r.get("ip_cap", _c_points_limit)
        jr = _Reader(r.get("ip_judgement_max", lambda v, p: v), r.where("ip_judgement_max"))
        self.ip_judgement_max = {name: jr.get(name, _c_points_limit)
                                 for name in JUDGEMENT_FIELDS if name != "management"}
        jr.done()
        self.quantity_bands = r.get("ip_quantity_bands", _c_bands("class1_min", "class2_min", "total_min"))
        self.exclude_used = r.get("exclude_used_class2", _c_bool, True)
        self.conversion_bands = r.get("conversion_bands", _c_bands("min"))
        self.conversion_years = r.get("conversion_years", _c_int, 3) or 1
        self.management_max = r.get("management_max", _c_points_limit)
        self.growth_bands = r.get("growth_bands", _c_bands("min", "above"))
        self.growth_fields = tuple(r.get("growth_fields", _c_list(_c_choice(*FIGURE_FIELDS)),
                                         ["net_assets", "revenue"]))
        self.max_quantity = _bands_max(self.quantity_bands)
        self.max_conversion = _bands_max(self.conversion_bands)
        self.max_growth = _bands_max(self.growth_bands)
        self._read_texts(r)

    def prepare(self) -> None:
        super().prepare()
        self._ip_judged = tuple((name, self.ip_judgement_max[name], "judgement." + name)
                                for name in ("ip_advancement", "ip_core_support", "ip_acquisition",
                                             "ip_standards_bonus"))
        self._growth_names = tuple("growth_" + name for name in self.growth_fields)

    def _judgement(self, f: _Facts, name: str, top: Decimal, miss: list | None) -> tuple[Decimal, Decimal]:
        value = getattr(f.profile.judgement, name)
        if value is None:
            if miss is not None:
                miss.append((None, "judgement." + name))
            return 0, top
        value = _compact(min(value, top))
        return value, value

    def _conversion(self, f: _Facts, miss: list | None) -> tuple[Decimal, Decimal]:
        count = f.profile.conversions_last_3_years
        if count is None:
            if miss is not None:
                miss.append((None, "conversions_last_3_years"))
            return 0, self.max_conversion
        top = self.conversion_years

        def points(divisor: int) -> tuple[Decimal, Decimal]:
            for _cond, t, lo, hi in self.conversion_bands:  # all "min" bands
                if count >= t * divisor:
                    return lo, hi
            return 0, 0
        if f.whole_years is None:
            # The divisor is the whole years operated when fewer than three: unknown without the date.
            lo, hi = points(top)[0], points(1)[1]
            if lo != hi and miss is not None:
                miss.append((None, "established_on"))
            return lo, hi
        return points(min(top, max(1, f.whole_years)))

    def _growth(self, f: _Facts, name: str, miss: list | None) -> tuple[Decimal, Decimal]:
        values = _series(f, name, miss)
        if values is None:
            return 0, self.max_growth
        if len(values) <= 1:  # one year only: 0 points
            return 0, 0
        if len(values) == 2:  # two years: year2 ÷ year1 − 1
            y1, y2 = values
            if y1 <= 0:
                return 0, 0
            p, q = y2, y1
        else:
            y1, y2, y3 = values
            if y2 <= 0:  # a second year at 0 or below: 0 points
                return 0, 0
            if y1 <= 0:  # a first year at 0 or below: year3 ÷ year2 − 1
                p, q = y3, y2
            else:  # ½ × (y2 ÷ y1 + y3 ÷ y2) − 1, as (p ÷ q) − 1
                p, q = y2 * y2 + y3 * y1, 2 * y1 * y2
        # rate ≥ t  ⇔  p ÷ q ≥ 1 + t  ⇔  p ≥ (1 + t)·q   (q > 0)
        for cond, t, lo, hi in self.growth_bands:  # _band_points, unrolled
            if (p >= (1 + t) * q) if cond == "min" else (p > (1 + t) * q):
                return lo, hi
        return 0, 0

    def _totals(self, f: _Facts, miss: list | None) -> tuple:
        """(lo, hi) of the score and its parts: the IP items judged, quantity, IP, conversion, management, growths."""
        judgement = f.profile.judgement
        judged = []
        for name, top, missing_name in self._ip_judged:  # _judgement() of each IP item, unrolled
            value = getattr(judgement, name)
            if value is None:
                if miss is not None:
                    miss.append((None, missing_name))
                judged.append((0, top))
            else:
                value = _compact(min(value, top))
                judged.append((value, value))
        adv, core, acq, bonus = judged
        c2 = f.ip_class2_unused if self.exclude_used else f.ip_class2
        quantity = _ip_points(self.quantity_bands, f.ip_class1, c2)
        if quantity is None:
            quantity = (0, self.max_quantity)
            if miss is not None:
                miss.append((None, "ip"))
        cap = self.ip_cap
        ip = (min(cap, adv[0] + core[0] + quantity[0] + acq[0] + bonus[0]),
              min(cap, adv[1] + core[1] + quantity[1] + acq[1] + bonus[1]))
        conversion = self._conversion(f, miss)
        management = self._judgement(f, "management", self.management_max, miss)
        growths = [self._growth(f, name, miss) for name in self.growth_fields]
        growth_lo = growth_hi = 0  # sum() of each
        for g in growths:
            growth_lo += g[0]
            growth_hi += g[1]
        lo = ip[0] + conversion[0] + management[0] + growth_lo
        hi = ip[1] + conversion[1] + management[1] + growth_hi
        return lo, hi, judged, quantity, ip, conversion, management, growths, growth_lo, growth_hi

    def judge(self, f, rulesets):
        lo, hi = self._totals(f, None)[:2]
        status = self._judge(lo, hi)
        return (FAIL, _relative(self.threshold - hi, self.threshold)) if status == FAIL else (status, 0.0)

    def run(self, f, lang, miss, rulesets):
        lo, hi, judged, quantity, ip, conversion, management, growths, growth_lo, growth_hi = self._totals(f, miss)
        adv, core, acq, bonus = judged
        parts = {"ht_score_ip": _pair(*ip), "ht_score_conversion": _pair(*conversion),
                 "ht_score_management": _pair(*management), "ht_score_growth": _pair(growth_lo, growth_hi)}
        details = {"ip_advancement": _pair(*adv), "ip_core_support": _pair(*core),
                   "ht_score_ip_quantity": _pair(*quantity), "ip_acquisition": _pair(*acq),
                   "ip_standards_bonus": _pair(*bonus)}
        for name, g in zip(self._growth_names, growths, strict=True):
            details[name] = _pair(*g)
        status = self._judge(lo, hi)
        e = self._score_entry(lang, status, lo, hi, parts, details)
        if status == FAIL:
            text, amount, relative = self._points_gap(lang, lo, hi)
            e["gap"] = {"amount": json_number(amount), "unit": "points", "text": text, "relative": relative}
        return e


# The "tier" of a rule set that states a support policy's eligibility rather than a tier's criteria.
POLICY_SUBJECT = "policy"

KINDS: dict[str, type[Criterion]] = {cls.kind: cls for cls in (
    FlagCriterion, AgeCriterion, MetricCriterion, RatioCriterion, CagrCriterion, GrowthCriterion, IPCountCriterion,
    BaseTierCriterion, DomainCriterion, SmeScoreCriterion, HtScoreCriterion)}
SCORE_KINDS = frozenset({"sme_score", "ht_innovation_score"})


def compile_criterion(data: Any, path: str) -> Criterion:
    """A criterion from its data; RuleSetError names what is wrong."""
    r = _Reader(data, path)
    kind = r.data.get("kind")
    if kind not in KINDS:
        raise RuleSetError(f"{r.where('kind')}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    criterion = KINDS[kind](r)
    r.done()
    criterion.prepare()
    return criterion


# ------------------------------------------------------------------------------------ rule sets


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class RuleSet:
    """A tier's rule set: identity (id, version), labels, the notice, and its compiled criteria."""

    __slots__ = ("id", "version", "tier", "label", "source", "notice", "criteria", "active", "_data", "_runs",
                 "_judges", "_scored")

    def __init__(self, *, id: str, version: str | int, tier: str, label: dict, source: dict,
                 notice: dict | None, criteria: tuple[Criterion, ...], data: dict):
        self.id, self.version, self.tier = id, version, tier
        self.label, self.source, self.notice = label, source, notice
        self.criteria = criteria
        self.active = tuple(c for c in criteria if c.enabled)
        self._data = data
        # compiled once: the active criteria's bound run and judge methods, and where the score criterion is (at
        # most one)
        self._runs = tuple(c.run for c in self.active)
        self._judges = tuple(c.judge for c in self.active)
        self._scored = next((i for i, c in enumerate(self.active) if c.scored), None)

    @classmethod
    def from_dict(cls, data: Any) -> RuleSet:
        """Validate and compile a rule-set dict (a shipped file or an admin's version)."""
        r = _Reader(data, "")
        rs_id = r.get("id", _c_str)

        def version(value: Any, path: str) -> str | int:
            if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
                raise ValueError("not a string or a whole number")
            return value
        ver = r.get("version", version)
        # a tier's rule set, or a policy's eligibility conditions (the same criteria, the same evaluator)
        tier = r.get("tier", _c_choice(*TIERS, POLICY_SUBJECT))
        label = r.get("label", _c_texts)
        source = r.get("source", _c_texts, {"zh": "", "en": ""})
        notice = r.get("notice", _c_texts, None)
        if notice is None and tier in REGIONAL_TIERS:
            notice = dict(REGIONAL_NOTICE)
        raw = r.get("criteria", lambda v, p: v)
        if not isinstance(raw, list | tuple):
            raise RuleSetError("criteria: not a list")
        criteria = tuple(compile_criterion(item, f"criteria[{i}]") for i, item in enumerate(raw))
        seen = set()
        for i, c in enumerate(criteria):
            if c.id in seen:
                raise RuleSetError(f"criteria[{i}].id: {c.id!r} appears twice")
            seen.add(c.id)
        if sum(1 for c in criteria if c.kind in SCORE_KINDS and c.enabled) > 1:
            raise RuleSetError("criteria: at most one score criterion may be enabled")
        r.done()
        return cls(id=rs_id, version=ver, tier=tier, label=label, source=source, notice=notice,
                   criteria=criteria, data=_jsonable(data))

    def to_dict(self) -> dict:
        """The rule set as JSON-ready data (what from_dict reads)."""
        return copy.deepcopy(self._data)

    def evaluate(self, profile: Profile, lang: str = "zh", rulesets: Mapping | None = None,
                 missing: list | None = None) -> dict:
        """The readiness result of `profile` for this tier (see evaluate())."""
        _lang_index(lang)
        with localcontext(_CTX):
            return self._evaluate(_facts(profile), lang, rulesets or {}, missing)

    def rank(self, profile: Profile, rulesets: Mapping | None = None) -> tuple[str, tuple]:
        """(verdict, rank_key) of `profile` for this tier, as evaluate() and rank_key() give them, without the
        result's entries and texts (see ranks_of())."""
        with localcontext(_CTX):
            return self._rank(_facts(profile), rulesets or {})

    def _rank(self, f: _Facts, rulesets: Mapping, failing: list[int] | None = None) -> tuple[str, tuple]:
        """(verdict, rank_key); the positions of the failing criteria are added to `failing` when given."""
        fails = unknown = 0
        gaps = 0.0
        for i, judge in enumerate(self._judges):
            status, relative = judge(f, rulesets)
            if status == FAIL:
                fails += 1
                gaps += relative
                if failing is not None:
                    failing.append(i)
            elif status != PASS:
                unknown += 1
        verdict = NOT_READY if fails else INCOMPLETE if unknown else READY
        return verdict, (VERDICT_RANK[verdict], fails, round(gaps, 9), unknown)

    def _gap_texts(self, f: _Facts, rulesets: Mapping, failing: list[int], lang: str) -> list[str]:
        """The gap texts of the failing criteria at these positions (only those criteria run)."""
        active = self.active
        return [active[i].run(f, lang, None, rulesets)["gap"]["text"] for i in failing]

    def gap_texts(self, profile: Profile, lang: str, rulesets: Mapping | None = None, first: int = 3) -> list[str]:
        """The gap texts of the first `first` failing criteria, as evaluate() gives them in `lang`: each criterion
        judged, only the failing ones run for their texts (the stored ranks keep them for the pool's page)."""
        _lang_index(lang)
        rulesets = rulesets or {}
        f = _facts(profile)
        failing: list[int] = []
        with localcontext(_CTX):
            self._rank(f, rulesets, failing)
            return self._gap_texts(f, rulesets, failing[:first], lang)

    def verdict(self, profile: Profile, rulesets: Mapping | None = None) -> tuple[str, list[Criterion]]:
        """(verdict, the criteria left unknown or borderline, in order) of `profile`, as evaluate() gives them,
        without the entries and texts (a policy's stored match: its verdict and what is unknown)."""
        rulesets = rulesets or {}
        f = _facts(profile)
        failed = False
        undecided = []
        with localcontext(_CTX):
            for c in self.active:
                status = c.judge(f, rulesets)[0]
                if status == FAIL:
                    failed = True
                elif status != PASS:
                    undecided.append(c)
        return (NOT_READY if failed else INCOMPLETE if undecided else READY), undecided

    def _evaluate(self, f: _Facts, lang: str, rulesets: Mapping, missing: list | None) -> dict:
        if missing is None:
            entries = [run(f, lang, None, rulesets) for run in self._runs]
        else:
            entries = []
            for run in self._runs:
                local: list = []
                e = run(f, lang, local, rulesets)
                if e["status"] in (UNKNOWN, BORDERLINE):
                    missing.extend(local)
                entries.append(e)
        statuses = set(map(_STATUS, entries))
        verdict = NOT_READY if FAIL in statuses else INCOMPLETE if statuses - _DECIDED else READY
        result = {"tier": self.tier, "ruleset": {"id": self.id, "version": self.version},
                  "verdict": verdict, "criteria": entries}
        if self._scored is not None:
            result["score"] = entries[self._scored].pop("_score")
        if self.notice is not None:
            result["notice"] = self.notice[lang]
        return result


@lru_cache(maxsize=1)
def _shipped() -> dict[str, RuleSet]:
    out = {}
    for tier in TIERS:
        path = RULES_DIR / f"{tier}.json"
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh, parse_float=Decimal)
        try:
            rs = RuleSet.from_dict(data)
        except RuleSetError as exc:
            raise RuleSetError(f"{path.name}: {exc}") from None
        if rs.tier != tier:
            raise RuleSetError(f"{path.name}: tier is {rs.tier!r}")
        out[tier] = rs
    return out


def shipped_ruleset_dicts() -> dict[str, dict]:
    """The shipped rule sets as dicts (a settings page starts an admin's version from these)."""
    return {tier: rs.to_dict() for tier, rs in _shipped().items()}


def load_rulesets(overrides: Mapping[str, Any] | None = None) -> dict[str, RuleSet]:
    """The rule set of every tier, in ladder order: the shipped files, with an admin's versions instead.

    `overrides` maps a tier code to a rule-set dict (or a RuleSet) as the settings store it.
    Parse once and reuse the answer: evaluation never reads files.
    """
    out = dict(_shipped())
    for tier, data in (overrides or {}).items():
        if tier not in out:
            raise RuleSetError(f"overrides: unknown tier {tier!r}")
        rs = data if isinstance(data, RuleSet) else RuleSet.from_dict(data)
        if rs.tier != tier:
            raise RuleSetError(f"overrides[{tier}]: the rule set is for {rs.tier!r}")
        out[tier] = rs
    return out


# ------------------------------------------------------------------------------------ the API


def _ruleset(tier: Any, rulesets: Mapping[str, RuleSet]) -> RuleSet:
    code = str(tier.value if isinstance(tier, Tier) else tier)
    rs = rulesets.get(code)
    if rs is None:
        raise ValueError(f"no rule set for tier {code!r}")
    return rs


def evaluate(profile: Profile, tier: str, rulesets: Mapping[str, RuleSet], *, lang: str = "zh") -> dict:
    """The readiness result (readiness-profile.md) of `profile` for `tier`.

    {"tier", "ruleset": {"id", "version"}, "verdict", "criteria": [{"id", "status", "actual", "required",
    "unit", "label", "source", "gap"? , …}], "score"? , "notice"?}. Extra keys: `notice` on regional
    tiers, `note` on a criterion (e.g. revenue standing in for total income), `range` on a score
    criterion, `relative` (0–1) and for a base tier `tier` in a gap, `comparison` and `details` in the score.
    """
    return _ruleset(tier, rulesets).evaluate(profile, lang, rulesets)


def evaluate_all(profile: Profile, rulesets: Mapping[str, RuleSet], lang: str = "zh") -> list[dict]:
    """The results of every tier that has a rule set, lowest tier first."""
    _lang_index(lang)
    f = _facts(profile)
    with localcontext(_CTX):
        return [rulesets[t]._evaluate(f, lang, rulesets, None) for t in TIERS if t in rulesets]


def ranks_of(profile: Profile, rulesets: Mapping[str, RuleSet], *, texts: tuple[str, ...] = ()) -> list[tuple]:
    """(tier, verdict, rank_key) of every tier that has a rule set, lowest tier first: what evaluate_all() and
    rank_key() give, without the entries and their texts (the nightly ranking and the at-risk count need no more).
    Each criterion judges from the facts (Criterion.judge); tests/ladder/test_engine_reference.py holds the two
    equal on every generated profile. With `texts` (languages) each tuple has a fourth item, {lang: the gap texts
    of the first three failing criteria} (RuleSet.gap_texts), for which only those criteria run."""
    f = _facts(profile)
    with localcontext(_CTX):
        if not texts:
            return [(t, *rulesets[t]._rank(f, rulesets)) for t in TIERS if t in rulesets]
        for lang in texts:
            _lang_index(lang)
        out = []
        for t in TIERS:
            rs = rulesets.get(t)
            if rs is not None:
                failing: list[int] = []
                verdict, key = rs._rank(f, rulesets, failing)
                out.append((t, verdict, key, {lang: rs._gap_texts(f, rulesets, failing[:3], lang) for lang in texts}))
        return out


def rank_key(result: dict) -> tuple:
    """Sort key for the candidate pool, closest first: verdict (ready, incomplete, not_ready), then fewer
    failing criteria, then the smaller total of the failing criteria's relative gaps, then fewer unknowns."""
    fails = 0
    gaps = 0.0
    unknown = 0
    for c in result["criteria"]:
        status = c["status"]
        if status == FAIL:
            fails += 1
            gaps += c.get("gap", {}).get("relative", 1.0)
        elif status != PASS:
            unknown += 1
    return VERDICT_RANK[result["verdict"]], fails, round(gaps, 9), unknown


def missing_data(profile: Profile, tier: str, rulesets: Mapping[str, RuleSet], *, lang: str = "zh") -> list[dict]:
    """What to enter to decide the criteria that are unknown or borderline, e.g.
    {"year": 2023, "field": "rd_expense", "text": "缺少 2023 年研发费用"}; figures first, by year."""
    li = _lang_index(lang)
    found: list = []
    _ruleset(tier, rulesets).evaluate(profile, lang, rulesets, missing=found)
    unique = sorted(set(found), key=lambda m: (m[0] is None, m[0] or 0, _FIELD_ORDER.get(m[1], 999)))
    out = []
    for year, name in unique:
        label = FIELD_NAMES[name][li]
        if year is None:
            text = f"缺少{label}" if lang == "zh" else f"Missing: {label}"
        else:
            text = f"缺少 {year} 年{label}" if lang == "zh" else f"Missing: {label} for {year}"
        out.append({"year": year, "field": name, "text": text})
    return out


# ------------------------------------------------------------------ scored models (创新积分, grading)
# A scored model is the other shape a rule set takes: instead of criteria that pass or fail, indicators read off
# the same facts (one vocabulary, the same _Facts), each turned into points by bands (first match wins, "min" is
# ≥ and "above" is >, the thresholds kept as data) and weighted. Used for the innovation points (企业创新积分).


def _div(n, d) -> Decimal | None:
    if n is None or d is None:
        return None
    return Decimal(0) if d <= 0 else Decimal(n) / Decimal(d)


def _ind_ratio(numerator: str, denominator: str) -> Callable[[_Facts, Mapping], Decimal | None]:
    def value(f: _Facts, extra: Mapping) -> Decimal | None:
        row = f.latest
        return None if row is None else _div(getattr(row, numerator), getattr(row, denominator))
    return value


def _ind_growth(name: str) -> Callable[[_Facts, Mapping], Decimal | None]:
    def value(f: _Facts, extra: Mapping) -> Decimal | None:
        now, before = f.latest, f.rows.get(f.latest_year - 1)
        a = None if now is None else getattr(now, name)
        b = None if before is None else getattr(before, name)
        if a is None or b is None:
            return None
        return Decimal(0) if b <= 0 else Decimal(a) / Decimal(b) - 1
    return value


def _ind_per(numerator: str | None, extra_numerator: str | None, extra_denominator: str):
    """Latest-year figure (or an extra yearly value) per unit of an extra yearly value (亩, 吨标煤)."""
    def value(f: _Facts, extra: Mapping) -> Decimal | None:
        if numerator is not None:
            n = None if f.latest is None else getattr(f.latest, numerator)
        else:
            n = extra.get(extra_numerator)
        return _div(n, extra.get(extra_denominator))
    return value


# indicator → how it is read off the facts (ratios as fractions: 0.05 is 5%). The per-亩 and per-energy
# indicators read the latest year's optional fields (tax_paid, land_mu, energy_tce), which the profile format
# does not carry: the caller passes them as `extra` (crm.policies.queries reads them with the figures).
SCORE_INDICATORS: dict[str, Callable[[_Facts, Mapping], Decimal | None]] = {
    "rd_intensity": _ind_ratio("rd_expense", "revenue"),
    "rd_staff_share": _ind_ratio("rd_staff", "employees"),
    "tech_staff_share": _ind_ratio("tech_staff", "employees"),
    "hightech_revenue_share": _ind_ratio("hightech_revenue", "revenue"),
    "revenue_growth": _ind_growth("revenue"),
    "invention_patents": lambda f, x: None if f.ip_class1 is None else Decimal(f.ip_class1),
    "other_ip": lambda f, x: None if f.ip_class2 is None else Decimal(f.ip_class2),
    "conversions_3y": lambda f, x: (None if f.profile.conversions_last_3_years is None
                                    else Decimal(f.profile.conversions_last_3_years)),
    "tax_per_mu": _ind_per(None, "tax_paid", "land_mu"),
    "revenue_per_mu": _ind_per("revenue", None, "land_mu"),
    "revenue_per_energy": _ind_per("revenue", None, "energy_tce"),
}
GRADES = ("A", "B", "C", "D")


def _c_grade_cutoffs(value: Any, path: str) -> dict:
    """{"mode": "score", "A": 80, "B": 60, "C": 40} (at least that many points) or {"mode": "share", "A": 0.2,
    "B": 0.5, "C": 0.8} (the best 20% A, to 50% B, to 80% C); D below."""
    r = _Reader(value, path)
    mode = r.get("mode", _c_choice("score", "share"))
    cuts = {g: r.get(g, _c_nonneg) for g in GRADES[:3]}
    r.done()
    a, b, c = cuts["A"], cuts["B"], cuts["C"]
    if mode == "score" and not a >= b >= c:
        raise RuleSetError(f"{path}: score cut-offs must fall from A to C")
    if mode == "share" and not (a <= b <= c <= 1):
        raise RuleSetError(f"{path}: shares must rise from A to C, at most 1")
    return {"mode": mode, **cuts}


def grade_scores(scores: Mapping[Any, Decimal], cutoffs: Mapping) -> dict[Any, str]:
    """{key: "A".."D"} for scores of one population. Score cut-offs: at least that many points. Shares: an
    enterprise takes grade G when those scoring strictly more than it are fewer than G's share of the population,
    so equal scores always share a grade (the better one): ties at a cut-off lift all of them, never split them,
    whatever order they come in."""
    if cutoffs["mode"] == "score":
        return {k: next((g for g in GRADES[:3] if v >= cutoffs[g]), "D") for k, v in scores.items()}
    n = len(scores)
    ordered = sorted(scores.values(), reverse=True)
    out = {}
    for key, value in scores.items():
        ahead = _count_above(ordered, value)
        out[key] = next((g for g in GRADES[:3] if ahead < cutoffs[g] * n), "D")
    return out


def _count_above(descending: list, value) -> int:
    """How many of a descending list are strictly greater than `value` (binary search)."""
    lo, hi = 0, len(descending)
    while lo < hi:
        mid = (lo + hi) // 2
        if descending[mid] > value:
            lo = mid + 1
        else:
            hi = mid
    return lo


class ScoreModel:
    """Indicators → points by bands, each weighted; the total is Σ weight × points (a missing indicator scores 0
    and is named). Pure: evaluates a Profile like a RuleSet does."""

    __slots__ = ("id", "version", "label", "indicators", "grades")

    def __init__(self, id: str, version: int, label: dict, indicators: tuple, grades: dict | None = None):
        self.id, self.version, self.label, self.indicators = id, version, label, indicators
        self.grades = grades  # cut-offs of A/B/C/D, for a grading model

    @classmethod
    def from_dict(cls, data: Any) -> ScoreModel:
        """A model from its data; RuleSetError names what is wrong."""
        r = _Reader(data, "")
        model_id = r.get("id", lambda v, p: str(v))
        version = r.get("version", _c_int, 1)
        label = r.get("label", _c_texts)

        def indicator(item: Any, where: str):
            ir = _Reader(item, where)
            name = ir.get("indicator", _c_choice(*SCORE_INDICATORS))
            weight = ir.get("weight", _c_nonneg)
            bands = ir.get("bands", _c_bands("min", "above"))
            ir.get("label", _c_texts, None)
            ir.done()
            return name, weight, bands

        indicators = tuple(_c_list(indicator)(r.get("indicators", lambda v, p: v), "indicators"))
        if len({name for name, _w, _b in indicators}) != len(indicators):
            raise RuleSetError("indicators: each indicator once")
        grades = r.get("grades", _c_grade_cutoffs, None)
        r.done()
        return cls(model_id, version, label, indicators, grades)

    @property
    def maximum(self) -> Decimal:
        """The highest total the model can give."""
        return sum((Decimal(w) * Decimal(_bands_max(b)) for _n, w, b in self.indicators), Decimal(0))

    def score(self, profile: Profile, extra: Mapping | None = None) -> dict:
        """{"total": Decimal (0.01), "parts": [{"indicator", "value", "points", "weighted"}], "missing": [names]};
        `extra`: the latest year's optional fields the profile does not carry (tax_paid, land_mu, energy_tce)."""
        f = _facts(profile)
        extra = extra or {}
        parts, missing, total = [], [], Decimal(0)
        for name, weight, bands in self.indicators:
            value = SCORE_INDICATORS[name](f, extra)
            if value is None:
                points = Decimal(0)
                missing.append(name)
            else:
                points = Decimal(_band_points(bands, lambda cond, t, v=value: v >= t if cond == "min" else v > t)[0])
            weighted = Decimal(weight) * points
            total += weighted
            parts.append({"indicator": name, "value": value, "points": points, "weighted": weighted})
        return {"total": total.quantize(Decimal("0.01")), "parts": parts, "missing": missing}
