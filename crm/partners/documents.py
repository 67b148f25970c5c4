"""The partner results as Excel: one row per partner for the year."""
from __future__ import annotations

from flask_babel import gettext as _

from crm.core.xlsx import workbook_bytes


def results_xlsx(rows, year: int) -> bytes:
    """The year's results per partner: referrals, succeeded, failed, open, success rate, loans, contracts (万元)."""
    headers = [_("Partner"), _("Kind"), _("Region"), _("Referrals"), _("Succeeded"), _("Failed"), _("Open"),
               _("Success rate") + " (%)", _("Loans granted (10k CNY)"), _("Contracts signed (10k CNY)")]
    body = [[r.partner.name, str(r.partner.kind_label), r.partner.region.name, r.referrals, r.succeeded, r.failed,
             r.open, float(r.success_rate) if r.success_rate is not None else None, r.loans, r.contracts]
            for r in rows]
    return workbook_bytes(_("Partner results %(year)s", year=year), headers, body)
