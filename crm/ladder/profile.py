"""The readiness profile: the rules engine's input (domain/readiness-profile.md), as frozen dataclasses.

`parse_profile(data)` validates a JSON object exactly as the document describes and raises
`ProfileError` naming the key path of every problem ("figures[1].revenue: not a number").
`profile_to_dict(profile)` is the inverse (JSON-ready: amounts become int or float, dates ISO
strings). `with_changes(profile, year=..., rd_expense=...)` is the what-if: a new profile with
one year's figures changed. Pure Python: no Flask app, no database.

Amounts are 万元 and kept as Decimal; `None` means "not known" (the criteria that read it are
`unknown`, never a pass).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from crm.core.clock import today
from crm.core.uscc import normalize_uscc, uscc_error

# The annual figures of a year, in the glossary's order; the people counts are persons, the rest 万元.
FIGURE_FIELDS = ("revenue", "hightech_revenue", "rd_expense", "rd_expense_domestic", "total_cost",
                 "total_income", "total_assets", "net_assets", "employees", "tech_staff", "rd_staff")
PEOPLE_FIELDS = frozenset({"employees", "tech_staff", "rd_staff"})
# Net assets may be negative; every other figure is at least 0.
SIGNED_FIELDS = frozenset({"net_assets"})

# 国家重点支持的高新技术领域 (the codes of crm.enterprises.models.TechDomain).
TECH_DOMAINS = ("electronic_information", "biomedicine", "aerospace", "new_materials", "hightech_services",
                "new_energy", "resources_environment", "advanced_manufacturing")

# IP kinds (crm.enterprises.models.IPKind); class I per the 高企 工作指引, everything else class II.
CLASS_I_KINDS = frozenset({"invention_patent", "plant_variety", "national_crop_variety", "new_drug",
                           "tcm_protected_variety", "ic_layout"})
CLASS_II_KINDS = frozenset({"utility_model", "design_patent", "software_copyright", "other_class2"})
IP_KINDS = ("invention_patent", "plant_variety", "national_crop_variety", "new_drug", "tcm_protected_variety",
            "ic_layout", "utility_model", "design_patent", "software_copyright", "other_class2")

FLAG_FIELDS = ("resident", "restricted_industry", "clean_record", "national_award_top3_5y",
               "provincial_rd_institution", "led_standard_5y")
# The 高企 judgement items an officer enters, with their maximum points (工作指引).
JUDGEMENT_MAX = {"ip_advancement": Decimal(8), "ip_core_support": Decimal(8), "ip_acquisition": Decimal(6),
                 "ip_standards_bonus": Decimal(2), "management": Decimal(20)}
JUDGEMENT_FIELDS = tuple(JUDGEMENT_MAX)

TIER_CODES = ("tech_sme", "little_giant", "high_tech", "gazelle", "demonstration")

TOP_KEYS = ("name", "uscc", "established_on", "assessment_date", "tech_domain", "figures", "ip",
            "conversions_last_3_years", "flags", "judgement", "certifications")
IP_KEYS = ("kind", "count", "used_in_earlier_application")
CERTIFICATION_KEYS = ("tier", "issued_on", "expires_on")


class ProfileError(ValueError):
    """A profile that cannot be read; `errors` lists every problem as "path: what is wrong"."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors or [message]


@dataclass(frozen=True, slots=True)
class Figures:
    """One accounting year's figures (万元; people in persons). None: not known."""

    year: int
    revenue: Decimal | None = None
    hightech_revenue: Decimal | None = None
    rd_expense: Decimal | None = None
    rd_expense_domestic: Decimal | None = None
    total_cost: Decimal | None = None
    total_income: Decimal | None = None
    total_assets: Decimal | None = None
    net_assets: Decimal | None = None
    employees: Decimal | None = None
    tech_staff: Decimal | None = None
    rd_staff: Decimal | None = None


@dataclass(frozen=True, slots=True)
class IPHolding:
    """Valid IP items of one kind; `used_in_earlier_application` matters for class II only."""

    kind: str
    count: int | None = None
    used_in_earlier_application: int | None = 0

    @property
    def ip_class(self) -> int:
        """1 for class I kinds, 2 for class II."""
        return 1 if self.kind in CLASS_I_KINDS else 2


