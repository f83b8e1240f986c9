"""What visitors see of a site record: published sources as titles and links, unconfirmed facts in words, and
none of the curators' working notes (where a coordinate was copied from, how importance was scored, the
ticket note with its sourcing). The curator area shows the raw record."""

from __future__ import annotations

import re

from web.openapi import INTERNAL_FIELDS

HTTP_URL = re.compile(r"^https?://[^\s]+$")

# An unconfirmed fact (a key of a site's `unverified`) in plain words, Chinese and English.
UNVERIFIED_WORDS: dict[str, tuple[str, str]] = {
    "coords": ("具体位置待核实", "exact location not yet confirmed"),
    "hours": ("开放时间待核实", "opening hours not yet confirmed"),
    "seasons": ("季节性开放时间待核实", "seasonal hours not yet confirmed"),
    "ticket": ("票价待核实", "ticket price not yet confirmed"),
    "visit_minutes": ("建议游览时长为估计", "suggested visit length is an estimate"),
    "designations": ("称号待核实", "designations not yet confirmed"),
    "history": ("部分历史细节待核实", "some historical details not yet confirmed"),
    "summary": ("简介待核实", "summary not yet confirmed"),
    "name_en": ("英文名为译名，待核实", "English name is our translation"),
}


def safe_url(url) -> str | None:
    """Only http(s) sources become links; anything else is never shown to visitors."""
    return url if isinstance(url, str) and HTTP_URL.match(url) else None


def public_sources(sources: list) -> list[dict]:
    """The published sources (web pages) as {title, url}; references that are not web pages (notes on where a
    fact was found) are curators' working notes and stay in the curator area."""
    out = []
    for source in sources or []:
        if not isinstance(source, dict):
            continue
        url = safe_url(source.get("url"))
        if url:
            out.append({"title": str(source.get("title") or url), "url": url})
    return out


def unverified_words(keys: list, lang: str) -> list[str]:
    """The unconfirmed facts in words; a key we have no words for is said generally, never shown raw."""
    index = 0 if lang == "zh" else 1
    words = []
    for key in keys or []:
        pair = UNVERIFIED_WORDS.get(key, ("部分信息待核实", "some details not yet confirmed"))
        if pair[index] not in words:
            words.append(pair[index])
    return words


def public_site(site: dict) -> dict:
    """A site record for the public API."""
    out = {k: v for k, v in site.items() if k not in INTERNAL_FIELDS}
    out["sources"] = public_sources(site.get("sources"))
    out["approximate"] = (site.get("coord_precision_m") or 0) > 1000
    out["unverified_text"] = {"zh": unverified_words(site.get("unverified"), "zh"),
                              "en": unverified_words(site.get("unverified"), "en")}
    return out


WEEKDAY_WORDS = {"zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
                 "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def hours_words(hours: dict, lang: str) -> str:
    """Opening hours in words, consecutive days with the same windows grouped: 每天 08:00–17:30 /
    Tue–Sun 09:00–17:00; closed Mon (instead of the data format)."""
    from planner.hours import DAYS

    zh = lang == "zh"
    names = WEEKDAY_WORDS["zh" if zh else "en"]
    if all(hours.get(d) == [["00:00", "24:00"]] for d in DAYS):
        return "全天开放" if zh else "open all day"
    groups: list[tuple[list[int], list]] = []
    for i, day in enumerate(DAYS):
        if groups and groups[-1][1] == hours.get(day, []):
            groups[-1][0].append(i)
        else:
            groups.append(([i], hours.get(day, [])))
    parts = []
    for days, windows in groups:
        span = ("每天" if zh else "daily") if len(days) == 7 else names[days[0]] if len(days) == 1 else \
            f"{names[days[0]]}{'至' if zh else '–'}{names[days[-1]]}"
        times = ", ".join(f"{a}–{b}" for a, b in windows)
        parts.append(f"{span} {times}" if windows else f"{span}{'闭馆' if zh else ' closed'}")
    return ("；" if zh else "; ").join(parts)
