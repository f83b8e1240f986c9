"""`hongtu bench realism`: can a traveller actually follow the plans?

Plans every request of bench/realism_requests.yaml (seeded, so the figures repeat) and measures, per request
and overall:
- lunch: share of days with a lunch break, over the days whose hours cover lunchtime (start by 11:30, end
  after 13:30);
- after dark: outdoor visits ending after sunset at the site itself (planner.sun; must be 0);
- 0-km hops: legs of 0 km or 0 minutes between two different places (must be 0);
- driving share: drive minutes / (day end - day start), summed over the trip's days (so an arrival evening
  with one drive to the hotel weighs as little as it lasts);
- nights at the destination: nights spent within the destination's radius + NIGHT_SLACK_KM of its centre;
- focus: the share of visit minutes at destination sites; the destination is the trip's focus when that
  share is at least FOCUS_SHARE;
- named sites: how many of the sites the request names (`must`) the plan visits;
- expert recall: when data/itineraries.yaml exists, for a request with a destination, the share of an
  expert itinerary's sites (those itineraries mostly inside the destination) that the plan visits, and the
  nights spent in one of those itineraries' base towns (`base`).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from pathlib import Path

import sqlite_utils
import yaml

from planner.db import REPO_ROOT, get_site, load_itineraries
from planner.destination import Focus, resolve_destination
from planner.geo import haversine_m
from planner.sun import sunset_minutes
from planner.trip import CHINA_TZ, TripRequest, parse_interests, solve_trip

CORPUS = REPO_ROOT / "bench" / "realism_requests.yaml"
FOCUS_SHARE = 0.6
NIGHT_SLACK_KM = 15.0
LUNCH_COVER = (11 * 60 + 30, 13 * 60 + 30)
# The corpus is planned as if it were this moment (China time), so every run on any day gives the same figures;
# its dates lie after it ("today" in a request means this day).
REFERENCE_NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=CHINA_TZ)


def load_corpus(path: Path = CORPUS) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def to_request(raw: dict, **overrides) -> TripRequest:
    """The corpus's structured request as a TripRequest."""
    start = raw.get("start_date")
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    arrive = raw.get("arrive_at")
    fields = dict(origin=raw["origin"], days=int(raw["days"]), start_date=start, end=raw.get("end"),
                  interests=parse_interests(raw.get("interests")), themes=list(raw.get("themes") or []),
                  pace=raw.get("pace", "normal"), destination=raw.get("destination"),
                  party=list(raw.get("party") or []), seed=int(raw.get("seed", 0)), must=list(raw.get("must") or []),
                  arrive_at=dt.time.fromisoformat(arrive) if arrive else None)
    return TripRequest(**(fields | overrides))


def _minute(stamp: str) -> int:
    moment = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M")
    return moment.hour * 60 + moment.minute + (moment.date().toordinal() * 1440)


