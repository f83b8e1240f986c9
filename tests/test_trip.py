"""The trip planner: every itinerary is re-checked against site hours, visit lengths and travel times."""

import datetime as dt
import json
import math
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hongtu.cli import main
from planner import db as sitedb
from planner.errors import InputError
from planner.geo import haversine_m
from planner.hours import windows_on
from planner.travel import OsrmTable, RoadEstimate, drive_minutes
from planner.trip import DAY, LUNCH_MINUTES, MEAL_IN_VISIT, PACES, TripRequest, solve_trip, today_in_china


@pytest.fixture(scope="module")
def shipped_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("shipped") / "sites.db"
    shutil.copy(sitedb.DEFAULT_DB, path)
    return sitedb.connect(path)


def _minute(stamp: str, date0: dt.date) -> int:
    moment = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M")
    return (moment.date() - date0).days * DAY + moment.hour * 60 + moment.minute


def check_itinerary(db, itinerary: dict, request: TripRequest) -> None:
    """Independent re-check of everything the itinerary promises: opening hours, visit lengths, travel times,
    the day's bounds, daylight for outdoor visits, at most one lunch a day at lunchtime, no 0-km hops."""
    date0 = dt.date.fromisoformat(itinerary["days"][0]["date"])
    pace = PACES[request.pace]
    assert len(itinerary["days"]) == request.days
    seen = set()
    previous_end = None
    for d, day in enumerate(itinerary["days"]):
        assert day["date"] == (date0 + dt.timedelta(days=d)).isoformat()
        if previous_end is not None:  # each day starts where the previous night was spent
            assert (day["start"]["lat"], day["start"]["lon"]) == (previous_end["lat"], previous_end["lon"])
        clock = _minute(day["start"]["time"], date0)
        assert clock >= d * DAY + pace.day_start
        lunch = day["lunch"]
        if lunch:
            meal_start, meal_end = _minute(lunch["start"], date0), _minute(lunch["end"], date0)
            assert d * DAY + 11 * 60 + 30 <= meal_start <= d * DAY + 12 * 60 + 30 and meal_end - meal_start >= 45
        sunset = d * DAY + int(day["sunset"][:2]) * 60 + int(day["sunset"][3:])
        for stop in day["stops"]:
            site = sitedb.get_site(db, stop["site_id"])
            assert site is not None and not site["hidden"]
            assert stop["site_id"] not in seen
            seen.add(stop["site_id"])
            assert stop["site_id"] not in request.avoid
            arrive, start, depart = (_minute(stop[k], date0) for k in ("arrive", "visit_start", "depart"))
            assert arrive == clock + stop["travel_minutes"]
            assert stop["travel_minutes"] > 0 and stop["distance_km"] > 0
            assert start >= arrive
            assert depart - start == stop["visit_minutes"]
            inside = bool(lunch) and lunch["inside"] and lunch["near_zh"] == stop["name_zh"]
            # a visit is the site's own length, or a mountain day shortened by the pace, plus a lunch inside
            # unless the visit is long enough to count it already
            planned = min(site["visit_minutes"], pace.long_visit_cap)
            meal = LUNCH_MINUTES if inside and planned < MEAL_IN_VISIT else 0
            assert stop["visit_minutes"] - meal == planned
            date = date0 + dt.timedelta(days=d)
            windows = windows_on(date, site["hours"], site["seasons"])
            assert any(d * DAY + a <= start and depart <= d * DAY + b for a, b in windows), (
                f"{site['id']} visited outside its hours on {date}")
            assert d * DAY + pace.day_start <= start and depart <= d * DAY + pace.day_end
            if stop["outdoor"]:  # the day's sunset is the night town's; sites a few km away differ by < 3 min
                assert depart <= sunset + 3, f"{site['id']} ends after sunset on {date}"
            clock = depart
            if lunch and not lunch["inside"] and _minute(lunch["start"], date0) == depart:
                clock = _minute(lunch["end"], date0)
        end = _minute(day["end"]["time"], date0)
        assert end == clock + day["end"]["travel_minutes"] <= d * DAY + pace.day_end
        previous_end = day["end"]
    for site_id in request.must:
        assert site_id in seen or site_id in {m["site_id"] for m in itinerary["unreached_must"]}


ORIGINS = ["长沙南站", "萍乡北站", "井冈山市", "茨坪", "Liuyang", "醴陵站", "吉安西站", "26.75,114.28"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(origin=st.sampled_from(ORIGINS), days=st.integers(1, 4), pace=st.sampled_from(list(PACES)),
       offset=st.integers(1, 400), red=st.sampled_from([0.0, 1.0, 2.0]), eco=st.sampled_from([0.5, 1.0]))
def test_generated_requests_give_feasible_itineraries(shipped_db, origin, days, pace, offset, red, eco):
    request = TripRequest(origin=origin, days=days, start_date=today_in_china() + dt.timedelta(days=offset),
                          pace=pace, interests={"red": red, "eco": eco}, time_limit=0.3)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    assert itinerary["solver"]["seconds"] < 0.3 + 1.0
    assert sum(len(d["stops"]) for d in itinerary["days"]) >= days  # there is always something to see


def _next(weekday: int) -> dt.date:
    today = today_in_china() + dt.timedelta(days=1)
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7)


