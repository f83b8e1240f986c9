"""`hongtu serve` (the web planner on waitress) and `hongtu curator …` (accounts).

The `hongtu` group attaches these: main.add_command(serve); main.add_command(curator_group).
"""

from __future__ import annotations

import logging
import os
import signal

import click

from planner.cli import BadInput, fail
from planner.cli import db_option as _db_option
from planner.cli import open_db as _open
from planner.errors import InputError


@click.group("curator")
def curator_group():
    """Curator accounts for the web curator area."""


@curator_group.command("add")
@click.argument("name")
@_db_option
def curator_add(name, db_path):
    """Create a curator account. The password is asked twice (never an argument) and stored as an argon2 hash."""
    from web import accounts

    db = _open(db_path)
    password = click.prompt("Password (at least 10 characters)", hide_input=True, confirmation_prompt=True)
    try:
        account = accounts.add_curator(db, name, password)
    except InputError as e:
        raise fail(e) from None
    click.echo(f"added curator {account['name']}")


@curator_group.command("list")
@_db_option
def curator_list(db_path):
    """The curator accounts, with failed logins and locks."""
    from web import accounts

    for row in accounts.list_curators(_open(db_path)):
        lock = f"  locked until {row['locked_until']}" if row["locked_until"] else ""
        click.echo(f"{row['name']:24} created {row['created_at']}  last login {row['last_login'] or '-'}{lock}")


@curator_group.command("unlock")
@click.argument("name")
@_db_option
def curator_unlock(name, db_path):
    """Clear a curator's failed logins and lock."""
    from web import accounts

    if not accounts.unlock(_open(db_path), name):
        raise BadInput(f"no curator called {name}")
    click.echo(f"unlocked {name}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=48, show_default=True, type=click.IntRange(1, 256),
              help="request threads of the WSGI server (a thread waiting for a plan costs no CPU)")
@click.option("--plan-workers", default=None, type=click.IntRange(0, 64),
              help="processes solving plans at a lower CPU priority (default: HONGTU_PLAN_WORKERS, else 8; "
                   "0 solves in the request thread)")
@_db_option
def serve(host, port, threads, plan_workers, db_path):
    """Run the web planner on waitress (a production WSGI server)."""
    import waitress

    from web import create_app, planning

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _open(db_path)
    if plan_workers is None:
        plan_workers = int(os.environ.get("HONGTU_PLAN_WORKERS") or 8)
    try:
        app = create_app({"HONGTU_DB": db_path, "PLAN_WORKERS": plan_workers})
    except RuntimeError as e:
        raise BadInput(str(e)) from None
    planning.warm_up(app)
    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"Hongtu web planner on http://{host}:{port}/ (database {db_path}, {threads} threads, "
               f"{plan_workers} plan workers)")
    try:
        waitress.serve(app, host=host, port=port, threads=threads, connection_limit=1000, channel_timeout=60,
                       ident="hongtu")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        planning.shutdown(app)


def _stop(signum, frame):
    raise SystemExit(0)
