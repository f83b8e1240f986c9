"""`hongtu bot`: run the Telegram bot (long polling, or a webhook with --webhook URL).

Configuration comes from the environment:
  TELEGRAM_BOT_TOKEN      the bot's token (required)
  TELEGRAM_BASE_URL       another Bot API server, e.g. a self-hosted one (default: api.telegram.org)
  HONGTU_WEB_URL          the web planner, for "open on the web" links (default http://127.0.0.1:8000)
  HONGTU_CURATOR_IDS      Telegram user ids allowed to /addsite and /fixsite (comma-separated)
  HONGTU_PLAN_TIME_LIMIT  seconds the optimiser may search per plan (default 2)
  HONGTU_PLAN_RATE        plans per user and period, e.g. 3/60 (default)
  HONGTU_PLAN_WORKERS     planner worker processes (default 2)
  HONGTU_BOT_STATE        the persistence file (default: bot_state.pickle beside the database)
  HONGTU_WEBHOOK_SECRET   the webhook's secret token (default: derived from the bot token)
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import click

from planner import db as sitedb


@click.command("bot")
@click.option("--webhook", "webhook_url", metavar="URL",
              help="Receive updates by webhook at this public HTTPS URL instead of long polling.")
@click.option("--listen", default="127.0.0.1:8443", show_default=True, metavar="HOST:PORT",
              help="Where the webhook endpoint listens (put it behind the HTTPS proxy of URL).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=str(sitedb.DEFAULT_DB),
              show_default=True, envvar="HONGTU_DB", help="The site database.")
@click.option("-v", "--verbose", is_flag=True, help="Log every request.")
def bot_command(webhook_url, listen, db_path, verbose):
    """Run the Telegram bot (needs TELEGRAM_BOT_TOKEN)."""
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        click.echo("hongtu bot: TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then run\n"
                   "  TELEGRAM_BOT_TOKEN=123456:ABC... hongtu bot", err=True)
        sys.exit(2)
    if not Path(db_path).exists():
        click.echo(f"hongtu bot: no database at {db_path}: run `hongtu db build` first", err=True)
        sys.exit(2)
    if webhook_url and not webhook_url.startswith(("https://", "http://")):
        click.echo("hongtu bot: --webhook needs a URL such as https://example.org/telegram", err=True)
        sys.exit(2)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)

    from bot.app import build_application, serve

    application = build_application(token, os.environ.get("TELEGRAM_BASE_URL") or None, db_path)
    asyncio.run(serve(application, webhook_url=webhook_url, listen=listen))
