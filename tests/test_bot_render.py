"""The bot's pieces without Telegram: rendering, calendar files, links, the rate limiter and the retry helpers."""

from __future__ import annotations

import asyncio
import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from bot_api_standin import ApiError, check_html
from icalendar import Calendar
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import render, send
from bot.planning import RateLimiter, trip_request
from planner import db as sitedb
from planner.trip import default_safety_cap


def _stop(n: int, name: str = "黄洋界哨口", summary: str = "井冈山五大哨口之一。后文。") -> dict:
    return {"site_id": f"site-{n}", "name_zh": name, "name_en": f"Site <{n}> & co", "lat": 26.6, "lon": 114.1,
            "arrive": "2026-12-05T09:00", "visit_start": "2026-12-05T09:10", "depart": "2026-12-05T10:10",
            "travel_minutes": 30, "distance_km": 12.5, "visit_minutes": 60, "category": "both",
            "summary_zh": summary, "summary_en": summary, "ticket_cny": 0.0 if n % 2 else 190.0, "importance": 60}


def _itinerary(stops_per_day: list[int], summary: str = "井冈山五大哨口之一。后文。") -> dict:
    days = []
    for d, count in enumerate(stops_per_day):
        date = (dt.date(2026, 12, 5) + dt.timedelta(days=d)).isoformat()
        end = {"name": "茨坪", "name_zh": "茨坪", "name_en": "Ciping", "kind": "town", "lat": 26.57, "lon": 114.16,
               "time": f"{date}T17:30", "travel_minutes": 20, "distance_km": 8.0}
        start = {"name": "井冈山站", "name_zh": "井冈山站", "name_en": "Jinggangshan <Station>", "kind": "station",
                 "lat": 26.72, "lon": 114.29, "time": f"{date}T08:30"}
        days.append({"date": date, "start": start, "end": end,
                     "stops": [_stop(10 * d + i, summary=summary) for i in range(count)]})
    return {"days": days, "score": 1.0, "travel_source": "estimate", "solver": {"status": "feasible", "seconds": 0.3},
            "unreached_must": [{"site_id": "x", "name_zh": "<龙潭>", "name_en": "<Longtan>",
                                "reason_zh": "太远", "reason_en": "too far"}]}


def test_one_message_per_day_valid_html_and_escaped():
    itinerary = _itinerary([2, 0, 3])
    for lang in ("zh", "en"):
        messages = render.day_messages(itinerary, lang, footer=["<a href=\"https://x.org/?a=1&amp;b=2\">web</a>"])
        assert len(messages) == 3
        for text in messages:
            check_html(text)
            assert "<Station>" not in text and "<龙潭>" not in text
        assert "Jinggangshan &lt;Station&gt;" in messages[0] or "井冈山站" in messages[0]
        assert ("没有安排景点" if lang == "zh" else "No sites fit") in messages[1]
        assert "&lt;龙潭&gt;" in messages[2] or "&lt;Longtan&gt;" in messages[2]


def test_a_huge_day_still_fits_in_one_message():
    itinerary = _itinerary([40], summary="很长的介绍" * 300 + "。")
    (text,) = render.day_messages(itinerary, "zh")
    assert len(text) <= 4096
    check_html(text)
    assert text.count("–") == 40


def test_hostile_text_cannot_break_the_markup():
    itinerary = _itinerary([1], summary="<script>alert(1)</script> & <b>bold")
    for text in render.day_messages(itinerary, "en"):
        check_html(text)
    with pytest.raises(ApiError):
        check_html("<script>x</script>")


def test_calendar_has_one_event_per_stop_in_china_time():
    cal = Calendar.from_ical(render.calendar(_itinerary([2, 1]), "en"))
    events = cal.walk("VEVENT")
    assert len(events) == 3
    start = events[0]["DTSTART"].dt
    assert start.utcoffset() == dt.timedelta(hours=8) and start.hour == 9 and start.minute == 10


def test_web_link_format():
    url = render.web_link("http://127.0.0.1:8000/", {"origin": "changsha-south-station", "days": 3,
                                                       "start_date": "2026-12-05", "pace": "relaxed",
                                                       "interests": {"red": 1.0, "eco": 0.25}, "must": ["a", "b"]})
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    assert parsed.path == "/plan"
    assert query == {"from": ["changsha-south-station"], "days": ["3"], "date": ["2026-12-05"],
                     "interests": ["red:1,eco:0.25"], "pace": ["relaxed"], "must": ["a,b"]}
    point = parse_qs(urlparse(render.web_link("http://h", {"origin": [26.5, 114.1], "days": 1})).query)
    assert point["from"] == ["26.50000,114.10000"] and point["interests"] == ["red,eco"]


