"""Demo ladder data: certifications of the five tiers with their timeline, and readiness inputs.

Built in memory from the registry's enterprise specs (`build_ladder`), each enterprise from its
own seeded stream, then written where missing (`load_ladder`): the same rows on every run, and
`--count 40` gives the first 40 enterprises exactly what the default 300 give them.

Who holds what follows the figures. A rough reading of the criteria (`Fit`, below) picks the
holders among enterprises whose figures fit: 高企 holders mostly meet the 高企 criteria, tech_sme
registrations go to SMEs whose figures would score, the regional tiers to enterprises of the
right size and growth on top of the base tier they need. It is deliberately not the rules
engine: a bureau may change the engine's thresholds, and the demo must stay the same.

The demo's ladder history runs up to `TODAY` (2026-11-25): certifications whose expiry is
before it are expired (with their event on the day after the expiry), the rest are valid;
some expire within 30, 90 and 180 days of it. The enterprises' current tier is computed
with the real date, as the ladder always does.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.demo.registry import REGION_BY_CODE, SEED, EnterpriseSpec, Tally, county_of
from crm.enterprises.models import Enterprise, EnterpriseStatus, ip_class_of
from crm.ladder.models import (
    JUDGEMENT_FIELDS,
    JUDGEMENT_MAX,
    Certification,
    CertificationStatus,
    ReadinessInputs,
    TierEvent,
    TierEventKind,
)
from crm.ladder.services import compute_expiry, current_tier_of
from crm.ladder.tiers import Tier

TODAY = date(2026, 11, 25)  # the day the demo's ladder history runs up to
YEAR = TODAY.year
LATEST = YEAR - 1  # the latest complete accounting year: the year the criteria read
REGIONAL_YEARS = 3  # regional tiers: valid three years (the default of Ningxia's measures)
_CHUNK = 900  # ids per IN (…): under SQLite's bound-parameter limit

_SME, _LG, _HT, _GZ, _DM = (Tier.TECH_SME, Tier.LITTLE_GIANT, Tier.HIGH_TECH, Tier.GAZELLE, Tier.DEMONSTRATION)
_ACTIVE, _EXPIRED, _REVOKED = CertificationStatus.ACTIVE, CertificationStatus.EXPIRED, CertificationStatus.REVOKED

PROVINCE_BUREAU = "宁夏回族自治区科学技术厅"
HIGH_TECH_ISSUER = "宁夏回族自治区科学技术厅、宁夏回族自治区财政厅、国家税务总局宁夏回族自治区税务局"
CITY_BUREAUS = {"640100": "银川市科学技术局", "640200": "石嘴山市科学技术局", "640300": "吴忠市科学技术局",
                "640400": "固原市科学技术局", "640500": "中卫市科学技术局"}
CITY_SHORT = {"640100": "银", "640200": "石", "640300": "吴", "640400": "固", "640500": "卫"}

# 高企 batches as the province announces them (the certificate's issue date), one or two a year.
HIGH_TECH_BATCHES: dict[int, tuple[date, ...]] = {
    2016: (date(2016, 11, 30),), 2017: (date(2017, 12, 7),), 2018: (date(2018, 11, 30),),
    2019: (date(2019, 11, 28),), 2020: (date(2020, 12, 1),), 2021: (date(2021, 12, 15),),
    2022: (date(2022, 11, 29),), 2023: (date(2023, 11, 30), date(2023, 11, 30), date(2023, 12, 20)),
    2024: (date(2024, 12, 2),), 2025: (date(2025, 11, 28),),
}
# tech_sme registration numbers are issued in batches through the spring (and a late one in summer).
SME_BATCH_DAYS = ((3, 28), (4, 25), (5, 29), (7, 18))
# Regional lists: the announcement date is the issue date. little_giant by the city, the others by the province.
LITTLE_GIANT_LISTS = (date(2021, 12, 24), date(2022, 12, 16), date(2024, 1, 19), date(2025, 1, 10),
                      date(2026, 1, 16))
GAZELLE_LISTS = (date(2023, 5, 26), date(2024, 4, 26), date(2025, 6, 20), date(2026, 6, 12))
DEMONSTRATION_LISTS = (date(2023, 12, 28), date(2025, 9, 18))

REVOKED_TIERS = (_HT, _SME)  # one revoked certification of each, for the timeline
SPOT_CHECK_NOTES = {
    _HT: "高新技术企业抽查：研发费用归集不符合要求，取消高新技术企业资格",
    _SME: "科技型中小企业抽查：职工人数、研发费用填报不实，撤销入库登记编号",
}


# --- reading the figures ------------------------------------------------------------------


def _div(numerator, denominator) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0


def _band(value: float, bands: tuple[tuple[float, int], ...]) -> int:
    return next((points for floor, points in bands if value >= floor), 0)


def sme_score(figures: dict, ip: list[dict], year: int) -> tuple[int, int]:
    """(score, tech-staff points) of a tech_sme evaluation in `year`, from the year before's figures."""
    staff = _band(_div(figures["tech_staff"], figures["employees"]),
                  ((0.30, 20), (0.25, 16), (0.20, 12), (0.15, 8), (0.10, 4)))
    rd = max(_band(_div(figures["rd_expense"], figures["revenue"]),
                   ((0.06, 50), (0.05, 40), (0.04, 30), (0.03, 20), (0.02, 10))),
             _band(_div(figures["rd_expense"], figures["total_cost"]),
                   ((0.30, 50), (0.25, 40), (0.20, 30), (0.15, 20), (0.10, 10))))
    held = [i for i in ip if i["is_valid"] and i["granted_on"] < date(year, 1, 1)]
    if any(ip_class_of(i["kind"]) == 1 for i in held):
        points = 30
    else:
        points = {0: 0, 1: 6, 2: 12, 3: 18}.get(len(held), 24)
    return staff + rd + points, staff


