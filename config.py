"""Configuration classes, read from the environment (see README, "Configuration")."""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEV_SECRET_KEY = "dev-only-insecure-secret-key"


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs name a dialect SQLAlchemy no longer accepts.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _priority(name: str, default: str) -> tuple:
    """A source priority from the environment: ranks separated by commas, highest first; sources of one rank
    joined by "|" ("tax,statistics,officer|enterprise|import")."""
    ranks = [tuple(s.strip() for s in rank.split("|") if s.strip())
             for rank in os.environ.get(name, default).split(",")]
    return tuple(rank[0] if len(rank) == 1 else rank for rank in ranks if rank)


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment."""

    NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{BASE_DIR / 'instance' / 'miaopu.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("MIAOPU_TIMEZONE", "Asia/Shanghai")
    BABEL_TRANSLATION_DIRECTORIES = "translations"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = int(os.environ.get("SESSION_LIFETIME_SECONDS", 8 * 3600))
    # The sign-in throttle: a user name is locked after LOGIN_MAX_FAILURES failures within LOGIN_LOCK_MINUTES
    # (until they age out), an address after LOGIN_IP_MAX_FAILURES within LOGIN_IP_WINDOW_MINUTES; 0 turns one off.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", 5))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", 15))
    LOGIN_IP_MAX_FAILURES = int(os.environ.get("LOGIN_IP_MAX_FAILURES", 20))
    LOGIN_IP_WINDOW_MINUTES = int(os.environ.get("LOGIN_IP_WINDOW_MINUTES", 15))
    # The daily job auth.prune_login_attempts deletes sign-in attempts older than this (admins see recent ones).
    LOGIN_ATTEMPTS_KEEP_DAYS = int(os.environ.get("LOGIN_ATTEMPTS_KEEP_DAYS", 90))
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # crm._csrf_protect checks every request itself (all but API calls with a bearer token).
    WTF_CSRF_CHECK_DEFAULT = False
    PER_PAGE = 50
    PASSWORD_HASH_METHOD = "scrypt"
    PASSWORD_MIN_LENGTH = int(os.environ.get("PASSWORD_MIN_LENGTH", 8))
    # A one-time set-password link (new enterprise contacts, resets) expires after this many days.
    PASSWORD_LINK_DAYS = int(os.environ.get("PASSWORD_LINK_DAYS", 7))
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", 0))
    # Where the PDFs' Chinese font subset is built by `flask pdf-fonts` (default: instance/fonts); without it the
    # PDFs embed the system's Noto Sans CJK SC (slower to cut, twice the file size).
    PDF_FONT_DIR = os.environ.get("PDF_FONT_DIR")
    # Where ZIPs of readiness sheets are built (default: instance/sheet-batches).
    SHEET_BATCH_DIR = os.environ.get("SHEET_BATCH_DIR")
    # Imports (crm.io): where uploads are kept (default instance/imports), the limits of one file.
    IMPORT_DIR = os.environ.get("IMPORT_DIR")
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_MB", 25)) * 1024 * 1024
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", 100_000))
    # Attachments of visits, needs and certifications (crm.evidence): kept under ATTACHMENTS_DIR (default
    # instance/attachments, never under static/), at most ATTACHMENT_MAX_MB per file, ATTACHMENT_MAX_FILES a form.
    ATTACHMENTS_DIR = os.environ.get("ATTACHMENTS_DIR")
    ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_MB", 10)) * 1024 * 1024
    ATTACHMENT_MAX_FILES = int(os.environ.get("ATTACHMENT_MAX_FILES", 5))
    # No request body may be larger (Flask answers 413): the largest upload the app takes, plus the form around it.
    MAX_CONTENT_LENGTH = max(IMPORT_MAX_BYTES, ATTACHMENT_MAX_BYTES * ATTACHMENT_MAX_FILES) + 1024 * 1024
    # The workbench lists an officer's enterprises not visited for this many days.
    SERVICE_STALE_DAYS = int(os.environ.get("SERVICE_STALE_DAYS", 90))
    # Managers are told of a need in their region overdue by more than this many days.
    NEED_ESCALATION_DAYS = int(os.environ.get("NEED_ESCALATION_DAYS", 14))
    # referrals to departments (crm.referrals), all in working days of the admin's calendar (crm.core.workdays)
    REFERRAL_WORKING_DAYS = int(os.environ.get("REFERRAL_WORKING_DAYS", 10))
    REFERRAL_ESCALATION_STEP = int(os.environ.get("REFERRAL_ESCALATION_STEP", 5))  # a new 督办 level every n days
    CALLBACK_WORKING_DAYS = int(os.environ.get("CALLBACK_WORKING_DAYS", 3))
    # Officers are reminded of eligible enterprises told of a policy and not applied this many days before it closes.
    POLICY_REMINDER_DAYS = int(os.environ.get("POLICY_REMINDER_DAYS", 14))
    # A manager's or admin's needs board counting more needs than this reads the 10-minute roll-up (crm.pipeline)
    NEEDS_BOARD_LIVE_MAX = int(os.environ.get("NEEDS_BOARD_LIVE_MAX", 20000))
    # Days before an application stage's deadline (申报批次) at which its officer is reminded.
    CYCLE_DEADLINE_WARN_DAYS = int(os.environ.get("CYCLE_DEADLINE_WARN_DAYS", 7))
    # Figure provenance (crm.enterprises): which source's value of a figure the engine reads when several
    # sources reported a year, highest first. Tax data (the filed returns: 汇算清缴, 研发费用加计扣除) are what a
    # 高企 review checks the figures against, so they come first; statistics data (联网直报, the 规上 counts)
    # next. The bureau's own entries — an officer's, an enterprise's submission its officer accepted, an
    # imported sheet — are one rank: among them the latest report wins, so an officer's correction of an
    # imported typo, or an accepted submission after an officer's estimate, takes effect.
    FIGURE_SOURCE_PRIORITY = _priority("FIGURE_SOURCE_PRIORITY", "tax,statistics,officer|enterprise|import")
    # Two sources disagree on an amount when they differ by more than this share of the larger (headcounts:
    # when they differ at all); the enterprise page then marks the figure.
    FIGURE_DISAGREEMENT_TOLERANCE = os.environ.get("FIGURE_DISAGREEMENT_TOLERANCE", "0.01")
    # A target is yellow when behind its pace by up to this share of the expected value, red beyond it.
    PIPELINE_YELLOW_MARGIN = os.environ.get("PIPELINE_YELLOW_MARGIN", "0.10")
    # minutes the scheduler's count of visits and needs is read before pages count live again (it runs every 10)
    PIPELINE_ROLLUP_MAX_AGE = int(os.environ.get("PIPELINE_ROLLUP_MAX_AGE", "30"))
    # minutes the scheduler's ranking of candidates for the forecasts is read (it runs hourly)
    PIPELINE_FORECAST_MAX_AGE = int(os.environ.get("PIPELINE_FORECAST_MAX_AGE", "120"))
    # E-mail of notifications: off unless MAIL_SERVER is set (the inbox works either way).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "miaopu@localhost")
    # The app's address as users reach it, for links in e-mails (e.g. http://miaopu.kjj.intranet).
    SERVER_URL = os.environ.get("SERVER_URL", "")
    # Logs to stdout (crm.core.logs): "json" lines (production's default) or "text"; the root level.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
    # /healthz answers 503 when the scheduler's runner has not renewed its heartbeat for this long (0: never).
    HEALTH_SCHEDULER_MAX_AGE = int(os.environ.get("HEALTH_SCHEDULER_MAX_AGE", 600))


class DevelopmentConfig(Config):
    """Local development: SQLite under instance/, debug off unless FLASK_DEBUG says so."""

    NAME = "development"


class TestingConfig(Config):
    """The test suite: its own database, fast password hashing, no CSRF unless a test turns it on."""

    NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    # Hashing with scrypt costs ~100 ms; tests create hundreds of users.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # one line per request would drown the test output (tests of the logs set INFO themselves)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").strip().upper()


class ProductionConfig(Config):
    """Production: refuses to start without a real SECRET_KEY (see crm.create_app)."""

    NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").strip().lower()


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    """Return the config class named by `name` or by MIAOPU_ENV (default: development)."""
    name = name or os.environ.get("MIAOPU_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"MIAOPU_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
