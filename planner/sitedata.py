"""What a site record is, and how one is checked.

A site travels in one flat form, the export contract (`hongtu sites export --format json`): the fields of
`FIELDS`, with lists and the hours as JSON values. The YAML files in `data/sites/` hold the same record, except
that coordinates come as the source gave them (`coords: {lat, lon, system, precision_m, source}`).
`validate_site` is the single gate every write passes through: the build, the CLI, imports, the web curator area
and the bot.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import unicodedata
from pathlib import Path

import yaml

from planner.errors import InputError
from planner.geo import to_wgs84
from planner.hours import parse_hours, parse_seasons

CATEGORIES = ("red", "eco", "both")

THEMES = {
    "autumn-harvest-uprising": ("秋收起义", "Autumn Harvest Uprising"),
    "jinggangshan-struggle": ("井冈山斗争", "Jinggangshan struggle"),
    "anyuan-labour": ("安源工人运动", "Anyuan labour movement"),
    "xiang-gan-soviet": ("湘赣革命根据地", "Xiang-Gan Soviet"),
    "xiang-e-gan-soviet": ("湘鄂赣革命根据地", "Xiang-E-Gan Soviet"),
    "pingjiang-uprising": ("平江起义", "Pingjiang Uprising"),
    "xiangnan-uprising": ("湘南起义", "Xiangnan Uprising"),
    "long-march": ("长征", "Long March"),
    "red-army": ("红军", "Red Army"),
    "former-residence": ("名人故居", "Former residences"),
    "martyrs-memorial": ("烈士纪念地", "Martyrs' memorials"),
    "mountain": ("山岳", "Mountains"),
    "forest": ("森林", "Forests"),
    "waterfall": ("瀑布", "Waterfalls"),
    "cave": ("溶洞", "Caves"),
    "river-lake": ("江河湖泊", "Rivers and lakes"),
    "village": ("古村古镇", "Villages"),
    "hot-spring": ("温泉", "Hot springs"),
    "heritage": ("历史文化", "Cultural heritage"),
}

# Designation -> (zh, en, importance points). A site's importance is 20, plus the points of its designations
# (only the highest A-level counts), plus GUIDE_POINTS for each published itinerary that visits it (at most
# GUIDE_POINTS_CAP), capped at 100. Designation points rank national lists above provincial ones and
# red-tourism lists highest, since those are the lists this product exists for; guide points say what local
# guides actually send people to, which the lists alone miss (a martyrs' cemetery with no designation can be
# on nearly every route).
DESIGNATIONS = {
    "5A": ("国家5A级旅游景区", "5A tourist attraction", 40),
    "4A": ("国家4A级旅游景区", "4A tourist attraction", 25),
    "3A": ("国家3A级旅游景区", "3A tourist attraction", 12),
    "2A": ("国家2A级旅游景区", "2A tourist attraction", 5),
    "red-classic": ("全国红色旅游经典景区", "National red-tourism classic site", 35),
    "patriotic-base-national": ("全国爱国主义教育示范基地", "National patriotic education base", 30),
    "patriotic-base-provincial": ("省级爱国主义教育基地", "Provincial patriotic education base", 12),
    "national-heritage": ("全国重点文物保护单位", "Major historical site protected at the national level", 25),
    "provincial-heritage": ("省级文物保护单位", "Provincial protected historical site", 10),
    "national-scenic-area": ("国家级风景名胜区", "National scenic area", 25),
    "national-forest-park": ("国家森林公园", "National forest park", 18),
    "national-nature-reserve": ("国家级自然保护区", "National nature reserve", 20),
    "national-geopark": ("国家地质公园", "National geopark", 18),
    "national-wetland-park": ("国家湿地公园", "National wetland park", 12),
    "provincial-forest-park": ("省级森林公园", "Provincial forest park", 8),
    "provincial-nature-reserve": ("省级自然保护区", "Provincial nature reserve", 8),
    "traditional-village": ("中国传统村落", "Chinese traditional village", 10),
    "historic-town": ("中国历史文化名镇名村", "Historic town or village of China", 12),
}
A_LEVELS = ("5A", "4A", "3A", "2A")

# The export contract, in order. Other tools read this: add fields, never rename or drop one.
FIELDS = (
    "id", "name_zh", "name_en", "aliases", "category", "themes", "county_adcode", "lat", "lon",
    "coord_precision_m", "coord_source", "visit_minutes", "hours", "seasons", "ticket_cny", "ticket_note",
    "designations", "summary_zh", "summary_en", "history_zh", "history_en", "importance", "importance_basis",
    "sources", "unverified", "last_verified", "hidden", "area",
)
# Derived at build time, stored with the site but never typed by a curator: how many published itineraries
# (data/itineraries.yaml) visit the site. It feeds `importance`.
DERIVED_FIELDS = ("guide_mentions",)
LIST_FIELDS = ("aliases", "themes", "designations", "sources", "unverified", "seasons")
JSON_FIELDS_IN_CSV = (*LIST_FIELDS, "hours")
VERIFIABLE = ("coords", "hours", "seasons", "ticket", "visit_minutes", "designations", "history", "summary", "name_en")
REQUIRED = (
    "id", "name_zh", "name_en", "category", "themes", "county_adcode", "lat", "lon", "coord_precision_m",
    "coord_source", "visit_minutes", "hours", "summary_zh", "summary_en", "history_zh", "history_en", "sources",
)

# Inclusive bounds around the 24 counties (their extent plus ~30 km).
ZONE_BOUNDS = {"lat": (24.7, 29.6), "lon": (112.5, 115.1)}

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Names are words, not markup or code: letters (any script), digits, spaces and the punctuation real
# Chinese and English site names use.
_NAME_PUNCT = set(" ·・()（）“”‘’'\"-—–,，.、《》:：/&")
LIMITS = {"name": 80, "summary": 1000, "history": 5000, "note": 500, "alias": 80, "source": 1000}


def _text(value, field: str, limit: int, *, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(field, "must be text", "须为文本")
    value = unicodedata.normalize("NFC", value).strip()
    if required and not value:
        raise InputError(field, "is empty", "不能为空")
    if len(value) > limit:
        raise InputError(field, f"is {len(value)} characters long; at most {limit}",
                         f"长度 {len(value)}，最多 {limit} 字")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise InputError(field, "contains control characters", "含有控制字符")
    return value


def check_name(value, field: str) -> str:
    value = _text(value, field, LIMITS["name"])
    bad = sorted({c for c in value if not (c.isalnum() or c in _NAME_PUNCT or unicodedata.category(c) == "Mn")})
    if bad:
        shown = " ".join(bad)
        raise InputError(field, f"contains characters not allowed in a name: {shown}",
                         f"名称中含有不允许的字符：{shown}")
    return value


def _number(value, field: str, lo: float, hi: float, *, integer: bool = False) -> float | int:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InputError(field, f"{value[:40]!r} is not a number", f"{value[:40]!r} 不是数字") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InputError(field, "must be a number", "须为数字")
    if not lo <= value <= hi:
        raise InputError(field, f"{value} is outside {lo}..{hi}", f"{value} 超出范围 {lo}..{hi}")
    if integer:
        if int(value) != value:
            raise InputError(field, "must be a whole number", "须为整数")
        return int(value)
    return float(value)


def _list(value, field: str) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise InputError(field, "is not a valid JSON list", "不是有效的 JSON 列表") from None
        else:
            value = [part.strip() for part in re.split(r"[;；|]", text) if part.strip()]
    if not isinstance(value, list):
        raise InputError(field, "must be a list", "须为列表")
    return value


def _vocab(value, field: str, allowed) -> list[str]:
    items = _list(value, field)
    unknown = [str(v) for v in items if v not in allowed]
    if unknown:
        listed = ", ".join(unknown[:5])
        raise InputError(field, f"unknown value(s): {listed}", f"未知取值：{listed}")
    return sorted(set(items), key=list(allowed).index)


GUIDE_POINTS = 6
GUIDE_POINTS_CAP = 40


def importance(designations: list[str], guide_mentions: int = 0) -> tuple[int, str]:
    """Importance 20..100 from the designations and guide mentions, with the sum that gave it."""
    levels = [d for d in A_LEVELS if d in designations][:1]
    counted = levels + [d for d in designations if d not in A_LEVELS]
    points = [(d, DESIGNATIONS[d][2]) for d in counted]
    if guide_mentions:
        points.append((f"guides ({guide_mentions} published itineraries)",
                       min(GUIDE_POINTS_CAP, GUIDE_POINTS * guide_mentions)))
    total = min(100, 20 + sum(p for _, p in points))
    basis = " + ".join(["20 base"] + [f"{p} {d}" for d, p in points])
    return total, f"{basis} = {total}" + (" (capped)" if total == 100 else "")


def _sources(value) -> list[dict]:
    sources = _list(value, "sources")
    if not sources:
        raise InputError("sources", "at least one source is required", "至少需要一个来源")
    out = []
    for source in sources:
        if isinstance(source, str):
            source = {"url": source}
        if isinstance(source, dict) and not source.get("url") and source.get("repo"):
            source = {**source, "url": f"{source['repo']}: {source.get('path', '')}".strip(": ")}
        if not isinstance(source, dict) or not source.get("url"):
            raise InputError("sources", "each source needs a url (or repository path)", "每个来源须有网址或仓库路径")
        clean = {"url": _text(source["url"], "sources", LIMITS["source"])}
        if source.get("title"):
            clean["title"] = _text(source["title"], "sources", LIMITS["source"])
        facts = _list(source.get("facts"), "sources")
        if facts:
            clean["facts"] = [_text(f, "sources", 40) for f in facts]
        out.append(clean)
    return out


def validate_site(raw: dict, counties: set[int] | None = None, areas: set[str] | None = None) -> dict:
    """Check one flat site record and return it cleaned, or raise InputError naming the field.

    `counties` and `areas`, when given, are the county codes and scenic-area ids the record may refer to.
    """
    if not isinstance(raw, dict):
        raise InputError("record", "must be an object with named fields", "须为带字段名的对象")
    unknown = set(raw) - set(FIELDS) - set(DERIVED_FIELDS) - {"version", "updated_at", "updated_by"}
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(name, "is not a site field", "不是景点字段")
    for field in REQUIRED:
        if raw.get(field) in (None, "", []):
            raise InputError(field, "is required", "为必填项")
    site: dict = {}
    site["id"] = _text(raw["id"], "id", 80)
    if not _ID.match(site["id"]):
        raise InputError("id", "use lowercase letters, digits and hyphens (e.g. liuyang-wenjiashi)",
                         "只能用小写字母、数字和连字符（如 liuyang-wenjiashi）")
    site["name_zh"] = check_name(raw["name_zh"], "name_zh")
    site["name_en"] = check_name(raw["name_en"], "name_en")
    site["aliases"] = [check_name(a, "aliases") for a in _list(raw.get("aliases"), "aliases")]
    if raw["category"] not in CATEGORIES:
        raise InputError("category", "must be red, eco or both", "须为 red、eco 或 both")
    site["category"] = raw["category"]
    site["themes"] = _vocab(raw["themes"], "themes", THEMES)
    adcode = _number(raw["county_adcode"], "county_adcode", 100000, 999999, integer=True)
    if counties is not None and adcode not in counties:
        raise InputError("county_adcode", f"{adcode} is not one of the zone's 24 counties",
                         f"{adcode} 不是示范区的县市区")
    site["county_adcode"] = adcode
    site["lat"] = _number(raw["lat"], "lat", -90, 90)
    site["lon"] = _number(raw["lon"], "lon", -180, 180)
    for axis in ("lat", "lon"):
        lo, hi = ZONE_BOUNDS[axis]
        if not lo <= site[axis] <= hi:
            raise InputError(axis, f"{site[axis]} is outside the zone ({lo}..{hi})",
                             f"{site[axis]} 不在示范区范围内（{lo}..{hi}）")
    site["coord_precision_m"] = _number(raw["coord_precision_m"], "coord_precision_m", 1, 50000, integer=True)
    site["coord_source"] = _text(raw["coord_source"], "coord_source", LIMITS["source"])
    site["visit_minutes"] = _number(raw["visit_minutes"], "visit_minutes", 10, 600, integer=True)
    site["hours"] = parse_hours(raw["hours"])
    site["seasons"] = parse_seasons(_list(raw.get("seasons"), "seasons"))
    ticket = raw.get("ticket_cny")
    site["ticket_cny"] = None if ticket in (None, "") else _number(ticket, "ticket_cny", 0, 2000)
    site["ticket_note"] = _text(raw.get("ticket_note"), "ticket_note", LIMITS["note"], required=False)
    site["designations"] = _vocab(raw.get("designations"), "designations", DESIGNATIONS)
    for lang in ("zh", "en"):
        site[f"summary_{lang}"] = _text(raw[f"summary_{lang}"], f"summary_{lang}", LIMITS["summary"])
        site[f"history_{lang}"] = _text(raw[f"history_{lang}"], f"history_{lang}", LIMITS["history"])
    site["area"] = _area_ref(raw.get("area"), areas)
    site["guide_mentions"] = _number(raw.get("guide_mentions") or 0, "guide_mentions", 0, 1000, integer=True)
    site["importance"], site["importance_basis"] = importance(site["designations"], site["guide_mentions"])
    site["sources"] = _sources(raw["sources"])
    site["unverified"] = _vocab(raw.get("unverified"), "unverified", VERIFIABLE)
    verified = raw.get("last_verified") or dt.date.today().isoformat()
    try:
        site["last_verified"] = dt.date.fromisoformat(str(verified)).isoformat()
    except ValueError:
        raise InputError("last_verified", "must be a date YYYY-MM-DD", "须为日期 YYYY-MM-DD") from None
    hidden = raw.get("hidden", False)
    if isinstance(hidden, str):
        hidden = hidden.strip().lower() in ("1", "true", "yes")
    site["hidden"] = bool(hidden)
    return site


def _area_ref(value, areas: set[str] | None) -> str | None:
    if value in (None, ""):
        return None
    area = _text(value, "area", 80)
    if not _ID.match(area):
        raise InputError("area", "use a scenic-area id: lowercase letters, digits and hyphens",
                         "须为景区编号：小写字母、数字和连字符")
    if areas is not None and area not in areas:
        raise InputError("area", f"{area} is not a scenic area in data/areas.yaml", f"{area} 不是已知的景区")
    return area


AREA_FIELDS = ("id", "name_zh", "name_en", "ticket_cny", "ticket_note", "transport_zh", "transport_en",
               "shuttle_sites", "sources", "unverified")


def validate_area(raw: dict) -> dict:
    """One ticketed scenic area from data/areas.yaml, cleaned, or InputError naming the field."""
    if not isinstance(raw, dict):
        raise InputError("area", "must be a mapping", "须为映射")
    unknown = set(raw) - set(AREA_FIELDS)
    if unknown:
        raise InputError(sorted(unknown)[0], "is not a scenic-area field", "不是景区字段")
    area: dict = {"id": _text(raw.get("id"), "id", 80)}
    if not _ID.match(area["id"]):
        raise InputError("id", "use lowercase letters, digits and hyphens", "只能用小写字母、数字和连字符")
    area["name_zh"] = check_name(raw.get("name_zh"), "name_zh")
    area["name_en"] = check_name(raw.get("name_en"), "name_en")
    ticket = raw.get("ticket_cny")
    area["ticket_cny"] = None if ticket in (None, "") else _number(ticket, "ticket_cny", 0, 2000)
    for field in ("ticket_note", "transport_zh", "transport_en"):
        area[field] = _text(raw.get(field), field, LIMITS["note"], required=False) or None
    area["shuttle_sites"] = [_text(s, "shuttle_sites", 80) for s in _list(raw.get("shuttle_sites"), "shuttle_sites")]
    area["sources"] = _sources(raw.get("sources"))
    area["unverified"] = _vocab(raw.get("unverified"), "unverified", ("ticket", "transport"))
    return area


ITINERARY_KINDS = ("travel agency", "tourism bureau", "tourism media", "guide site", "newspaper", "travel club",
                   "travelogue")


def validate_itinerary(raw: dict) -> dict:
    """One published itinerary from data/itineraries.yaml, cleaned, or InputError naming the field."""
    if not isinstance(raw, dict):
        raise InputError("itinerary", "must be a mapping", "须为映射")
    unknown = set(raw) - {"id", "title", "url", "kind", "origin", "base", "days"}
    if unknown:
        raise InputError(sorted(unknown)[0], "is not an itinerary field", "不是行程字段")
    item: dict = {"id": _text(raw.get("id"), "id", 80)}
    if not _ID.match(item["id"]):
        raise InputError("id", "use lowercase letters, digits and hyphens", "只能用小写字母、数字和连字符")
    item["title"] = _text(raw.get("title"), "title", LIMITS["source"])
    item["url"] = _text(raw.get("url"), "url", LIMITS["source"])
    if raw.get("kind") not in ITINERARY_KINDS:
        raise InputError("kind", f"must be one of: {', '.join(ITINERARY_KINDS)}", "来源类型无效")
    item["kind"] = raw["kind"]
    item["origin"] = _text(raw.get("origin"), "origin", LIMITS["name"], required=False) or None
    item["base"] = _text(raw.get("base"), "base", LIMITS["name"], required=False) or None
    days = raw.get("days")
    if not isinstance(days, list) or not days:
        raise InputError("days", "give at least one day", "至少需要一天")
    item["days"] = []
    for day in days:
        if not isinstance(day, dict) or set(day) - {"sites", "other", "note"}:
            raise InputError("days", "each day is {sites, other, note}", "每天须为 {sites, other, note}")
        item["days"].append({
            "sites": [_text(s, "sites", 80) for s in _list(day.get("sites"), "sites")],
            "other": [_text(s, "other", LIMITS["name"]) for s in _list(day.get("other"), "other")],
            "note": _text(day.get("note"), "note", LIMITS["note"], required=False) or None,
        })
    return item


def from_source_record(record: dict) -> dict:
    """A YAML record (coordinates as the source gave them) -> the flat record, in WGS-84."""
    if not isinstance(record, dict):
        raise InputError("record", "must be a mapping", "须为映射")
    flat = {k: v for k, v in record.items() if k != "coords"}
    coords = record.get("coords")
    if not isinstance(coords, dict):
        raise InputError("coords", "is required: {lat, lon, system, precision_m, source}", "须提供坐标 coords")
    lat = _number(coords.get("lat"), "lat", -90, 90)
    lon = _number(coords.get("lon"), "lon", -180, 180)
    system = coords.get("system")
    if system not in ("wgs84", "gcj02", "bd09"):
        raise InputError("coords", "system must be wgs84, gcj02 or bd09", "坐标系须为 wgs84、gcj02 或 bd09")
    flat["lat"], flat["lon"] = (round(v, 6) for v in to_wgs84(lat, lon, system))
    flat["coord_precision_m"] = coords.get("precision_m")
    source = coords.get("source") or ""
    flat["coord_source"] = f"{source} [{system}]" if system != "wgs84" else source
    if isinstance(flat.get("hours"), str):
        flat["hours"] = parse_hours(flat["hours"])
    if isinstance(flat.get("last_verified"), dt.date):
        flat["last_verified"] = flat["last_verified"].isoformat()
    return flat


def load_yaml(path: Path) -> list[dict]:
    records = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(records, list):
        raise InputError("file", f"{path} must hold a YAML list of sites", f"{path} 须为景点列表")
    return records


def load_counties(path: Path) -> dict[int, dict]:
    import csv

    with open(path, encoding="utf-8") as f:
        return {int(row["adcode"]): row for row in csv.DictReader(f)}


def check_file(path: Path, counties: set[int]) -> list[str]:
    problems = []
    for i, record in enumerate(load_yaml(path), 1):
        label = record.get("id", f"#{i}") if isinstance(record, dict) else f"#{i}"
        try:
            validate_site(from_source_record(record), counties)
        except InputError as e:
            problems.append(f"{path}: site {label}: {e}")
    return problems


def main(argv: list[str]) -> int:
    """`python -m planner.sitedata check FILE...`: check YAML site files without building the database."""
    if len(argv) < 2 or argv[0] != "check":
        print("usage: python -m planner.sitedata check FILE...", file=sys.stderr)
        return 2
    data_dir = Path(__file__).resolve().parent.parent / "data"
    counties = set(load_counties(data_dir / "counties.csv"))
    problems = [p for path in argv[1:] for p in check_file(Path(path), counties)]
    print("\n".join(problems) if problems else "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
