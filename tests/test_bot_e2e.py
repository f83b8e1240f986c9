"""End to end over real HTTP: the real bot process (`python -m bot`, i.e. `hongtu bot`) against the Bot API
stand-in of tests/bot_api_standin.py, reached through TELEGRAM_BASE_URL. Each test plays a different user."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bot_api_standin import BotApiStandin
from icalendar import Calendar

from planner import db as sitedb
from planner.trip import today_in_china

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:TEST"
CURATOR = 777


class BotProcess:
    """`python -m bot --db DB` with the stand-in as its Bot API; logs go to a file shown when a test fails."""

    def __init__(self, api: BotApiStandin, db_path: Path, workdir: Path, *args: str, **env: str):
        self.api, self.db_path, self.args = api, db_path, args
        self.log = workdir / "bot.log"
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.url,
                    "HONGTU_PLAN_TIME_LIMIT": "0.3", "HONGTU_PLAN_ITERATIONS": "150",
                    "HONGTU_CURATOR_IDS": f"{CURATOR}, 4242",
                    "HONGTU_BOT_STATE": str(workdir / "bot_state.pickle"), "HONGTU_BOT_SAVE_INTERVAL": "1",
                    "HONGTU_WEB_URL": "http://127.0.0.1:8000", "PYTHONUNBUFFERED": "1", **env}
        self.proc: subprocess.Popen | None = None

    def start(self) -> BotProcess:
        mark = self.api.mark()
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "--db", str(self.db_path), *self.args],
                                         cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        ready = "getUpdates" if "--webhook" not in self.args else "setWebhook"
        try:
            self.api.wait_for(lambda c: c.method == ready, timeout=30, since=mark)
        except AssertionError:
            raise AssertionError(f"the bot did not start:\n{self.output()}") from None
        return self

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else 0

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("botdb") / "sites.db"
    sitedb.build(path)
    return path


@pytest.fixture(scope="module")
def api():
    standin = BotApiStandin(TOKEN).start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def bot(api, db_path, tmp_path_factory, request):
    process = BotProcess(api, db_path, tmp_path_factory.mktemp("bot"))
    api.diagnostics = process.output  # a timed-out wait shows the end of the bot's log
    yield process.start()
    process.stop()


def day_messages(api: BotApiStandin, chat: int, since: int, days: int, lang: str = "zh", timeout: float = 30):
    header = "第 {n} 天" if lang == "zh" else "Day {n}"
    found = []
    for n in range(1, days + 1):
        found.append(api.wait_for(lambda c, n=n: c.method == "sendMessage" and c.params["chat_id"] == chat
                                  and c.text.startswith(f"<b>{header.format(n=n)} "), timeout=timeout, since=since))
    return found


def ask_destination(api: BotApiStandin, chat: int, origin_label: str):
    """/plan, tap the origin button labelled `origin_label`: the question "Where would you like to go?"."""
    mark = api.mark()
    api.send_text(chat, "/plan")
    origin = api.wait_message(chat, "Where do you start?", since=mark)
    mark = api.mark()
    api.tap(chat, origin, origin.button("p:o:", origin_label)["callback_data"])
    return api.wait_message(chat, "Where would you like to go?", since=mark, methods=("editMessageText",))


def stop_names(day_text: str) -> list[str]:
    """The stops of one day message, in order (each stop line reads "<b>HH:MM–HH:MM</b> mark <b>name</b>")."""
    return [html.unescape(n) for n in re.findall(r"<b>\d\d:\d\d–\d\d:\d\d</b> [^<\n]*<b>(.+?)</b>", day_text)]


def check_day_messages(messages) -> None:
    for call in messages:
        assert call.params["parse_mode"] == "HTML"
        assert len(call.text) <= 4096
    buttons = {b["callback_data"].split(":")[-1] for b in messages[-1].buttons if "callback_data" in b}
    assert {"map", "ics", "web", "relax", "edit", "more", "form"} <= buttons


# ---------------------------------------------------------------- conversations

def test_start_is_bilingual_with_buttons_and_commands_are_set(api, bot):
    assert {"", "zh"} <= set(api.commands)
    mark = api.mark()
    api.send_text(101, "/start", language_code="zh-hans")
    welcome = api.wait_message(101, "红途", since=mark)
    assert "English: /lang en" in welcome.text
    assert {b["callback_data"] for b in welcome.buttons} >= {"menu:plan", "menu:near", "menu:site", "lang:en"}
    mark = api.mark()
    api.tap(101, welcome, "lang:en")
    api.wait_message(101, "answer in English", since=mark)
    mark = api.mark()
    api.send_text(101, "hello")
    assert "I plan trips" in api.wait_message(101, since=mark).text


def test_free_text_plan_in_chinese_with_map_calendar_web_and_one_more_day(api, bot):
    chat = 201
    mark = api.mark()
    api.send_text(chat, "从长沙出发，玩两天，想看红色景点和山水", language_code="zh-hans")
    api.wait_message(chat, "正在规划", since=mark)
    days = day_messages(api, chat, mark, 2)
    check_day_messages(days)
    stops = days[0].text.count("–") + days[1].text.count("–")
    assert stops >= 2, days[0].text
    last = days[-1]

    mark = api.mark()
    api.tap(chat, last, last.button("r:", "地图")["callback_data"])
    venues = api.wait_for(lambda c: c.method == "sendVenue" and c.params["chat_id"] == chat, since=mark,
                          count=stops)
    assert all(v.params["title"] and "第" in v.params["address"] for v in venues)

    mark = api.mark()
    api.tap(chat, last, last.button("r:", "日历")["callback_data"])
    document = api.wait_for(lambda c: c.method == "sendDocument", since=mark)
    filename, data = document.files["document"]
    assert filename.endswith(".ics")
    events = Calendar.from_ical(data).walk("VEVENT")
    assert len(events) == stops

    mark = api.mark()
    api.tap(chat, last, last.button("r:", "网页")["callback_data"])
    link = api.wait_message(chat, "/plan?", since=mark)
    assert "from=changsha-south-station" in link.text and "days=2" in link.text

    before = [stop_names(c.text) for c in days]
    mark = api.mark()
    api.tap(chat, last, last.button("r:", "多玩一天")["callback_data"])
    api.wait_message(chat, "已安排的景点留在原来那天", since=mark)
    longer = day_messages(api, chat, mark, 3)
    check_day_messages(longer)
    after = [stop_names(c.text) for c in longer]
    assert all(set(b) <= set(a) for b, a in zip(before, after[:2], strict=True))  # days 1-2 keep their stops

    mark = api.mark()
    api.tap(chat, longer[-1], longer[-1].button("r:", "修改条件")["callback_data"])
    form = api.wait_message(chat, "已填好的表单", since=mark)
    assert "/?from=changsha-south-station" in form.text and "days=3" in form.text and "pin=" in form.text


def test_a_stop_moves_to_another_day_or_is_swapped_and_the_rest_stays(api, bot):
    chat = 211
    today = today_in_china()
    wednesday = today + dt.timedelta(days=(2 - today.weekday()) % 7 or 7)  # museums close on Mondays
    mark = api.mark()
    api.send_text(chat, f"From Ciping, 2 days starting {wednesday.isoformat()}, red history")
    days = day_messages(api, chat, mark, 2, "en")
    before = [stop_names(c.text) for c in days]
    assert before[0] and before[1], before

    mark = api.mark()
    api.tap(chat, days[-1], days[-1].button("r:", "Change a stop")["callback_data"])
    choices = api.wait_message(chat, "Which stop would you like to change?", since=mark)
    moved = before[0][0]
    mark = api.mark()
    api.tap(chat, choices, choices.button("r:", f"1 · {moved}")["callback_data"])
    options = api.wait_message(chat, "(day 1)", since=mark, methods=("editMessageText",))
    assert not any("To day 1" in b["text"] for b in options.buttons)
    mark = api.mark()
    api.tap(chat, options, options.button("r:", "To day 2")["callback_data"])
    api.wait_message(chat, f"Moving {moved} to day 2", since=mark)
    pinned = day_messages(api, chat, mark, 2, "en")
    after = [stop_names(c.text) for c in pinned]
    # the moved stop is on day 2, day 1 keeps its other stops, and nothing is lost (a stop of day 2 may have
    # changed day to make room)
    assert moved in after[1] and moved not in after[0]
    assert set(before[0]) - {moved} <= set(after[0]) and set(sum(before, [])) <= set(sum(after, []))

    mark = api.mark()
    api.tap(chat, pinned[-1], pinned[-1].button("r:", "Change a stop")["callback_data"])
    choices = api.wait_message(chat, "Which stop would you like to change?", since=mark)
    gone = after[1][-1]
    mark = api.mark()
    api.tap(chat, choices, choices.button("r:", f"2 · {gone}")["callback_data"])
    options = api.wait_message(chat, "(day 2)", since=mark, methods=("editMessageText",))
    mark = api.mark()
    api.tap(chat, options, options.button("r:", "Swap")["callback_data"])
    swapped = [stop_names(c.text) for c in day_messages(api, chat, mark, 2, "en")]
    assert gone not in sum(swapped, []) and set(after[0]) <= set(swapped[0])
    assert set(after[1]) - {gone} <= set(swapped[1])


def test_free_text_plan_in_english_asks_only_for_what_is_missing(api, bot):
    chat = 301
    mark = api.mark()
    api.send_text(chat, "Around Jinggangshan, mostly revolutionary history, relaxed pace")
    question = api.wait_message(chat, "How many days?", since=mark)
    assert "Jinggangshan" in question.text
    mark = api.mark()
    api.tap(chat, question, "a:n:2")
    api.wait_message(chat, "relaxed", since=mark)
    days = day_messages(api, chat, mark, 2, "en")
    check_day_messages(days)

    before = [stop_names(c.text) for c in days]
    mark = api.mark()
    api.tap(chat, days[-1], days[-1].button("r:", "Change a stop")["callback_data"])
    choices = api.wait_message(chat, "Which stop would you like to change?", since=mark)
    victim = choices.buttons[0]["text"].split(" · ", 1)[1]
    mark = api.mark()
    api.tap(chat, choices, choices.buttons[0]["callback_data"])
    options = api.wait_message(chat, "drop it, swap it", since=mark, methods=("editMessageText",))
    mark = api.mark()
    api.tap(chat, options, options.button("r:", "Drop")["callback_data"])
    api.wait_message(chat, f"Dropped {victim}", since=mark)
    after = [stop_names(c.text) for c in day_messages(api, chat, mark, 2, "en")]
    assert [set(day) for day in after] == [set(day) - {victim} for day in before]  # nothing else moves or is added


def test_missing_origin_is_asked_for_and_typos_are_offered_choices(api, bot):
    chat = 321
    mark = api.mark()
    api.send_text(chat, "三天，想看瀑布和森林")
    question = api.wait_message(chat, "从哪里出发", since=mark)
    assert any(b["text"] == "长沙南站" for b in question.buttons)
    mark = api.mark()
    api.send_text(chat, "qwertyuiop")
    offer = api.wait_message(chat, "你指的是下面哪一个", since=mark)
    assert offer.buttons
    mark = api.mark()
    api.send_text(chat, "萍乡北占")
    api.wait_message(chat, "从萍乡北站出发", since=mark)
    check_day_messages(day_messages(api, chat, mark, 3))


def test_site_lookup_from_the_menu_and_a_shared_name(api, bot):
    chat = 331
    mark = api.mark()
    api.send_text(chat, "/start")
    welcome = api.wait_message(chat, "Hongtu", since=mark)
    mark = api.mark()
    api.tap(chat, welcome, "menu:site")
    api.wait_message(chat, "Which site?", since=mark)
    mark = api.mark()
    api.send_text(chat, "Longtan waterfalls")
    api.wait_message(chat, "Longtan Waterfalls", since=mark)
    mark = api.mark()
    api.send_text(chat, "/site wuzhifeng")
    choose = api.wait_message(chat, "Which one do you mean?", since=mark)
    assert len(choose.buttons) >= 2
    mark = api.mark()
    api.tap(chat, choose, choose.buttons[0]["callback_data"])
    card = api.wait_message(chat, "Hours", since=mark)
    assert choose.buttons[0]["text"] in card.text


def test_not_a_trip_gets_what_the_bot_can_do(api, bot):
    mark = api.mark()
    api.send_text(351, "你好")
    assert "规划" in api.wait_message(351, since=mark).text
    mark = api.mark()
    api.send_text(351, "/frobnicate")
    assert "没有这个命令" in api.wait_message(351, since=mark).text


def test_guided_plan_with_buttons(api, bot):
    chat = 401
    where = ask_destination(api, chat, "Changsha South")
    mark = api.mark()
    api.tap(chat, where, where.button("p:g:", "Jinggangshan")["callback_data"])
    date = api.wait_message(chat, "When do you leave?", since=mark, methods=("editMessageText",))
    assert "Destination: Jinggangshan City" in date.text
    mark = api.mark()
    api.tap(chat, date, date.button("p:d:")["callback_data"])
    days = api.wait_message(chat, "How many days?", since=mark, methods=("editMessageText",))
    mark = api.mark()
    api.tap(chat, days, "p:n:1")
    interests = api.wait_message(chat, "What would you like to see?", since=mark, methods=("editMessageText",))
    mark = api.mark()
    api.tap(chat, interests, "p:i:both")
    pace = api.wait_message(chat, "Which pace?", since=mark, methods=("editMessageText",))
    mark = api.mark()
    api.tap(chat, pace, "p:p:relaxed")
    check_day_messages(day_messages(api, chat, mark, 1, "en"))


def test_guided_plan_takes_a_typed_destination_or_anywhere(api, bot):
    chat = 421
    where = ask_destination(api, chat, "Pingxiang North")
    assert any(b["callback_data"] == "p:g:any" for b in where.buttons)
    mark = api.mark()
    api.send_text(chat, "xyzzy plugh")
    again = api.wait_message(chat, "I couldn't find “xyzzy plugh”", since=mark)
    assert again.buttons
    mark = api.mark()
    api.send_text(chat, "Wugongshan")
    date = api.wait_message(chat, "When do you leave?", since=mark)
    assert "Destination: Wugongshan Scenic Area" in date.text
    where = ask_destination(api, chat, "Pingxiang North")
    mark = api.mark()
    api.tap(chat, where, "p:g:any")
    date = api.wait_message(chat, "When do you leave?", since=mark, methods=("editMessageText",))
    assert "Destination" not in date.text


def test_plain_questions_get_answers_not_itineraries(api, bot):
    chat = 431
    mark = api.mark()
    api.send_text(chat, "黄洋界几点开门？", language_code="zh-hans")
    hours = api.wait_message(chat, "黄洋界哨口", since=mark)
    assert "07:30" in hours.text
    mark = api.mark()
    api.send_text(chat, "Is the road to Jinggangshan safe?")
    road = api.wait_message(chat, "can't answer", since=mark)
    assert "What I can do" in road.text
    mark = api.mark()
    api.send_text(chat, "从南昌怎么坐高铁去井冈山？")
    trains = api.wait_message(chat, "12306", since=mark)
    assert "吉安西站" in trains.text
    time.sleep(1)
    texts = [c.text for c in api.sent(chat)]
    assert not any(("正在规划" in x or "Planning" in x or "第 1 天" in x) for x in texts)


def test_a_far_city_asks_where_the_traveller_arrives(api, bot):
    chat = 441
    mark = api.mark()
    api.send_text(chat, "从上海来，带孩子，没有车，玩两天", language_code="zh-hans")
    question = api.wait_message(chat, "你在哪里下车", since=mark)
    assert {b["text"] for b in question.buttons} >= {"萍乡北站", "宜春站"}
    assert not any("上栗" in b["text"] for b in question.buttons)
    mark = api.mark()
    api.tap(chat, question, question.button("a:o:", "萍乡北站")["callback_data"])
    planning = api.wait_message(chat, "从萍乡北站出发", since=mark)
    assert "同行有孩子" in planning.text and "自驾" in planning.text
    check_day_messages(day_messages(api, chat, mark, 2))


def test_a_far_city_with_a_destination_says_which_arrival_it_chose(api, bot):
    chat = 443
    mark = api.mark()
    api.send_text(chat, "From Shanghai, 2 days around Jinggangshan, arriving at 10:30am")
    planning = api.wait_message(chat, "Coming from Shanghai", since=mark)
    assert "my choice" in planning.text and "Destination: Jinggangshan City" in planning.text
    assert "10:30" in planning.text
    check_day_messages(day_messages(api, chat, mark, 2, "en"))


def test_a_hotel_as_the_origin_is_asked_about_not_replaced(api, bot):
    chat = 445
    mark = api.mark()
    api.send_text(chat, "井冈山宾馆出发，两天", language_code="zh-hans")
    question = api.wait_message(chat, "我不认识", since=mark)
    assert any(b["text"] == "茨坪" for b in question.buttons)


def test_cancel_leaves_the_guided_plan(api, bot):
    chat = 451
    mark = api.mark()
    api.send_text(chat, "/plan")
    api.wait_message(chat, "Where do you start?", since=mark)
    mark = api.mark()
    api.send_text(chat, "/cancel")
    api.wait_message(chat, "Cancelled", since=mark)
    mark = api.mark()
    api.send_text(chat, "hello there")
    assert "I plan trips" in api.wait_message(chat, since=mark).text


def test_a_whole_request_typed_during_plan_wins(api, bot):
    chat = 471
    mark = api.mark()
    api.send_text(chat, "/plan")
    api.wait_message(chat, "Where do you start?", since=mark)
    mark = api.mark()
    api.send_text(chat, "从茨坪出发，一日游")
    check_day_messages(day_messages(api, chat, mark, 1, "zh"))


def test_location_lists_nearest_sites_and_plans_from_there(api, bot):
    chat = 501
    mark = api.mark()
    api.send_location(chat, 26.5716, 114.1655)  # Ciping, Jinggangshan
    nearby = api.wait_message(chat, "nearest sites", since=mark)
    assert " km · " in nearby.text and ("open now" in nearby.text or "closed" in nearby.text
                                        or "opens" in nearby.text)
    assert any(b["callback_data"].startswith("site:jinggangshan-") for b in nearby.buttons)
    mark = api.mark()
    api.tap(chat, nearby, "loc:plan")
    question = api.wait_message(chat, "How many days?", since=mark)
    assert "my location" in question.text
    mark = api.mark()
    api.tap(chat, question, "a:n:1")
    check_day_messages(day_messages(api, chat, mark, 1, "en"))


def test_site_card_found_with_typos(api, bot):
    mark = api.mark()
    api.send_text(601, "/site huangyangjei")
    card = api.wait_message(601, "Huangyangjie Sentry Post", since=mark)
    assert "uri.amap.com/marker?position=" in card.text and "openstreetmap.org" in card.text
    assert "Hours" in card.text and "Sources" in card.text
    mark = api.mark()
    api.send_text(601, "/site 黄羊界")
    card = api.wait_message(601, "黄洋界哨口", since=mark)
    assert "开放时间" in card.text


# ---------------------------------------------------------------- curators

def test_curator_adds_a_site_and_fixes_one(api, bot, db_path):
    chat = CURATOR
    steps = [("text", "/addsite", "Chinese name"), ("text", "测试纪念亭", "English name"),
             ("text", "Test Memorial Pavilion", "location"), ("location", (26.60, 114.20), "category"),
             ("tap", "add:cat:red", "themes"), ("tap", "add:t:red-army", None), ("tap", "add:t:done", "minutes"),
             ("tap", "add:v:30", "opening hours"), ("tap", "add:h:daily 08:00-17:30", "summary in Chinese"),
             ("text", "一座用于测试的纪念亭。", "summary in English"),
             ("text", "A pavilion used in tests.", "source"),
             ("text", "https://example.org/pavilion", "Please confirm")]
    last = None
    for kind, value, expect in steps:
        mark = api.mark()
        if kind == "text":
            api.send_text(chat, value)
        elif kind == "location":
            api.send_location(chat, *value)
        else:
            api.tap(chat, last, value)
        if expect:
            last = api.wait_for(lambda c, expect=expect: c.params.get("chat_id") == chat and expect in c.text
                                and c.method in ("sendMessage", "editMessageText"), since=mark)
        else:
            api.wait_for(lambda c: c.method == "editMessageReplyMarkup", since=mark)
    mark = api.mark()
    api.tap(chat, last, "add:save")
    saved = api.wait_message(chat, "Added", since=mark)
    site_id = saved.text.split("(id ")[1].rstrip(").")
    db = sitedb.connect(db_path)
    site = sitedb.get_site(db, site_id)
    assert site["name_zh"] == "测试纪念亭" and site["county_adcode"] == 360881
    assert [a["author"] for a in sitedb.audit_log(db, site_id)] == [f"telegram:{CURATOR}"]

    mark = api.mark()
    api.send_text(chat, f"/fixsite {site_id} ticket_cny 15")
    api.wait_message(chat, "Updated", since=mark)
    assert sitedb.get_site(db, site_id)["ticket_cny"] == 15
    mark = api.mark()
    api.send_text(chat, f"/fixsite {site_id} visit_minutes 5000")
    assert "visit_minutes" in api.wait_message(chat, "❌", since=mark).text
    mark = api.mark()
    api.send_text(chat, "/site 测试纪念亭")
    api.wait_message(chat, "测试纪念亭", since=mark)
    db.conn.close()


def test_non_curators_are_refused_politely(api, bot, db_path):
    for text in ("/addsite", "/fixsite jinggangshan-huangyangjie ticket_cny 1"):
        mark = api.mark()
        api.send_text(888, text)
        assert "only curators" in api.wait_message(888, since=mark).text
    db = sitedb.connect(db_path)
    assert sitedb.get_site(db, "jinggangshan-huangyangjie")["ticket_cny"] != 1
    db.conn.close()


# ---------------------------------------------------------------- staying up

def test_flood_control_and_bad_gateway_are_retried(api, bot):
    chat = 901
    mark = api.mark()
    api.fail_next(2, status=429, retry_after=1, methods={"sendMessage"})
    started = time.monotonic()
    api.send_text(chat, "/help")
    api.wait_message(chat, "I plan trips", since=mark)
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in api.calls[mark:] if c.method == "sendMessage"][:2] == [429, 429]

    mark = api.mark()
    api.fail_next(3, status=502, methods={"sendMessage"})
    api.send_text(chat, "/help")
    api.wait_message(chat, "I plan trips", since=mark)
    assert [c.status for c in api.calls[mark:] if c.method == "sendMessage"][:3] == [502, 502, 502]

    mark = api.mark()
    api.fail_next(2, status=502, methods={"getUpdates"})
    api.send_text(chat, "/start")
    api.wait_message(chat, "Hongtu", since=mark, timeout=30)


def test_one_users_trouble_does_not_hold_up_another(api, bot):
    slow, quick = 911, 912
    mark = api.mark()
    api.fail_next(1, status=429, retry_after=4, methods={"sendMessage"}, chat_id=slow)
    api.send_text(slow, "/help")
    api.wait_for(lambda c: c.params.get("chat_id") == slow, status=429, since=mark, timeout=10)
    api.send_text(quick, "/help")
    answered = api.wait_message(quick, "I plan trips", since=mark)
    delayed = api.wait_message(slow, "I plan trips", since=mark)
    assert answered.at < delayed.at and delayed.at - answered.at > 2


def test_an_edit_that_is_refused_is_not_an_error(api, bot):
    chat = 951
    mark = api.mark()
    api.send_text(chat, "/plan")
    origin = api.wait_message(chat, "Where do you start?", since=mark)
    gone = dict(origin.result, message_id=99999)  # a message Telegram no longer knows
    mark = api.mark()
    api.tap(chat, gone, origin.button("p:o:")["callback_data"])
    api.wait_message(chat, "Where would you like to go?", since=mark, methods=("sendMessage",))
    assert not [c for c in api.sent(chat, since=mark) if "Sorry" in c.text]


def test_rate_limit_answers_politely(api, bot):
    chat = 971
    mark = api.mark()
    for _ in range(4):
        api.send_text(chat, "from Ciping, 1 day")
    limited = api.wait_message(chat, "try again in", since=mark)
    assert "s." in limited.text


def test_restart_in_the_middle_of_plan_resumes(api, bot):
    chat = 1001
    mark = api.mark()
    api.send_text(chat, "/lang zh")
    api.wait_message(chat, "中文", since=mark)
    mark = api.mark()
    api.send_text(chat, "/plan")
    origin = api.wait_message(chat, "从哪里出发", since=mark)
    mark = api.mark()
    api.tap(chat, origin, origin.button("p:o:", "井冈山站")["callback_data"])
    where = api.wait_message(chat, "想去哪", since=mark)
    mark = api.mark()
    api.tap(chat, where, "p:g:any")
    date = api.wait_message(chat, "哪天出发", since=mark)
    mark = api.mark()
    api.tap(chat, date, date.button("p:d:")["callback_data"])
    days = api.wait_message(chat, "玩几天", since=mark)

    assert bot.stop() == 0
    bot.start()

    mark = api.mark()
    api.tap(chat, days, "p:n:2")
    interests = api.wait_message(chat, "想看什么", since=mark)
    assert "井冈山站" in interests.text
    mark = api.mark()
    api.tap(chat, interests, "p:i:red")
    pace = api.wait_message(chat, "节奏", since=mark)
    mark = api.mark()
    api.tap(chat, pace, "p:p:normal")
    check_day_messages(day_messages(api, chat, mark, 2))


def test_a_crash_loses_at_most_the_last_second(api, bot):
    chat = 1002
    where = ask_destination(api, chat, "Jinggangshan")
    mark = api.mark()
    api.tap(chat, where, "p:g:any")
    date = api.wait_message(chat, "When do you leave?", since=mark)
    time.sleep(2.5)  # HONGTU_BOT_SAVE_INTERVAL is 1 s here
    bot.proc.kill()
    bot.proc.wait()
    bot.start()
    mark = api.mark()
    api.tap(chat, date, date.button("p:d:")["callback_data"])
    api.wait_message(chat, "How many days?", since=mark)


# ---------------------------------------------------------------- the command itself

def test_missing_token_exits_with_a_clear_message(db_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "bot", "--db", str(db_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_mode(api, db_path, tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hook"
    process = BotProcess(api, db_path, tmp_path, "--webhook", url, "--listen", f"127.0.0.1:{port}")
    process.start()
    try:
        secret = api.webhook["secret_token"]
        assert api.webhook["url"] == url and secret
        update = {"update_id": 10_000, "message": {
            "message_id": 1, "date": int(time.time()), "chat": {"id": 1101, "type": "private"},
            "from": {"id": 1101, "is_bot": False, "first_name": "W"}, "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
        body = json.dumps(update).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, body, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}))
        assert refused.value.code == 403
        mark = api.mark()
        with urllib.request.urlopen(urllib.request.Request(
                url, body, {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"})) as r:
            assert r.status == 200
        api.wait_message(1101, "Hongtu", since=mark)
    finally:
        assert process.stop() == 0
