"""Trip requests from forms, query strings and JSON; solving them; and the stored, shareable itineraries.

The optimiser is a time-limited heuristic, so the same request can give a slightly different itinerary on
another run. A shared link therefore points at the stored itinerary (`shared_plans`, keyed by a short random
id), while the request link (`/plan?from=…`) plans again.

With PLAN_WORKERS > 0 plans are solved in that many worker processes, at a lower CPU priority than the web
server, so a burst of plans never holds the interpreter lock the page requests need.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import re
import secrets
import threading
from collections.abc import Callable
from urllib.parse import urlencode

import sqlite_utils
from flask import Flask, current_app

from planner import db as sitedb
from planner import toptw
from planner.changes import changed_request
from planner.errors import InputError
from planner.sitedata import THEMES
from planner.trip import (
    MAX_DAYS,
    MAX_SEED,
    PACES,
    PARTY,
    TripRequest,
    for_a_server,
    parse_interests,
    solve_trip,
    today_in_china,
)
from web.storage import get_db

PLAN_ID = re.compile(r"^[A-Za-z0-9_-]{6,32}$")
SITE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_LIST = 80  # a changed 10-day plan keeps every stop as a must-see, so more than a form would ever send
MAX_TEXT = 100
MAX_AHEAD_DAYS = 730
REQUEST_KEYS = {"origin", "from", "end", "to", "days", "start_date", "date", "interests", "themes", "pace",
                "must", "avoid", "time_limit", "destination", "party", "arrive_at", "pin", "seed", "only_must"}
LIST_KEYS = ("interests", "themes", "must", "avoid", "party")
PIN_TEXT = re.compile(r"^([a-z0-9]+(?:-[a-z0-9]+)*):(\d{1,2})$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
TRUE_WORDS = ("1", "true", "yes", "on")


CANONICAL = {"from": "origin", "to": "end", "date": "start_date"}


class PlannerBusy(Exception):
    """The solver pool did not answer in time (or a worker died)."""


# ---------------------------------------------------------------- tables

def ensure_tables(db: sqlite_utils.Database) -> None:
    if "shared_plans" not in db.table_names():
        db["shared_plans"].create({"id": str, "created_at": str, "request": str, "itinerary": str}, pk="id",
                                  not_null={"created_at", "itinerary"})


def store_plan(db: sqlite_utils.Database, itinerary: dict) -> str:
    for _ in range(5):
        plan_id = secrets.token_urlsafe(6)
        with sitedb.transaction(db):
            if db["shared_plans"].count_where("id = ?", [plan_id]):
                continue
            db["shared_plans"].insert({
                "id": plan_id, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "request": json.dumps(itinerary.get("request"), ensure_ascii=False),
                "itinerary": json.dumps(itinerary, ensure_ascii=False),
            })
        return plan_id
    raise RuntimeError("could not find a free plan id")


def load_plan(db: sqlite_utils.Database, plan_id: str) -> dict | None:
    if not isinstance(plan_id, str) or not PLAN_ID.match(plan_id):
        return None
    rows = list(db["shared_plans"].rows_where("id = ?", [plan_id]))
    if not rows:
        return None
    return {"id": plan_id, "created_at": rows[0]["created_at"], "itinerary": json.loads(rows[0]["itinerary"])}


# ---------------------------------------------------------------- reading a request

def _values(getlist: Callable[[str], list], *names: str) -> list:
    out: list = []
    for name in names:
        out += [v for v in getlist(name) if v not in (None, "")]
    return out


def _one(getlist, field: str, *names: str):
    values = _values(getlist, *names)
    if len(values) > 1 and len({json.dumps(v, sort_keys=True) for v in values}) > 1:
        raise InputError(field, "give this only once", "此项只能填写一次")
    return values[0] if values else None


def _text(value, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(field, "must be text", "须为文本")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InputError(field, f"at most {MAX_TEXT} characters", f"最多 {MAX_TEXT} 个字符")
    if any(ord(c) < 32 for c in value):
        raise InputError(field, "contains control characters", "含有控制字符")
    return value or None


def _place(value, field: str):
    """A place name, 'lat,lon' text, or (in JSON) a [lat, lon] pair."""
    if isinstance(value, list | tuple):
        if len(value) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise InputError(field, "a point is [lat, lon] with two numbers", "坐标须为 [纬度, 经度] 两个数字")
        if not all(abs(v) < 1000 for v in value):
            raise InputError(field, "that point is not on Earth", "坐标超出范围")
        return float(value[0]), float(value[1])
    return _text(value, field)


def _int(value, field: str, lo: int, hi: int, message: tuple[str, str]) -> int:
    if isinstance(value, bool):
        raise InputError(field, *message)
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,6}", value):
            raise InputError(field, *message)
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(field, *message)
    return value


def _date(value, field: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise InputError(field, "must be a date YYYY-MM-DD", "须为日期 YYYY-MM-DD")
    try:
        date = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(field, "must be a real date YYYY-MM-DD", "须为有效日期 YYYY-MM-DD") from None
    today = today_in_china()
    if date < today:
        raise InputError(field, f"{date} is in the past", f"{date} 已经过去了")
    if date > today + dt.timedelta(days=MAX_AHEAD_DAYS):
        raise InputError(field, "plan at most two years ahead", "最多提前两年规划")
    return date


def _ids(values: list, field: str) -> list[str]:
    ids: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InputError(field, "must be site ids (text)", "须为景点编号（文本）")
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if len(part) > 80 or not SITE_ID.match(part):
                raise InputError(field, f"{part[:40]!r} is not a site id", f"{part[:40]!r} 不是景点编号")
            if part not in ids:
                ids.append(part)
    if len(ids) > MAX_LIST:
        raise InputError(field, f"at most {MAX_LIST} sites", f"最多 {MAX_LIST} 个景点")
    return ids


def _interests(values: list) -> dict[str, float]:
    if not values:
        raise InputError("interests", "choose at least one interest", "请至少选择一个兴趣")
    if len(values) == 1 and isinstance(values[0], dict):
        weights = values[0]
        if set(weights) - {"red", "eco"}:
            raise InputError("interests", "interests are red and eco", "兴趣只有 red 和 eco")
        text = ",".join(f"{k}:{v}" for k, v in weights.items())
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in weights.values()):
            raise InputError("interests", "weights are numbers", "权重须为数字")
    else:
        if not all(isinstance(v, str) for v in values):
            raise InputError("interests", "interests are red and eco", "兴趣只有 red 和 eco")
        text = ",".join(values)
    if len(text) > MAX_TEXT:
        raise InputError("interests", "too long", "太长了")
    return parse_interests(text)


def _themes(values: list) -> list[str]:
    themes: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InputError("themes", "themes are text", "主题须为文本")
        for part in value.split(","):
            part = part.strip()
            if part and part not in THEMES:
                raise InputError("themes", f"unknown theme {part[:40]!r}", f"未知主题 {part[:40]!r}")
            if part and part not in themes:
                themes.append(part)
    return themes


def _party(values: list) -> list[str]:
    party: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InputError("party", "party is text", "同行人员须为文本")
        for part in value.split(","):
            part = part.strip()
            if part and part not in PARTY:
                raise InputError("party", f"{part[:40]!r} is not one of {', '.join(PARTY)}",
                                 f"{part[:40]!r} 不是 children（儿童）、seniors（老人）或 no-car（无车）")
            if part and part not in party:
                party.append(part)
    return party


def _arrive_at(value) -> dt.time | None:
    if value is None:
        return None
    match = CLOCK.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InputError("arrive_at", "the arrival time is a time of day HH:MM, e.g. 10:45",
                         "到达时间须为 HH:MM，例如 10:45")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _pin(values: list, days: int) -> dict[str, int]:
    """Site id -> day index from 0. JSON sends that object as it is; forms and links send 'site-id:N' with N
    the day number as travellers count it (day 1 is the first day)."""
    pins: dict[str, int] = {}
    for value in values:
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, str):
            items = []
            for part in (p.strip() for p in value.split(",")):
                match = PIN_TEXT.match(part) if part else None
                if part and not match:
                    raise InputError("pin", f"{part[:40]!r} is not 'site-id:day'",
                                     f"{part[:40]!r} 须为「景点编号:第几天」")
                if match:
                    items.append((match.group(1), int(match.group(2)) - 1))
        else:
            raise InputError("pin", "pin maps site ids to days", "pin 须为「景点编号 → 第几天」")
        for site_id, day in items:
            if not isinstance(site_id, str) or len(site_id) > 80 or not SITE_ID.match(site_id):
                raise InputError("pin", f"{str(site_id)[:40]!r} is not a site id",
                                 f"{str(site_id)[:40]!r} 不是景点编号")
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day < days:
                raise InputError("pin", f"{site_id}: that day is not in this {days}-day trip",
                                 f"{site_id}：这一天不在 {days} 天的行程内")
            pins[site_id] = day
    if len(pins) > MAX_LIST:
        raise InputError("pin", f"at most {MAX_LIST} sites", f"最多 {MAX_LIST} 个景点")
    return pins


def _seed(value) -> int:
    if value is None:
        return 0
    return _int(value, "seed", 0, MAX_SEED, (f"the seed is a whole number from 0 to {MAX_SEED}",
                                             f"随机种子须为 0 到 {MAX_SEED} 的整数"))


def _only_must(getlist: Callable[[str], list]) -> bool:
    """only_must: visit the must-see sites and nothing else (a plan with a stop dropped keeps just the rest)."""
    value = _one(getlist, "only_must", "only_must")
    if value is None or value is False:
        return False
    if value is True or (isinstance(value, str) and value.strip().lower() in TRUE_WORDS):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise InputError("only_must", "must be true or false", "须为 true 或 false")


def read_request(getlist: Callable[[str], list], *, default_time_limit: float, max_time_limit: float,
                 allow_time_limit: bool = False) -> TripRequest:
    """A TripRequest from named values (`getlist(name)` -> list); InputError names the first bad field."""
    origin = _place(_one(getlist, "origin", "origin", "from"), "origin")
    if origin is None:
        raise InputError("origin", "say where the trip starts", "请告诉我从哪里出发")
    end = _place(_one(getlist, "end", "end", "to"), "end")
    days_value = _one(getlist, "days", "days")
    if days_value is None:
        raise InputError("days", "say how many days", "请填写天数")
    days = _int(days_value, "days", 1, MAX_DAYS,
                (f"a trip lasts 1 to {MAX_DAYS} days", f"行程天数须为 1 到 {MAX_DAYS} 天"))
    start_date = _date(_one(getlist, "start_date", "start_date", "date"), "start_date")
    interest_values = _values(getlist, "interests")
    interests = _interests(interest_values) if interest_values else {"red": 1.0, "eco": 1.0}
    themes = _themes(_values(getlist, "themes"))
    pace = _one(getlist, "pace", "pace") or "normal"
    if pace not in PACES:
        raise InputError("pace", "pace is relaxed, normal or packed",
                         "节奏须为 relaxed（轻松）、normal（适中）或 packed（紧凑）")
    must = _ids(_values(getlist, "must"), "must")
    avoid = _ids(_values(getlist, "avoid"), "avoid")
    time_limit = default_time_limit
    raw_limit = _one(getlist, "time_limit", "time_limit")
    if raw_limit is not None:
        if not allow_time_limit:
            raise InputError("time_limit", "is not a setting here", "此处不能设置")
        try:
            time_limit = float(raw_limit)
        except (TypeError, ValueError):
            raise InputError("time_limit", "must be a number of seconds", "须为秒数") from None
        if isinstance(raw_limit, bool) or not 0.1 <= time_limit <= max_time_limit:
            raise InputError("time_limit", f"between 0.1 and {max_time_limit} seconds",
                             f"须在 0.1 到 {max_time_limit} 秒之间")
    return TripRequest(origin=origin, days=days, start_date=start_date, end=end, interests=interests,
                       themes=themes, pace=pace, must=must, avoid=avoid, time_limit=time_limit,
                       destination=_text(_one(getlist, "destination", "destination"), "destination"),
                       party=_party(_values(getlist, "party")),
                       arrive_at=_arrive_at(_one(getlist, "arrive_at", "arrive_at")),
                       pin=_pin(_values(getlist, "pin"), days), seed=_seed(_one(getlist, "seed", "seed")),
                       only_must=_only_must(getlist))


def request_from_json(body) -> TripRequest:
    if not isinstance(body, dict):
        raise InputError("body", "send a JSON object", "请求体须为 JSON 对象")
    unknown = sorted(set(body) - REQUEST_KEYS - {"share"})
    if unknown:
        raise InputError(unknown[0][:40], "is not a request field", "不是请求字段")

    def getlist(name):
        value = body.get(name)
        if value is None:
            return []
        if name in LIST_KEYS and isinstance(value, list):
            return value
        if isinstance(value, list) and name not in ("origin", "from", "end", "to"):
            raise InputError(CANONICAL.get(name, name), "must be a single value, not a list", "须为单个值，不能是列表")
        return [value]

    cfg = current_app.config
    return read_request(getlist, default_time_limit=cfg["PLAN_TIME_LIMIT"], max_time_limit=cfg["PLAN_MAX_TIME_LIMIT"],
                        allow_time_limit=True)


def request_from_args(args) -> TripRequest:
    cfg = current_app.config
    return read_request(args.getlist, default_time_limit=cfg["PLAN_TIME_LIMIT"],
                        max_time_limit=cfg["PLAN_MAX_TIME_LIMIT"])


def request_params(request_dict: dict) -> list[tuple[str, str]]:
    """The request link's parameters for an itinerary's `request` object (as the planner echoes it)."""
    params: list[tuple[str, str]] = []
    origin = request_dict.get("origin")
    params.append(("from", ",".join(map(str, origin)) if isinstance(origin, list) else str(origin or "")))
    params.append(("days", str(request_dict.get("days", ""))))
    if request_dict.get("start_date"):
        params.append(("date", request_dict["start_date"]))
    end = request_dict.get("end")
    if end:
        params.append(("to", ",".join(map(str, end)) if isinstance(end, list) else str(end)))
    if request_dict.get("destination"):
        params.append(("destination", str(request_dict["destination"])))
    weights = request_dict.get("interests") or {}
    if weights and any(v not in (0, 1) for v in weights.values()):
        params.append(("interests", ",".join(f"{k}:{v:g}" for k, v in weights.items() if v)))
    else:
        params += [("interests", k) for k, v in weights.items() if v]
    params += [("themes", theme) for theme in request_dict.get("themes") or []]
    params.append(("pace", request_dict.get("pace") or "normal"))
    params += [("party", p) for p in request_dict.get("party") or []]
    if request_dict.get("arrive_at"):
        params.append(("arrive_at", str(request_dict["arrive_at"])))
    params += [("must", s) for s in request_dict.get("must") or []]
    params += [("pin", f"{s}:{day + 1}") for s, day in (request_dict.get("pin") or {}).items()]
    params += [("avoid", s) for s in request_dict.get("avoid") or []]
    if request_dict.get("only_must"):
        params.append(("only_must", "1"))
    if request_dict.get("seed"):
        params.append(("seed", str(request_dict["seed"])))
    return params


def request_query(request_dict: dict) -> str:
    """The query string of the request link for an itinerary's `request` object."""
    return urlencode(request_params(request_dict))