@dataclass(frozen=True, slots=True)
class Flags:
    """The yes/no facts; None: not known."""

    resident: bool | None = None
    restricted_industry: bool | None = None
    clean_record: bool | None = None
    national_award_top3_5y: bool | None = None
    provincial_rd_institution: bool | None = None
    led_standard_5y: bool | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    """The 高企 judgement items (expert points, may be fractional); None: not entered."""

    ip_advancement: Decimal | None = None
    ip_core_support: Decimal | None = None
    ip_acquisition: Decimal | None = None
    ip_standards_bonus: Decimal | None = None
    management: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CertificationHeld:
    """A certification the enterprise holds (or held): valid from issued_on to expires_on, inclusive."""

    tier: str
    issued_on: date | None = None
    expires_on: date | None = None

    def valid_on(self, day: date) -> bool | None:
        """True / False, or None when a missing date leaves it open."""
        if (self.issued_on is not None and self.issued_on > day) or \
                (self.expires_on is not None and self.expires_on < day):
            return False
        if self.issued_on is None or self.expires_on is None:
            return None
        return True


@dataclass(frozen=True, slots=True)
class Profile:
    """The engine's input. `figures` is sorted by year; `ip` / `certifications` None: list not known."""

    assessment_date: date
    name: str | None = None
    uscc: str | None = None
    established_on: date | None = None
    tech_domain: str | None = None
    figures: tuple[Figures, ...] = ()
    ip: tuple[IPHolding, ...] | None = None
    conversions_last_3_years: int | None = None
    flags: Flags = Flags()
    judgement: Judgement = Judgement()
    certifications: tuple[CertificationHeld, ...] | None = None
    # The engine's per-profile facts (years, counts), computed once; not part of the value.
    _facts: Any = field(default=None, init=False, repr=False, compare=False, hash=False)

    @property
    def latest_year(self) -> int:
        """The last complete accounting year before the assessment date."""
        return self.assessment_date.year - 1

    def figures_for(self, year: int) -> Figures | None:
        """That year's figures, or None."""
        for row in self.figures:
            if row.year == year:
                return row
        return None


# ---------------------------------------------------------------------------------------- parsing