_GROWTH_BANDS = ((0.35, 9), (0.25, 7), (0.15, 5), (0.05, 3), (1e-9, 1))
_CONVERSION_BANDS = ((5, 25), (4, 19), (3, 13), (2, 7), (1, 1))
# Judgement items as an officer enters them for a typical certified 高企 (IP: 7 + 7 + 5 + 1; management 17).
_TYPICAL_JUDGED_IP, _TYPICAL_MANAGEMENT = 20, 17
# A score (lower end, typical judgement) above this is within reach of the > 70 the 高企 needs: the
# experts' judgement items decide the rest.
SCORE_WITHIN_REACH = 64
SCORE_TARGET = Decimal("70.5")


def _growth_floor(values: list) -> int:
    """The lower end of the 高企 growth band of three years' values (tier-criteria.md's formula)."""
    if len(values) < 3 or float(values[1]) <= 0:
        return 0
    y1, y2, y3 = (float(v) for v in values)
    rate = y3 / y2 - 1 if y1 <= 0 else (y2 / y1 + y3 / y2) / 2 - 1
    return _band(rate, _GROWTH_BANDS)


def ht_computed_floor(years: list[dict], class1: int, class2: int) -> tuple[int, int] | None:
    """Lower ends of the 高企 score's computed parts: (IP quantity, conversions + growth); None without
    three years of figures and conversions."""
    conversions = [f.get("conversions") for f in years]
    if len(years) < 3 or any(c is None for c in conversions):
        return None
    quantity = 7 if class1 else _band(class2, ((5, 5), (3, 3), (1, 1)))
    return quantity, (_band(sum(conversions) / 3, _CONVERSION_BANDS) + _growth_floor([f["revenue"] for f in years])
                      + _growth_floor([f["net_assets"] for f in years]))


def score_floor(computed: tuple[int, int] | None, judged_ip: float, management: float) -> float:
    """The lower end of the 高企 innovation score with these judgement items (0 when the figures cannot tell)."""
    if computed is None:
        return 0.0
    quantity, rest = computed
    return min(30.0, quantity + judged_ip) + management + rest


