"""The region tree at /admin/regions: the tree page, GB/T 2260 validation, moves, access."""
import re

import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.core.db import utcnow
from crm.enterprises.models import Region
from tests import factories
from tests.helpers import text, zh

ROW = re.compile(r'<td class="region-depth-(\d)">([^<]*)</td>\s*<td><code>([^<]*)</code></td>\s*'
                 r'<td>([^<]*)</td>\s*<td class="num">([^<]*)</td>')


def _rows(response) -> list[tuple[int, str, str, str, str]]:
    """(depth, name, code, level, count) of each row of the tree page, in order."""
    return [(int(d), n.strip(), c, lv.strip(), cnt.strip()) for d, n, c, lv, cnt in ROW.findall(text(response))]


def _region_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Region))


def _audit_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _by_code(db, code) -> Region | None:
    return db.session.scalar(select(Region).where(Region.code == code))


def _form(region: Region, **overrides) -> dict:
    """The edit form of `region`, unchanged unless overridden."""
    data = {"parent_id": str(region.parent_id or ""), "level": region.level, "code": region.code, "name": region.name}
    data.update(overrides)
    return data


def _client_as(app, user):
    """Another browser, signed in as `user`."""
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return other


# --- the tree page ------------------------------------------------------------------------


def test_tree_page_lists_regions_in_tree_order_with_counts(client, login_as, world, db):
    login_as("admin")
    factories.region("640106", "金凤区", "county", world.city)  # added last, shown in its place
    factories.enterprise(world.city)  # registered directly in the city
    factories.enterprise(world.county_y, archived_at=utcnow())  # archived: not counted
    response = client.get("/admin/regions")
    assert response.status_code == 200
    county, park, city, province = zh("County / district"), zh("Park"), zh("City"), zh("Province")
    assert _rows(response) == [
        (0, "宁夏回族自治区", "640000", province, "0"),
        (1, "银川市", "640100", city, "1"),
        (2, "兴庆区", "640104", county, "1"),
        (3, "银川经济技术开发区", "6401P1", park, "1"),
        (2, "西夏区", "640105", county, "1"),
        (2, "金凤区", "640106", county, "0"),
        (1, "石嘴山市", "640200", city, "0"),
        (2, "大武口区", "640202", county, "1"),
    ]


def test_tree_page_links_to_edit_and_add_below(client, login_as, world):
    login_as("admin")
    page = text(client.get("/admin/regions"))
    assert f"/admin/regions/{world.county_x.id}/edit" in page
    assert f"/admin/regions/new?parent={world.county_x.id}" in page
    assert f"/admin/regions/new?parent={world.park_x.id}" not in page  # nothing sits under a park


def test_empty_tree_invites_the_first_province(client, login_as):
    login_as("admin")
    assert zh("No region yet. Start with the province.") in text(client.get("/admin/regions"))


def test_add_below_preselects_the_parent(client, login_as, world):
    login_as("admin")
    page = text(client.get(f"/admin/regions/new?parent={world.city.id}"))
    assert re.search(rf'<option selected value="{world.city.id}"|<option value="{world.city.id}" selected', page)


# --- creating regions ---------------------------------------------------------------------


@pytest.mark.parametrize("parent,level,code,stored", [
    (None, "province", "650000", "650000"),
    ("province", "city", "640300", "640300"),
    ("city", "county", "640106", "640106"),
    ("province", "county", "640181", "640181"),  # 省直辖县级行政区
    ("county_x", "park", "YC-HT-01", "YC-HT-01"),
    ("city", "park", "6401p2", "6401P2"),  # park codes are upper-cased
])
def test_admin_creates_a_region(client, login_as, world, db, parent, level, code, stored):
    admin = login_as("admin")
    parent_region = getattr(world, parent) if parent else None
    response = client.post("/admin/regions/new", data={
        "parent_id": str(parent_region.id) if parent_region else "", "level": level, "code": code, "name": "新区划"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/regions"
    region = _by_code(db, stored)
    assert (region.level, region.name, region.parent_id) == (level, "新区划", parent_region.id if parent_region else None)
    assert region.path == f"{parent_region.path if parent_region else '/'}{region.id}/"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "regions"))
    assert (event.action, event.entity_id, event.actor_label) == ("create", region.id, admin.username)
    assert event.changes["code"] == [None, stored]


