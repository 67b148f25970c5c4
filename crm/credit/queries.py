"""Reads of the negative lists: the imports, an import's entries (matched ones scoped to the reader's region),
the entries an enterprise is on now, and the one check every proposal makes (`blocking_entries`)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import joinedload

from crm.core.policy import Role
from crm.core.validation import ValidationFailed
from crm.credit.models import CREDIT_LIST_KIND_LABELS, CreditList, CreditListEntry
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import subtree_ids
from crm.extensions import db

_ID_CHUNK = 900  # ids per IN (…) list (SQLite's variable limit)
ENTRY_STATES = ("matched", "unmatched", "lifted")


def lists_query() -> Select:
    """Every imported list, the newest first (lists concern the whole province: every reader sees them)."""
    return (select(CreditList).options(joinedload(CreditList.imported_by))
            .order_by(CreditList.received_on.desc(), CreditList.id.desc()))


@dataclass(frozen=True)
class EntryFilter:
    """An import's entries: matched / unmatched / lifted, and a search on the name or USCC."""

    state: str = ""
    q: str = ""


def parse_entry_filter(args) -> EntryFilter:
    """The entry filter from a query string; unknown values are dropped."""
    state = args.get("state", "")
    return EntryFilter(state=state if state in ENTRY_STATES else "", q=args.get("q", "").strip()[:60])


def _visible(stmt: Select, user) -> Select:
    """Unmatched entries for every reader; matched ones only of enterprises in a regional user's subtree."""
    if user.role == Role.ADMIN:
        return stmt
    regions = subtree_ids(user.region_id) if user.region_id else []
    return stmt.where(or_(CreditListEntry.enterprise_id.is_(None), Enterprise.region_id.in_(regions)))


def entries_query(user, credit_list: CreditList, f: EntryFilter) -> Select:
    """The list's entries `user` may see, filtered, in the file's order."""
    stmt = (select(CreditListEntry).outerjoin(Enterprise, Enterprise.id == CreditListEntry.enterprise_id)
            .options(joinedload(CreditListEntry.enterprise)).where(CreditListEntry.list_id == credit_list.id))
    stmt = _visible(stmt, user)
    if f.state == "matched":
        stmt = stmt.where(CreditListEntry.enterprise_id.is_not(None), CreditListEntry.removed_on.is_(None))
    elif f.state == "unmatched":
        stmt = stmt.where(CreditListEntry.enterprise_id.is_(None))
    elif f.state == "lifted":
        stmt = stmt.where(CreditListEntry.removed_on.is_not(None))
    if f.q:
        stmt = stmt.where(or_(CreditListEntry.name.contains(f.q, autoescape=True),
                              CreditListEntry.uscc.contains(f.q.upper(), autoescape=True)))
    return stmt.order_by(CreditListEntry.id)


def get_entry(entry_id: int) -> CreditListEntry | None:
    """An entry by id (admins only reach it: lifting is theirs)."""
    return db.session.get(CreditListEntry, entry_id)


def active_entries_of(enterprise) -> list[CreditListEntry]:
    """The entries `enterprise` is on now (not lifted), the oldest listing first, with their lists."""
    return list(db.session.scalars(select(CreditListEntry).options(joinedload(CreditListEntry.credit_list)).where(
        CreditListEntry.enterprise_id == enterprise.id, CreditListEntry.removed_on.is_(None))
        .order_by(CreditListEntry.listed_on, CreditListEntry.id)))


def blocking_entries(enterprise_ids) -> dict[int, list[CreditListEntry]]:
    """{enterprise id: its active entries} for those of `enterprise_ids` on a negative list now (others absent).

    The one check of the credit screening: an enterprise on a list is not filed for a tier (crm.cycle), put in
    the reserve pool (crm.policies), or pushed / recorded as applying for a policy (crm.policies)."""
    ids = sorted({i for i in enterprise_ids if i is not None})
    found: dict[int, list[CreditListEntry]] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        for entry in db.session.scalars(select(CreditListEntry).options(joinedload(CreditListEntry.credit_list))
                                        .where(CreditListEntry.enterprise_id.in_(ids[start:start + _ID_CHUNK]),
                                               CreditListEntry.removed_on.is_(None))
                                        .order_by(CreditListEntry.listed_on, CreditListEntry.id)):
            found.setdefault(entry.enterprise_id, []).append(entry)
    return found


def listed_message(enterprise, entry: CreditListEntry):
    """“X is on the list Y since D (source): …” — the refusal every blocked proposal shows."""
    return _l("%(name)s is on the %(list)s since %(date)s (%(source)s): it cannot be proposed until the entry is "
              "lifted.", name=enterprise.name, list=CREDIT_LIST_KIND_LABELS.get(entry.credit_list.kind,
                                                                              entry.credit_list.kind),
              date=entry.listed_on.isoformat(), source=entry.credit_list.source)


def refuse_listed(enterprises, field: str = "enterprise_id") -> None:
    """Raise ValidationFailed on `field`, one message per enterprise on a list (nothing when none is)."""
    enterprises = list(enterprises)
    blocked = blocking_entries([e.id for e in enterprises])
    messages = [listed_message(e, blocked[e.id][0]) for e in enterprises if e.id in blocked]
    if messages:
        raise ValidationFailed({field: messages})


def previous_active_entries(kind: str, source: str, before_list_id: int) -> list[CreditListEntry]:
    """Active entries of earlier lists of the same kind and issuing body (a replacing import lifts them)."""
    return list(db.session.scalars(select(CreditListEntry).join(CreditList).where(
        and_(CreditList.kind == kind, CreditList.source == source, CreditList.id != before_list_id),
        CreditListEntry.removed_on.is_(None))))
