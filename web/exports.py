"""Calendar (.ics), GPX and navigation links for an itinerary."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import gpxpy.gpx
from icalendar import Calendar, Event, vGeo

from planner.geo import wgs84_to_gcj02

CHINA_TZ = ZoneInfo("Asia/Shanghai")


def amap_url(lat: float, lon: float, name: str) -> str:
    """Amap's marker URI. Amap works in GCJ-02, so the stored WGS-84 point is converted first."""
    glat, glon = wgs84_to_gcj02(lat, lon)
    return (f"https://uri.amap.com/marker?position={glon:.6f},{glat:.6f}&name={quote(name, safe='')}"
            "&src=hongtu&coordinate=gaode&callnative=1")


def osm_url(lat: float, lon: float) -> str:
    return f"https://www.openstreetmap.org/?{urlencode({'mlat': f'{lat:.6f}', 'mlon': f'{lon:.6f}'})}" \
           f"#map=16/{lat:.5f}/{lon:.5f}"


def amap_search_url(lat: float, lon: float, name: str) -> str:
    """Amap's search URI for a place whose point is only an estimate: it searches by name around the estimate
    (GCJ-02) instead of pinning a point that may be kilometres off."""
    glat, glon = wgs84_to_gcj02(lat, lon)
    return (f"https://uri.amap.com/search?keyword={quote(name, safe='')}&center={glon:.6f},{glat:.6f}"
            "&src=hongtu&coordinate=gaode&callnative=1")


def osm_search_url(lat: float, lon: float, name: str) -> str:
    return f"https://www.openstreetmap.org/search?{urlencode({'query': name})}#map=12/{lat:.5f}/{lon:.5f}"


APPROXIMATE_M = 1000  # worse than this, a point is "approximate": no exact pin, navigation searches by name


def is_approximate(point: dict) -> bool:
    """A stop's `approximate` flag (from the planner), else its precision (stops and sites alike)."""
    if "approximate" in point:
        return bool(point["approximate"])
    precision = point.get("precision_m", point.get("coord_precision_m"))
    return isinstance(precision, int | float) and precision > APPROXIMATE_M


def nav_links(point: dict) -> tuple[str, str]:
    """(Amap, OpenStreetMap) links for a stop or site: the point when it is precise, a name search if not."""
    lat, lon, name = point["lat"], point["lon"], point["name_zh"]
    if is_approximate(point):
        return amap_search_url(lat, lon, name), osm_search_url(lat, lon, name)
    return amap_url(lat, lon, name), osm_url(lat, lon)


def _local(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp).replace(tzinfo=CHINA_TZ)


def itinerary_ics(itinerary: dict, plan_id: str, lang: str, base_url: str) -> bytes:
    """One event per visit, with the site's location, coordinates and description."""
    zh = lang == "zh"
    cal = Calendar()
    cal.add("prodid", "-//Hongtu//hongtu trip planner//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "红途行程" if zh else "Hongtu trip")
    stamp = dt.datetime.now(dt.UTC)
    for d, day in enumerate(itinerary.get("days", []), 1):
        for i, stop in enumerate(day.get("stops", []), 1):
            name = stop["name_zh"] if zh else stop["name_en"]
            event = Event()
            event.add("uid", f"{plan_id}-{d}-{i}@hongtu")
            event.add("dtstamp", stamp)
            event.add("dtstart", _local(stop["visit_start"]))
            event.add("dtend", _local(stop["depart"]))
            event.add("summary", name)
            other = stop["name_en"] if zh else stop["name_zh"]
            if is_approximate(stop):  # no GEO: a calendar would pin a point that may be kilometres off
                where = "大致位置" if zh else "approximate location"
                event.add("location", f"{name} ({other}), {where}")
            else:
                event.add("location", f"{name} ({other}), {stop['lat']:.6f}, {stop['lon']:.6f} (WGS-84)")
                event["geo"] = vGeo((stop["lat"], stop["lon"]))
            summary = stop.get("summary_zh" if zh else "summary_en") or ""
            leg = (f"车程 {stop['travel_minutes']} 分钟，{stop['distance_km']} 公里" if zh
                   else f"Drive {stop['travel_minutes']} min, {stop['distance_km']} km")
            link = f"{base_url}/sites/{stop['site_id']}"
            event.add("description", "\n".join(p for p in (summary, leg, _ticket_words(stop, zh), link,
                                                            nav_links(stop)[0]) if p))
            event.add("url", link)
            cal.add_component(event)
        lunch = day.get("lunch")
        if isinstance(lunch, dict) and lunch.get("start") and lunch.get("end"):
            cal.add_component(_lunch_event(lunch, f"{plan_id}-{d}-lunch@hongtu", stamp, zh))
    cal.add_missing_timezones()
    return cal.to_ical()


def _ticket_words(stop: dict, zh: bool) -> str:
    area = stop.get("area")
    if stop.get("ticket_in_area") and isinstance(area, dict):
        return f"含在{area.get('name_zh')}门票内" if zh else f"Included in the {area.get('name_en')} ticket"
    return ""


def _lunch_event(lunch: dict, uid: str, stamp: dt.datetime, zh: bool) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", _local(lunch["start"]))
    event.add("dtend", _local(lunch["end"]))
    event.add("summary", "午餐" if zh else "Lunch")
    near = lunch.get("near_zh" if zh else "near_en") or lunch.get("near_zh") or ""
    if near:
        event.add("location", near)
    return event


def itinerary_gpx(itinerary: dict, lang: str) -> str:
    """Waypoints for the start, each visit and each night; one route per day."""
    zh = lang == "zh"
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Hongtu 红途"
    gpx.name = "红途行程" if zh else "Hongtu trip"
    seen_points: set[tuple] = set()
    days = itinerary.get("days", [])
    for d, day in enumerate(days, 1):
        route = gpxpy.gpx.GPXRoute(name=(f"第 {d} 天 {day['date']}" if zh else f"Day {d} {day['date']}"), number=d)
        points = [("start", day["start"]), *[("stop", s) for s in day["stops"]], ("end", day["end"])]
        for kind, point in points:
            name = point["name_zh"] if zh else point["name_en"]
            when = _local(point["visit_start"] if kind == "stop" else point["time"])
            description = (point.get("summary_zh" if zh else "summary_en") or "") if kind == "stop" else ""
            if kind == "stop" and is_approximate(point):
                note = "【大致位置，非精确地点】" if zh else "[Approximate location, not an exact point] "
                description = note + description
            route.points.append(gpxpy.gpx.GPXRoutePoint(point["lat"], point["lon"], time=when, name=name,
                                                        description=description or None))
            key = (kind, round(point["lat"], 6), round(point["lon"], 6), name)
            if key not in seen_points:
                seen_points.add(key)
                waypoint = gpxpy.gpx.GPXWaypoint(point["lat"], point["lon"], time=when, name=name,
                                                 description=description or None)
                last = "overnight" if d < len(days) else "end"
                waypoint.type = {"start": "start", "stop": "visit", "end": last}[kind]
                gpx.waypoints.append(waypoint)
        gpx.routes.append(route)
    return gpx.to_xml()
