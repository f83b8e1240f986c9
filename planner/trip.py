"""From a trip request to a multi-day itinerary.

The model (a team orienteering problem with time windows, solved by `planner.toptw`):
- Time is minutes since midnight of the first day; day d is the window [d*1440 + day start, d*1440 + day end]
  of the chosen pace, and no drive between two sites may be longer than the pace allows.
- A site is a node whose allowed visit starts are, for each day of the trip, its opening windows on that date
  (seasons and closing days applied) shortened by its visit length, so a visit starts and ends inside opening
  hours. A site closed on every day of the trip has no window at all.
- Value = importance x match to the traveller's interests (x1.5 for a requested theme); must-see sites are
  mandatory nodes; avoided sites are left out.
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
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import sqlite_utils

from planner import toptw
from planner.db import get_site, list_places, list_sites
from planner.errors import InputError
from planner.hours import windows_on
from planner.places import Place, resolve_place
from planner.sitedata import THEMES
from planner.travel import Matrix, provider_from_env

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
    max_leg_minutes: int  # longest drive between two sites (drives from and to the night's town are free)


PACES = {
    "relaxed": Pace(9 * 60, 17 * 60 + 30, 90),
    "normal": Pace(8 * 60 + 30, 18 * 60, 150),
    "packed": Pace(7 * 60 + 30, 19 * 60 + 30, 240),
}


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
    time_limit: float | None = None  # None: default_time_limit(days)
    chains: int | None = None  # independent search chains (processes); None: default_chains()
    destination: str | None = None  # where the plan should concentrate: a town, county, scenic area, site or theme
    seed: int = 0  # the same request with the same seed gives the same plan
    pin: dict[str, int] = field(default_factory=dict)  # site id -> day index from 0: visit that site that day
    arrive_at: dt.time | None = None  # when the traveller is at the origin on day 1 (e.g. a train's arrival)
    party: list[str] = field(default_factory=list)  # any of PARTY: shorter days, no strenuous sites


def default_time_limit(days: int) -> float:
    """Seconds for the optimiser: under half a second up to three days (a chat reply), then 0.27 s a day up
    to 1.4 s, as trips of four days and more need it most (measured with `hongtu bench plans`)."""
    return 0.3 + 0.05 * days if days <= 3 else min(1.4, 0.27 * days)


def default_chains() -> int:
    """One search chain per core, at most two: a second chain raised `hongtu bench plans`' mean score; the
    web gives busy servers one chain per plan."""
    return max(1, min(2, os.cpu_count() or 1))


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA_TZ).date()


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


def check_request(db: sqlite_utils.Database, request: TripRequest) -> None:
    if isinstance(request.days, bool) or not isinstance(request.days, int) or not 1 <= request.days <= MAX_DAYS:
        raise InputError("days", f"a trip lasts 1 to {MAX_DAYS} days", f"行程天数须为 1 到 {MAX_DAYS} 天")
    if request.start_date is not None and request.start_date < today_in_china():
        raise InputError("start_date", f"{request.start_date} is in the past", f"{request.start_date} 已经过去了")
    if request.pace not in PACES:
        raise InputError("pace", "pace is relaxed, normal or packed",
                         "节奏须为 relaxed（轻松）、normal（适中）或 packed（紧凑）")
    if request.time_limit is None:
        request.time_limit = default_time_limit(request.days if isinstance(request.days, int) else 1)
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


def site_value(site: dict, request: TripRequest) -> float:
    weights = request.interests
    match = max(weights["red"], weights["eco"]) if site["category"] == "both" else weights[site["category"]]
    if request.themes and set(request.themes) & set(site["themes"]):
        match *= 1.5
    return site["importance"] * match


# ---------------------------------------------------------------- the model

# Larger than any trip's total site score, so every night gets a town, even before a must-see site.  Night
# nodes are also mandatory, so the optimiser measures its annealing temperature in site scores alone.
NIGHT_SCORE = 10**9


@dataclass
class Model:
    """Nodes: 0 origin, 1 trip end, then one node per (night, town), then the sites."""

    nodes: list  # per node: a Place (origin, end), a (night, Place) pair, or a site dict
    matrix: Matrix
    night_nodes: dict[int, int]  # node -> night number
    sites: list[int]
    values: list[float]
    service: list[int]
    windows: list[list[tuple[int, int]]]
    dates: list[dt.date]
    pace: Pace


ORIGIN, TRIP_END = 0, 1


def build_model(db: sqlite_utils.Database, request: TripRequest, origin: Place, trip_end: Place,
                provider, overnight: dict[int, Place] | None = None) -> Model:
    start = request.start_date or today_in_china()
    dates = [start + dt.timedelta(days=d) for d in range(request.days)]
    pace = PACES[request.pace]
    towns = [Place(p["name_zh"], p["name_en"], p["lat"], p["lon"], p["kind"], p["id"])
             for p in list_places(db) if p["kind"] == "town"]
    sites = [s for s in list_sites(db) if s["id"] not in request.avoid]
    sites = [s for s in sites if site_value(s, request) > 0 or s["id"] in request.must]
    places = [origin, trip_end, *towns]
    base = provider.matrix([(p.lat, p.lon) for p in places] + [(s["lat"], s["lon"]) for s in sites])
    reach = _Reach(base.minutes, len(places), request.days, pace)
    keep = [i for i, s in enumerate(sites) if s["id"] in request.must or reach.site(i, s["visit_minutes"])]
    base_rows = list(range(len(places))) + [len(places) + i for i in keep]
    base = Matrix(base.minutes[np.ix_(base_rows, base_rows)], base.km[np.ix_(base_rows, base_rows)], base.source)
    sites = [sites[i] for i in keep]

    nodes: list = [origin, trip_end]
    point_of = [0, 1]  # node -> row of `base`
    night_nodes: dict[int, int] = {}
    night_length = DAY - (pace.day_end - pace.day_start)
    windows: list[list[tuple[int, int]]] = [[], []]
    service = [0, 0]
    for night in range(request.days - 1):
        fixed = (overnight or {}).get(night)
        for t, town in enumerate(towns):
            if (town.id != fixed.id) if fixed is not None else not reach.town(2 + t, night):
                continue
            night_nodes[len(nodes)] = night
            nodes.append((night, town))
            point_of.append(2 + t)
            evening = night * DAY + pace.day_end
            windows.append([(evening, evening)])
            service.append(night_length)
    first_site = len(nodes)
    for i, site in enumerate(sites):
        nodes.append(site)
        point_of.append(len(places) + i)
        windows.append(_site_windows(site, dates, pace))
        service.append(site["visit_minutes"])

    index = np.array(point_of)
    minutes = base.minutes[np.ix_(index, index)]
    km = base.km[np.ix_(index, index)]
    legs = minutes[first_site:, first_site:]
    minutes[first_site:, first_site:] = np.where(legs > pace.max_leg_minutes, INF, legs)
    values = [0.0] * first_site + [site_value(s, request) for s in sites]
    return Model(nodes, Matrix(minutes, km, base.source), night_nodes, list(range(first_site, len(nodes))),
                 values, service, windows, dates, pace)


class _Reach:
    """Cheap necessary conditions that leave out sites and overnight towns no itinerary could use, so that the
    optimiser's time goes to the ones it can."""

    def __init__(self, minutes: np.ndarray, first_site: int, days: int, pace: Pace):
        self.minutes, self.first_site, self.days = minutes, first_site, days
        self.day_length = pace.day_end - pace.day_start

    def site(self, i: int, visit_minutes: int) -> bool:
        node = self.first_site + i
        there, back = self.minutes[ORIGIN, node], self.minutes[node, TRIP_END]
        if self.days == 1:
            return there + visit_minutes + back <= self.day_length
        return max(there, back) <= self.days * self.day_length

    def town(self, node: int, night: int) -> bool:
        there, onward = self.minutes[ORIGIN, node], self.minutes[node, TRIP_END]
        return there <= (night + 1) * self.day_length and onward <= (self.days - 1 - night) * self.day_length


