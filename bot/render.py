"""What the bot shows: itineraries (one HTML message per day), site cards, nearby sites, calendar files, links.

Everything that comes from the database or from a user is escaped with `html.escape`; every message is kept
under Telegram's 4096-character limit by `fit`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.texts import t
from planner.geo import wgs84_to_gcj02
from planner.hours import DAYS, format_hours, windows_on
from planner.sitedata import THEMES

CHINA_TZ = ZoneInfo("Asia/Shanghai")
LIMIT = 4096
WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CATEGORY_MARK = {"red": "🚩", "eco": "🌲", "both": "🚩🌲"}
START_ICON = {"station": "🚉", "airport": "✈️", "town": "🏙", "site": "📍", "point": "📍"}
APPROXIMATE_M = 1000  # worse than this a point is "approximate": no pin, maps search by name

# Words for the itinerary additions of issue 9 (kept here beside the code that uses them).
WORDS: dict[str, tuple[str, str]] = {
    "destination": ("🎯 目的地：{name}", "🎯 Destination: {name}"),
    "sunset": ("日落 {time}", "sunset {time}"),
    # not "–" as visits are written: a lunch line is not a stop (and tests count stops by that dash)
    "lunch": ("🍚 午餐 {start}～{end}", "🍚 lunch {start} to {end}"),
    "lunch_near": ("（{place}）", " ({place})"),
    "approximate": ("📍 大致位置（误差可达约 {km} 公里），导航请按名称搜索",
                    "📍 approximate location (may be off by about {km} km): search for it by name"),
    "in_area": ("含在{area}门票内", "included in the {area} ticket"),
    "tickets_total": ("🎫 门票合计约 ¥{price}（每人）", "🎫 Tickets total about ¥{price} per person"),
    "tickets_free": ("🎫 已知票价的景点均免费", "🎫 Every site with a known price is free"),
    "area_line": ("    {area}：一票通用 ¥{price}", "    {area}: one ticket for all its sites, ¥{price}"),
    "site_line": ("    {name}：¥{price}", "    {name}: ¥{price}"),
    "tickets_unknown": ("    票价未知（未计入）：{names}", "    price not known (not counted): {names}"),
}

# A site's unconfirmed facts (keys of `unverified`) in words.
UNVERIFIED_WORDS: dict[str, tuple[str, str]] = {
    "coords": ("具体位置", "exact location"), "hours": ("开放时间", "opening hours"),
    "seasons": ("季节性开放时间", "seasonal hours"), "ticket": ("票价", "ticket price"),
    "visit_minutes": ("建议游览时长", "visit length"), "designations": ("称号", "designations"),
    "history": ("部分历史细节", "some historical details"), "summary": ("简介", "summary"),
    "name_en": ("英文名", "English name"),
}


def word(lang: str, key: str, **values) -> str:
    zh, en = WORDS[key]
    return (zh if lang == "zh" else en).format(**values)


def is_approximate(point: dict) -> bool:
    if "approximate" in point:
        return bool(point["approximate"])
    precision = point.get("precision_m", point.get("coord_precision_m"))
    return isinstance(precision, int | float) and precision > APPROXIMATE_M


def _km(point: dict) -> int:
    return max(1, round((point.get("precision_m") or point.get("coord_precision_m") or APPROXIMATE_M) / 1000))


def esc(value) -> str:
    return html.escape(str(value if value is not None else ""), quote=False)


def date_label(date: dt.date | str, lang: str) -> str:
    date = dt.date.fromisoformat(date) if isinstance(date, str) else date
    if lang == "zh":
        return f"{date.month}月{date.day}日（周{WEEKDAYS_ZH[date.weekday()]}）"
    return f"{WEEKDAYS_EN[date.weekday()]} {date.day} {MONTHS_EN[date.month - 1]}"


def _clock(stamp: str) -> str:
    return stamp[11:16]


def one_line(text: str, limit: int = 140) -> str:
    """The first sentence of a summary, at most `limit` characters."""
    text = " ".join((text or "").split())
    for mark in ("。", ". ", "；", "; "):
        if mark in text:
            text = text.split(mark)[0] + mark.strip()
            break
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fit(text: str, limit: int = LIMIT) -> str:
    """A message Telegram accepts: cut at a line boundary when too long (the caller shortens first)."""
    if len(text) <= limit:
        return text
    lines, out = text.split("\n"), []
    for line in lines:
        if len("\n".join([*out, line])) > limit - 2:
            break
        out.append(line)
    return "\n".join(out) + "\n…"


# ---------------------------------------------------------------- requests

def interests_param(interests: dict | None) -> str:
    interests = interests or {"red": 1.0, "eco": 1.0}
    if interests.get("red") == interests.get("eco") == 1.0:
        return "red,eco"
    return ",".join(f"{k}:{interests.get(k, 0):g}" for k in ("red", "eco"))


def interests_word(interests: dict | None, lang: str) -> str:
    interests = interests or {"red": 1.0, "eco": 1.0}
    red, eco = interests.get("red", 0), interests.get("eco", 0)
    key = "interests_both" if abs(red - eco) < 1e-9 else ("interests_red" if red > eco else "interests_eco")
    return t(lang, key)


def summary(request: dict, lang: str, name_of: Callable[[str, str], str]) -> str:
    """One line describing a trip request, e.g. 从长沙南站出发 · 3 天 · 11月19日（周四） 出发 · 红色 + 生态."""
    origin = request.get("origin")
    parts = []
    if origin is not None:
        place = t(lang, "my_location") if isinstance(origin, list | tuple) else name_of(origin, lang)
        parts.append(t(lang, "from", place=esc(place)))
    if request.get("end"):
        parts.append(t(lang, "to", place=esc(name_of(request["end"], lang))))
    if request.get("days"):
        parts.append(t(lang, "days", n=request["days"]))
    if request.get("start_date"):
        parts.append(t(lang, "starting", date=date_label(request["start_date"], lang)))
    if request.get("interests"):
        parts.append(interests_word(request["interests"], lang))
    if request.get("pace") and request["pace"] != "normal":
        parts.append(t(lang, f"pace_word_{request['pace']}"))
    sep = "、" if lang == "zh" else ", "
    if request.get("must"):
        parts.append(t(lang, "must_list", names=esc(sep.join(name_of(i, lang) for i in request["must"]))))
    if request.get("avoid"):
        parts.append(t(lang, "avoid_list", names=esc(sep.join(name_of(i, lang) for i in request["avoid"]))))
    return " · ".join(parts)


def web_link(base: str, request: dict) -> str:
    """The web page that plans `request` again (the same seed gives the same trip)."""
    return f"{base.rstrip('/')}/plan?{urlencode(_web_params(request))}"


def form_link(base: str, request: dict) -> str:
    """The web planner's form, filled in with `request`, to change and plan again."""
    return f"{base.rstrip('/')}/?{urlencode(_web_params(request))}"


