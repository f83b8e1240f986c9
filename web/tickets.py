"""The trip's tickets: one line per ticketed scenic area (shown once, however many of its sites are visited)
and per priced site outside one, a total, and the sites whose price is not known.

The planner writes `itinerary["tickets"]` and each stop's `area` / `ticket_in_area`; plans stored before it
did are worked out here from the database, so old shared links show the same summary.
"""

from __future__ import annotations

import sqlite_utils

from planner import db as sitedb


def _area(db: sqlite_utils.Database, area_id: str | None, cache: dict) -> dict | None:
    if not area_id:
        return None
    if area_id not in cache:
        try:
            cache[area_id] = sitedb.get_area(db, area_id)
        except Exception:  # noqa: BLE001 - a database without the areas table: no area, per-site prices
            cache[area_id] = None
    return cache[area_id]


def _stop_area(stop: dict, db: sqlite_utils.Database, cache: dict) -> dict | None:
    """The stop's scenic area as {id, name_zh, name_en, ticket_cny, transport_zh, transport_en}, or None."""
    given = stop.get("area")
    area_id = given.get("id") if isinstance(given, dict) else None
    if area_id is None and "area" not in stop:  # a plan stored before areas: look the site up
        site = sitedb.get_site(db, stop.get("site_id", ""))
        area_id = site.get("area") if site else None
    area = _area(db, area_id, cache)
    if area is None:
        return given if isinstance(given, dict) else None
    return {k: area.get(k) for k in ("id", "name_zh", "name_en", "ticket_cny", "transport_zh", "transport_en")}


def annotate(itinerary: dict, db: sqlite_utils.Database) -> dict:
    """A copy of the itinerary in which every stop has `area` and `ticket_in_area`, and which has `tickets`."""
    cache: dict = {}
    days = []
    for day in itinerary.get("days", []):
        stops = []
        for stop in day.get("stops", []):
            area = _stop_area(stop, db, cache)
            in_area = stop.get("ticket_in_area")
            if in_area is None:
                in_area = bool(area and area.get("ticket_cny") is not None)
            stops.append({**stop, "area": area, "ticket_in_area": bool(in_area)})
        days.append({**day, "stops": stops})
    out = {**itinerary, "days": days}
    if not isinstance(out.get("tickets"), dict):
        out["tickets"] = _tickets_from_stops(days)
    out["areas"] = [a for a in cache.values() if a] or _areas_of(days)
    return out


def _areas_of(days: list[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for day in days:
        for stop in day["stops"]:
            if isinstance(stop.get("area"), dict) and stop["area"].get("id"):
                seen.setdefault(stop["area"]["id"], stop["area"])
    return list(seen.values())


def _tickets_from_stops(days: list[dict]) -> dict:
    lines: list[dict] = []
    unknown: list[dict] = []
    seen: set[str] = set()
    for day in days:
        for stop in day["stops"]:
            area = stop.get("area")
            if stop["ticket_in_area"] and area:
                key, line = "area:" + area["id"], {"kind": "area", "id": area["id"], "name_zh": area.get("name_zh"),
                                                   "name_en": area.get("name_en"), "cny": area.get("ticket_cny")}
            else:
                key, line = "site:" + stop["site_id"], {"kind": "site", "id": stop["site_id"],
                                                        "name_zh": stop["name_zh"], "name_en": stop["name_en"],
                                                        "cny": stop.get("ticket_cny")}
            if key in seen:
                continue
            seen.add(key)
            if line["cny"] is None:
                unknown.append({k: line[k] for k in ("id", "name_zh", "name_en")})
            elif line["cny"] > 0:
                lines.append(line)
    return {"total_cny": sum(line["cny"] for line in lines), "lines": lines, "unknown": unknown}
