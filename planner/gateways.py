"""Cities outside the zone that travellers arrive from, and where they arrive.

Someone who writes "from Shanghai" or "从南昌出发" does not start driving in Shanghai: they take a train or a
plane to a station or airport of the zone (a row of `places`), and the trip starts there. Each city lists the
arrival hubs with the rail line or flight that connects them, and the public page that states the connection
(`source`). A route without a source is our suggestion and says so (`checked` is False).

When a city has one hub, that hub is the trip's origin. When it has several, a known destination picks the
hub nearest to it (a choice, said as such); without one, the user is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from planner.geo import haversine_m
from planner.search_text import pinyin_forms

# Pages that state which stations a line serves (found with the project's search tool; read 2026-12).
HUKUN_NANCHANG_CHANGSHA = ("http://epaper.gmw.cn/gmrb/html/2014-09/17/nw.D110000gmrb_20140917_5-10.htm",
                           "光明日报 2014-09-17: 沪昆高铁南昌至长沙段 stations 南昌西、高安、新余北、宜春、萍乡北、"
                           "醴陵东、长沙南")
HUKUN_WHOLE_LINE = ("http://95105105.com/news/2013/0416/2360.html",
                    "沪昆高速铁路 runs through 上海、杭州、南昌、长沙 (2013 article on 醴陵北/醴陵东 station)")
HUKUN_STATIONS = ("https://juke.outofmemory.cn/pretty/3409826.html",
                  "沪昆高铁线路图及站点: …萍乡(北)—醴陵东—长沙南—湘潭北—韶山南…")
CHANGGAN = ("https://m.baike.so.com/doc/6792230-7008852.html",
            "昌赣高速铁路 (360百科): 南昌…吉安西、泰和、万安、兴国西、赣县北、赣州西")
JIHENG = ("https://zh.wikipedia.org/wiki/吉衡铁路",
          "吉衡铁路 (Wikipedia): 衡阳 – 攸县 – 茶陵 – 炎陵 – 井冈山站 – 吉安")
WUGUANG = ("http://cj8822.cn/104504.html",
           "武广高铁 (the Wuhan–Guangzhou part of 京广高铁): 武汉站、长沙南站、广州南站; 长沙南站 joins 京广 and 沪昆")
JINGGUANG = ("http://aizrj.com/eamyrdhcjjc.html",
             "京广高速铁路: 北京西 … 武汉站、长沙南站、广州南站")
SHENZHEN_TRAINS = ("http://nbhuotong.com/p/32307.html",
                   "广铁集团 2017 timetable: trains to 深圳 stop at 长沙南、衡阳东、郴州西、韶关、广州南")
ZHUZHOU_WEST = ("https://www.waraplay.com/a/29280.html", "株洲西站 is a station of 武广客运专线")
JGS_FLIGHTS = ("http://china.org.cn/english/travel/129704.htm",
               "china.org.cn (2005): Jinggangshan Airport flights from Beijing (and planned from Guangzhou)")


@dataclass(frozen=True)
class Route:
    hub: str  # a place id (station or airport)
    mode: str  # rail | flight
    line_zh: str
    line_en: str
    source: tuple[str, str] | None = None  # (url, what it says); None: our suggestion

    @property
    def checked(self) -> bool:
        return self.source is not None


@dataclass(frozen=True)
class City:
    id: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...]
    routes: tuple[Route, ...]

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def names(self) -> list[str]:
        out = [self.name_zh, self.name_en, *self.aliases]
        return out + [p for n in out for p in pinyin_forms(n)]


def _rail(hub: str, zh: str, en: str, source) -> Route:
    return Route(hub, "rail", zh, en, source)


_HUKUN = ("沪昆高铁", "Shanghai–Kunming high-speed railway")
_HUKUN_EAST = (_rail("pingxiang-north-station", *_HUKUN, HUKUN_NANCHANG_CHANGSHA),
               _rail("yichun-station", *_HUKUN, HUKUN_NANCHANG_CHANGSHA))

CITIES: tuple[City, ...] = (
    City("shanghai", "上海", "Shanghai", ("上海市", "上海虹桥", "沪"), _HUKUN_EAST),
    City("hangzhou", "杭州", "Hangzhou", ("杭州市", "杭州东"), _HUKUN_EAST),
    City("nanchang", "南昌", "Nanchang", ("南昌市", "南昌西", "洪都"), (
        _rail("jian-west-station", "昌赣高铁", "Nanchang–Ganzhou high-speed railway", CHANGGAN),
        *_HUKUN_EAST)),
    City("shaoshan", "韶山", "Shaoshan", ("韶山市", "韶山南", "韶山冲"), (
        _rail("liling-east-station", "沪昆高铁", "Shanghai–Kunming high-speed railway", HUKUN_STATIONS),
        _rail("pingxiang-north-station", "沪昆高铁", "Shanghai–Kunming high-speed railway", HUKUN_STATIONS))),
    City("xiangtan", "湘潭", "Xiangtan", ("湘潭市", "湘潭北"), (
        _rail("changsha-south-station", "沪昆高铁", "Shanghai–Kunming high-speed railway", HUKUN_STATIONS),
        _rail("pingxiang-north-station", "沪昆高铁", "Shanghai–Kunming high-speed railway", HUKUN_STATIONS))),
    City("changsha", "长沙", "Changsha", ("长沙市", "星城"), (
        _rail("changsha-south-station", "京广、沪昆高铁", "Beijing–Guangzhou and Shanghai–Kunming HSR",
              WUGUANG),)),
    City("zhuzhou", "株洲", "Zhuzhou", ("株洲市",), (
        _rail("zhuzhou-west-station", "京广高铁", "Beijing–Guangzhou high-speed railway", ZHUZHOU_WEST),)),
    City("jian", "吉安", "Ji'an", ("吉安市", "Jian", "Ji an"), (
        _rail("jian-west-station", "昌赣高铁", "Nanchang–Ganzhou high-speed railway", CHANGGAN),)),
    City("chenzhou", "郴州", "Chenzhou", ("郴州市",), (
        _rail("chenzhou-west-station", "京广高铁", "Beijing–Guangzhou high-speed railway", SHENZHEN_TRAINS),)),
    City("hengyang", "衡阳", "Hengyang", ("衡阳市",), (
        _rail("jinggangshan-station", "吉衡铁路", "Ji'an–Hengyang railway", JIHENG),
        _rail("chaling-station", "吉衡铁路", "Ji'an–Hengyang railway", JIHENG),
        _rail("yanling-station", "吉衡铁路", "Ji'an–Hengyang railway", JIHENG))),
    City("ganzhou", "赣州", "Ganzhou", ("赣州市", "赣州西"), (
        _rail("jian-west-station", "昌赣高铁", "Nanchang–Ganzhou high-speed railway", CHANGGAN),)),
    City("wuhan", "武汉", "Wuhan", ("武汉市", "汉口", "武昌"), (
        _rail("changsha-south-station", "京广高铁", "Beijing–Guangzhou high-speed railway", WUGUANG),
        _rail("zhuzhou-west-station", "京广高铁", "Beijing–Guangzhou high-speed railway", ZHUZHOU_WEST))),
    City("beijing", "北京", "Beijing", ("北京市", "北京西", "京城", "Peking"), (
        _rail("changsha-south-station", "京广高铁", "Beijing–Guangzhou high-speed railway", JINGGUANG),
        Route("jinggangshan-airport", "flight", "航班，班次请查询航空公司", "flights (check current schedules)",
              JGS_FLIGHTS))),
    City("guangzhou", "广州", "Guangzhou", ("广州市", "广州南", "羊城", "Canton"), (
        _rail("chenzhou-west-station", "京广高铁", "Beijing–Guangzhou high-speed railway", SHENZHEN_TRAINS),
        _rail("changsha-south-station", "京广高铁", "Beijing–Guangzhou high-speed railway", SHENZHEN_TRAINS))),
    City("shenzhen", "深圳", "Shenzhen", ("深圳市", "深圳北", "鹏城"), (
        _rail("chenzhou-west-station", "京广高铁", "Beijing–Guangzhou high-speed railway", SHENZHEN_TRAINS),
        _rail("changsha-south-station", "京广高铁", "Beijing–Guangzhou high-speed railway", SHENZHEN_TRAINS))),
)
BY_ID = {c.id: c for c in CITIES}


def _key(text: str) -> str:
    return re.sub(r"[\s'’\-]+", "", text or "").lower()


_BY_NAME = {_key(n): c for c in CITIES for n in c.names()}


def find_city(text: str) -> City | None:
    """The out-of-zone city that `text` names exactly (上海, 上海市, Shanghai, shang hai), or None."""
    key = _key(text)
    for suffix in ("city", "市"):
        if key.endswith(suffix) and key[: -len(suffix)] in _BY_NAME:
            key = key[: -len(suffix)]
    return _BY_NAME.get(key)


def city_names() -> dict[str, str]:
    """Every name of every city -> city id (for the bot's name index)."""
    return {n: c.id for c in CITIES for n in [c.name_zh, c.name_en, *c.aliases]}


def hubs(city: City) -> list[str]:
    return list(dict.fromkeys(r.hub for r in city.routes))


def nearest_hub(city: City, places: dict[str, dict], lat: float, lon: float) -> str:
    """The city's arrival hub nearest to a point (the destination): our choice, not a fact about trains."""
    known = [h for h in hubs(city) if h in places]
    return min(known, key=lambda h: haversine_m(lat, lon, places[h]["lat"], places[h]["lon"]))


def describe(city: City, hub: str, hub_name: str, lang: str) -> str:
    """'萍乡北站（沪昆高铁）' with a note when no page states the connection."""
    route = next(r for r in city.routes if r.hub == hub)
    line = route.line_zh if lang == "zh" else route.line_en
    note = "" if route.checked else ("，未核实" if lang == "zh" else ", not checked")
    return f"{hub_name}（{line}{note}）" if lang == "zh" else f"{hub_name} ({line}{note})"
