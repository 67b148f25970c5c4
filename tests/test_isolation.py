"""Per-test isolation: the canary pair proves the database is emptied between tests."""
from sqlalchemy import func, select

from crm.enterprises.models import Region
from tests import factories


def test_canary_a_writes(db):
    factories.region("659999", "金丝雀", "province")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Region)) == 1


def test_canary_b_sees_nothing(db):
    assert db.session.scalar(select(func.count()).select_from(Region)) == 0


def test_each_request_has_its_own_user(client, login_as, world):
    """Two users on two clients never see each other's session (no shared app context)."""
    officer = login_as("officer", region=world.county_x)
    assert client.get("/enterprises").status_code == 200
    other = client.application.test_client()
    assert other.get("/enterprises").status_code == 302  # anonymous: sent to sign in
    assert officer.username.startswith("officer")
