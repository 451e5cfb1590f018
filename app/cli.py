"""`flask` commands for operators."""

import sys

import click
from flask.cli import AppGroup, with_appcontext
from marshmallow import ValidationError

from app.extensions import db
from app.schemas.user import RegisterSchema
from app.services import accounts, tokens


@click.command("create-admin")
@click.argument("email")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_admin(email, username, password_stdin):
    """Create an admin account, or make the existing EMAIL/USERNAME account an admin."""
    existing = accounts.find_by_login(email)
    if existing is not None:
        if existing.username.lower() != username.lower():
            raise click.ClickException(f"{email} belongs to another user ({existing.username}).")
        if existing.role == "admin":
            click.echo(f"{existing.username} is already an admin; nothing changed.")
            return
        existing.role = "admin"
        db.session.commit()
        click.echo(f"{existing.username} is now an admin.")
        return
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = RegisterSchema().load({"email": email, "username": username, "password": password})
        accounts.register(**data, role="admin")
    except ValidationError as error:
        raise click.ClickException(f"Invalid: {error.normalized_messages()}") from None
    except accounts.AccountConflict as error:
        raise click.ClickException(f"Already taken: {error}.") from None
    db.session.commit()
    click.echo(f"Created admin {username}.")


tokens_group = AppGroup("tokens", help="Token housekeeping.")


@tokens_group.command("purge")
def purge_tokens():
    """Delete revocation rows for tokens that have expired anyway."""
    removed = tokens.purge_expired()
    db.session.commit()
    click.echo(f"Removed {removed} expired token rows.")


def register_commands(app):
    app.cli.add_command(create_admin)
    app.cli.add_command(tokens_group)
