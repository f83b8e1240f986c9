"""The planner page, itineraries at permanent links, and their downloads (.ics, .gpx, print)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from planner import db as sitedb
from planner.errors import InputError
from planner.sitedata import THEMES
from planner.trip import MAX_DAYS, PACES, PARTY, today_in_china
from web import exports, planning, tickets
from web.i18n import current_lang, error_message, t
from web.storage import get_db

planner_bp = Blueprint("planner", __name__)


def _sites_for_picking(db) -> list[dict]:
    return [{"id": s["id"], "name_zh": s["name_zh"], "name_en": s["name_en"], "lat": s["lat"], "lon": s["lon"],
             "category": s["category"], "county_adcode": s["county_adcode"]}
            for s in sitedb.list_sites(db)]


def _form_values(values) -> dict:
    """What the traveller typed, to fill the form again (only shown, never trusted)."""
    def first(*names):
        for name in names:
            value = values.get(name)
            if value:
                return str(value)[:100]
        return ""

    def many(name):
        out = []
        for value in values.getlist(name):
            out += [v.strip() for v in str(value)[:2000].split(",") if v.strip()]
        return set(out[:50])

    interests = {i.partition(":")[0] for i in many("interests")} or {"red", "eco"}
    return {"from": first("from", "origin"), "to": first("to", "end"), "days": first("days") or "2",
            "date": first("date", "start_date"), "interests": interests, "themes": many("themes"),
            "pace": first("pace") or "normal", "must": many("must"), "avoid": many("avoid"),
            "destination": first("destination"), "party": many("party"), "arrive_at": first("arrive_at")[:5],
            "pin": sorted(many("pin")), "seed": first("seed")[:10], "only_must": first("only_must") in ("1", "on")}


EMPTY_FORM = {"from": "", "to": "", "days": "2", "date": "", "interests": {"red", "eco"}, "themes": set(),
              "pace": "normal", "must": set(), "avoid": set(), "destination": "", "party": set(), "arrive_at": "",
              "pin": [], "seed": "", "only_must": False}


def _pins_shown(pins: list[str], names: dict[str, dict]) -> list[dict]:
    """Pinned stops of a reopened request as (value, site, day number), only for sites that exist."""
    shown = []
    for value in pins:
        site_id, _, day = value.partition(":")
        if site_id in names and day.isdigit():
            shown.append({"value": value, "site": names[site_id], "day": int(day)})
    return shown


def render_planner(form: dict | None = None, error: str | None = None, status: int = 200):
    db = get_db()
    sites = _sites_for_picking(db)
    counties = {c["adcode"]: c for c in db["counties"].rows}
    form = {**EMPTY_FORM, **(form or {})}
    pins = _pins_shown(form["pin"], {s["id"]: s for s in sites})
    return render_template("planner.html", form=form, error=error, sites=sites, counties=counties,
                           themes=list(THEMES), paces=list(PACES), party=list(PARTY), pins=pins,
                           max_days=MAX_DAYS, today=today_in_china().isoformat()), status


@planner_bp.get("/")
def index():
    form = _form_values(request.args)
    known = {s["id"] for s in sitedb.list_sites(get_db())}
    form["must"] = {s for s in form["must"] if s in known}
    form["avoid"] = {s for s in form["avoid"] if s in known}
    return render_planner(form)


def _plan(getlist) -> dict:
    trip = planning.read_request(getlist, default_time_limit=_cfg("PLAN_TIME_LIMIT"),
                                 max_time_limit=_cfg("PLAN_MAX_TIME_LIMIT"))
    return planning.solve(trip)


def _stored(itinerary: dict):
    plan_id = planning.store_plan(get_db(), itinerary)
    return redirect(url_for("planner.shared", plan_id=plan_id), code=303)


def _plan_and_store(values):
    try:
        itinerary = _plan(values.getlist)
    except InputError as e:
        return render_planner(_form_values(values), error_message(e), 400)
    return _stored(itinerary)


def _cfg(key: str):
    from flask import current_app

    return current_app.config[key]


@planner_bp.post("/plan")
def plan_form():
    return _plan_and_store(request.form)


@planner_bp.get("/plan")
def plan_link():
    """The request link: plans again from the query (?from=…&days=…), then shows the stored result."""
    if not request.args or set(request.args) <= {"lang"}:
        return redirect(url_for("planner.index"))
    return _plan_and_store(request.args)


@planner_bp.post("/p/<plan_id>/change")
def change(plan_id: str):
    """Drop, swap or pin a stop, or add a day: plans again keeping the rest, and shows the new plan."""
    plan = _load(plan_id)
    itinerary = plan["itinerary"]
    form = request.form
    try:
        day = form.get("day", "").strip()
        day_index = int(day) - 1 if day.isdigit() and len(day) <= 2 else None
        listed = {s["id"] for s in sitedb.list_sites(get_db())}
        params = planning.changed_params(itinerary, form.get("action", ""), form.get("site") or None, day_index,
                                         listed)
        changed = _plan(planning.getlist_of(params))
    except InputError as e:
        return _render_itinerary(plan, error=error_message(e), status=400)
    return _stored(changed)


def _load(plan_id: str) -> dict:
    plan = planning.load_plan(get_db(), plan_id)
    if plan is None:
        abort(404)
    return plan


def _stop_sites(itinerary: dict) -> dict[str, dict]:
    db = get_db()
    out = {}
    for day in itinerary.get("days", []):
        for stop in day.get("stops", []):
            site = sitedb.get_site(db, stop["site_id"], include_hidden=False)
            if site is not None:
                out[stop["site_id"]] = site
    return out


def _lunch_index(day: dict) -> int | None:
    """Where the lunch break goes in the day's list: after the stops that begin before it."""
    lunch = day.get("lunch")
    if not isinstance(lunch, dict) or not lunch.get("start"):
        return None
    return sum(1 for stop in day.get("stops", []) if stop.get("visit_start", "") < lunch["start"])


