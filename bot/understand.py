"""Free-text understanding: a trip request in Chinese or English (or both) -> the planner's fields.

`understand(text, index, today)` is a pure function. `build_index(db)` reads every place and site name once
(names, aliases, their pinyin, and variants such as "Changsha South" for "Changsha South Railway Station");
the bot keeps one index and rebuilds it when a curator changes the sites.

How a message is read, in order:
1. Dates ("明天", "下周六", "国庆节", "12月5日", "2026-12-05", "next Saturday", "Dec 5", "Christmas") and trip
   lengths ("三天", "两日游", "一日游", "周末", "3 days", "day trip", "weekend") are found and blanked out.
2. Places and sites are found: Chinese names exactly, by a unique prefix ("三湾改编" -> 三湾改编旧址), by sound
   (井岗山 -> 井冈山, via pypinyin) or with one wrong character (萍乡北占); Latin names and pinyin by word n-grams,
   exactly, as a set of words of one name ("Wenjiashi memorial"), or fuzzily with rapidfuzz ("jingganshan").
   A name shared by several sites goes to the one nearest the other places in the message.
3. Each mention gets a role from the nearest cue in its clause: 从/from (origin), 到/去/to (destination),
   结束/end at (end), 必须去/must see (must), 不去/skip (avoid); a following 出发 also marks the origin.
   A site without a cue is a must-see; a place without one is where the trip starts.
4. Interests, themes and pace come from keywords outside the names (红色/革命/历史 -> red, 山水/森林/瀑布 -> eco,
   秋收起义 -> autumn-harvest-uprising, 轻松/relaxed, 特种兵/packed).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, field

import cn2an
from lunardate import LunarDate
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

from planner import gateways
from planner.db import list_places, list_sites
from planner.sitedata import THEMES

# ---------------------------------------------------------------- the name index

KIND_ORDER = {"station": 0, "airport": 1, "town": 2, "site": 3, "city": 4}
NEARBY_KM = 30

# A bare city name means its main station; these cities are hubs, not rows of `places`.
CITY_HUBS = {
    "长沙": "changsha-south-station", "changsha": "changsha-south-station",
    "株洲": "zhuzhou-west-station", "zhuzhou": "zhuzhou-west-station",
    "吉安": "jian-west-station", "jian": "jian-west-station",
    "郴州": "chenzhou-west-station", "chenzhou": "chenzhou-west-station",
}

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_RUN = re.compile(f"[{_CJK}]+")
_ZH_SUFFIXES = ("国家级自然保护区", "国家森林公园", "国家湿地公园", "国家地质公园", "森林公园", "风景名胜区",
                "旅游度假区", "风景旅游区", "风景区", "旅游区", "景区")
_EN_SUFFIXES = (" national forest park", " forest park", " national wetland park", " national nature reserve",
                " nature reserve", " national geopark", " scenic area", " railway station", " international airport",
                " county", " city", " district")
# Chinese prefixes too generic to identify one site by themselves.
_GENERIC_STARTS = ("湘赣", "湘鄂", "革命", "红军", "中共", "中国", "工农", "毛泽东", "秋收", "红色", "国家", "全国",
                   "烈士", "红四", "红一", "红三", "红六", "红十")
_BLOCKED_NAMES = {"you", "西山", "天街"}  # names that are mostly ordinary words


def wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


EN_STOP = wordset("""
a an the and or of to in at on from for with by near around via into onto see visit visiting must want wants
would like i im we were me my our us you your please plan planning trip trips tour tours day days d night nights
week weeks weekend start starting end ending then also both some any go going get getting skip avoid avoiding
not no only mostly mainly relaxed it its is are be this that next coming there here can could should do does
some lots lot more most less very really just one two three four five six seven eight nine ten time hey hi
hello how about what where when which who why sites places spots spot area areas tourism route itinerary
schedule pace easy fine ok okay interested love likes loved
""")
# Words of site names that describe a kind of place or a theme rather than name one place. A group of words
# made only of these ("hot springs", "workers movement") is a topic, unless it names a kind of facility
# ("martyrs cemetery") and only one such site lies near the other places of the message.
GENERIC_WORDS = wordset("""
memorial hall museum park forest national scenic area cave caves lake mountain mountains waterfall waterfalls
village villages old town site sites former residence cemetery martyrs martyr temple square monument tomb house
home hot spring springs resort reserve nature wetland geopark pools pool academy bridge tower peak peaks river
reservoir garden street station railway airport county city district international headquarters hq office
meeting conference government base ancient stone natural and of the at in on a hospital school mausoleum gorge
valley terraces rice farm expo well
""")
THEMATIC_WORDS = wordset("""
autumn harvest uprising revolutionary revolution red army long march workers worker movement soviet communist
party labour labor anti japanese war battle first front fourth third sixth sixteenth division corps general
peasants peasant soldiers
""")
FACILITY_WORDS = wordset("""
memorial hall museum cemetery square monument tomb site residence house home temple academy bridge tower
hospital school village cave mausoleum park garden headquarters hq office
""")
WORD_SYNONYMS = {"memorial": ["museum"], "mausoleum": ["tomb"], "reorganisation": ["reorganization"],
                 "cemetery": ["graveyard"]}


@dataclass(frozen=True)
class Entity:
    id: str
    kind: str  # station | airport | town | site | city (outside the zone: `planner.gateways`)
    name_zh: str
    name_en: str
    lat: float
    lon: float
    importance: int = 0
    category: str | None = None
    county: int | None = None  # a site's county adcode

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass
class PlaceIndex:
    entities: dict[str, Entity] = field(default_factory=dict)
    cjk: dict[str, set[tuple[str, bool]]] = field(default_factory=dict)  # name -> {(entity id, exact)}
    cjk_prefix: dict[str, set[str]] = field(default_factory=dict)
    cjk_sound: dict[tuple[str, ...], set[tuple[str, bool]]] = field(default_factory=dict)
    cjk_sound_names: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    cjk_masked: dict[str, set[tuple[str, bool]]] = field(default_factory=dict)
    latin: dict[str, set[tuple[str, bool]]] = field(default_factory=dict)  # squashed key -> {(id, exact)}
    latin_keys: list[str] = field(default_factory=list)
    word_index: dict[str, set[str]] = field(default_factory=dict)  # word -> entity ids whose names use it
    max_cjk: int = 0

    def rank(self, pairs) -> list[tuple[Entity, bool]]:
        out = [(self.entities[i], exact) for i, exact in pairs]
        best: dict[str, tuple[Entity, bool]] = {}
        for entity, exact in out:
            if entity.id not in best or exact:
                best[entity.id] = (entity, exact)
        return sorted(best.values(), key=lambda p: (not p[1], KIND_ORDER[p[0].kind], -p[0].importance, p[0].id))


def _no_apostrophes(text: str) -> str:
    """"Zuo Quan's home" -> "zuo quan home": a possessive is written with or without its 's."""
    return re.sub(r"['’]s\b", "", text.lower()).replace("'", "").replace("’", "")


def squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _no_apostrophes(text))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _no_apostrophes(text))


def _zh_variants(name: str) -> list[str]:
    name = unicodedata.normalize("NFKC", name)
    inner = re.findall(r"\(([^)]*)\)", name)
    base = re.sub(r"\([^)]*\)", "", name).strip()
    parts = [base, *inner]
    for p in list(parts):
        parts += re.split(r"[与和·、]", p)
    for p in list(parts):
        for suffix in _ZH_SUFFIXES:
            if p.endswith(suffix) and len(p) - len(suffix) >= 3:
                parts.append(p[: -len(suffix)])
    return [p.strip() for p in parts if len(p.strip()) >= 3 and p.strip() != name]


def _en_variants(name: str) -> list[str]:
    name = unicodedata.normalize("NFKC", name).lower().replace("“", '"').replace("”", '"')
    inner = re.findall(r"\(([^)]*)\)", name)
    base = re.sub(r"\([^)]*\)", " ", name)
    parts = [base, *inner]
    for p in list(parts):
        parts += re.split(r",| and | – | - |—", p)
    for p in list(parts):
        p = p.strip()
        for suffix in _EN_SUFFIXES:
            if p.endswith(suffix):
                short = p[: -len(suffix)]
                parts.append(short)
                if suffix == " railway station":
                    parts.append(short + " station")
                if suffix == " international airport":
                    parts.append(short + " airport")
        for prefix in ("former ", "site of the ", "former site of the ", "the "):
            if p.startswith(prefix):
                parts.append(p[len(prefix):])
    return [p.strip(" \"'") for p in parts if len(squash(p)) >= 4]


def _pinyin(name: str) -> list[str]:
    return [s.lower() for s in lazy_pinyin(name)]


