"""Where a trip should concentrate: a request's `destination` text resolved to a focus.

A focus is a set of "destination sites" plus, for places, a centre and a radius:
- a ticketed scenic area (井冈山风景名胜区, 武功山…): its member sites; a county (炎陵县, 井冈山市 or just
  炎陵, 井冈山): its sites; a place lookup that names both (井冈山 is a county-level city and a scenic area)
  takes both;
- a site (by name, alias or id): that site, with the sites within SITE_RADIUS_KM around it;
- a town, station or airport: the sites within PLACE_RADIUS_KM;
- a theme (秋收起义, waterfalls, `autumn-harvest-uprising`): the sites with that theme, no centre.
Ids of places and sites work too (the bot sends them). Names must match exactly (after trimming
县/市/区/风景名胜区 and the English "County", "City", "Scenic Area"): a destination is never silently
replaced by a similar-sounding one; otherwise InputError lists the closest names.

How the planner uses a focus (planner.trip): destination sites get more value, sites far from the centre
less, and beyond `leave_out_km(days)` none; overnight towns near the centre get a bonus, so a trip to 井冈山
sleeps in 茨坪 every night.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from planner import db as sitedb
from planner.errors import InputError
from planner.geo import haversine_m
from planner.places import candidates, suggest
from planner.sitedata import THEMES

SITE_RADIUS_KM = 15.0
PLACE_RADIUS_KM = 25.0
MIN_RADIUS_KM = 10.0
MIN_PLACE_SITES = 3
_SUFFIXES_ZH = ("风景名胜区", "风景区", "景区", "国家森林公园", "自治县", "县", "市", "区")
_SUFFIXES_EN = (" scenic area", " county", " city", " district", " mountain", " national forest park")


@dataclass(frozen=True)
class Focus:
    kind: str  # "area" | "county" | "site" | "place" | "theme"
    name_zh: str
    name_en: str
    site_ids: frozenset[str]
    lat: float | None = None  # centre (None for a theme)
    lon: float | None = None
    radius_km: float = 0.0  # the destination's extent around the centre

    def distance_km(self, lat: float, lon: float) -> float:
        """Straight-line distance from the destination (0 inside its radius); 0 for a theme."""
        if self.lat is None:
            return 0.0
        return max(0.0, haversine_m(self.lat, self.lon, lat, lon) / 1000 - self.radius_km)

    def leave_out_km(self, days: int) -> float:
        """Sites further than this from the destination are not planned: a day's drive out and back grows
        with the trip (a 1-day trip keeps 50 km around the destination, a 5-day trip 130 km)."""
        return 30.0 + 20.0 * days

    def label(self) -> dict:
        return {"name_zh": self.name_zh, "name_en": self.name_en}


def _key(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip().lower())
    for suffix in _SUFFIXES_ZH + _SUFFIXES_EN:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)].strip()
    return text


def resolve_destination(db: sqlite_utils.Database, text: str) -> Focus:
    """The focus a destination text names, or InputError("destination") with the closest names."""
    text = (text or "").strip()
    if not text or len(text) > 100:
        raise InputError("destination", "the destination is a place or theme name of 1 to 100 characters",
                         "目的地须为 1 到 100 个字符的地名或主题")
    place = next((p for p in sitedb.list_places(db) if p["id"] == text), None)
    if place is not None:  # a place id (the bot's understanding sends ids): resolve its name, so that 井冈山市
        text = place["name_zh"]  # means the 井冈山 scenic area and county rather than a 25-km circle
    key = _key(text)
    sites = sitedb.list_sites(db)
    theme = _theme(key, sites)
    if theme:
        return theme
    found = [f for f in (_area(db, key, sites), _county(db, key, sites)) if f]
    if found:
        return _merge(found, sites)
    site = _site(key, text, sites)
    if site:
        return site
    place = _place(db, key, text, sites)
    if place:
        return place
    raise InputError("destination", f"no place, scenic area or theme called {text!r}; closest: "
                     f"{', '.join(suggest(db, text, 'en'))}",
                     f"找不到目的地「{text}」；最接近的有：{'、'.join(suggest(db, text, 'zh'))}")


def _theme(key: str, sites: list[dict]) -> Focus | None:
    for theme_id, (zh, en) in THEMES.items():
        if key in (theme_id, zh, en.lower(), _key(en)):
            members = frozenset(s["id"] for s in sites if theme_id in s["themes"])
            return Focus("theme", zh, en, members)
    return None


def _area(db: sqlite_utils.Database, key: str, sites: list[dict]) -> Focus | None:
    if "areas" not in db.table_names():
        return None
    for area in db["areas"].rows:
        if key in (area["id"], _key(area["name_zh"]), _key(area["name_en"])):
            members = [s for s in sites if s.get("area") == area["id"]]
            if members:
                return _around(("area", area["name_zh"], area["name_en"]), members)
    return None


def _county(db: sqlite_utils.Database, key: str, sites: list[dict]) -> Focus | None:
    for county in db["counties"].rows:
        if key in (_key(county["name_zh"]), _key(county["name_en"]), str(county["adcode"])):
            members = [s for s in sites if s["county_adcode"] == county["adcode"]]
            if members:
                return _around(("county", county["name_zh"], county["name_en"]), members)
    return None


def _site(key: str, text: str, sites: list[dict]) -> Focus | None:
    for site in sites:
        names = [site["id"], site["name_zh"], site["name_en"], *site["aliases"]]
        if text in names or key in {_key(n) for n in names}:
            near = [s for s in sites
                    if haversine_m(site["lat"], site["lon"], s["lat"], s["lon"]) <= SITE_RADIUS_KM * 1000]
            return Focus("site", site["name_zh"], site["name_en"], frozenset(s["id"] for s in near),
                         site["lat"], site["lon"], SITE_RADIUS_KM)
    return None


def _place(db: sqlite_utils.Database, key: str, text: str, sites: list[dict]) -> Focus | None:
    for name, place in candidates(db):
        if place.kind == "site":
            continue
        if name == text or _key(name) == key:
            # the sites within PLACE_RADIUS_KM, and at least the MIN_PLACE_SITES nearest (a station in a city)
            by_distance = sorted((haversine_m(place.lat, place.lon, s["lat"], s["lon"]) / 1000, s["id"])
                                 for s in sites)
            radius = max(PLACE_RADIUS_KM, by_distance[min(MIN_PLACE_SITES, len(by_distance)) - 1][0])
            near = frozenset(i for km, i in by_distance if km <= radius)
            return Focus("place", place.name_zh, place.name_en, near, place.lat, place.lon, radius)
    return None


def _around(label: tuple[str, str, str], members: list[dict]) -> Focus:
    """A focus centred on its sites, with the radius that holds most of them (the farthest fifth may lie
    outside: a county's remote corner should not widen the whole destination)."""
    lat = float(np.mean([s["lat"] for s in members]))
    lon = float(np.mean([s["lon"] for s in members]))
    spread = [haversine_m(lat, lon, s["lat"], s["lon"]) / 1000 for s in members]
    radius = max(MIN_RADIUS_KM, float(np.percentile(spread, 80)))
    kind, zh, en = label
    return Focus(kind, zh, en, frozenset(s["id"] for s in members), lat, lon, radius)


def _merge(found: list[Focus], sites: list[dict]) -> Focus:
    """One focus for a name that is both a scenic area and a county (井冈山): their sites together, named
    after the first (the scenic area)."""
    if len(found) == 1:
        return found[0]
    ids = frozenset().union(*(f.site_ids for f in found))
    merged = _around((found[0].kind, found[0].name_zh, found[0].name_en), [s for s in sites if s["id"] in ids])
    return merged
