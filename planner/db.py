"""The site database: schema and migrations, the reproducible build, and every read and write.

Every write goes through `validate_site`, runs in one IMMEDIATE transaction and leaves a row in `audit`
(who, when, what, before and after). WAL mode lets readers (the web app, the bot) go on while a curator writes.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
import yaml

from planner.errors import InputError
from planner.geo import to_wgs84
from planner.search_text import fts_query, names_key
from planner.sitedata import (
    DERIVED_FIELDS,
    FIELDS,
    LIST_FIELDS,
    from_source_record,
    importance,
    load_counties,
    load_yaml,
    validate_area,
    validate_itinerary,
    validate_site,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = REPO_ROOT / "sites.db"
DATA_DIR = REPO_ROOT / "data"
JSON_FIELDS = (*LIST_FIELDS, "hours")


# ---------------------------------------------------------------- connection and schema

def connect(path: str | Path = DEFAULT_DB, *, migrate_schema: bool = True) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        db.execute("PRAGMA journal_mode = WAL")
    if migrate_schema:
        migrate(db)
    return db


@contextmanager
def transaction(db: sqlite_utils.Database):
    """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of racing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# Site fields that later migrations add: v1 must create exactly the v1 table, whatever FIELDS holds now.
_ADDED_AFTER_V1 = ("area",)


def _schema_v1(db: sqlite_utils.Database) -> None:
    db["counties"].create(
        {"adcode": int, "name_zh": str, "name_en": str, "province_zh": str, "prefecture_zh": str,
         "lat": float, "lon": float, "coord_source": str},
        pk="adcode",
    )
    site_columns = {name: str for name in FIELDS if name not in _ADDED_AFTER_V1}
    site_columns.update(
        county_adcode=int, lat=float, lon=float, coord_precision_m=int, visit_minutes=int, ticket_cny=float,
        importance=int, hidden=int, search_text=str, updated_at=str, updated_by=str,
    )
    db["sites"].create(site_columns, pk="id", foreign_keys=[("county_adcode", "counties", "adcode")])
    db["sites"].create_index(["county_adcode"])
    db["places"].create(
        {"id": str, "kind": str, "name_zh": str, "name_en": str, "aliases": str, "county_adcode": int,
         "lat": float, "lon": float, "coord_precision_m": int, "coord_source": str, "sources": str,
         "search_text": str},
        pk="id",
    )
    db["audit"].create(
        {"id": int, "at": str, "author": str, "action": str, "site_id": str, "before": str, "after": str},
        pk="id",
    )
    db["audit"].create_index(["site_id"])
    db["sites"].enable_fts(["search_text", "summary_zh", "summary_en"], fts_version="FTS5",
                           create_triggers=True, tokenize="unicode61")
    db["places"].enable_fts(["search_text"], fts_version="FTS5", create_triggers=True, tokenize="unicode61")


def _schema_v2(db: sqlite_utils.Database) -> None:
    """v2: a per-site version number, so a second curator saving a stale form is refused, not lost."""
    db["sites"].add_column("version", int, not_null_default=1)


def _create_areas_table(db: sqlite_utils.Database) -> None:
    db["areas"].create(
        {"id": str, "name_zh": str, "name_en": str, "ticket_cny": float, "ticket_note": str, "transport_zh": str,
         "transport_en": str, "shuttle_sites": str, "sources": str, "unverified": str},
        pk="id",
    )


def _schema_v3(db: sqlite_utils.Database) -> None:
    """v3: ticketed scenic areas (one ticket for several sites), each site's `area`, and `guide_mentions`.

    A deployed database also gets the areas, the sites' area and the guide mentions from data/ (with
    importance recomputed from them); every other field, curators' edits included, is left as it is.
    """
    _create_areas_table(db)
    db["sites"].add_column("area", str)
    db["sites"].add_column("guide_mentions", int, not_null_default=0)
    db["sites"].create_index(["area"])
    if db["sites"].count and (DATA_DIR / "areas.yaml").exists():
        _fill_v3_from_data(db, DATA_DIR)