class _Errors:
    def __init__(self):
        self.items: list[str] = []

    def add(self, path: str, what: str) -> None:
        self.items.append(f"{path}: {what}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: Any, path: str, keys: tuple[str, ...], errors: _Errors) -> Mapping | None:
    """`value` as a mapping whose keys are all known (each unknown key is an error)."""
    if not isinstance(value, Mapping):
        errors.add(path or "profile", "not an object")
        return None
    for key in value:
        if key not in keys:
            errors.add(_join(path, str(key)), "unknown key")
    return value


def to_decimal(value: Any) -> Decimal:
    """A number as an exact Decimal (int, float via its shortest text, Decimal, numeric string)."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("not a number") from None
    else:
        raise ValueError("not a number")
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def _number(value: Any, path: str, errors: _Errors, *, signed: bool = False) -> Decimal | None:
    if value is None:
        return None
    try:
        number = to_decimal(value)
    except ValueError as exc:
        errors.add(path, str(exc))
        return None
    if number < 0 and not signed:
        errors.add(path, "must not be negative")
        return None
    return number + 0  # normalise -0


def _whole(value: Any, path: str, errors: _Errors) -> int | None:
    if value is None:
        return None
    number = _number(value, path, errors)
    if number is None:
        return None
    if number != number.to_integral_value():
        errors.add(path, "not a whole number")
        return None
    return int(number)


def _date(value: Any, path: str, errors: _Errors) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.add(path, "not a date (YYYY-MM-DD)")
    return None


def _bool(value: Any, path: str, errors: _Errors) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    errors.add(path, "not true, false or null")
    return None


def _text(value: Any, path: str, errors: _Errors) -> str | None:
    if value is None or isinstance(value, str):
        return value
    errors.add(path, "not a string")
    return None


def _choice(value: Any, path: str, errors: _Errors, options: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in options:
        return value
    errors.add(path, f"{value!r} is not one of {', '.join(options)}")
    return None


def _list(value: Any, path: str, errors: _Errors) -> list | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return list(value)
    errors.add(path, "not a list")
    return None


def _parse_figures(value: Any, errors: _Errors) -> tuple[Figures, ...]:
    rows = _list(value, "figures", errors)
    if not rows:
        return ()
    out: dict[int, Figures] = {}
    for i, raw in enumerate(rows):
        path = f"figures[{i}]"
        obj = _object(raw, path, ("year", *FIGURE_FIELDS), errors)
        if obj is None:
            continue
        year = obj.get("year")
        if year is None:
            errors.add(f"{path}.year", "required")
            continue
        year = _whole(year, f"{path}.year", errors)
        if year is None:
            continue
        if not 1900 <= year <= 2200:
            errors.add(f"{path}.year", "not a plausible year")
            continue
        if year in out:
            errors.add(f"{path}.year", f"{year} appears twice")
            continue
        values = {name: _number(obj.get(name), f"{path}.{name}", errors, signed=name in SIGNED_FIELDS)
                  for name in FIGURE_FIELDS}
        out[year] = Figures(year=year, **values)
    return tuple(out[y] for y in sorted(out))


def _parse_ip(value: Any, errors: _Errors) -> tuple[IPHolding, ...] | None:
    rows = _list(value, "ip", errors)
    if rows is None:
        return None
    out = []
    for i, raw in enumerate(rows):
        path = f"ip[{i}]"
        obj = _object(raw, path, IP_KEYS, errors)
        if obj is None:
            continue
        if obj.get("kind") is None:
            errors.add(f"{path}.kind", "required")
            continue
        kind = _choice(obj.get("kind"), f"{path}.kind", errors, IP_KINDS)
        count = _whole(obj.get("count"), f"{path}.count", errors)
        used = _whole(obj.get("used_in_earlier_application", 0), f"{path}.used_in_earlier_application", errors)
        if kind is None:
            continue
        if count is not None and used is not None and used > count:
            errors.add(f"{path}.used_in_earlier_application", f"greater than count ({used} > {count})")
            continue
        out.append(IPHolding(kind=kind, count=count, used_in_earlier_application=used))
    return tuple(out)


def _parse_flags(value: Any, errors: _Errors) -> Flags:
    if value is None:
        return Flags()
    obj = _object(value, "flags", FLAG_FIELDS, errors)
    if obj is None:
        return Flags()
    return Flags(**{name: _bool(obj.get(name), f"flags.{name}", errors) for name in FLAG_FIELDS})


def _parse_judgement(value: Any, errors: _Errors) -> Judgement:
    if value is None:
        return Judgement()
    obj = _object(value, "judgement", JUDGEMENT_FIELDS, errors)
    if obj is None:
        return Judgement()
    values = {}
    for name, top in JUDGEMENT_MAX.items():
        number = _number(obj.get(name), f"judgement.{name}", errors)
        if number is not None and number > top:
            errors.add(f"judgement.{name}", f"at most {top}")
            number = None
        values[name] = number
    return Judgement(**values)


def _parse_certifications(value: Any, errors: _Errors) -> tuple[CertificationHeld, ...] | None:
    rows = _list(value, "certifications", errors)
    if rows is None:
        return None
    out = []
    for i, raw in enumerate(rows):
        path = f"certifications[{i}]"
        obj = _object(raw, path, CERTIFICATION_KEYS, errors)
        if obj is None:
            continue
        if obj.get("tier") is None:
            errors.add(f"{path}.tier", "required")
            continue
        tier = _choice(obj.get("tier"), f"{path}.tier", errors, TIER_CODES)
        issued = _date(obj.get("issued_on"), f"{path}.issued_on", errors)
        expires = _date(obj.get("expires_on"), f"{path}.expires_on", errors)
        if issued and expires and expires < issued:
            errors.add(f"{path}.expires_on", "before issued_on")
            continue
        if tier is not None:
            out.append(CertificationHeld(tier=tier, issued_on=issued, expires_on=expires))
    return tuple(out)


def parse_profile(data: Any) -> Profile:
    """The profile of readiness-profile.md from its JSON object; ProfileError lists what is wrong."""
    errors = _Errors()
    obj = _object(data, "", TOP_KEYS, errors)
    if obj is None:
        raise ProfileError(errors.items[0], errors.items)
    name = _text(obj.get("name"), "name", errors)
    uscc = obj.get("uscc")
    if uscc is not None:
        if not isinstance(uscc, str):
            errors.add("uscc", "not a string")
            uscc = None
        else:
            uscc = normalize_uscc(uscc)
            problem = uscc_error(uscc)
            if problem is not None:
                errors.add("uscc", str(problem).rstrip("."))
                uscc = None
    established = _date(obj.get("established_on"), "established_on", errors)
    assessment = _date(obj.get("assessment_date"), "assessment_date", errors)
    if assessment is None and obj.get("assessment_date") is None:
        assessment = today()
    if established and assessment and established > assessment:
        errors.add("established_on", "after assessment_date")
    profile_kwargs = dict(
        name=name,
        uscc=uscc,
        established_on=established,
        tech_domain=_choice(obj.get("tech_domain"), "tech_domain", errors, TECH_DOMAINS),
        figures=_parse_figures(obj.get("figures"), errors),
        ip=_parse_ip(obj.get("ip"), errors),
        conversions_last_3_years=_whole(obj.get("conversions_last_3_years"), "conversions_last_3_years", errors),
        flags=_parse_flags(obj.get("flags"), errors),
        judgement=_parse_judgement(obj.get("judgement"), errors),
        certifications=_parse_certifications(obj.get("certifications"), errors),
    )
    if errors.items:
        raise ProfileError("; ".join(errors.items), errors.items)
    return Profile(assessment_date=assessment, **profile_kwargs)


# ---------------------------------------------------------------------------------------- output


def json_number(value: Decimal | int | None) -> int | float | None:
    """A Decimal as a JSON number: int when whole, else float (its shortest text reads back exactly)."""
    if value is None or value.__class__ is int or isinstance(value, int):
        return value
    whole = int(value)
    return whole if value == whole else float(value)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def profile_to_dict(profile: Profile) -> dict:
    """The profile as a JSON-ready dict in the format of readiness-profile.md (parse_profile's inverse)."""
    return {
        "name": profile.name,
        "uscc": profile.uscc,
        "established_on": _iso(profile.established_on),
        "assessment_date": _iso(profile.assessment_date),
        "tech_domain": profile.tech_domain,
        "figures": [
            {"year": row.year, **{name: json_number(getattr(row, name)) for name in FIGURE_FIELDS}}
            for row in profile.figures
        ],
        "ip": None if profile.ip is None else [
            {"kind": item.kind, "count": item.count, "used_in_earlier_application": item.used_in_earlier_application}
            for item in profile.ip
        ],
        "conversions_last_3_years": profile.conversions_last_3_years,
        "flags": {name: getattr(profile.flags, name) for name in FLAG_FIELDS},
        "judgement": {name: json_number(getattr(profile.judgement, name)) for name in JUDGEMENT_FIELDS},
        "certifications": None if profile.certifications is None else [
            {"tier": c.tier, "issued_on": _iso(c.issued_on), "expires_on": _iso(c.expires_on)}
            for c in profile.certifications
        ],
    }


def with_changes(profile: Profile, year: int | None = None, **figure_changes: Any) -> Profile:
    """A new profile whose figures of `year` (default: the latest year) have the given values.

    Values are absolute (rd_expense=260 sets 260 万元); None clears a figure. A year without a row
    gets one. The original profile is unchanged.
    """
    if year is None:
        year = profile.latest_year
    errors = _Errors()
    values = {}
    for name, value in figure_changes.items():
        if name not in FIGURE_FIELDS:
            errors.add(name, "unknown key")
            continue
        values[name] = _number(value, name, errors, signed=name in SIGNED_FIELDS)
    if errors.items:
        raise ProfileError("; ".join(errors.items), errors.items)
    rows = {row.year: row for row in profile.figures}
    rows[year] = replace(rows.get(year) or Figures(year=year), **values)
    return replace(profile, figures=tuple(rows[y] for y in sorted(rows)))
