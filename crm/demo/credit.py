"""Demo data of the credit screening (信用筛查): one 经营异常名录 received last month from the market regulator,
naming two enterprises of 银川市 (their clean record is set, their officers told; those an officer had marked not
clean, served ones and 高企 first) and one company not in the registry. Chosen among those the other demo parts
have not proposed (no application, reserve-pool entry, or policy applied for: visits telling of policies do not
count); those parts leave listed enterprises out on later loads. Skipped when a list exists."""
from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

from openpyxl import Workbook
from sqlalchemy import and_, select, union

from crm.auth.models import User
from crm.credit import services
from crm.credit.models import CreditList
from crm.cycle.models import Application
from crm.enterprises.models import Enterprise, Region
from crm.enterprises.queries import subtree_ids
from crm.extensions import db
from crm.ladder.models import Certification, CertificationStatus, ReadinessInputs
from crm.policies.models import PolicyPush, ReservePoolEntry
from crm.service.models import Assignment

CITY = "640100"
UNLISTED = ("91640100MA76543210", "银川某某商贸有限公司")  # not in the registry: kept, unmatched


def _xlsx(rows) -> bytes:
    wb = Workbook()
    wb.active.append(["统一社会信用代码", "企业名称", "列入日期", "列入原因"])
    for row in rows:
        wb.active.append(list(row))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def load_credit(today: date) -> dict[str, int]:
    """The demo negative list (flushes; the caller commits)."""
    from crm.core.uscc import check_digit

    admin = db.session.scalar(select(User).where(User.username == "admin"))
    city = db.session.scalar(select(Region).where(Region.code == CITY))
    if admin is None or city is None or db.session.scalar(select(CreditList.id).limit(1)) is not None:
        return {"negative lists": 0, "negative list entries": 0}
    holders = select(Certification.enterprise_id).where(Certification.tier == "high_tech",
                                                        Certification.status == CertificationStatus.ACTIVE)
    proposed = union(select(PolicyPush.enterprise_id).where(PolicyPush.status != "informed"),
                     select(Application.enterprise_id), select(ReservePoolEntry.enterprise_id))
    # those an officer already marked as not clean first: the list is the record behind the officer's "no"
    flagged = select(ReadinessInputs.enterprise_id).where(ReadinessInputs.clean_record.is_(False))
    chosen = list(db.session.scalars(
        select(Enterprise).outerjoin(Assignment, and_(Assignment.enterprise_id == Enterprise.id,
                                                      Assignment.ends_on.is_(None)))
        .where(Enterprise.region_id.in_(subtree_ids(city.id)), Enterprise.archived_at.is_(None),
               Enterprise.id.not_in(proposed),
               Enterprise.id.in_(select(ReadinessInputs.enterprise_id)))  # the officer's facts entered
        .order_by(Enterprise.id.not_in(flagged), Assignment.id.is_(None), Enterprise.id.not_in(holders),
                  Enterprise.name.desc(), Enterprise.id)
        .limit(2)))
    received = today.replace(day=1) - timedelta(days=20)
    reasons = ["未按规定期限公示年度报告", "通过登记的住所或者经营场所无法联系"]
    rows = [(e.uscc, e.name, (received - timedelta(days=30 + 15 * i)).isoformat(), reasons[i])
            for i, e in enumerate(chosen)]
    body = UNLISTED[0][:17]
    rows.append((body + check_digit(body), UNLISTED[1], (received - timedelta(days=10)).isoformat(), reasons[0]))
    report = services.import_list(_xlsx(rows), {
        "kind": "abnormal_operation", "source": "银川市市场监督管理局", "received_on": received,
        "filename": "经营异常名录（银川市）.xlsx", "note": "", "replaces_previous": False}, actor=admin)
    return {"negative lists": 1, "negative list entries": report.rows}
