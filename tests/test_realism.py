"""Plans a traveller can follow: lunch, daylight, arrival and "today", honest legs, destination, scenic-area
tickets, pins and determinism. Every search here runs a small seeded iteration budget (no timing)."""

import datetime as dt
import shutil

import numpy as np
import pytest
from test_trip import check_itinerary

from planner import db as sitedb
from planner.destination import resolve_destination
from planner.errors import InputError
from planner.realism import REFERENCE_NOW, load_corpus, measure, run_realism, to_request
from planner.sun import sunrise_minutes, sunset_minutes
from planner.travel import Matrix, RoadEstimate, honest_legs
from planner.trip import CHINA_TZ, PACES, TripRequest, solve_trip, today_in_china

BUDGET = dict(iterations=150, chains=1, time_limit=60)


@pytest.fixture(scope="module")
def shipped_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("realism") / "sites.db"
    shutil.copy(sitedb.DEFAULT_DB, path)
    return sitedb.connect(path)


def _next(weekday: int, month: int | None = None) -> dt.date:
    day = today_in_china() + dt.timedelta(days=1)
    while day.weekday() != weekday or (month is not None and day.month != month):
        day += dt.timedelta(days=1)
    return day


def _visits(itinerary: dict) -> list[dict]:
    return [s for d in itinerary["days"] for s in d["stops"]]


# Reference values: astral 3.2 (sun.sunset / sun.sunrise with the same zenith 90.833), computed once and
# copied here; NOAA's own calculator agrees to the minute.
@pytest.mark.parametrize("date,lat,lon,sunset,sunrise", [
    (dt.date(2026, 12, 21), 26.57, 114.17, "17:35", "07:08"),
    (dt.date(2027, 6, 21), 26.57, 114.17, "19:19", "05:31"),
    (dt.date(2027, 2, 9), 27.45, 114.17, "18:09", "07:06"),
    (dt.date(2027, 9, 23), 28.15, 113.63, "18:21", "06:15"),
])
def test_sunset_matches_a_reference_implementation(date, lat, lon, sunset, sunrise):
    to_minutes = lambda hhmm: int(hhmm[:2]) * 60 + int(hhmm[3:])  # noqa: E731
    assert abs(sunset_minutes(date, lat, lon) - to_minutes(sunset)) <= 1
    assert abs(sunrise_minutes(date, lat, lon) - to_minutes(sunrise)) <= 1


def test_the_same_request_gives_the_same_plan(shipped_db):
    request = dict(origin="萍乡北站", days=3, start_date=_next(5), destination="井冈山", iterations=200,
                   time_limit=60, seed=7)
    first = solve_trip(shipped_db, TripRequest(**request))
    second = solve_trip(shipped_db, TripRequest(**request))
    assert not first["solver"]["capped"]
    assert first["days"] == second["days"] and first["seed"] == 7


def test_every_full_day_has_lunch_and_no_outdoor_visit_ends_after_dark_in_winter(shipped_db):
    winter = _next(5, month=12) if today_in_china().month <= 12 else _next(5, month=1)
    request = TripRequest(origin="萍乡北站", days=3, start_date=winter, interests={"red": 0.5, "eco": 2.0},
                          pace="packed", **BUDGET)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    for day in itinerary["days"]:
        assert day["lunch"] is not None, day["date"]
        date = dt.date.fromisoformat(day["date"])
        for stop in day["stops"]:
            if stop["outdoor"]:
                end = int(stop["depart"][11:13]) * 60 + int(stop["depart"][14:16])
                assert end <= sunset_minutes(date, stop["lat"], stop["lon"]), stop["site_id"]
    assert any(s["outdoor"] for s in _visits(itinerary))  # the check above checked something


def test_arrival_and_today_start_the_first_day_later(shipped_db):
    date = _next(2)
    request = TripRequest(origin="井冈山站", days=2, start_date=date, arrive_at=dt.time(14, 10), **BUDGET)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    first = itinerary["days"][0]
    assert first["start"]["time"] >= f"{date}T14:40" and first["lunch"] is None
    assert itinerary["days"][1]["start"]["time"] < f"{date + dt.timedelta(days=1)}T10:00"
    # "today" at 16:20 China time: nothing starts before 16:35
    now = dt.datetime.combine(date, dt.time(16, 20), tzinfo=CHINA_TZ)
    today = solve_trip(shipped_db, TripRequest(origin="茨坪", days=1, start_date=date, **BUDGET), now=now)
    assert today["days"][0]["day_start"] >= f"{date}T16:35"
    assert all(s["visit_start"] >= f"{date}T16:35" for s in _visits(today))
    late = dt.datetime.combine(date, dt.time(21, 0), tzinfo=CHINA_TZ)
    assert _visits(solve_trip(shipped_db, TripRequest(origin="茨坪", days=1, start_date=date, **BUDGET),
                              now=late)) == []


