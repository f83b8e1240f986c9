"""An itinerary as readable text, in Chinese or English (the CLI's output; the bot has its own HTML)."""

from __future__ import annotations

WEEKDAYS = {"zh": "一二三四五六日", "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


def _clock(stamp: str) -> str:
    return stamp[11:16]


def _weekday(date: str, lang: str) -> str:
    import datetime as dt

    day = dt.date.fromisoformat(date).weekday()
    return f"周{WEEKDAYS['zh'][day]}" if lang == "zh" else WEEKDAYS["en"][day]


def itinerary_text(itinerary: dict, lang: str = "zh") -> str:
    zh = lang == "zh"
    name = "name_zh" if zh else "name_en"
    lines = []
    for number, day in enumerate(itinerary["days"], 1):
        header = f"第 {number} 天" if zh else f"Day {number}"
        lines.append(f"{header}  {day['date']} ({_weekday(day['date'], lang)})")
        lines.append(f"  {_clock(day['start']['time'])}  {'出发' if zh else 'Leave'} {day['start'][name]}")
        for stop in day["stops"]:
            how = ("景区观光车或自驾" if zh else "scenic-area bus or drive") if stop.get("by_area_bus") else (
                "车程" if zh else "drive")
            drive = (f"{how} {stop['travel_minutes']} 分钟, {stop['distance_km']} 公里" if zh
                     else f"{how} {stop['travel_minutes']} min, {stop['distance_km']} km")
            lines.append(f"         ↓ {drive}")
            wait = "" if stop["arrive"] == stop["visit_start"] else (
                f"（{_clock(stop['arrive'])} 到达，等候开门）" if zh else f" (arrive {_clock(stop['arrive'])}, wait)")
            approx = ("（位置为估计）" if zh else " (approximate location)") if stop.get("approximate") else ""
            lines.append(f"  {_clock(stop['visit_start'])}-{_clock(stop['depart'])}  {stop[name]}{wait}{approx}")
            lines.append(f"         {stop['summary_zh' if zh else 'summary_en']}")
            lunch = day.get("lunch")
            if lunch and lunch["start"] == stop["depart"]:
                lines.append(f"  {_clock(lunch['start'])}-{_clock(lunch['end'])}  "
                             + (f"午餐（{lunch['near_zh']}附近）" if zh else f"Lunch near {lunch['near_en']}"))
            elif lunch and lunch.get("inside") and lunch["near_zh"] == stop["name_zh"]:
                lines.append(f"         {_clock(lunch['start'])}-{_clock(lunch['end'])} "
                             + ("午餐在景区内" if zh else "lunch inside the scenic area"))
        end = day["end"]
        drive = (f"车程 {end['travel_minutes']} 分钟" if zh else f"drive {end['travel_minutes']} min")
        lines.append(f"         ↓ {drive}")
        verb = ("抵达" if number == len(itinerary["days"]) else "住宿") if zh else (
            "Arrive" if number == len(itinerary["days"]) else "Overnight in")
        lines.append(f"  {_clock(end['time'])}  {verb} {end[name]}")
        if day.get("sunset"):
            lines.append(f"         {'日落' if zh else 'sunset'} {day['sunset']}")
        lines.append("")
    for missed in itinerary["unreached_must"]:
        reason = missed["reason_zh" if zh else "reason_en"]
        lines.append(f"{'未能安排必去景点' if zh else 'Could not include must-see'}: {missed[name]} — {reason}")
    if "no-car" in (itinerary.get("request") or {}).get("party", []):
        lines.append("行程按驾车时间安排：没有车的话，景点之间请包车或打车（时间相近）；不含公交、火车班次。" if zh else
                     "Times are for driving: without a car, hire a car with driver or take taxis between sites "
                     "(similar times); this plan has no bus or train timetables.")
    tickets = itinerary.get("tickets")
    if tickets and (tickets["lines"] or tickets["unknown"]):
        parts = [f"{line[name]} {line['cny']:g}" for line in tickets["lines"]]
        unknown = [u[name] for u in tickets["unknown"]]
        lines.append(f"{'门票' if zh else 'Tickets'}: {'，'.join(parts) if zh else ', '.join(parts)} · "
                     f"{'合计' if zh else 'total'} {tickets['total_cny']:g} {'元' if zh else 'CNY'}"
                     + ((f"（另有票价未知：{'、'.join(unknown)}）" if zh else f" (price unknown: {', '.join(unknown)})")
                        if unknown else ""))
    solver = itinerary["solver"]
    lines.append(f"{'得分' if zh else 'Score'} {itinerary['score']} · {solver['status']} · {solver['seconds']} s · "
                 f"{'车程' if zh else 'travel times'}: {itinerary['travel_source']}")
    return "\n".join(lines)
