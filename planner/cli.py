"""`hongtu db …`, `hongtu sites …`: a thin layer over planner.db. Bad input exits with code 2."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path

import click

from planner import db as sitedb
from planner.benchmarks import gap_table, run_toptw
from planner.errors import InputError
from planner.hours import format_hours
from planner.render import itinerary_text
from planner.sitedata import FIELDS, JSON_FIELDS_IN_CSV
from planner.trip import PACES, TripRequest, parse_interests, solve_trip
from planner.validate import validate_database


class BadInput(click.ClickException):
    exit_code = 2


def fail(error: InputError) -> BadInput:
    return BadInput(f"{error.message('en')}\n{error.message('zh')}")


def db_option(f):
    return click.option("--db", "db_path", type=click.Path(dir_okay=False), default=str(sitedb.DEFAULT_DB),
                        show_default=True, envvar="HONGTU_DB", help="SQLite database file")(f)


def open_db(db_path: str):
    if not Path(db_path).exists():
        raise BadInput(f"no database at {db_path}: run `hongtu db build` first")
    return sitedb.connect(db_path)


# ---------------------------------------------------------------- hongtu db

@click.group("db")
def db_group():
    """Build and upgrade the site database."""


@db_group.command("build")
@click.option("--out", type=click.Path(dir_okay=False), default=str(sitedb.DEFAULT_DB), show_default=True)
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=str(sitedb.DATA_DIR),
              show_default=True)
def db_build(out, data_dir):
    """Build the database from the YAML and CSV files in data/."""
    try:
        counts = sitedb.build(Path(out), Path(data_dir))
    except InputError as e:
        raise fail(e) from None
    click.echo(f"built {out}: {counts['sites']} sites in {counts['counties']} counties")


@db_group.command("migrate")
@db_option
def db_migrate(db_path):
    """Upgrade a deployed database to the current schema, keeping every row."""
    db = sitedb.connect(db_path, migrate_schema=False)
    before, after = sitedb.migrate(db)
    click.echo(f"schema v{before} -> v{after}" if before != after else f"schema already at v{after}")


# ---------------------------------------------------------------- hongtu sites

@click.group("sites")
def sites_group():
    """Look up and curate sites."""


# (option name, record field, help). Shared by `add` and `edit` so that every field has a flag.
FIELD_OPTIONS = [
    ("--id", "id", "stable id, e.g. liuyang-wenjiashi"),
    ("--name-zh", "name_zh", "Chinese name"),
    ("--name-en", "name_en", "English name"),
    ("--aliases", "aliases", "other names, separated by ;"),
    ("--category", "category", "red, eco or both"),
    ("--themes", "themes", "themes, separated by ;"),
    ("--county", "county_adcode", "county adcode, e.g. 430181"),
    ("--lat", "lat", "WGS-84 latitude"),
    ("--lon", "lon", "WGS-84 longitude"),
    ("--precision", "coord_precision_m", "coordinate precision in metres"),
    ("--coord-source", "coord_source", "where the coordinates come from"),
    ("--visit-minutes", "visit_minutes", "typical visit length"),
    ("--hours", "hours", "e.g. 'tue-sun 09:00-17:00'"),
    ("--seasons", "seasons", "JSON list of {from, to, hours}"),
    ("--ticket", "ticket_cny", "ticket price in CNY (0 = free)"),
    ("--ticket-note", "ticket_note", "note on the ticket"),
    ("--designations", "designations", "designations, separated by ;"),
    ("--summary-zh", "summary_zh", "short summary (Chinese)"),
    ("--summary-en", "summary_en", "short summary (English)"),
    ("--history-zh", "history_zh", "history (Chinese)"),
    ("--history-en", "history_en", "history (English)"),
    ("--sources", "sources", "source URLs separated by ;, or a JSON list"),
    ("--unverified", "unverified", "fields not yet confirmed, separated by ;"),
    ("--last-verified", "last_verified", "YYYY-MM-DD"),
]


def field_options(f):
    for flag, field, help_text in reversed(FIELD_OPTIONS):
        f = click.option(flag, field, default=None, help=help_text)(f)
    return f


def given(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


@sites_group.command("add")
@field_options
@click.option("--author", required=True, help="who is making the change")
@db_option
def sites_add(db_path, author, **fields):
    """Add a site; every field is validated first."""
    db = open_db(db_path)
    try:
        site = sitedb.add_site(db, given(fields), author)
    except InputError as e:
        raise fail(e) from None
    click.echo(f"added {site['id']}")


@sites_group.command("edit")
@click.argument("site_id")
@field_options
@click.option("--author", required=True)
@db_option
def sites_edit(site_id, db_path, author, **fields):
    """Change some fields of a site."""
    changes = given(fields)
    if not changes:
        raise BadInput("nothing to change: give at least one field option, e.g. --visit-minutes 90")
    db = open_db(db_path)
    try:
        site = sitedb.update_site(db, site_id, changes, author)
    except InputError as e:
        raise fail(e) from None
    click.echo(f"saved {site['id']} (version {site['version']})")


def _set_hidden(site_id: str, db_path: str, author: str, hidden: bool) -> None:
    try:
        site = sitedb.set_hidden(open_db(db_path), site_id, hidden, author)
    except InputError as e:
        raise fail(e) from None
    click.echo(f"{site['id']} is now {'hidden' if hidden else 'shown'}")


@sites_group.command("hide")
@click.argument("site_id")
@click.option("--author", required=True)
@db_option
def sites_hide(site_id, db_path, author):
    """Hide a site from travellers (it stays in the database)."""
    _set_hidden(site_id, db_path, author, True)


@sites_group.command("unhide")
@click.argument("site_id")
@click.option("--author", required=True)
@db_option
def sites_unhide(site_id, db_path, author):
    """Show a hidden site again."""
    _set_hidden(site_id, db_path, author, False)


@sites_group.command("show")
@click.argument("site_id")
@click.option("--json", "as_json", is_flag=True)
@db_option
def sites_show(site_id, db_path, as_json):
    """Everything about one site, and its change history."""
    db = open_db(db_path)
    site = sitedb.get_site(db, site_id)
    if site is None:
        raise BadInput(f"no site with id {site_id}\n没有编号为 {site_id} 的景点")
    if as_json:
        click.echo(json.dumps(site, ensure_ascii=False, indent=2))
        return
    for field in FIELDS:
        value = format_hours(site[field]) if field == "hours" else site[field]
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        click.echo(f"{field:18} {value}")
    for entry in sitedb.audit_log(db, site_id):
        click.echo(f"audit              {entry['at']} {entry['author']} {entry['action']}")


@sites_group.command("search")
@click.argument("text")
@click.option("--all", "include_hidden", is_flag=True, help="include hidden sites")
@db_option
def sites_search(text, db_path, include_hidden):
    """Find sites by Chinese, English or pinyin name, alias or summary."""
    found = sitedb.search_sites(open_db(db_path), text, include_hidden=include_hidden)
    for site in found:
        click.echo(f"{site['id']:40} {site['name_zh']}  {site['name_en']}")
    if not found:
        click.echo(f"no site matches {text!r}", err=True)


@sites_group.command("validate")
@db_option
def sites_validate(db_path):
    """Check the whole database: fields, hours, placement, near-duplicates, sources."""
    problems, counts = validate_database(open_db(db_path))
    for problem in problems:
        click.echo(problem)
    click.echo(f"{counts['sites']} sites: {counts['red_culture']} red-culture, {counts['ecological']} ecological, "
               f"{counts['precise_500m']} with coordinates within 500 m, {counts['hidden']} hidden")
    click.echo(f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


def read_import_file(path: Path) -> list[tuple[int, dict]]:
    """(row number, record) pairs from a CSV or JSON file; a wrong CSV column is an error on row 1."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError("file", f"not valid JSON (line {e.lineno})",
                             f"不是有效的 JSON（第 {e.lineno} 行）") from None
        if not isinstance(data, list):
            raise InputError("file", "a JSON import is a list of site objects", "JSON 导入须为景点对象列表")
        return list(enumerate(data, 1))
    if path.suffix.lower() != ".csv":
        raise InputError("file", "import a .csv or .json file", "请导入 .csv 或 .json 文件")
    reader = csv.DictReader(io.StringIO(text))
    unknown = [c for c in reader.fieldnames or [] if c not in FIELDS]
    if unknown:
        raise InputError(unknown[0], "is not a site field (see `hongtu sites export --format csv`)",
                         "不是景点字段", row=1)
    return [(reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}) for row in reader]


