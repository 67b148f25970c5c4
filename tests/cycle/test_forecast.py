"""The targets page's forecast counts the year's applications by stage and the ready enterprises not started."""
from decimal import Decimal

from crm.core import clock
from crm.pipeline import queries
from crm.pipeline.models import Target
from tests.cycle.helpers import application, batch
from tests.helpers import text


def test_forecast_counts_filed_applications_and_ready_not_started(client, login_as, world, db, monkeypatch):
    from crm.ladder import queries as ladder_queries

    year = clock.today().year
    b = batch(world.city, "high_tech", year)
    application(b, world.ent_x, "submitted")
    application(b, world.ent_park, "review")
    application(b, world.ent_y, "materials")
    db.session.add(Target(year=year, region_id=world.city.id, metric="new_certs", tier="high_tech",
                          value=Decimal(10)))
    db.session.commit()
    # the pool's verdicts: ent_x and ent_z ready (ent_x has filed), ent_y close
    pool = [type("C", (), {"verdict": v, "failing": f, "enterprise": e})() for v, f, e in
            [("ready", 0, world.ent_x), ("ready", 0, world.ent_z), ("not_ready", 1, world.ent_y)]]
    monkeypatch.setattr(ladder_queries, "candidate_pool", lambda user, tier, region_id=None, gaps=True: pool)
    by_stage = queries.applications_by_stage(world.city, year, ["high_tech"])["high_tech"]
    assert (by_stage["submitted"], by_stage["review"], by_stage["materials"]) == (1, 1, 1)
    assert queries.applications_by_stage(world.county_y, year, ["high_tech"])["high_tech"]["submitted"] == 0
    login_as("manager", region=world.city, locale="en")
    page = text(client.get(f"/pipeline/targets?region={world.city.id}"))
    cell = page.split('data-applications="high_tech">', 1)[1].split("</td>", 1)[0]
    assert "2 submitted or further, 1 in materials, 0 in intent or coaching" in cell
    assert 'data-ready-not-filed="high_tech">1<' in page