def measure(db: sqlite_utils.Database, itinerary: dict, focus: Focus | None, experts: list[dict]) -> dict:
    """The realism figures of one itinerary."""
    lunch_days = covering_days = after_dark = zero_hops = legs = 0
    drive_total = day_total = visit_minutes = focus_minutes = nights = nights_there = 0
    visited: set[str] = set()
    night_towns: list[str] = []
    for number, day in enumerate(itinerary["days"]):
        date = dt.date.fromisoformat(day["date"])
        midnight = date.toordinal() * 1440
        begin = _minute(day.get("day_start") or day["start"]["time"]) - midnight
        end = _minute(day["end"]["time"]) - midnight
        if begin <= LUNCH_COVER[0] and end >= LUNCH_COVER[1]:
            covering_days += 1
            lunch_days += bool(day.get("lunch"))
        drive = day["end"]["travel_minutes"]
        legs += 1
        zero_hops += _zero(day["end"], day["stops"][-1] if day["stops"] else day["start"])
        previous = day["start"]
        for stop in day["stops"]:
            drive += stop["travel_minutes"]
            legs += 1
            zero_hops += _zero(stop, previous)
            previous = stop
            site = get_site(db, stop["site_id"]) or {}
            if stop.get("outdoor") and _minute(stop["depart"]) - midnight > sunset_minutes(
                    date, stop["lat"], stop["lon"]):
                after_dark += 1
            visit_minutes += stop["visit_minutes"]
            visited.add(stop["site_id"])
            if focus is not None and _in_focus(site or stop, focus):
                focus_minutes += stop["visit_minutes"]
        drive_total += drive
        day_total += max(1, end - begin)
        if number < len(itinerary["days"]) - 1:
            nights += 1
            night_towns.append(day["end"]["name_zh"])
            nights_there += focus is not None and focus.lat is not None and _near(day["end"], focus)
    focus_share = focus_minutes / visit_minutes if focus is not None and visit_minutes else None
    return {
        "lunch_days": lunch_days, "covering_days": covering_days, "after_dark": after_dark,
        "zero_hops": zero_hops, "legs": legs, "driving_share": round(drive_total / day_total, 3),
        "drive_min_per_day": round(drive_total / len(itinerary["days"]), 1),
        "nights": nights, "nights_at_destination": nights_there if focus is not None and focus.lat else None,
        "focus_share": round(focus_share, 3) if focus_share is not None else None,
        "focus": focus_share >= FOCUS_SHARE if focus_share is not None else None,
        "expert_recall": _recall(visited, focus, experts),
        "nights_at_expert_base": _base_nights(night_towns, focus, experts),
        "stops": len(visited),
        "named_sites": len(itinerary["request"]["must"]),
        "named_sites_missed": len(itinerary["unreached_must"]),
    }


def _zero(leg: dict, previous: dict) -> int:
    same_place = (leg.get("lat"), leg.get("lon"), leg.get("name_zh")) == (
        previous.get("lat"), previous.get("lon"), previous.get("name_zh"))
    return int(not same_place and (leg["travel_minutes"] <= 0 or leg.get("distance_km", 1) <= 0))


def _in_focus(site: dict, focus: Focus) -> bool:
    return site.get("id", site.get("site_id")) in focus.site_ids or (
        focus.lat is not None and focus.distance_km(site["lat"], site["lon"]) == 0)


def _near(place: dict, focus: Focus) -> bool:
    return haversine_m(place["lat"], place["lon"], focus.lat, focus.lon) / 1000 <= focus.radius_km + NIGHT_SLACK_KM


def _matching(focus: Focus | None, experts: list[dict]) -> list[tuple[dict, set[str]]]:
    """The expert itineraries mostly inside the destination, with their sites."""
    if focus is None:
        return []
    out = []
    for expert in experts:
        sites = {s for day in expert.get("days") or [] for s in day.get("sites") or []}
        if sites and len(sites & focus.site_ids) >= 0.5 * len(sites):
            out.append((expert, sites))
    return out


def _base_nights(night_towns: list[str], focus: Focus | None, experts: list[dict]) -> int | None:
    """Nights in a town the expert itineraries stay in. Their `base` is free text ("温汤", "沈子村, 白云客栈"):
    each comma-separated name matches a town whose name starts with it (温汤 -> 温汤镇)."""
    bases = {name.strip() for e, _ in _matching(focus, experts) if e.get("base")
             for name in re.split(r"[,，、]", e["base"]) if name.strip()}
    if not bases or not night_towns:
        return None
    return sum(any(town.startswith(base) for base in bases) for town in night_towns)


def _recall(visited: set[str], focus: Focus | None, experts: list[dict]) -> float | None:
    recalls = [len(sites & visited) / len(sites) for _, sites in _matching(focus, experts)]
    return round(statistics.mean(recalls), 3) if recalls else None


def run_realism(db: sqlite_utils.Database, corpus: list[dict] | None = None, iterations: int | None = None,
                experts: list[dict] | None = None) -> dict:
    corpus = load_corpus() if corpus is None else corpus
    experts = load_itineraries() if experts is None else experts
    rows = []
    for entry in corpus:
        overrides = {"iterations": iterations} if iterations else {}
        request = to_request(entry["request"], **overrides)
        focus = resolve_destination(db, request.destination) if request.destination else None
        began = time.perf_counter()
        itinerary = solve_trip(db, request, now=REFERENCE_NOW)
        rows.append({"id": entry["id"], "days": request.days, "destination": request.destination,
                     "seconds": round(time.perf_counter() - began, 2)} | measure(db, itinerary, focus, experts))
    return {"requests": rows, "overall": _overall(rows)}


