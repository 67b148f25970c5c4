"""Miaopu (苗圃): a tiered-cultivation CRM for science & technology bureaus."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from config import DEV_SECRET_KEY, get_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: str | type | None = None, **overrides) -> Flask:
    """Build the app: config → logs → extensions → blueprints → errors → jinja → cli. No side effects
    but one: the root logger writes to stdout in LOG_FORMAT (crm.core.logs)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    from crm.core.web import CleanRequest

    app.request_class = CleanRequest  # no NUL bytes in form, query or JSON (PostgreSQL text cannot hold them)
    config_class = config if isinstance(config, type) else get_config(config)
    app.config.from_object(config_class)
    app.config.update(overrides)
    _check_config(app)
    from crm.core.logs import configure_logging

    # first, so that the request id and the timer are set before any other hook can end the request
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    from crm.core.errors import register_error_handlers

    register_error_handlers(app)
    from crm.core.security import register_security_headers

    register_security_headers(app)
    from crm.core.assets import register_assets

    register_assets(app)
    register_jinja(app)
    register_cli(app)
    return app


def _check_config(app: Flask) -> None:
    """Refuse unsafe production settings before anything else starts."""
    if app.config.get("NAME") == "production":
        key = app.config.get("SECRET_KEY") or ""
        if key == DEV_SECRET_KEY or len(key) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
            )
    if app.config.get("LOG_FORMAT") not in ("json", "text"):
        raise RuntimeError(f"LOG_FORMAT must be json or text, not {app.config.get('LOG_FORMAT')!r}")
    if app.config.get("TRUSTED_PROXIES"):
        # behind nginx: client address, scheme and host come from its X-Forwarded-* headers (deploy/nginx)
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions of crm.extensions to `app`."""
    from crm.core.i18n import select_locale, select_timezone
    from crm.extensions import babel, csrf, db, login_manager, migrate

    import_models()
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True, include_object=_include_object,
                     render_item=_render_item)
    csrf.init_app(app)
    app.before_request(_csrf_protect)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    from crm.auth import views as auth_views

    login_manager.user_loader(auth_views.load_user)
    login_manager.request_loader(auth_views.load_token_user)
    login_manager.unauthorized_handler(auth_views.unauthorized)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"


def _csrf_protect() -> None:
    """CSRF on every state-changing request, except an API call carrying a bearer token.

    Config sets WTF_CSRF_CHECK_DEFAULT = False so that Flask-WTF's own hook stands aside and
    this one decides: a bearer request is authenticated by its token alone (the session is
    ignored, crm.auth.views.load_user), so a forged cross-site request gains nothing from the
    browser's cookies.
    """
    from flask import current_app

    from crm.core.security import bearer_token
    from crm.extensions import csrf

    if not current_app.config["WTF_CSRF_ENABLED"] or bearer_token() is not None:
        return
    csrf.protect(apply_exemptions=True)


def import_models() -> None:
    """Import every model module so the metadata (create_all, Alembic) is complete."""
    import crm.auth.models  # noqa: F401
    import crm.core.audit  # noqa: F401
    import crm.core.workdays  # noqa: F401
    import crm.credit.models  # noqa: F401
    import crm.cycle.models  # noqa: F401
    import crm.enterprises.models  # noqa: F401
    import crm.events.models  # noqa: F401
    import crm.evidence.models  # noqa: F401
    import crm.io.models  # noqa: F401
    import crm.ladder.models  # noqa: F401
    import crm.notify.models  # noqa: F401
    import crm.partners.models  # noqa: F401
    import crm.pipeline.models  # noqa: F401
    import crm.policies.models  # noqa: F401
    import crm.portal.models  # noqa: F401
    import crm.referrals.models  # noqa: F401
    import crm.saved_views.models  # noqa: F401
    import crm.service.models  # noqa: F401
    import crm.surveys.models  # noqa: F401
    import crm.tags.models  # noqa: F401


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Keep Alembic away from tables it does not own (the scheduler's job store)."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _render_item(type_, obj, autogen_context):
    """Render our column types as plain SQLAlchemy types in migration scripts."""
    from crm.core.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def register_blueprints(app: Flask) -> None:
    """Mount every feature's blueprint."""
    from crm.api.views import bp as api_bp
    from crm.api.views import tokens_bp
    from crm.auth.views import admin_bp
    from crm.auth.views import bp as auth_bp
    from crm.credit.views import bp as credit_bp
    from crm.cycle.views import bp as cycle_bp
    from crm.enterprises.views import bp as enterprises_bp
    from crm.enterprises.views import regions_bp
    from crm.events.views import bp as events_bp
    from crm.evidence.views import bp as evidence_bp
    from crm.holidays.views import bp as holidays_bp
    from crm.io.views import bp as io_bp
    from crm.ladder.views import bp as ladder_bp
    from crm.ladder.views import candidates_bp, rules_bp
    from crm.main import bp as main_bp
    from crm.notify.views import bp as notify_bp
    from crm.partners.views import bp as partners_bp
    from crm.performance.views import bp as performance_bp
    from crm.pipeline.views import bp as pipeline_bp
    from crm.policies.views import bp as policies_bp
    from crm.portal.views import accounts_bp as portal_accounts_bp
    from crm.portal.views import bp as portal_bp
    from crm.portal.views import review_bp as submissions_bp
    from crm.referrals.views import bp as referrals_bp
    from crm.saved_views.views import bp as saved_views_bp
    from crm.service.views import bp as service_bp
    from crm.surveys.views import bp as surveys_bp
    from crm.surveys.views import portal_bp as portal_surveys_bp
    from crm.tags.views import bp as tags_bp

    for blueprint in (main_bp, auth_bp, admin_bp, enterprises_bp, regions_bp, ladder_bp, candidates_bp, rules_bp,
                      api_bp, service_bp, policies_bp, notify_bp, pipeline_bp, io_bp, tokens_bp, portal_bp,
                      submissions_bp, portal_accounts_bp, performance_bp, cycle_bp, referrals_bp, holidays_bp,
                      evidence_bp, tags_bp, saved_views_bp, partners_bp, events_bp, surveys_bp, portal_surveys_bp,
                      credit_bp):
        app.register_blueprint(blueprint)


