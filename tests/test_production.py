"""Production plumbing: the health check, structured request logs with X-Request-ID, hashed static URLs."""
from __future__ import annotations

import hashlib
import importlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from crm import create_app
from crm.core import assets, logs
from crm.core.db import utcnow
from crm.notify import scheduler
from crm.notify.models import JobLock

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def log_as(app):
    """Switch the root log handler to a format and level for one test, then back to the app's."""

    def _switch(log_format: str, level: str = "INFO"):
        logs.install_handler(log_format, level)

    yield _switch
    logs.install_handler(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _request_lines(text: str) -> list[dict]:
    return [entry for entry in _json_lines(text) if entry["logger"] == "miaopu.request"]


# --- health ---------------------------------------------------------------------------------------

def test_health_reports_the_scheduler_alive_after_a_heartbeat(client, db):
    scheduler.beat("host:1")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "scheduler": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_health_is_503_when_the_heartbeat_expired(client, db):
    scheduler.beat("host:1", now=utcnow() - timedelta(hours=1))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "ok", "scheduler": "stale"}


def test_scheduler_check_can_be_turned_off(client, db, app, monkeypatch):
    scheduler.beat("host:1", now=utcnow() - timedelta(hours=1))
    monkeypatch.setitem(app.config, "HEALTH_SCHEDULER_MAX_AGE", 0)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["scheduler"] == "not checked"


def test_the_runner_beats_at_every_check(db, app, monkeypatch):
    monkeypatch.setattr(scheduler, "registry", lambda: [])  # no jobs: the beat alone
    before = utcnow()
    scheduler.tick(holder="runner:7", heartbeat=True)
    lease = db.session.get(JobLock, scheduler.HEARTBEAT_ID)
    assert lease.holder == "runner:7"
    age = app.config["HEALTH_SCHEDULER_MAX_AGE"]
    assert before + timedelta(seconds=age - 5) < lease.expires_at <= utcnow() + timedelta(seconds=age)
    scheduler.tick(holder="runner:7")  # tests and the admin's button do not beat
    assert db.session.get(JobLock, scheduler.HEARTBEAT_ID).expires_at == lease.expires_at


