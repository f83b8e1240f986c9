"""Direct answers to plain questions ("黄洋界几点开门？", "is the road to Jinggangshan safe?"), from the database
or, where it holds nothing on the subject, an honest "I can't answer that" with what the bot can do instead.

`answer(db, understood, lang, now)` is a pure function of the database and the understood message: the bot
sends its text and never plans a trip nobody asked for. Everything from the database is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt

from bot import render
from bot.render import esc
from bot.texts import t
from bot.understand import Understanding
from planner import db as sitedb
from planner import gateways
from planner.geo import haversine_m
from planner.sitedata import DESIGNATIONS

NEAR_HUBS = 3
HUB_KINDS = ("station", "airport")


def hub_lines() -> dict[str, set[tuple[str, str]]]:
    """Place id -> the rail lines / flights (zh, en) that `planner.gateways` names for it, with a source."""
    lines: dict[str, set[tuple[str, str]]] = {}
    for city in gateways.CITIES:
        for route in city.routes:
            if route.checked:
                lines.setdefault(route.hub, set()).add((route.line_zh, route.line_en))
    return lines


def _point(db, understood: Understanding) -> dict | None:
    """The site or place the question is about (lat, lon, names), if any."""
    for item_id in (understood.site, understood.destination, understood.origin):
        if not item_id:
            continue
        site = sitedb.get_site(db, item_id, include_hidden=False)
        if site:
            return site
        row = next(iter(db["places"].rows_where("id = ?", [item_id])), None)
        if row:
            return row
    return None


def _near_hubs(db, point: dict, kinds=HUB_KINDS, limit: int = NEAR_HUBS) -> list[tuple[float, dict]]:
    rows = [(haversine_m(point["lat"], point["lon"], r["lat"], r["lon"]) / 1000, r)
            for r in db["places"].rows_where() if r["kind"] in kinds]
    return sorted(rows, key=lambda r: (r[0], r[1]["id"]))[:limit]


def _name(item: dict, lang: str) -> str:
    return esc(item["name_zh"] if lang == "zh" else item["name_en"])


def _designations(site: dict, lang: str) -> str:
    names = [DESIGNATIONS[d][0 if lang == "zh" else 1] for d in site.get("designations") or [] if d in DESIGNATIONS]
    return ("、" if lang == "zh" else "; ").join(names)


def _ticket(site: dict, lang: str) -> str:
    price = site.get("ticket_cny")
    if price is None:
        return t(lang, "ans_ticket_unknown", name=_name(site, lang))
    text = t(lang, "ans_ticket_free" if price == 0 else "ans_ticket", name=_name(site, lang), price=f"{price:g}")
    note = (site.get("ticket_note") or "").strip()
    return text + (f"\n<i>{esc(note)}</i>" if note and lang == "en" else "")


def _site_lines(site: dict, topic: str, lang: str, now: dt.datetime) -> list[str]:
    name = _name(site, lang)
    if topic == "hours":
        return [t(lang, "ans_hours", name=name, hours=esc(render.hours_text(site["hours"], lang)),
                  status=render.status_text(site, now, lang))]
    if topic == "ticket":
        return [_ticket(site, lang)]
    if topic == "visit":
        return [t(lang, "ans_visit", name=name, minutes=site["visit_minutes"])]
    if topic == "designation":
        found = _designations(site, lang)
        return [t(lang, "ans_designations", name=name, list=esc(found)) if found
                else t(lang, "ans_no_designations", name=name)]
    if topic == "suitable":
        return [t(lang, "ans_suitable", name=name, minutes=site["visit_minutes"])]
    return []


def _hub_lines(db, point: dict, lang: str) -> list[str]:
    lines_of = hub_lines()
    out = []
    for km, hub in _near_hubs(db, point):
        lines = "、".join(sorted(z for z, _ in lines_of.get(hub["id"], ()))) if lang == "zh" else \
            ", ".join(sorted(e for _, e in lines_of.get(hub["id"], ())))
        out.append(t(lang, "ans_hub", name=_name(hub, lang), km=f"{km:.0f}", lines=f" · {esc(lines)}" if lines else ""))
    return out


def _city_routes(db, city: gateways.City, lang: str) -> list[str]:
    places = {r["id"]: r for r in db["places"].rows_where()}
    return [t(lang, "ans_city_route", hub=esc(gateways.describe(city, route.hub, _name(places[route.hub], lang), lang)))
            for route in city.routes if route.hub in places]


def answer(db, understood: Understanding, lang: str, now: dt.datetime) -> str:
    """The reply to a question: one paragraph per topic asked, from the database or an honest refusal."""
    site = sitedb.get_site(db, understood.site, include_hidden=False) if understood.site else None
    point = _point(db, understood)
    parts: list[str] = []
    for topic in understood.topics or ["about"]:
        if site and topic in ("hours", "ticket", "visit", "designation", "suitable"):
            parts += _site_lines(site, topic, lang, now)
        elif topic in ("hours", "ticket", "visit", "designation"):
            parts.append(t(lang, "ans_which_site"))
        elif topic == "train":
            city = gateways.BY_ID.get(understood.arriving_from or "")
            if city:
                parts += [t(lang, "ans_city_head", city=esc(city.name(lang)))] + _city_routes(db, city, lang)
            if point:
                parts += [t(lang, "ans_hubs_head", name=_name(point, lang))] + _hub_lines(db, point, lang)
            if not city and not point:
                parts.append(t(lang, "ans_train_where"))
            parts.append(t(lang, "ans_train_check"))
        elif topic == "hotel":
            towns = [_name(r, lang) for _, r in _near_hubs(db, point, ("town",), 3)] if point else []
            parts.append(t(lang, "ans_hotel", towns=("、" if lang == "zh" else ", ").join(towns) or "—"))
        elif topic == "suitable":
            parts.append(t(lang, "ans_suitable_general"))
        elif topic in ("road", "weather"):
            parts.append(t(lang, f"ans_{topic}"))
        elif site:
            parts.append(render.site_card(site, lang, now, history=False))
    if not parts:
        parts.append(t(lang, "ans_cannot"))
    return render.fit("\n\n".join(dict.fromkeys(parts)))
