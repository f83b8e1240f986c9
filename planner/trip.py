"""From a trip request to a multi-day itinerary.

The model (a team orienteering problem with time windows, solved by `planner.toptw`):
- Time is minutes since midnight of the first day; day d is the window [d*1440 + day start, d*1440 + day end]
  of the chosen pace (`day_frames`: the first day starts later after a train's arrival, `arrive_at`, or when
  the trip starts today and it is already later), and no drive between two sites may be longer than the pace
  allows. Seniors and children: days end half an hour earlier and drives between sites are shorter.
- A site is a node whose allowed visit starts are, for each day of the trip, its opening windows on that date
  (seasons and closing days applied) shortened by its visit length, so a visit starts and ends inside opening
  hours; an outdoor site's visit also ends by sunset (planner.sun). A long visit (a mountain day) is capped by
  the pace (`Pace.long_visit_cap`) so that it fits into a day at any pace. A site closed on every day of the
  trip has no window at all.
- Lunch: each site has a second node, exclusive with the first, that is the visit plus a LUNCH_MINUTES meal:
  right after a short visit (the meal starting between 11:30 and 12:30, near the site) or inside a long
  visit (the scenic area's restaurants or a packed lunch, 12:00-12:45; a visit of MEAL_IN_VISIT minutes or
  more already counts that meal, so it does not grow). The lunch node scores LUNCH_VALUE
  more, so the optimiser plans a lunch into every day where one fits; two lunches in one day cannot fit
  (their windows are too narrow), so day["lunch"] is at most one meal.
- Value = importance x match to the traveller's interests (x1.5 for a requested theme) x a visit-length
  factor (a 20-minute plaque is worth less than a half-day museum of the same importance) x the destination
  factor (planner.destination: x3 inside the destination, falling off with distance outside it; sites beyond
  `Focus.leave_out_km` are left out); must-see and pinned sites are mandatory nodes (a pinned site only on
  its day); avoided sites are left out. Overnight towns near the destination score a bonus, so a trip to a
  scenic area sleeps in its base town.
- Travel: planner.travel's estimate or OSRM, then `honest_legs` (imprecise points never make 0-km hops;
  mountain roads inside a scenic area).
- The whole trip is one route from the origin to the end point. Each night is a group of "night nodes", one
  per town with hotels, of which at most one is visited (an exclusive group); a night node's visit starts
  exactly at that evening's end of day and lasts until the next morning, and night nodes are mandatory with a
  score above any trip's, so the optimiser always takes one a night. Travel to and from a night node is
  travel to and from its town. The optimiser thus picks where to sleep together with which sites each day
  visits (a user-fixed town leaves only that town's node). The single-instant windows also let the optimiser
  evaluate each day separately (its "pinned" stops).
- Why one route and not one route per day: the night's town would then be a route's end and the next
  route's start, fixed before optimising; here it is chosen by the same insertion moves as the sites.
- Sites and towns that no itinerary could reach are left out before optimising (`_Reach`).
- Determinism: the optimiser runs a seeded iteration budget (`default_iterations`), the time limit is only a
  safety cap, so the same request (same seed) gives the same plan on any machine load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import sqlite_utils

from planner import db as sitedb
from planner import toptw
from planner.db import get_site, list_places, list_sites
from planner.destination import Focus, resolve_destination
from planner.errors import InputError
from planner.hours import windows_on
from planner.places import Place, resolve_place
from planner.sitedata import THEMES
from planner.sun import hhmm, sunset_minutes
from planner.travel import Matrix, honest_legs, provider_from_env

CHINA_TZ = ZoneInfo("Asia/Shanghai")
PARTY = ("children", "seniors", "no-car")
MAX_SEED = 2**31 - 1
DAY = 1440
MAX_DAYS = 10
INF = 10**7  # a leg too long for the pace


@dataclass(frozen=True)
class Pace:
    day_start: int  # minutes after midnight
    day_end: int
    max_leg_minutes: int  # longest drive between two sites (to and from the night's town: EVENING_DRIVE_MINUTES)
    long_visit_cap: int = 480  # a mountain day is shortened to this (a shorter walk, the cable car both ways)


PACES = {
    "relaxed": Pace(9 * 60, 17 * 60 + 30, 90, 330),
    "normal": Pace(8 * 60 + 30, 18 * 60, 120, 390),
    "packed": Pace(7 * 60 + 30, 19 * 60 + 30, 180, 480),
}
LUNCH_MINUTES = 45
LUNCH_FIRST_START, LUNCH_LAST_START = 11 * 60 + 30, 12 * 60 + 30  # a meal after a visit starts in this window
LUNCH_INSIDE_AT = 12 * 60  # a long visit's lunch
LONG_VISIT = 180  # visits at least this long take lunch inside
# A visit this long (a mountain day) already includes its meal: guides' "5-6 hours in the park" counts the
# lunch eaten there. ASSUMPTION from how the sources phrase visit lengths, not measured.
MEAL_IN_VISIT = 300
ARRIVAL_BUFFER = 30  # minutes from a train or flight's arrival to leaving the station (luggage, taxi, car hire)
NOW_BUFFER = 15  # "today" plans leave this long after now
EVENING_DRIVE_MINUTES = 90  # longest drive between a site and the night's town, at any pace
USEFUL_REST_OF_DAY = 240  # without a date, a trip starts today only if this much of the day is left
LATE_DAY_MINUTES = 180  # a first day starting late lasts at least this long
LATEST_FIRST_START = 21 * 60  # ... and starts by then, so that it ends by midnight
OUTDOOR_THEMES = {"mountain", "forest", "waterfall", "river-lake", "village"}
STRENUOUS_MINUTES = 240  # a mountain site with a visit this long is a hike


@dataclass
class TripRequest:
    origin: str | tuple[float, float]
    days: int
    start_date: dt.date | None = None
    end: str | tuple[float, float] | None = None
    interests: dict[str, float] = field(default_factory=lambda: {"red": 1.0, "eco": 1.0})
    themes: list[str] = field(default_factory=list)
    pace: str = "normal"
    must: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)
    time_limit: float | None = None  # a safety cap in seconds; None: default_safety_cap(days)
    chains: int | None = None  # independent search chains (processes); None: default_chains()
    destination: str | None = None  # where the plan should concentrate: a town, county, scenic area, site or theme
    seed: int = 0  # the same request with the same seed gives the same plan
    pin: dict[str, int] = field(default_factory=dict)  # site id -> day index from 0: visit that site that day
    arrive_at: dt.time | None = None  # when the traveller is at the origin on day 1 (e.g. a train's arrival)
    party: list[str] = field(default_factory=list)  # any of PARTY: shorter days, no strenuous sites
    iterations: int | None = None  # optimiser iterations per chain; None: default_iterations(days)
    only_must: bool = False  # visit the must-see and pinned sites and nothing else (a plan after a drop)


def default_time_limit(days: int) -> float:
    """Seconds for the optimiser: under half a second up to three days (a chat reply), then 0.27 s a day up
    to 1.4 s, as trips of four days and more need it most (measured with `hongtu bench plans`)."""
    return 0.3 + 0.05 * days if days <= 3 else min(1.4, 0.27 * days)


# Iterations per second of one chain on the trip model (lunch nodes included, no OR-Tools polish), measured
# on this 2-core machine under load from other jobs (load average 2.5): ~2000/s for 1 day, ~1100/s for
# 2-3 days, ~950/s for 4-5 days, ~700/s for 6 days and more.
def default_iterations(days: int) -> int:
    """The seeded search budget per chain: about default_time_limit(days) seconds of search at the measured
    rate, so latency stays where it was while the answer no longer depends on machine load."""
    rate = 2000 if days <= 1 else 1100 if days <= 3 else 950 if days <= 5 else 700
    return max(100, int(rate * default_time_limit(days)))


def default_safety_cap(days: int) -> float:
    """The time limit when the request sets none: only a cap for a very loaded machine (then the answer may
    vary between runs; `solver.capped` says so)."""
    return 4 * default_time_limit(days) + 1.0


def for_a_server(request: TripRequest, iterations: int | None = None) -> TripRequest:
    """The request as a shared server (web, bot) solves it: one search chain, so the plan depends only on the
    request and its seed, never on how busy the server is (two chains when idle and one when busy would give
    different plans); the time limit only a safety cap, at least the planner's own for the trip's length;
    `iterations` (tests) overrides the budget."""
    cap = min(60.0, max(request.time_limit or 0, default_safety_cap(request.days)))
    return dataclasses.replace(request, chains=1, time_limit=cap, iterations=iterations or request.iterations)


def default_chains() -> int:
    """One search chain per core, at most two: a second chain raised `hongtu bench plans`' mean score; the
    web gives busy servers one chain per plan."""
    return max(1, min(2, os.cpu_count() or 1))


def now_in_china() -> dt.datetime:
    return dt.datetime.now(CHINA_TZ)


def today_in_china() -> dt.date:
    return now_in_china().date()


def parse_interests(text: str | None) -> dict[str, float]:
    """'red', 'eco', 'red,eco' or weighted 'red:2,eco:1'."""
    if not text:
        return {"red": 1.0, "eco": 1.0}
    weights = {"red": 0.0, "eco": 0.0}
    for part in str(text).split(","):
        name, _, weight = part.strip().partition(":")
        if name not in weights:
            raise InputError("interests", f"unknown interest {name!r}: use red, eco or both",
                             f"无法识别的兴趣 {name!r}：可选 red（红色）、eco（生态）")
        try:
            weights[name] = float(weight) if weight else 1.0
        except ValueError:
            raise InputError("interests", f"weight {weight!r} is not a number", f"权重 {weight!r} 不是数字") from None
        if not 0 <= weights[name] <= 10:
            raise InputError("interests", "weights are between 0 and 10", "权重须在 0 到 10 之间")
    if not any(weights.values()):
        raise InputError("interests", "choose at least one interest", "请至少选择一个兴趣")
    return weights


def check_request(db: sqlite_utils.Database, request: TripRequest, now: dt.datetime | None = None) -> None:
    if isinstance(request.days, bool) or not isinstance(request.days, int) or not 1 <= request.days <= MAX_DAYS:
        raise InputError("days", f"a trip lasts 1 to {MAX_DAYS} days", f"行程天数须为 1 到 {MAX_DAYS} 天")
    today = (now or now_in_china()).date()
    if request.start_date is not None and request.start_date < today:
        raise InputError("start_date", f"{request.start_date} is in the past", f"{request.start_date} 已经过去了")
    if request.pace not in PACES:
        raise InputError("pace", "pace is relaxed, normal or packed",
                         "节奏须为 relaxed（轻松）、normal（适中）或 packed（紧凑）")
    if request.time_limit is None:
        request.time_limit = default_safety_cap(request.days)
    if request.iterations is not None and (isinstance(request.iterations, bool) or not isinstance(
            request.iterations, int) or not 1 <= request.iterations <= 1_000_000):
        raise InputError("iterations", "1 to 1000000 optimiser iterations", "优化迭代次数须为 1 到 1000000")
    if isinstance(request.time_limit, bool) or not 0 < request.time_limit <= 60:
        raise InputError("time_limit", "the time limit is more than 0 and at most 60 seconds",
                         "求解时限须大于 0 秒且不超过 60 秒")
    if request.chains is not None and (isinstance(request.chains, bool) or not 1 <= request.chains <= 8):
        raise InputError("chains", "1 to 8 search chains", "搜索链数须为 1 到 8")
    _check_new_fields(db, request)
    unknown = [t for t in request.themes if t not in THEMES]
    if unknown:
        raise InputError("themes", f"unknown theme {unknown[0]!r}", f"未知主题 {unknown[0]!r}")
    for field_name, ids in (("must", request.must), ("avoid", request.avoid)):
        for site_id in ids:
            if get_site(db, site_id, include_hidden=False) is None:
                raise InputError(field_name, f"no site with id {site_id!r}", f"没有编号为 {site_id!r} 的景点")
    both = set(request.must) & set(request.avoid)
    if both:
        raise InputError("avoid", f"{sorted(both)[0]} is both a must-see and to avoid",
                         f"{sorted(both)[0]} 既是必去又是避开")


def _check_new_fields(db: sqlite_utils.Database, request: TripRequest) -> None:
    """destination, seed, pin, arrive_at and party: types and ranges (the destination's meaning is resolved
    by planner.destination)."""
    if request.destination is not None and (not isinstance(request.destination, str)
                                            or not 0 < len(request.destination.strip()) <= 100):
        raise InputError("destination", "the destination is a place or theme name of 1 to 100 characters",
                         "目的地须为 1 到 100 个字符的地名或主题")
    if isinstance(request.seed, bool) or not isinstance(request.seed, int) or not 0 <= request.seed <= MAX_SEED:
        raise InputError("seed", f"the seed is a whole number from 0 to {MAX_SEED}",
                         f"随机种子须为 0 到 {MAX_SEED} 的整数")
    if not isinstance(request.pin, dict):
        raise InputError("pin", "pin maps site ids to day numbers", "pin 须为「景点编号 → 第几天」")
    for site_id, day in request.pin.items():
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day < request.days:
            raise InputError("pin", f"{site_id}: day {day!r} is not a day of this {request.days}-day trip",
                             f"{site_id}：第 {day!r} 天不在这次 {request.days} 天的行程内")
        if not isinstance(site_id, str) or get_site(db, site_id, include_hidden=False) is None:
            raise InputError("pin", f"no site with id {site_id!r}", f"没有编号为 {site_id!r} 的景点")
        if site_id in request.avoid:
            raise InputError("pin", f"{site_id} is both pinned to a day and to avoid",
                             f"{site_id} 既被指定日期又被避开")
    if request.arrive_at is not None and not isinstance(request.arrive_at, dt.time):
        raise InputError("arrive_at", "the arrival time is a time of day HH:MM", "到达时间须为 HH:MM")
    if not isinstance(request.party, list | tuple) or any(p not in PARTY for p in request.party):
        raise InputError("party", f"party is any of {', '.join(PARTY)}",
                         "同行人员可选 children（儿童）、seniors（老人）、no-car（无车）")


def visit_length(site: dict, pace: Pace) -> int:
    """The visit length planned: the site's own, a mountain day capped by the pace."""
    return min(site["visit_minutes"], pace.long_visit_cap)


