"""Where a trip starts or ends: a station, airport, town, county, site, or raw coordinates.

Lookup order: coordinates; an exact id or name; full-text search (Chinese, English, pinyin); then fuzzy
matching (rapidfuzz) over every name and its pinyin, which forgives typos like "Jingganshan".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlite_utils
from rapidfuzz import fuzz, process

from planner.db import list_places, list_sites, search_places, search_sites
from planner.errors import InputError
from planner.search_text import pinyin_forms

# The zone plus the hubs travellers arrive at (Changsha, Zhuzhou, Ji'an, Chenzhou).
NEIGHBOURHOOD = {"lat": (24.5, 30.5), "lon": (111.5, 116.5)}
_COORDS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*$")
FUZZY_CUTOFF = 80


@dataclass(frozen=True)
class Place:
    name_zh: str
    name_en: str
    lat: float
    lon: float
    kind: str  # station | airport | town | site | point
    id: str | None = None

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


def check_point(lat: float, lon: float, field: str = "origin") -> None:
    (lat_lo, lat_hi), (lon_lo, lon_hi) = NEIGHBOURHOOD["lat"], NEIGHBOURHOOD["lon"]
    if not (lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi):
        raise InputError(field, f"{lat}, {lon} is not near the Hunan–Jiangxi border zone",
                         f"{lat}, {lon} 不在湘赣边区域附近")


def point(lat: float, lon: float, field: str = "origin") -> Place:
    check_point(lat, lon, field)
    label = f"{lat:.4f}, {lon:.4f}"
    return Place(f"位置 {label}", f"Location {label}", lat, lon, "point")


def _from_place_row(row: dict) -> Place:
    return Place(row["name_zh"], row["name_en"], row["lat"], row["lon"], row["kind"], row["id"])


def _from_site(site: dict) -> Place:
    return Place(site["name_zh"], site["name_en"], site["lat"], site["lon"], "site", site["id"])


_CANDIDATE_CACHE: dict[tuple, list[tuple[str, Place]]] = {}


def _data_signature(db: sqlite_utils.Database) -> tuple:
    """Changes whenever a site or place is added, edited or hidden through planner.db."""
    path = db.execute("pragma database_list").fetchone()[2]
    counts = db.execute("select (select count(*) from sites), (select max(updated_at) from sites), "
                        "(select count(*) from places)").fetchone()
    return (path or id(db.conn), *counts)


def candidates(db: sqlite_utils.Database) -> list[tuple[str, Place]]:
    """Every (name, place) pair a traveller might type: names, aliases and pinyin (cached per data version)."""
    key = _data_signature(db)
    if key not in _CANDIDATE_CACHE:
        if len(_CANDIDATE_CACHE) > 8:
            _CANDIDATE_CACHE.clear()
        _CANDIDATE_CACHE[key] = _build_candidates(db)
    return _CANDIDATE_CACHE[key]


def _build_candidates(db: sqlite_utils.Database) -> list[tuple[str, Place]]:
    pairs: list[tuple[str, Place]] = []
    for row in list_places(db):
        place = _from_place_row(row)
        for name in [row["name_zh"], row["name_en"], *row["aliases"]]:
            pairs += [(n, place) for n in [name, *pinyin_forms(name)]]
    for site in list_sites(db):
        place = _from_site(site)
        for name in [site["name_zh"], site["name_en"], *site["aliases"]]:
            pairs += [(n, place) for n in [name, *pinyin_forms(name)]]
    return pairs


def _normalise(text: str) -> str:
    return re.sub(r"[\s'’-]+", "", text).lower()


def _fuzzy_key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _query_keys(text: str) -> list[str]:
    """The text, and for Chinese its pinyin too, so that homophone typos (萍香北站, 井岗山) still match."""
    return [text, *pinyin_forms(text)]


def resolve_place(db: sqlite_utils.Database, text, field: str = "origin") -> Place:
    """A Place for what the user typed, or InputError listing the closest names."""
    if isinstance(text, tuple | list) and len(text) == 2:
        return point(float(text[0]), float(text[1]), field)
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise InputError(field, "say where the trip starts", "请告诉我从哪里出发")
    if len(text) > 100:
        raise InputError(field, "that place name is too long", "地名太长了")
    match = _COORDS.match(text)
    if match:
        return point(float(match.group(1)), float(match.group(2)), field)
    pairs = candidates(db)
    keys = {_normalise(k) for k in _query_keys(text)}
    exact = [p for name, p in pairs if _normalise(name) in keys or p.id == text]
    if exact:
        return _prefer_hubs(exact)[0]
    found = search_places(db, text, limit=3)
    if found:
        return _from_place_row(found[0])
    sites = search_sites(db, text, limit=1)
    if sites:
        return _from_site(sites[0])
    choices = {i: _fuzzy_key(n) for i, (n, _) in enumerate(pairs)}
    # Plain edit-distance ratio: WRatio's partial matching would take "Xanadu Station" for any station.
    scored = [process.extractOne(_fuzzy_key(k), choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
              for k in _query_keys(text)]
    scored = [s for s in scored if s]
    if scored:
        return pairs[max(scored, key=lambda s: s[1])[2]][1]
    raise InputError(field, f"no place called {text!r}; closest: {', '.join(suggest(db, text, 'en'))}",
                     f"找不到「{text}」；最接近的有：{'、'.join(suggest(db, text, 'zh'))}")


def _prefer_hubs(places: list[Place]) -> list[Place]:
    order = {"town": 0, "station": 1, "airport": 2, "site": 3}
    return sorted(places, key=lambda p: order.get(p.kind, 4))


def suggest(db: sqlite_utils.Database, text: str, lang: str = "en", limit: int = 5) -> list[str]:
    """The names closest to `text`, for "did you mean" messages and type-ahead."""
    pairs = candidates(db)
    choices = {i: _fuzzy_key(n) for i, (n, _) in enumerate(pairs)}
    names: list[str] = []
    for _, _, i in process.extract(_fuzzy_key(text), choices, scorer=fuzz.WRatio, limit=limit * 4):
        name = pairs[i][1].name(lang)
        if name not in names:
            names.append(name)
    return names[:limit]