@dataclass
class Fit:
    """How an enterprise's figures and IP read against the tiers (roughly: enough to pick holders)."""

    active: bool
    age_days: int  # on TODAY
    revenue: float = 0.0  # the latest year's
    rd_ratio: float = 0.0  # the latest year's R&D ÷ revenue
    tech_ratio: float = 0.0
    cagr: float | None = None  # revenue, over the last three years
    class1: int = 0  # valid class I items
    class2: int = 0  # valid class II items not used in an earlier 高企 application
    ht_fails: tuple[str, ...] = ("figures",)  # the 高企 criteria the figures miss
    ht_rd_short: float = 1.0  # how far the three-year R&D ratio falls short, as a share of the threshold
    ht_computed: tuple[int, int] | None = None  # lower ends of the score's computed parts (ht_computed_floor)
    ht_score: float = 0.0  # the innovation score's lower end with typical judgement items
    sme_years: dict[int, bool] = field(default_factory=dict)  # registration year → the figures would score

    @property
    def ht_ok(self) -> bool:
        """Meets the 高企 criteria that the figures decide, the score read with typical judgement items."""
        return not self.ht_fails

    @property
    def ht_figures_ok(self) -> bool:
        """Meets the 高企 criteria that the figures decide, the innovation score aside."""
        return all(name == "innovation_score" for name in self.ht_fails)

    @property
    def gazelle_like(self) -> bool:
        """Three to ten years old, growing fast, researching: what the gazelle lists pick (roughly)."""
        return (self.ht_figures_ok and 3 <= self.age_days / 365.25 <= 10.5 and self.revenue >= 1000
                and self.rd_ratio >= 0.03 and self.cagr is not None and self.cagr >= 0.08)

    @property
    def demonstration_like(self) -> bool:
        """Large, researching, with several invention patents: an innovation demonstration candidate (roughly)."""
        return self.ht_figures_ok and self.revenue >= 5000 and self.rd_ratio >= 0.025 and self.class1 >= 1

    @property
    def near_ht(self) -> bool:
        """Misses one 高企 criterion, the R&D ratio, by a small gap (under a fifth of the threshold)."""
        return self.ht_fails == ("rd_ratio",) and self.ht_rd_short < 0.2


def fit_of(spec: EnterpriseSpec) -> Fit:
    """Read an enterprise's figures and IP against the tiers."""
    fields = spec.fields
    active = fields["status"] == EnterpriseStatus.ACTIVE and fields["archived_at"] is None
    fit = Fit(active=active, age_days=(TODAY - fields["established_on"]).days)
    by_year = {f["year"]: f for f in spec.figures}
    fit.sme_years = {}
    for year in range(YEAR - 5, YEAR + 1):
        f = by_year.get(year - 1)
        if f is not None:
            score, staff = sme_score(f, spec.ip, year)
            fit.sme_years[year] = (f["employees"] <= 500 and f["revenue"] <= 20000 and f["total_assets"] <= 20000
                                   and staff > 0 and score >= 60)
    valid = [i for i in spec.ip if i["is_valid"]]
    fit.class1 = sum(1 for i in valid if ip_class_of(i["kind"]) == 1)
    fit.class2 = sum(1 for i in valid if ip_class_of(i["kind"]) == 2 and not i["used_in_earlier_application"])
    latest = by_year.get(LATEST)
    if latest is None:
        return fit
    years = [by_year[y] for y in range(LATEST - 2, LATEST + 1) if y in by_year]
    fit.revenue = float(latest["revenue"])
    fit.rd_ratio = _div(latest["rd_expense"], latest["revenue"])
    fit.tech_ratio = _div(latest["tech_staff"], latest["employees"])
    if len(years) == 3:
        fit.cagr = (_div(years[-1]["revenue"], years[0]["revenue"])) ** 0.5 - 1
    threshold = 0.05 if fit.revenue <= 5000 else 0.04 if fit.revenue <= 20000 else 0.03
    rd3 = _div(sum(f["rd_expense"] for f in years), sum(f["revenue"] for f in years))
    domestic = _div(sum(f["rd_expense_domestic"] for f in years), sum(f["rd_expense"] for f in years))
    fit.ht_rd_short = max(0.0, (threshold - rd3) / threshold)
    fit.ht_computed = ht_computed_floor(years, fit.class1, fit.class2)
    fit.ht_score = score_floor(fit.ht_computed, _TYPICAL_JUDGED_IP, _TYPICAL_MANAGEMENT)
    checks = {
        "registered": fit.age_days >= 365,
        "core_ip": fit.class1 + fit.class2 > 0,
        "domain": fields["tech_domain"] is not None,
        "tech_staff": fit.tech_ratio >= 0.10,
        "rd_ratio": rd3 >= threshold,
        "rd_domestic": domestic >= 0.60,
        "hightech_revenue": _div(latest["hightech_revenue"], latest["revenue"]) >= 0.60,
        "innovation_score": fit.ht_score > SCORE_WITHIN_REACH,
    }
    fit.ht_fails = tuple(name for name, ok in checks.items() if not ok)
    return fit