def is_outdoor(site: dict) -> bool:
    """Visits that need daylight: nature sites, open-air sites without a gate, mountains, villages (not hot
    springs or caves, which are visited after dark too)."""
    if set(site["themes"]) & {"hot-spring", "cave"}:
        return False
    always = all(site["hours"][d] == [["00:00", "24:00"]] for d in site["hours"])
    return site["category"] == "eco" or always or bool(set(site["themes"]) & OUTDOOR_THEMES)


def is_strenuous(site: dict) -> bool:
    return "mountain" in site["themes"] and site["visit_minutes"] >= STRENUOUS_MINUTES


def length_factor(minutes: int) -> float:
    """Value grows with the square root of the visit's length (an hour: 1; 20 minutes: 0.58; a mountain day of
    6.5 hours: 2.5), so a quick plaque does not outrank a major museum of the same importance just by being
    quick, and a whole day on a great mountain can beat a day of driving between small sites."""
    return min(3.0, max(0.5, math.sqrt(minutes / 60)))


def focus_factor(site: dict, focus: Focus | None) -> float:
    """x3 inside the destination; outside it, falling off by e per 25 km (a theme: x0.5 off-theme)."""
    if focus is None:
        return 1.0
    if site["id"] in focus.site_ids:
        return 3.0
    if focus.lat is None:
        return 0.5
    return max(0.1, math.exp(-focus.distance_km(site["lat"], site["lon"]) / 25))