@sites_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--author", required=True)
@db_option
def sites_import(file, db_path, author):
    """Import sites from CSV or JSON: all rows or none. An existing id is updated."""
    db = open_db(db_path)
    try:
        result = sitedb.import_sites(db, read_import_file(file), author)
    except InputError as e:
        raise fail(e) from None
    if result["errors"]:
        for error in result["errors"]:
            click.echo(f"{error.message('en')} | {error.message('zh')}", err=True)
        raise BadInput(f"nothing imported: {len(result['errors'])} bad row(s)")
    click.echo(f"imported {file.name}: {result['added']} added, {result['updated']} updated, "
               f"{result['unchanged']} unchanged")


@sites_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--visible-only", is_flag=True, help="leave out hidden sites")
@db_option
def sites_export(db_path, fmt, visible_only):
    """Write every site as JSON (the documented contract) or CSV."""
    sites = sitedb.export_sites(open_db(db_path), include_hidden=not visible_only)
    if fmt == "json":
        click.echo(json.dumps(sites, ensure_ascii=False, indent=1))
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for site in sites:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if k in JSON_FIELDS_IN_CSV else v
                         for k, v in site.items()})
    click.echo(out.getvalue(), nl=False)


# ---------------------------------------------------------------- hongtu plan

def _ids(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@click.command("plan")
@click.option("--from", "origin", required=True, help="station, airport, town, site, or 'lat,lon'")
@click.option("--days", type=int, required=True, help="1 to 10")
@click.option("--start-date", default=None, help="YYYY-MM-DD (default: today in China)")
@click.option("--to", "end", default=None, help="where the trip ends (default: where it starts)")
@click.option("--interests", default="red,eco", show_default=True, help="red, eco, or weighted: red:2,eco:1")
@click.option("--themes", default=None, help="comma-separated themes, e.g. autumn-harvest-uprising")
@click.option("--pace", type=click.Choice(list(PACES)), default="normal", show_default=True)
@click.option("--must", default=None, help="site ids to include, comma-separated")
@click.option("--avoid", default=None, help="site ids to leave out, comma-separated")
@click.option("--time-limit", type=float, default=None,
              help="safety cap in seconds (default: by trip length; the search itself is a seeded budget)")
@click.option("--destination", default=None, help="where to concentrate: scenic area, county, town, site or theme")
@click.option("--seed", type=int, default=0, show_default=True, help="the same seed gives the same plan")
@click.option("--pin", default=None, help="site:day pairs (day from 1), e.g. jinggangshan-huangyangjie:2")
@click.option("--arrive-at", default=None, help="HH:MM you reach the start on day 1 (a train or flight)")
@click.option("--party", default=None, help="children, seniors, no-car (comma-separated)")
@click.option("--iterations", type=int, default=None, help="optimiser iterations per chain (default: by days)")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the itinerary as JSON")
@db_option
def plan(origin, days, start_date, end, interests, themes, pace, must, avoid, time_limit, destination, seed, pin,
         arrive_at, party, iterations, lang, as_json, db_path):
    """Plan a multi-day trip."""
    db = open_db(db_path)
    try:
        date = dt.date.fromisoformat(start_date) if start_date else None
    except ValueError:
        raise BadInput(f"start-date: {start_date!r} is not a date YYYY-MM-DD\n"
                       "start-date: 日期格式应为 YYYY-MM-DD") from None
    try:
        request = TripRequest(origin=origin, days=days, start_date=date, end=end,
                              interests=parse_interests(interests), themes=_ids(themes), pace=pace,
                              must=_ids(must), avoid=_ids(avoid), time_limit=time_limit, destination=destination,
                              seed=seed, pin=_pins(pin), arrive_at=_clock(arrive_at), party=_ids(party),
                              iterations=iterations)
        itinerary = solve_trip(db, request)
    except InputError as e:
        raise fail(e) from None
    click.echo(json.dumps(itinerary, ensure_ascii=False, indent=1) if as_json else itinerary_text(itinerary, lang))


def _pins(text: str | None) -> dict[str, int]:
    pins = {}
    for part in _ids(text):
        site, _, day = part.rpartition(":")
        if not site or not day.isdigit() or int(day) < 1:
            raise InputError("pin", f"{part!r}: write site-id:day, days from 1",
                             f"{part!r}：格式为 景点编号:第几天（从 1 起）")
        pins[site] = int(day) - 1
    return pins


def _clock(text: str | None) -> dt.time | None:
    if not text:
        return None
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise InputError("arrive_at", f"{text!r} is not a time HH:MM", f"{text!r} 不是 HH:MM 时间") from None


# ---------------------------------------------------------------- hongtu bench

@click.group("bench")
def bench_group():
    """Benchmarks that print figures."""


def _route_counts(ctx, param, value: str) -> list[int]:
    try:
        counts = [int(v) for v in value.split(",")]
    except ValueError:
        counts = []
    if not counts or not all(1 <= m <= 20 for m in counts):
        raise click.BadParameter(f"'{value}': give 1 to 20 routes, or several separated by commas (1,2,3,4)\n"
                                 f"路线数须为 1 到 20，多个用逗号分隔（1,2,3,4）")
    return counts


@bench_group.command("toptw")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--routes", "route_counts", required=True, callback=_route_counts,
              help="number of routes m, or several: 1,2,3,4")
