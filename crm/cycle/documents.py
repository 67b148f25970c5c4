"""The monthly bulletin (督查通报) as PDF and Excel: each sub-region's targets with progress and light (the
pipeline's target board at the month's end), the ranking, the month's movements, the manager's commentary."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from io import BytesIO

from flask import render_template
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from crm.core import clock
from crm.core.pdf import document_fonts, render_pdf
from crm.core.xlsx import _cell
from crm.cycle import queries
from crm.cycle.models import Bulletin
from crm.ladder.tiers import tier_label
from crm.pipeline.models import METRIC_LABELS, PERCENT_METRICS

_RENDER_LOCK = threading.Lock()
LIGHT_WORDS = {"green": "●", "yellow": "●", "red": "●", "": ""}


@dataclass
class BulletinData:
    """Everything a bulletin prints."""

    bulletin: Bulletin
    as_of: date
    rows: list = field(default_factory=list)  # (metric, tier) with a target somewhere
    regions: list = field(default_factory=list)  # the sub-regions (the region itself first)
    cells: dict = field(default_factory=dict)  # (region id, metric, tier) → Progress
    ranking: list = field(default_factory=list)  # (rank, region, share done or None, done, target)
    movements: list = field(default_factory=list)  # (region, {tier: (gained, lost)})


def bulletin_data(bulletin: Bulletin, margin: Decimal) -> BulletinData:
    """The bulletin's figures as of the month's end (or today, for the month under way)."""
    from crm.pipeline.queries import RegionTree, target_board

    as_of = min(queries.month_end(bulletin.year, bulletin.month), clock.today())
    tree = RegionTree.load()
    board = target_board(bulletin.region, bulletin.year, as_of, margin, tree)
    data = BulletinData(bulletin, as_of, regions=board.regions, cells=board.cells)
    data.rows = [(m, t) for m, t in board.metrics
                 if any(board.cells[(r.id, m, t)].target is not None for r in board.regions)]
    ranked = []
    for r in board.regions[1:]:
        done = target = Decimal(0)
        for metric, tier in board.metrics:
            p = board.cells[(r.id, metric, tier)]
            if metric == "new_certs" and p.target:
                done, target = done + min(p.actual, p.target), target + p.target
        ranked.append((r, (done / target) if target else None, done, target))
    ranked.sort(key=lambda x: (x[1] is None, -(x[1] or 0), x[0].code))
    data.ranking = [(i + 1, r, share, done, target) for i, (r, share, done, target) in enumerate(ranked)]
    for region, counts in queries.month_movements(bulletin.region, bulletin.year, bulletin.month):
        tiers = {t: (counts[(t, "gained")], counts[(t, "lost")]) for t in queries.TIERS}
        data.movements.append((region, tiers))
    return data


def bulletin_filename(bulletin: Bulletin) -> str:
    """The bulletin's file name (without extension)."""
    return _("Bulletin %(region)s %(year)s-%(month)s", region=bulletin.region.name, year=bulletin.year,
             month=f"{bulletin.month:02d}")


def bulletin_html(data: BulletinData) -> str:
    """The bulletin's standalone HTML (rendered to PDF)."""
    return render_template("cycle/bulletin_pdf.html", d=data, b=data.bulletin, **document_fonts(),
                           metric_labels=METRIC_LABELS, percent=PERCENT_METRICS, tier_label=tier_label,
                           tiers=queries.TIERS)


def bulletin_pdf(data: BulletinData) -> bytes:
    """The bulletin as PDF bytes."""
    html = bulletin_html(data)
    with _RENDER_LOCK:
        return render_pdf(html)


def _sheet(wb, title: str, headers: list, rows) -> None:
    ws = wb.create_sheet(title[:31])
    ws.append([str(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        ws.append([_cell(v) for v in row])
    for i in range(len(headers)):
        ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = 16 if i else 28


def bulletin_xlsx(data: BulletinData) -> bytes:
    """The bulletin's tables as one workbook: targets, ranking, movements, commentary."""
    light_words = {"green": _("Green"), "yellow": _("Yellow"), "red": _("Red"), "": "—"}
    wb = Workbook()
    wb.remove(wb.active)
    rows = []
    for r in data.regions:
        for metric, tier in data.rows:
            p = data.cells[(r.id, metric, tier)]
            rows.append([r.name, str(METRIC_LABELS[metric]), str(tier_label(tier)) if tier else "", p.target,
                         p.actual, p.expected, light_words[p.light]])
    _sheet(wb, _("Targets"), [_("Region"), _("Metric"), _("Tier"), _("Target"), _("Done"), _("Expected by now"),
                              _("Light")], rows)
    _sheet(wb, _("Ranking"), [_("Rank"), _("Region"), _("New certifications done"), _("Target"), _("Share done")],
           [[rank, r.name, done, target, float(share) if share is not None else None]
            for rank, r, share, done, target in data.ranking])
    headers = [_("Region")]
    for t in queries.TIERS:
        headers += [f"{tier_label(t)} · {_('Gained')}", f"{tier_label(t)} · {_('Lost')}"]
    _sheet(wb, _("Movements"), headers,
           [[r.name, *[n for t in queries.TIERS for n in tiers[t]]] for r, tiers in data.movements])
    _sheet(wb, _("Commentary"), [_("Commentary")], [[line] for line in data.bulletin.commentary.splitlines()])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
