"""The `hongtu` command: one group per area. Each area's commands live beside its code."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from bot.cli import bot_command
from planner.cli import bench_group, db_group, plan, sites_group
from web.cli import curator_group, serve


@click.group()
@click.version_option(package_name="hongtu")
def main():
    """红途 Hongtu: red-culture and ecological trips in the Hunan–Jiangxi border zone."""


main.add_command(db_group)
main.add_command(sites_group)
main.add_command(plan)
main.add_command(bench_group)
main.add_command(serve)
main.add_command(curator_group)
main.add_command(bot_command)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def up(ctx, host, port):
    """Run the main job: the web planner, and the Telegram bot too when TELEGRAM_BOT_TOKEN is set."""
    bot = None
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        bot = subprocess.Popen([sys.executable, "-m", "hongtu", "bot"])
        click.echo(f"Telegram bot started (pid {bot.pid})")
    else:
        click.echo("TELEGRAM_BOT_TOKEN is not set: running the web planner only")
    try:
        ctx.invoke(serve, host=host, port=port)
    finally:
        if bot is not None:
            bot.terminate()
            bot.wait(timeout=10)
