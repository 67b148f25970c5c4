"""`flask users ...`: create the first administrator on a new installation; API tokens."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from crm.auth import services
from crm.auth.models import ApiToken, User
from crm.core.validation import ValidationFailed
from crm.extensions import db


@click.group("users", help="Manage user accounts from the command line.")
def users_cli():
    """The `users` command group."""


@users_cli.command("create-admin")
@click.argument("username")
@click.option("--name", default="系统管理员", help="Full name shown in the app.")
@click.password_option(help="The first password (asked for when omitted).")
@with_appcontext
def create_admin(username: str, name: str, password: str):
    """Create an administrator account (for a fresh production installation)."""
    data = {"username": username, "name": name, "role": "admin", "region_id": None, "email": "", "phone": "",
            "enterprise_uscc": "", "password": password, "active": True}
    try:
        services.create_user(data, actor="cli")
    except ValidationFailed as failure:
        for field, messages in failure.errors.items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
        raise SystemExit(2) from None
    db.session.commit()
    click.echo(f"created administrator {username}")


@users_cli.group("token", help="API tokens: Authorization: Bearer <token> on /api/v1.")
def token_cli():
    """The `users token` command group."""


def _fail(reason: str):
    click.echo(reason, err=True)
    raise SystemExit(2)


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@token_cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (e.g. the calling system).")
@with_appcontext
def token_create(username: str, name: str):
    """Create a token for USERNAME and print it once (only its hash is stored)."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        _fail(f"no user named {username!r}")
    if not user.is_active:
        _fail(f"user {user.username!r} is deactivated")
    try:
        token, plaintext = services.create_api_token(user, name, actor="cli")
    except ValidationFailed as failure:
        _fail("; ".join(f"{field}: {m}" for field, messages in failure.errors.items() for m in messages))
    db.session.commit()
    click.echo(f"created token {token.id} ({token.prefix}…) for {user.username}: {token.name}")
    click.echo(plaintext)
    click.echo("Store this token now: it is shown only once and cannot be recovered "
               "(revoke it and create a new one if lost).", err=True)


@token_cli.command("list")
@click.argument("username", required=False)
@with_appcontext
def token_list(username: str | None):
    """List tokens (of USERNAME, or everyone's): id, user, prefix, name, created, last used, revoked."""
    query = select(ApiToken).join(User, ApiToken.user_id == User.id).order_by(ApiToken.id)
    if username:
        user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
        if user is None:
            _fail(f"no user named {username!r}")
        query = query.where(ApiToken.user_id == user.id)
    tokens = db.session.scalars(query).all()
    if not tokens:
        click.echo("no tokens")
        return
    click.echo("id\tuser\tprefix\tname\tcreated\tlast used\trevoked")
    for t in tokens:
        click.echo(f"{t.id}\t{t.user.username}\t{t.prefix}…\t{t.name}\t{_when(t.created_at)}\t"
                   f"{_when(t.last_used_at)}\t{_when(t.revoked_at)}")


@token_cli.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(token_id: int):
    """Revoke token TOKEN_ID (see `flask users token list`); it stops working at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        _fail(f"no token with id {token_id}")
    if not services.revoke_api_token(token, actor="cli"):
        click.echo(f"token {token.id} ({token.prefix}…) was already revoked")
        return
    db.session.commit()
    click.echo(f"revoked token {token.id} ({token.prefix}…) of {token.user.username}")