def site_value(site: dict, request: TripRequest, focus: Focus | None = None, pace: Pace | None = None) -> float:
    weights = request.interests
    match = max(weights["red"], weights["eco"]) if site["category"] == "both" else weights[site["category"]]
    if request.themes and set(request.themes) & set(site["themes"]):
        match *= 1.5
    value = site["importance"] * match * length_factor(visit_length(site, pace or PACES[request.pace]))
    if ({"seniors", "children"} & set(request.party)) and is_strenuous(site):
        value *= 0.4
    return value * focus_factor(site, focus)


def effective_pace(request: TripRequest) -> Pace:
    """The pace, adjusted for the party: with seniors or children days end half an hour earlier, drives
    between sites are at most three quarters as long and mountain days at most five hours."""
    pace = PACES[request.pace]
    if {"seniors", "children"} & set(request.party):
        return Pace(pace.day_start, pace.day_end - 30, int(pace.max_leg_minutes * 0.75),
                    min(pace.long_visit_cap, 300))
    return pace


def default_start(now: dt.datetime, pace: Pace) -> dt.date:
    """A request without a date starts today while at least USEFUL_REST_OF_DAY minutes of the day are left,
    otherwise tomorrow (asked in the evening, "plan me a day" means tomorrow)."""
    local = now.astimezone(CHINA_TZ) if now.tzinfo else now
    left = pace.day_end - (local.hour * 60 + local.minute + NOW_BUFFER)
    return local.date() if left >= USEFUL_REST_OF_DAY else local.date() + dt.timedelta(days=1)