def _web_params(request: dict) -> dict:
    origin = request["origin"]
    params = {"from": ",".join(f"{v:.5f}" for v in origin) if isinstance(origin, list | tuple) else origin,
              "days": request["days"], "date": request.get("start_date") or "",
              "interests": interests_param(request.get("interests")), "pace": request.get("pace") or "normal"}
    if request.get("end"):
        params["end"] = request["end"]
    if request.get("must"):
        params["must"] = ",".join(request["must"])
    if request.get("avoid"):
        params["avoid"] = ",".join(request["avoid"])
    if request.get("destination"):
        params["destination"] = request["destination"]
    if request.get("party"):
        params["party"] = ",".join(request["party"])
    if request.get("arrive_at"):
        arrive = request["arrive_at"]
        params["arrive_at"] = arrive.strftime("%H:%M") if isinstance(arrive, dt.time) else str(arrive)[:5]
    if request.get("pin"):  # the web counts days from 1 in links
        params["pin"] = ",".join(f"{site}:{int(day) + 1}" for site, day in request["pin"].items())
    if request.get("only_must"):
        params["only_must"] = "1"
    if request.get("seed"):
        params["seed"] = str(request["seed"])
    return params


# ---------------------------------------------------------------- itineraries

def _name(item: dict, lang: str) -> str:
    return (item.get("name_zh") if lang == "zh" else item.get("name_en")) or item.get("name_zh") or ""


