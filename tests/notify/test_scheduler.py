"""Exactly once: slots, the lease, dedupe keys; a crash leaves nothing half done; an outage is caught up once."""
from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db as _db
from crm.notify import scheduler
from crm.notify.models import JobLock, JobRun, Notification
from crm.notify.services import notify
from tests import factories

UTC = UTC


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment in the bureau's zone (UTC+8), as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def calls():
    return []


@pytest.fixture
def test_job(monkeypatch, calls):
    """One job, daily at 07:00, that tells user 1... it records its calls and notifies its `who`."""
    def func(ctx):
        calls.append(ctx.today)
        user = _db.session.scalar(select(factories.User).order_by(factories.User.id))
        notify(user, "need_overdue", {"title": "t", "enterprise": "e", "due_on": "d"},
               dedupe_key=f"digest:{user.id}:{ctx.today.isoformat()}")
        return "done"

    job = scheduler.Job("test.digest", func, {"hour": 7, "minute": 0}, "test", "daily 07:00")
    monkeypatch.setattr(scheduler, "registry", lambda: [job])
    return job


def _runs(db, job_id="test.digest"):
    return list(db.session.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))


def test_the_latest_slot_is_the_last_scheduled_time_before_now(test_job):
    day = date(2026, 11, 25)
    assert test_job.latest_slot(_at(day, 8)) == _at(day, 7)
    assert test_job.latest_slot(_at(day, 6, 59)) == _at(day - timedelta(days=1), 7)
    monthly = scheduler.Job("m", lambda ctx: "", {"day": 1, "hour": 1}, "", "")
    assert monthly.latest_slot(_at(day, 8)) == _at(date(2026, 11, 1), 1)
    minutely = scheduler.Job("e", lambda ctx: "", {"minute": "*"}, "", "")
    assert minutely.latest_slot(_at(day, 8, 30) + timedelta(seconds=20)) == _at(day, 8, 30)


def test_a_slot_runs_once_however_often_the_runner_ticks(world, db, test_job, calls):
    factories.user("officer", region=world.county_x)
    db.session.commit()
    now = _at(date(2026, 11, 25), 7, 1)
    assert [r.outcome for r in scheduler.tick(now)] == ["ok"]
    assert scheduler.tick(now + timedelta(minutes=1)) == []
    assert scheduler.tick(now + timedelta(hours=5)) == []
    assert calls == [date(2026, 11, 25)]
    assert len(scheduler.tick(now + timedelta(days=1))) == 1  # the next morning's slot
    assert len(_runs(db)) == 2


def test_a_catch_up_after_three_days_down_runs_once_and_sends_one_digest(world, db, test_job, calls):
    factories.user("officer", region=world.county_x)
    db.session.commit()
    scheduler.tick(_at(date(2026, 11, 20), 7, 5))  # ran on the 20th, then the runner was down until the 24th
    back = _at(date(2026, 11, 24), 10, 0)
    assert len(scheduler.tick(back)) == 1
    assert calls == [date(2026, 11, 20), date(2026, 11, 24)]  # the 21st-23rd are not replayed one by one
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 2


def test_a_second_runner_gets_no_lock(db):
    now = _at(date(2026, 11, 25), 7)
    assert scheduler.acquire("test.digest", "runner-a", now)
    assert not scheduler.acquire("test.digest", "runner-b", now)
    assert not scheduler.acquire("test.digest", "runner-b", now + scheduler.LEASE - timedelta(seconds=1))
    # a holder that died: its lease runs out and another runner may take the job
    assert scheduler.acquire("test.digest", "runner-b", now + scheduler.LEASE + timedelta(seconds=1))
    scheduler.release("test.digest", "runner-a")  # not the holder any more: changes nothing
    assert db.session.get(JobLock, "test.digest").holder == "runner-b"
    scheduler.release("test.digest", "runner-b")
    assert scheduler.acquire("test.digest", "runner-a", now)


def test_while_one_runner_holds_a_job_another_skips_it(world, db, test_job, calls):
    factories.user("officer", region=world.county_x)
    db.session.commit()
    now = _at(date(2026, 11, 25), 7, 1)
    assert scheduler.acquire(test_job.id, "runner-a", now)
    assert scheduler.run(test_job, test_job.latest_slot(now), holder="runner-b", now=now) is None
    assert calls == [] and _runs(db) == []


def test_two_runners_at_once_run_a_slot_once(app, world, db, monkeypatch, calls):
    """Two threads, two sessions: the lease lets one in; the other finds it held, then the slot done."""
    factories.user("officer", region=world.county_x)
    db.session.commit()

    def slow(ctx):
        calls.append(ctx.today)
        time.sleep(0.3)
        return "slow"

    job = scheduler.Job("test.slow", slow, {"hour": 7, "minute": 0}, "test", "")
    monkeypatch.setattr(scheduler, "registry", lambda: [job])
    now = _at(date(2026, 11, 25), 7, 1)
    results = []

    def runner(name):
        with app.app_context():
            try:
                results.append(scheduler.tick(now, holder=name))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=runner, args=(f"runner-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(calls) == 1
    assert sorted(len(r) for r in results) == [0, 1]
    assert [r.outcome for r in _runs(db, "test.slow")] == ["ok"]


def test_a_crash_mid_job_leaves_no_half_state_and_the_slot_runs_again(world, db, monkeypatch):
    user = factories.user("officer", region=world.county_x)
    db.session.commit()
    state = {"fail": True}

    def flaky(ctx):
        notify(user, "need_overdue", {"title": "t", "enterprise": "e", "due_on": "d"}, dedupe_key="flaky:1")
        if state["fail"]:
            raise RuntimeError("the disk is full")
        return "ok"

    job = scheduler.Job("test.flaky", flaky, {"hour": 7, "minute": 0}, "test", "")
    monkeypatch.setattr(scheduler, "registry", lambda: [job])
    now = _at(date(2026, 11, 25), 7, 1)
    (failed,) = scheduler.tick(now)
    assert failed.outcome == "error" and "the disk is full" in failed.detail and failed.finished_at
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0  # rolled back whole
    assert db.session.get(JobLock, "test.flaky").holder == ""  # released despite the error
    state["fail"] = False
    (retried,) = scheduler.tick(now + timedelta(minutes=1))
    assert retried.outcome == "ok"
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


def test_running_a_job_by_hand_twice_notifies_once(world, db, test_job, calls):
    factories.user("officer", region=world.county_x)
    db.session.commit()
    first, second = scheduler.run_now(test_job), scheduler.run_now(test_job)
    assert first.outcome == second.outcome == "ok" and first.manual
    assert len(calls) == 2
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


def test_the_real_registry_has_stable_unique_ids_and_valid_schedules():
    from crm.core.db import utcnow

    jobs = scheduler.registry()
    ids = [j.id for j in jobs]
    assert len(ids) == len(set(ids)) and all("." in i for i in ids)
    now = utcnow()
    for job in jobs:
        assert job.latest_slot(now) is not None and job.next_slot(now) > now