def build_index(db) -> PlaceIndex:
    """Every way of writing every place and site, for `understand`."""
    index = PlaceIndex()
    names: list[tuple[Entity, str, bool]] = []  # (entity, name, exact)
    for row in list_places(db):
        entity = Entity(row["id"], row["kind"], row["name_zh"], row["name_en"], row["lat"], row["lon"])
        index.entities[entity.id] = entity
        for name in [row["name_zh"], row["name_en"], *row["aliases"]]:
            names.append((entity, name, True))
    county_names = {row["adcode"]: re.sub(r"(?<=..)[县区市]$", "", row["name_zh"]) for row in db["counties"].rows}
    for site in list_sites(db):
        entity = Entity(site["id"], "site", site["name_zh"], site["name_en"], site["lat"], site["lon"],
                        site["importance"], site["category"], site["county_adcode"])
        index.entities[entity.id] = entity
        for name in [site["name_zh"], site["name_en"], *site["aliases"]]:
            names.append((entity, name, True))
        # "秋收起义铜鼓纪念馆" is also called "秋收起义纪念馆" where the county is named nearby
        county = county_names.get(site["county_adcode"], "")
        for name in [site["name_zh"], *site["aliases"]]:
            if county and county in name[1:] and len(name) - len(county) >= 4:
                names.append((entity, name.replace(county, ""), False))
    for name, place_id in CITY_HUBS.items():
        if place_id in index.entities:
            names.append((index.entities[place_id], name, True))
    for city in gateways.CITIES:
        hub = next((index.entities[h] for h in gateways.hubs(city) if h in index.entities), None)
        if hub is None or city.name_zh in CITY_HUBS:
            continue  # a city whose one station is already its meaning (长沙 -> 长沙南站)
        # A city's point is where its travellers arrive; it only serves to pick the nearer of two same-named sites.
        entity = Entity(f"city:{city.id}", "city", city.name_zh, city.name_en, hub.lat, hub.lon)
        index.entities[entity.id] = entity
        names += [(entity, name, True) for name in (city.name_zh, city.name_en, *city.aliases)]

    expanded: list[tuple[Entity, str, bool]] = []
    for entity, name, exact in names:
        expanded.append((entity, name, exact))
        if _CJK_RE.search(name):
            expanded += [(entity, v, False) for v in _zh_variants(name)]
        else:
            expanded += [(entity, v, False) for v in _en_variants(name)]

    for entity, name, exact in expanded:
        key_pair = (entity.id, exact)
        if name.lower() in _BLOCKED_NAMES:
            continue
        if _CJK_RE.search(name):
            zh = unicodedata.normalize("NFKC", name).lower()
            if _CJK_RUN.fullmatch(zh) and len(zh) >= 2:
                index.cjk.setdefault(zh, set()).add(key_pair)
                index.max_cjk = max(index.max_cjk, len(zh))
                if len(zh) >= 3:
                    sound = tuple(_pinyin(zh))
                    index.cjk_sound.setdefault(sound, set()).add(key_pair)
                    index.cjk_sound_names.setdefault(sound, set()).add(zh)
                if len(zh) >= 4:
                    for i in range(len(zh)):
                        index.cjk_masked.setdefault(zh[:i] + "?" + zh[i + 1:], set()).add(key_pair)
                    for n in range(4, len(zh)):
                        if not zh.startswith(_GENERIC_STARTS):
                            index.cjk_prefix.setdefault(zh[:n], set()).add(entity.id)
            syllables = [s for s in _pinyin(name) if re.fullmatch(r"[a-z]+", s)]
            latin_forms = ["".join(syllables)] if syllables else []
        else:
            latin_forms = [name]
        for form in latin_forms:
            key = squash(form)
            if len(key) < 4 or key in _BLOCKED_NAMES or key in EN_STOP:
                continue
            if not exact and set(_words(form)) <= GENERIC_WORDS | THEMATIC_WORDS | EN_STOP:
                continue  # a fragment such as "Workers'" or "Memorial Hall" names no place
            index.latin.setdefault(key, set()).add(key_pair)
            if key.endswith("shan") and len(key) > 6:
                for mountain in ("mountain", "mountains"):
                    index.latin.setdefault(key[:-4] + mountain, set()).add((entity.id, False))
            for word in _words(form):
                for w in [word, *WORD_SYNONYMS.get(word, [])]:
                    index.word_index.setdefault(w, set()).add(entity.id)
    index.latin_keys = sorted(index.latin)
    return index


# ---------------------------------------------------------------- numbers and dates

NUM = r"(\d+|[零一二两三四五六七八九十百]+)"
EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
              "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "a couple of": 2, "few": 3, "a few": 3}
EN_NUM = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|couple of|a few)"
MONTHS = {m: i + 1 for i, ms in enumerate([
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
    ("november", "nov"), ("december", "dec")]) for m in ms}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
WEEKDAYS_EN = {"monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
               "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6,
               "sun": 6}
_FULL_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_SHORT_WEEKDAYS = "mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun"
WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2,
               "4": 3, "5": 4, "6": 5, "7": 6}
# Lunar holidays: (lunar month, day) of the Chinese calendar, converted with `lunardate`.
LUNAR = {"spring": (1, 1), "lantern": (1, 15), "dragon": (5, 5), "midautumn": (8, 15), "chongyang": (9, 9)}


