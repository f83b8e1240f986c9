"""The `hongtu` command: one group per area. Each area's commands live beside its code."""

from __future__ import annotations

import click

from planner.cli import bench_group, db_group, plan, sites_group


@click.group()
@click.version_option(package_name="hongtu")
def main():
    """红途 Hongtu: red-culture and ecological trips in the Hunan–Jiangxi border zone."""


main.add_command(db_group)
main.add_command(sites_group)
main.add_command(plan)
main.add_command(bench_group)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def up(host, port):
    """Run the main job: the web planner, and the bot too when TELEGRAM_BOT_TOKEN is set."""
    raise click.ClickException("the web planner is not built yet (issue 4); `hongtu sites --help` works today")