def test_health_is_503_when_the_database_is_down(tmp_path, log_as, capsys):
    """A database that cannot be opened: 503, the database named as what failed, an error line in the log."""
    broken = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    log_as("json")
    response = broken.test_client().get("/healthz", headers={"X-Request-ID": "probe-1"})
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "unavailable", "scheduler": "unknown"}
    errors = [e for e in _json_lines(capsys.readouterr().out) if e["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == "probe-1"
    assert "database unavailable" in errors[0]["message"]


# --- logs -----------------------------------------------------------------------------------------

def test_each_request_is_one_json_line_with_its_id_and_user(client, login_as, log_as, capsys):
    user = login_as("officer")
    log_as("json")
    response = client.get("/account", headers={"X-Request-ID": "nginx-abc.123"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "nginx-abc.123"
    [line] = _request_lines(capsys.readouterr().out)
    assert line["request_id"] == "nginx-abc.123"
    assert line["user_id"] == user.id
    assert (line["method"], line["path"], line["status"]) == ("GET", "/account", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["ts"].endswith("+00:00")


@pytest.mark.parametrize("incoming", [None, "", "has spaces", "x" * 65, "quote\"s"])
def test_a_missing_or_unsafe_request_id_is_replaced(client, log_as, capsys, incoming):
    log_as("json")
    headers = {"X-Request-ID": incoming} if incoming is not None else {}
    response = client.get("/login", headers=headers)
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [line] = _request_lines(capsys.readouterr().out)
    assert line["request_id"] == request_id
    assert line["user_id"] is None


def test_text_format_is_one_readable_line(client, log_as, capsys):
    log_as("text")
    client.get("/login", headers={"X-Request-ID": "r-1"})
    out = capsys.readouterr().out
    assert re.search(r"INFO miaopu\.request: GET /login 200 [\d.]+ms \[r-1\]$", out, re.M), out


def test_successful_health_checks_are_not_logged_at_info(client, log_as, capsys):
    log_as("json")
    client.get("/healthz")
    assert _request_lines(capsys.readouterr().out) == []
    log_as("json", "DEBUG")
    client.get("/healthz")
    assert [e["path"] for e in _request_lines(capsys.readouterr().out)] == ["/healthz"]


def test_an_unknown_log_format_is_refused():
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", LOG_FORMAT="xml")


def test_production_logs_json_by_default(monkeypatch):
    import config

    monkeypatch.delenv("LOG_FORMAT", raising=False)
    try:
        reloaded = importlib.reload(config)
        assert reloaded.ProductionConfig.LOG_FORMAT == "json"
        assert reloaded.DevelopmentConfig.LOG_FORMAT == "text"
    finally:
        importlib.reload(config)


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(app, log_as, capsys):
    proxied = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], TRUSTED_PROXIES=1)
    log_as("json", "DEBUG")
    response = proxied.test_client().get("/healthz", headers={"X-Forwarded-For": "203.0.113.7",
                                                               "X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    [line] = _request_lines(capsys.readouterr().out)
    assert line["remote_addr"] == "203.0.113.7"


# --- static files ---------------------------------------------------------------------------------

def _content_hash(relative: str) -> str:
    return hashlib.sha256((ROOT / "static" / relative).read_bytes()).hexdigest()[:12]


def test_static_url_carries_the_content_hash(app):
    with app.test_request_context():
        assert assets.static_url("css/app.css") == f"/static/css/app.css?v={_content_hash('css/app.css')}"
        assert assets.static_url("css/missing.css") == "/static/css/missing.css"


def test_every_asset_of_a_page_is_versioned(client):
    html = client.get("/login").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(urls) >= 5
    for url in urls:
        path, _, version = url.partition("?v=")
        assert version == _content_hash(path.removeprefix("/static/")), url


def test_no_template_links_a_static_file_without_its_hash():
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"url_for\(\s*['\"]static['\"]", text), template


def test_a_hashed_url_is_cached_for_a_year(client):
    url = f"/static/js/app.js?v={_content_hash('js/app.js')}"
    response = client.get(url)
    assert response.status_code == 200
    cache = response.cache_control
    assert cache.public and cache.immutable and cache.max_age == 31536000
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("query", ["", "?v=000000000000"])
def test_an_unversioned_or_stale_url_is_revalidated(client, query):
    response = client.get(f"/static/js/app.js{query}")
    assert response.status_code == 200
    assert response.cache_control.no_cache and not response.cache_control.immutable
    assert response.cache_control.max_age is None
    again = client.get(f"/static/js/app.js{query}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_hash_follows_the_content(tmp_path):
    asset = tmp_path / "a.css"
    asset.write_text("body{}")
    first = assets.file_hash(str(asset))
    assert first == assets.file_hash(str(asset))
    asset.write_text("body{color:red}")
    assert assets.file_hash(str(asset)) != first
    assert assets.file_hash(str(tmp_path / "none.css")) is None


# --- gunicorn -------------------------------------------------------------------------------------

def _gunicorn_settings(monkeypatch, **env) -> dict:
    import runpy

    for name in ("GUNICORN_WORKERS", "GUNICORN_MAX_WORKERS", "GUNICORN_PRELOAD", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))


def test_gunicorn_workers_follow_the_cores_up_to_a_cap(monkeypatch):
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 2)
    assert _gunicorn_settings(monkeypatch)["workers"] == 5
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 16)
    assert _gunicorn_settings(monkeypatch)["workers"] == 8
    assert _gunicorn_settings(monkeypatch, GUNICORN_MAX_WORKERS="12")["workers"] == 12
    assert _gunicorn_settings(monkeypatch, GUNICORN_WORKERS="3")["workers"] == 3


def test_gunicorn_settings_from_the_environment(monkeypatch):
    settings = _gunicorn_settings(monkeypatch, GUNICORN_BIND="127.0.0.1:8001", GUNICORN_PRELOAD="1")
    assert settings["bind"] == "127.0.0.1:8001"
    assert settings["preload_app"] is True
    assert settings["worker_class"] == "gthread"
    assert settings["accesslog"] is None
    line = settings["access_log_format"].replace("%(s)s", "200").replace("%(M)s", "12").replace("%(B)s", "0")
    assert json.loads(re.sub(r"%\([^)]*\)s", "x", line))["status"] == 200


def test_a_leaving_worker_waits_for_its_background_work(monkeypatch):
    waited = []
    monkeypatch.setattr("crm.ladder.documents.wait_for_batches", lambda t: waited.append(("sheets", t)))
    monkeypatch.setattr("crm.io.jobs.wait_for_jobs", lambda t: waited.append(("imports", t)))
    _gunicorn_settings(monkeypatch)["worker_exit"](None, None)
    assert [kind for kind, _ in waited] == ["sheets", "imports"] and all(t > 0 for _, t in waited)