def _site_windows(site: dict, dates: list[dt.date], pace: Pace) -> list[tuple[int, int]]:
    out = []
    for d, date in enumerate(dates):
        for open_at, close_at in windows_on(date, site["hours"], site["seasons"]):
            first = max(open_at, pace.day_start)
            last = min(close_at, pace.day_end) - site["visit_minutes"]
            if first <= last:
                out.append((d * DAY + first, d * DAY + last))
    return out


def build_problem(model: Model, must: set[int]) -> toptw.Problem:
    score = [round(v * 10) for v in model.values]
    for node in model.night_nodes:
        score[node] = NIGHT_SCORE
    last_day = len(model.dates) - 1
    route = toptw.Route(ORIGIN, TRIP_END, model.pace.day_start, last_day * DAY + model.pace.day_end)
    towns_by_night: dict[int, list[int]] = {}
    for node, night in model.night_nodes.items():
        towns_by_night.setdefault(night, []).append(node)
    return toptw.Problem(travel=model.matrix.minutes.tolist(), service=model.service, score=score,
                         windows=model.windows, routes=[route], mandatory=frozenset(must | set(model.night_nodes)),
                         exclusive=list(towns_by_night.values()))


def solve_trip(db: sqlite_utils.Database, request: TripRequest, provider=None,
               overnight: dict[int, str] | None = None) -> dict:
    """Plan the trip and return the itinerary (the `hongtu plan --json` object).

    `overnight` optionally fixes the town for some nights: {night number from 0: place name}.
    """
    started = time.perf_counter()
    check_request(db, request)
    origin = resolve_place(db, request.origin, "origin")
    trip_end = resolve_place(db, request.end, "end") if request.end else origin
    fixed = {n: resolve_place(db, name, "overnight") for n, name in (overnight or {}).items()}
    model = build_model(db, request, origin, trip_end, provider or provider_from_env(os.environ), fixed)
    must = {n for n in model.sites if model.nodes[n]["id"] in request.must}
    problem = build_problem(model, must)
    remaining = max(0.05, request.time_limit - (time.perf_counter() - started))
    solution = toptw.solve(problem, remaining, workers=request.chains or default_chains())
    return _itinerary(model, problem, solution.routes[0], solution.status, request, must,
                      time.perf_counter() - started)