@click.option("--time-limit", type=float, default=None,
              help="seconds per solve [default: 1; with --iterations a safety cap, default 120]")
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True,
              help="search chains in parallel processes (this machine has 2 cores)")
@click.option("--seed", type=int, default=0, show_default=True, help="random seed of the search")
@click.option("--iterations", type=click.IntRange(0), default=0, show_default=True,
              help="> 0: a fixed number of search iterations per chain, the same answer on any machine")
@click.option("--json", "as_json", is_flag=True)
def bench_toptw(files, route_counts, time_limit, workers, seed, iterations, as_json):
    """Solve OPTW/TOPTW benchmark instances with the product's optimiser; routes are re-checked.
    Prints each answer, then the mean and max gap to best known per family and m."""
    from planner.toptw import Params

    params = Params(max_iterations=iterations) if iterations else None
    if time_limit is None:
        time_limit = 120.0 if iterations else 1.0
    results = [row for m in route_counts
               for row in run_toptw(files, m, time_limit, seed=seed, workers=workers, params=params)]
    if as_json:
        click.echo(json.dumps(results))
        return
    for r in results:
        gap = f"  gap {100 * r['gap']:.2f}% (best known {r['bks']})" if "gap" in r else "  (no best known)"
        capped = "  [time cap hit]" if iterations and r["capped"] else ""
        click.echo(f"{r['instance']:8} m={r['routes']} score {r['score']:5} {r['seconds']:6.2f} s{gap}{capped}")
        click.echo(f"         routes {r['route_nodes']}")
    budget = f"{iterations} iterations per chain (cap {time_limit:g} s)" if iterations else f"{time_limit:g} s"
    click.echo(f"seed {seed}, {workers} chain(s), {budget}")
    if any("gap" in r for r in results):
        click.echo(gap_table(results))