def _fill_v3_from_data(db: sqlite_utils.Database, data_dir: Path) -> None:
    areas = load_areas(data_dir)
    db["areas"].insert_all(_area_row(a) for a in areas)
    source_sites = {r["id"]: r for path in sorted((data_dir / "sites").glob("*.yaml")) for r in load_yaml(path)}
    mentions = guide_mentions(data_dir)
    for row in list(db["sites"].rows):
        area = (source_sites.get(row["id"]) or {}).get("area")
        count = mentions.get(row["id"], 0)
        score, basis = importance(json.loads(row["designations"] or "[]"), count)
        db["sites"].update(row["id"], {"area": area, "guide_mentions": count, "importance": score,
                                       "importance_basis": basis})


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_schema_v1, _schema_v2, _schema_v3]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Apply the missing migration steps in order; existing rows (curators' edits) are kept."""
    start = schema_version(db)
    if start > SCHEMA_VERSION:
        raise RuntimeError(f"database schema v{start} is newer than this code (v{SCHEMA_VERSION})")
    for version in range(start, target):
        with transaction(db):
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
    return start, max(start, target)


# ---------------------------------------------------------------- row <-> record

def _to_row(site: dict) -> dict:
    row = {k: (json.dumps(site[k], ensure_ascii=False, sort_keys=True) if k in JSON_FIELDS else site[k])
           for k in FIELDS}
    row["hidden"] = int(site["hidden"])
    for field in DERIVED_FIELDS:
        row[field] = site.get(field) or 0
    row["search_text"] = names_key([site["name_zh"], site["name_en"], *site["aliases"]])
    return row


def _to_record(row: dict) -> dict:
    site = {k: (json.loads(row[k]) if k in JSON_FIELDS and row[k] is not None else row[k]) for k in FIELDS}
    site["hidden"] = bool(row["hidden"])
    site["guide_mentions"] = row.get("guide_mentions") or 0
    site["version"] = row.get("version", 1)
    return site


def county_codes(db: sqlite_utils.Database) -> set[int]:
    return {r[0] for r in db.execute("select adcode from counties")}


def area_ids(db: sqlite_utils.Database) -> set[str]:
    return {r[0] for r in db.execute("select id from areas")}


# ---------------------------------------------------------------- areas and itineraries (data files)

def load_areas(data_dir: Path = DATA_DIR) -> list[dict]:
    """The ticketed scenic areas of data/areas.yaml, validated (InputError names the area and field)."""
    return _load_records(data_dir / "areas.yaml", "areas", validate_area)


def load_itineraries(data_dir: Path = DATA_DIR) -> list[dict]:
    """The published itineraries of data/itineraries.yaml, validated: [{id, title, url, kind, origin, base,
    days: [{sites: [site id], other: [text], note}]}]. Empty when the file is absent."""
    return _load_records(data_dir / "itineraries.yaml", "itineraries", validate_itinerary)


def _load_records(path: Path, field: str, validate) -> list[dict]:
    """The records of a YAML list file, each validated, with unique ids; [] when the file is absent."""
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or []) if path.exists() else []
    records = []
    for i, record in enumerate(raw, 1):
        try:
            records.append(validate(record))
        except InputError as e:
            label = record.get("id", f"#{i}") if isinstance(record, dict) else f"#{i}"
            raise InputError(field, f"{path.name}: {label}: {e}", f"{path.name}：{label}：{e.zh}") from None
    ids = [r["id"] for r in records]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(field, f"{path.name}: duplicate id {duplicates[0]}", f"{path.name}：重复编号 {duplicates[0]}")
    return records


