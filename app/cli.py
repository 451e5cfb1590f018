"""`flask` commands for operators, and `flask dev`, the dev server that `make run` starts."""

import logging
import sys
import time
from contextlib import contextmanager

import click
import flask_migrate
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import AppGroup, ScriptInfo, run_command, with_appcontext
from marshmallow import ValidationError
from werkzeug.serving import is_running_from_reloader

from app.extensions import db
from app.migration_check import migration_commands
from app.schemas.user import RegisterSchema
from app.services import account_mail, accounts, counters, idempotency, outbox, seeding, tokens
from config import ConfigError, load_config


@click.command("create-admin")
@click.argument("email")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_admin(email, username, password_stdin):
    """Create an admin account, or make the existing EMAIL/USERNAME account an active admin.

    Rerun it to repair an admin who was deactivated or demoted: the account is
    promoted and reactivated (its old sessions stay signed out).
    """
    existing = accounts.find_by_login(email)
    if existing is not None:
        if existing.username.lower() != username.lower():
            raise click.ClickException(f"{email} belongs to another user ({existing.username}).")
        if existing.role == "admin" and existing.is_active:
            click.echo(f"{existing.username} is already an admin; nothing changed.")
            return
        reactivated = not existing.is_active
        existing.role, existing.is_active = "admin", True
        db.session.commit()
        again = " and active again (old sessions stay signed out)" if reactivated else ""
        click.echo(f"{existing.username} is now an admin{again}.")
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


@click.command("seed")
@click.option("--users", default=1_000, show_default=True, type=click.IntRange(min=1))
@click.option("--posts", default=100_000, show_default=True, type=click.IntRange(min=0))
@click.option("--comments", default=None, type=click.IntRange(min=0), help="Default: posts/2.")
@click.option("--follows", default=None, type=click.IntRange(min=0), help="Default: users*10.")
@click.option("--favorites", default=None, type=click.IntRange(min=0), help="Default: posts.")
@click.option("--seed", "seed_value", default=1, show_default=True, help="Same seed, same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when users exist.")
@with_appcontext
def seed(users, posts, comments, follows, favorites, seed_value, if_empty):
    """Fill an empty database with deterministic, realistic data, fast.

    Every seeded account's password is `folio-demo-password`; user 1 is an admin.
    """
    if not seeding.is_empty():
        if if_empty:
            click.echo("The database already has users; not seeding.")
            return
        raise click.ClickException("The database already has users: seed an empty one.")
    sizes = {
        "users": users,
        "posts": posts,
        "comments": posts // 2 if comments is None else comments,
        "follows": users * 10 if follows is None else follows,
        "favorites": posts if favorites is None else favorites,
    }
    started = time.perf_counter()
    with click.progressbar(length=sum(sizes.values()), label="Seeding") as bar:
        counts = seeding.seed(
            **sizes,
            seed=seed_value,
            progress=lambda table, n: bar.update(n) if table in sizes else None,
        )
        db.session.commit()
    summary = ", ".join(f"{n:,} {table}" for table, n in counts.items())
    click.echo(f"Seeded {summary} in {time.perf_counter() - started:.1f} s.")


@click.command("purge-expired")
@with_appcontext
def purge_expired():
    """Delete what has expired: revoked-token rows, idempotency records, mail link
    tokens, and mail sent over a week ago (run daily)."""
    removed_tokens = tokens.purge_expired()
    removed_records = idempotency.purge_expired()
    link_tokens, sent_mails = account_mail.purge_expired()
    db.session.commit()
    click.echo(
        f"Removed {removed_tokens} expired token rows and {removed_records} idempotency records, "
        f"{link_tokens} expired mail link tokens and {sent_mails} mails sent over a week ago."
    )


@click.command("recount")
@with_appcontext
def recount():
    """Set the maintained counts (each tag's published posts, the number of published
    posts) from the tables.

    A repair only: database triggers keep the counts through every write to posts
    and tags, bulk loads included; this puts back counts whose own rows were edited
    by hand. Best run when nothing writes.
    """
    wrong = counters.recount()
    db.session.commit()
    if wrong:
        click.echo(f"Recounted: corrected {wrong} counts.")
    else:
        click.echo("Recounted: every count was already exact.")


outbox_group = AppGroup("outbox", help="Account mail waiting in the outbox.")


@outbox_group.command("send")
def send_outbox():
    """Deliver every pending message that is due (the sweep the worker's beat runs)."""
    sent = outbox.deliver_pending(current_app._get_current_object())
    click.echo(f"Sent {sent} messages.")


def database_at_head():
    """Whether the database has every migration: one query and the scripts' headers,
    so a restart with nothing to migrate costs milliseconds, not a second app import."""
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with current_app.extensions["sqlalchemy"].engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


@contextmanager
def root_logger_kept():
    """migrations/env.py configures logging from alembic.ini, for `flask db`'s output.
    In a process that goes on to serve, that would restyle werkzeug's banner
    ("INFO  [werkzeug] ..."): the root logger is put back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def prepare_development_database(seed_users, seed_posts):
    """Upgrade the database when it is behind the migrations; seed it when it has no users."""
    if not database_at_head():
        click.echo("Upgrading the database to the latest migration.")
        with root_logger_kept():
            flask_migrate.upgrade()
    if seeding.is_empty():
        click.get_current_context().invoke(seed, users=seed_users, posts=seed_posts)


def check_serving_config(app):
    """The app was imported to find this command, before the CLI knew it would serve
    (wsgi.serving), so the checks that protect serving run here instead."""
    try:
        load_config(app.config["APP_ENV"], serving=True)
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None


@click.pass_context
def serve_for_development(ctx, seed_users, seed_posts, **run_options):
    if not is_running_from_reloader():  # the reloader's child finds the work done
        app = ctx.ensure_object(ScriptInfo).load_app()
        check_serving_config(app)
        with app.app_context():
            prepare_development_database(seed_users, seed_posts)
    ctx.invoke(run_command, **run_options)


dev_command = click.Command(
    "dev",
    callback=serve_for_development,
    params=[
        *run_command.params,
        click.Option(["--seed-users"], default=20, show_default=True, help="Demo users."),
        click.Option(["--seed-posts"], default=200, show_default=True, help="Demo posts."),
    ],
    short_help="Upgrade and seed the database if needed, then run the dev server.",
    help="""`flask run` in one process with what `make run` needs first: the database
    upgraded when it is behind the migrations, and a small demo data set seeded
    when it has no users (password `folio-demo-password`; user 1 is an admin).
    Every option of `flask run` works here too.""",
)


def register_commands(app):
    # After Flask-Migrate's init_app: replaces its `db` group, `check` changed.
    app.cli.add_command(migration_commands())
    app.cli.add_command(create_admin)
    app.cli.add_command(dev_command)
    app.cli.add_command(seed)
    app.cli.add_command(purge_expired)
    app.cli.add_command(recount)
    app.cli.add_command(outbox_group)