PREFIX = "The code must start with the province's two digits (%(p)s)."
INVALID = [
    # (parent, level, code, field, (msgid, kwargs))
    (None, "province", "640100", "code", ("A province code ends in 0000.", {})),
    (None, "province", "64000", "code", ("A GB/T 2260 code has six digits.", {})),
    ("province", "province", "650000", "parent_id", ("This level cannot sit under the chosen parent.", {})),
    ("province", "city", "640000", "code", ("A city code ends in 00 (but not 0000).", {})),
    ("province", "city", "640301", "code", ("A city code ends in 00 (but not 0000).", {})),
    ("province", "city", "650100", "code", (PREFIX, {"p": "64"})),
    ("county_x", "city", "640300", "parent_id", ("This level cannot sit under the chosen parent.", {})),
    (None, "city", "640300", "parent_id", ("This level cannot sit under the chosen parent.", {})),
    ("city", "county", "64010", "code", ("A GB/T 2260 code has six digits.", {})),
    ("city", "county", "64010A", "code", ("A GB/T 2260 code has six digits.", {})),
    ("city", "county", "6401066", "code", ("A GB/T 2260 code has six digits.", {})),
    ("city", "county", "650106", "code", (PREFIX, {"p": "64"})),
    ("county_x", "county", "640107", "parent_id", ("This level cannot sit under the chosen parent.", {})),
    (None, "county", "640107", "parent_id", ("This level cannot sit under the chosen parent.", {})),
    ("province", "park", "NX-P1", "parent_id", ("This level cannot sit under the chosen parent.", {})),
    ("park_x", "park", "NX-P1", "parent_id", ("This level cannot sit under the chosen parent.", {})),
    ("county_x", "park", "P1", "code", ("A park code has 4 to 12 letters, digits or hyphens.", {})),
    ("county_x", "park", "PARK_1", "code", ("A park code has 4 to 12 letters, digits or hyphens.", {})),
    ("county_x", "park", "PARK 1", "code", ("A park code has 4 to 12 letters, digits or hyphens.", {})),
    ("county_x", "park", "园区一号", "code", ("A park code has 4 to 12 letters, digits or hyphens.", {})),
    ("county_x", "park", "ABCDEFGHIJKLM", "code", ("At most %(max)d characters.", {"max": 12})),
    ("city", "county", "640104", "code", ("Another region already has this code.", {})),
    ("county_y", "park", "6401p1", "code", ("Another region already has this code.", {})),
    ("city", "county", "", "code", ("This field is required.", {})),
]


@pytest.mark.parametrize("parent,level,code,field,message", INVALID)
def test_invalid_region_is_refused_and_nothing_written(client, login_as, world, db, parent, level, code, field,
                                                       message):
    login_as("admin")
    before = _region_count(db)
    parent_id = str(getattr(world, parent).id) if parent else ""
    response = client.post("/admin/regions/new",
                           data={"parent_id": parent_id, "level": level, "code": code, "name": "新区划"})
    assert response.status_code == 422
    assert re.search(rf'class="[^"]*is-invalid[^"]*" id="{field}"', text(response))  # marked next to the field
    assert _region_count(db) == before and _audit_count(db) == 0
    msgid, kwargs = message
    assert zh(msgid, **kwargs) in text(response)


def test_region_without_a_name_is_refused(client, login_as, world, db):
    login_as("admin")
    before = _region_count(db)
    response = client.post("/admin/regions/new",
                           data={"parent_id": str(world.city.id), "level": "county", "code": "640106", "name": " "})
    assert response.status_code == 422
    assert zh("This field is required.") in text(response)
    assert _region_count(db) == before


def test_unknown_level_is_refused(client, login_as, world, db):
    login_as("admin")
    before = _region_count(db)
    response = client.post("/admin/regions/new",
                           data={"parent_id": str(world.city.id), "level": "village", "code": "640106", "name": "村"})
    assert response.status_code == 422
    assert _region_count(db) == before


# --- editing and moving -------------------------------------------------------------------


def test_rename_keeps_the_place_in_the_tree(client, login_as, world, db):
    login_as("admin")
    old_path = world.county_x.path
    response = client.post(f"/admin/regions/{world.county_x.id}/edit", data=_form(world.county_x, name="兴庆区（新）"))
    assert response.status_code == 303
    db.session.refresh(world.county_x)
    assert (world.county_x.name, world.county_x.path) == ("兴庆区（新）", old_path)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
    assert event.changes == {"name": ["兴庆区", "兴庆区（新）"]}


def test_edit_that_changes_nothing_records_nothing(client, login_as, world, db):
    login_as("admin")
    assert client.post(f"/admin/regions/{world.county_x.id}/edit", data=_form(world.county_x)).status_code == 303
    assert _audit_count(db) == 0


def test_edit_refuses_another_regions_code(client, login_as, world, db):
    login_as("admin")
    response = client.post(f"/admin/regions/{world.county_x.id}/edit", data=_form(world.county_x, code="640105"))
    assert response.status_code == 422
    assert zh("Another region already has this code.") in text(response)
    db.session.refresh(world.county_x)
    assert world.county_x.code == "640104" and _audit_count(db) == 0


def test_moving_a_county_repaths_its_subtree(client, login_as, world, db):
    admin = login_as("admin")
    x, park, city, other = world.county_x, world.park_x, world.city, world.other_city
    # a county that moves to another city takes a code of that city
    response = client.post(f"/admin/regions/{x.id}/edit", data=_form(x, parent_id=str(other.id), code="640299"))
    assert response.status_code == 303
    for r in (x, park, city, other, world.county_y):
        db.session.refresh(r)
    assert x.parent_id == other.id
    assert x.path == f"{other.path}{x.id}/"
    assert park.path == f"{other.path}{x.id}/{park.id}/"
    assert world.county_y.path == f"{city.path}{world.county_y.id}/"  # siblings stay put
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
    assert event.changes == {"parent_id": [city.id, other.id], "code": ["640104", "640299"]}
    assert event.actor_label == admin.username
    rows = _rows(client.get("/admin/regions"))
    assert [code for _, _, code, _, _ in rows] == ["640000", "640100", "640105", "640200", "640202", "640299",
                                                   "6401P1"]
    assert [depth for depth, *_ in rows] == [0, 1, 2, 1, 2, 2, 3]