def test_a_mountain_day_fits_at_every_pace(shipped_db):
    wugongshan = sitedb.get_site(shipped_db, "luxi-wugongshan")
    assert wugongshan["visit_minutes"] >= 480
    for pace in PACES:
        request = TripRequest(origin="芦溪县", days=1, start_date=_next(3), pace=pace, must=["luxi-wugongshan"],
                              **BUDGET)
        itinerary = solve_trip(shipped_db, request)
        check_itinerary(shipped_db, itinerary, request)
        assert "luxi-wugongshan" in {s["site_id"] for s in _visits(itinerary)}, pace
        assert itinerary["days"][0]["lunch"]["inside"]


def test_destination_concentrates_the_trip_and_keeps_one_base_town(shipped_db):
    request = TripRequest(origin="萍乡北站", days=3, start_date=_next(4), destination="井冈山", **BUDGET)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    focus = resolve_destination(shipped_db, "井冈山")
    figures = measure(shipped_db, itinerary, focus, [])
    assert figures["focus"] and figures["nights_at_destination"] == 2
    assert itinerary["destination"] == {"name_zh": focus.name_zh, "name_en": focus.name_en}
    assert {d["end"]["name_zh"] for d in itinerary["days"][:-1]} == {"茨坪"}
    # the Anyuan sites next to the origin are not pulled in when the traveller asked for Jinggangshan
    assert not any(s["site_id"].startswith("anyuan-") for s in _visits(itinerary))


def test_unknown_destinations_are_not_replaced_by_similar_names(shipped_db):
    for text in ("Shanghai", "Atlantis", "井冈山宾馆"):
        with pytest.raises(InputError) as info:
            resolve_destination(shipped_db, text)
        assert info.value.field == "destination" and info.value.zh and info.value.en
    assert resolve_destination(shipped_db, "waterfalls").kind == "theme"
    assert resolve_destination(shipped_db, "炎陵").name_zh == "炎陵县"


def test_scenic_area_ticket_is_counted_once_with_a_trip_total(shipped_db):
    request = TripRequest(origin="茨坪", days=2, start_date=_next(1), destination="井冈山", **BUDGET)
    itinerary = solve_trip(shipped_db, request)
    in_area = [s for s in _visits(itinerary) if s["ticket_in_area"]]
    if not sitedb.get_site(shipped_db, "jinggangshan-huangyangjie").get("area"):
        pytest.skip("this database has no scenic areas yet")
    assert len(in_area) >= 2 and {s["area"]["id"] for s in in_area} == {"jinggangshan"}
    tickets = itinerary["tickets"]
    assert [line["id"] for line in tickets["lines"] if line["kind"] == "area"] == ["jinggangshan"]
    assert tickets["total_cny"] == sum(line["cny"] for line in tickets["lines"])
    site_lines = {line["id"] for line in tickets["lines"] if line["kind"] == "site"}
    assert not site_lines & {s["site_id"] for s in in_area}


def test_imprecise_points_never_make_zero_minute_hops():
    points = [(26.5, 114.0), (26.5, 114.0), (26.5, 114.0), (26.6, 114.1)]
    base = RoadEstimate().matrix(points)
    assert base.minutes[0, 1] == 5 and base.km[0, 1] == 0  # the raw estimate: a 0-km hop
    legs = honest_legs(base, points, [4000, 4000, 50, 50], [None, None, "a", "a"], ["x", "y", "z", "x"])
    assert legs.km[0, 1] >= 4.0 * 1.35 - 1e-9 and legs.minutes[0, 1] > 5
    assert legs.km[0, 3] == 0 and legs.minutes[0, 3] == 0  # one place (same id) twice
    assert legs.km[2, 3] > base.km[2, 3]  # mountain road inside a scenic area
    assert np.all(np.diag(legs.minutes) == 0)
    osrm = Matrix(base.minutes, base.km, "osrm")
    assert honest_legs(osrm, points, [50] * 4, [None, None, "a", "a"], list("abcd")).km[2, 3] == base.km[2, 3]


def test_pinned_site_is_visited_on_its_day(shipped_db):
    request = TripRequest(origin="茨坪", days=3, start_date=_next(2), destination="井冈山",
                          pin={"jinggangshan-longshi-huishi": 2}, **BUDGET)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    assert "jinggangshan-longshi-huishi" in {s["site_id"] for s in itinerary["days"][2]["stops"]}
    assert itinerary["request"]["pin"] == {"jinggangshan-longshi-huishi": 2}


