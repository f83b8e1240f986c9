"""The JSON API, described by the OpenAPI document at /api/openapi.json.

Bad input gets 400 {"error": {"field", "en", "zh"}}; unknown ids 404 in the same shape.
"""

from __future__ import annotations

import math

from flask import Blueprint, jsonify, request, url_for

from planner import db as sitedb
from planner.errors import InputError
from planner.places import suggest
from web import openapi, planning
from web.errors import api_error
from web.public import public_site
from web.sites_bp import SITE_ID, _arg, _positive_int, find_sites, read_filters
from web.storage import get_db

api_bp = Blueprint("api", __name__, url_prefix="/api")

MAX_PER_PAGE = 200


@api_bp.get("/sites")
def sites():
    db = get_db()
    filters = read_filters(db, request.args)
    page = _positive_int(_arg(request.args, "page"), "page", 1, 100000)
    per_page = _positive_int(_arg(request.args, "per_page"), "per_page", 50, MAX_PER_PAGE)
    unknown = sorted(set(request.args) - {"county", "category", "theme", "designation", "q", "page", "per_page",
                                          "lang"})
    if unknown:
        raise InputError(unknown[0][:40], "is not a parameter of this endpoint", "不是此接口的参数")
    found = find_sites(db, filters)
    pages = max(1, math.ceil(len(found) / per_page))
    return jsonify({"total": len(found), "page": page, "per_page": per_page, "pages": pages,
                    "sites": [public_site(s) for s in found[(page - 1) * per_page: page * per_page]]})


@api_bp.get("/sites/<site_id>")
def site(site_id: str):
    found = sitedb.get_site(get_db(), site_id, include_hidden=False) if SITE_ID.match(site_id) else None
    if found is None:
        return api_error("id", f"no site with id {site_id[:80]!r}", f"没有编号为 {site_id[:80]!r} 的景点", 404)
    return jsonify(public_site(found))


def _place_entry(row: dict, kind: str | None = None) -> dict:
    return {"id": row["id"], "kind": kind or row["kind"], "name_zh": row["name_zh"], "name_en": row["name_en"],
            "lat": row["lat"], "lon": row["lon"]}


@api_bp.get("/places")
def places():
    """Type-ahead for the origin: places (stations, airports, towns) first, then sites; fuzzy if nothing."""
    unknown = sorted(set(request.args) - {"q", "limit", "lang"})
    if unknown:
        raise InputError(unknown[0][:40], "is not a parameter of this endpoint", "不是此接口的参数")
    text = _arg(request.args, "q")
    if text is None:
        raise InputError("q", "type a few letters of a place", "请输入地名的几个字")
    limit = _positive_int(_arg(request.args, "limit"), "limit", 8, 20)
    db = get_db()
    found = [_place_entry(p) for p in sitedb.search_places(db, text, limit=limit)]
    found += [_place_entry(s, "site") for s in sitedb.search_sites(db, text, limit=limit)]
    fuzzy = False
    if not found:
        fuzzy = True
        lang = "zh" if request.args.get("lang") == "zh" else "en"
        names = suggest(db, text, lang, limit=limit)
        by_name = {}
        for p in sitedb.list_places(db):
            by_name.setdefault(p["name_zh" if lang == "zh" else "name_en"], _place_entry(p))
        for s in sitedb.list_sites(db):
            by_name.setdefault(s["name_zh" if lang == "zh" else "name_en"], _place_entry(s, "site"))
        found = [by_name[n] for n in names if n in by_name]
    return jsonify({"query": text, "fuzzy": fuzzy, "places": found[:limit]})


@api_bp.post("/plan")
def plan():
    if not request.is_json:
        raise InputError("body", "send Content-Type: application/json", "请以 application/json 发送")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if body is None:
        raise InputError("body", "the body is not valid JSON", "请求体不是有效的 JSON")
    trip = planning.request_from_json(body)
    share = body.get("share", False)
    if not isinstance(share, bool):
        raise InputError("share", "must be true or false", "须为 true 或 false")
    itinerary = planning.solve(trip)
    if share:
        plan_id = planning.store_plan(get_db(), itinerary)
        itinerary = {**itinerary, "share_url": url_for("planner.shared", plan_id=plan_id, _external=True)}
    return jsonify(itinerary)


@api_bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(request.host_url.rstrip("/")))