# ---------------------------------------------------------------- reading the solution

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


def _days(model: Model, problem: toptw.Problem, route: list[int]) -> list[dict]:
    visits = toptw.schedule(problem, 0, route)
    if visits is None:  # the optimiser's answer is re-checked, never trusted
        raise RuntimeError("the optimiser returned an infeasible route")
    days, current = [], [visits[0]]
    for visit in visits[1:]:
        current.append(visit)
        if visit.node in model.night_nodes or visit.node == TRIP_END:
            days.append(current)
            current = [visit]
    return [_day(model, d, day_visits) for d, day_visits in enumerate(days)]


def _day(model: Model, day: int, visits: list[toptw.Visit]) -> dict:
    minutes, km = model.matrix.minutes, model.matrix.km
    path = [v.node for v in visits]
    date0 = model.dates[0]
    morning = day * DAY + model.pace.day_start
    first_leg = int(minutes[path[0], path[1]])
    # Leave just in time for the first visit rather than at dawn; a night's "depart" is the next morning.
    leave = max(morning, visits[1].start - first_leg) if len(visits) > 2 else morning
    stops = []
    for i, visit in enumerate(visits[1:-1], 1):
        site = model.nodes[visit.node]
        arrive = leave + first_leg if i == 1 else visit.arrive
        stops.append({
            "site_id": site["id"], "name_zh": site["name_zh"], "name_en": site["name_en"],
            "lat": site["lat"], "lon": site["lon"], "arrive": _stamp(date0, arrive),
            "visit_start": _stamp(date0, visit.start), "depart": _stamp(date0, visit.depart),
            "travel_minutes": int(minutes[path[i - 1], path[i]]),
            "distance_km": round(float(km[path[i - 1], path[i]]), 1),
            "visit_minutes": site["visit_minutes"], "category": site["category"],
            "summary_zh": site["summary_zh"], "summary_en": site["summary_en"],
            "ticket_cny": site["ticket_cny"], "importance": site["importance"],
        })
    last_leg = int(minutes[path[-2], path[-1]])
    arrive_end = (visits[-2].depart if len(visits) > 2 else leave) + last_leg
    return {
        "date": model.dates[day].isoformat(),
        "start": _endpoint(_place_of(model, path[0]), date0, leave),
        "stops": stops,
        "end": _endpoint(_place_of(model, path[-1]), date0, arrive_end)
        | {"travel_minutes": last_leg, "distance_km": round(float(km[path[-2], path[-1]]), 1)},
    }


def _endpoint(place: Place, date0: dt.date, minute: int) -> dict:
    return {"name": place.name_zh, "name_zh": place.name_zh, "name_en": place.name_en, "kind": place.kind,
            "lat": place.lat, "lon": place.lon, "time": _stamp(date0, minute)}


def _unreached(model: Model, problem: toptw.Problem, missing: list[int]) -> list[dict]:
    out = []
    for node in missing:
        site = model.nodes[node]
        if not model.windows[node]:
            en, zh = "closed (or open too briefly) on every day of the trip", "行程期间每天都不开放（或开放时间太短）"
        elif toptw.schedule(problem, 0, [node]) is None and len(model.dates) == 1:
            en, zh = "too far to fit into the day", "距离太远，一天之内无法到达并返回"
        else:
            en, zh = "does not fit into this trip alongside the rest", "无法与其他安排一起放进这次行程"
        out.append({"site_id": site["id"], "name_zh": site["name_zh"], "name_en": site["name_en"],
                    "reason_en": en, "reason_zh": zh})
    return out


def _itinerary(model: Model, problem: toptw.Problem, route: list[int], status: str, request: TripRequest,
               must: set[int], seconds: float) -> dict:
    route = _with_all_nights(model, problem, route)
    visited = set(route)
    return {
        "days": _days(model, problem, route),
        "score": round(sum(model.values[n] for n in route), 1),
        "unreached_must": _unreached(model, problem, sorted(must - visited)),
        "solver": {"status": status, "seconds": round(seconds, 3)},
        "travel_source": model.matrix.source,
        "request": {
            "origin": request.origin if isinstance(request.origin, str) else list(request.origin),
            "days": request.days, "start_date": model.dates[0].isoformat(),
            "end": request.end if request.end is None or isinstance(request.end, str) else list(request.end),
            "interests": request.interests, "themes": request.themes, "pace": request.pace,
            "must": request.must, "avoid": request.avoid, "destination": request.destination,
            "pin": request.pin, "party": list(request.party),
            "arrive_at": request.arrive_at.strftime("%H:%M") if request.arrive_at else None,
        },
        "seed": request.seed,
    }