def register_jinja(app: Flask) -> None:
    """Template filters and globals: formatting, the access policy, enum labels."""
    from crm.core import i18n, policy, web
    from crm.enterprises import queries as enterprise_queries
    from crm.ladder.models import TIER_EVENT_LABELS
    from crm.ladder.tiers import tier_label
    from crm.notify import queries as notify_queries
    from crm.service import queries as service_queries

    i18n.register_jinja(app)
    web.register_jinja(app)
    from crm.ladder import display

    display.register_jinja(app)
    from crm.saved_views import views as saved_views

    saved_views.register_jinja(app)
    app.jinja_env.globals.update(
        can=lambda capability: policy.can(_current_user(), capability),
        can_edit_enterprise=lambda e: enterprise_queries.can_edit_enterprise(_current_user(), e),
        can_work_follow_up=lambda fu: service_queries.can_work_follow_up(_current_user(), fu),
        tier_label=tier_label,
        tier_event_label=lambda kind: TIER_EVENT_LABELS.get(kind, kind),
        unread_notifications=lambda: notify_queries.unread_count(_current_user()),
    )


def _current_user():
    from flask_login import current_user

    return current_user


def register_cli(app: Flask) -> None:
    """Attach the command groups (demo, users…)."""
    from crm.auth.cli import users_cli
    from crm.demo.cli import demo_cli
    from crm.io.cli import export_command, import_command
    from crm.ladder.cli import ladder_cli, readiness_cli
    from crm.notify.cli import scheduler_cli
    from crm.ops.cli import backup_command, pdf_fonts_command, restore_command
    from crm.pipeline.cli import pipeline_cli

    app.cli.add_command(scheduler_cli)
    app.cli.add_command(pipeline_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(readiness_cli)
    app.cli.add_command(ladder_cli)
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(pdf_fonts_command)