def number(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    if text in EN_NUMBERS:
        return EN_NUMBERS[text]
    try:
        return int(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def _next_yearly(today: dt.date, month: int, day: int) -> dt.date | None:
    for year in (today.year, today.year + 1):
        try:
            date = dt.date(year, month, day)
        except ValueError:
            return None
        if date >= today:
            return date
    return None


def _next_monthly(today: dt.date, day: int) -> dt.date | None:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            date = dt.date(year, month, day)
            if date >= today:
                return date
        except ValueError:
            pass
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _in_next_month(today: dt.date, day: int) -> dt.date | None:
    """Day `day` of the month after today's (下个月5号)."""
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return _safe_date(year, month, day)


def _qingming(year: int) -> dt.date:
    yy = year % 100
    return dt.date(year, 4, int(yy * 0.2422 + 4.81) - yy // 4)


def _holiday(today: dt.date, name: str) -> dt.date | None:
    fixed = {"national": (10, 1), "labour": (5, 1), "newyear": (1, 1), "christmas": (12, 25), "christmas-eve": (12, 24)}
    if name in fixed:
        return _next_yearly(today, *fixed[name])
    if name == "qingming":
        date = _qingming(today.year)
        return date if date >= today else _qingming(today.year + 1)
    if name in LUNAR:
        return next_lunar(today, *LUNAR[name])
    return None


def next_lunar(today: dt.date, month: int, day: int) -> dt.date | None:
    """The next date (today or later) that is day `day` of lunar month `month` (大年初二 = 1, 2)."""
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            date = LunarDate(year, month, day).to_solar_date()
        except ValueError:
            continue
        if date >= today:
            return date
    return None


def _week_day(today: dt.date, weekday: int, weeks_ahead: int) -> dt.date:
    """weeks_ahead 0: the coming one (today counts); 1: in next calendar week (Monday-based); 2: the week after."""
    monday = today - dt.timedelta(days=today.weekday())
    if weeks_ahead == 0:
        date = monday + dt.timedelta(days=weekday)
        return date if date >= today else date + dt.timedelta(days=7)
    return monday + dt.timedelta(days=7 * weeks_ahead + weekday)


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


_ZH_HOLIDAYS = [(r"国庆节?|十一(?=黄金周|长假|假期|小长假|期间|的时候)", "national"), (r"五一|劳动节", "labour"),
                (r"元旦", "newyear"), (r"春节|过年", "spring"), (r"清明节?", "qingming"), (r"端午节?", "dragon"),
                (r"中秋节?", "midautumn"), (r"平安夜|圣诞前夜", "christmas-eve"), (r"圣诞节?", "christmas")]
_EN_HOLIDAYS = [(r"national day|golden week|october 1st", "national"), (r"may day|labou?r day", "labour"),
                (r"new year'?s(?: day)?", "newyear"), (r"christmas eve|xmas eve", "christmas-eve"),
                (r"christmas(?: day)?|xmas", "christmas"),
                (r"spring festival|chinese new year|lunar new year", "spring"), (r"qingming|tomb[- ]sweeping",
                 "qingming"), (r"dragon boat(?: festival)?", "dragon"), (r"mid-?autumn(?: festival)?", "midautumn")]


_D9 = "[一二三四五六七八九]"
_LUNAR_DAY = rf"(初{_D9}|初十|十{_D9}?|二十{_D9}?|廿{_D9}?|三十)"
_DASH = r"(?:到|至|-|~|～|—|－|–)"
SUMMER = ((7, 1), (8, 31))  # 暑假 / summer holidays: July and August


def _lunar_day(text: str) -> int | None:
    return number(text.replace("初", "").replace("廿", "二十"))


def _period(today: dt.date, first: tuple[int, int], last: tuple[int, int], name: str):
    """(start date, False, info) for a month or a season: from its first day, or tomorrow when already in it."""
    for year in (today.year - 1, today.year, today.year + 1):
        start, end = _safe_date(year, *first), _safe_date(year, *last)
        if start and end and end < start:  # a period across the new year
            end = _safe_date(year + 1, *last)
        if start and end and end > today:
            start = max(start, today + dt.timedelta(days=1))
            return start, False, {"period": (start, end), "period_name": name}
    return None, False


def _month(today: dt.date, month: int | None, name: str):
    if not month or not 1 <= month <= 12:
        return None, False
    return _period(today, (month, 1), (month, calendar.monthrange(2001, month)[1]), name)


def _date_rules(today: dt.date):
    """(pattern, function(match) -> (date, weekend?[, info])) in priority order; info may give a date range's
    length ("days") or a month or season ("period")."""
    def ymd(m):
        return _safe_date(int(m[1]), int(m[2]), int(m[3])), False

    def month_day(month, day):
        m, d = number(month), number(day)
        return (_next_yearly(today, m, d) if m and d else None), False

    def day_range(month, first, month2, last):
        start, _ = month_day(month, first)
        end_month = number(month2) if month2 else number(month)
        if start is None or not end_month:
            return None, False
        end = _safe_date(start.year + (end_month < start.month), end_month, number(last) or 0)
        if end is None or not 0 <= (end - start).days < 31:
            return start, False
        return start, False, {"days": (end - start).days + 1}

    def lunar_new_year(m):
        if m[0] in ("除夕", "大年三十", "年三十"):
            new_year = next_lunar(today + dt.timedelta(days=1), 1, 1)
            return (new_year - dt.timedelta(days=1) if new_year else None), False
        day = _lunar_day(m[1])
        return (next_lunar(today, 1, day) if day and 1 <= day <= 30 else None), False

    rules = [
        (NUM + r"\s*月\s*" + NUM + r"\s*[日号]?\s*" + _DASH + r"\s*(?:" + NUM + r"\s*月\s*)?" + NUM + r"\s*[日号]",
         lambda m: day_range(m[1], m[2], m[3], m[4])),
        (rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:-|–|to|until|till|through)\s*"
         rf"(?:({_MONTH_RE})\.?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b",
         lambda m: day_range(str(MONTHS[m[1]]), m[2], str(MONTHS[m[3]]) if m[3] else None, m[4])),
        (rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:-|–|to)\s*(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b",
         lambda m: day_range(str(MONTHS[m[3]]), m[1], None, m[2])),
        (r"(?:大年|正月)" + _LUNAR_DAY + r"|除夕|大年三十|年三十", lunar_new_year),
        (NUM + r"\s*(?:天|日)(?:之|以)?后(?!天)", lambda m: (today + dt.timedelta(days=number(m[1]) or 0), False)),
        (r"\b" + EN_NUM + r"\s+days?\s+from\s+(?:now|today)\b",
         lambda m: (today + dt.timedelta(days=number(m[1]) or 0), False)),
        (r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?", ymd),
        (NUM + r"\s*月\s*" + NUM + r"\s*[日号]", lambda m: month_day(m[1], m[2])),
        (r"(?<![\d.])(\d{1,2})\.(\d{1,2})(?![\d.]|\s*(?:km|公里|元|块|小时|h\b|天|日))",
         lambda m: month_day(m[1], m[2])),
        (rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", lambda m: month_day(str(MONTHS[m[1]]), m[2])),
        (rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b", lambda m: month_day(str(MONTHS[m[2]]), m[1])),
        (r"下个?月\s*" + NUM + r"\s*[日号]", lambda m: (_in_next_month(today, number(m[1]) or 0), False)),
        (r"(?<![月\d])" + NUM + r"\s*[日号](?!游)", lambda m: (_next_monthly(today, number(m[1]) or 0), False)),
        (r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)\b", lambda m: (_next_monthly(today, int(m[1])), False)),
        (r"大后天|(?:the )?day after tomorrow", lambda m: (today + dt.timedelta(days=2 if "大" not in m[0] else 3),
                                                          False)),
        (r"后天", lambda m: (today + dt.timedelta(days=2), False)),
        (r"明天|明日|明早|明儿|\b(?:tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow)\b",
         lambda m: (today + dt.timedelta(days=1), False)),
        (r"今天|今日|今儿|\b(?:today|tonight)\b", lambda m: (today, False)),
        (r"(下下|下个|下|这个|这|本)?(?:周|星期|礼拜)([一二三四五六日天1-7])",
         lambda m: (_week_day(today, WEEKDAYS_ZH[m[2]], {"下下": 2, "下个": 1, "下": 1}.get(m[1] or "", 0)), False)),
        (r"(下下|下个|下|这个|这|本)?周末",
         lambda m: (_week_day(today, 5, {"下下": 2, "下个": 1, "下": 1}.get(m[1] or "", 0)), True)),
        (r"下(?:个)?(?:周|星期|礼拜)(?![一二三四五六日天末1-7])", lambda m: (_week_day(today, 0, 1), False)),
        (rf"\b(?:(this|next|coming|on)\s+)?({_FULL_WEEKDAYS})\b",
         lambda m: (_week_day(today, WEEKDAYS_EN[m[2]], 1 if m[1] == "next" else 0), False)),
        (rf"\b(this|next|coming|on)\s+({_SHORT_WEEKDAYS})\b",
         lambda m: (_week_day(today, WEEKDAYS_EN[m[2]], 1 if m[1] == "next" else 0), False)),
        (r"\b(?:(this|next|coming)\s+)?weekend\b",
         lambda m: (_week_day(today, 5, 1 if m[1] == "next" else 0), True)),
        (r"\bnext week\b", lambda m: (_week_day(today, 0, 1), False)),
    ]
    for pattern, name in _ZH_HOLIDAYS + [(rf"\b(?:{p})\b", n) for p, n in _EN_HOLIDAYS]:
        rules.append((pattern, lambda m, name=name: (_holiday(today, name), False)))
    rules += [
        (r"暑假|暑期|\bsummer (?:holidays?|vacation|break)\b", lambda m: _period(today, *SUMMER, m[0])),
        (r"(?<![\d一二三四五六七八九十个])(十[一二]|[一二三四五六七八九十]|1[0-2]|[1-9])\s*月份?(?![初底中\d])",
         lambda m: _month(today, number(m[1]), m[0])),
        (rf"\b(?:in|during|this|next|coming|early|mid|late|end of|beginning of)\s+-?\s*({_MONTH_RE})\b",
         lambda m: _month(today, MONTHS[m[1]], m[0])),
    ]
    return rules


_DAY_RULES = [
    (r"(?<!第)" + NUM + r"\s*(?:天|日游|日)(?![期子气])", lambda m: number(m[1])),
    (r"半天|半日游?", lambda m: 1),
    (r"当天来回|当日往返|一天来回", lambda m: 1),
    (r"(?<![下这本上])([一两二三1-3])\s*(?:个)?(?:周|星期|礼拜)(?![一二三四五六日天末1-7])",
     lambda m: 7 * (number(m[1]) or 1)),
    (r"\b" + EN_NUM + r"\s*-?\s*(?:days?|d)\b(?!\s*ago)", lambda m: number(m[1])),
    (r"\bday[- ]?trips?\b|\bhalf[- ](?:a[- ])?day\b|\bone[- ]day\b", lambda m: 1),
    (r"\b(?:a|one)\s+week\b", lambda m: 7),
    (r"\b(?:two|2)\s+weeks\b", lambda m: 14),
]
_NIGHT_RULES = [
    (NUM + r"\s*(?:晚|夜)(?!上)", lambda m: (number(m[1]) or 0) + 1),
    (r"\b" + EN_NUM + r"\s*-?\s*nights?\b", lambda m: (number(m[1]) or 0) + 1),
    (r"过夜|\bovernight\b", lambda m: 2),
]


# ---------------------------------------------------------------- keywords

RED_WORDS = [r"红色", r"革命", r"历史", r"党史", r"红军", r"纪念馆", r"烈士", r"起义", r"长征", r"老区", r"爱国",
             r"伟人", r"旧址", r"故居",
             r"\bred\b", r"\brevolution\w*", r"\bhistor\w*", r"\bcommunis\w*", r"\bparty\b", r"\bmemorials?\b",
             r"\bmuseums?\b", r"\bmartyrs?\b", r"\buprising\b", r"\blong march\b", r"\bred army\b",
             r"\bpatriotic\b", r"\bworkers?\b", r"\blabou?r movement\b"]
ECO_WORDS = [r"山水", r"自然", r"生态", r"森林", r"瀑布", r"爬山", r"登山", r"徒步", r"风景", r"风光", r"景色",
             r"溶洞", r"温泉", r"湖(?![南北])", r"峡谷", r"漂流", r"户外", r"看山", r"竹林", r"草原", r"田园",
             r"古村", r"古镇", r"山里",
             r"\bnature\b", r"\bnatural\b", r"\beco\w*", r"\bscenery\b", r"\bscenic\b", r"\blandscapes?\b",
             r"\bmountains?\b", r"\bhik\w*", r"\btrek\w*", r"\bforests?\b", r"\bbamboo\b", r"\bwaterfalls?\b",
             r"\blakes?\b", r"\brivers?\b", r"\bcaves?\b", r"\bhot springs?\b", r"\bsprings\b", r"\boutdoors?\b",
             r"\bwildlife\b", r"\bbirds?\b", r"\bcountryside\b", r"\bvillages?\b", r"\bgreen\b", r"\bpeaks?\b"]
THEME_WORDS = {
    "autumn-harvest-uprising": [r"秋收起义", r"autumn harvest"],
    "jinggangshan-struggle": [r"井冈山斗争", r"井冈山革命", r"jinggangshan struggle"],
    "anyuan-labour": [r"工人运动", r"工运", r"罢工", r"路矿", r"\bworkers?\b", r"\blabou?r movement\b",
                      r"\bstrikes?\b"],
    "xiang-gan-soviet": [r"湘赣苏区", r"湘赣革命根据地", r"xiang-?gan soviet"],
    "xiang-e-gan-soviet": [r"湘鄂赣", r"xiang-?e-?gan"],
    "pingjiang-uprising": [r"平江起义", r"pingjiang uprising"],
    "xiangnan-uprising": [r"湘南起义", r"湘南暴动", r"xiangnan uprising"],
    "long-march": [r"长征", r"long march"],
    "red-army": [r"红军", r"red army"],
    "former-residence": [r"故居", r"旧居", r"former residences?", r"\bhomes? of\b"],
    "martyrs-memorial": [r"烈士", r"\bmartyrs?\b"],
    "mountain": [r"爬山", r"登山", r"山岳", r"看山", r"\bmountains?\b", r"\bhik\w*", r"\bpeaks?\b"],
    "forest": [r"森林", r"竹林", r"\bforests?\b", r"\bbamboo\b"],
    "waterfall": [r"瀑布", r"\bwaterfalls?\b"],
    "cave": [r"溶洞", r"山洞", r"\bcaves?\b"],
    "river-lake": [r"湖(?![南北])", r"漂流", r"水库", r"\blakes?\b", r"\brivers?\b", r"\brafting\b"],
    "village": [r"古村", r"古镇", r"村落", r"\bvillages?\b", r"\bold towns?\b"],
    "hot-spring": [r"温泉", r"\bhot springs?\b"],
    "heritage": [r"书院", r"古建", r"\bheritage\b", r"\btemples?\b", r"\bancient\b"],
}
ECO_THEMES = {"mountain", "forest", "waterfall", "cave", "river-lake", "village", "hot-spring"}
RED_THEMES = set(THEMES) - ECO_THEMES - {"heritage"}
RELAXED_WORDS = [r"轻松", r"悠闲", r"休闲", r"慢一点", r"慢点", r"慢游", r"慢慢", r"不累", r"别太累", r"不要太累",
                 r"别太赶", r"不要太赶", r"不赶", r"别安排太满", r"不要安排太满", r"不要太满", r"别太满", r"佛系",
                 r"带老人", r"带爸妈", r"带父母", r"带孩子", r"带娃", r"带小孩", r"老人家",
                 r"\brelax\w*", r"\bslow\w*", r"\beasy\b", r"\bleisurely\b", r"\bchill\w*", r"\blaid[- ]back\b",
                 r"\bnot (?:too )?rushed\b", r"\bno rush\b", r"\btake it easy\b", r"\bwith (?:the |our |my )?kids\b",
                 r"\bchildren\b", r"\belderly\b", r"\bgentle\b", r"\bnot too (?:busy|packed|much)\b"]
PACKED_WORDS = [r"紧凑", r"特种兵", r"暴走", r"越多越好", r"尽量多", r"多看几个", r"满一点", r"排满", r"高效",
                r"(?<![不别太])赶",
                r"\bpacked\b", r"\bintense\b", r"\bintensive\b", r"\bbusy\b", r"\btight\b", r"\bfast[- ]paced\b",
                r"\bas (?:many|much)\b[^,.;]*\bas (?:possible|we can)\b", r"\bmaxim\w*", r"\bsee everything\b"]
NORMAL_WORDS = [r"正常节奏", r"适中", r"\bnormal pace\b", r"\bmoderate\b"]
ONLY_WORDS = r"只看|只要|只去|只想|仅|\bonly\b|\bjust\b"
MOSTLY_WORDS = r"主要|为主|多一点|多一些|重点|偏重|\bmostly\b|\bmainly\b|\bprimarily\b|\bfocus\w*\b|\bheavy on\b"
NEGATION = r"(?:不想|不要|不喜欢|不爱|不太想|别|不|没兴趣|\bno\b|\bnot\b|\bavoid\w*|\bskip\w*|\bwithout\b|\bexcept\b|" \
           r"\bnot into\b|\bnot interested in\b|\bdon'?t like\b)"
TRIP_WORDS = r"玩|旅游|旅行|行程|路线|线路|攻略|规划|安排|自驾|游|出发|逛|度假|\btrip\b|\btravel\w*|\bitinerar\w*|" \
             r"\broute\b|\btour\w*|\bplan\b|\bholiday\b|\bgetaway\b|\bvisit\w*|\bexplore\b"
SITE_QUESTION = r"几点|开放|开门|关门|门票|票价|多少钱|营业|介绍|在哪|怎么样|是什么|\bhours\b|\bopen\w*|\btickets?\b|" \
                r"\bprice\b|\bcost\b|\bwhere is\b|\bwhat is\b|\btell me about\b|\binfo\b"

# Cues: (pattern, role, strength, position). position "pre" applies to the mentions after it in the clause,
# "post" to the mention just before it.
_CUES: list[tuple[str, str, str, str]] = []


def _cue(role: str, strength: str, position: str, *patterns: str) -> None:
    _CUES.extend((p, role, strength, position) for p in patterns)


_cue("avoid", "strong", "pre", "不去", "不要去", "别去", "不想去", "不用去", "避开", "跳过", "除了", "除去", "不含",
     "排除",
     "不看", "去过了", "去过", r"\bskip(?:ping)?\b", r"\bavoid(?:ing)?\b", r"\bexcept\b", r"\bexcluding\b",
     r"\bwithout\b", r"\bbut not\b", r"\balready (?:been to|visited|saw|seen)\b", r"\bbeen to\b",
     r"\bdon'?t want(?: to (?:see|visit|go to))?\b", r"\bdo not want\b", r"\bminus\b", r"\bleave out\b",
     r"\bnot\b", r"\bno\b")
_cue("must", "strong", "pre", "必须去", "必去", "一定要去", "一定去", "一定要看", "必须看", "必看", "务必", "打卡",
     r"\bmust[- ]see\b", r"\bmust[- ]visit\b", r"\bmust\b", r"\bdefinitely\b", r"\bhave to see\b",
     r"\bwant to see\b", r"\bwould like to see\b", r"\bd like to see\b", r"\bincluding\b", r"\binclude\b")
_cue("must", "weak", "pre", "想去", "要去", "想看看", "想看", "看看", "要看", "看", "包括", "包含", "加上", "逛逛",
     "逛",
     "参观", "游览", r"\bsee\b", r"\bvisit(?:ing)?\b", r"\bwith\b", r"\bplus\b", r"\balso\b")
_cue("origin", "strong", "pre", "从", "由", r"自(?!驾)", r"\bfrom\b", r"\bstart(?:ing)? (?:from|at|in)\b",
     r"\bleav(?:e|ing)(?: from)?\b", r"\bdepart(?:ing)?(?: from)?\b", r"\barriv(?:e|ing) (?:at|in)\b",
     r"\bland(?:ing)? (?:at|in)\b", r"\bfly(?:ing)? into\b", r"\bbased (?:in|at)\b", r"\bget(?:ting)? off at\b")
_cue("origin", "weak", "pre", "在", r"\bin\b", r"\baround\b", r"\bnear\b", r"\bat\b")
_cue("end", "strong", "pre", "终点是", "终点在", "终点", "结束于", "最后到", "最后在", "回到", "返回",
     r"\bend(?:ing|s)? (?:at|in)\b", r"\bfinish(?:ing)? (?:at|in)\b", r"\bback to\b", r"\breturn(?:ing)? to\b",
     r"\bfly(?:ing)? (?:out|home) (?:of|from)\b")
_cue("dest", "weak", "pre", "去", "到", "往", "前往", "飞往", "至", r"\bto\b", r"\btowards?\b", r"\binto\b",
     r"\btour of\b", r"\btrip to\b")
_cue("origin", "strong", "post", "出发", "上车", "下车", "下高铁", "下飞机", "落地", "动身", "启程",
     r"走(?=$|[,.!?;。，\s])")
_cue("end", "strong", "post", "结束", "返程", "离开", "收尾", "回家")
_cue("avoid", "strong", "post", "就不去了", "不去了", "不去", "去过了", "除外", "不要了", "不用去")
_cue("must", "strong", "post", "一定要去", "必须去", "必去", "一定去")
_cue("locator", "weak", "post", "的", "那边", "那里", "附近", "一带", "周边")

_CUE_RE = re.compile("|".join(f"(?P<c{i}>{p})" for i, (p, *_rest) in sorted(
    enumerate(_CUES), key=lambda item: -len(item[1][0]))))
_CLAUSE_BREAK = re.compile(r"[,.;!?。，；！？\n—]|(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff\d])|\bbut\b|\bthen\b")


# ---------------------------------------------------------------- understanding

@dataclass
class Mention:
    start: int
    end: int
    candidates: list[tuple[Entity, bool]]
    via: str  # exact | prefix | sound | typo | words | fuzzy
    entity: Entity | None = None
    role: str | None = None
    strength: str | None = None
    cue: str = ""  # the words that gave the role ("从", "去", "around")


@dataclass
class Understanding:
    text: str
    lang: str
    intent: str  # trip | site | other
    origin: str | None = None
    end: str | None = None
    days: int | None = None
    start_date: dt.date | None = None
    weekend: bool = False
    interests: dict[str, float] | None = None
    themes: list[str] = field(default_factory=list)
    pace: str | None = None
    must: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)
    site: str | None = None
    mentions: list[Mention] = field(default_factory=list)
    destination: str | None = None  # a place or site id the trip should concentrate on
    party: list[str] = field(default_factory=list)  # children | seniors | no-car
    arrive_at: dt.time | None = None  # when the traveller gets to the origin (a train's arrival)
    period: tuple[dt.date, dt.date] | None = None  # a month or season named instead of a day ("七月", "暑假")
    period_name: str | None = None
    arriving_from: str | None = None  # a gateways city id: the traveller comes from outside the zone
    arrival_options: list[str] = field(default_factory=list)  # its hubs, when the message does not say which
    origin_chosen: bool = False  # the origin is our pick of the city's hubs (nearest the destination)
    topics: list[str] = field(default_factory=list)  # what a plain question asks (hours, ticket, road…)
    unlisted: str | None = None  # a hotel or restaurant named as a place ("井冈山宾馆"): we do not list those
    unlisted_near: list[str] = field(default_factory=list)  # towns and stations near it, to ask which one

    @property
    def missing(self) -> list[str]:
        if self.intent != "trip":
            return []
        return [name for name in ("origin", "days") if getattr(self, name) is None]

    def as_dict(self) -> dict:
        return {"lang": self.lang, "intent": self.intent, "origin": self.origin, "end": self.end,
                "days": self.days, "start_date": self.start_date.isoformat() if self.start_date else None,
                "interests": self.interests, "themes": self.themes, "pace": self.pace, "must": self.must,
                "avoid": self.avoid, "site": self.site, "missing": self.missing, "destination": self.destination,
                "party": self.party, "arrive_at": self.arrive_at.strftime("%H:%M") if self.arrive_at else None,
                "period": [d.isoformat() for d in self.period] if self.period else None,
                "arriving_from": self.arriving_from, "arrival_options": self.arrival_options,
                "topics": self.topics, "unlisted": self.unlisted}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def language(text: str) -> str:
    cjk = len(_CJK_RE.findall(text))
    latin = len(re.findall(r"[a-zA-Z]{2,}", text))
    return "zh" if cjk and cjk / 2 > latin else "en"


def _blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        chars[i] = " "


# A day the traveller arrives late or has arrived already ("今天下午到茨坪了"): no sightseeing left on it
_ARRIVAL_AFTER_DATE = re.compile(r"\s*(?:(?:下午|傍晚|晚上|夜里|半夜)\s*(?:才|刚|就)?\s*(?:到|抵达|到达)"
                                 r"|(?:已经|刚刚|刚)\s*(?:到|抵达|到达)|(?:到|抵达|到达)了)")


def _find_dates(text: str, today: dt.date) -> tuple[dt.date | None, bool, dict, list[tuple[int, int]]]:
    """(the first date named, whether it is a weekend, info: a range's "days" or a month's "period", spans)."""
    chars = list(text)
    found: list[tuple[int, dt.date | None, bool, dict, int]] = []
    spans = []
    for pattern, read in _date_rules(today):
        for m in re.finditer(pattern, "".join(chars)):
            date, weekend, *info = read(m)
            found.append((m.start(), date, weekend, info[0] if info else {}, m.end()))
            spans.append((m.start(), m.end()))
            _blank(chars, m.start(), m.end())
    found = [f for f in found if f[1] is not None]
    if not found:
        return None, False, {}, spans
    # "今天下午到茨坪了，明天玩一天": the trip starts on the other day named
    found = [f for f in found if not _ARRIVAL_AFTER_DATE.match(text[f[4]:])] or found
    _, date, weekend, info, _ = min(found, key=lambda f: f[0])
    return date, weekend, info, spans


# A length of time that is not the trip's: "连续三周没有下雨", "已经下了两天雨", "3 weeks without rain".
_NOT_TRIP_BEFORE = re.compile(r"(?:连续|已经|已|过去|最近|下了|持续|for the (?:last|past)|in the (?:last|past)"
                              r"|over the (?:last|past))\s*$")
_NOT_TRIP_AFTER = re.compile(r"^(?:都没|都不|没|以来|之前|前(?!往)|里都|的雨|下雨|雨|了(?:[,，。.!！]|$))|"
                             r"^\s+(?:without|of rain|ago|in a row|straight|no rain|dry)\b")


def _other_duration(text: str, start: int, end: int) -> bool:
    before, after = text[max(0, start - 20):start], text[end:end + 12]
    if _NOT_TRIP_BEFORE.search(before) and not re.search(r"(?:玩|游|住|待|呆|\bspend|\bstay)\s*$", before):
        return not re.match(r"^\s*(?:游|行程|的行程|trip|tour|itinerary)", after)
    return bool(_NOT_TRIP_AFTER.match(after))


def _find_days(text: str) -> tuple[int | None, list[tuple[int, int]]]:
    chars = list(text)
    days, spans = None, []
    for rules in (_DAY_RULES, _NIGHT_RULES):
        for pattern, read in rules:
            for m in re.finditer(pattern, "".join(chars)):
                value = read(m)
                spans.append((m.start(), m.end()))
                _blank(chars, m.start(), m.end())
                if value and days is None and not _other_duration(text, m.start(), m.end()):
                    days = value
        if days is not None:
            break
    return days, spans


def _find_cjk(text: str, taken: list[bool], index: PlaceIndex) -> list[Mention]:
    mentions: list[Mention] = []

    def free(i: int, j: int) -> bool:
        return j <= len(text) and not any(taken[i:j])

    def take(i: int, j: int, pairs, via: str) -> None:
        mentions.append(Mention(i, j, index.rank(pairs), via))
        for k in range(i, j):
            taken[k] = True

    runs = [(m.start(), m.end()) for m in _CJK_RUN.finditer(text)]
    # 1. exact names and unique prefixes of longer names, longest first
    for length in range(min(index.max_cjk, 40), 1, -1):
        for start, end in runs:
            for i in range(start, end - length + 1):
                if not free(i, i + length):
                    continue
                piece = text[i:i + length]
                if piece in index.cjk:
                    take(i, i + length, index.cjk[piece], "exact")
                elif length >= 4 and len(index.cjk_prefix.get(piece, ())) == 1:
                    take(i, i + length, {(next(iter(index.cjk_prefix[piece])), False)}, "prefix")
    # 2. the same sound (井岗山), 3. one wrong character (萍乡北占)
    for start, end in runs:
        syllables = _pinyin(text[start:end])
        i = start
        while i < end:
            hit = None
            for length in range(min(end - i, 16), 2, -1):
                if not free(i, i + length):
                    continue
                piece = text[i:i + length]
                sound = tuple(syllables[i - start:i - start + length])
                if sound in index.cjk_sound:
                    names = index.cjk_sound_names[sound]
                    if any(sum(a == b for a, b in zip(n, piece, strict=True)) * 2 >= length for n in names):
                        hit = (length, index.cjk_sound[sound], "sound")
                        break
                if length >= 4:
                    pairs = set()
                    for k in range(length):
                        pairs |= index.cjk_masked.get(piece[:k] + "?" + piece[k + 1:], set())
                    if pairs:
                        hit = (length, pairs, "typo")
                        break
            if hit:
                take(i, i + hit[0], hit[1], hit[2])
                i += hit[0]
            else:
                i += 1
    return mentions


def _find_latin(text: str, taken: list[bool], index: PlaceIndex) -> list[Mention]:
    tokens = []  # (start, end, word, segment)
    segment, last_end = 0, 0
    for m in re.finditer(r"[a-z0-9]+(?:'[a-z]+)?", text):
        gap = text[last_end:m.start()]
        if tokens and (gap.strip(" -") or any(taken[last_end:m.start()])):
            segment += 1
        last_end = m.end()
        if any(taken[m.start():m.end()]):
            segment += 1
            continue
        tokens.append((m.start(), m.end(), _no_apostrophes(m.group()), segment))
    mentions: list[Mention] = []
    i = 0
    while i < len(tokens):
        hit = None
        for n in range(min(6, len(tokens) - i), 0, -1):
            group = tokens[i:i + n]
            if group[-1][3] != group[0][3]:
                continue
            words = [t[2] for t in group]
            if words[0] in EN_STOP or words[-1] in EN_STOP or words[0].isdigit():
                continue
            key = "".join(words)
            if key in index.latin:
                hit = (n, index.latin[key], "exact")
                break
            if n >= 2:
                pairs, via = _by_words(words, index)
                if pairs:
                    hit = (n, pairs, via)
                    break
            if n <= 4 and len(key) >= 6:
                best = process.extractOne(key, index.latin_keys, scorer=fuzz.ratio, score_cutoff=88)
                if best and best[0][:2] == key[:2]:
                    hit = (n, index.latin[best[0]], "fuzzy")
                    break
        if hit:
            n, pairs, via = hit
            mentions.append(Mention(tokens[i][0], tokens[i + n - 1][1], index.rank(pairs), via))
            i += n
        else:
            i += 1
    return mentions


def _by_words(words: list[str], index: PlaceIndex) -> tuple[set[tuple[str, bool]], str]:
    """Entities whose names use every one of these words ("wenjiashi memorial", "mangshan forest")."""
    if len([w for w in words if w not in EN_STOP]) < 2:
        return set(), ""
    sets = [index.word_index.get(w, set()) for w in words]
    if not all(sets):
        return set(), ""
    ids = set.intersection(*sets)
    proper = [w for w in words if w not in GENERIC_WORDS | THEMATIC_WORDS | EN_STOP]
    if proper and len(ids) <= 3:
        return {(i, False) for i in ids}, "words"
    if not proper and FACILITY_WORDS & set(words) and ids:
        return {(i, False) for i in ids}, "nearby"  # kept only if one of them is near the other places
    return set(), ""


def _assign_roles(text: str, mentions: list[Mention]) -> None:
    spans = [(m.start, m.end) for m in mentions]
    cues = []
    for m in _CUE_RE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in spans):
            continue
        _pattern, role, strength, position = _CUES[int(m.lastgroup[1:])]
        cues.append((m.start(), m.end(), role, strength, position, m.group()))
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(text)]

    def clause(pos: int) -> int:
        return sum(b < pos for b in breaks)

    for mention in mentions:
        role = strength = None
        before = [c for c in cues if c[1] <= mention.start and clause(c[0]) == clause(mention.start)]
        if before:
            _s, _e, cue_role, cue_strength, position, cue_text = before[-1]
            if position == "pre":
                role, strength, mention.cue = cue_role, cue_strength, cue_text
        after = [c for c in cues if c[0] >= mention.end and c[4] == "post"
                 and not text[mention.end:c[0]].strip(" 站")]
        if after and (strength != "strong" or after[0][3] == "strong"):
            role, strength, mention.cue = after[0][2], after[0][3], after[0][5]
        mention.role, mention.strength = role, strength


def _resolve(mentions: list[Mention]) -> None:
    """Pick one entity per mention. A name shared by several sites goes to the one in a county the message
    names, else to the one nearest the other places named."""
    def top(mention: Mention) -> list[Entity]:
        best = mention.candidates[0]
        tier = (best[1], KIND_ORDER[best[0].kind])
        return [e for e, exact in mention.candidates if (exact, KIND_ORDER[e.kind]) == tier]

    named_counties = {int(m.candidates[0][0].id.removeprefix("county-")) for m in mentions
                      if m.candidates[0][0].id.startswith("county-")}
    for mention in mentions:
        # of same-named sites, the one in a county the message names (铜鼓……秋收起义纪念馆)
        tops = top(mention)
        if mention.via != "nearby" and tops[0].kind == "site" and not any(e.county in named_counties for e in tops):
            inside = [e for e, _ in mention.candidates if e.kind == "site" and e.county in named_counties]
            if len(inside) == 1:
                mention.entity = inside[0]
    anchors = [m.entity for m in mentions if m.entity is not None]
    for mention in mentions:
        if mention.entity is not None:
            continue
        tops = top(mention)
        if mention.via != "nearby" and (len(tops) == 1 or tops[0].kind != "site"):
            mention.entity = tops[0]
            anchors.append(mention.entity)
    for mention in mentions:
        if mention.entity is not None:
            continue
        tops = top(mention)
        if mention.via == "nearby":
            near = [e for e in tops if anchors and min(_km(e, a) for a in anchors) <= NEARBY_KM]
            mention.entity = near[0] if len(near) == 1 else None
        elif anchors:
            mention.entity = min(tops, key=lambda e: min(_km(e, a) for a in anchors))
        else:
            mention.entity = tops[0]


def _km(a: Entity, b: Entity) -> float:
    dlat = math.radians(b.lat - a.lat)
    dlon = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    return 6371 * math.hypot(dlat, dlon)


def _keyword_hits(text: str, patterns: list[str]) -> list[tuple[int, int, bool]]:
    """(start, end, negated) for each keyword found."""
    hits = []
    for pattern in patterns:
        for m in re.finditer(pattern, text):
            lead = text[max(0, m.start() - 14):m.start()]
            negated = bool(re.search(NEGATION + r"\s*(?:看|去|爬|想|要|太|want|like|any|the|to)?\s*(?:\w+\s+){0,2}$",
                                     lead)) if lead else False
            if _CJK_RE.match(m.group()[0]):
                negated = bool(re.search(r"(?:不想|不要|不喜欢|不爱|不|别|没)(?:去|看|爬|泡|带)?$", lead))
            hits.append((m.start(), m.end(), negated))
    return hits


def _interests(text: str, themes: list[str]) -> dict[str, float] | None:
    red = _keyword_hits(text, RED_WORDS)
    eco = _keyword_hits(text, ECO_WORDS)
    has = {"red": any(not n for *_, n in red) or bool(set(themes) & RED_THEMES),
           "eco": any(not n for *_, n in eco) or bool(set(themes) & ECO_THEMES)}
    refused = {"red": bool(red) and all(n for *_, n in red) and not has["red"],
               "eco": bool(eco) and all(n for *_, n in eco) and not has["eco"]}
    if not any(has.values()):
        return None
    weights = {k: 1.0 if has[k] else (0.0 if refused[k] else 0.25) for k in has}
    only = re.search(ONLY_WORDS, text)
    if only and sum(has.values()) == 1:
        weights = {k: 1.0 if has[k] else 0.0 for k in has}
    mostly = re.search(MOSTLY_WORDS, text)
    if mostly and all(has.values()):
        nearest = min(red + eco, key=lambda h: abs(h[0] - mostly.start()))
        weights["red" if nearest in red else "eco"] = 2.0
    return weights


def _themes(text: str) -> list[str]:
    found = []
    for theme, patterns in THEME_WORDS.items():
        if any(not negated for *_, negated in _keyword_hits(text, patterns)):
            found.append(theme)
    return found


def _pace(text: str) -> str | None:
    for pace, patterns in (("relaxed", RELAXED_WORDS), ("packed", PACKED_WORDS), ("normal", NORMAL_WORDS)):
        if any(re.search(p, text) for p in patterns):
            return pace
    return None


# ---------------------------------------------------------------- arrival times, party, questions

_ZH_PART_OF_DAY = r"(?:(上午|早上|早晨|清晨|凌晨|早|中午|下午|傍晚|晚上)\s*)?"
_ZH_MINUTES = r"(半|一刻|三刻|\d{2}|[一二三四五]?十[一二三四五六七八九]?|零?[一二三四五六七八九])?"
_ZH_CLOCK = _ZH_PART_OF_DAY + r"(\d{1,2}|[一二两三四五六七八九十]{1,3})\s*[点時时:：]\s*" + _ZH_MINUTES + r"\s*分?"
_ZH_ARRIVAL = re.compile(_ZH_CLOCK + r"\s*(?:左右|前后)?\s*(?:就|会|能|才)?\s*"
                         r"(到达|抵达|到|落地|下车|下高铁|下飞机|出站)")
_EN_ARRIVE_WORD = re.compile(r"\b(?:arriv\w*|land\w*|get(?:ting)? (?:in|there)|gets in|reach\w*|pull(?:s|ing)? in)\b")
_EN_CLOCKS = [re.compile(r"\b(\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<part>a\.?m\.?|p\.?m\.?)(?![a-z])"),
              re.compile(r"\b(\d{1,2}):(?P<minute>\d{2})\b"),
              re.compile(r"\bat (\d{1,2})\b(?!\s*(?:km|days?|nights?|[:.]))")]
# A hotel or restaurant named after a place ("井冈山宾馆", "Jinggangshan Hotel") is not that place.
_UNLISTED_AFTER = re.compile(r"^\s*(?:大?酒店|宾馆|饭店|旅馆|旅社|民宿|客栈|招待所|度假村|山庄|"
                             r"hotel|inn|hostel|guest ?house|resort|restaurant)")


def _clock(hour: int | None, minute: int, part: str | None) -> dt.time | None:
    if hour is None:
        return None
    if part in ("下午", "傍晚", "晚上") or (part or "").startswith("p"):
        hour += 12 if hour < 12 else 0
    elif part == "中午" and hour < 6:
        hour += 12
    elif (part or "").startswith("a") and hour == 12:
        hour = 0
    return dt.time(hour, minute) if 0 <= hour <= 23 and 0 <= minute <= 59 else None


def _zh_minute(text: str | None) -> int:
    if not text:
        return 0
    return {"半": 30, "一刻": 15, "三刻": 45}.get(text) or number(text.lstrip("零")) or 0


def _find_arrival(work: str) -> tuple[dt.time | None, str]:
    """When the traveller arrives ("坐高铁10点到萍乡北站", "arriving at Pingxiang North at 10am"), and the
    text with the time blanked. In Chinese "10点到X" makes X where the trip starts, so 到 is rewritten to the
    origin cue 从 (same length, so every position stays where it was)."""
    match = _ZH_ARRIVAL.search(work)
    if match:
        when = _clock(number(match[2]), _zh_minute(match[3]), match[1])
        verb_start, verb_end = match.span(4)
        cue = "从" + " " * (verb_end - verb_start - 1) if match[4] in ("到达", "抵达", "到") else match[4]
        work = work[:match.start()] + " " * (verb_start - match.start()) + cue + work[verb_end:]
        return when, work
    for clause in re.finditer(r"[^,.;!?。，；！？]+", work):
        if not _EN_ARRIVE_WORD.search(clause.group()):
            continue
        # the most explicit form wins: "at Pingxiang North at 10:30am" is 10:30, not "at 10"
        clock = next((c for p in _EN_CLOCKS if (c := p.search(clause.group()))), None)
        if clock:
            hour, minute, part = clock.group(1), clock.groupdict().get("minute"), clock.groupdict().get("part")
            when = _clock(int(hour), int(minute or 0), part)
            start, end = clause.start() + clock.start(), clause.start() + clock.end()
            return when, work[:start] + " " * (end - start) + work[end:]
    return None, work


PARTY_WORDS = {
    "children": [r"孩子", r"小孩", r"儿童", r"宝宝", r"婴儿", r"娃", r"亲子", r"小朋友", r"\bkids?\b",
                 r"\bchild(?:ren)?\b", r"\bbab(?:y|ies)\b", r"\btoddlers?\b", r"\binfants?\b", r"\bstroller\b",
                 r"\bpram\b", r"\b(?:son|daughter)s?\b"],
    "seniors": [r"老人", r"爸妈", r"父母", r"长辈", r"老年", r"爷爷", r"奶奶", r"外公", r"外婆", r"姥姥", r"姥爷",
                r"老爸", r"老妈", r"\belderly\b", r"\bseniors?\b", r"\bgrand(?:parents?|ma|pa|mother|father)\b",
                r"\b(?:my|our) (?:old )?parents\b", r"\bretired\b", r"\baged\b"],
    "no-car": [r"没有车", r"没车", r"不开车", r"不自驾", r"没有驾照", r"没驾照", r"不会开车", r"公共交通", r"坐公交",
               r"坐大巴", r"只坐火车", r"只能坐车", r"\bno car\b", r"\bwithout (?:a )?car\b",
               r"\bdon'?t (?:have a car|drive)\b", r"\bdo not (?:have a car|drive)\b", r"\bcan'?t drive\b",
               r"\bpublic transport\w*\b", r"\bby (?:bus|train) only\b", r"\bonly by (?:bus|train)\b",
               r"\bcarless\b", r"\bno driving\b",
               r"\bnot driving\b"],
}


def _party(text: str) -> list[str]:
    found = []
    for who, patterns in PARTY_WORDS.items():
        hits = _keyword_hits(text, patterns)
        # "no-car" phrases carry their own negation; for the others "不带孩子" means no children
        if any(who == "no-car" or not negated for *_, negated in hits):
            found.append(who)
    return found


def _any(*patterns: str) -> str:
    return "|".join(patterns)


TOPIC_WORDS = {
    "hours": _any(r"几点", r"开放时间", r"开门", r"关门", r"营业", r"开放吗", r"开着", r"\bhours\b",
                  r"\bopen(?:ing)?\b", r"\bclos(?:e|es|ed|ing)\b", r"\bwhat time\b"),
    "ticket": _any(r"门票", r"票价", r"多少钱", r"收费", r"要钱", r"免费", r"买票", r"\btickets?\b", r"\bprices?\b",
                   r"\bcosts?\b", r"\bfees?\b", r"\bfree\b", r"\bhow much\b"),
    "visit": _any(r"多久", r"多长时间", r"几个小时", r"多少时间", r"半天够", r"\bhow long\b", r"\bhow much time\b",
                  r"\benough time\b"),
    "designation": _any(r"几a", r"[345]a", r"级别", r"等级", r"\bdesignations?\b", r"\brated\b", r"\b[345]a\b",
                        r"\bheritage (?:site|status)\b"),
    "road": _any(r"路况", r"路好走", r"好走吗", r"好开吗", r"山路", r"盘山", r"危险", r"安全吗", r"安不安全", r"难开",
                 r"路陡", r"晕车", r"\broads?\b", r"\bsafe(?:ty)?\b", r"\bdangerous\b", r"\bwinding\b", r"\bsteep\b",
                 r"\bcar ?sick"),
    "hotel": _any(r"住哪", r"住宿", r"酒店", r"宾馆", r"民宿", r"住在哪", r"住的地方", r"客栈", r"\bhotels?\b",
                  r"\baccommodation\b", r"\bwhere (?:to|should we|can we) (?:stay|sleep)\b", r"\bhostels?\b",
                  r"\bguest ?houses?\b", r"\bplaces? to stay\b"),
    "train": _any(r"火车", r"高铁", r"动车", r"车次", r"怎么去", r"怎么到", r"怎么过去", r"交通", r"坐车",
                  r"\btrains?\b", r"\brail\w*\b", r"\bhow (?:do|can|should) (?:i|we) get\b", r"\bhow to get\b",
                  r"\bbus(?:es)?\b", r"\bflights?\b", r"\bfly\b"),
    "weather": _any(r"天气", r"下雨", r"雨季", r"气温", r"温度", r"冷不冷", r"热不热", r"冷吗", r"热吗", r"下雪",
                    r"\bweather\b", r"\brain(?:y|ing|s)?\b", r"\btemperature\b", r"\bcold\b", r"\bsnow\w*\b",
                    r"\bforecast\b"),
    "suitable": _any(r"适合", r"合适吗", r"能去吗", r"可以去吗", r"方便吗", r"推车", r"\bsuitable\b",
                     r"\bkid[- ]friendly\b", r"\bgood for\b", r"\bok for\b", r"\bwheelchair\b", r"\baccessible\b"),
    "about": _any(r"介绍", r"是什么", r"是哪", r"怎么样", r"有什么", r"\btell me about\b", r"\bwhat is\b",
                  r"\bwhat's\b", r"\bwhat to see\b"),
}
QUESTION_MARK = re.compile(r"[?？]|吗|呢|么|如何|怎么|怎样|多少|几点|几个|哪|能不能|可不可以|有没有|是否|是不是|"
                           r"^\s*(?:how|what|when|where|which|is|are|can|could|do|does|should|will|would|any)\b|"
                           r"\b(?:tell me|i wonder|wondering)\b")
PLAN_WORDS = r"规划|行程|安排|攻略|路线|线路|\bplan\b|\bitinerar\w*|\broute\b|\bschedule\b"


def _topics(text: str) -> list[str]:
    return [topic for topic, pattern in TOPIC_WORDS.items() if re.search(pattern, text)]


# ---------------------------------------------------------------- understanding

def understand(text: str, index: PlaceIndex, today: dt.date) -> Understanding:
    """Read one message. Relative dates are relative to `today` (the date in China)."""
    raw = (text or "")[:1000]
    work = normalise(raw)
    result = Understanding(text=raw, lang=language(raw), intent="other")
    if not work.strip() or work.strip().startswith("/"):
        return result

    result.arrive_at, work = _find_arrival(work)
    chars = list(work)
    result.start_date, result.weekend, date_info, date_spans = _find_dates(work, today)
    for s, e in date_spans:
        _blank(chars, s, e)
    result.period, result.period_name = date_info.get("period"), date_info.get("period_name")
    days, day_spans = _find_days("".join(chars))
    for s, e in day_spans:
        _blank(chars, s, e)
    masked = "".join(chars)
    if days is None:
        days = date_info.get("days") or (2 if result.weekend else None)
    result.days = days if days is None else max(1, days)

    taken = [c == " " and masked[i] != work[i] for i, c in enumerate(masked)]
    mentions = _find_cjk(masked, taken, index)
    mentions += _find_latin(masked, taken, index)
    mentions.sort(key=lambda m: m.start)
    _assign_roles(masked, mentions)
    _resolve(mentions)
    mentions = [m for m in mentions if m.entity is not None]
    for m in [m for m in mentions if _UNLISTED_AFTER.match(masked[m.end:])]:
        hotel = _UNLISTED_AFTER.match(masked[m.end:])
        result.unlisted = work[m.start:m.end + hotel.end()].strip()
        result.unlisted_near = _nearby_hubs(index, m.entity)
        mentions.remove(m)
    result.mentions = mentions

    keywords = list(masked)
    for m in mentions:
        _blank(keywords, m.start, m.end)
    plain = "".join(keywords)
    result.themes = _themes(plain)
    result.interests = _interests(plain, result.themes)
    result.pace = _pace(plain)
    result.party = _party(plain)
    _place_roles(result, mentions, masked, day_spans)
    _arriving_from(result, index)

    sites = {m.entity.id for m in mentions if m.entity.kind == "site"}
    topics = _topics(plain)
    asked = bool(topics) and bool(QUESTION_MARK.search(plain))
    wants_plan = bool(result.days or result.start_date or re.search(PLAN_WORDS, plain))
    result.topics = topics if asked else []
    asks_about_site = re.search(SITE_QUESTION, plain) and len(sites) == 1
    trip_signals = (result.days or result.start_date or result.interests or result.pace or result.themes
                    or re.search(TRIP_WORDS, plain) or any(m.entity.kind != "site" for m in mentions))
    if asked and not wants_plan and set(topics) - {"about"}:
        # a plain question: answered, never turned into an itinerary nobody asked for
        result.intent = "question"
        result.site = next(iter(sites)) if len(sites) == 1 else None
    elif asks_about_site and not (wants_plan or re.search(TRIP_WORDS, plain)
                                  or any(m.role in ("origin", "end") for m in mentions)):
        result.intent, result.site = "site", next(iter(sites))
    elif trip_signals or mentions or result.party:
        result.intent = "trip"
    if result.intent != "trip":
        result.origin, result.end, result.must, result.avoid, result.arrival_options = None, None, [], [], []
        if result.intent != "question":  # "how do I get from Nanchang…" keeps the city it asks about
            result.arriving_from = None
    return result


_END_CUES = ("到", "至", "to", "towards")  # "A to B" ends at B; 去/go to/trip to only says where the trip goes


def _focus(mention: Mention) -> Entity | None:
    """What a mention names as a place to spend the trip in: a town or county (井冈山 -> 井冈山市, not its
    station) or a site. A station, an airport or a far city is where one arrives, not what one visits."""
    tier = mention.candidates[0][1]
    same = [e for e, exact in mention.candidates if exact == tier]
    return next((e for kind in ("town", "site") for e in same if e.kind == kind), None)


def _place_roles(result: Understanding, mentions: list[Mention], text: str = "",
                 day_spans: list[tuple[int, int]] = ()) -> None:
    places = [m for m in mentions if m.entity.kind != "site"]
    sites = [m for m in mentions if m.entity.kind == "site"]
    origin = (next((m for m in mentions if m.role == "origin" and m.strength == "strong"), None)
              or next((m for m in places if m.entity.kind == "city" and m.role in (None, "origin")), None)
              or next((m for m in places if m.role == "origin"), None)
              or next((m for m in places if m.role is None), None)
              or next((m for m in places if m.role in ("dest", "must", "locator")), None)
              or next((m for m in sites if m.role == "origin"), None))
    result.origin = origin.entity.id if origin else None
    end = next((m for m in mentions if m.role == "end" and m is not origin), None)
    if end is None:
        end = next((m for m in places if m.role == "dest" and m is not origin and m.cue.strip() in _END_CUES
                    and m.entity.kind != "city"), None)
    if end is not None and end.entity.id != result.origin:
        result.end = end.entity.id
    for m in sites:
        if m is origin or m is end:
            continue
        target = result.avoid if m.role == "avoid" else result.must
        if m.entity.id not in target:
            target.append(m.entity.id)
    result.must = [s for s in result.must if s not in result.avoid]
    destination = _destination(mentions, origin, text, day_spans)
    result.destination = destination.id if destination else None


def _destination(mentions: list[Mention], origin: Mention | None, text: str,
                 day_spans: list[tuple[int, int]]) -> Entity | None:
    """Where the trip concentrates: a place gone to (去井冈山, to Jinggangshan, 井冈山那边), a place the trip is
    around (2 days around Jinggangshan, 只在井冈山, 井冈山两日游), or the one site a message is about (武功山两天)."""
    named = [m for m in mentions if m.role != "avoid" and m.entity.kind != "city"]
    gone_to = [m for m in named if m is not origin and (
        m.role in ("dest", "locator") or (m.role in ("must", "origin") and m.strength == "weak"
                                          and m.entity.kind != "site"))]
    for m in gone_to:
        if _focus(m):
            return _focus(m)
    weak_origin = origin is not None and (origin.role is None or origin.strength == "weak")
    if weak_origin and origin.entity.kind != "site" and _focus(origin):
        return _focus(origin)
    followed_by_days = [m for m in named if any(0 <= s - m.end <= 2 and not text[m.end:s].strip()
                                                for s, _ in day_spans)]
    sites = [m for m in named if m.entity.kind == "site"]
    if followed_by_days and _focus(followed_by_days[0]):
        return _focus(followed_by_days[0])
    if len(sites) == 1 and not [m for m in named if m.entity.kind != "site"] and sites[0].role != "must":
        return sites[0].entity
    return None


def _nearby_hubs(index: PlaceIndex, entity: Entity, limit: int = 4) -> list[str]:
    """Towns and stations within NEARBY_KM of an entity, nearest first (the entity itself too if it is one)."""
    hubs = [e for e in index.entities.values() if e.kind in ("town", "station") and _km(e, entity) <= NEARBY_KM]
    return [e.id for e in sorted(hubs, key=lambda e: (_km(e, entity), e.id))][:limit]


def _arriving_from(result: Understanding, index: PlaceIndex) -> None:
    """A far city as the origin: the station the traveller arrives at (the only one, or the one nearest the
    destination, which is our choice), or the options to ask about."""
    if not (result.origin or "").startswith("city:"):
        return
    city = gateways.BY_ID[result.origin.split(":", 1)[1]]
    options = [h for h in gateways.hubs(city) if h in index.entities]
    result.arriving_from, result.origin = city.id, None
    target = index.entities.get(result.destination or "")
    if len(options) == 1:
        result.origin = options[0]
    elif target is not None and options:
        result.origin = min(options, key=lambda h: _km(index.entities[h], target))
        result.origin_chosen = True
    else:
        result.arrival_options = options


def merge(draft: dict, update: Understanding) -> dict:
    """A pending request (from earlier messages) with what a new message adds or changes."""
    out = dict(draft)
    for name in ("origin", "end", "days", "interests", "pace", "destination", "period_name"):
        value = getattr(update, name)
        if value is not None:
            out[name] = value
    if update.start_date is not None:
        out["start_date"] = update.start_date.isoformat()
    if update.arrive_at is not None:
        out["arrive_at"] = update.arrive_at.strftime("%H:%M")
    for name in ("themes", "must", "avoid", "party"):
        values = list(out.get(name) or [])
        values += [v for v in getattr(update, name) if v not in values]
        out[name] = values
    out["avoid"] = [a for a in out.get("avoid", []) if a not in update.must]
    out["must"] = [m for m in out.get("must", []) if m not in out["avoid"]]
    if update.origin is not None:
        # a new origin settles any open question about where the trip starts
        for name in ("arrival_options", "unlisted", "unlisted_near"):
            out.pop(name, None)
        out["origin_chosen"], out["arriving_from"] = update.origin_chosen, update.arriving_from
    elif update.arrival_options:
        out["arrival_options"], out["arriving_from"] = update.arrival_options, update.arriving_from
    elif update.unlisted:
        out["unlisted"], out["unlisted_near"] = update.unlisted, update.unlisted_near
    return {k: v for k, v in out.items() if v not in (None, [], False) or k in ("must", "avoid", "themes")}


def as_draft(update: Understanding) -> dict:
    return merge({}, update)
