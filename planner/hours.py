"""Opening hours: a compact text form for humans, a JSON form for tools.

Text:  "daily 08:00-17:30", "tue-sun 09:00-17:00", "mon-fri 08:30-12:00,14:30-17:30; sat,sun 09:00-17:00",
       "always" (no gate). Days not named are closed.
JSON:  {"mon": [["09:00", "17:00"]], ..., "sun": [...]}, an empty list meaning closed that day.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from planner.errors import InputError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def _bad(text: str, why: str, why_zh: str) -> InputError:
    return InputError("hours", f"{why} in {text!r}", f"{why_zh}（{text!r}）")


def minutes(hhmm: str) -> int:
    hh, mm = hhmm.split(":")
    return int(hh) * 60 + int(mm)


def _check_window(window, text: str) -> list[str]:
    if not (isinstance(window, list | tuple) and len(window) == 2 and all(isinstance(t, str) for t in window)):
        raise _bad(text, "a window must be two HH:MM times", "时段须为两个 HH:MM 时间")
    start, end = window
    for t in (start, end):
        if not _TIME.match(t):
            raise _bad(text, f"{t!r} is not a time of day HH:MM", f"{t!r} 不是有效时间 HH:MM")
    if minutes(start) >= minutes(end):
        raise _bad(text, f"window {start}-{end} ends before it starts", f"时段 {start}-{end} 结束早于开始")
    return [start, end]


def _day_range(spec: str, text: str) -> list[str]:
    if spec == "daily":
        return list(DAYS)
    days: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            first, last = part.split("-", 1)
            if first not in DAYS or last not in DAYS:
                raise _bad(text, f"unknown day range {part!r}", f"无法识别的星期范围 {part!r}")
            i, j = DAYS.index(first), DAYS.index(last)
            days += [DAYS[(i + k) % 7] for k in range((j - i) % 7 + 1)]
        elif part in DAYS:
            days.append(part)
        else:
            raise _bad(text, f"unknown day {part!r}", f"无法识别的星期 {part!r}")
    return days


def parse_hours(value) -> dict[str, list[list[str]]]:
    """Parse the text or JSON form into the JSON form, raising InputError on anything malformed."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError("hours", "is not valid JSON", "不是有效的 JSON") from None
    if isinstance(value, dict):
        return _check_dict(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError("hours", "opening hours are empty", "开放时间为空")
    text = value.strip().lower()
    if text == "always":
        return {d: [["00:00", "24:00"]] for d in DAYS}
    hours: dict[str, list[list[str]]] = {d: [] for d in DAYS}
    for group in text.split(";"):
        group = group.strip()
        if not group:
            continue
        m = re.match(r"^(\S+)\s+(\S+)$", group)
        if not m:
            raise _bad(value, "expected 'DAYS HH:MM-HH:MM'", "格式应为「星期 HH:MM-HH:MM」")
        windows = [_check_window(w.split("-"), value) for w in m.group(2).split(",")]
        for day in _day_range(m.group(1), value):
            hours[day] = sorted(hours[day] + windows)
    return _check_dict(hours)


def _check_dict(hours: dict) -> dict[str, list[list[str]]]:
    text = str(hours)[:200]
    if set(hours) != set(DAYS):
        raise _bad(text, "hours must name each day mon..sun", "开放时间须包含周一至周日")
    out = {}
    for day in DAYS:
        windows = hours[day]
        if not isinstance(windows, list):
            raise _bad(text, f"{day} must be a list of windows", f"{day} 须为时段列表")
        checked = sorted(_check_window(w, text) for w in windows)
        for (_, end), (start, _) in zip(checked, checked[1:], strict=False):
            if minutes(start) < minutes(end):
                raise _bad(text, f"overlapping windows on {day}", f"{day} 的时段重叠")
        out[day] = checked
    return out


def format_hours(hours: dict[str, list[list[str]]]) -> str:
    """The compact text form, grouping consecutive days with the same windows."""
    if all(hours[d] == [["00:00", "24:00"]] for d in DAYS):
        return "always"
    groups: list[tuple[list[str], list]] = []
    for day in DAYS:
        if groups and groups[-1][1] == hours[day]:
            groups[-1][0].append(day)
        else:
            groups.append(([day], hours[day]))
    parts = []
    for days, windows in groups:
        if not windows:
            continue
        span = "daily" if len(days) == 7 else days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}"
        parts.append(f"{span} " + ",".join(f"{a}-{b}" for a, b in windows))
    return "; ".join(parts) if parts else "closed"


def _in_season(date: dt.date, season: dict) -> bool:
    key = date.strftime("%m-%d")
    start, end = season["from"], season["to"]
    return start <= key <= end if start <= end else key >= start or key <= end


def windows_on(date: dt.date, hours: dict, seasons: list[dict] | None = None) -> list[tuple[int, int]]:
    """Opening windows on a date, in minutes after midnight."""
    for season in seasons or []:
        if _in_season(date, season):
            hours = season["hours"]
            break
    return [(minutes(a), minutes(b)) for a, b in hours[DAYS[date.weekday()]]]


_MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


def parse_seasons(value) -> list[dict]:
    if value in (None, "", []):
        return []
    if not isinstance(value, list):
        raise InputError("seasons", "seasons must be a list", "季节时间须为列表")
    out = []
    for season in value:
        if not isinstance(season, dict) or not {"from", "to", "hours"} <= set(season):
            raise InputError("seasons", "each season needs from, to and hours", "每个季节须有 from、to 和 hours")
        for key in ("from", "to"):
            if not isinstance(season[key], str) or not _MMDD.match(season[key]):
                raise InputError("seasons", f"{key} must be MM-DD", f"{key} 须为 MM-DD 格式")
        out.append({"from": season["from"], "to": season["to"], "hours": parse_hours(season["hours"])})
    return out