def _stop_lines(stop: dict, lang: str, detail: int) -> list[str]:
    leg = "area_bus" if stop.get("by_area_bus") else "drive"
    lines = [t(lang, leg, minutes=stop["travel_minutes"], km=stop["distance_km"])]
    wait = "" if stop["arrive"] == stop["visit_start"] else t(lang, "wait", time=_clock(stop["arrive"]))
    mark = CATEGORY_MARK.get(stop.get("category"), "")
    lines.append(f"<b>{_clock(stop['visit_start'])}–{_clock(stop['depart'])}</b> {mark} "
                 f"<b>{esc(_name(stop, lang))}</b>{esc(wait)}")
    if detail >= 1:
        why = one_line(stop["summary_zh" if lang == "zh" else "summary_en"], 140 if detail >= 2 else 60)
        if why:
            lines.append(f"    <i>{esc(why)}</i>")
    if is_approximate(stop):
        lines.append("    " + esc(word(lang, "approximate", km=_km(stop))))
    area = stop.get("area")
    if detail >= 2 and stop.get("ticket_in_area") and isinstance(area, dict):
        lines.append("    🎫 " + esc(word(lang, "in_area", area=_name(area, lang))))
    elif detail >= 2 and stop.get("ticket_cny") is not None:
        price = stop["ticket_cny"]
        lines.append("    🎫 " + (t(lang, "free") if not price else t(lang, "ticket", price=f"{price:g}")))
    return lines


def _lunch_line(lunch: dict, lang: str) -> str:
    near = lunch.get("near_zh" if lang == "zh" else "near_en") or lunch.get("near_zh") or ""
    text = word(lang, "lunch", start=_clock(lunch["start"]), end=_clock(lunch["end"]))
    return esc(text + (word(lang, "lunch_near", place=near) if near else ""))


def _lunch_at(day: dict) -> int | None:
    """The lunch break goes after the stops that begin before it."""
    lunch = day.get("lunch")
    if not isinstance(lunch, dict) or not lunch.get("start") or not lunch.get("end"):
        return None
    return sum(1 for stop in day.get("stops", []) if stop.get("visit_start", "") < lunch["start"])


def ticket_lines(itinerary: dict, lang: str) -> list[str]:
    """The trip's tickets: each scenic area once, priced sites, the total and the unknown prices."""
    tickets = itinerary.get("tickets")
    if not isinstance(tickets, dict):
        return []
    lines = [word(lang, "tickets_total", price=f"{tickets['total_cny']:g}") if tickets.get("total_cny")
             else word(lang, "tickets_free")]
    for line in tickets.get("lines") or []:
        key = "area_line" if line.get("kind") == "area" else "site_line"
        lines.append(esc(word(lang, key, area=_name(line, lang), name=_name(line, lang), price=f"{line['cny']:g}")))
    unknown = tickets.get("unknown") or []
    if unknown:
        sep = "、" if lang == "zh" else ", "
        lines.append(esc(word(lang, "tickets_unknown", names=sep.join(_name(u, lang) for u in unknown))))
    return lines


def day_message(itinerary: dict, number: int, lang: str, *, extra: list[str] | None = None) -> str:
    """One day of the itinerary as HTML, shortened until it fits into one message."""
    day = itinerary["days"][number - 1]
    last = number == len(itinerary["days"])
    lunch_at = _lunch_at(day)
    sunset = f" · {esc(word(lang, 'sunset', time=day['sunset']))}" if day.get("sunset") else ""
    destination = itinerary.get("destination")
    for detail in (2, 1, 0):
        lines = [f"<b>{t(lang, 'day_header', n=number, date=date_label(day['date'], lang))}</b>{sunset}"]
        if number == 1 and isinstance(destination, dict) and _name(destination, lang):
            lines.append(esc(word(lang, "destination", name=_name(destination, lang))))
        icon = START_ICON.get(day["start"].get("kind"), "📍") if number == 1 else "🏨"
        lines.append(f"{icon} " + t(lang, "leave", time=_clock(day["start"]["time"]), place=esc(_name(day["start"],
                                                                                                    lang))))
        for i, stop in enumerate(day["stops"]):
            if lunch_at == i:
                lines.append(_lunch_line(day["lunch"], lang))
            lines += _stop_lines(stop, lang, detail)
        if lunch_at is not None and lunch_at >= len(day["stops"]):
            lines.append(_lunch_line(day["lunch"], lang))
        if not day["stops"]:
            lines.append(f"<i>{t(lang, 'no_stops_day')}</i>")
        end = day["end"]
        lines.append(t(lang, "drive", minutes=end["travel_minutes"], km=end["distance_km"]))
        lines.append(("🏁 " if last else "🏨 ") + t(lang, "arrive" if last else "overnight",
                                                   time=_clock(end["time"]), place=esc(_name(end, lang))))
        if extra:
            lines += ["", *extra]
        text = "\n".join(lines)
        if len(text) <= LIMIT:
            return text
    return fit(text)