def _numbered(itinerary: dict) -> list[dict]:
    """The days with each stop numbered through the whole trip, its navigation links (a name search for an
    approximate point) and where the lunch break goes."""
    days, n = [], 0
    for day in itinerary.get("days", []):
        stops = []
        for stop in day.get("stops", []):
            n += 1
            amap, osm = exports.nav_links(stop)
            stops.append({**stop, "number": n, "amap": amap, "osm": osm,
                          "approximate": exports.is_approximate(stop)})
        days.append({**day, "stops": stops, "lunch_index": _lunch_index(day)})
    return days


def _map_data(itinerary: dict, stop_sites: dict) -> dict:
    days = []
    for day in _numbered(itinerary):
        days.append({
            "date": day["date"],
            "start": {k: day["start"][k] for k in ("name_zh", "name_en", "lat", "lon")},
            "end": {k: day["end"][k] for k in ("name_zh", "name_en", "lat", "lon")},
            "stops": [{"number": s["number"], "site_id": s["site_id"], "name_zh": s["name_zh"],
                       "name_en": s["name_en"], "lat": s["lat"], "lon": s["lon"],
                       "time": s["visit_start"][11:16] + "–" + s["depart"][11:16],
                       "approximate": s["approximate"], "precision_m": s.get("precision_m") or 0,
                       "listed": s["site_id"] in stop_sites} for s in day["stops"]],
        })
    return {"days": days}


def _render_itinerary(plan: dict, error: str | None = None, status: int = 200):
    itinerary = tickets.annotate(plan["itinerary"], get_db())
    stop_sites = _stop_sites(itinerary)
    request_dict = itinerary.get("request") or {}
    return render_template("itinerary.html", plan=plan, itinerary=itinerary, days=_numbered(itinerary),
                           stop_sites=stop_sites, map_data=_map_data(itinerary, stop_sites),
                           error=error,
                           request_query=planning.request_query(request_dict),
                           can_add_day=len(itinerary.get("days", [])) < MAX_DAYS,
                           share_url=url_for("planner.shared", plan_id=plan["id"], _external=True)), status


@planner_bp.get("/p/<plan_id>")
def shared(plan_id: str):
    return _render_itinerary(_load(plan_id))


@planner_bp.get("/p/<plan_id>/print")
def print_view(plan_id: str):
    plan = _load(plan_id)
    itinerary = tickets.annotate(plan["itinerary"], get_db())
    return render_template("print.html", plan=plan, itinerary=itinerary, days=_numbered(itinerary),
                           stop_sites=_stop_sites(itinerary),
                           share_url=url_for("planner.shared", plan_id=plan_id, _external=True))


@planner_bp.get("/p/<plan_id>/calendar.ics")
def calendar(plan_id: str):
    plan = _load(plan_id)
    itinerary = tickets.annotate(plan["itinerary"], get_db())
    body = exports.itinerary_ics(itinerary, plan_id, current_lang(), request.host_url.rstrip("/"))
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="hongtu-{plan_id}.ics"'})


@planner_bp.get("/p/<plan_id>/route.gpx")
def gpx(plan_id: str):
    plan = _load(plan_id)
    body = exports.itinerary_gpx(tickets.annotate(plan["itinerary"], get_db()), current_lang())
    return Response(body, mimetype="application/gpx+xml",
                    headers={"Content-Disposition": f'attachment; filename="hongtu-{plan_id}.gpx"'})


def weekday(date: str) -> str:
    day = dt.date.fromisoformat(date).weekday()
    return f"周{'一二三四五六日'[day]}" if current_lang() == "zh" else ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                                                                   "Sun")[day]


@planner_bp.app_template_global("km")
def approximate_km(point: dict) -> str:
    """How far off an approximate point may be, in whole kilometres (at least 1)."""
    metres = point.get("precision_m") or point.get("coord_precision_m") or exports.APPROXIMATE_M
    return f"{max(1, round(metres / 1000))}"


@planner_bp.app_template_global("party_words")
def party_words(party: list) -> str:
    words = [t(f"party_{p}") for p in party if p in PARTY]
    return ("、" if current_lang() == "zh" else ", ").join(words)


@planner_bp.app_template_filter("clock")
def clock(stamp: str) -> str:
    return (stamp or "")[11:16]


@planner_bp.app_template_filter("weekday")
def weekday_filter(date: str) -> str:
    try:
        return weekday(date)
    except (TypeError, ValueError):
        return ""
