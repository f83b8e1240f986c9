"""The web app through Flask's test client: every route, bad input, CSRF, auth, lockout, versions, hiding."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import logging
import re
import shutil

import gpxpy
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from planner import db as sitedb
from planner.geo import haversine_m, wgs84_to_gcj02
from planner.sitedata import FIELDS
from planner.trip import today_in_china
from web import accounts, create_app, exports, planning
from web.cli import curator_group, serve

PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"
HIDDEN_ID = "jinggangshan-hidden-test"
XSS_ID = "jinggangshan-xss-test"


def site_raw(site_id: str, **changes) -> dict:
    raw = {
        "id": site_id, "name_zh": "网页测试馆", "name_en": "Web Test Hall", "category": "red",
        "themes": ["red-army"], "county_adcode": 360881, "lat": 26.58, "lon": 114.17, "coord_precision_m": 300,
        "coord_source": "test", "visit_minutes": 60, "hours": "daily 09:00-17:00", "ticket_cny": 0,
        "summary_zh": "测试。", "summary_en": "Test.", "history_zh": "历史。", "history_en": "History.",
        "sources": ["http://example.com/test"],
    }
    return raw | changes


def insert_unvalidated(db, site_id: str, name: str) -> None:
    """A site with a name validation would refuse (as if written by an older version or by hand)."""
    row = dict(next(db["sites"].rows_where("id = ?", ["jinggangshan-museum"])))
    row.update(id=site_id, name_zh=name, name_en=name, search_text="xss test img onerror",
               summary_zh=f"摘要 {name}", summary_en=f"Summary {name}", lat=26.57, lon=114.15)
    db["sites"].insert(row)


@pytest.fixture(scope="session")
def web_db_template(mini_db_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("web") / "web.db"
    shutil.copy(mini_db_template, path)
    db = sitedb.connect(path)
    sitedb.add_site(db, site_raw(HIDDEN_ID, name_zh="隐藏测试馆", name_en="Hidden Test Hall", hidden=True), "test")
    insert_unvalidated(db, XSS_ID, XSS)
    accounts.add_curator(db, "alice", PASSWORD)
    accounts.add_curator(db, "bob", PASSWORD)
    db.conn.close()
    return path


@pytest.fixture
def db_path(web_db_template, tmp_path):
    path = tmp_path / "web.db"
    shutil.copy(web_db_template, path)
    return path


@pytest.fixture
def app(db_path):
    return create_app({"HONGTU_DB": str(db_path), "SECRET_KEY": "test-secret", "TESTING": True,
                       "PLAN_TIME_LIMIT": 0.2, "PLAN_WORKERS": 0, "TILE_URL": "", "PLAN_ITERATIONS": 150})


@pytest.fixture
def client(app):
    return app.test_client()


def token(client, url: str) -> str:
    page = client.get(url)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def login(client, name: str = "alice", password: str = PASSWORD):
    return client.post("/curator/login", data={"name": name, "password": password,
                                               "csrf_token": token(client, "/curator/login")})


@pytest.fixture
def curator(client):
    assert login(client).status_code == 303
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def plan_form(**changes) -> dict:
    return {"from": "井冈山市", "days": "2", "interests": ["red", "eco"], "pace": "normal"} | changes


def make_plan(client, **changes) -> str:
    data = plan_form(**changes)
    data["csrf_token"] = token(client, "/")
    response = client.post("/plan", data=data)
    assert response.status_code == 303, text(response)[:2000]
    return response.headers["Location"]


# ---------------------------------------------------------------- public pages

@pytest.mark.parametrize("url", ["/", "/sites", "/sites/jinggangshan-museum", "/curator/login", "/api/sites",
                                 "/api/sites/jinggangshan-museum", "/api/places?q=jinggang", "/api/openapi.json",
                                 "/static/app.js", "/static/vendor/leaflet/leaflet.js",
                                 "/static/vendor/leaflet/LICENSE"])
def test_public_routes_answer(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers


def test_language_from_accept_language_and_switch(client):
    assert "规划你的行程" in text(client.get("/"))
    assert "Plan your trip" in text(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert "规划你的行程" in text(client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    assert "Plan a trip" in text(client.get("/sites?lang=en"))
    assert "Plan your trip" in text(client.get("/"))  # remembered in the session
    assert "规划你的行程" in text(client.get("/?lang=zh"))
    assert text(client.get("/?lang=xx")).count("规划你的行程") >= 1  # unknown language: ignored


def test_leaflet_is_shipped_not_from_a_cdn(client):
    page = text(client.get("/"))
    assert "/static/vendor/leaflet/leaflet.js" in page and "unpkg" not in page and "cdn" not in page.lower()
    assert "BSD" in text(client.get("/static/vendor/leaflet/LICENSE"))


def test_tile_url_is_configurable_and_defaults_to_osm(db_path, monkeypatch):
    monkeypatch.delenv("HONGTU_TILE_URL", raising=False)
    page = text(create_app({"HONGTU_DB": str(db_path), "SECRET_KEY": "x"}).test_client().get("/"))
    assert "tile.openstreetmap.org" in page and "OpenStreetMap" in page
    monkeypatch.setenv("HONGTU_TILE_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    app = create_app({"HONGTU_DB": str(db_path), "SECRET_KEY": "x"})
    response = app.test_client().get("/")
    assert "tiles.example.org" in text(response)
    assert "img-src 'self' data: https://tiles.example.org" in response.headers["Content-Security-Policy"]


def test_secret_key_is_random_when_unset(db_path, monkeypatch, caplog):
    monkeypatch.delenv("HONGTU_SECRET_KEY", raising=False)
    with caplog.at_level(logging.WARNING, logger="hongtu.web"):
        first = create_app({"HONGTU_DB": str(db_path)})
        second = create_app({"HONGTU_DB": str(db_path)})
    assert first.secret_key and first.secret_key != second.secret_key and len(first.secret_key) >= 32
    assert "HONGTU_SECRET_KEY" in caplog.text


def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="hongtu db build"):
        create_app({"HONGTU_DB": str(tmp_path / "none.db"), "SECRET_KEY": "x"})


def test_sites_page_filters_and_search(client):
    page = text(client.get("/sites"))
    assert "黄洋界哨口" in page and "龙潭瀑布群" in page
    eco = text(client.get("/sites?category=eco"))
    assert "龙潭瀑布群" in eco and "黄洋界哨口" not in eco
    assert "黄洋界哨口" not in text(client.get("/sites?designation=5A"))
    assert "龙潭瀑布群" in text(client.get("/sites?theme=waterfall&county=360881"))
    for query in ("huangyangjie", "黄洋", "Sentry", "huang yang"):
        found = text(client.get("/sites", query_string={"q": query}))
        assert "黄洋界哨口" in found and "龙潭瀑布群" not in found, query
    assert "共 0 个景点" in text(client.get("/sites?county=430181"))


@pytest.mark.parametrize("query,field", [
    ("county=999999", "county"), ("county=abc", "county"), ("category=purple", "category"),
    ("theme=nope", "theme"), ("designation=9A", "designation"), ("page=0", "page"), ("page=abc", "page"),
    ("page=99", "page"), ("q=" + "x" * 101, "q"), ("county=360881&county=430181", "county"),
])
def test_sites_page_bad_filters_are_400(client, query, field):
    response = client.get(f"/sites?{query}")
    assert response.status_code == 400
    if query == "page=99":  # the API answers a page past the end with an empty list
        assert client.get(f"/api/sites?{query}").json["sites"] == []
        return
    api = client.get(f"/api/sites?{query}")
    assert api.status_code == 400 and api.json["error"]["field"] == field


@pytest.mark.parametrize("query", ['"', "*", "NEAR(a b)", "a AND", "'; DROP TABLE sites; --", "\\", "%", "()",
                                   "黄洋界 OR 1=1", "^", "-"])
def test_odd_search_text_never_fails(client, query):
    assert client.get("/sites", query_string={"q": query}).status_code == 200
    assert client.get("/api/sites", query_string={"q": query}).status_code == 200
    assert client.get("/api/places", query_string={"q": query}).status_code == 200


def test_site_page_shows_hours_ticket_history_sources_and_links(client):
    page = text(client.get("/sites/jinggangshan-longtan"))
    assert "龙潭瀑布群" in page and "07:30–17:30" in page and "11-16" in page  # hours and the winter season
    assert "五级瀑布沿峡谷分布" in page and "http://example.com/longtan" in page
    assert "未知" in page  # ticket unknown
    # 龙潭's point is a 2 km estimate: no exact pin to navigate to, a search by name instead
    assert "大致位置" in page and "uri.amap.com/search?keyword=" in page and "openstreetmap.org/search?" in page
    assert "uri.amap.com/marker" not in page and "26.595000" not in page
    precise = text(client.get("/sites/jinggangshan-huangyangjie"))
    assert "uri.amap.com/marker" in precise and "openstreetmap.org/?mlat=" in precise
    assert client.get("/sites/no-such-site").status_code == 404
    assert client.get("/sites/Bad%20Id").status_code == 404


def test_non_http_sources_are_not_links(app, db_path, client):
    db = sitedb.connect(db_path)
    sitedb.update_site(db, "jinggangshan-museum", {"sources": [{"url": "javascript:alert(1)"}]}, "test")
    page = text(client.get("/sites/jinggangshan-museum"))
    assert "javascript:" not in page  # not a web page: neither a link nor shown to visitors
    assert "javascript:" not in json.dumps(client.get("/api/sites/jinggangshan-museum").json)


def test_amap_links_use_gcj02(client):
    lat, lon = 26.5950, 114.1500
    url = exports.amap_url(lat, lon, "龙潭")
    position = re.search(r"position=([\d.]+),([\d.]+)", url)
    glon, glat = float(position.group(1)), float(position.group(2))
    expect_lat, expect_lon = wgs84_to_gcj02(lat, lon)
    assert abs(glat - expect_lat) < 1e-6 and abs(glon - expect_lon) < 1e-6
    assert 100 < haversine_m(lat, lon, glat, glon) < 1000  # really shifted, not WGS-84 passed through
    assert "name=%E9%BE%99%E6%BD%AD" in url
    page = text(client.get("/sites/jinggangshan-museum")).replace("&amp;", "&")
    assert exports.amap_url(26.5760, 114.1640, "井冈山革命博物馆") in page


# ---------------------------------------------------------------- escaping and hidden sites

def test_a_markup_name_is_escaped_everywhere(client):
    for url in ("/sites", f"/sites/{XSS_ID}", "/"):
        page = text(client.get(url))
        assert "<img src=x" not in page, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in page or "\\u003cimg src=x" in page, url
    assert client.get(f"/api/sites/{XSS_ID}").json["name_zh"] == XSS


def test_hidden_sites_are_absent_from_public_pages_and_api(client):
    assert client.get(f"/sites/{HIDDEN_ID}").status_code == 404
    assert client.get(f"/api/sites/{HIDDEN_ID}").status_code == 404
    assert HIDDEN_ID not in text(client.get("/sites"))
    assert HIDDEN_ID not in text(client.get("/"))
    assert "隐藏测试馆" not in text(client.get("/sites", query_string={"q": "隐藏测试"}))
    ids = [s["id"] for s in client.get("/api/sites?per_page=200").json["sites"]]
    assert HIDDEN_ID not in ids and "jinggangshan-museum" in ids
    assert all("hidden" not in s for s in client.get("/api/sites").json["sites"])
    places = client.get("/api/places", query_string={"q": "隐藏测试馆"}).json["places"]
    assert all(p["id"] != HIDDEN_ID for p in places)
    response = client.post("/api/plan", json={"origin": "井冈山市", "days": 1, "must": [HIDDEN_ID]})
    assert response.status_code == 400 and response.json["error"]["field"] == "must"


# ---------------------------------------------------------------- planning

def test_plan_form_shared_link_and_downloads(client):
    location = make_plan(client, must="jinggangshan-museum")
    plan_id = location.rsplit("/", 1)[1]
    first = text(client.get(location))
    assert "井冈山革命博物馆" in first and "第 1 天" in first and "第 2 天" in first
    assert f"/p/{plan_id}/calendar.ics" in first and f"/p/{plan_id}/route.gpx" in first
    data = json.loads(re.search(r'id="itinerary-data">(.*?)</script>', first, re.S).group(1))
    assert len(data["days"]) == 2
    numbers = [s["number"] for day in data["days"] for s in day["stops"]]
    assert numbers == list(range(1, len(numbers) + 1)) and numbers
    assert text(client.get(location)) == first  # the permanent link shows the stored itinerary

    ics = client.get(f"/p/{plan_id}/calendar.ics")
    assert ics.mimetype == "text/calendar" and "attachment" in ics.headers["Content-Disposition"]
    events = [e for e in Calendar.from_ical(ics.data).walk("VEVENT") if str(e["SUMMARY"]) != "午餐"]
    assert len(events) == len(numbers)
    approximate = {s["number"] for day in data["days"] for s in day["stops"] if s["approximate"]}
    for number, event in enumerate(events, 1):
        assert event["LOCATION"] and event["DESCRIPTION"]
        assert (event.get("GEO") is None) == (number in approximate)
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start.tzinfo is not None and start < end

    gpx = gpxpy.parse(text(client.get(f"/p/{plan_id}/route.gpx")))
    assert len(gpx.routes) == 2 and len(gpx.waypoints) >= len(numbers) + 1
    assert sum(len(r.points) for r in gpx.routes) == len(numbers) + 4

    printable = text(client.get(f"/p/{plan_id}/print"))
    assert "井冈山革命博物馆" in printable and "leaflet" in printable.lower()  # same base, map hidden by CSS

    english = text(client.get(f"{location}?lang=en"))
    assert "Jinggangshan Revolutionary Museum" in english and "Day 2" in english


def test_request_link_plans_again(client):
    location = make_plan(client, themes="waterfall", pace="relaxed")
    page = text(client.get(location))
    link = re.search(r'id="request-link" rel="nofollow" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "from=" in link and "days=2" in link and "themes=waterfall" in link and "pace=relaxed" in link
    again = client.get(link)
    assert again.status_code == 303 and again.headers["Location"].startswith("/p/")
    assert again.headers["Location"] != location
    assert client.get("/plan").status_code == 302


def test_plan_with_coordinates_and_an_end(client):
    location = make_plan(client, **{"from": "26.57,114.16", "to": "黄洋界", "days": "1"})
    assert "井冈山" in text(client.get(location))


def test_unknown_plan_ids(client):
    for url in ("/p/doesnotexist", "/p/x", "/p/../../etc", "/p/abc%00def", "/p/nope/calendar.ics",
                "/p/nope/route.gpx", "/p/nope/print"):
        assert client.get(url).status_code == 404, url


past = (today_in_china() - dt.timedelta(days=1)).isoformat()


@pytest.mark.parametrize("changes,field", [
    ({"days": "0"}, "days"), ({"days": "90"}, "days"), ({"days": "abc"}, "days"), ({"days": ""}, "days"),
    ({"days": "2.5"}, "days"), ({"from": ""}, "origin"), ({"from": "500,500"}, "origin"),
    ({"from": "26.5,500"}, "origin"), ({"from": "x" * 5000}, "origin"), ({"from": "Atlantis"}, "origin"),
    ({"from": "<script>alert(1)</script>"}, "origin"), ({"from": "'; DROP TABLE sites; --"}, "origin"),
    ({"date": past}, "start_date"), ({"date": "2026-02-30"}, "start_date"), ({"date": "9999-12-31"}, "start_date"),
    ({"date": "tomorrow"}, "start_date"), ({"pace": "sprint"}, "pace"), ({"interests": "blue"}, "interests"),
    ({"interests": "red:99"}, "interests"), ({"themes": "nope"}, "themes"), ({"must": "no-such-site"}, "must"),
    ({"must": "<b>x</b>"}, "must"), ({"avoid": "no-such-site"}, "avoid"),
    ({"must": ",".join(f"s{i}" for i in range(40))}, "must"), ({"to": "\x00\x01"}, "end"),
    ({"must": "jinggangshan-museum", "avoid": "jinggangshan-museum"}, "avoid"),
])
def test_bad_plan_requests_are_400_naming_the_field(client, changes, field):
    data = plan_form(**changes) | {"csrf_token": token(client, "/")}
    response = client.post("/plan", data=data)
    assert response.status_code == 400
    page = text(response)
    assert 'id="form-error"' in page
    assert "<script>alert(1)" not in page
    api_body = {"origin": data["from"], "days": data["days"]} | {
        {"date": "start_date", "to": "end"}.get(k, k): v for k, v in changes.items() if k != "from"}
    api = client.post("/api/plan", json=api_body)
    assert api.status_code == 400 and api.json["error"]["field"] == field, api.json
    assert api.json["error"]["en"] and api.json["error"]["zh"]


def test_empty_plan_form_is_400(client):
    response = client.post("/plan", data={"csrf_token": token(client, "/")})
    assert response.status_code == 400 and 'id="form-error"' in text(response)


def test_api_plan_matches_the_cli_json_fields(client):
    response = client.post("/api/plan", json={"origin": "井冈山市", "days": 2, "interests": "red:2,eco:1",
                                              "themes": ["jinggangshan-struggle"], "must": "jinggangshan-museum",
                                              "time_limit": 0.2})
    assert response.status_code == 200
    body = response.json
    assert {"days", "score", "unreached_must", "solver", "travel_source", "request"} <= set(body)
    documented = client.get("/api/openapi.json").json["components"]["schemas"]["Itinerary"]["properties"]
    assert set(body) <= set(documented), set(body) - set(documented)
    assert len(body["days"]) == 2 and body["request"]["interests"] == {"red": 2.0, "eco": 1.0}
    stop = body["days"][0]["stops"][0]
    for key in ("site_id", "name_zh", "name_en", "lat", "lon", "arrive", "visit_start", "depart",
                "travel_minutes", "distance_km", "summary_zh", "summary_en"):
        assert key in stop
    shared = client.post("/api/plan", json={"origin": "井冈山市", "days": 1, "share": True}).json
    path = shared["share_url"].replace("http://localhost", "")
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"origin": [500, 0], "days": 1}, "origin"), ({"origin": {"a": 1}, "days": 1}, "origin"),
    ({"origin": [True, 1], "days": 1}, "origin"), ({"origin": "井冈山市", "days": True}, "days"),
    ({"origin": "井冈山市", "days": [2]}, "days"), ({"origin": "井冈山市", "days": 1e300}, "days"),
    ({"origin": "井冈山市"}, "days"), ({"days": 2}, "origin"), ({"origin": "井冈山市", "days": 1, "color": 1}, "color"),
    ({"origin": "井冈山市", "days": 1, "time_limit": 100}, "time_limit"),
    ({"origin": "井冈山市", "days": 1, "time_limit": "fast"}, "time_limit"),
    ({"origin": "井冈山市", "days": 1, "share": "yes"}, "share"),
    ({"origin": "井冈山市", "days": 1, "interests": {"red": "a"}}, "interests"),
    ({"origin": "井冈山市", "days": 1, "interests": {"blue": 1}}, "interests"),
    ({"origin": "井冈山市", "days": 1, "interests": {"red": 0, "eco": 0}}, "interests"),
    ({"origin": "井冈山市", "days": 1, "must": [["x"]]}, "must"),
    ({"origin": "井冈山市", "days": 1, "must": 5}, "must"), ({"origin": "井冈山市", "days": [1, 2]}, "days"),
    ({"origin": "井冈山市", "days": 1, "themes": [1]}, "themes"),
    ({"origin": "井冈山市", "days": 1, "start_date": 20270101}, "start_date"),
    ([1, 2], "body"), ("text", "body"), (None, "body"),
])
def test_api_plan_400s_name_the_field(client, body, field):
    response = client.post("/api/plan", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field


def test_api_plan_rejects_non_json(client):
    assert client.post("/api/plan", data="origin=x").json["error"]["field"] == "body"
    response = client.post("/api/plan", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["field"] == "body"
    deep = "[" * 100_000 + "]" * 100_000
    assert client.post("/api/plan", data=deep, content_type="application/json").status_code == 400
    assert client.post("/api/plan", data="x" * (3 * 1024 * 1024), content_type="application/json").status_code == 413


# ---------------------------------------------------------------- the JSON API

def test_api_sites_paging_and_filters(client):
    body = client.get("/api/sites?per_page=2").json
    assert body["total"] == 4 and body["pages"] == 2 and len(body["sites"]) == 2
    internal = {"hidden", "coord_source", "importance_basis", "ticket_note"}
    assert set(FIELDS) - internal <= set(body["sites"][0])
    assert not internal & set(body["sites"][0])
    second = client.get("/api/sites?per_page=2&page=2").json["sites"]
    assert {s["id"] for s in second}.isdisjoint({s["id"] for s in body["sites"]})
    assert [s["id"] for s in client.get("/api/sites?category=eco").json["sites"]] == ["jinggangshan-longtan"]
    assert client.get("/api/sites?q=huangyangjie").json["sites"][0]["id"] == "jinggangshan-huangyangjie"
    for query, field in (("per_page=1000", "per_page"), ("per_page=0", "per_page"), ("bogus=1", "bogus")):
        response = client.get(f"/api/sites?{query}")
        assert response.status_code == 400 and response.json["error"]["field"] == field
    missing = client.get("/api/sites/no-such-site")
    assert missing.status_code == 404 and missing.json["error"]["field"] == "id"
    assert client.get("/api/sites/%3Cscript%3E").status_code == 404


def test_api_places_type_ahead(client):
    for query in ("井冈", "jinggang", "Jinggangshan", "黄洋"):
        places = client.get("/api/places", query_string={"q": query}).json["places"]
        assert places and any("井冈山" in p["name_zh"] or "黄洋界" in p["name_zh"] for p in places), query
    fuzzy = client.get("/api/places", query_string={"q": "Jingganshann"}).json
    assert fuzzy["places"]
    for query, field in (("", "q"), ("q=" + "x" * 200, "q"), ("q=a&limit=99", "limit")):
        response = client.get(f"/api/places?{query}")
        assert response.status_code == 400 and response.json["error"]["field"] == field


def test_openapi_document_is_valid_and_complete(client):
    response = client.get("/api/openapi.json")
    doc = json.loads(response.data)
    assert doc["openapi"].startswith("3.") and doc["info"]["title"]
    assert {"/api/sites", "/api/sites/{site_id}", "/api/places", "/api/plan"} <= set(doc["paths"])
    assert "post" in doc["paths"]["/api/plan"]
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(doc))
    assert refs and set(refs) <= set(doc["components"]["schemas"])


def test_api_errors_are_json(client):
    assert client.get("/api/nope").json["error"]["field"] == "path"
    response = client.delete("/api/sites")
    assert response.status_code == 405 and response.json["error"]["field"] == "method"
    assert client.get("/api/plan").status_code == 405


# ---------------------------------------------------------------- CSRF and the curator area

CURATOR_GETS = ["/curator/", "/curator/sites/new", "/curator/sites/jinggangshan-museum/edit",
                "/curator/sites/jinggangshan-museum/audit", "/curator/import"]
CURATOR_POSTS = ["/curator/sites/new", "/curator/sites/jinggangshan-museum/edit",
                 "/curator/sites/jinggangshan-museum/hide", "/curator/sites/jinggangshan-museum/restore",
                 "/curator/import"]


@pytest.mark.parametrize("url", CURATOR_GETS)
def test_curator_pages_need_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/curator/login" in response.headers["Location"]


@pytest.mark.parametrize("url", CURATOR_POSTS)
def test_curator_posts_need_login_and_csrf(client, db_path, url):
    before = sitedb.dump(sitedb.connect(db_path))
    assert client.post(url, data={}).status_code == 400  # no CSRF token
    response = client.post(url, data={"csrf_token": token(client, "/curator/login")})
    assert response.status_code == 302 and "/curator/login" in response.headers["Location"]
    assert sitedb.dump(sitedb.connect(db_path)) == before


def test_csrf_is_required_on_every_form(client, curator):
    assert client.post("/plan", data=plan_form()).status_code == 400
    assert client.post("/plan", data=plan_form(csrf_token="forged")).status_code == 400
    fresh = client.application.test_client()
    assert fresh.post("/curator/login", data={"name": "alice", "password": PASSWORD}).status_code == 400
    assert curator.post("/curator/sites/jinggangshan-museum/hide", data={"csrf_token": "forged"}).status_code == 400
    assert curator.post("/curator/logout").status_code == 400


def test_login_logout_and_session_cookie_flags(client):
    response = login(client)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "alice" in text(client.get("/curator/"))
    assert client.post("/curator/logout", data={"csrf_token": token(client, "/curator/")}).status_code == 303
    assert client.get("/curator/").status_code == 302


def test_login_next_only_goes_inside_the_curator_area(client):
    csrf = token(client, "/curator/login")
    response = client.post("/curator/login?next=//evil.example/x", data={"name": "alice", "password": PASSWORD,
                                                                         "csrf_token": csrf})
    assert response.headers["Location"] == "/curator/"
    client.post("/curator/logout", data={"csrf_token": token(client, "/curator/")})
    csrf = token(client, "/curator/login")
    response = client.post("/curator/login?next=/curator/import", data={"name": "alice", "password": PASSWORD,
                                                                        "csrf_token": csrf})
    assert response.headers["Location"] == "/curator/import"


def test_wrong_password_and_lockout(client, monkeypatch):
    assert login(client, password="wrong").status_code == 401
    assert login(client, name="nobody").status_code == 401
    assert login(client, name="<script>").status_code == 401
    for _ in range(3):
        assert login(client, password="wrong").status_code == 401
    locked = login(client, password="wrong")
    assert locked.status_code == 429
    assert login(client).status_code == 429  # even the right password, while locked
    later = accounts._now() + dt.timedelta(seconds=301)
    monkeypatch.setattr(accounts, "_now", lambda: later)
    assert login(client).status_code == 303
    assert login(client, name="bob").status_code == 303  # other accounts were never affected


def form_for(client, site_id: str) -> dict:
    """The edit form's current values, as the browser would send them back."""
    page = text(client.get(f"/curator/sites/{site_id}/edit"))
    data = {name: value for name, value in re.findall(r'<input type="[a-z]+" id="field-\w+" name="(\w+)" '
                                                      r'value="([^"]*)"', page)}
    areas = re.findall(r'<textarea id="field-\w+" name="(\w+)"[^>]*>(.*?)</textarea>', page, re.S)
    data.update(dict(areas))
    for name in ("category", "county_adcode"):
        select = re.search(rf'name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
        data[name] = re.search(r'<option value="([^"]*)" selected', select).group(1)
    for name in ("themes", "designations", "unverified"):
        data[name] = re.findall(rf'name="{name}" value="([^"]+)" checked', page)
    data["version"] = re.search(r'name="version" value="(\d+)"', page).group(1)
    data["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return {k: ([html.unescape(x) for x in v] if isinstance(v, list) else html.unescape(v)) for k, v in data.items()}


def test_curator_adds_a_site_and_it_is_public_and_audited(curator, db_path):
    data = site_raw("jinggangshan-web-added", name_zh="网页新增馆", sources="http://example.com/one\nhttp://example.com/two",
                    themes=["red-army", "forest"], aliases="新增馆; Added Hall")
    data = {k: v for k, v in data.items() if k != "ticket_cny"} | {"ticket_cny": "5",
                                                                   "csrf_token": token(curator, "/curator/sites/new")}
    response = curator.post("/curator/sites/new", data=data)
    assert response.status_code == 303, text(response)[:3000]
    assert "网页新增馆" in text(curator.get("/sites"))
    site = curator.get("/api/sites/jinggangshan-web-added").json
    assert site["themes"] == ["red-army", "forest"] and site["ticket_cny"] == 5 and site["aliases"] == ["新增馆",
                                                                                                          "Added Hall"]
    assert [s["url"] for s in site["sources"]] == ["http://example.com/one", "http://example.com/two"]
    audit = text(curator.get("/curator/sites/jinggangshan-web-added/audit"))
    assert "alice" in audit and "add" in audit and "网页新增馆" in audit
    assert sitedb.audit_log(sitedb.connect(db_path), "jinggangshan-web-added")[0]["author"] == "alice"


@pytest.mark.parametrize("changes,field", [
    ({"lat": "500"}, "lat"), ({"lat": "abc"}, "lat"), ({"name_zh": XSS}, "name_zh"),
    ({"name_en": "x'; DROP TABLE sites; --"}, "name_en"), ({"id": "Bad Id"}, "id"),
    ({"id": "jinggangshan-museum"}, "id"), ({"hours": "25:00-26:00"}, "hours"), ({"seasons": "[{"}, "seasons"),
    ({"county_adcode": "110101"}, "county_adcode"),
    ({"summary_en": "x" * 30000}, "summary_en"), ({"themes": ["nope"]}, "themes"), ({"sources": ""}, "sources"),
])
def test_curator_bad_site_is_400_naming_the_field(curator, db_path, changes, field):
    before = sitedb.dump(sitedb.connect(db_path))
    data = site_raw("jinggangshan-web-bad") | changes | {"csrf_token": token(curator, "/curator/sites/new")}
    response = curator.post("/curator/sites/new", data=data)
    assert response.status_code == 400
    page = text(response)
    assert 'id="form-error"' in page and "<img src=x" not in page
    from web.i18n import FIELD_LABELS
    assert FIELD_LABELS[field][0] in page
    assert sitedb.dump(sitedb.connect(db_path)) == before


def test_empty_site_form_is_400(curator):
    response = curator.post("/curator/sites/new", data={"csrf_token": token(curator, "/curator/sites/new")})
    assert response.status_code == 400 and 'id="form-error"' in text(response)


def test_edit_round_trip_and_a_stale_version_is_refused(app, db_path):
    first, second = app.test_client(), app.test_client()
    assert login(first).status_code == 303 and login(second, "bob").status_code == 303
    form_a, form_b = form_for(first, "jinggangshan-longtan"), form_for(second, "jinggangshan-longtan")
    assert form_a["version"] == form_b["version"] == "1"
    unchanged = first.post("/curator/sites/jinggangshan-longtan/edit", data=form_a)
    assert unchanged.status_code == 303  # saving the form as loaded changes nothing
    assert sitedb.get_site(sitedb.connect(db_path), "jinggangshan-longtan")["version"] == 1
    saved = first.post("/curator/sites/jinggangshan-longtan/edit", data=form_a | {"visit_minutes": "90"})
    assert saved.status_code == 303
    stale = second.post("/curator/sites/jinggangshan-longtan/edit", data=form_b | {"visit_minutes": "30"})
    assert stale.status_code == 409
    assert "已有他人保存" in text(stale)
    site = sitedb.get_site(sitedb.connect(db_path), "jinggangshan-longtan")
    assert site["visit_minutes"] == 90 and site["version"] == 2
    assert second.post("/curator/sites/jinggangshan-longtan/edit", data=form_b | {"version": "x"}).status_code == 409
    fresh = form_for(second, "jinggangshan-longtan")
    assert second.post("/curator/sites/jinggangshan-longtan/edit",
                       data=fresh | {"visit_minutes": "30"}).status_code == 303
    audit = text(second.get("/curator/sites/jinggangshan-longtan/audit"))
    assert "bob" in audit and "alice" in audit and "visit_minutes" in audit
    assert second.get("/curator/sites/no-such-site/edit").status_code == 404


def test_hide_and_restore(curator):
    csrf = token(curator, "/curator/")
    assert curator.post("/curator/sites/jinggangshan-museum/hide", data={"csrf_token": csrf}).status_code == 303
    assert curator.get("/sites/jinggangshan-museum").status_code == 404
    assert curator.get("/api/sites/jinggangshan-museum").status_code == 404
    assert "jinggangshan-museum" not in text(curator.get("/sites"))
    assert "jinggangshan-museum" in text(curator.get("/curator/"))  # curators still see it
    assert curator.get("/curator/sites/jinggangshan-museum/edit").status_code == 200
    assert curator.post("/curator/sites/jinggangshan-museum/restore",
                        data={"csrf_token": csrf, "next": "https://evil.example/"}).headers["Location"] == "/curator/"
    assert curator.get("/sites/jinggangshan-museum").status_code == 200
    assert curator.post("/curator/sites/no-such-site/hide", data={"csrf_token": csrf}).status_code == 404


def test_a_plan_mentioning_a_since_hidden_site_does_not_show_its_text(client, curator):
    location = make_plan(client, must="jinggangshan-museum", days="1")
    curator.post("/curator/sites/jinggangshan-museum/hide", data={"csrf_token": token(curator, "/curator/")})
    page = text(client.get(location))
    assert "此景点已下架" in page and "井冈山斗争历史的综合博物馆" not in page


def export_csv(db_path) -> list[dict]:
    """The curators' full records (the public API leaves out their working notes)."""
    return [{k: (json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v)
             for k, v in s.items() if k in FIELDS and k != "hidden"}
            for s in sitedb.export_sites(sitedb.connect(db_path), include_hidden=False) if s["id"] != XSS_ID]


def csv_bytes(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f for f in FIELDS if f != "hidden"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client, name: str, data: bytes):
    return client.post("/curator/import", data={"csrf_token": token(client, "/curator/import"),
                                                "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_import_csv_all_or_nothing(curator, db_path):
    rows = export_csv(db_path)
    new = {k: (json.dumps(v) if isinstance(v, list) else v) for k, v in site_raw("jinggangshan-imported").items()}
    rows_ok = [*rows, new]
    response = upload(curator, "sites.csv", csv_bytes(rows_ok))
    assert response.status_code == 200, text(response)[:2000]
    assert "新增 1" in text(response)
    assert curator.get("/api/sites/jinggangshan-imported").status_code == 200
    assert sitedb.audit_log(sitedb.connect(db_path), "jinggangshan-imported")[0]["action"] == "import-add"

    before = sitedb.dump(sitedb.connect(db_path))
    bad = [dict(rows[0], visit_minutes="abc"), dict(rows[1], lat="500"),
           {**new, "id": "jinggangshan-imported-2", "name_zh": XSS}]
    response = upload(curator, "sites.csv", csv_bytes(bad))
    page = text(response)
    assert response.status_code == 400 and "3 行有误" in page
    assert page.count("<tr><td>") == 3 and "visit_minutes" in page and "lat" in page and "<img src=x" not in page
    assert sitedb.dump(sitedb.connect(db_path)) == before


@pytest.mark.parametrize("name,data,status", [
    ("sites.json", b"{\"not\": \"a list\"}", 400), ("sites.json", b"[1, 2]", 400), ("sites.json", b"[{", 400),
    ("sites.txt", b"id\nx", 400), ("sites.csv", b"\xff\xfe\x00bad", 400), ("sites.csv", b"bogus_column\n1", 400),
    ("sites.json", b"[" * 50000 + b"]" * 50000, 400), ("sites.csv", b"id,name_zh\n" + b"a" * (3 * 1024 * 1024), 413),
])
def test_import_bad_files(curator, db_path, name, data, status):
    before = sitedb.dump(sitedb.connect(db_path))
    assert upload(curator, name, data).status_code == status
    assert sitedb.dump(sitedb.connect(db_path)) == before


def test_import_without_a_file(curator):
    response = curator.post("/curator/import", data={"csrf_token": token(curator, "/curator/import")})
    assert response.status_code == 400


def test_import_json(curator):
    site = site_raw("jinggangshan-json-import", name_en="JSON Import Hall")
    response = upload(curator, "sites.json", json.dumps([site]).encode())
    assert response.status_code == 200 and curator.get("/api/sites/jinggangshan-json-import").status_code == 200


# ---------------------------------------------------------------- accounts and the CLI

def test_add_curator_validation(db_path):
    db = sitedb.connect(db_path)
    for name, password, field in (("", PASSWORD, "name"), ("a b", PASSWORD, "name"), ("x" * 41, PASSWORD, "name"),
                                  ("carol", "short", "password"), ("alice", PASSWORD, "name")):
        with pytest.raises(Exception) as info:
            accounts.add_curator(db, name, password)
        assert info.value.field == field
    row = next(db["curators"].rows_where("name = ?", ["alice"]))
    assert row["password_hash"].startswith("$argon2") and PASSWORD not in json.dumps(row)


def test_cli_curator_add_asks_twice(db_path):
    runner = CliRunner()
    result = runner.invoke(curator_group, ["add", "carol", "--db", str(db_path)],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0 and "added curator carol" in result.output
    assert PASSWORD not in result.output
    mismatch = runner.invoke(curator_group, ["add", "dave", "--db", str(db_path)], input="one-password\nother-one\n")
    assert mismatch.exit_code != 0
    short = runner.invoke(curator_group, ["add", "erin", "--db", str(db_path)], input="short\nshort\n")
    assert short.exit_code == 2 and "password" in short.output
    listed = runner.invoke(curator_group, ["list", "--db", str(db_path)])
    assert "carol" in listed.output and "alice" in listed.output
    assert runner.invoke(curator_group, ["unlock", "carol", "--db", str(db_path)]).exit_code == 0
    assert runner.invoke(curator_group, ["unlock", "nobody", "--db", str(db_path)]).exit_code == 2


def test_cli_serve_options(tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(serve, ["--help"]).output
    assert "--host" in help_text and "--port" in help_text and "--threads" in help_text
    missing = runner.invoke(serve, ["--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "hongtu db build" in missing.output


# ---------------------------------------------------------------- nothing returns 500

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["county", "category", "theme", "designation", "q", "page", "per_page",
                                        "lang", "limit"]),
                       st.text(max_size=30), max_size=4))
def test_query_parameters_never_cause_500(client, params):
    for url in ("/sites", "/api/sites", "/api/places", "/"):
        assert client.get(url, query_string=params).status_code in (200, 400), (url, params)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["origin", "days", "start_date", "end", "interests", "themes", "pace",
                                        "must", "avoid", "time_limit", "share"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(),
                                 st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3)),
                       max_size=5))
def test_api_plan_bodies_never_cause_500(client, body):
    body.pop("time_limit", None)  # keep every accepted request quick
    response = client.post("/api/plan", json=body)
    assert response.status_code in (200, 400), (body, response.json)


def test_textarea_line_breaks_from_browsers_are_accepted(curator):
    data = site_raw("jinggangshan-crlf", history_en="First line.\r\nSecond line.") | {
        "csrf_token": token(curator, "/curator/sites/new")}
    assert curator.post("/curator/sites/new", data=data).status_code == 303
    assert curator.get("/api/sites/jinggangshan-crlf").json["history_en"] == "First line.\nSecond line."
    assert text(curator.get("/sites/jinggangshan-crlf?lang=en")).count("line.</p>") == 2


def test_plans_in_worker_processes(db_path):
    app = create_app({"HONGTU_DB": str(db_path), "SECRET_KEY": "x", "PLAN_WORKERS": 1, "PLAN_TIME_LIMIT": 0.2,
                      "PLAN_ITERATIONS": 150})
    try:
        client = app.test_client()
        ok = client.post("/api/plan", json={"origin": "井冈山市", "days": 1})
        assert ok.status_code == 200 and ok.json["solver"]["seconds"] < 5
        bad = client.post("/api/plan", json={"origin": "Atlantis", "days": 1})
        assert bad.status_code == 400 and bad.json["error"]["field"] == "origin"  # InputError crosses processes
    finally:
        planning.shutdown(app)


def test_an_overload_shortens_the_time_limit_not_the_queue():
    from planner.trip import TripRequest

    request = TripRequest(origin="x", days=1, time_limit=1.0)
    assert planning._share_of_time(request, 8, 8).time_limit == 1.0
    assert planning._share_of_time(request, 8, 16).time_limit == 0.5
    assert planning._share_of_time(request, 8, 200).time_limit == planning.MIN_TIME_LIMIT


def test_server_plans_use_one_chain_a_seeded_budget_and_a_planner_sized_cap():
    from bot.planning import trip_request
    from planner.trip import TripRequest, default_safety_cap, for_a_server

    request = for_a_server(TripRequest(origin="x", days=10, time_limit=1.0), 50)
    assert request.chains == 1 and request.iterations == 50 and request.time_limit == default_safety_cap(10)
    assert for_a_server(TripRequest(origin="x", days=1, time_limit=1.0)).iterations is None
    bot_request = trip_request({"origin": "x", "days": 2}, 0.3, 150)
    assert bot_request.chains == 1 and bot_request.iterations == 150
    assert bot_request.time_limit == default_safety_cap(2)


def test_the_same_request_and_seed_give_the_same_plan(client):
    first = shown_stops(client, make_plan(client, days="2", seed="4"))
    again = shown_stops(client, make_plan(client, days="2", seed="4"))
    assert first == again and sum(map(len, first)) >= 2


# ---------------------------------------------------------------- issue 9: what an itinerary shows

def _stop(site_id: str, name_zh: str, name_en: str, start: str, end: str, **extra) -> dict:
    return {"site_id": site_id, "name_zh": name_zh, "name_en": name_en, "lat": 26.6, "lon": 114.15,
            "arrive": start, "visit_start": start, "depart": end, "travel_minutes": 20, "distance_km": 9.5,
            "visit_minutes": 60, "category": "red", "summary_zh": "简介。", "summary_en": "About.",
            "ticket_cny": 190.0, "importance": 80} | extra


def constructed_itinerary(**changes) -> dict:
    """Two days over the mini database's sites with every field of the issue-9 contract."""
    area = {"id": "jinggangshan", "name_zh": "井冈山风景名胜区", "name_en": "Jinggangshan Scenic Area"}
    date0, date1 = (today_in_china() + dt.timedelta(days=d) for d in (3, 4))
    place = {"name": "茨坪", "name_zh": "茨坪", "name_en": "Ciping", "kind": "town", "lat": 26.57, "lon": 114.16}
    stops0 = [
        _stop("jinggangshan-huangyangjie", "黄洋界哨口", "Huangyangjie Sentry Post", f"{date0}T09:00",
              f"{date0}T10:00", precision_m=100, approximate=False, area=area, ticket_in_area=True),
        _stop("jinggangshan-longtan", "龙潭瀑布群", "Longtan Waterfalls", f"{date0}T14:00", f"{date0}T16:00",
              lat=26.595, lon=114.15, precision_m=2000, approximate=True, area=area, ticket_in_area=True),
    ]
    stops1 = [_stop("jinggangshan-museum", "井冈山革命博物馆", "Jinggangshan Revolution Museum", f"{date1}T09:00",
                    f"{date1}T11:00", precision_m=300, approximate=False, area=None, ticket_in_area=False,
                    ticket_cny=None)]
    days = []
    for date, stops, lunch_at in ((date0, stops0, "12:00"), (date1, stops1, "11:30")):
        days.append({"date": str(date), "start": {**place, "time": f"{date}T08:30"},
                     "end": {**place, "time": f"{date}T17:00", "travel_minutes": 10, "distance_km": 4.0},
                     "stops": stops, "sunset": "17:31",
                     "lunch": {"start": f"{date}T{lunch_at}", "end": f"{date}T{lunch_at[:2]}:45",
                               "near_zh": f"茨坪镇{XSS}", "near_en": f"Ciping town {XSS}"}})
    return {"days": days, "score": 10.0, "unreached_must": [], "solver": {"status": "feasible", "seconds": 0.1},
            "travel_source": "estimate", "seed": 7,
            "destination": {"name_zh": "井冈山风景名胜区", "name_en": "Jinggangshan Scenic Area"},
            "tickets": {"total_cny": 190.0, "lines": [{"kind": "area", **area, "cny": 190.0}],
                        "unknown": [{"id": "jinggangshan-museum", "name_zh": "井冈山革命博物馆",
                                     "name_en": "Jinggangshan Revolution Museum"}]},
            "request": {"origin": "井冈山市", "days": 2, "start_date": str(date0), "end": None,
                        "interests": {"red": 1.0, "eco": 1.0}, "themes": [], "pace": "normal", "must": [],
                        "avoid": [], "destination": "井冈山", "pin": {}, "party": ["seniors", "no-car"],
                        "arrive_at": "10:45"}} | changes


def stored(db_path, itinerary: dict) -> str:
    return "/p/" + planning.store_plan(sitedb.connect(db_path), itinerary)


def test_itinerary_page_shows_lunch_sunset_destination_and_party(client, db_path):
    url = stored(db_path, constructed_itinerary())
    zh = text(client.get(url + "?lang=zh"))
    assert "目的地：井冈山风景名胜区" in zh and "日落 17:31" in zh and "午餐 12:00–12:45" in zh
    assert "有老人" in zh and "没有车" in zh and "路程时间按自驾估算" in zh  # no car: say plans are for driving
    # the lunch break sits between the morning and the afternoon stop
    assert zh.index("黄洋界哨口") < zh.index("午餐 12:00") < zh.index("龙潭瀑布群</a>")
    assert "<img src=x" not in zh and "茨坪镇&lt;img src=x" in zh
    en = text(client.get(url + "?lang=en"))
    assert "Destination: Jinggangshan Scenic Area" in en and "sunset 17:31" in en and "Lunch 11:30–11:45" in en


def test_approximate_stops_have_no_exact_pin_and_navigate_by_name(client, db_path):
    url = stored(db_path, constructed_itinerary())
    page = text(client.get(url + "?lang=en"))
    longtan = page[page.index('data-site="jinggangshan-longtan"'):]
    longtan = longtan[:longtan.index("</li>")]
    assert "approximate location (may be off by about 2 km)" in longtan
    assert "uri.amap.com/search?keyword=%E9%BE%99%E6%BD%AD" in longtan and "openstreetmap.org/search?" in longtan
    assert "uri.amap.com/marker" not in longtan
    huangyangjie = page[page.index('data-site="jinggangshan-huangyangjie"'):]
    assert "uri.amap.com/marker?position=" in huangyangjie[:huangyangjie.index("</li>")]
    data = json.loads(html.unescape(re.search(r'id="itinerary-data">(.*?)</script>', page).group(1)))
    flags = {s["site_id"]: s["approximate"] for d in data["days"] for s in d["stops"]}
    assert flags == {"jinggangshan-huangyangjie": False, "jinggangshan-longtan": True, "jinggangshan-museum": False}


def test_area_ticket_is_shown_once_with_a_trip_total(client, db_path):
    page = text(client.get(stored(db_path, constructed_itinerary()) + "?lang=zh"))
    assert page.count("含在井冈山风景名胜区门票内") == 2  # both stops inside the area
    assert page.count("190 元") == 2  # the area's line and the total, never once per stop
    assert "门票合计约 190 元" in page and "票价未知（未计入合计）" in page
    tickets = page[page.index('id="tickets"'):]
    assert "井冈山革命博物馆" in tickets


def test_an_old_stored_plan_without_the_new_fields_still_renders(client, db_path):
    old = constructed_itinerary()
    for key in ("destination", "tickets", "seed"):
        old.pop(key)
    for day in old["days"]:
        day.pop("lunch"), day.pop("sunset")
        for stop in day["stops"]:
            for key in ("precision_m", "approximate", "area", "ticket_in_area"):
                stop.pop(key)
    url = stored(db_path, old)
    for suffix in ("", "/print", "/calendar.ics", "/route.gpx"):
        assert client.get(url + suffix).status_code == 200, suffix
    page = text(client.get(url + "?lang=zh"))
    assert "午餐" not in page and "门票合计" in page  # the total is worked out from the stops


def test_print_ics_and_gpx_carry_lunch_approximate_and_area(client, db_path):
    url = stored(db_path, constructed_itinerary())
    printed = text(client.get(url + "/print?lang=zh"))
    assert "午餐 12:00–12:45" in printed and "日落 17:31" in printed and "大致位置" in printed
    assert "26.59500" not in printed and "含在井冈山风景名胜区门票内" in printed and "门票合计约 190 元" in printed
    cal = Calendar.from_ical(client.get(url + "/calendar.ics?lang=zh").data)
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert "午餐" in events and "茨坪镇" in str(events["午餐"]["LOCATION"])
    assert "GEO" not in events["龙潭瀑布群"] and "大致位置" in str(events["龙潭瀑布群"]["LOCATION"])
    assert "GEO" in events["黄洋界哨口"] and "含在井冈山风景名胜区门票内" in str(events["黄洋界哨口"]["DESCRIPTION"])
    gpx = gpxpy.parse(client.get(url + "/route.gpx?lang=en").get_data(as_text=True))
    longtan = next(w for w in gpx.waypoints if w.name == "Longtan Waterfalls")
    assert longtan.description.startswith("[Approximate location")


# ---------------------------------------------------------------- issue 9: the request form and API

def test_form_takes_destination_party_and_arrival(client):
    page = text(client.get("/"))
    for needle in ('name="destination"', 'name="party" value="children"', 'name="party" value="no-car"',
                   'name="arrive_at"'):
        assert needle in page
    location = make_plan(client, destination="井冈山", party=["seniors", "no-car"], arrive_at="10:45", days="1")
    plan = text(client.get(location))
    assert "有老人" in plan and "没有车" in plan


@pytest.mark.parametrize("changes,field", [
    ({"party": "dogs"}, "party"), ({"arrive_at": "25:00"}, "arrive_at"), ({"arrive_at": "10h"}, "arrive_at"),
    ({"destination": "x" * 101}, "destination"), ({"pin": "jinggangshan-museum:9"}, "pin"),
    ({"pin": "not a pin"}, "pin"), ({"seed": "-1"}, "seed"), ({"only_must": "maybe"}, "only_must"),
])
def test_bad_new_fields_are_bilingual_400(client, changes, field):
    data = plan_form(days="2", **changes)
    data["csrf_token"] = token(client, "/")
    response = client.post("/plan", data=data)
    assert response.status_code == 400 and 'id="form-error"' in text(response)
    api = client.post("/api/plan", json={"origin": "井冈山市", "days": 2, **changes})
    assert api.status_code == 400 and api.json["error"]["field"] == field, api.json
    assert api.json["error"]["en"] and api.json["error"]["zh"]


def test_api_takes_the_new_fields_and_documents_them(client):
    response = client.post("/api/plan", json={"origin": "井冈山市", "days": 2, "destination": "井冈山",
                                              "party": ["children"], "arrive_at": "11:00", "seed": 3,
                                              "pin": {"jinggangshan-museum": 1}, "time_limit": 0.2})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["request"]["pin"] == {"jinggangshan-museum": 1} and body["request"]["party"] == ["children"]
    assert body["seed"] == 3 and body["request"]["arrive_at"] == "11:00"
    schema = client.get("/api/openapi.json").json["components"]["schemas"]
    assert {"destination", "party", "arrive_at", "pin", "seed", "only_must"} <= set(schema["PlanRequest"]["properties"])
    assert {"lunch", "sunset"} <= set(schema["Day"]["properties"])
    assert {"approximate", "precision_m", "area", "ticket_in_area"} <= set(schema["Stop"]["properties"])
    assert "coord_source" not in schema["Site"]["properties"]


# ---------------------------------------------------------------- issue 9: changing a plan

def change(client, url: str, **form):
    return client.post(url + "/change", data={"csrf_token": token(client, url), **form})


def shown_stops(client, location: str) -> list[list[str]]:
    page = text(client.get(location))
    return [re.findall(r'<li class="stop[^"]*" data-site="([^"]+)"', day)
            for day in page.split('<section class="day"')[1:]]


def test_changed_request_keeps_the_rest_pinned_with_the_same_seed():
    itinerary = constructed_itinerary()
    listed = {"jinggangshan-huangyangjie", "jinggangshan-longtan", "jinggangshan-museum"}
    params = planning.changed_params(itinerary, "drop", "jinggangshan-longtan", None, listed)
    assert ("avoid", "jinggangshan-longtan") in params and ("only_must", "1") in params and ("seed", "7") in params
    assert ("pin", "jinggangshan-huangyangjie:1") in params and ("pin", "jinggangshan-museum:2") in params
    assert ("must", "jinggangshan-longtan") not in params and ("destination", "井冈山") in params
    swap = planning.changed_params(itinerary, "swap", "jinggangshan-longtan", None, listed)
    assert ("avoid", "jinggangshan-longtan") in swap and ("only_must", "1") not in swap
    pinned = planning.changed_params(itinerary, "pin", "jinggangshan-museum", 0, listed)
    assert ("pin", "jinggangshan-museum:1") in pinned and ("pin", "jinggangshan-museum:2") not in pinned
    added = planning.changed_params(itinerary, "add-day", None, None, listed - {"jinggangshan-museum"})
    assert ("days", "3") in added and ("must", "jinggangshan-museum") not in added  # a hidden site is let go
    for action, site, day in (("fly", None, None), ("drop", "jinggangshan-elsewhere", None),
                              ("pin", "jinggangshan-museum", 5)):
        with pytest.raises(planning.InputError):
            planning.changed_params(itinerary, action, site, day, listed)


def test_drop_swap_pin_and_add_a_day_on_the_web(client):
    # a Tuesday start: the museum (and the test sites copied from it) close on Mondays
    today = today_in_china()
    tuesday = today + dt.timedelta(days=(1 - today.weekday()) % 7 or 7)
    location = make_plan(client, days="2", date=tuesday.isoformat(),
                         must=["jinggangshan-museum", "jinggangshan-huangyangjie"])
    before = shown_stops(client, location)
    assert sum(map(len, before)) >= 2
    first = before[0][0] if before[0] else before[1][0]
    dropped = change(client, location, action="drop", site=first)
    assert dropped.status_code == 303, text(dropped)[:1500]
    after = shown_stops(client, dropped.headers["Location"])
    assert first not in sum(after, [])
    kept = [s for s in sum(before, []) if s != first]
    assert sorted(sum(after, [])) == sorted(kept)  # a drop adds nothing else
    for d, day in enumerate(before):  # and every other stop stays on its day
        assert [s for s in day if s != first] == [s for s in after[d] if s != first] or \
            set(s for s in day if s != first) == set(after[d])
    moved = change(client, location, action="pin", site=first, day="2")
    assert moved.status_code == 303 and first in shown_stops(client, moved.headers["Location"])[1]
    longer = change(client, location, action="add-day")
    assert longer.status_code == 303 and len(shown_stops(client, longer.headers["Location"])) == 3
    swapped = change(client, location, action="swap", site=first)
    assert swapped.status_code == 303 and first not in sum(shown_stops(client, swapped.headers["Location"]), [])
    # the original shared link still shows the original plan
    assert shown_stops(client, location) == before


def test_bad_changes_are_400_and_change_nothing(client, db_path):
    location = make_plan(client, days="1")
    count = sitedb.connect(db_path)["shared_plans"].count
    for form in ({"action": "explode"}, {"action": "drop", "site": "jinggangshan-nowhere"},
                 {"action": "pin", "site": shown_stops(client, location)[0][0], "day": "7"}):
        response = change(client, location, **form)
        assert response.status_code == 400 and 'id="change-error"' in text(response), form
    assert client.post(location + "/change", data={"action": "add-day"}).status_code == 400  # no CSRF token
    assert sitedb.connect(db_path)["shared_plans"].count == count
    assert client.post("/p/nosuchplan/change", data={"action": "add-day"}).status_code in (400, 404)


def test_edit_the_request_reopens_the_filled_form(client, db_path):
    url = stored(db_path, constructed_itinerary(request={
        **constructed_itinerary()["request"], "must": ["jinggangshan-museum"], "pin": {"jinggangshan-museum": 1},
        "only_must": True, "seed": 7}))
    page = text(client.get(url))
    edit = html.unescape(re.search(r'id="edit-request" href="([^"]+)"', page).group(1))
    form = text(client.get(edit))
    assert 'value="井冈山"' in form and 'value="10:45"' in form
    assert re.search(r'value="seniors"\s+checked', form) and re.search(r'value="no-car"\s+checked', form)
    assert re.search(r'name="pin" value="jinggangshan-museum:2" checked', form)
    assert re.search(r'name="only_must" value="1" id="only-must" checked', form) and 'name="seed" value="7"' in form


# ---------------------------------------------------------------- issue 9: public pages keep curators' notes out

def test_public_site_page_and_api_show_no_internal_notes(client, db_path):
    db = sitedb.connect(db_path)
    sitedb.update_site(db, "jinggangshan-museum", {
        "coord_source": "find_string id 123456 in /srv/notes/coords.txt", "ticket_note": "per some-blog.cn",
        "sources": [{"url": "http://example.com/museum", "title": "Museum page"},
                    {"url": "code index file id 99 (/home/x/data.csv)"}],
        "unverified": ["coords", "hours"]}, "test")
    for lang, words in (("zh", "开放时间待核实"), ("en", "opening hours not yet confirmed")):
        page = text(client.get(f"/sites/jinggangshan-museum?lang={lang}"))
        assert words in page and "Museum page" in page
        for internal in ("find_string", "/srv/notes", "some-blog.cn", "code index", "/home/x", "coords, hours",
                         "<code>"):
            assert internal not in page, (lang, internal)
    api = json.dumps(client.get("/api/sites/jinggangshan-museum").json, ensure_ascii=False)
    for internal in ("find_string", "some-blog.cn", "code index", "importance_basis", "coord_source"):
        assert internal not in api, internal
    assert "开放时间待核实" in api
    login(client)
    curator_view = text(client.get("/curator/sites/jinggangshan-museum/edit"))
    assert "find_string id 123456" in curator_view  # curators still see and edit the raw record