# ---------------------------------------------------------------- changing a plan

def changed_params(itinerary: dict, action: str, site_id: str | None, day: int | None,
                   listed: set[str]) -> list[tuple[str, str]]:
    """The request link's parameters for `itinerary` after one change (planner.changes)."""
    return request_params(changed_request(itinerary, action, site_id, day, listed))


def getlist_of(params: list[tuple[str, str]]) -> Callable[[str], list]:
    return lambda name: [v for k, v in params if k == name]


# ---------------------------------------------------------------- solving

_pool_lock = threading.Lock()
_worker_db = None


def init_app(app: Flask) -> None:
    app.extensions["hongtu_plan_pool"] = None


def _pool(app: Flask) -> concurrent.futures.ProcessPoolExecutor | None:
    workers = int(app.config.get("PLAN_WORKERS") or 0)
    if workers <= 0:
        return None
    with _pool_lock:
        pool = app.extensions.get("hongtu_plan_pool")
        if pool is None:
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
                initargs=(str(app.config["HONGTU_DB"]), int(app.config.get("PLAN_WORKER_NICE", 10))))
            app.extensions["hongtu_plan_pool"] = pool
        return pool


def _worker_init(db_path: str, nice: int) -> None:
    global _worker_db
    with contextlib.suppress(OSError):
        os.nice(nice)  # page requests in the server process come first
    _worker_db = sitedb.connect(db_path)
    toptw.warm_up()  # the optimiser's compiled kernels, from numba's cache (server's warm_up wrote it)
    threading.Thread(target=_exit_with_server, daemon=True).start()