def test_closed_on_monday_sites_are_not_visited_on_monday(shipped_db):
    monday = _next(0)
    closed_mondays = {s["id"] for s in sitedb.list_sites(shipped_db) if not s["hours"]["mon"]}
    assert closed_mondays, "the data set has Monday-closed sites"
    request = TripRequest(origin="井冈山市", days=1, start_date=monday, interests={"red": 1.0, "eco": 0.0},
                          time_limit=0.5)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    assert not closed_mondays & {s["site_id"] for s in itinerary["days"][0]["stops"]}


def test_must_see_is_included_and_avoid_is_left_out(shipped_db):
    must = "jinggangshan-longtan"
    request = TripRequest(origin="萍乡北站", days=2, start_date=_next(2), must=[must],
                          avoid=["jinggangshan-huangyangjie"], interests={"red": 1.0, "eco": 0.0}, time_limit=0.6)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    visited = {s["site_id"] for d in itinerary["days"] for s in d["stops"]}
    assert must in visited and "jinggangshan-huangyangjie" not in visited
    assert itinerary["unreached_must"] == []


def test_an_unreachable_must_see_is_reported_with_a_reason(shipped_db):
    # A one-day relaxed trip from Changsha cannot reach 汝城 (some 350 km away) and come back.
    far = next(s for s in sitedb.list_sites(shipped_db) if s["county_adcode"] == 431026)
    request = TripRequest(origin="长沙南站", days=1, start_date=_next(3), must=[far["id"]], pace="relaxed",
                          time_limit=0.4)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    [missed] = itinerary["unreached_must"]
    assert missed["site_id"] == far["id"] and missed["reason_en"] and missed["reason_zh"]


def test_end_point_and_overnights(shipped_db):
    request = TripRequest(origin="长沙南站", end="井冈山机场", days=3, start_date=_next(4), time_limit=0.8)
    itinerary = solve_trip(shipped_db, request)
    check_itinerary(shipped_db, itinerary, request)
    assert itinerary["days"][0]["start"]["name_zh"] == "长沙南站"
    assert itinerary["days"][-1]["end"]["name_zh"] == "井冈山机场"
    for day in itinerary["days"][:-1]:
        assert day["end"]["kind"] == "town"
        if day["stops"]:  # the night is spent near the day's last stop
            last = day["stops"][-1]
            assert haversine_m(last["lat"], last["lon"], day["end"]["lat"], day["end"]["lon"]) < 80_000


def test_a_fixed_overnight_town_is_used(shipped_db):
    request = TripRequest(origin="萍乡北站", days=2, start_date=_next(5), time_limit=0.5)
    itinerary = solve_trip(shipped_db, request, overnight={0: "茨坪"})
    check_itinerary(shipped_db, itinerary, request)
    assert itinerary["days"][0]["end"]["name_zh"] == "茨坪"


@pytest.mark.parametrize("change,field", [
    ({"days": 0}, "days"), ({"days": 90}, "days"), ({"days": 11}, "days"),
    ({"start_date": dt.date(2020, 1, 1)}, "start_date"), ({"must": ["no-such-site"]}, "must"),
    ({"origin": "30.0,200.0"}, "origin"), ({"origin": "500,114"}, "origin"), ({"time_limit": 0}, "time_limit"),
    ({"origin": "Atlantis"}, "origin"), ({"pace": "frantic"}, "pace"), ({"themes": ["aliens"]}, "themes"),
    ({"end": "<script>"}, "end"), ({"chains": 0}, "chains"), ({"chains": 64}, "chains"),
    ({"destination": ""}, "destination"), ({"destination": "x" * 101}, "destination"), ({"seed": -1}, "seed"),
    ({"seed": "1"}, "seed"), ({"pin": {"jinggangshan-huangyangjie": 1}}, "pin"), ({"pin": {"no-such": 0}}, "pin"),
    ({"pin": ["jinggangshan-huangyangjie"]}, "pin"), ({"arrive_at": "10:00"}, "arrive_at"),
    ({"party": ["aliens"]}, "party"),
])
def test_bad_requests_raise_input_errors_naming_the_field(shipped_db, change, field):
    request = TripRequest(**({"origin": "井冈山市", "days": 1, "time_limit": 0.2} | change))
    with pytest.raises(InputError) as info:
        solve_trip(shipped_db, request)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_typos_resolve_and_unknown_places_suggest_close_names(shipped_db):
    from planner.places import resolve_place

    assert resolve_place(shipped_db, "萍香北站").name_zh == "萍乡北站"  # homophone typo
    assert resolve_place(shipped_db, "jingganshan").name_zh == "井冈山市"
    assert resolve_place(shipped_db, "Changsha Sauth Railway Staton").name_zh == "长沙南站"
    assert resolve_place(shipped_db, "萍乡").name_zh == "安源区"
    with pytest.raises(InputError) as info:
        solve_trip(shipped_db, TripRequest(origin="Xanadu Station", days=1, time_limit=0.2))
    assert "closest: " in info.value.en and "Railway Station" in info.value.en
    assert "最接近的有" in info.value.zh


