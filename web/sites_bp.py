"""Browse the sites: filters, full-text search, a map of the results, and a page per site."""

from __future__ import annotations

import math
import re

from flask import Blueprint, abort, render_template, request

from planner import db as sitedb
from planner.errors import InputError
from planner.hours import DAYS
from planner.sitedata import CATEGORIES, DESIGNATIONS, THEMES
from web import exports, public
from web.i18n import current_lang
from web.storage import get_db

sites_bp = Blueprint("sites", __name__)

PER_PAGE = 30
SITE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def counties(db) -> dict[int, dict]:
    return {c["adcode"]: c for c in db["counties"].rows_where(order_by="adcode")}


def _arg(args, name: str, limit: int = 100) -> str | None:
    values = args.getlist(name)
    if len(values) > 1:
        raise InputError(name, "give this only once", "此项只能填写一次")
    value = (values[0] if values else "").strip()
    if len(value) > limit:
        raise InputError(name, f"at most {limit} characters", f"最多 {limit} 个字符")
    if any(ord(c) < 32 for c in value):
        raise InputError(name, "contains control characters", "含有控制字符")
    return value or None


def _positive_int(value: str | None, field: str, default: int, hi: int) -> int:
    if value is None:
        return default
    if not re.fullmatch(r"\d{1,6}", value) or not 1 <= int(value) <= hi:
        raise InputError(field, f"must be a whole number from 1 to {hi}", f"须为 1 到 {hi} 的整数")
    return int(value)


def read_filters(db, args) -> dict:
    """The validated filters of a site query (shared by the sites page and the API)."""
    filters: dict = {}
    county = _arg(args, "county")
    if county is not None:
        if not re.fullmatch(r"\d{6}", county) or int(county) not in counties(db):
            raise InputError("county", "must be the adcode of one of the zone's 24 counties",
                             "须为示范区内某县市区的行政区划代码")
        filters["county"] = int(county)
    for name, allowed in (("category", CATEGORIES), ("theme", THEMES), ("designation", DESIGNATIONS)):
        value = _arg(args, name)
        if value is not None:
            if value not in allowed:
                listed = ", ".join(allowed)
                raise InputError(name, f"unknown value; one of: {listed}", f"未知取值；可选：{listed}")
            filters[name] = value
    query = _arg(args, "q")
    if query is not None:
        filters["q"] = query
    return filters


def find_sites(db, filters: dict) -> list[dict]:
    """Visible sites matching the filters; with `q`, best matches first."""
    listed = sitedb.list_sites(db, **{k: v for k, v in filters.items() if k != "q"})
    if "q" not in filters:
        return listed
    keep = {s["id"] for s in listed}
    return [s for s in sitedb.search_sites(db, filters["q"], limit=500) if s["id"] in keep]


@sites_bp.get("/sites")
def index():
    db = get_db()
    filters = read_filters(db, request.args)
    page = _positive_int(_arg(request.args, "page"), "page", 1, 100000)
    found = find_sites(db, filters)
    pages = max(1, math.ceil(len(found) / PER_PAGE))
    if page > pages:
        raise InputError("page", f"there are only {pages} page(s)", f"只有 {pages} 页")
    shown = found[(page - 1) * PER_PAGE: page * PER_PAGE]
    map_data = {"sites": [_map_site(s) for s in found]}
    query_base = {k: v for k, v in request.args.items() if k in ("county", "category", "theme", "designation", "q")}
    return render_template("sites.html", sites=shown, total=len(found), page=page, pages=pages, filters=filters,
                           counties=counties(db), categories=CATEGORIES, themes=list(THEMES),
                           designations=list(DESIGNATIONS), map_data=map_data, query_base=query_base)


def hours_rows(hours: dict) -> list[tuple[str, str]]:
    names = public.WEEKDAY_WORDS[current_lang()]
    return [(names[i], ", ".join(f"{a}–{b}" for a, b in hours.get(day, [])) or "") for i, day in enumerate(DAYS)]


def _area_of(db, site: dict) -> dict | None:
    if not site.get("area"):
        return None
    try:
        return sitedb.get_area(db, site["area"])
    except Exception:  # noqa: BLE001 - a database from before scenic areas
        return None


@sites_bp.get("/sites/<site_id>")
def page(site_id: str):
    if not SITE_ID.match(site_id) or len(site_id) > 80:
        abort(404)
    db = get_db()
    site = sitedb.get_site(db, site_id, include_hidden=False)
    if site is None:
        abort(404)
    county = counties(db).get(site["county_adcode"])
    lang = current_lang()
    seasons = [{"from": s["from"], "to": s["to"], "hours": public.hours_words(s["hours"], lang)}
               for s in site["seasons"]]
    approximate = exports.is_approximate(site)
    map_data = {"sites": [{**_map_site(site), "approximate": approximate,
                           "precision_m": site["coord_precision_m"]}]}
    amap, osm = exports.nav_links(site)
    return render_template("site.html", site=site, county=county, hours_text=public.hours_words(site["hours"], lang),
                           hours_rows=hours_rows(site["hours"]), seasons=seasons, map_data=map_data,
                           amap=amap, osm=osm, approximate=approximate, area=_area_of(db, site),
                           sources=public.public_sources(site["sources"]),
                           unverified=public.unverified_words(site["unverified"], lang))


def _map_site(site: dict) -> dict:
    return {"id": site["id"], "name_zh": site["name_zh"], "name_en": site["name_en"], "lat": site["lat"],
            "lon": site["lon"], "category": site["category"], "approximate": exports.is_approximate(site)}