def test_site_card_and_open_status(mini_db):
    site = sitedb.list_sites(mini_db)[0]
    for lang in ("zh", "en"):
        card = render.site_card(site, lang, dt.datetime(2026, 12, 5, 10, 0, tzinfo=render.CHINA_TZ))
        check_html(card)
        assert len(card) <= 4096 and "uri.amap.com" in card and "openstreetmap.org" in card
    always = {**site, "hours": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
              "seasons": []}
    assert render.open_status(always, dt.datetime(2026, 12, 5, 3, 0))[0] == "open"
    nine_to_five = {**always, "hours": {d: [["09:00", "17:00"]] for d in always["hours"]}}
    assert render.open_status(nine_to_five, dt.datetime(2026, 12, 5, 8, 0)) == ("later", "09:00")
    assert render.open_status(nine_to_five, dt.datetime(2026, 12, 5, 18, 0)) == ("closed", None)
    assert render.hours_text({**nine_to_five["hours"], "mon": []}, "zh") == "周二至周日 09:00-17:00"


def test_trip_request_from_a_stored_request():
    request = trip_request({"origin": [26.5, 114.1], "days": 2, "start_date": "2026-12-05", "must": ["a"]}, 0.5)
    assert request.origin == (26.5, 114.1) and request.start_date == dt.date(2026, 12, 5)
    assert request.interests == {"red": 1.0, "eco": 1.0} and request.time_limit == default_safety_cap(2)


def test_rate_limiter_sliding_window():
    now = [0.0]
    limiter = RateLimiter(3, 60, clock=lambda: now[0])
    assert [limiter.check(1) for _ in range(3)] == [0, 0, 0]
    assert limiter.check(1) == 60
    assert limiter.check(2) == 0
    now[0] = 59.5
    assert limiter.check(1) == 1
    now[0] = 60.0
    assert limiter.check(1) == 0
    assert RateLimiter.from_text("5/30").limit == 5 and RateLimiter.from_text("junk").limit == 3


class Flaky:
    """An async Bot API method that fails with the given errors first."""

    def __init__(self, *errors):
        self.errors, self.calls = list(errors), 0

    async def __call__(self, **kwargs):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_send_retries_flood_control_timeouts_and_gateway_errors(monkeypatch):
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(send.asyncio, "sleep", fake_sleep)
    method = Flaky(RetryAfter(3), TimedOut(), NetworkError("Bad Gateway (502)"))
    assert asyncio.run(send.call(method)) == "ok" and method.calls == 4
    assert slept[0] >= 3
    assert asyncio.run(send.call(Flaky(*[NetworkError("down")] * 20), attempts=3)) is None
    assert asyncio.run(send.call(Flaky(Forbidden("bot was blocked by the user")))) is None
    with pytest.raises(BadRequest):
        asyncio.run(send.call(Flaky(BadRequest("chat not found"))))


def test_edits_refused_by_telegram_are_handled():
    class FakeBot:
        def __init__(self, error):
            self.error, self.sent = error, []

        async def edit_message_text(self, **kwargs):
            raise self.error

        async def send_message(self, **kwargs):
            self.sent.append(kwargs["text"])
            return "sent"

    same = FakeBot(BadRequest("Message is not modified: specified new message content ..."))
    assert asyncio.run(send.edit_message(same, 1, 2, "x")) is None and same.sent == []
    gone = FakeBot(BadRequest("Message to edit not found"))
    assert asyncio.run(send.edit_message(gone, 1, 2, "x")) == "sent" and gone.sent == ["x"]
    other = FakeBot(BadRequest("Can't parse entities"))
    with pytest.raises(BadRequest):
        asyncio.run(send.edit_message(other, 1, 2, "x"))


def test_error_handler_logs_the_update_id_and_apologises(caplog):
    from telegram import Update

    from bot.app import error_handler

    class FakeBot:
        sent: list = []

        async def send_message(self, **kwargs):
            self.sent.append(kwargs)

    class FakeContext:
        error = RuntimeError("boom")
        user_data: dict = {}
        bot = FakeBot()

    update = Update.de_json({"update_id": 4711, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "A", "language_code": "zh-hans"}, "text": "x"}}, None)
    with caplog.at_level("ERROR"):
        asyncio.run(error_handler(update, FakeContext()))
    assert "4711" in caplog.text and "boom" in caplog.text
    (apology,) = FakeBot.sent
    assert apology["chat_id"] == 5 and "抱歉" in apology["text"] and "Traceback" not in apology["text"]


def test_persistence_is_written_atomically_and_a_corrupt_file_is_set_aside(tmp_path):
    from bot.app import SafePicklePersistence

    path = tmp_path / "bot_state.pickle"
    first = SafePicklePersistence(path, update_interval=1)
    asyncio.run(first.update_user_data(1, {"lang": "zh"}))
    assert not (tmp_path / "bot_state.pickle.tmp").exists()
    assert asyncio.run(SafePicklePersistence(path).get_user_data()) == {1: {"lang": "zh"}}
    path.write_bytes(b"\x80\x05 truncated")
    assert asyncio.run(SafePicklePersistence(path).get_user_data()) == {}
    assert (tmp_path / "bot_state.pickle.corrupt").exists()


