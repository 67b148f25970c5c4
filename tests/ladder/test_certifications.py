"""Certifications: expiry rules, the current tier, the timeline, revocation, expiry runs, the inputs form."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.core import clock
from crm.ladder import services
from crm.ladder.models import Certification, ReadinessInputs, TierEvent
from tests import factories
from tests.helpers import text, zh


@pytest.mark.parametrize("tier,issued,expires", [
    ("high_tech", date(2023, 11, 30), date(2026, 11, 29)),
    ("high_tech", date(2024, 2, 29), date(2027, 2, 28)),
    ("tech_sme", date(2025, 5, 10), date(2025, 12, 31)),
    ("little_giant", date(2025, 5, 10), None),
])
def test_computed_expiry(tier, issued, expires):
    assert services.compute_expiry(tier, issued) == expires


def _form(**kw):
    data = {"tier": "high_tech", "certificate_no": "GR202364000123", "issued_on": "2024-12-02", "expires_on": "",
            "issuer": "宁夏回族自治区科学技术厅", "status": "active", "note": ""}
    data.update(kw)
    return data


def test_officer_records_a_certification(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    response = client.post(f"/enterprises/{world.ent_x.id}/certifications/new", data=_form())
    assert response.status_code == 303
    cert = db.session.scalar(select(Certification))
    assert cert.expires_on == date(2027, 12, 1) and not cert.expiry_overridden
    db.session.refresh(world.ent_x)
    assert world.ent_x.current_tier == "high_tech"
    event = db.session.scalar(select(TierEvent))
    assert (event.kind, event.occurred_on, event.tier) == ("gained", date(2024, 12, 2), "high_tech")
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert "GR202364000123" in page and zh("National high-tech enterprise") in page
    assert "ladder-held" in page


def test_expiry_can_be_overridden(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    client.post(f"/enterprises/{world.ent_x.id}/certifications/new", data=_form(expires_on="2027-12-31"))
    cert = db.session.scalar(select(Certification))
    assert cert.expires_on == date(2027, 12, 31) and cert.expiry_overridden


@pytest.mark.parametrize("changes,message", [
    ({"issued_on": "2999-01-01"}, ("The issue date cannot be in the future.", {})),
    ({"expires_on": "2020-01-01"}, ("The expiry cannot be before the issue date.", {})),
    ({"certificate_no": ""}, ("This field is required.", {})),
    ({"issued_on": ""}, ("This field is required.", {})),
])
def test_certification_validation(client, login_as, world, db, changes, message):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    response = client.post(f"/enterprises/{world.ent_x.id}/certifications/new", data=_form(**changes))
    assert response.status_code == 422
    assert zh(message[0], **message[1]) in text(response)
    assert db.session.scalar(select(func.count()).select_from(Certification)) == 0


def test_duplicate_number_and_overlap_are_refused(client, login_as, world, db):
    factories.certification(world.ent_y, "high_tech", issued_on=date(2024, 12, 2), certificate_no="GR202364000123")
    factories.certification(world.ent_x, "high_tech", issued_on=date(2023, 1, 5), certificate_no="GR202364000001")
    db.session.commit()
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    dup = client.post(f"/enterprises/{world.ent_x.id}/certifications/new", data=_form())
    assert zh("A certification of this tier with this number is already recorded.") in text(dup)
    overlap = client.post(f"/enterprises/{world.ent_x.id}/certifications/new",
                          data=_form(certificate_no="GR202464000777"))
    assert overlap.status_code == 422
    assert zh("Another valid certification of this tier overlaps this period (%(no)s).",
              no="GR202364000001") in text(overlap)


def test_current_tier_is_the_highest_valid(world, db):
    factories.certification(world.ent_x, "tech_sme")
    assert world.ent_x.current_tier == "tech_sme"
    ht = factories.certification(world.ent_x, "high_tech")
    assert world.ent_x.current_tier == "high_tech"
    services.revoke_certification(ht, actor="test")
    assert world.ent_x.current_tier == "tech_sme"
    kinds = db.session.scalars(select(TierEvent.kind).order_by(TierEvent.id)).all()
    assert kinds == ["gained", "gained", "revoked"]


def test_revoke_through_the_page(client, login_as, world, db):
    cert = factories.certification(world.ent_x, "high_tech")
    db.session.commit()
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    assert client.post(f"/enterprises/{world.ent_x.id}/certifications/{cert.id}/revoke").status_code == 303
    db.session.refresh(cert)
    db.session.refresh(world.ent_x)
    assert cert.status == "revoked" and world.ent_x.current_tier is None
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert zh("Revoked") in page


def test_expiry_run_is_idempotent(world, db):
    cert = factories.certification(world.ent_x, "tech_sme", issued_on=date(2024, 3, 1))  # expired 2024-12-31
    db.session.commit()
    day = max(clock.today(), date(2025, 1, 1))
    assert services.expire_due_certifications(day) == 1
    assert services.expire_due_certifications(day) == 0
    db.session.refresh(cert)
    assert cert.status == "expired" and world.ent_x.current_tier is None
    events = db.session.scalars(select(TierEvent).where(TierEvent.kind == "expired")).all()
    assert [e.occurred_on for e in events] == [date(2025, 1, 1)]


def test_registry_filter_by_tier_uses_certifications(client, login_as, world, db):
    factories.certification(world.ent_y, "high_tech")
    db.session.commit()
    login_as("admin")
    page = text(client.get("/enterprises?tier=high_tech"))
    assert ">西夏生物科技有限公司</a>" in page and ">兴庆智能装备有限公司</a>" not in page


def test_days_left_are_shown(client, login_as, world, db):
    cert = factories.certification(world.ent_x, "high_tech", issued_on=clock.today() - timedelta(days=10))
    db.session.commit()
    login_as("officer", region=world.county_x)
    left = (cert.expires_on - clock.today()).days
    assert zh("%(n)s days left", n=left) in text(client.get(f"/enterprises/{world.ent_x.id}"))


def test_readiness_inputs_form(client, login_as, world, db):
    login_as("officer", region=world.county_x, serves=[world.ent_x])
    url = f"/enterprises/{world.ent_x.id}/readiness/inputs"
    assert client.get(url).status_code == 200
    bad = client.post(url, data={"management": "21", "ip_advancement": "7.25"})
    assert bad.status_code == 422
    assert zh("Between 0 and %(max)s points.", max=20) in text(bad)
    assert zh("At most %(n)d decimal place(s).", n=1) in text(bad)
    assert db.session.get(ReadinessInputs, world.ent_x.id) is None
    ok = client.post(url, data={"clean_record": "yes", "restricted_industry": "no", "resident": "",
                                "management": "14.5", "ip_advancement": "6"})
    assert ok.status_code == 303
    inputs = db.session.get(ReadinessInputs, world.ent_x.id)
    assert (inputs.clean_record, inputs.restricted_industry, inputs.resident) == (True, False, None)
    assert inputs.management == Decimal("14.5") and inputs.ip_core_support is None
    # the form shows what was saved
    page = text(client.get(url))
    assert '<option selected value="yes">' in page and 'value="14.5"' in page


def test_expire_command(app, world, db):
    factories.certification(world.ent_x, "tech_sme", issued_on=date(2024, 3, 1))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["ladder", "expire"])
    assert result.exit_code == 0 and "certifications expired: 1" in result.output
    result = app.test_cli_runner().invoke(args=["ladder", "expire"])
    assert "certifications expired: 0" in result.output