# --- the plan -----------------------------------------------------------------------------


@dataclass
class CertPlan:
    """One certification of the demo, with the status it has on TODAY."""

    tier: str
    certificate_no: str
    issued_on: date
    expires_on: date | None
    issuer: str
    status: str = _ACTIVE
    status_changed_on: date | None = None
    expiry_overridden: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        self.expiry_overridden = self.expires_on != compute_expiry(self.tier, self.issued_on)
        if self.status == _ACTIVE and self.expires_on is not None and self.expires_on < TODAY:
            self.status = _EXPIRED
        if self.status_changed_on is None:
            self.status_changed_on = self.expires_on + timedelta(days=1) if self.status == _EXPIRED else self.issued_on

    def valid_on(self, day: date) -> bool:
        """Active and within its dates on `day` (as Certification.is_valid_on)."""
        return (self.status == _ACTIVE and self.issued_on <= day
                and (self.expires_on is None or self.expires_on >= day))

    def fields(self) -> dict:
        """The Certification's columns."""
        return {"tier": self.tier.value if isinstance(self.tier, Tier) else self.tier,
                "certificate_no": self.certificate_no, "issued_on": self.issued_on, "expires_on": self.expires_on,
                "expiry_overridden": self.expiry_overridden, "issuer": self.issuer, "status": self.status,
                "status_changed_on": self.status_changed_on, "note": self.note}


@dataclass
class LadderPlan:
    """What one demo enterprise holds on the ladder and what an officer entered about it."""

    uscc: str
    certifications: list[CertPlan] = field(default_factory=list)
    inputs: dict | None = None

    def valid(self, tier: str, day: date = TODAY) -> bool:
        """Whether a certification of `tier` is valid on `day`."""
        return any(c.tier == tier and c.valid_on(day) for c in self.certifications)


def events_of(cert) -> list[tuple[str, date]]:
    """The timeline events a certification (a plan or a row) implies: gained, then expired or revoked."""
    events = [(TierEventKind.GAINED, cert.issued_on)]
    if cert.status == _EXPIRED and cert.expires_on is not None:
        events.append((TierEventKind.EXPIRED, cert.expires_on + timedelta(days=1)))
    elif cert.status == _REVOKED and cert.status_changed_on is not None:
        events.append((TierEventKind.REVOKED, cert.status_changed_on))
    return events


def _regional_expiry(issued: date) -> date:
    return issued.replace(year=issued.year + REGIONAL_YEARS) - timedelta(days=1)


def _sme_cert(spec: EnterpriseSpec, rng: random.Random, year: int) -> CertPlan:
    month, day = rng.choice(SME_BATCH_DAYS[:3] if year == YEAR else SME_BATCH_DAYS)
    county = county_of(spec.region_code).code
    letter = "A" if rng.random() < 0.9 else "C"
    serial = 10000 + spec.index * 40 + rng.randrange(40)  # blocks per enterprise: unique in a county and year
    issued = date(year, month, day)
    return CertPlan(_SME, f"{year}{county}{letter}{serial:07d}", issued, compute_expiry(_SME, issued),
                    PROVINCE_BUREAU)


def _ht_cert(spec: EnterpriseSpec, rng: random.Random, issued: date) -> CertPlan:
    serial = 100 + spec.index * 3 + rng.randrange(3)
    return CertPlan(_HT, f"GR{issued.year}64{serial:06d}", issued, compute_expiry(_HT, issued), HIGH_TECH_ISSUER)


