"""Excel workbooks of officer performance (one sheet) and needs analytics (one sheet per table)."""
from __future__ import annotations

from flask_babel import gettext as _

from crm.core.xlsx import workbook_sheets_bytes
from crm.performance.queries import (
    OFFICER_COLUMNS,
    NeedsAnalytics,
    OfficerRow,
    column_header,
    rounded,
)


def workbook_bytes(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """An .xlsx with one sheet per (title, headers, rows) (crm.core.xlsx builds it)."""
    return workbook_sheets_bytes(sheets)


def officers_sheet(rows: list[OfficerRow], median: dict) -> tuple[str, list[str], list[list]]:
    """The officers' table as the page shows it: the region's median first, then each officer."""
    headers = [column_header(c) for c in OFFICER_COLUMNS]
    body = [[_("Median of the region"), "", *(rounded(median[c]) for c in OFFICER_COLUMNS[2:])]]
    body += [[r.name, r.region, *(rounded(r.value(c)) for c in OFFICER_COLUMNS[2:])] for r in rows]
    return _("Officer performance"), headers, body


def needs_sheets(a: NeedsAnalytics, month_names: list[str]) -> list[tuple[str, list[str], list[list]]]:
    """The needs analytics' tables: by month, resolution, departments, satisfaction, outcomes."""
    by_month = ([[str(c.label), *c.by_month, c.raised] for c in a.categories]
                + [[_("Total"), *a.month_totals, a.total]])
    resolution = ([[str(c.label), c.raised, c.closed, rounded(c.resolution_rate), rounded(c.median_days),
                    rounded(c.mean_days)] for c in a.categories])
    outcomes = ([[str(c.label), c.financing_wan, c.people_recruited, c.contracts_signed, c.contracts_wan]
                 for c in a.categories]
                + [[_("Total"), *(a.outcome_total(n) for n in ("financing_wan", "people_recruited",
                                                               "contracts_signed", "contracts_wan"))]])
    departments = [[name, n, rounded(share)] for name, n, share in a.departments]
    satisfaction = [[score, n, rounded(100.0 * n / a.rated) if a.rated else None]
                    for score, n in a.satisfaction.items()]
    satisfaction += [[_("Needs rated"), a.rated, None], [_("Average score"), rounded(a.average_satisfaction), None]]
    return [
        (_("Needs by month"), [_("Category"), *month_names, _("Total")], by_month),
        (_("Resolution by category"), [_("Category"), _("Needs raised"), _("Needs closed"),
                                       _("Resolution rate") + " (%)", _("Median days to close"),
                                       _("Mean days to close")], resolution),
        (_("Departments"), [_("Department"), _("Needs referred"), _("Share") + " (%)"], departments),
        (_("Satisfaction"), [_("Score"), _("Needs"), _("Share") + " (%)"], satisfaction),
        (_("Outcomes"), [_("Category"), _("Financing obtained (10k CNY)"), _("People recruited"),
                         _("Contracts signed"), _("Value of the contracts (10k CNY)")], outcomes),
    ]
