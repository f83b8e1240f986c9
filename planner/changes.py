"""Changing a plan: drop or swap a stop, pin a stop to a day, add a day, and keep the rest of the trip.

The web page and the bot both turn an itinerary and one change into a new request (a dict shaped like the
itinerary's own `request`). Every stop that stays becomes a must-see pinned to the day it is on now, and the
seed stays the same, so the re-plan keeps everything the traveller did not ask to change.
"""

from __future__ import annotations

from planner.errors import InputError
from planner.trip import MAX_DAYS

CHANGES = ("drop", "swap", "pin", "add-day")


def stops_by_day(itinerary: dict) -> dict[str, int]:
    """Site id -> index (from 0) of the day it is visited."""
    return {stop["site_id"]: d for d, day in enumerate(itinerary.get("days") or []) for stop in day.get("stops") or []}


def changed_request(itinerary: dict, action: str, site_id: str | None = None, day: int | None = None,
                    listed: set[str] | None = None) -> dict:
    """The request for `itinerary` after one change. `drop` visits only what is left (only_must); `swap` lets
    the planner put another site in its place; `pin` moves a stop to `day` (index from 0; the stops of that day
    may move to another day to make room); `add-day` adds a day at the end. `listed`: the ids of sites still
    published (a site hidden since cannot be kept); None: all."""
    if action not in CHANGES:
        raise InputError("action", "choose drop, swap, pin or add-day",
                         "请选择 drop（删除）、swap（换一个）、pin（指定日期）或 add-day（加一天）")
    request = dict(itinerary.get("request") or {})
    stops = stops_by_day(itinerary)
    if action != "add-day" and site_id not in stops:
        raise InputError("site", "that site is not a stop of this plan", "这个景点不在此行程中")
    days = int(request.get("days") or len(itinerary.get("days") or []) or 1)
    if action == "add-day":
        if days >= MAX_DAYS:
            raise InputError("days", f"a trip lasts 1 to {MAX_DAYS} days", f"行程天数须为 1 到 {MAX_DAYS} 天")
        days += 1
    if action == "pin" and (isinstance(day, bool) or not isinstance(day, int) or not 0 <= day < days):
        raise InputError("day", f"choose a day from 1 to {days}", f"请选择第 1 到第 {days} 天")

    def kept(site: str) -> bool:
        return listed is None or site in listed

    pins = {s: d for s, d in (request.get("pin") or {}).items() if kept(s)}
    pins.update({s: d for s, d in stops.items() if kept(s)})
    must = [s for s in request.get("must") or [] if kept(s)]
    must += [s for s in stops if kept(s) and s not in must]
    avoid = list(request.get("avoid") or [])
    if action in ("drop", "swap"):
        must = [s for s in must if s != site_id]
        pins.pop(site_id, None)
        avoid += [] if site_id in avoid else [site_id]
    elif action == "pin":
        # The stops already on that day stay must-sees but may change day, to make room for the one moved there.
        pins = {s: d for s, d in pins.items() if d != day}
        pins[site_id] = day
    # Only a drop (and a later pin in a plan trimmed by a drop) keeps the trip to the sites left; a swap or a
    # new day asks the planner to fill the free time.
    only_must = action == "drop" or (action == "pin" and bool(request.get("only_must")))
    request.update(days=days, must=must, pin=pins, avoid=avoid, only_must=only_must,
                   seed=itinerary.get("seed", request.get("seed", 0)))
    return request