# ---------------------------------------------------------------- issue 9: lunch, sunset, areas, approximate points

def _issue9_itinerary() -> dict:
    itinerary = _itinerary([2, 1])
    area = {"id": "jinggangshan", "name_zh": "井冈山风景名胜区", "name_en": "Jinggangshan <Scenic> Area"}
    first, second = itinerary["days"][0]["stops"]
    first.update(visit_start="2026-12-05T09:10", depart="2026-12-05T10:10", area=area, ticket_in_area=True,
                 precision_m=150, approximate=False)
    second.update(arrive="2026-12-05T13:30", visit_start="2026-12-05T13:30", depart="2026-12-05T15:00",
                  area=area, ticket_in_area=True, precision_m=3000, approximate=True, name_zh="龙潭瀑布群",
                  by_area_bus=True)
    for day in itinerary["days"]:
        day["sunset"] = "17:31"
        day["lunch"] = {"start": f"{day['date']}T12:00", "end": f"{day['date']}T12:45", "near_zh": "茨坪<镇>",
                        "near_en": "Ciping <town>"}
    itinerary["destination"] = {"name_zh": "井冈山风景名胜区", "name_en": "Jinggangshan <Scenic> Area"}
    itinerary["tickets"] = {"total_cny": 190.0, "lines": [{"kind": "area", **area, "cny": 190.0}],
                            "unknown": [{"id": "x", "name_zh": "某<馆>", "name_en": "Some <hall>"}]}
    return itinerary


def test_day_messages_show_lunch_sunset_destination_and_area_tickets_once():
    itinerary = _issue9_itinerary()
    zh = render.day_messages(itinerary, "zh")
    for message in zh:
        check_html(message)
    first, last = zh
    assert "日落 17:31" in first and "目的地：井冈山风景名胜区" in first and "目的地" not in last
    assert first.index("10:10") < first.index("午餐 12:00～12:45（茨坪&lt;镇&gt;）") < first.index("13:30")
    assert first.count("含在井冈山风景名胜区门票内") == 2 and "¥190" not in first
    assert "门票合计约 ¥190" in last and "井冈山风景名胜区：一票通用 ¥190" in last and "某&lt;馆&gt;" in last
    # a day whose only stop ends before lunch: lunch after it
    assert "午餐 12:00～12:45" in last and last.count("–") == 1
    assert first.count("🚌 景区观光车或自驾") == 1 and first.count("🚗") == 2  # to the first stop, to the hotel
    en = "\n".join(render.day_messages(itinerary, "en"))
    assert "sunset 17:31" in en and "Jinggangshan &lt;Scenic&gt; Area" in en and "<Scenic>" not in en
    assert "included in the Jinggangshan &lt;Scenic&gt; Area ticket" in en


def test_approximate_stops_say_so_and_get_no_calendar_pin():
    itinerary = _issue9_itinerary()
    text = render.day_messages(itinerary, "zh")[0]
    assert text.count("大致位置") == 1 and "误差可达约 3 公里" in text
    events = Calendar.from_ical(render.calendar(itinerary, "zh")).walk("VEVENT")
    geo = {str(e["SUMMARY"]): e.get("GEO") for e in events}
    assert geo["龙潭瀑布群"] is None and geo["黄洋界哨口"] is not None


def test_old_itineraries_without_the_new_fields_still_render():
    for lang in ("zh", "en"):
        for message in render.day_messages(_itinerary([1, 2]), lang):
            check_html(message)
            assert "午餐" not in message and "lunch" not in message.lower() and "门票合计" not in message


def test_web_link_carries_destination_party_arrival_pins_and_seed():
    url = render.web_link("http://h", {"origin": "jinggangshan-station", "days": 2, "destination": "井冈山",
                                       "party": ["seniors", "no-car"], "arrive_at": dt.time(10, 45),
                                       "pin": {"jinggangshan-museum": 1}, "seed": 5})
    query = parse_qs(urlparse(url).query)
    assert query["destination"] == ["井冈山"] and query["party"] == ["seniors,no-car"]
    assert query["arrive_at"] == ["10:45"] and query["pin"] == ["jinggangshan-museum:2"] and query["seed"] == ["5"]


def test_site_card_keeps_curators_notes_out(mini_db):
    site = {**sitedb.get_site(mini_db, "jinggangshan-longtan"), "ticket_note": "per some-blog.cn",
            "sources": [{"url": "http://example.com/longtan", "title": "Longtan"},
                        {"url": "code index file id 99 (/home/x/data.csv)"}], "unverified": ["coords", "hours"]}
    card = render.site_card(site, "zh", dt.datetime(2026, 12, 5, 10, 0, tzinfo=render.CHINA_TZ))
    check_html(card)
    assert "some-blog" not in card and "code index" not in card and "/home/x" not in card
    assert "具体位置、开放时间" in card and "coords" not in card
    assert "uri.amap.com/search?keyword=" in card and "uri.amap.com/marker" not in card  # a 2 km estimate
