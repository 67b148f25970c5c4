"""Configuration and the app factory."""
import pytest

from config import DEV_SECRET_KEY, get_config
from crm import create_app


def test_production_refuses_the_dev_secret_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY=DEV_SECRET_KEY, SQLALCHEMY_DATABASE_URI="sqlite://")


def test_production_refuses_a_short_secret_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY="short", SQLALCHEMY_DATABASE_URI="sqlite://")


def test_production_starts_with_a_real_key_and_secure_cookies():
    app = create_app("production", SECRET_KEY="x" * 64, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_unknown_environment_is_an_error():
    with pytest.raises(RuntimeError, match="MIAOPU_ENV"):
        get_config("staging")


def test_factory_has_no_side_effects(tmp_path):
    """Creating the app touches no database and creates no file."""
    db_file = tmp_path / "never.db"
    create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_file}")
    assert not db_file.exists()


def test_postgres_urls_use_psycopg3(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("DATABASE_URL", "postgres://u@h:5432/d")
    reloaded = importlib.reload(config)
    try:
        assert reloaded.Config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h:5432/d"
    finally:
        monkeypatch.delenv("DATABASE_URL")
        importlib.reload(config)


def test_health_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "scheduler": "not seen"}