def _exit_with_server() -> None:
    """A worker whose server was killed (no clean shutdown) exits instead of lingering."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # returns when the server process has ended, however it ended
        os._exit(0)


def _worker_solve(request: TripRequest) -> tuple[str, dict]:
    try:
        return "ok", solve_trip(_worker_db, request)
    except InputError as e:  # exceptions with keyword arguments do not pickle; send the fields instead
        return "input-error", {**e.as_dict(), "row": e.row}


def _worker_ping(_: int = 0) -> int:
    import time

    time.sleep(0.1)  # long enough that every worker process gets started
    return os.getpid()


def warm_up(app: Flask) -> None:
    """Compile the optimiser's kernels and start the worker processes now rather than on the first plan."""
    toptw.warm_up()
    pool = _pool(app)
    if pool is not None:
        workers = int(app.config["PLAN_WORKERS"])
        list(pool.map(_worker_ping, range(workers * 2)))


def shutdown(app: Flask) -> None:
    pool = app.extensions.get("hongtu_plan_pool")
    if pool is not None:
        app.extensions["hongtu_plan_pool"] = None
        pool.shutdown(wait=True, cancel_futures=True)


_in_flight = 0
MIN_TIME_LIMIT = 0.3


def _share_of_time(request: TripRequest, workers: int, in_flight: int) -> TripRequest:
    """With more plans waiting than workers, a shorter safety cap (never under 0.3 s), so an overload makes
    plans a little less polished (`solver.capped`) instead of making everyone queue for a long time."""
    if in_flight <= workers:
        return request
    limit = max(MIN_TIME_LIMIT, request.time_limit * workers / in_flight)
    return dataclasses.replace(request, time_limit=min(request.time_limit, limit))


def solve(request: TripRequest) -> dict:
    global _in_flight
    app = current_app._get_current_object()
    request = for_a_server(request, app.config.get("PLAN_ITERATIONS"))
    pool = _pool(app)
    if pool is None:  # solved in this (threaded) server process
        return solve_trip(get_db(), request)
    with _pool_lock:
        _in_flight += 1
        in_flight = _in_flight
    try:
        request = _share_of_time(request, int(app.config["PLAN_WORKERS"]), in_flight)
        return _solve_in_pool(app, pool, request)
    finally:
        with _pool_lock:
            _in_flight -= 1


def _solve_in_pool(app: Flask, pool, request: TripRequest) -> dict:
    try:
        status, value = pool.submit(_worker_solve, request).result(timeout=request.time_limit + 60)
    except concurrent.futures.TimeoutError:
        raise PlannerBusy() from None
    except concurrent.futures.process.BrokenProcessPool:
        with _pool_lock:
            if app.extensions.get("hongtu_plan_pool") is pool:
                app.extensions["hongtu_plan_pool"] = None
        raise PlannerBusy() from None
    if status == "input-error":
        raise InputError(value["field"], value["en"], value["zh"], row=value.get("row"))
    return value
