"""`flask users ...`: create the first administrator on a new installation."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from crm.auth import services
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