def test_cli_plan_json_contract_and_bad_input(tmp_path):
    db = tmp_path / "sites.db"
    shutil.copy(sitedb.DEFAULT_DB, db)
    date = (today_in_china() + dt.timedelta(days=3)).isoformat()
    result = CliRunner().invoke(main, ["plan", "--from", "长沙南站", "--days", "2", "--start-date", date,
                                       "--time-limit", "0.4", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert set(plan) >= {"days", "score", "unreached_must", "solver"}
    assert set(plan["solver"]) >= {"status", "seconds"}
    day = plan["days"][0]
    assert day["date"] == date and set(day["start"]) >= {"name", "lat", "lon", "time"}
    assert set(day["stops"][0]) >= {"site_id", "name_zh", "name_en", "lat", "lon", "arrive", "visit_start",
                                    "depart", "travel_minutes", "distance_km"}
    text = CliRunner().invoke(main, ["plan", "--from", "长沙南站", "--days", "1", "--time-limit", "0.3",
                                     "--lang", "en", "--db", str(db)]).output
    assert "Day 1" in text and "Leave Changsha South Railway Station" in text
    for args in (["--days", "0"], ["--days", "90"], ["--days", "2", "--start-date", "2001-01-01"],
                 ["--days", "2", "--time-limit", "0"], ["--days", "2", "--start-date", "tomorrow"]):
        result = CliRunner().invoke(main, ["plan", "--from", "长沙南站", *args, "--db", str(db)])
        assert result.exit_code == 2, (args, result.output)


class _OsrmStandIn(BaseHTTPRequestHandler):
    """Speaks OSRM's documented table JSON: 1 minute per straight-line km, distances in metres."""

    fail = False

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.fail:
            self.send_response(502)
            self.end_headers()
            return
        coords = self.path.split("/table/v1/driving/")[1].split("?")[0].split(";")
        points = [tuple(map(float, c.split(","))) for c in coords]
        metres = [[haversine_m(a[1], a[0], b[1], b[0]) for b in points] for a in points]
        body = {"code": "Ok", "durations": [[m / 1000 * 60 for m in row] for row in metres],
                "distances": metres}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OsrmStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    _OsrmStandIn.fail = False


def test_osrm_table_is_used_when_configured(shipped_db, osrm_server):
    url = f"http://127.0.0.1:{osrm_server.server_port}"
    # red sites only: short visits, so the day has several legs to compare
    request = TripRequest(origin="井冈山市", days=1, start_date=_next(2), time_limit=0.3,
                          interests={"red": 1.0, "eco": 0.0})
    itinerary = solve_trip(shipped_db, request, provider=OsrmTable(url))
    assert itinerary["travel_source"] == "osrm"
    check_itinerary(shipped_db, itinerary, request)
    stop = itinerary["days"][0]["stops"][1]
    previous = itinerary["days"][0]["stops"][0]
    km = haversine_m(previous["lat"], previous["lon"], stop["lat"], stop["lon"]) / 1000
    # OSRM's figures, unless the two points' precision radii make a longer floor (planner.travel.honest_legs)
    floor_km = (previous["precision_m"] + stop["precision_m"]) / 2 / 1000 * 1.35
    assert stop["distance_km"] == pytest.approx(max(km, floor_km), abs=0.05)
    floor_minutes = math.ceil(float(drive_minutes(np.array(floor_km))))
    assert stop["travel_minutes"] == pytest.approx(max(km + 5, floor_minutes), abs=1)


def test_osrm_failure_falls_back_to_the_estimate_and_says_so(shipped_db, osrm_server):
    _OsrmStandIn.fail = True
    request = TripRequest(origin="井冈山市", days=1, start_date=_next(2), time_limit=0.3)
    itinerary = solve_trip(shipped_db, request, provider=OsrmTable(f"http://127.0.0.1:{osrm_server.server_port}"))
    assert itinerary["travel_source"].startswith("estimate (OSRM failed: HTTPStatusError")
    check_itinerary(shipped_db, itinerary, request)
    closed_port = OsrmTable("http://127.0.0.1:9", timeout=1).matrix([(26.6, 114.1), (26.7, 114.2)])
    assert closed_port.source.startswith("estimate (OSRM failed: ConnectError")
    assert (closed_port.minutes == RoadEstimate().matrix([(26.6, 114.1), (26.7, 114.2)]).minutes).all()
