"""The Excel workbook of a campaign's results: totals against last year, by region, by industry."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response
from flask_babel import gettext as _

from crm.core.xlsx import workbook_sheets_bytes


def _pct(share):
    return None if share is None else round(share * 100, 1)


def _totals(results) -> list[list]:
    rows = []
    for r in results:
        v = r.version
        if r.options:
            for o in r.options:
                rows.append([v.text, o.label, o.count, r.answered, _pct(o.share), o.last_count,
                             _pct(o.last_share), None if o.change_points is None else round(o.change_points, 1)])
        elif r.numbers is not None:
            n, last = r.numbers, r.last
            rows.append([v.text, _("Sum") + (f" ({v.unit})" if v.unit else ""), n.total, r.answered, None,
                         last.total if last else None, None, None])
            rows.append([v.text, _("Mean"), n.mean, r.answered, None, last.mean if last else None, None,
                         r.mean_change])
            rows.append([v.text, _("Median"), n.median, r.answered, None, last.median if last else None, None, None])
        else:
            rows.append([v.text, _("Answered"), r.answered, r.answered, None, r.last_answered, None, None])
    return rows


def _groups(results) -> list[list]:
    rows = []
    for r in results:
        for group, answered, detail in r.groups:
            if r.options:
                for o in r.options:
                    count = detail.get(o.label, 0)
                    rows.append([r.version.text, group, answered, o.label, count,
                                 _pct(count / answered) if answered else None])
            elif detail is not None:
                rows.append([r.version.text, group, answered, _("Mean"), detail.mean, None])
            else:
                rows.append([r.version.text, group, answered, "", None, None])
    return rows


def results_xlsx(campaign, by_region, by_industry) -> Response:
    """The workbook as a download."""
    totals_headers = [_("Question"), _("Option or figure"), _("Count or value"), _("Answered"), _("Share %"),
                      _("Last year"), _("Last year's share %"), _("Change (points)")]
    group_headers = [_("Question"), _("Group"), _("Answered"), _("Option or figure"), _("Count or value"),
                     _("Share %")]
    body = workbook_sheets_bytes([
        (_("Totals"), totals_headers, _totals(by_region)),
        (_("By region"), group_headers, _groups(by_region)),
        (_("By industry"), group_headers, _groups(by_industry)),
    ])
    suffix = _("results")
    filename = f"{campaign.title}-{suffix}.xlsx"
    disposition = f"attachment; filename=survey-results.xlsx; filename*=UTF-8''{quote(filename)}"
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": disposition})
