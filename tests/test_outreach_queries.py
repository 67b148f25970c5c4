"""The lists of tags, partners, referrals and events read a constant number of queries however long they are."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from crm.events import services as event_services
from crm.events.models import Event
from crm.extensions import db as _db
from crm.partners import services as partner_services
from crm.tags.models import EnterpriseTag, Tag
from tests import factories
from tests.helpers import count_queries


def _grow(world, manager, n: int, start: int):
    tag = Tag(name=f"标签{start}", region_id=world.city.id, kind="manual")
    _db.session.add(tag)
    _db.session.flush()
    for i in range(n):
        e = factories.enterprise(world.county_x)
        _db.session.add(EnterpriseTag(enterprise_id=e.id, tag_id=tag.id))
        partner = partner_services.create_partner({"name": f"机构{start + i}", "kind": "bank", "region_id": world.city.id},
                                                  actor=manager)
        need = factories.need(e, owner=manager, category="finance")
        partner_services.refer_need(need, partner, consent_by="张总", consent_on=date(2025, 1, 2), consent_mode="phone",
                                    actor=manager, today=date(2025, 1, 2))
        event = event_services.create_event({"kind": "briefing", "topic": f"宣讲{start + i}", "held_on": date(2025, 1, 3),
                                             "place": "", "region_id": world.city.id}, [factories.policy()], actor=manager)
        event_services.sign_up(event, e, actor=manager)
    _db.session.commit()


def test_list_pages_do_not_grow_with_their_rows(client, login_as, world, db):
    manager = factories.user("manager", region=world.city)
    db.session.commit()
    login_as(manager)
    _grow(world, manager, 1, 0)
    tag = db.session.scalar(select(Tag.id))
    urls = ["/tags", "/partners", "/partner-referrals", "/events", "/partners/results?year=2025", f"/enterprises?tag={tag}",
            f"/events/{db.session.scalar(select(Event.id))}"]
    few = {url: count_queries(client, url) for url in urls}
    _grow(world, manager, 6, 100)
    many = {url: count_queries(client, url) for url in urls}
    assert many == few