def _overall(rows: list[dict]) -> dict:
    def share(num: str, den: str) -> float:
        total = sum(r[den] for r in rows)
        return round(sum(r[num] for r in rows) / total, 3) if total else 0.0

    with_focus = [r for r in rows if r["focus"] is not None]
    with_nights = [r for r in rows if r["nights_at_destination"] is not None and r["nights"]]
    recalls = [r["expert_recall"] for r in rows if r["expert_recall"] is not None]
    with_base = [r for r in rows if r["nights_at_expert_base"] is not None]
    return {
        "requests": len(rows),
        "lunch_share": share("lunch_days", "covering_days"),
        "after_dark_outdoor_visits": sum(r["after_dark"] for r in rows),
        "zero_km_hops": sum(r["zero_hops"] for r in rows),
        "legs": sum(r["legs"] for r in rows),
        "mean_driving_share": round(statistics.mean(r["driving_share"] for r in rows), 3),
        "mean_drive_min_per_day": round(statistics.mean(r["drive_min_per_day"] for r in rows), 1),
        "nights_at_destination": f"{sum(r['nights_at_destination'] for r in with_nights)}/"
                                 f"{sum(r['nights'] for r in with_nights)}",
        "destination_is_focus": f"{sum(bool(r['focus']) for r in with_focus)}/{len(with_focus)}",
        "mean_expert_recall": round(statistics.mean(recalls), 3) if recalls else None,
        "nights_at_expert_base": f"{sum(r['nights_at_expert_base'] for r in with_base)}/"
                                 f"{sum(r['nights'] for r in with_base)}",
        "named_sites_visited": f"{sum(r['named_sites'] - r['named_sites_missed'] for r in rows)}/"
                               f"{sum(r['named_sites'] for r in rows)}",
        "median_seconds": statistics.median(r["seconds"] for r in rows),
    }


def format_report(report: dict) -> str:
    lines = [f"{'request':<22}{'days':>4}{'lunch':>7}{'dark':>5}{'0km':>4}{'drive':>7}{'min/d':>7}"
             f"{'nights@':>8}{'focus':>7}{'recall':>7}{'stops':>6}{'s':>6}"]
    for r in report["requests"]:
        nights = f"{r['nights_at_destination']}/{r['nights']}" if r["nights_at_destination"] is not None else "-"
        focus = f"{r['focus_share']:.2f}" if r["focus_share"] is not None else "-"
        recall = f"{r['expert_recall']:.2f}" if r["expert_recall"] is not None else "-"
        lines.append(f"{r['id']:<22}{r['days']:>4}{r['lunch_days']:>4}/{r['covering_days']:<2}{r['after_dark']:>5}"
                     f"{r['zero_hops']:>4}{r['driving_share']:>7.2f}{r['drive_min_per_day']:>7.0f}{nights:>8}"
                     f"{focus:>7}{recall:>7}{r['stops']:>6}{r['seconds']:>6.2f}")
    o = report["overall"]
    lines.append("")
    lines.append(f"{o['requests']} requests: lunch break on {o['lunch_share']:.0%} of days that span lunchtime; "
                 f"{o['after_dark_outdoor_visits']} outdoor visits after sunset; {o['zero_km_hops']} 0-km hops "
                 f"in {o['legs']} legs")
    lines.append(f"driving: {o['mean_driving_share']:.0%} of the day on average ({o['mean_drive_min_per_day']} min "
                 f"a day); nights at the destination {o['nights_at_destination']}; named destination is the "
                 f"trip's focus (>= {FOCUS_SHARE:.0%} of visit minutes) in {o['destination_is_focus']}")
    recall = o["mean_expert_recall"]
    lines.append(f"expert itineraries: mean recall {recall}; nights in their base town "
                 f"{o['nights_at_expert_base']}" if recall is not None
                 else "expert itineraries: none for these destinations (data/itineraries.yaml)")
    lines.append(f"sites the traveller named, visited: {o['named_sites_visited']}; median plan time "
                 f"{o['median_seconds']} s")
    return "\n".join(lines)