def test_a_changed_plan_keeps_every_other_stop_on_its_day(shipped_db):
    from planner.changes import changed_request

    request = TripRequest(origin="茨坪", days=2, start_date=_next(2), destination="井冈山", seed=3, **BUDGET)
    itinerary = solve_trip(shipped_db, request)
    days = [[s["site_id"] for s in day["stops"]] for day in itinerary["days"]]
    dropped = days[0][0]

    def replan(changed: dict) -> list[list[str]]:
        again = TripRequest(origin=changed["origin"], days=changed["days"], start_date=request.start_date,
                            destination=changed["destination"], must=changed["must"], avoid=changed["avoid"],
                            pin=changed["pin"], only_must=changed["only_must"], seed=changed["seed"], **BUDGET)
        return [[s["site_id"] for s in day["stops"]] for day in solve_trip(shipped_db, again)["days"]]

    after_drop = replan(changed_request(itinerary, "drop", dropped))
    # each day keeps its other stops and gains none (only_must); the order within a day may change
    assert [set(day) for day in after_drop] == [set(day) - {dropped} for day in days]
    longer = replan(changed_request(itinerary, "add-day"))
    assert len(longer) == 3 and all(set(before) <= set(now) for before, now in zip(days, longer[:2], strict=True))
    with pytest.raises(InputError):
        changed_request(itinerary, "pin", dropped, 5)
    with pytest.raises(InputError):
        changed_request(itinerary, "drop", "no-such-stop")


def test_legs_between_stops_of_the_area_bus_say_so(shipped_db):
    request = TripRequest(origin="茨坪", days=2, start_date=_next(2), destination="井冈山", **BUDGET)
    network = set(sitedb.get_area(shipped_db, "jinggangshan")["shuttle_sites"])
    bus_legs = 0
    for day in solve_trip(shipped_db, request)["days"]:
        previous = None
        for stop in day["stops"]:
            assert stop["by_area_bus"] == (previous is not None and {previous, stop["site_id"]} <= network)
            bus_legs += stop["by_area_bus"]
            previous = stop["site_id"]
    assert bus_legs >= 1


def test_stops_say_how_precise_their_location_is(shipped_db):
    request = TripRequest(origin="宜春站", days=2, start_date=_next(3), **BUDGET)
    for stop in _visits(solve_trip(shipped_db, request)):
        site = sitedb.get_site(shipped_db, stop["site_id"])
        assert stop["precision_m"] == site["coord_precision_m"]
        assert stop["approximate"] == (site["coord_precision_m"] > 1000)


def test_realism_corpus_and_bench_on_a_few_requests(shipped_db):
    corpus = load_corpus()
    assert len(corpus) >= 30
    assert all(e["text_zh"] and e["text_en"] and e["request"]["origin"] for e in corpus)
    for entry in corpus:  # every structured request lies after the reference moment the bench plans at
        assert to_request(entry["request"]).start_date >= REFERENCE_NOW.date()
    picked = [e for e in corpus if e["id"] in ("jgs-only-2d", "wgs-winter", "today-evening")]
    report = run_realism(shipped_db, picked, iterations=120, experts=[])
    overall = report["overall"]
    assert overall["requests"] == 3
    assert overall["after_dark_outdoor_visits"] == 0 and overall["zero_km_hops"] == 0
    assert overall["lunch_share"] == 1.0
    by_id = {r["id"]: r for r in report["requests"]}
    assert by_id["jgs-only-2d"]["focus"] and by_id["jgs-only-2d"]["nights_at_destination"] == 1
    assert by_id["today-evening"]["covering_days"] == 1  # the arrival evening does not span lunchtime


def test_a_request_without_a_date_starts_tomorrow_when_today_is_nearly_over(shipped_db):
    from planner.trip import default_start

    morning = dt.datetime(2027, 3, 3, 9, 0, tzinfo=CHINA_TZ)
    evening = dt.datetime(2027, 3, 3, 19, 30, tzinfo=CHINA_TZ)
    assert default_start(morning, PACES["normal"]) == dt.date(2027, 3, 3)
    assert default_start(evening, PACES["normal"]) == dt.date(2027, 3, 4)


def test_destination_ids_from_the_bot_resolve_like_their_names(shipped_db):
    county = resolve_destination(shipped_db, "county-430225")
    assert county.name_zh == resolve_destination(shipped_db, "炎陵").name_zh
    station = resolve_destination(shipped_db, "changsha-south-station")  # no site within 25 km of it
    assert station.kind == "place" and len(station.site_ids) >= 3


def test_nights_in_an_expert_base_town_match_by_name_prefix(shipped_db):
    from planner.realism import _base_nights

    focus = resolve_destination(shipped_db, "明月山")
    expert = {"base": "温汤, 白云客栈", "days": [{"sites": sorted(focus.site_ids)[:2]}]}
    assert _base_nights(["温汤镇", "宜春市", "白云客栈"], focus, [expert]) == 2
    assert _base_nights(["宜春市"], focus, [{**expert, "base": ""}]) is None
