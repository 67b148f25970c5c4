"""Per-test isolation: the canary pair proves the database is emptied between tests, in either order."""
from sqlalchemy import select

from crm.enterprises.models import Region
from tests import factories


def _only_own_canary(db, code: str) -> None:
    factories.region(code, "金丝雀", "province")
    db.session.commit()
    assert db.session.scalars(select(Region.code)).all() == [code]


def test_canary_a(db):
    _only_own_canary(db, "659991")


def test_canary_b(db):
    _only_own_canary(db, "659992")


def test_each_request_has_its_own_user(client, login_as, world):
    """Two clients never share a signed-in user (requests do not reuse the test's app context)."""
    login_as("officer", region=world.county_x)
    assert client.get("/enterprises").status_code == 200
    other = client.application.test_client()
    assert other.get("/enterprises").status_code == 302  # anonymous: sent to sign in
    assert client.get("/enterprises").status_code == 200  # and the first is still signed in