def test_registry_scope_follows_a_move(app, client, login_as, world, db):
    old_manager = factories.user("manager", region=world.city)
    new_manager = factories.user("manager", region=world.other_city)
    officer = factories.user("officer", region=world.county_x)
    old_browser, new_browser, officer_browser = (_client_as(app, u) for u in (old_manager, new_manager, officer))
    moved = (world.ent_x.name, world.ent_park.name)

    def listed(browser):
        page = text(browser.get("/enterprises"))
        return {name for name in (*moved, world.ent_y.name, world.ent_z.name) if name in page}

    assert listed(old_browser) == {*moved, world.ent_y.name}
    assert listed(new_browser) == {world.ent_z.name}
    login_as("admin")
    response = client.post(f"/admin/regions/{world.county_x.id}/edit",
                           data=_form(world.county_x, parent_id=str(world.other_city.id), code="640299"))
    assert response.status_code == 303
    assert listed(old_browser) == {world.ent_y.name}
    assert listed(new_browser) == {*moved, world.ent_z.name}
    assert listed(officer_browser) == {*moved}  # the officer's county moved with its enterprises
    for ent in (world.ent_x, world.ent_park):
        assert old_browser.get(f"/enterprises/{ent.id}").status_code == 404
        assert new_browser.get(f"/enterprises/{ent.id}").status_code == 200
    # filtering the registry by the new city finds the moved enterprises too
    page = text(new_browser.get(f"/enterprises?region={world.other_city.id}"))
    assert world.ent_park.name in page


@pytest.mark.parametrize("moved,new_parent,level", [
    ("city", "county_x", "city"),
    ("city", "park_x", "city"),
    ("county_x", "park_x", "county"),
    ("county_x", "county_x", "county"),
    ("province", "city", "province"),
])
def test_region_cannot_move_under_itself_or_a_descendant(client, login_as, world, db, moved, new_parent, level):
    login_as("admin")
    region, parent = getattr(world, moved), getattr(world, new_parent)
    paths = {r.id: r.path for r in db.session.scalars(select(Region))}
    response = client.post(f"/admin/regions/{region.id}/edit", data=_form(region, parent_id=str(parent.id)))
    assert response.status_code == 422
    assert zh("A region cannot sit under itself or its own descendants.") in text(response)
    assert {r.id: r.path for r in db.session.scalars(select(Region))} == paths
    db.session.refresh(region)
    assert region.parent_id == (world.province.id if moved == "city" else world.city.id if moved == "county_x"
                                else None)
    assert _audit_count(db) == 0


@pytest.mark.parametrize("changed,level,code", [
    ("county_x", "park", "YC-XQ"),  # its park would sit under a park
    ("city", "county", "640101"),  # its counties would sit under a county
])
def test_level_change_must_still_fit_the_regions_below(client, login_as, world, db, changed, level, code):
    login_as("admin")
    region = getattr(world, changed)
    old = (region.level, region.code)
    response = client.post(f"/admin/regions/{region.id}/edit", data=_form(region, level=level, code=code))
    assert response.status_code == 422
    db.session.refresh(region)
    assert (region.level, region.code) == old and _audit_count(db) == 0


def test_unknown_region_is_404(client, login_as, world):
    login_as("admin")
    assert client.get("/admin/regions/999999/edit").status_code == 404


# --- access -------------------------------------------------------------------------------


def _routes(region_id):
    return [("get", "/admin/regions"), ("get", "/admin/regions/new"), ("post", "/admin/regions/new"),
            ("get", f"/admin/regions/{region_id}/edit"), ("post", f"/admin/regions/{region_id}/edit")]


@pytest.mark.parametrize("role", ["manager", "officer", "enterprise"])
def test_non_admins_are_forbidden(client, login_as, world, db, role):
    login_as(role, **({"enterprise": world.ent_x} if role == "enterprise" else {"region": world.province}))
    before = _region_count(db)
    for method, url in _routes(world.county_x.id):
        if method == "post":
            data = ({"parent_id": str(world.city.id), "level": "county", "code": "640106", "name": "金凤区"}
                    if url.endswith("/new") else _form(world.county_x, parent_id=str(world.other_city.id)))
            response = client.post(url, data=data)
        else:
            response = client.get(url)
        assert response.status_code == 403, (method, url)
    db.session.refresh(world.county_x)
    assert world.county_x.parent_id == world.city.id and _region_count(db) == before and _audit_count(db) == 0


def test_anonymous_is_sent_to_sign_in(client, world):
    for method, url in _routes(world.county_x.id):
        response = client.post(url, data={}) if method == "post" else client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), (method, url)