def _regional_cert(spec: EnterpriseSpec, tier: str, issued: date) -> CertPlan:
    city = REGION_BY_CODE[county_of(spec.region_code).code].parent
    word, issuer = {_LG: (f"{CITY_SHORT[city]}科小巨人", CITY_BUREAUS[city]), _GZ: ("宁科瞪羚", PROVINCE_BUREAU),
                    _DM: ("宁科创示", PROVINCE_BUREAU)}[tier]
    return CertPlan(tier, f"{word}〔{issued.year}〕{spec.index + 1:03d}号", issued, _regional_expiry(issued), issuer,
                    note="地方标准：有效期三年")


def _batch(rng: random.Random, year: int) -> date:
    return rng.choice(HIGH_TECH_BATCHES[year])


def _old_enough(spec: EnterpriseSpec, issued: date, years: float) -> bool:
    return (issued - spec.fields["established_on"]).days >= 365 * years


def _high_tech(spec: EnterpriseSpec, fit: Fit, rng: random.Random, plan: LadderPlan, showcase: bool,
               revoke: bool, sure: bool) -> None:
    """A valid 高企 with the certificates it renewed; or one that lapsed, or was revoked after a spot check.

    Holders are drawn among enterprises whose figures fit (`sure`: whatever the draw), a few among
    those whose R&D ratio has slipped just below the threshold since (a renewal at risk).
    """
    roll = rng.random()
    if showcase or not fit.active:
        return
    if revoke:  # revoked after a spot check: R&D expense booked that was not R&D
        issued = _batch(rng, 2023)
        cert = _ht_cert(spec, rng, issued)
        cert.status, cert.status_changed_on, cert.note = _REVOKED, date(2025, 9, 16), SPOT_CHECK_NOTES[_HT]
        plan.certifications.append(cert)
        return
    # Fast-growing and larger innovators apply (and are certified) more often.
    likely = fit.gazelle_like or fit.demonstration_like
    if sure or likely and roll < 0.9 or fit.ht_ok and roll < 0.5 or fit.near_ht and roll < 0.10:
        year = rng.choices((2023, 2024, 2025), weights=(3, 3.5, 3.5))[0]
        issued = _batch(rng, year)
        if not _old_enough(spec, issued, 1.5):
            return
        chain = [issued]
        while rng.random() < 0.6 and chain[-1].year - 3 in HIGH_TECH_BATCHES:
            earlier = _batch(rng, chain[-1].year - 3)
            if not _old_enough(spec, earlier, 1.5):
                break
            chain.append(earlier)
        plan.certifications.extend(_ht_cert(spec, rng, day) for day in reversed(chain))
    elif len(fit.ht_fails) == 1 and fit.ht_fails[0] != "registered" and roll > 0.86:
        # Lapsed: certified once, and the figures no longer carried the renewal.
        issued = _batch(rng, rng.choice((2019, 2020, 2022, 2022)))
        if _old_enough(spec, issued, 1.5):
            plan.certifications.append(_ht_cert(spec, rng, issued))


def _tech_sme(spec: EnterpriseSpec, fit: Fit, rng: random.Random, plan: LadderPlan, showcase: bool,
              revoke: bool) -> None:
    """Yearly registrations: this year's for most SMEs that would score, and earlier years' (expired)."""
    held_next = False
    for year in range(YEAR, YEAR - 5, -1):
        fits = fit.sme_years.get(year, False)
        if year == YEAR:
            take = fit.active and not revoke and (showcase or fits and rng.random() < 0.62)
        elif revoke and year == YEAR - 1:
            take = True
        else:
            take = (fits or showcase) and rng.random() < (0.8 if held_next else 0.3)
        if not take:
            held_next = False
            continue
        cert = _sme_cert(spec, rng, year)
        if revoke and year == YEAR - 1:  # revoked after a spot check; not registered again this year
            cert.status, cert.status_changed_on, cert.note = _REVOKED, date(year, 10, 20), SPOT_CHECK_NOTES[_SME]
        plan.certifications.append(cert)
        held_next = True