def day_messages(itinerary: dict, lang: str, *, footer: list[str] | None = None) -> list[str]:
    """One message per day; the last one also carries the must-sees that did not fit and `footer` lines."""
    days = len(itinerary["days"])
    closing = []
    for missed in itinerary.get("unreached_must", []):
        closing.append(t(lang, "unreached", name=esc(_name(missed, lang)),
                         reason=esc(missed["reason_zh" if lang == "zh" else "reason_en"])))
    closing += ticket_lines(itinerary, lang)
    source = itinerary.get("travel_source", "estimate")
    closing.append(f"<i>{t(lang, 'footer', source=esc(t(lang, 'source_estimate') if source == 'estimate' else source))}"
                   "</i>")
    closing += footer or []
    return [day_message(itinerary, n, lang, extra=closing if n == days else None) for n in range(1, days + 1)]


def stops(itinerary: dict) -> list[tuple[int, dict]]:
    return [(n, stop) for n, day in enumerate(itinerary["days"], 1) for stop in day["stops"]]


def venue_address(number: int, stop: dict, lang: str) -> str:
    day = f"第 {number} 天" if lang == "zh" else f"Day {number}"
    return f"{day} · {_clock(stop['visit_start'])}–{_clock(stop['depart'])}"


def calendar(itinerary: dict, lang: str) -> bytes:
    """The stops as an iCalendar file (times in China Standard Time)."""
    cal = Calendar()
    cal.add("prodid", "-//Hongtu//Telegram bot//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "红途行程" if lang == "zh" else "Hongtu trip")
    for number, stop in stops(itinerary):
        event = Event()
        start = dt.datetime.fromisoformat(stop["visit_start"]).replace(tzinfo=CHINA_TZ)
        end = dt.datetime.fromisoformat(stop["depart"]).replace(tzinfo=CHINA_TZ)
        event.add("uid", f"{stop['site_id']}-{start:%Y%m%dT%H%M}@hongtu")
        event.add("dtstamp", dt.datetime.now(dt.UTC))
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", _name(stop, lang))
        about = stop["summary_zh" if lang == "zh" else "summary_en"]
        event.add("description", f"{venue_address(number, stop, lang)}\n{about}")
        if is_approximate(stop):  # no GEO: a calendar would pin a point that may be kilometres off
            event.add("location", f"{stop['name_zh']} ({'大致位置' if lang == 'zh' else 'approximate location'})")
        else:
            event.add("location", f"{stop['name_zh']} ({stop['lat']:.5f}, {stop['lon']:.5f})")
            event.add("geo", (stop["lat"], stop["lon"]))
        cal.add_component(event)
    return cal.to_ical()


# ---------------------------------------------------------------- sites

def hours_text(hours: dict, lang: str) -> str:
    text = format_hours(hours)
    if lang != "zh":
        return text
    names = dict(zip(DAYS, (f"周{d}" for d in WEEKDAYS_ZH), strict=True))
    text = text.replace("always", "全天开放").replace("closed", "不开放").replace("daily", "每天")
    for day, name in names.items():
        text = text.replace(f"{day}-", f"{name}至").replace(day, name)
    return text


def open_status(site: dict, now: dt.datetime) -> tuple[str, str | None]:
    """('open' | 'later' | 'closed', opening time) at `now` (China time)."""
    minute = now.hour * 60 + now.minute
    windows = windows_on(now.date(), site["hours"], site.get("seasons"))
    if any(a <= minute < b for a, b in windows):
        return "open", None
    later = [a for a, _ in windows if a > minute]
    if later:
        return "later", f"{later[0] // 60:02d}:{later[0] % 60:02d}"
    return "closed", None


def status_text(site: dict, now: dt.datetime, lang: str) -> str:
    state, at = open_status(site, now)
    return {"open": t(lang, "open_now"), "closed": t(lang, "closed_now")}.get(state) or t(lang, "open_later", time=at)


def map_links(site: dict) -> tuple[str, str]:
    """Amap (GCJ-02) and OpenStreetMap links; for an approximate point, searches by name near it."""
    lat, lon = wgs84_to_gcj02(site["lat"], site["lon"])
    if is_approximate(site):
        return (f"https://uri.amap.com/search?keyword={quote(site['name_zh'])}&center={lon:.6f},{lat:.6f}",
                f"https://www.openstreetmap.org/search?{urlencode({'query': site['name_zh']})}"
                f"#map=12/{site['lat']:.5f}/{site['lon']:.5f}")
    amap = f"https://uri.amap.com/marker?position={lon:.6f},{lat:.6f}&name={quote(site['name_zh'])}"
    osm = (f"https://www.openstreetmap.org/?mlat={site['lat']:.6f}&mlon={site['lon']:.6f}"
           f"#map=15/{site['lat']:.6f}/{site['lon']:.6f}")
    return amap, osm


def site_card(site: dict, lang: str, now: dt.datetime | None = None, *, history: bool = True) -> str:
    zh = lang == "zh"
    now = now or dt.datetime.now(CHINA_TZ)
    other = site["name_en"] if zh else site["name_zh"]
    sep = "、" if zh else ", "
    themes = sep.join(THEMES[th][0 if zh else 1] for th in site["themes"] if th in THEMES)
    head = [f"<b>{esc(site['name_zh'] if zh else site['name_en'])}</b>", esc(other),
            f"{t(lang, 'category_' + site['category'])}" + (f" · {esc(themes)}" if themes else "")]
    ticket = site.get("ticket_cny")
    ticket_text = t(lang, "ticket_unknown") if ticket is None else (
        t(lang, "free") if not ticket else t(lang, "ticket", price=f"{ticket:g}"))
    facts = [t(lang, "hours", hours=esc(hours_text(site["hours"], lang))) + " · " + status_text(site, now, lang),
             t(lang, "visit", minutes=site["visit_minutes"]),
             t(lang, "ticket_line", ticket=esc(ticket_text))]
    body = [f"<i>{esc(site['summary_zh' if zh else 'summary_en'])}</i>"]
    amap, osm = map_links(site)
    tail = [t(lang, "maps", amap=html.escape(amap), osm=html.escape(osm))]
    sources = []
    for source in site.get("sources", [])[:5]:
        url, title = source.get("url", ""), source.get("title") or source.get("url", "")
        if url.startswith(("http://", "https://")):  # other references are curators' notes, not shown
            sources.append(f"• <a href=\"{html.escape(url)}\">{esc(one_line(title, 80))}</a>")
    if sources:
        tail += [t(lang, "sources"), *sources]
    if site.get("unverified"):
        words = [UNVERIFIED_WORDS.get(k, ("部分信息", "some details"))[0 if zh else 1] for k in site["unverified"]]
        tail.append(f"<i>{esc(t(lang, 'unverified', fields=('、' if zh else ', ').join(dict.fromkeys(words))))}</i>")
    text = "\n".join([*head, "", *facts, "", *body, "", *tail])
    if history:
        room = LIMIT - len(text) - 20
        story = " ".join((site["history_zh" if zh else "history_en"] or "").split())
        if room > 80 and story:
            story = story if len(esc(story)) <= room else story[: max(0, room - 40)] + "…"
            text = "\n".join([*head, "", *facts, "", *body, "", t(lang, "history", text=esc(story)), "", *tail])
    return fit(text)


def nearby_message(rows: list[tuple[float, dict]], lang: str, now: dt.datetime) -> str:
    lines = [t(lang, "nearby_header")]
    for n, (km, site) in enumerate(rows, 1):
        distance = f"{km:.1f} km" if km < 10 else f"{km:.0f} km"
        lines.append(f"{n}. {CATEGORY_MARK.get(site['category'], '')} <b>{esc(_name(site, lang))}</b> · {distance} · "
                     f"{status_text(site, now, lang)}")
        lines.append(f"    <i>{esc(one_line(site['summary_zh' if lang == 'zh' else 'summary_en'], 80))}</i>")
    return fit("\n".join(lines))