@bench_group.command("plans")
@click.option("--json", "as_json", is_flag=True)
@click.option("--reference-limit", type=float, default=30.0, show_default=True,
              help="seconds for the reference solve each latency is compared with")
@db_option
def bench_plans(as_json, reference_limit, db_path):
    """Fixed realistic requests: latency, and score against the same request solved with a long limit."""
    from planner.bench_plans import format_report, run_plan_benchmark

    report = run_plan_benchmark(open_db(db_path), reference_limit)
    click.echo(json.dumps(report, ensure_ascii=False, indent=1) if as_json else format_report(report))


@bench_group.command("realism")
@click.option("--iterations", type=int, default=None, help="optimiser iterations per chain (default: by days)")
@click.option("--json", "as_json", is_flag=True)
@db_option
def bench_realism(iterations, as_json, db_path):
    """Plan bench/realism_requests.yaml and measure how followable the plans are (lunch, daylight, driving…)."""
    from planner.realism import format_report, run_realism

    report = run_realism(open_db(db_path), iterations=iterations)
    click.echo(json.dumps(report, ensure_ascii=False, indent=1) if as_json else format_report(report))


@bench_group.command("travel")
@db_option
def bench_travel(db_path):
    """The travel-time estimate against published road distances (data/road_distances.csv)."""
    from planner.bench_travel import compare, format_comparison

    click.echo(format_comparison(compare(open_db(db_path))))