def guide_mentions(data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Site id -> how many published itineraries (data/itineraries.yaml) visit it, on any day."""
    counts: dict[str, int] = {}
    for itinerary in load_itineraries(data_dir):
        visited = {site for day in itinerary["days"] for site in day["sites"]}
        for site in visited:
            counts[site] = counts.get(site, 0) + 1
    return counts


def _area_row(area: dict) -> dict:
    return {**area, **{k: json.dumps(area[k], ensure_ascii=False) for k in ("shuttle_sites", "sources", "unverified")}}


def _area_record(db: sqlite_utils.Database, row: dict) -> dict:
    area = {**row, **{k: json.loads(row[k] or "[]") for k in ("shuttle_sites", "sources", "unverified")}}
    area["sites"] = [r[0] for r in db.execute("select id from sites where area = ? and hidden = 0 order by id",
                                              [row["id"]])]
    return area


def list_areas(db: sqlite_utils.Database) -> list[dict]:
    """Every ticketed scenic area, with `sites`: the ids of its visible member sites."""
    return [_area_record(db, r) for r in db["areas"].rows_where(order_by="id")]


def get_area(db: sqlite_utils.Database, area_id: str) -> dict | None:
    rows = list(db["areas"].rows_where("id = ?", [area_id]))
    return _area_record(db, rows[0]) if rows else None


# ---------------------------------------------------------------- build

def build(out_path: Path = DEFAULT_DB, data_dir: Path = DATA_DIR) -> dict:
    """Build the database from the text files in `data_dir`. The same files always give the same rows."""
    out_path = Path(out_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    db = connect(out_path)
    counties = load_counties(data_dir / "counties.csv")
    try:
        areas = load_areas(data_dir)
        mentions = guide_mentions(data_dir)
    except InputError:
        db.conn.close()
        out_path.unlink(missing_ok=True)
        raise
    sites, problems = [], []
    for path in sorted((data_dir / "sites").glob("*.yaml")):
        for i, record in enumerate(load_yaml(path), 1):
            try:
                flat = from_source_record(record)
                flat["guide_mentions"] = mentions.get(flat.get("id"), 0)
                sites.append(validate_site(flat, set(counties), {a["id"] for a in areas}))
            except InputError as e:
                label = record.get("id", f"#{i}") if isinstance(record, dict) else f"#{i}"
                problems.append(f"{path.name}: {label}: {e}")
    ids = [s["id"] for s in sites]
    problems += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    problems += _reference_problems(areas, mentions, set(ids))
    if problems:
        db.conn.close()
        out_path.unlink(missing_ok=True)
        raise InputError("data", "; ".join(problems), "；".join(problems))
    with transaction(db):
        db["counties"].insert_all(_county_rows(counties))
        db["areas"].insert_all(_area_row(a) for a in areas)
        db["places"].insert_all(_place_rows(data_dir, counties))
        db["sites"].insert_all(_to_row(s) for s in sorted(sites, key=lambda s: s["id"]))
    # VACUUM for a compact, byte-stable file; it stays in WAL mode, so that merely opening it changes nothing.
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("VACUUM")
    db.execute("PRAGMA journal_mode = WAL")
    db.conn.close()
    return {"sites": len(sites), "counties": len(counties)}


def _reference_problems(areas: list[dict], mentions: dict[str, int], site_ids: set[str]) -> list[str]:
    """Site ids named by areas.yaml (shuttle_sites) and itineraries.yaml must exist."""
    problems = [f"areas.yaml: {a['id']}: shuttle_sites: no site {s}" for a in areas for s in a["shuttle_sites"]
                if s not in site_ids]
    problems += [f"itineraries.yaml: no site {s}" for s in sorted(mentions) if s not in site_ids]
    return problems


def _county_rows(counties: dict[int, dict]) -> Iterable[dict]:
    for adcode, row in sorted(counties.items()):
        lat, lon = to_wgs84(float(row["lat"]), float(row["lon"]), "gcj02")
        yield {"adcode": adcode, "name_zh": row["county_zh"], "name_en": row["county_en"],
               "province_zh": row["province"], "prefecture_zh": row["prefecture"],
               "lat": round(lat, 6), "lon": round(lon, 6), "coord_source": f"{row['source']}; converted to WGS-84"}


def _short_county_name(name_zh: str) -> str:
    return name_zh[:-1] if len(name_zh) > 2 and name_zh[-1] in "市县区" else name_zh


# Urban districts that seat a prefecture-level city's government: travellers say "萍乡", not "安源区".
CITY_SEATS = {360302: ["萍乡", "萍乡市", "Pingxiang"], 360902: ["宜春", "宜春市", "Yichun"]}


def _place_rows(data_dir: Path, counties: dict[int, dict]) -> list[dict]:
    """Stations, airports and towns from places.yaml, plus each county seat as a town."""
    rows = []
    for county in _county_rows(counties):
        adcode = county["adcode"]
        short = _short_county_name(county["name_zh"])
        name_en = county["name_en"].replace(" County", "").replace(" City", "").replace(" District", "")
        aliases = [short, name_en, *CITY_SEATS.get(adcode, [])]
        rows.append({"id": f"county-{adcode}", "kind": "town", "name_zh": county["name_zh"],
                     "name_en": county["name_en"], "aliases": json.dumps(aliases, ensure_ascii=False),
                     "county_adcode": adcode, "lat": county["lat"], "lon": county["lon"],
                     "coord_precision_m": 3000, "coord_source": county["coord_source"],
                     "sources": json.dumps([{"url": "data/counties.csv"}]),
                     "search_text": names_key([county["name_zh"], county["name_en"], *aliases])})
    path = data_dir / "places.yaml"
    for place in (yaml.safe_load(path.read_text(encoding="utf-8")) or []) if path.exists() else []:
        coords = place["coords"]
        lat, lon = to_wgs84(float(coords["lat"]), float(coords["lon"]), coords["system"])
        aliases = place.get("aliases") or []
        rows.append({"id": place["id"], "kind": place["kind"], "name_zh": place["name_zh"],
                     "name_en": place["name_en"], "aliases": json.dumps(aliases, ensure_ascii=False),
                     "county_adcode": place.get("county_adcode"), "lat": round(lat, 6), "lon": round(lon, 6),
                     "coord_precision_m": int(coords.get("precision_m") or 1000),
                     "coord_source": f"{coords.get('source', '')} [{coords['system']}]",
                     "sources": json.dumps(place.get("sources") or [], ensure_ascii=False),
                     "search_text": names_key([place["name_zh"], place["name_en"], *aliases])})
    return sorted(rows, key=lambda r: r["id"])


BUILT_TABLES = ("counties", "places", "sites", "areas")


def dump(db: sqlite_utils.Database, tables: Iterable[str] | None = None) -> list[str]:
    """The database (or some of its tables) as SQL text, for comparing two databases row by row."""
    lines = list(db.conn.iterdump())
    if tables is None:
        return lines
    wanted = tuple(f'INSERT INTO "{t}"' for t in tables) + tuple(f'CREATE TABLE "{t}"' for t in tables) + \
        tuple(f"CREATE TABLE [{t}]" for t in tables)
    return [line for line in lines if line.startswith(wanted)]


# ---------------------------------------------------------------- reads

def get_site(db: sqlite_utils.Database, site_id: str, *, include_hidden: bool = True) -> dict | None:
    rows = list(db["sites"].rows_where("id = ?", [site_id]))
    if not rows or (rows[0]["hidden"] and not include_hidden):
        return None
    return _to_record(rows[0])


def list_sites(db: sqlite_utils.Database, *, include_hidden: bool = False, county: int | None = None,
               category: str | None = None, theme: str | None = None,
               designation: str | None = None) -> list[dict]:
    where, params = ["1 = 1"], []
    if not include_hidden:
        where.append("hidden = 0")
    if county is not None:
        where.append("county_adcode = ?")
        params.append(county)
    if category:
        where.append("(category = ? or category = 'both')" if category != "both" else "category = ?")
        params.append(category)
    rows = db["sites"].rows_where(" and ".join(where), params, order_by="id")
    sites = [_to_record(r) for r in rows]
    if theme:
        sites = [s for s in sites if theme in s["themes"]]
    if designation:
        sites = [s for s in sites if designation in s["designations"]]
    return sites


def search_sites(db: sqlite_utils.Database, text: str, *, include_hidden: bool = False,
                 limit: int = 20) -> list[dict]:
    """Full-text search over names (Chinese, English, pinyin), aliases and summaries, best first."""
    query = fts_query(text)
    if not query:
        return []
    hidden = "" if include_hidden else "and sites.hidden = 0"
    sql = f"""select sites.* from sites join sites_fts on sites.rowid = sites_fts.rowid
              where sites_fts match ? {hidden} order by bm25(sites_fts, 10.0, 1.0, 1.0) limit ?"""
    return [_to_record(dict(zip([c[0] for c in cur.description], row, strict=True)))
            for cur in [db.execute(sql, [query, limit])] for row in cur.fetchall()]


def search_places(db: sqlite_utils.Database, text: str, limit: int = 10) -> list[dict]:
    query = fts_query(text)
    if not query:
        return []
    sql = """select places.* from places join places_fts on places.rowid = places_fts.rowid
             where places_fts match ? order by bm25(places_fts) limit ?"""
    cur = db.execute(sql, [query, limit])
    columns = [c[0] for c in cur.description]
    return [_place_record(dict(zip(columns, row, strict=True))) for row in cur.fetchall()]


def _place_record(row: dict) -> dict:
    return {**row, "aliases": json.loads(row["aliases"] or "[]"), "sources": json.loads(row["sources"] or "[]")}


def list_places(db: sqlite_utils.Database) -> list[dict]:
    return [_place_record(r) for r in db["places"].rows_where(order_by="id")]


def audit_log(db: sqlite_utils.Database, site_id: str | None = None) -> list[dict]:
    where, params = ("site_id = ?", [site_id]) if site_id else (None, [])
    rows = db["audit"].rows_where(where, params, order_by="id")
    return [{**r, "before": json.loads(r["before"] or "null"), "after": json.loads(r["after"] or "null")}
            for r in rows]


def export_sites(db: sqlite_utils.Database, *, include_hidden: bool = True) -> list[dict]:
    """The export contract: FIELDS only (no version, no build-derived counts)."""
    return [{k: v for k, v in s.items() if k in FIELDS} for s in list_sites(db, include_hidden=include_hidden)]


# ---------------------------------------------------------------- writes

def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _check_author(author: str) -> str:
    author = (author or "").strip()
    if not author or len(author) > 80:
        raise InputError("author", "say who is writing (1-80 characters)", "请注明作者（1-80 字）")
    return author


def _audit(db, author: str, action: str, site_id: str, before: dict | None, after: dict | None) -> None:
    db["audit"].insert({"at": _now(), "author": author, "action": action, "site_id": site_id,
                        "before": json.dumps(before, ensure_ascii=False) if before else None,
                        "after": json.dumps(after, ensure_ascii=False) if after else None})


def _write(db, site: dict, author: str, action: str, before: dict | None) -> dict:
    row = _to_row(site) | {"updated_at": _now(), "updated_by": author,
                           "version": (before["version"] + 1) if before else 1}
    db["sites"].upsert(row, pk="id")
    after = get_site(db, site["id"])
    _audit(db, author, action, site["id"], before, after)
    return after


def add_site(db: sqlite_utils.Database, raw: dict, author: str) -> dict:
    author = _check_author(author)
    site = validate_site(raw, county_codes(db), area_ids(db))
    with transaction(db):
        if get_site(db, site["id"]):
            raise InputError("id", f"a site with id {site['id']} already exists", f"编号 {site['id']} 已存在")
        return _write(db, site, author, "add", None)


def update_site(db: sqlite_utils.Database, site_id: str, changes: dict, author: str,
                expected_version: int | None = None) -> dict:
    """Change some fields of a site. With `expected_version`, refuse if someone saved in between."""
    author = _check_author(author)
    with transaction(db):
        before = get_site(db, site_id)
        if before is None:
            raise InputError("id", f"no site with id {site_id}", f"没有编号为 {site_id} 的景点")
        if expected_version is not None and before["version"] != expected_version:
            raise InputError("version", "someone else saved this site after you opened it; reload and redo "
                             "your change", "你打开后已有他人保存了此景点；请重新载入后再修改")
        if "id" in changes and changes["id"] != site_id:
            raise InputError("id", "a site's id never changes", "景点编号不可更改")
        derived = ("importance", "importance_basis", *DERIVED_FIELDS)
        merged = {k: v for k, v in before.items() if k not in ("importance", "importance_basis", "version")}
        merged.update({k: v for k, v in changes.items() if k not in derived})
        site = validate_site(merged, county_codes(db), area_ids(db))
        if {k: v for k, v in site.items()} == {k: before[k] for k in site}:
            return before
        return _write(db, site, author, "edit", before)


def set_hidden(db: sqlite_utils.Database, site_id: str, hidden: bool, author: str) -> dict:
    return update_site(db, site_id, {"hidden": hidden}, author)


def import_sites(db: sqlite_utils.Database, rows: list[tuple[int, dict]], author: str) -> dict:
    """Validate every row first; write all of them in one transaction, or nothing.

    `rows` are (line number, flat record). An existing id is updated; a new one is added.
    """
    author = _check_author(author)
    counties, areas = county_codes(db), area_ids(db)
    problems, clean = [], []
    seen: dict[str, int] = {}
    for line, raw in rows:
        try:
            # Guide mentions come from the build, never from an import file: keep the stored count.
            if isinstance(raw, dict):
                stored = db.execute("select guide_mentions from sites where id = ?", [str(raw.get("id"))]).fetchone()
                raw = {k: v for k, v in raw.items() if k not in DERIVED_FIELDS} | {
                    "guide_mentions": stored[0] if stored else 0}
            site = validate_site(raw, counties, areas)
        except InputError as e:
            problems.append(InputError(e.field, e.en, e.zh, row=line))
            continue
        if site["id"] in seen:
            problems.append(InputError("id", f"{site['id']} also appears on line {seen[site['id']]}",
                                       f"{site['id']} 与第 {seen[site['id']]} 行重复", row=line))
        seen[site["id"]] = line
        clean.append(site)
    if problems:
        return {"added": 0, "updated": 0, "unchanged": 0, "errors": problems}
    counts = {"added": 0, "updated": 0, "unchanged": 0, "errors": []}
    with transaction(db):
        for site in clean:
            before = get_site(db, site["id"])
            if before is None:
                _write(db, site, author, "import-add", None)
                counts["added"] += 1
            elif site == {k: before[k] for k in site}:
                counts["unchanged"] += 1
            else:
                _write(db, site, author, "import-update", before)
                counts["updated"] += 1
    return counts
