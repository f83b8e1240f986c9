"""Where a trip starts or ends: a station, airport, town, county, site, or raw coordinates.

Lookup order: coordinates; an exact id or name; a city outside the zone (上海, Nanchang: `planner.gateways`),
which becomes the station or airport the traveller arrives at, or a question which one; full-text search
(Chinese, English, pinyin) whose hit must carry every word typed in one of its names (a summary that mentions
"Nanchang" does not make a site called Nanchang); then fuzzy matching (rapidfuzz) over every name and its pinyin,
close enough to forgive typos like "Jingganshan" but not to turn Shanghai into Shangli. Anything else is an
InputError that lists the closest names in both languages: an unknown place is never silently replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlite_utils
from rapidfuzz import fuzz, process

from planner import gateways
from planner.db import list_places, list_sites, search_places, search_sites
from planner.errors import InputError
from planner.search_text import pinyin_forms

# The zone plus the hubs travellers arrive at (Changsha, Zhuzhou, Ji'an, Chenzhou).
NEIGHBOURHOOD = {"lat": (24.5, 30.5), "lon": (111.5, 116.5)}
_COORDS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*$")
# 88: "jingganshan"/"Jinggangshan" (96) and "Changsha Sauth Railway Staton" (93) pass; "shanghai"/"shangli"
# (80), "guangzhou"/"yuanzhou" (82) and "jinggangshan hotel"/"jinggangshan" (80) do not.
FUZZY_CUTOFF = 88
# Words that say the place is a building we do not list (a hotel, a restaurant): no fuzzy guess for those.
_UNLISTED_KINDS = re.compile(r"宾馆|酒店|饭店|旅馆|民宿|客栈|招待所|餐厅|\bhotel\b|\binn\b|\bhostel\b|\bguest ?house\b|"
                             r"\bresort\b|\brestaurant\b", re.I)


class ArrivalChoice(InputError):
    """The traveller comes from a city outside the zone that several stations or airports serve: which one?
    `options` are place ids, best first; `city` is the `gateways.City`."""

    def __init__(self, field: str, city: gateways.City, options: list[str], en: str, zh: str):
        super().__init__(field, en, zh)
        self.city, self.options = city, options


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
    city = gateways.find_city(text)
    if city is not None:
        return arrival_hub(db, city, field)
    found = [row for row in search_places(db, text, limit=3)
             if _names_cover(text, [row["name_zh"], row["name_en"], *row["aliases"]])]
    if found:
        return _from_place_row(found[0])
    sites = [s for s in search_sites(db, text, limit=5)
             if _names_cover(text, [s["name_zh"], s["name_en"], *s["aliases"]])]
    if sites:
        return _from_site(sites[0])
    if not _UNLISTED_KINDS.search(text):
        match = _fuzzy_match(pairs, text)
        if match is not None:
            return match
    raise unknown_place(db, text, field)


def _fuzzy_match(pairs: list[tuple[str, Place]], text: str) -> Place | None:
    choices = {i: _fuzzy_key(n) for i, (n, _) in enumerate(pairs)}
    # Plain edit-distance ratio: WRatio's partial matching would take "Xanadu Station" for any station.
    scored = [process.extractOne(_fuzzy_key(k), choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
              for k in _query_keys(text)]
    scored = [s for s in scored if s]
    return pairs[max(scored, key=lambda s: s[1])[2]][1] if scored else None


def _names_cover(text: str, names: list[str]) -> bool:
    """Whether one of the names (or its pinyin) carries what was typed: all of it for Chinese, every word as a
    word prefix for Latin text. Full-text search also matches summaries and single words, which is not a
    reason to take a place for another."""
    forms = [f for n in names for f in [n, *pinyin_forms(n)]]
    query = _normalise(text)
    if any(query in _normalise(f) for f in forms):
        return True
    words = re.findall(r"[a-z0-9]+", text.lower())
    if not words or re.search(r"[\u3400-\u9fff]", text):
        return False
    name_words = {w for f in forms for w in re.findall(r"[a-z0-9]+", f.lower())}
    return all(any(n.startswith(w) for n in name_words) for w in words)


def unknown_place(db: sqlite_utils.Database, text: str, field: str) -> InputError:
    """The bilingual "I don't know that place; did you mean…" error, with a hint for hotels and far cities."""
    if _UNLISTED_KINDS.search(text):
        en_hint = " I list no hotels or restaurants: give the town they are in (e.g. Ciping), a station or an airport."
        zh_hint = "我这里没有酒店、餐馆的信息：请告诉我它所在的城镇（例如茨坪）、车站或机场。"
    else:
        en_hint = " Coming from outside the zone? Give the station or airport where you arrive."
        zh_hint = "如果从湘赣边以外的城市过来，请告诉我到达的车站或机场。"
    return InputError(field, f"no place called {text!r}; closest: {', '.join(suggest(db, text, 'en'))}." + en_hint,
                      f"找不到「{text}」；最接近的有：{'、'.join(suggest(db, text, 'zh'))}。" + zh_hint)


def arrival_hub(db: sqlite_utils.Database, city: gateways.City, field: str = "origin",
                near: tuple[float, float] | None = None) -> Place:
    """Where a traveller from `city` arrives: its only hub; with `near` (the destination), the hub nearest to
    it; otherwise ArrivalChoice asks which one."""
    places = {row["id"]: row for row in list_places(db)}
    options = [h for h in gateways.hubs(city) if h in places]
    if len(options) == 1:
        return _from_place_row(places[options[0]])
    if near is not None and options:
        return _from_place_row(places[gateways.nearest_hub(city, places, *near)])
    en = "; ".join(gateways.describe(city, h, places[h]["name_en"], "en") for h in options)
    zh = "；".join(gateways.describe(city, h, places[h]["name_zh"], "zh") for h in options)
    raise ArrivalChoice(field, city, options,
                        f"{city.name_en} is outside the zone: trips start where you arrive. Which one: {en}?",
                        f"{city.name_zh}不在湘赣边范围内，行程从你到达的车站或机场开始。请选择：{zh}")


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