def day_frames(request: TripRequest, pace: Pace, dates: list[dt.date], now: dt.datetime) -> list[tuple[int, int]]:
    """(start, end) of each day in minutes after that day's midnight. The first day starts after the arrival
    (arrive_at + ARRIVAL_BUFFER) and, for a trip starting today, after now + NOW_BUFFER; a first day that
    starts late ends at least LATE_DAY_MINUTES later (time to reach the hotel or the trip's end, and the
    evening's sights that are open; daylight and opening hours still bound every visit)."""
    frames = [(pace.day_start, pace.day_end) for _ in dates]
    first = pace.day_start
    if request.arrive_at is not None:
        first = max(first, request.arrive_at.hour * 60 + request.arrive_at.minute + ARRIVAL_BUFFER)
    local_now = now.astimezone(CHINA_TZ) if now.tzinfo else now
    if dates[0] == local_now.date():
        minute = local_now.hour * 60 + local_now.minute
        first = max(first, -(-(minute + NOW_BUFFER) // 5) * 5)  # round up to 5 minutes
    first = min(first, LATEST_FIRST_START)
    frames[0] = (first, max(pace.day_end, first + LATE_DAY_MINUTES))
    return frames


# ---------------------------------------------------------------- the model

# Larger than any trip's total site score, so every night gets a town, even before a must-see site.  Night
# nodes are also mandatory, so the optimiser measures its annealing temperature in site scores alone.
NIGHT_SCORE = 10**9


@dataclass(frozen=True)
class SiteVisit:
    """A site node: the visit, and whether it includes the day's lunch."""

    site: dict
    minutes: int  # the visit's planned length
    lunch: str | None = None  # None; "after": the meal follows the visit; "inside": taken during the visit

    @property
    def service(self) -> int:
        meal_included = self.lunch == "inside" and self.minutes >= MEAL_IN_VISIT
        return self.minutes + (LUNCH_MINUTES if self.lunch and not meal_included else 0)


@dataclass
class Model:
    """Nodes: 0 origin, 1 trip end, then one node per (night, town), then site visits (each site twice: without
    and with lunch)."""

    nodes: list  # per node: a Place (origin, end), a (night, Place) pair, or a SiteVisit
    matrix: Matrix
    night_nodes: dict[int, int]  # node -> night number
    sites: list[int]
    values: list[float]
    service: list[int]
    windows: list[list[tuple[int, int]]]
    dates: list[dt.date]
    pace: Pace
    frames: list[tuple[int, int]] = field(default_factory=list)
    focus: Focus | None = None
    night_bonus: dict[int, float] = field(default_factory=dict)
    pairs: list[list[int]] = field(default_factory=list)  # [site node, its lunch node]
    precision: list[int] = field(default_factory=list)  # per node, metres


ORIGIN, TRIP_END = 0, 1


def _place_precision(db: sqlite_utils.Database) -> dict[str, int]:
    return {p["id"]: int(p.get("coord_precision_m") or 0) for p in list_places(db)}


def build_model(db: sqlite_utils.Database, request: TripRequest, origin: Place, trip_end: Place,
                provider, overnight: dict[int, Place] | None = None, now: dt.datetime | None = None) -> Model:
    now = now or now_in_china()
    pace = effective_pace(request)
    start = request.start_date or default_start(now, pace)
    dates = [start + dt.timedelta(days=d) for d in range(request.days)]
    frames = day_frames(request, pace, dates, now)
    focus = resolve_destination(db, request.destination) if request.destination else None
    towns = [Place(p["name_zh"], p["name_en"], p["lat"], p["lon"], p["kind"], p["id"])
             for p in list_places(db) if p["kind"] == "town"]
    keep_anyway = set(request.must) | set(request.pin)
    sites = [s for s in list_sites(db) if s["id"] not in request.avoid
             and (not request.only_must or s["id"] in keep_anyway)]
    sites = [s for s in sites if s["id"] in keep_anyway or (
        site_value(s, request, focus, pace) > 0
        and (focus is None or focus.distance_km(s["lat"], s["lon"]) <= focus.leave_out_km(request.days)))]
    places = [origin, trip_end, *towns]
    place_precision = _place_precision(db)
    points = [(p.lat, p.lon) for p in places] + [(s["lat"], s["lon"]) for s in sites]
    precision = [place_precision.get(p.id or "", 0) for p in places] + [s["coord_precision_m"] for s in sites]
    areas = [None] * len(places) + [s.get("area") for s in sites]
    ids = [p.id or f"{p.lat},{p.lon}" for p in places] + [s["id"] for s in sites]
    base = honest_legs(provider.matrix(points), points, precision, areas, ids)
    reach = _Reach(base.minutes, len(places), request.days, max(end - begin for begin, end in frames))
    keep = [i for i, s in enumerate(sites) if s["id"] in keep_anyway or reach.site(i, visit_length(s, pace))]
    base_rows = list(range(len(places))) + [len(places) + i for i in keep]
    base = Matrix(base.minutes[np.ix_(base_rows, base_rows)], base.km[np.ix_(base_rows, base_rows)], base.source)
    precision = [precision[r] for r in base_rows]
    sites = [sites[i] for i in keep]

    nodes: list = [origin, trip_end]
    point_of = [0, 1]  # node -> row of `base`
    night_nodes: dict[int, int] = {}
    night_bonus: dict[int, float] = {}
    windows: list[list[tuple[int, int]]] = [[], []]
    service = [0, 0]
    values = [0.0, 0.0]
    site_values = [site_value(s, request, focus, pace) for s in sites]
    best = max(site_values, default=1.0)
    for night in range(request.days - 1):
        fixed = (overnight or {}).get(night)
        evening = night * DAY + frames[night][1]
        morning = (night + 1) * DAY + frames[night + 1][0]
        for t, town in enumerate(towns):
            if (town.id != fixed.id) if fixed is not None else not reach.town(2 + t, night):
                continue
            night_nodes[len(nodes)] = night
            night_bonus[len(nodes)] = _town_bonus(town, focus, best)
            nodes.append((night, town))
            point_of.append(2 + t)
            windows.append([(evening, evening)])
            service.append(morning - evening)
            values.append(0.0)
    first_site = len(nodes)
    pairs: list[list[int]] = []
    lunch_value = 1.2 * best
    for i, site in enumerate(sites):
        minutes = visit_length(site, pace)
        pinned = request.pin.get(site["id"])
        pair = []
        for lunch in (None, "inside" if minutes >= LONG_VISIT else "after"):
            visit = SiteVisit(site, minutes, lunch)
            found = _site_windows(visit, dates, frames)
            if pinned is not None:
                found = [(a, b) for a, b in found if a // DAY == pinned]
            pair.append(len(nodes))
            nodes.append(visit)
            point_of.append(len(places) + i)
            windows.append(found)
            service.append(visit.service)
            values.append(site_values[i] + (lunch_value if lunch else 0.0))
        pairs.append(pair)

    index = np.array(point_of)
    minutes = base.minutes[np.ix_(index, index)]
    km = base.km[np.ix_(index, index)]
    legs = minutes[first_site:, first_site:]
    minutes[first_site:, first_site:] = np.where(legs > pace.max_leg_minutes, INF, legs)
    # A day that visits sites ends near the night's town, not with a long evening drive (a travel day with
    # no sites still goes straight from town to town, uncapped).
    evening_cap = EVENING_DRIVE_MINUTES
    site_rows, town_rows = np.arange(first_site, len(nodes)), np.array(sorted(night_nodes), dtype=int)
    for rows, cols in ((site_rows, town_rows), (town_rows, site_rows)):
        block = minutes[np.ix_(rows, cols)]
        minutes[np.ix_(rows, cols)] = np.where(block > evening_cap, INF, block)
    return Model(nodes, Matrix(minutes, km, base.source), night_nodes, list(range(first_site, len(nodes))),
                 values, service, windows, dates, pace, frames, focus, night_bonus, pairs,
                 [precision[r] for r in point_of])


def _town_bonus(town: Place, focus: Focus | None, best_value: float) -> float:
    """Up to the best site's value for a town at the destination's centre, falling off with the square of the
    distance to nothing beyond its radius + 30 km: the base town (茨坪 for 井冈山) clearly beats the next
    town 20 km further, so the trip keeps one base unless a night elsewhere gains more than a good site."""
    if focus is None or focus.lat is None:
        return 0.0
    km = haversine_km(town.lat, town.lon, focus.lat, focus.lon)
    return best_value * max(0.0, 1 - km / (focus.radius_km + 30)) ** 2


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    from planner.geo import haversine_m

    return haversine_m(lat1, lon1, lat2, lon2) / 1000


class _Reach:
    """Cheap necessary conditions that leave out sites and overnight towns no itinerary could use, so that the
    optimiser's time goes to the ones it can."""

    def __init__(self, minutes: np.ndarray, first_site: int, days: int, day_length: int):
        self.minutes, self.first_site, self.days = minutes, first_site, days
        self.day_length = day_length

    def site(self, i: int, visit_minutes: int) -> bool:
        node = self.first_site + i
        there, back = self.minutes[ORIGIN, node], self.minutes[node, TRIP_END]
        if self.days == 1:
            return there + visit_minutes + back <= self.day_length
        return max(there, back) <= self.days * self.day_length

    def town(self, node: int, night: int) -> bool:
        there, onward = self.minutes[ORIGIN, node], self.minutes[node, TRIP_END]
        return there <= (night + 1) * self.day_length and onward <= (self.days - 1 - night) * self.day_length


def _site_windows(visit: SiteVisit, dates: list[dt.date], frames: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Allowed visit starts, day by day: inside opening hours and the day, an outdoor visit ending by sunset,
    and for a lunch node the meal at lunchtime."""
    site, out = visit.site, []
    outdoor = is_outdoor(site)
    for d, date in enumerate(dates):
        day_start, day_end = frames[d]
        dusk = sunset_minutes(date, site["lat"], site["lon"]) if outdoor else DAY
        for open_at, close_at in windows_on(date, site["hours"], site["seasons"]):
            first = max(open_at, day_start)
            inside = visit.service if visit.lunch == "inside" else visit.minutes
            last = min(close_at, day_end, dusk) - inside
            if visit.lunch == "after":
                first = max(first, LUNCH_FIRST_START - visit.minutes)
                last = min(last, LUNCH_LAST_START - visit.minutes)
            elif visit.lunch == "inside":  # some of the visit before lunch and some after it
                first = max(first, LUNCH_INSIDE_AT + LUNCH_MINUTES + 30 - visit.service)
                last = min(last, LUNCH_INSIDE_AT - 30)
            if first <= last:
                out.append((d * DAY + first, d * DAY + last))
    return out


def build_problem(model: Model, must: set[int]) -> toptw.Problem:
    score = [round(v * 10) for v in model.values]
    for node in model.night_nodes:
        score[node] = NIGHT_SCORE + round(model.night_bonus.get(node, 0.0) * 10)
    last_day = len(model.dates) - 1
    route = toptw.Route(ORIGIN, TRIP_END, model.frames[0][0], last_day * DAY + model.frames[-1][1])
    towns_by_night: dict[int, list[int]] = {}
    for node, night in model.night_nodes.items():
        towns_by_night.setdefault(night, []).append(node)
    return toptw.Problem(travel=model.matrix.minutes.tolist(), service=model.service, score=score,
                         windows=model.windows, routes=[route], mandatory=frozenset(must | set(model.night_nodes)),
                         exclusive=list(towns_by_night.values()) + model.pairs)


def solve_trip(db: sqlite_utils.Database, request: TripRequest, provider=None,
               overnight: dict[int, str] | None = None, now: dt.datetime | None = None) -> dict:
    """Plan the trip and return the itinerary (the `hongtu plan --json` object).

    `overnight` optionally fixes the town for some nights: {night number from 0: place name}. `now` is the
    clock (China time; tests set it): a trip starting today starts after it.
    """
    started = time.perf_counter()
    now = now or now_in_china()
    check_request(db, request, now)
    origin = resolve_place(db, request.origin, "origin")
    trip_end = resolve_place(db, request.end, "end") if request.end else origin
    fixed = {n: resolve_place(db, name, "overnight") for n, name in (overnight or {}).items()}
    model = build_model(db, request, origin, trip_end, provider or provider_from_env(os.environ), fixed, now)
    wanted = set(request.must) | set(request.pin)
    must = {n for n in model.sites if model.nodes[n].site["id"] in wanted}
    problem = build_problem(model, must)
    remaining = max(0.05, request.time_limit - (time.perf_counter() - started))
    # No OR-Tools polish on trips: its 200 solutions took ~0.5 s of a 3-day plan for no measured gain.
    params = toptw.Params(max_iterations=request.iterations or default_iterations(request.days), polish=False)
    solution = toptw.solve(problem, remaining, seed=request.seed, params=params,
                           workers=request.chains or default_chains())
    itinerary = _itinerary(db, model, problem, solution.routes[0], solution.status, request, must,
                           time.perf_counter() - started)
    itinerary["solver"] |= {"iterations": solution.iterations, "capped": bool(solution.stats.get("capped"))}
    return itinerary


# ---------------------------------------------------------------- reading the solution

APPROXIMATE_M = 1000  # worse than this, UIs say "approximate location" and navigate by name


def _stamp(date0: dt.date, minute: int) -> str:
    moment = dt.datetime.combine(date0, dt.time()) + dt.timedelta(minutes=int(minute))
    return moment.strftime("%Y-%m-%dT%H:%M")


def _place_of(model: Model, node: int) -> Place:
    item = model.nodes[node]
    return item[1] if isinstance(item, tuple) else item


def _with_all_nights(model: Model, problem: toptw.Problem, route: list[int]) -> list[int]:
    """The route if it has a town for every night; otherwise the nights alone at the town nearest the origin
    (only when the optimiser found nothing in time), so the answer is always a well-formed, feasible trip."""
    if sum(node in model.night_nodes for node in route) == len(model.dates) - 1:
        return route
    by_night: dict[int, list[int]] = {}
    for node, night in model.night_nodes.items():
        by_night.setdefault(night, []).append(node)
    minutes = model.matrix.minutes
    fallback = [min(nodes, key=lambda n: minutes[ORIGIN, n]) for _, nodes in sorted(by_night.items())]
    return fallback if toptw.schedule(problem, 0, fallback) is not None else []


def _days(model: Model, problem: toptw.Problem, route: list[int], areas: dict[str, dict]) -> list[dict]:
    visits = toptw.schedule(problem, 0, route)
    if visits is None:  # the optimiser's answer is re-checked, never trusted
        raise RuntimeError("the optimiser returned an infeasible route")
    days, current = [], [visits[0]]
    for visit in visits[1:]:
        current.append(visit)
        if visit.node in model.night_nodes or visit.node == TRIP_END:
            days.append(current)
            current = [visit]
    return [_day(model, d, day_visits, areas) for d, day_visits in enumerate(days)]


def _day(model: Model, day: int, visits: list[toptw.Visit], areas: dict[str, dict]) -> dict:
    minutes, km = model.matrix.minutes, model.matrix.km
    path = [v.node for v in visits]
    date0 = model.dates[0]
    morning = day * DAY + model.frames[day][0]
    first_leg = int(minutes[path[0], path[1]])
    # Leave just in time for the first visit rather than at dawn; a night's "depart" is the next morning.
    leave = max(morning, visits[1].start - first_leg) if len(visits) > 2 else morning
    stops, lunch, previous_site = [], None, None
    for i, visit in enumerate(visits[1:-1], 1):
        node: SiteVisit = model.nodes[visit.node]
        site = node.site
        arrive = leave + first_leg if i == 1 else visit.arrive
        depart = visit.start + (node.service if node.lunch == "inside" else node.minutes)
        if node.lunch:
            meal = visit.start - visit.start % DAY + LUNCH_INSIDE_AT if node.lunch == "inside" else depart
            lunch = {"start": _stamp(date0, meal), "end": _stamp(date0, meal + LUNCH_MINUTES),
                     "near_zh": site["name_zh"], "near_en": site["name_en"], "inside": node.lunch == "inside"}
        area = areas.get(site.get("area") or "")
        stops.append({
            "site_id": site["id"], "name_zh": site["name_zh"], "name_en": site["name_en"],
            "lat": site["lat"], "lon": site["lon"], "arrive": _stamp(date0, arrive),
            "visit_start": _stamp(date0, visit.start), "depart": _stamp(date0, depart),
            "travel_minutes": int(minutes[path[i - 1], path[i]]),
            "distance_km": max(0.1, round(float(km[path[i - 1], path[i]]), 1)),
            "visit_minutes": depart - visit.start, "category": site["category"],
            "summary_zh": site["summary_zh"], "summary_en": site["summary_en"],
            "ticket_cny": site["ticket_cny"], "importance": site["importance"],
            "precision_m": int(site["coord_precision_m"]),
            "approximate": int(site["coord_precision_m"]) > APPROXIMATE_M,
            "outdoor": is_outdoor(site),
            "area": {"id": area["id"], "name_zh": area["name_zh"], "name_en": area["name_en"]} if area else None,
            "ticket_in_area": bool(area),
            "by_area_bus": _on_area_bus(previous_site, site, area),
        })
        previous_site = site
    last_leg = int(minutes[path[-2], path[-1]])
    arrive_end = (visits[-2].depart if len(visits) > 2 else leave) + last_leg
    end_place = _place_of(model, path[-1])
    return {
        "date": model.dates[day].isoformat(),
        "start": _endpoint(_place_of(model, path[0]), date0, leave),
        "stops": stops,
        "end": _endpoint(end_place, date0, arrive_end)
        | {"travel_minutes": last_leg, "distance_km": round(float(km[path[-2], path[-1]]), 1)},
        "lunch": lunch,
        "sunset": hhmm(sunset_minutes(model.dates[day], end_place.lat, end_place.lon)),
        "day_start": _stamp(date0, morning),
    }


def _on_area_bus(previous: dict | None, site: dict, area: dict | None) -> bool:
    """Whether the leg from `previous` to `site` runs between two stops of their scenic area's sightseeing bus
    (areas.yaml `shuttle_sites`), so the itinerary can say the bus is the way to go."""
    network = set((area or {}).get("shuttle_sites") or [])
    return previous is not None and previous.get("area") == site.get("area") and {previous["id"], site["id"]} <= network


def _endpoint(place: Place, date0: dt.date, minute: int) -> dict:
    return {"name": place.name_zh, "name_zh": place.name_zh, "name_en": place.name_en, "kind": place.kind,
            "lat": place.lat, "lon": place.lon, "time": _stamp(date0, minute)}


def _unreached(model: Model, problem: toptw.Problem, missing: list[int], pins: dict[str, int]) -> list[dict]:
    out = []
    for node in missing:
        site = model.nodes[node].site
        pinned = pins.get(site["id"])
        if not model.windows[node] and pinned is not None:
            en, zh = (f"closed (or open too briefly) on day {pinned + 1}, the day it is pinned to",
                      f"固定的第 {pinned + 1} 天不开放（或开放时间太短）")
        elif not model.windows[node]:
            en, zh = "closed (or open too briefly) on every day of the trip", "行程期间每天都不开放（或开放时间太短）"
        elif toptw.schedule(problem, 0, [node]) is None and len(model.dates) == 1:
            en, zh = "too far to fit into the day", "距离太远，一天之内无法到达并返回"
        else:
            en, zh = "does not fit into this trip alongside the rest", "无法与其他安排一起放进这次行程"
        out.append({"site_id": site["id"], "name_zh": site["name_zh"], "name_en": site["name_en"],
                    "reason_en": en, "reason_zh": zh})
    return out


def _areas(db: sqlite_utils.Database) -> dict[str, dict]:
    """Ticketed scenic areas by id ({} on a database without them)."""
    if "areas" not in db.table_names():
        return {}
    return {a["id"]: a for a in sitedb.list_areas(db)}


def tickets(days: list[dict], areas: dict[str, dict]) -> dict:
    """Entry tickets of the trip: each scenic area's ticket once, each other site's own; unknown prices are
    listed apart and left out of the total."""
    lines, unknown, seen = [], [], set()
    for stop in (s for d in days for s in d["stops"]):
        area = stop["area"]
        key = ("area", area["id"]) if area else ("site", stop["site_id"])
        if key in seen:
            continue
        seen.add(key)
        item = area if area else {"id": stop["site_id"], "name_zh": stop["name_zh"], "name_en": stop["name_en"]}
        price = areas[area["id"]].get("ticket_cny") if area else stop["ticket_cny"]
        label = {"id": item["id"], "name_zh": item["name_zh"], "name_en": item["name_en"]}
        if price is None:
            unknown.append(label)
        elif price > 0:
            lines.append({"kind": key[0], **label, "cny": price})
    return {"total_cny": round(sum(line["cny"] for line in lines), 1), "lines": lines, "unknown": unknown}


def _itinerary(db: sqlite_utils.Database, model: Model, problem: toptw.Problem, route: list[int], status: str,
               request: TripRequest, must: set[int], seconds: float) -> dict:
    route = _with_all_nights(model, problem, route)
    areas = _areas(db)
    visited_sites = {model.nodes[n].site["id"] for n in route if isinstance(model.nodes[n], SiteVisit)}
    missing = sorted({n for n in must if model.nodes[n].site["id"] not in visited_sites and
                      model.nodes[n].lunch is None})
    days = _days(model, problem, route, areas)
    return {
        "days": days,
        "score": round(sum(model.values[n] for n in route), 1),
        "unreached_must": _unreached(model, problem, missing, request.pin),
        "solver": {"status": status, "seconds": round(seconds, 3)},
        "travel_source": model.matrix.source,
        "destination": model.focus.label() if model.focus else None,
        "tickets": tickets(days, areas),
        "seed": request.seed,
        "request": {
            "origin": request.origin if isinstance(request.origin, str) else list(request.origin),
            "days": request.days, "start_date": model.dates[0].isoformat(),
            "end": request.end if request.end is None or isinstance(request.end, str) else list(request.end),
            "interests": request.interests, "themes": request.themes, "pace": request.pace,
            "must": request.must, "avoid": request.avoid, "destination": request.destination,
            "pin": request.pin, "party": list(request.party), "only_must": request.only_must,
            "arrive_at": request.arrive_at.strftime("%H:%M") if request.arrive_at else None,
        },
    }