def _little_giant(spec: EnterpriseSpec, fit: Fit, rng: random.Random, plan: LadderPlan, showcase: bool) -> None:
    """A little giant on a recent list (renewed, some of them), or one whose listing lapsed.

    The showcase is one whatever the draw: its next tier is then the 高企, the one it is close to.
    """
    roll = rng.random()
    base = plan.valid(_SME) or plan.valid(_HT)
    fits = (fit.revenue >= 2000 and fit.rd_ratio >= 0.025 and fit.tech_ratio >= 0.10 and fit.cagr is not None
            and fit.cagr >= 0.06 and (fit.class1 >= 1 or fit.class2 >= 5))
    if fit.active and base and (fits and roll < 0.9 or showcase):
        issued = rng.choice(LITTLE_GIANT_LISTS[2:])
        if not _old_enough(spec, issued, 2):
            return
        if issued.year == YEAR and rng.random() < 0.7:  # renewed: the list of three years before expired
            plan.certifications.append(_regional_cert(spec, _LG, LITTLE_GIANT_LISTS[1]))
        plan.certifications.append(_regional_cert(spec, _LG, issued))
    elif fit.active and fit.revenue >= 2000 and not fits and roll > 0.93:
        issued = LITTLE_GIANT_LISTS[0]  # expired in 2024 and, the figures having slipped, not renewed
        if _old_enough(spec, issued, 2):
            plan.certifications.append(_regional_cert(spec, _LG, issued))


def _gazelle(spec: EnterpriseSpec, fit: Fit, rng: random.Random, plan: LadderPlan, sure: bool) -> None:
    if not (fit.active and plan.valid(_HT) and fit.gazelle_like and (rng.random() < 0.9 or sure)):
        return
    lists = [d for d in GAZELLE_LISTS[1:] if plan.valid(_HT, d) and _old_enough(spec, d, 3)
             and not _old_enough(spec, d, 10)]
    if not lists:
        return
    issued = rng.choice(lists)
    if issued.year == YEAR and plan.valid(_HT, GAZELLE_LISTS[0]) and _old_enough(spec, GAZELLE_LISTS[0], 3):
        plan.certifications.append(_regional_cert(spec, _GZ, GAZELLE_LISTS[0]))  # renewed after three years
    plan.certifications.append(_regional_cert(spec, _GZ, issued))


def _demonstration(spec: EnterpriseSpec, fit: Fit, rng: random.Random, plan: LadderPlan, sure: bool) -> None:
    if not (fit.active and plan.valid(_HT) and fit.demonstration_like and (rng.random() < 0.9 or sure)):
        return
    lists = [d for d in DEMONSTRATION_LISTS if plan.valid(_HT, d)]
    if lists:
        plan.certifications.append(_regional_cert(spec, _DM, rng.choice(lists)))


def _points(rng: random.Random, name: str, low: float, high: float) -> Decimal:
    top = JUDGEMENT_MAX[name]
    return Decimal(str(round(min(top, max(0.0, rng.uniform(low, high))), 1)))


def _inputs(spec: EnterpriseSpec, fit: Fit, rng: random.Random, plan: LadderPlan, showcase: bool) -> dict | None:
    """The facts an officer entered, and for some 高企 candidates and holders the judgement items."""
    holder = plan.valid(_HT)
    if not fit.active or not (showcase or holder or rng.random() < 0.88):
        return None
    big = fit.revenue >= 10000
    clean_roll = rng.random()  # a few on a list or with an accident on record, a few not checked yet
    clean = False if clean_roll < 0.02 else None if clean_roll < 0.05 and not (showcase or holder) else True
    if any(c.status == _REVOKED for c in plan.certifications):
        clean = False  # the spot check is on the record
    demonstration = plan.valid(_DM)
    flags = {
        "resident": True, "restricted_industry": False, "clean_record": clean,
        "national_award_top3_5y": big and rng.random() < 0.2,
        "provincial_rd_institution": demonstration or (fit.revenue >= 5000 and rng.random() < 0.3),
        "led_standard_5y": demonstration and rng.random() < 0.7 or big and rng.random() < 0.2,
    }
    judgement = dict.fromkeys(JUDGEMENT_FIELDS)
    candidate = holder or fit.ht_ok or len(fit.ht_fails) == 1
    roll = rng.random()
    if showcase or candidate and roll < 0.33 or fit.ht_ok and roll < 0.6:
        # Officers assess the strong candidates first: next year's applicants, read as the experts would.
        lift = holder or showcase or fit.ht_ok and roll < 0.4
        judgement = _judgement(fit, rng, flags["led_standard_5y"], lift)
    return {**flags, **judgement}


