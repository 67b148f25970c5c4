"""The inbox and bell, reading, the e-mail preference and delivery (in the reader's language), the jobs page."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from crm.notify import mail
from crm.notify.models import JobRun, Notification
from crm.notify.services import notify
from tests import factories
from tests.helpers import text


@pytest.fixture
def officer(world, db):
    user = factories.user("officer", region=world.county_x, name="李晓梅", email="lixm@kjj.example")
    db.session.commit()
    return user


def test_bell_counts_unread_and_the_inbox_lists_them(client, login_as, officer, db):
    factories.notification(officer, params={"title": "申请科技贷款", "enterprise": "兴庆智能装备",
                                            "due_on": "2026-11-01"})
    factories.notification(officer, kind="follow_up_digest",
                           params={"overdue": 2, "today": 1, "tomorrow": 0, "actions": ["回访", "送材料"]})
    other = factories.user("officer", region=officer.region)
    factories.notification(other)
    db.session.commit()
    login_as(officer)
    page = text(client.get("/notifications"))
    assert 'id="bell-count">2<' in page
    assert "申请科技贷款" in page and "兴庆智能装备" in page and "回访；送材料" in page
    assert page.count('class="notification-open"') == 2


def test_opening_marks_read_and_follows_the_link(client, login_as, officer, db):
    note = factories.notification(officer, link="/needs")
    db.session.commit()
    login_as(officer)
    response = client.post(f"/notifications/{note.id}/open")
    assert response.status_code == 303 and response.headers["Location"].endswith("/needs")
    assert db.session.get(Notification, note.id).read_at is not None
    assert 'id="bell-count"' not in text(client.get("/notifications"))


def test_someone_elses_notification_is_not_found(client, login_as, officer, db):
    note = factories.notification(officer)
    db.session.commit()
    login_as("officer", region=officer.region)
    assert client.post(f"/notifications/{note.id}/open").status_code == 404
    assert db.session.get(Notification, note.id).read_at is None


def test_an_outside_link_is_never_followed(client, login_as, officer, db):
    note = factories.notification(officer, link="https://evil.example/phish")
    db.session.commit()
    login_as(officer)
    assert client.post(f"/notifications/{note.id}/open").headers["Location"].endswith("/notifications")


def test_mark_all_read(client, login_as, officer, db):
    for _ in range(3):
        factories.notification(officer)
    db.session.commit()
    login_as(officer)
    assert client.post("/notifications/read-all").status_code == 303
    assert db.session.scalars(select(Notification).where(Notification.read_at.is_(None))).all() == []


def test_email_in_the_readers_language_once_and_only_if_wanted(app, officer, world, db, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "memory")
    app.extensions["mail_outbox"] = []
    english = factories.user("manager", region=world.city, email="wang@kjj.example", locale="en")
    quiet = factories.user("officer", region=world.county_x, email="quiet@kjj.example", email_notifications=False)
    no_address = factories.user("officer", region=world.county_x)
    for user in (officer, english, quiet, no_address):
        notify(user, "need_overdue", {"title": "申请科技贷款", "enterprise": "兴庆智能装备", "due_on": "2026-11-01"},
               link="/needs/1", dedupe_key=f"t:{user.id}")
    db.session.commit()
    with force_locale("en"):
        assert mail.deliver_pending() == "2 e-mails sent, 0 failed"
    assert mail.deliver_pending() is None  # nothing twice
    by_address = {m["To"]: m for m in app.extensions["mail_outbox"]}
    assert set(by_address) == {"lixm@kjj.example", "wang@kjj.example"}
    assert "需求已超过办理期限" in by_address["lixm@kjj.example"]["Subject"]
    assert "A need is past its due date" in by_address["wang@kjj.example"]["Subject"]
    assert "/needs/1" in by_address["wang@kjj.example"].get_content()


def test_a_failed_send_is_recorded_and_not_retried(app, officer, db, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 9)  # nothing listens there

    notify(officer, "need_overdue", {"title": "t", "enterprise": "e", "due_on": "d"}, dedupe_key="fail:1")
    db.session.commit()
    with force_locale("en"):
        assert mail.deliver_pending() == "0 e-mails sent, 1 failed"
    note = db.session.scalar(select(Notification))
    assert note.emailed_at is not None and note.email_error
    assert mail.deliver_pending() is None


def test_no_mail_without_smtp_settings(app, officer, db):
    notify(officer, "need_overdue", {"title": "t", "enterprise": "e", "due_on": "d"}, dedupe_key="x:1")
    db.session.commit()
    assert mail.deliver_pending() is None
    assert db.session.scalar(select(Notification)).emailed_at is None


def test_email_preference_is_saved_and_audited(client, login_as, officer, db):
    from crm.core.audit import AuditEvent

    login_as(officer)
    assert client.post("/notifications/email", data={}).status_code == 303  # unticked: off
    db.session.refresh(officer)
    assert officer.email_notifications is False
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "users")).changes == {
        "email_notifications": [True, False]}


def test_admin_sees_the_jobs_and_runs_one(client, login_as, db):
    login_as("admin")
    page = text(client.get("/admin/jobs"))
    for job_id in ("ladder.expiry_warnings", "service.follow_up_digest", "pipeline.monthly_snapshot"):
        assert f'data-job="{job_id}"' in page
    response = client.post("/admin/jobs/pipeline.monthly_snapshot/run")
    assert response.status_code == 303
    run = db.session.scalar(select(JobRun))
    assert (run.job_id, run.outcome, run.manual) == ("pipeline.monthly_snapshot", "ok", True)
    assert "pipeline.monthly_snapshot" in text(client.get("/admin/jobs/pipeline.monthly_snapshot"))
    assert client.post("/admin/jobs/no.such.job/run").status_code == 404
