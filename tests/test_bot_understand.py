"""The free-text understanding, measured on a hand-labelled corpus of realistic messages (both languages)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot import understand as u
from planner import db as sitedb

CORPUS = Path(__file__).resolve().parent / "data" / "bot_messages.yaml"
FIELDS = ("origin", "days", "start_date", "interests", "must")
OPTIONAL = ("end", "avoid", "pace", "trip")
THRESHOLD = 0.9


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    path = tmp_path_factory.mktemp("understand") / "sites.db"
    sitedb.build(path)
    db = sitedb.connect(path)
    yield u.build_index(db)
    db.conn.close()


def _corpus(part: str = "messages"):
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return data["today"], data[part]


def _got(result: u.Understanding, field: str):
    if field == "start_date":
        return result.start_date
    if field == "interests":
        return sorted(k for k, w in (result.interests or {}).items() if w >= 0.5)
    if field == "trip":
        return result.intent == "trip"
    if field == "must" or field == "avoid":
        return sorted(getattr(result, field))
    return getattr(result, field)


def _want(message: dict, field: str):
    value = message.get(field)
    if field in ("interests", "must", "avoid"):
        return sorted(value or [])
    if field == "start_date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def test_corpus_is_realistic_and_balanced():
    _, messages = _corpus()
    langs = [m["lang"] for m in messages]
    assert len(messages) >= 80
    assert abs(langs.count("zh") - langs.count("en")) <= 4
    assert len({m["text"] for m in messages}) == len(messages)


def _score(index, part: str) -> tuple[dict[str, list[bool]], list[str]]:
    today, messages = _corpus(part)
    scores: dict[str, list[bool]] = {}
    by_lang: dict[tuple[str, str], list[bool]] = {}
    misses = []
    for message in messages:
        result = u.understand(message["text"], index, today)
        for field in FIELDS + tuple(f for f in OPTIONAL if f in message):
            ok = _got(result, field) == _want(message, field)
            scores.setdefault(field, []).append(ok)
            by_lang.setdefault((field, message["lang"]), []).append(ok)
            if not ok:
                misses.append(f"  {field:10} {message['text']!r}: got {_got(result, field)!r}, "
                              f"want {_want(message, field)!r}")
    lines = [f"{part}: understanding accuracy on {len(messages)} messages (today = {today}):"]
    for field, oks in scores.items():
        zh, en = by_lang.get((field, "zh"), []), by_lang.get((field, "en"), [])
        lines.append(f"  {field:10} {sum(oks):3}/{len(oks):3} = {sum(oks) / len(oks):6.1%}   "
                     f"zh {sum(zh)}/{len(zh)}  en {sum(en)}/{len(en)}")
    return scores, lines + ["  misses:" if misses else "  no misses"] + misses


def test_understanding_accuracy_per_field(index, capsys):
    scores, report = _score(index, "messages")
    with capsys.disabled():
        print("\n" + "\n".join(report))
    for field in FIELDS:
        oks = scores[field]
        assert sum(oks) / len(oks) >= THRESHOLD, f"{field}: {sum(oks)}/{len(oks)}"


def test_heldout_accuracy(index, capsys):
    """Messages the parser was never tuned on: reported, with a floor that catches regressions only."""
    scores, report = _score(index, "heldout")
    with capsys.disabled():
        print("\n" + "\n".join(report))
    total = [ok for field in FIELDS for ok in scores[field]]
    assert sum(total) / len(total) >= 0.75


# ---------------------------------------------------------------- single behaviours

TODAY = dt.date(2026, 11, 18)  # a Wednesday


@pytest.mark.parametrize(("text", "date"), [
    ("明天出发", "2026-11-19"), ("后天", "2026-11-20"), ("大后天", "2026-11-21"), ("下周六", "2026-11-28"),
    ("周六", "2026-11-21"), ("这周日", "2026-11-22"), ("下下周一", "2026-11-30"), ("国庆节", "2027-10-01"),
    ("五一", "2027-05-01"), ("元旦", "2027-01-01"), ("12月5日", "2026-12-05"), ("十二月五号", "2026-12-05"),
    ("2026-12-05", "2026-12-05"), ("11月1日", "2027-11-01"), ("tomorrow", "2026-11-19"),
    ("next Saturday", "2026-11-28"), ("this saturday", "2026-11-21"), ("on Dec 5", "2026-12-05"),
    ("5th of March", "2027-03-05"), ("national day", "2027-10-01"), ("the day after tomorrow", "2026-11-20"),
    ("today", "2026-11-18"), ("this weekend", "2026-11-21"), ("2026年12月24日", "2026-12-24"),
    ("Christmas Eve", "2026-12-24"), ("christmas", "2026-12-25"), ("平安夜", "2026-12-24"), ("下个月5号", "2026-12-05"),
    ("下月20日", "2026-12-20"),
    # a late or past arrival is not the trip's first day; a plain arrival day is
    ("今天下午到茨坪了，明天玩一天", "2026-11-19"), ("今天晚上到萍乡，后天去武功山", "2026-11-20"),
    ("12月5日到井冈山，12月7日回", "2026-12-05"), ("今天下午到茨坪", "2026-11-18"),
])
def test_dates(index, text, date):
    assert u.understand(text, index, TODAY).start_date == dt.date.fromisoformat(date)


@pytest.mark.parametrize(("text", "must"), [
    # of same-named sites, the one in the county the message names
    ("铜鼓两天游，秋收起义纪念馆，宜春出发", ["tonggu-qiushou-jinianguan"]),
    ("修水一日游，秋收起义纪念馆", ["xiushui-qiushou-jinianguan"]),
    ("芦溪两天 秋收起义纪念馆", ["luxi-qiushou-qiyi-lieshi-lingyuan"]),
    # possessives with or without 's; a hyphenated name
    ("Two days in Liling, Li Lisan's former residence and Zuo Quan's home",
     ["liling-li-lisan-guju", "liling-zuo-quan-guju"]),
    ("from chenzhou, 2 days, Long March and Half-a-Quilt story", ["rucheng-shazhou-hongse-lvyou"]),
])
def test_named_sites(index, text, must):
    assert sorted(u.understand(text, index, TODAY).must) == must


@pytest.mark.parametrize(("text", "days"), [
    ("三天", 3), ("两天", 2), ("一日游", 1), ("两日游", 2), ("周末去玩", 2), ("3天2晚", 3), ("住两晚", 3),
    ("十天", 10), ("半天", 1), ("一周", 7), ("3 days", 3), ("two days", 2), ("a day trip", 1), ("3-day", 3),
    ("weekend", 2), ("2 nights", 3), ("one week", 7),
])
def test_days(index, text, days):
    assert u.understand(text, index, TODAY).days == days


@pytest.mark.parametrize(("text", "place"), [
    ("从井冈山出发", "jinggangshan-station"), ("从井岗山出发", "jinggangshan-station"),
    ("from jingganshan", "jinggangshan-station"), ("from Jinggangshan", "jinggangshan-station"),
    ("萍乡北占出发", "pingxiang-north-station"), ("from Changsha", "changsha-south-station"),
    ("从长沙出发", "changsha-south-station"), ("from Ji'an West", "jian-west-station"),
    ("从黄花机场出发", "changsha-huanghua-airport"), ("从茨坪出发", "ciping-town"),
])
def test_origins(index, text, place):
    assert u.understand(text, index, TODAY).origin == place


def test_must_avoid_and_end(index):
    result = u.understand("从长沙出发到吉安西站结束，三天，必须去黄洋界和龙潭，不去八角楼", index, TODAY)
    assert result.origin == "changsha-south-station"
    assert result.end == "jian-west-station"
    assert result.must == ["jinggangshan-huangyangjie", "jinggangshan-longtan"]
    assert result.avoid == ["jinggangshan-maoping-bajiaolou"]
    english = u.understand("from Changsha, must see Huangyangjie, skip Bajiaolou, end at Ji'an West", index, TODAY)
    assert (english.must, english.avoid, english.end) == (
        ["jinggangshan-huangyangjie"], ["jinggangshan-maoping-bajiaolou"], "jian-west-station")


def test_interests_themes_and_pace(index):
    result = u.understand("想看秋收起义和瀑布，轻松一点", index, TODAY)
    assert result.interests == {"red": 1.0, "eco": 1.0}
    assert result.themes == ["autumn-harvest-uprising", "waterfall"]
    assert result.pace == "relaxed"
    assert u.understand("red tourism only, packed", index, TODAY).interests == {"red": 1.0, "eco": 0.0}
    assert u.understand("特种兵", index, TODAY).pace == "packed"
    assert u.understand("mostly nature but some history", index, TODAY).interests == {"red": 1.0, "eco": 2.0}


def test_what_is_missing_and_what_is_not_a_trip(index):
    assert u.understand("从长沙出发", index, TODAY).missing == ["days"]
    assert u.understand("三天", index, TODAY).missing == ["origin"]
    assert u.understand("你好", index, TODAY).intent == "other"
    site = u.understand("黄洋界几点开门？", index, TODAY)
    assert (site.intent, site.site, site.topics) == ("question", "jinggangshan-huangyangjie", ["hours"])
    about = u.understand("介绍一下黄洋界", index, TODAY)
    assert (about.intent, about.site) == ("site", "jinggangshan-huangyangjie")


def test_language(index):
    assert u.understand("从长沙出发玩三天", index, TODAY).lang == "zh"
    assert u.understand("3 days from Changsha", index, TODAY).lang == "en"
    assert u.understand("from 长沙南站, 2 days, red sites", index, TODAY).lang == "en"


def test_merge_fills_a_pending_request(index):
    draft = u.as_draft(u.understand("从长沙出发，必须去黄洋界", index, TODAY))
    draft = u.merge(draft, u.understand("三天", index, TODAY))
    assert (draft["origin"], draft["days"], draft["must"]) == ("changsha-south-station", 3,
                                                              ["jinggangshan-huangyangjie"])


def test_hostile_and_odd_input(index):
    for text in ["", " ", "<script>alert(1)</script>", "a" * 5000, "🙂" * 50, "999999天", "0 days",
                 "'; drop table sites; --", "\x00\x01", "从从从从出发出发"]:
        result = u.understand(text, index, TODAY)
        assert result.days is None or result.days >= 1


# ---------------------------------------------------------------- destination, party, seasons, arrivals

JGS_COUNTY = "county-360881"  # 井冈山市: "井冈山" as a place to spend the trip in, not its station


@pytest.mark.parametrize(("text", "origin", "destination", "end"), [
    ("去井冈山，两天", "jinggangshan-station", JGS_COUNTY, None),
    ("2 days around Jinggangshan", "jinggangshan-station", JGS_COUNTY, None),
    ("只在井冈山玩两天", "jinggangshan-station", JGS_COUNTY, None),
    ("井冈山两日游", "jinggangshan-station", JGS_COUNTY, None),
    ("武功山两天", None, "luxi-wugongshan", None),
    ("下周六从萍乡北站出发去井冈山，两天", "pingxiang-north-station", JGS_COUNTY, None),
    ("后天吉安西站下高铁，想去井冈山玩3天", "jian-west-station", JGS_COUNTY, None),
    ("Changsha to Jinggangshan in 3 days", "changsha-south-station", JGS_COUNTY, "jinggangshan-station"),
    ("下周末去炎陵", "yanling-station", "county-430225", None),
    ("从长沙出发，玩三天", "changsha-south-station", None, None),
    ("萍乡北站，三天", "pingxiang-north-station", None, None),
])
def test_destination_is_distinct_from_the_origin(index, text, origin, destination, end):
    result = u.understand(text, index, TODAY)
    assert (result.origin, result.destination, result.end) == (origin, destination, end)


@pytest.mark.parametrize(("text", "party"), [
    ("带孩子去井冈山三天", ["children"]),
    ("和爸妈一起，从长沙出发两天", ["seniors"]),
    ("带老人和宝宝，没有车，去井冈山", ["children", "seniors", "no-car"]),
    ("2 days from Changsha with my elderly parents and a toddler", ["children", "seniors"]),
    ("we don't have a car, 3 days around Jinggangshan", ["no-car"]),
    ("不带孩子，两个人，从长沙出发三天", []),
    ("from Changsha, 3 days, by train from Shanghai", []),
])
def test_party(index, text, party):
    assert sorted(u.understand(text, index, TODAY).party) == sorted(party)


@pytest.mark.parametrize(("text", "start", "days", "period"), [
    ("暑假去井冈山", "2027-07-01", None, ("2027-07-01", "2027-08-31")),
    ("七月去武功山", "2027-07-01", None, ("2027-07-01", "2027-07-31")),
    ("in July, 3 days from Changsha", "2027-07-01", 3, ("2027-07-01", "2027-07-31")),
    ("11月去井冈山", "2026-11-19", None, ("2026-11-19", "2026-11-30")),  # already November: from tomorrow
    ("大年初二去井冈山玩两天", "2027-02-07", 2, None),  # lunar 2027-01-02, per lunardate
    ("除夕从长沙出发", "2027-02-05", None, None),
    ("端午节去浏阳", "2027-06-09", None, None),
    ("中秋去井冈山", "2027-09-15", None, None),
    ("12月20号到22号去井冈山", "2026-12-20", 3, None),
    ("12月30日至1月2日从长沙出发", "2026-12-30", 4, None),
    ("Dec 20-22 around Jinggangshan", "2026-12-20", 3, None),
    ("20-22 December from Changsha", "2026-12-20", 3, None),
    ("三天后从长沙出发", "2026-11-21", None, None),
    ("下周末去炎陵", "2026-11-28", 2, None),
])
def test_seasons_months_and_date_ranges(index, text, start, days, period):
    result = u.understand(text, index, TODAY)
    assert result.start_date == dt.date.fromisoformat(start)
    assert result.days == days
    assert result.period == (tuple(dt.date.fromisoformat(d) for d in period) if period else None)


@pytest.mark.parametrize(("text", "days"), [
    ("连续三周没有下雨，想去武功山", None),
    ("已经下了两天雨，周六去井冈山", None),
    ("It hasn't rained for the last 3 weeks, Jinggangshan this weekend?", 2),
    ("从萍乡出发 安源 秋收起义 两天 不要太累", 2),
    ("明天 井冈山 一日游 不去黄洋界", 1),
])
def test_durations_in_other_phrases_are_not_trip_lengths(index, text, days):
    assert u.understand(text, index, TODAY).days == days


@pytest.mark.parametrize(("text", "origin", "arrive"), [
    ("坐高铁10点到萍乡北站，玩两天", "pingxiang-north-station", "10:00"),
    ("下午3点半到吉安西站，去井冈山两天", "jian-west-station", "15:30"),
    ("明天上午九点抵达长沙南站，三天", "changsha-south-station", "09:00"),
    ("arriving at Pingxiang North at 10:30am, 2 days", "pingxiang-north-station", "10:30"),
    ("we land at 3pm at Jinggangshan airport, 2 days", "jinggangshan-airport", "15:00"),
    ("从长沙出发，三天", "changsha-south-station", None),
])
def test_arrival_times_make_the_arrival_the_origin(index, text, origin, arrive):
    result = u.understand(text, index, TODAY)
    assert result.origin == origin
    assert (result.arrive_at.strftime("%H:%M") if result.arrive_at else None) == arrive


@pytest.mark.parametrize(("text", "city", "origin", "options", "chosen"), [
    # several arrival hubs and no destination: ask which
    ("从上海来，玩三天", "shanghai", None, ["pingxiang-north-station", "yichun-station"], False),
    ("from Shanghai, 3 days", "shanghai", None, ["pingxiang-north-station", "yichun-station"], False),
    # with a destination: the hub nearest to it, marked as our choice
    ("从上海出发去井冈山玩三天", "shanghai", "pingxiang-north-station", [], True),
    ("Nanchang, 2 days in Jinggangshan", "nanchang", "jian-west-station", [], True),
    # one hub: that hub
    ("从赣州过来，两天", "ganzhou", "jian-west-station", [], False),
    ("从长沙市出发，两天", None, "changsha-south-station", [], False),
])
def test_far_cities_are_arrivals_never_a_lookalike_place(index, text, city, origin, options, chosen):
    result = u.understand(text, index, TODAY)
    assert (result.arriving_from, result.origin, result.arrival_options, result.origin_chosen) == (
        city, origin, options, chosen)
    assert result.origin != "county-360322"  # 上栗县, what "Shanghai" used to become


def test_a_hotel_named_as_a_place_is_asked_about(index):
    for text in ("井冈山宾馆出发，两天", "from the Jinggangshan Hotel, 2 days"):
        result = u.understand(text, index, TODAY)
        assert result.origin is None and result.unlisted
        assert "ciping-town" in result.unlisted_near


@pytest.mark.parametrize(("text", "site", "topics"), [
    ("黄洋界几点开门？", "jinggangshan-huangyangjie", ["hours"]),
    ("黄洋界门票多少钱", "jinggangshan-huangyangjie", ["ticket"]),
    ("武功山要玩多久？", "luxi-wugongshan", ["visit"]),
    ("去井冈山的路好走吗？", None, ["road"]),
    ("井冈山住哪里比较好？", None, ["hotel"]),
    ("从南昌怎么坐高铁去井冈山？", None, ["train"]),
    ("连续三周没有下雨，武功山现在去合适吗？", "luxi-wugongshan", ["weather", "suitable"]),
    ("Is the road to Jinggangshan safe?", None, ["road"]),
    ("What time does Huangyangjie open?", "jinggangshan-huangyangjie", ["hours"]),
    ("how do I get to Jinggangshan by train?", None, ["train"]),
    ("Is Wugongshan suitable for kids?", "luxi-wugongshan", ["suitable"]),
])
def test_plain_questions_are_questions_not_trips(index, text, site, topics):
    result = u.understand(text, index, TODAY)
    assert (result.intent, result.site, result.topics) == ("question", site, topics)
    assert result.origin is None and result.must == []


def test_a_trip_request_with_a_question_is_still_a_trip(index):
    result = u.understand("带孩子去井冈山玩三天，路好走吗？", index, TODAY)
    assert (result.intent, result.days, result.topics, result.party) == ("trip", 3, ["road"], ["children"])


def test_merge_keeps_the_new_fields_and_an_origin_settles_the_arrival_question(index):
    draft = u.as_draft(u.understand("从上海来，带孩子，暑假玩三天", index, TODAY))
    assert draft["arrival_options"] == ["pingxiang-north-station", "yichun-station"]
    assert (draft["days"], draft["party"], draft["period_name"]) == (3, ["children"], "暑假")
    draft = u.merge(draft, u.understand("10点到萍乡北站，去井冈山", index, TODAY))
    assert (draft["origin"], draft["arrive_at"]) == ("pingxiang-north-station", "10:00")
    assert "arrival_options" not in draft and draft["destination"] == JGS_COUNTY


# ---------------------------------------------------------------- honest places (planner.places)

@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("places") / "sites.db"
    sitedb.build(path)
    database = sitedb.connect(path)
    yield database
    database.conn.close()


@pytest.mark.parametrize(("text", "place"), [
    ("萍香北站", "pingxiang-north-station"), ("jingganshan", "county-360881"),
    ("Changsha Sauth Railway Staton", "changsha-south-station"), ("长沙市", "changsha-south-station"),
    ("赣州", "jian-west-station"), ("Wenjiashi memorial", "liuyang-wenjiashi-huishi"),
    ("jinggangshan museum", "jinggangshan-geming-bowuguan"),
])
def test_places_resolve_typos_and_single_hub_cities(db, text, place):
    from planner.places import resolve_place

    assert resolve_place(db, text).id == place


@pytest.mark.parametrize(("text", "options"), [
    ("上海", ["pingxiang-north-station", "yichun-station"]),
    ("Shanghai", ["pingxiang-north-station", "yichun-station"]),
    ("Nanchang", ["jian-west-station", "pingxiang-north-station", "yichun-station"]),
    ("韶山", ["liling-east-station", "pingxiang-north-station"]),
    ("Guangzhou", ["chenzhou-west-station", "changsha-south-station"]),
])
def test_far_cities_ask_which_arrival_instead_of_a_lookalike(db, text, options):
    from planner.places import ArrivalChoice, resolve_place

    with pytest.raises(ArrivalChoice) as info:
        resolve_place(db, text)
    assert info.value.options == options
    assert "outside the zone" in info.value.en and "不在湘赣边范围内" in info.value.zh


def test_far_city_with_a_destination_takes_the_nearest_hub(db):
    from planner import gateways
    from planner.places import arrival_hub

    jinggangshan = (26.751, 114.284)
    assert arrival_hub(db, gateways.BY_ID["nanchang"], near=jinggangshan).id == "jian-west-station"


@pytest.mark.parametrize("text", ["井冈山宾馆", "Jinggangshan Hotel", "北京饭店", "Xanadu Station", "宁冈", "Chengdu"])
def test_unknown_places_are_never_silently_replaced(db, text):
    from planner.errors import InputError
    from planner.places import resolve_place

    with pytest.raises(InputError) as info:
        resolve_place(db, text)
    assert "closest:" in info.value.en and "最接近的有" in info.value.zh


def test_every_gateway_route_names_a_real_place_and_a_source(db):
    from planner import gateways

    places = {row["id"] for row in sitedb.list_places(db)}
    for city in gateways.CITIES:
        assert city.routes
        for route in city.routes:
            assert route.hub in places, (city.id, route.hub)
            assert route.source and route.source[0].startswith("http"), (city.id, route.hub)


# ---------------------------------------------------------------- answers to questions (bot.answers)

NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.mark.parametrize(("text", "lang", "expected", "absent"), [
    ("黄洋界几点开门？", "zh", ["黄洋界哨口", "07:30", "17:30"], ["第 1 天"]),
    ("黄洋界门票多少钱", "zh", ["¥190"], []),
    ("What time does Huangyangjie open?", "en", ["Huangyangjie", "07:30"], ["Day 1"]),
    ("武功山要玩多久？", "zh", ["480 分钟"], []),
    ("去井冈山的路好走吗？", "zh", ["没有路况", "回答不了"], ["第 1 天"]),
    ("Is the road to Jinggangshan safe?", "en", ["can't answer", "What I can do"], []),
    ("井冈山住哪里比较好？", "zh", ["没有酒店", "茨坪"], []),
    ("从南昌怎么坐高铁去井冈山？", "zh", ["吉安西站", "昌赣高铁", "12306"], []),
    ("how do I get to Jinggangshan by train?", "en", ["Jinggangshan Railway Station", "12306"], []),
    ("连续三周没有下雨，武功山现在去合适吗？", "zh", ["没有天气预报", "没有可靠的数据"], []),
])
def test_questions_get_direct_or_honest_answers(index, db, text, lang, expected, absent):
    from bot import answers

    reply = answers.answer(db, u.understand(text, index, TODAY), lang, NOW)
    for piece in expected:
        assert piece in reply, reply
    for piece in absent:
        assert piece not in reply