def _judgement(fit: Fit, rng: random.Random, led_standard: bool, lift: bool) -> dict:
    """The five 高企 judgement items (one decimal place), better for more and better IP.

    With `lift` (a certified 高企, the showcase) the items are raised, within their maxima, until the
    score's lower end passes 70 where the computed parts allow it: the experts passed it once.
    """
    strong = min(1.0, (fit.class1 * 2 + fit.class2) / 12)  # more and better IP reads better with experts
    items = {
        "ip_advancement": _points(rng, "ip_advancement", 3.5 + 3 * strong, 5.5 + 2.5 * strong),
        "ip_core_support": _points(rng, "ip_core_support", 3.5 + 3 * strong, 5.5 + 2.5 * strong),
        "ip_acquisition": _points(rng, "ip_acquisition", 3.0 + 2 * strong, 4.5 + 1.5 * strong),
        "ip_standards_bonus": Decimal("2.0") if led_standard else rng.choice(
            (Decimal("0.0"), Decimal("0.0"), Decimal("1.0"), Decimal("1.5"))),
        "management": _points(rng, "management", 10.0 + 5 * strong, 15.0 + 4 * strong),
    }
    if not lift or fit.ht_computed is None:
        return items
    ip_names = ("ip_advancement", "ip_core_support", "ip_acquisition")
    caps = {"ip_advancement": Decimal("7.8"), "ip_core_support": Decimal("7.8"), "ip_acquisition": Decimal("5.8"),
            "management": Decimal("18.6")}
    step = Decimal("0.1")

    def floor() -> Decimal:
        judged_ip = sum(items[n] for n in (*ip_names, "ip_standards_bonus"))
        return Decimal(str(score_floor(fit.ht_computed, float(judged_ip), float(items["management"]))))

    ip_room = Decimal(30 - fit.ht_computed[0])  # the IP part is capped at 30
    while floor() < SCORE_TARGET:
        judged_ip = sum(items[n] for n in (*ip_names, "ip_standards_bonus"))
        names = [n for n in ip_names if items[n] < caps[n]] if judged_ip < ip_room else []
        names = names or (["management"] if items["management"] < caps["management"] else [])
        if not names:
            break
        name = max(names, key=lambda n: caps[n] - items[n])
        items[name] += step
    return items


def plan_of(spec: EnterpriseSpec, fit: Fit, showcase: bool = False, revoke: str | None = None,
            sure: frozenset[str] = frozenset()) -> LadderPlan:
    """Enterprise `spec`'s ladder, from its own seeded stream (the same on every run).

    `revoke` names the tier whose certification was revoked after a spot check (a story for the
    timeline); `sure`, the tiers it holds whatever the draw (where its figures fit them).
    """
    rng = random.Random(f"{SEED}:ladder:{spec.index}")
    plan = LadderPlan(spec.uscc)
    _high_tech(spec, fit, rng, plan, showcase, revoke == _HT, _HT in sure)
    _tech_sme(spec, fit, rng, plan, showcase, revoke == _SME)
    _little_giant(spec, fit, rng, plan, showcase)
    _gazelle(spec, fit, rng, plan, _GZ in sure)
    _demonstration(spec, fit, rng, plan, _DM in sure)
    plan.inputs = _inputs(spec, fit, rng, plan, showcase)
    plan.certifications.sort(key=lambda c: (c.issued_on, Tier(c.tier).order))
    return plan


def _revocation_story(spec: EnterpriseSpec, fit: Fit) -> str | None:
    """Which tier a spot check could have revoked: a 高企 whose R&D no longer carries it, or an SME
    registered last year whose figures no longer score."""
    if not fit.active or spec.index == 0:
        return None
    if fit.ht_fails == ("rd_ratio",) and not fit.near_ht and _old_enough(spec, HIGH_TECH_BATCHES[2023][0], 3):
        return _HT
    if fit.sme_years.get(YEAR - 1) and not fit.sme_years.get(YEAR):
        return _SME
    return None


def build_ladder(specs: list[EnterpriseSpec], showcase: EnterpriseSpec) -> list[LadderPlan]:
    """The ladder of each demo enterprise, in the specs' order.

    The first enterprise (by index, so whatever the count) whose figures tell a story gets it: one
    certification of each of the tiers in REVOKED_TIERS was revoked after a spot check, and the first
    fit for the rarest tiers holds them, so that even a small demo shows every tier.
    """
    plans, untold, unfeatured = [], set(REVOKED_TIERS), {_GZ, _DM}
    for spec in specs:
        fit = fit_of(spec)
        story = _revocation_story(spec, fit)
        revoke = story if story in untold else None
        untold.discard(revoke)
        sure = set()
        if fit.active and spec.uscc != showcase.uscc:
            sure = {tier for tier, fits in ((_GZ, fit.gazelle_like), (_DM, fit.demonstration_like))
                    if fits and tier in unfeatured}
        unfeatured -= sure
        plans.append(plan_of(spec, fit, spec.uscc == showcase.uscc, revoke,
                             frozenset(sure | {_HT} if sure else sure)))
    return plans


# --- writing ------------------------------------------------------------------------------


@dataclass
class LadderTallies:
    """Created / existing counts of the ladder's tables."""

    certifications: Tally = field(default_factory=Tally)
    events: Tally = field(default_factory=Tally)
    inputs: Tally = field(default_factory=Tally)


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def load_ladder(session, plans: list[LadderPlan], ids: dict[str, int], today: date,
                tallies: LadderTallies) -> None:
    """Write the certifications, their events and the readiness inputs that are missing; recompute current tiers."""
    enterprise_ids = [ids[plan.uscc] for plan in plans]
    certs: dict[tuple[int, str, str], Certification] = {}
    events: set[tuple[int, str]] = set()
    inputs: set[int] = set()
    for chunk in _chunks(enterprise_ids):
        for cert in session.scalars(select(Certification).where(Certification.enterprise_id.in_(chunk))):
            certs[(cert.enterprise_id, cert.tier, cert.certificate_no)] = cert
        events.update((row.certification_id, row.kind) for row in session.execute(
            select(TierEvent.certification_id, TierEvent.kind).where(TierEvent.enterprise_id.in_(chunk))))
        inputs.update(session.scalars(select(ReadinessInputs.enterprise_id)
                                      .where(ReadinessInputs.enterprise_id.in_(chunk))))
    new: list[Certification] = []
    planned: list[Certification] = []
    for plan, enterprise_id in zip(plans, enterprise_ids, strict=True):
        for cp in plan.certifications:
            key = (enterprise_id, cp.tier, cp.certificate_no)
            if key in certs:
                tallies.certifications.existing += 1
            else:
                certs[key] = Certification(enterprise_id=enterprise_id, **cp.fields())
                new.append(certs[key])
            planned.append(certs[key])
        if plan.inputs is not None:
            if enterprise_id in inputs:
                tallies.inputs.existing += 1
            else:
                session.add(ReadinessInputs(enterprise_id=enterprise_id, **plan.inputs))
                tallies.inputs.created += 1
    session.add_all(new)
    tallies.certifications.created += len(new)
    session.flush()  # the events need the certifications' ids
    # Each demo certification has the events its state implies (one an officer changed since has them already).
    for cert in planned:
        for kind, day in events_of(cert):
            if (cert.id, kind) in events:
                tallies.events.existing += 1
                continue
            session.add(TierEvent(enterprise_id=cert.enterprise_id, certification_id=cert.id, tier=cert.tier,
                                  kind=kind, occurred_on=day))
            tallies.events.created += 1
    _refresh_current_tiers(session, enterprise_ids, certs.values(), today)
    session.flush()


def _refresh_current_tiers(session, enterprise_ids: list[int], certs, today: date) -> None:
    held: dict[int, list[Certification]] = defaultdict(list)
    for cert in certs:
        held[cert.enterprise_id].append(cert)
    for chunk in _chunks(enterprise_ids):
        for enterprise in session.scalars(select(Enterprise).where(Enterprise.id.in_(chunk))):
            tier = current_tier_of(held[enterprise.id], today)
            if enterprise.current_tier != tier:
                enterprise.current_tier = tier

